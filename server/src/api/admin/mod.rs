//! `/admin/v1`: everything the desktop admin (and any automation) needs. Every operation
//! takes an [`AdminBearer`](super::auth::AdminBearer): an access token with scope `admin`
//! issued to a user who is an administrator now. Lists page with an opaque `cursor` and a
//! `limit`, return `next_cursor` (absent on the last page) and the `total` matching rows.

pub mod audit;
pub mod clients;
pub mod families;
pub mod keys;
pub mod users;

use poem_openapi::payload::Json;

use super::error::{ApiError, ErrorBody};
use crate::admin::{Actor, AdminError};

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::BadRequest(d) => ApiError::bad_request(d),
            AdminError::NotFound(d) => ApiError::not_found(d),
            AdminError::Conflict(d) => ApiError::conflict(d),
            AdminError::Db(e) => e.into(),
            AdminError::Internal(d) => ApiError::internal(d),
        }
    }
}

/// Default and largest page sizes.
pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 500;

pub fn limit(l: Option<u64>) -> Result<u64, ApiError> {
    match l {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        ))),
    }
}

/// The acting administrator, for the audit trail.
pub fn actor<'a>(p: &'a super::auth::Principal, req: &poem::Request) -> Actor<'a> {
    Actor {
        user_id: &p.user_id,
        ip: super::meta::request_meta(req).ip,
    }
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

pub fn bad(d: impl Into<String>) -> ApiError {
    ApiError::BadRequest(Json(ErrorBody::new("invalid_request", d)))
}
