//! Client authentication (RFC 6749 §2.3): the lookup and the constant-time secret check.
//! The edge extracts the credentials (Basic or form) and says which way they came.

use subtle::ConstantTimeEq;

use super::OAuthError;
use crate::domain::{ClientId, tokens_hash_presented_secret};
use crate::state::AppState;

/// An authenticated client (a row at most a second old: [`crate::store::client_cache`]).
pub type Client = std::sync::Arc<crate::store::entities::client::Model>;

/// Presented client credentials.
pub struct Credentials<'a> {
    pub client_id: &'a str,
    pub secret: Option<&'a str>,
    /// They came in an `Authorization: Basic` header (a failure then says
    /// `WWW-Authenticate`).
    pub basic: bool,
}

/// Finds and checks the client. Every failure is `invalid_client`, with the same
/// description whether the client is unknown, disabled or the secret wrong.
pub async fn authenticate(state: &AppState, c: Credentials<'_>) -> Result<Client, OAuthError> {
    let fail = |d: &str| OAuthError::InvalidClient {
        description: d.to_owned(),
        basic: c.basic,
    };
    if ClientId::parse(c.client_id).is_err() || c.secret.is_some_and(|s| s.len() > 1024) {
        return Err(fail("client authentication failed"));
    }
    let found = state.clients.get(&state.db.read, c.client_id).await?;
    let presented_hash = c.secret.map(tokens_hash_presented_secret);
    let Some(client) = found.filter(|c| !c.disabled) else {
        return Err(fail("client authentication failed"));
    };
    match (&client.secret_hash, presented_hash) {
        (Some(stored), Some(presented)) => {
            if bool::from(stored.as_bytes().ct_eq(presented.as_bytes())) {
                Ok(client)
            } else {
                Err(fail("client authentication failed"))
            }
        }
        (Some(_), None) => Err(fail("client authentication failed")),
        (None, None) => Ok(client),
        (None, Some(_)) => Err(fail("public clients must not send a secret")),
    }
}
