//! End-to-end tests: the real server over real HTTP, one module per area.

mod admin;
mod bad_input;
mod discovery;
mod generated_client;
mod password;
mod rotation;
mod sessions;
mod standards;
