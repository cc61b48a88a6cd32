//! The token grants. Each takes an authenticated client and parsed input, applies the
//! rules, and returns a [`TokenSet`] or a [`GrantError`] that the HTTP edge turns into an
//! RFC 6749 §5.2 error.

pub mod client_credentials;
pub mod password;
pub mod refresh;

use sea_orm::DbErr;

use crate::crypto::jwt::{self, AccessClaims};
use crate::domain::{GrantType, Scope};
use crate::state::AppState;
use crate::store::entities::client;

/// What a successful grant hands back.
#[derive(Debug)]
pub struct TokenSet {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: Option<String>,
    pub scope: Scope,
}

impl TokenSet {
    pub fn with_refresh(mut self, t: crate::domain::RefreshTokenValue) -> TokenSet {
        self.refresh_token = Some(t.into_string());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
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
    /// Overloaded (password hashing saturated, database busy): retry shortly.
    #[error("{0}")]
    Unavailable(String),
    /// A fault on our side; logged in full, answered generically.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DbErr> for GrantError {
    fn from(e: DbErr) -> Self {
        let text = e.to_string();
        if text.contains("database is locked") || text.contains("pool timed out") {
            GrantError::Unavailable("the database is busy, retry shortly".into())
        } else {
            GrantError::Internal(text)
        }
    }
}

impl From<crate::crypto::password::HashError> for GrantError {
    fn from(e: crate::crypto::password::HashError) -> Self {
        match e {
            crate::crypto::password::HashError::Busy => {
                GrantError::Unavailable("too many sign-ins in progress, retry shortly".into())
            }
            other => GrantError::Internal(other.to_string()),
        }
    }
}

/// A client's effective settings: its own values, or the server's defaults.
pub struct ClientPolicy {
    pub grant_types: Vec<GrantType>,
    pub scopes: Scope,
    pub access_ttl: i64,
    pub refresh_idle_ttl: i64,
    pub refresh_absolute_ttl: i64,
    pub reuse_leeway: i64,
}

impl ClientPolicy {
    pub fn of(c: &client::Model, state: &AppState) -> ClientPolicy {
        let s = &state.settings;
        ClientPolicy {
            grant_types: GrantType::parse_list(&c.grant_types).unwrap_or_default(),
            scopes: Scope::parse(&c.scopes).unwrap_or_default(),
            access_ttl: c.access_ttl.unwrap_or(s.access_ttl),
            refresh_idle_ttl: c.refresh_idle_ttl.unwrap_or(s.refresh_idle_ttl),
            refresh_absolute_ttl: c.refresh_absolute_ttl.unwrap_or(s.refresh_absolute_ttl),
            reuse_leeway: c.reuse_leeway.unwrap_or(s.reuse_leeway),
        }
    }

    pub fn require_grant(&self, client_id: &str, g: GrantType) -> Result<(), GrantError> {
        if self.grant_types.contains(&g) {
            Ok(())
        } else {
            Err(GrantError::UnauthorizedClient(format!(
                "client `{client_id}` may not use the {g} grant"
            )))
        }
    }
}

/// The scope to grant: the requested one if the client (and, for `admin`, the user) may
/// have it; without a request, everything the client may have, less what the user may not.
pub fn resolve_scope(
    requested: Option<&str>,
    allowed: &Scope,
    user_is_admin: bool,
) -> Result<Scope, GrantError> {
    match requested {
        None => Ok(if user_is_admin {
            allowed.clone()
        } else {
            allowed.without(ADMIN_SCOPE)
        }),
        Some(raw) => {
            let scope = Scope::parse(raw).map_err(GrantError::InvalidScope)?;
            if !scope.is_subset_of(allowed) {
                return Err(GrantError::InvalidScope(
                    "the requested scope exceeds what this client may be granted".into(),
                ));
            }
            if scope.contains(ADMIN_SCOPE) && !user_is_admin {
                return Err(GrantError::InvalidScope(
                    "the admin scope is only granted to administrators".into(),
                ));
            }
            Ok(scope)
        }
    }
}

pub const ADMIN_SCOPE: &str = "admin";

/// Signs an access token with the active key.
pub fn issue_access_token(
    state: &AppState,
    sub: &str,
    client_id: &str,
    scope: &Scope,
    sid: Option<&str>,
    ttl: i64,
) -> Result<String, GrantError> {
    let now = state.clock.now_ms();
    let key = state
        .keys()
        .signing_key(now)
        .ok_or_else(|| GrantError::Internal("no active signing key".into()))?;
    let iat = now.div_euclid(1000);
    let claims = AccessClaims {
        iss: state.issuer.clone(),
        sub: sub.to_owned(),
        aud: state.audience.clone(),
        exp: iat + ttl,
        iat,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        client_id: client_id.to_owned(),
        scope: scope.to_string(),
        sid: sid.map(str::to_owned),
    };
    jwt::sign(&key, &claims).map_err(|e| GrantError::Internal(e.to_string()))
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
            Err(GrantError::InvalidScope(_))
        ));
        assert!(matches!(
            resolve_scope(Some("write"), &allowed, true),
            Err(GrantError::InvalidScope(_))
        ));
        assert_eq!(
            resolve_scope(Some("read"), &allowed, false)
                .unwrap()
                .to_string(),
            "read"
        );
    }
}
