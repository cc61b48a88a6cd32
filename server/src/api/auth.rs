//! Bearer authentication for `/me` and `/admin/v1`: a valid access token whose refresh
//! family is still live, issued to an enabled user; for the admin API also the `admin`
//! scope and the user's admin role (checked in the database, so a demoted admin loses
//! access at once).

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use super::error::ApiError;
use crate::crypto::jwt::{self, AccessClaims};
use crate::grants::ADMIN_SCOPE;
use crate::state::AppState;
use crate::store::{families, users};

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: String,
    pub username: String,
    pub is_admin: bool,
    /// The refresh family (session) the token belongs to.
    pub family_id: String,
    pub claims: AccessClaims,
}

/// An access token of a signed-in user.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_user")]
pub struct UserBearer(pub Principal);

/// An access token with scope `admin`, of a user with the admin role.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_admin")]
pub struct AdminBearer(pub Principal);

async fn check_user(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    principal(req, &bearer.token)
        .await
        .map_err(ApiError::into_poem)
}

async fn check_admin(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let p = principal(req, &bearer.token)
        .await
        .map_err(ApiError::into_poem)?;
    let scoped = p.claims.scope.split(' ').any(|s| s == ADMIN_SCOPE);
    if !scoped || !p.is_admin {
        return Err(ApiError::forbidden(
            "this needs an access token with scope `admin` issued to an administrator",
        )
        .into_poem());
    }
    Ok(p)
}

async fn principal(req: &Request, token: &str) -> Result<Principal, ApiError> {
    let state = req
        .data::<AppState>()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let now = state.clock.now_ms();
    let claims = jwt::verify(&state.keys(), token, &state.issuer, &state.audience, now)
        .map_err(|_| ApiError::unauthorized("the access token is invalid or expired"))?;
    let Some(sid) = claims.sid.clone() else {
        return Err(ApiError::forbidden("this needs a user's access token"));
    };
    let family = families::find(&state.db.read, &sid).await?;
    if !family.is_some_and(|f| f.revoked_at.is_none() && f.expires_at > now) {
        return Err(ApiError::unauthorized(
            "the session of this access token has ended",
        ));
    }
    let user = users::find(&state.db.read, &claims.sub).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Err(ApiError::unauthorized(
            "the user of this access token is disabled or gone",
        ));
    };
    Ok(Principal {
        user_id: user.id,
        username: user.username,
        is_admin: user.is_admin,
        family_id: sid,
        claims,
    })
}
