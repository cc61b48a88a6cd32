//! The OAuth flows: client and bearer authentication, the token grants (one module per
//! RFC 6749 flow), revocation (RFC 7009) and introspection (RFC 7662). Each takes parsed
//! input, applies the rules, and returns its result or an
//! [`OAuthError`](crate::oauth::OAuthError) that the HTTP edge turns into an RFC 6749
//! §5.2 error. The layers and what may call what are in docs/architecture.md; the
//! protocol rules in docs/protocol.md.

pub mod authorization_code;
pub mod bearer;
pub mod browser;
pub mod client_auth;
pub mod client_credentials;
pub mod credentials;
pub mod family;
pub mod introspection;
pub mod password;
pub mod refresh;
pub mod revocation;
pub mod signin_session;

use sea_orm::DbErr;

use crate::admin::AdminError;
use std::sync::Arc;

use crate::crypto::jwt::{self, AccessClaims};
use crate::crypto::keys::LoadedKey;
use crate::domain::{GrantType, Scope};
use crate::state::AppState;
use crate::store::clients::ClientPolicy;
use crate::store::{Fault, classify};

/// What a successful grant hands back.
#[derive(Debug)]
pub struct TokenSet {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: Option<String>,
    /// When the refresh token's idle lifetime ends (the cookie's `Max-Age`).
    pub refresh_expires_at: Option<crate::clock::Millis>,
    pub scope: Scope,
}

impl TokenSet {
    pub fn with_refresh(mut self, t: crate::domain::RefreshTokenValue) -> TokenSet {
        self.refresh_token = Some(t.into_string());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{description}")]
    InvalidClient { description: String, basic: bool },
    #[error("{0}")]
    InvalidGrant(String),
    #[error("{0}")]
    UnauthorizedClient(String),
    #[error("{0}")]
    UnsupportedGrantType(String),
    #[error("{0}")]
    InvalidScope(String),
    /// Too many failed sign-ins for this user or address: retry after the given seconds.
    #[error("{description}")]
    TooManyAttempts {
        description: String,
        retry_after: i64,
    },
    /// Too many failed authentications of this client from this network: retry after
    /// the given seconds (answered `invalid_client`, 429).
    #[error(
        "too many failed client authentications from this address; try again in {retry_after} s"
    )]
    ClientThrottled { retry_after: i64, basic: bool },
    /// Overloaded (password hashing saturated, database busy): retry shortly.
    #[error("{0}")]
    Unavailable(String),
    /// A fault on our side; logged in full, answered generically.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DbErr> for OAuthError {
    fn from(e: DbErr) -> Self {
        OAuthError::from_db(&e)
    }
}

impl OAuthError {
    /// A database error as the client hears it: overload is 503, anything else ours.
    pub fn from_db(e: &DbErr) -> Self {
        match classify(e) {
            Fault::Busy => OAuthError::Unavailable("the database is busy, retry shortly".into()),
            Fault::Duplicate | Fault::Other => OAuthError::Internal(e.to_string()),
        }
    }
}

/// Ending sessions is an operation; its failures are faults or overload here.
impl From<AdminError> for OAuthError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Unavailable(d) => OAuthError::Unavailable(d),
            other => OAuthError::Internal(other.to_string()),
        }
    }
}

impl From<crate::crypto::password::HashError> for OAuthError {
    fn from(e: crate::crypto::password::HashError) -> Self {
        match e {
            crate::crypto::password::HashError::Busy => {
                OAuthError::Unavailable("too many sign-ins in progress, retry shortly".into())
            }
            other => OAuthError::Internal(other.to_string()),
        }
    }
}

/// Refuses a grant the client is not registered for.
pub fn require_grant(
    client_id: &str,
    policy: &ClientPolicy,
    g: GrantType,
) -> Result<(), OAuthError> {
    if policy.grant_types.contains(&g) {
        Ok(())
    } else {
        Err(OAuthError::UnauthorizedClient(format!(
            "client `{client_id}` may not use the {g} grant"
        )))
    }
}

/// The scope to grant: the requested one if the client (and, for `admin`, the user) may
/// have it; without a request, everything the client may have, less what the user may not.
pub fn resolve_scope(
    requested: Option<&str>,
    allowed: &Scope,
    user_is_admin: bool,
) -> Result<Scope, OAuthError> {
    match requested {
        None => Ok(if user_is_admin {
            allowed.clone()
        } else {
            allowed.without(ADMIN_SCOPE)
        }),
        Some(raw) => {
            let scope = Scope::parse(raw).map_err(OAuthError::InvalidScope)?;
            if !scope.is_subset_of(allowed) {
                return Err(OAuthError::InvalidScope(
                    "the requested scope exceeds what this client may be granted".into(),
                ));
            }
            if scope.contains(ADMIN_SCOPE) && !user_is_admin {
                return Err(OAuthError::InvalidScope(
                    "the admin scope is only granted to administrators".into(),
                ));
            }
            Ok(scope)
        }
    }
}

pub const ADMIN_SCOPE: &str = "admin";

/// The scope a third-party client needs for `/me` (`bearer::me`), granted only on the
/// consent page.
pub const SESSIONS_SCOPE: &str = "tessera:sessions";

/// The scope a user signing in gets: as [`resolve_scope`], except that a client that may
/// grant nothing but `admin` (the built-in `tessera-admin`) signs in administrators only.
/// Otherwise it would hand everyone else a token with no scope, still a token of theirs.
pub fn resolve_user_scope(
    requested: Option<&str>,
    allowed: &Scope,
    user_is_admin: bool,
) -> Result<Scope, OAuthError> {
    let admin_only = allowed.contains(ADMIN_SCOPE) && allowed.without(ADMIN_SCOPE).is_empty();
    if admin_only && !user_is_admin {
        return Err(OAuthError::InvalidScope(
            "this client signs in administrators only".into(),
        ));
    }
    resolve_scope(requested, allowed, user_is_admin)
}

/// A token id that is a UUIDv7 of the issue time (our clock's, to the millisecond), so
/// a token's issue time is known more finely than `iat`'s seconds.
fn jti_at(now_ms: crate::clock::Millis) -> String {
    let ms = u64::try_from(now_ms).unwrap_or(0);
    let ts =
        uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
    uuid::Uuid::new_v7(ts).simple().to_string()
}

/// When a token was issued, in milliseconds: from its UUIDv7 `jti`, else from `iat`.
pub fn issued_ms(claims: &AccessClaims) -> crate::clock::Millis {
    uuid::Uuid::try_parse(&claims.jti)
        .ok()
        .and_then(|u| u.get_timestamp())
        .map(|t| {
            let (secs, nanos) = t.to_unix();
            (secs as i64).saturating_mul(1000) + i64::from(nanos / 1_000_000)
        })
        .filter(|ms| ms.div_euclid(1000) == claims.iat)
        .unwrap_or(claims.iat.saturating_mul(1000))
}

/// Signs an access token with the active key.
pub fn issue_access_token(
    state: &AppState,
    sub: &str,
    client_id: &str,
    scope: &Scope,
    sid: Option<&str>,
    ttl: i64,
) -> Result<String, OAuthError> {
    let key = signing_key(state)?;
    issue_access_token_with(state, &key, sub, client_id, scope, sid, ttl)
}

/// The key that signs now; none is a fault (a key is created on first start).
pub fn signing_key(state: &AppState) -> Result<Arc<LoadedKey>, OAuthError> {
    state
        .keys()
        .signing_key(state.clock.now_ms())
        .ok_or_else(|| OAuthError::Internal("no active signing key".into()))
}

/// Signs an access token with `key`.
pub fn issue_access_token_with(
    state: &AppState,
    key: &LoadedKey,
    sub: &str,
    client_id: &str,
    scope: &Scope,
    sid: Option<&str>,
    ttl: i64,
) -> Result<String, OAuthError> {
    let now = state.clock.now_ms();
    let iat = now.div_euclid(1000);
    let claims = AccessClaims {
        iss: state.issuer.clone(),
        sub: sub.to_owned(),
        aud: state.audience.clone(),
        exp: iat + ttl,
        iat,
        jti: jti_at(now),
        client_id: client_id.to_owned(),
        scope: scope.to_string(),
        sid: sid.map(str::to_owned),
        nbf: None,
    };
    jwt::sign(key, &claims).map_err(|e| OAuthError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_resolution() {
        let allowed = Scope::parse("admin read").unwrap();
        assert_eq!(
            resolve_scope(None, &allowed, false).unwrap().to_string(),
            "read"
        );
        assert_eq!(
            resolve_scope(None, &allowed, true).unwrap().to_string(),
            "admin read"
        );
        assert!(matches!(
            resolve_scope(Some("admin"), &allowed, false),
            Err(OAuthError::InvalidScope(_))
        ));
        assert!(matches!(
            resolve_scope(Some("write"), &allowed, true),
            Err(OAuthError::InvalidScope(_))
        ));
        assert_eq!(
            resolve_scope(Some("read"), &allowed, false)
                .unwrap()
                .to_string(),
            "read"
        );
        let admin_only = Scope::parse("admin").unwrap();
        assert!(matches!(
            resolve_user_scope(None, &admin_only, false),
            Err(OAuthError::InvalidScope(_))
        ));
        assert_eq!(
            resolve_user_scope(None, &admin_only, true)
                .unwrap()
                .to_string(),
            "admin"
        );
        assert_eq!(
            resolve_user_scope(None, &allowed, false)
                .unwrap()
                .to_string(),
            "read"
        );
    }
}
