//! `/admin/v1`: everything the desktop admin (and any automation) needs. Every operation
//! takes an [`AdminBearer`](super::auth::AdminBearer) and calls one operation of
//! [`crate::admin`]; these handlers only translate. Lists page with an opaque `cursor`
//! and a `limit`, return `next_cursor` (absent on the last page) and the `total` matching
//! rows.

pub mod audit;
pub mod clients;
pub mod families;
pub mod keys;
pub mod signin_sessions;
pub mod users;

use crate::admin::{Actor, PageRequest};

/// The acting administrator, for the audit trail.
pub fn actor(p: &super::auth::Principal, req: &poem::Request) -> Actor {
    Actor::User {
        id: p.user_id.clone(),
        ip: super::meta::request_meta(req).ip,
    }
}

pub fn page(cursor: Option<String>, limit: Option<u64>) -> PageRequest {
    PageRequest { cursor, limit }
}

/// How many rows a bulk revocation ended.
#[derive(Debug, poem_openapi::Object)]
pub struct RevokedCount {
    pub revoked: u64,
}

/// The result of a deletion.
#[derive(Debug, poem_openapi::Object)]
pub struct Deleted {
    pub id: String,
    /// Sessions ended along with it.
    pub sessions_ended: u64,
}
