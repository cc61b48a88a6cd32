//! Bearer authentication for `/me` and the admin API: a valid access token that still
//! stands ([`introspection::standing`]) and belongs to a user; for `/me` also a client
//! meant to manage the user's sessions ([`me`]); for the admin API the `admin` scope and
//! the user's admin role, checked in the database, so a demoted administrator loses
//! access at once.

use super::introspection::{self, Standing};
use super::{ADMIN_SCOPE, OAuthError, SESSIONS_SCOPE};
use crate::crypto::jwt::{self, AccessClaims};
use crate::state::AppState;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: String,
    pub username: String,
    pub is_admin: bool,
    /// The refresh family (session) the token belongs to.
    pub family_id: String,
    /// The token's client shows no consent page: one of the operator's own apps.
    pub first_party: bool,
    pub claims: AccessClaims,
}

impl Principal {
    /// The token was granted `scope` (one of its space-separated tokens).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.claims.scope.split(' ').any(|s| s == scope)
    }
}

/// Why a bearer token was refused.
#[derive(Debug)]
pub enum BearerError {
    /// 401 `invalid_token`.
    Invalid(&'static str),
    /// 403 `insufficient_scope`.
    Forbidden(&'static str),
    /// The check itself failed.
    Fault(OAuthError),
}

impl From<OAuthError> for BearerError {
    fn from(e: OAuthError) -> Self {
        BearerError::Fault(e)
    }
}

/// A signed-in user's access token.
pub async fn user(state: &AppState, token: &str) -> Result<Principal, BearerError> {
    let now = state.clock.now_ms();
    let claims = jwt::verify(&state.keys(), token, &state.issuer, &state.audience, now)
        .map_err(|_| BearerError::Invalid("the access token is invalid or expired"))?;
    let Some(family_id) = claims.sid.clone() else {
        return Err(BearerError::Forbidden("this needs a user's access token"));
    };
    match introspection::standing(state, &claims).await? {
        Standing::User(u, client) => Ok(Principal {
            first_party: !client.require_consent,
            user_id: u.id,
            username: u.username,
            is_admin: u.is_admin,
            family_id,
            claims,
        }),
        Standing::Client | Standing::Fallen => Err(BearerError::Invalid(
            "the session of this access token has ended, or its user or client is disabled",
        )),
    }
}

/// A user's access token for `/me`: one issued to a first-party client (one that shows
/// no consent page: the operator's own apps), or to a third-party client with the
/// [`SESSIONS_SCOPE`] the user consented to. Otherwise any app the user once let in, or
/// any API its tokens are sent to, could list the user's sessions and end them all.
pub async fn me(state: &AppState, token: &str) -> Result<Principal, BearerError> {
    let p = user(state, token).await?;
    if !p.first_party && !p.has_scope(SESSIONS_SCOPE) {
        return Err(BearerError::Forbidden(
            "a third-party client's token needs scope `tessera:sessions` to manage sessions",
        ));
    }
    Ok(p)
}

/// An administrator's access token with scope `admin`.
pub async fn admin(state: &AppState, token: &str) -> Result<Principal, BearerError> {
    let p = user(state, token).await?;
    if !p.has_scope(ADMIN_SCOPE) || !p.is_admin {
        return Err(BearerError::Forbidden(
            "this needs an access token with scope `admin` issued to an administrator",
        ));
    }
    Ok(p)
}
