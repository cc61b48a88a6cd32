//! Bearer authentication as security schemes: a handler that takes [`UserBearer`] or
//! [`AdminBearer`] runs only for a token that passed [`oauth::bearer`](crate::oauth::bearer).

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use super::error::ApiError;
pub use crate::oauth::bearer::Principal;
use crate::oauth::bearer::{self, BearerError};
use crate::state::AppState;

/// An access token of a signed-in user, issued to a first-party client or with scope
/// `tessera:sessions`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_user")]
pub struct UserBearer(pub Principal);

/// An access token with scope `admin`, of a user with the admin role.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_admin")]
pub struct AdminBearer(pub Principal);

fn refused(e: BearerError) -> poem::Error {
    match e {
        BearerError::Invalid(d) => ApiError::unauthorized(d),
        BearerError::Forbidden(d) => ApiError::forbidden(d),
        BearerError::Fault(e) => ApiError::from(e),
    }
    .into_poem()
}

fn state(req: &Request) -> poem::Result<&AppState> {
    req.data::<AppState>()
        .ok_or_else(|| ApiError::internal("application state missing").into_poem())
}

async fn check_user(req: &Request, b: Bearer) -> poem::Result<Principal> {
    bearer::me(state(req)?, &b.token).await.map_err(refused)
}

async fn check_admin(req: &Request, b: Bearer) -> poem::Result<Principal> {
    bearer::admin(state(req)?, &b.token).await.map_err(refused)
}
