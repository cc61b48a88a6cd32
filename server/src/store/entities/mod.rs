//! SeaORM entities, one per table. Timestamps are `i64` milliseconds since the epoch.

pub mod audit_event;
pub mod authorization_code;
pub mod client;
pub mod consent;
pub mod login_throttle;
pub mod refresh_family;
pub mod refresh_token;
pub mod revoked_access_token;
pub mod signin_session;
pub mod signing_key;
pub mod user;
