//! Client credentials grant (RFC 6749 §4.4): a confidential client acting for itself.
//! No refresh token (§4.4.3), no family.

use super::{OAuthError, TokenSet, issue_access_token, resolve_scope};
use crate::domain::GrantType;
use crate::state::AppState;
use crate::store::entities::client;

pub fn grant(
    state: &AppState,
    client: &client::Model,
    scope: Option<&str>,
) -> Result<TokenSet, OAuthError> {
    let policy = client.policy(&state.settings);
    super::require_grant(&client.client_id, &policy, GrantType::ClientCredentials)?;
    if client.is_public {
        return Err(OAuthError::UnauthorizedClient(
            "public clients cannot use the client_credentials grant".into(),
        ));
    }
    // The admin scope belongs to administrators, who are users.
    let scope = resolve_scope(scope, &policy.scopes, false)?;
    let access_token = issue_access_token(
        state,
        &client.client_id,
        &client.client_id,
        &scope,
        None,
        policy.access_ttl,
    )?;
    Ok(TokenSet {
        access_token,
        expires_in: policy.access_ttl,
        refresh_token: None,
        refresh_expires_at: None,
        scope,
    })
}
