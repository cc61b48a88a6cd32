//! Resource owner password credentials grant (RFC 6749 §4.3). Starts a refresh family.

use sea_orm::TransactionTrait;

use super::{OAuthError, SESSIONS_SCOPE, TokenSet, credentials, family, resolve_user_scope};
use crate::domain::Scope;
use crate::domain::{AuditKind, GrantType, RequestMeta};
use crate::state::AppState;
use crate::store::audit::AuditEvent;
use crate::store::entities::client;

pub struct PasswordRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub scope: Option<&'a str>,
}

/// [`SESSIONS_SCOPE`] is granted to a third-party client only on the consent page, which
/// this grant never shows: asked for, it is refused; not asked for, it is left out.
fn without_consent_only(
    client: &client::Model,
    requested: bool,
    scope: Scope,
) -> Result<Scope, OAuthError> {
    if !client.require_consent || !scope.contains(SESSIONS_SCOPE) {
        return Ok(scope);
    }
    if requested {
        return Err(OAuthError::InvalidScope(format!(
            "scope `{SESSIONS_SCOPE}` is granted to this client only on the consent page"
        )));
    }
    Ok(scope.without(SESSIONS_SCOPE))
}

pub async fn grant(
    state: &AppState,
    client: &client::Model,
    req: PasswordRequest<'_>,
    meta: &RequestMeta,
) -> Result<TokenSet, OAuthError> {
    let policy = client.policy(&state.settings);
    super::require_grant(&client.client_id, &policy, GrantType::Password)?;
    let user =
        credentials::check(state, &client.client_id, req.username, req.password, meta).await?;
    let scope = match resolve_user_scope(req.scope, &policy.scopes, user.is_admin)
        .and_then(|s| without_consent_only(client, req.scope.is_some(), s))
    {
        Ok(scope) => scope,
        Err(e) => {
            // The password was right: the attempt counts against no one.
            credentials::succeeded(&state.db.write, req.username, meta).await?;
            return Err(e);
        }
    };

    let now = state.clock.now_ms();
    let txn = state.db.write.begin().await?;
    let (set, _family) = family::start(
        state,
        &txn,
        family::Start {
            client,
            policy: &policy,
            user: &user,
            verified_hash: &user.password_hash,
            scope,
            audit: AuditEvent::new(AuditKind::LoginSucceeded),
        },
        meta,
        now,
    )
    .await?;
    credentials::succeeded(&txn, req.username, meta).await?;
    txn.commit().await?;
    Ok(set)
}
