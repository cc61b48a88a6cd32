#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! End-to-end tests: the real server over real HTTP, one module per area.

mod admin;
mod authorize;
mod bad_input;
mod client_fields;
mod consent;
mod cors;
mod discovery;
mod fuzz;
mod generated_client;
mod jwt_attacks;
mod password;
mod rotation;
mod security;
mod sessions;
mod slow_clients;
mod spa_cookie;
mod standards;
