//! Resource owner password credentials grant (RFC 6749 §4.3). Starts a refresh family.

use sea_orm::TransactionTrait;
use serde_json::json;

use super::{ClientPolicy, GrantError, TokenSet, issue_access_token, resolve_scope};
use crate::domain::{GrantType, NewPassword, RefreshTokenValue, Username, child_expiry};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent, kind};
use crate::store::entities::client;
use crate::store::families::{self, NewFamily, RequestMeta};
use crate::store::users;

pub struct PasswordRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub scope: Option<&'a str>,
}

pub async fn grant(
    state: &AppState,
    client: &client::Model,
    req: PasswordRequest<'_>,
    meta: &RequestMeta,
) -> Result<TokenSet, GrantError> {
    let policy = ClientPolicy::of(client, state);
    policy.require_grant(&client.client_id, GrantType::Password)?;
    if req.password.len() > NewPassword::MAX_LEN {
        return Err(GrantError::InvalidRequest("password is too long".into()));
    }
    let user = match Username::parse(req.username) {
        Ok(name) => users::find_by_username(&state.db.read, name.as_str()).await?,
        Err(_) => None,
    };
    // Unknown users are checked against a dummy hash: same cost, same answer.
    let ok = state
        .hasher
        .verify(
            req.password,
            user.as_ref().map(|u| u.password_hash.as_str()),
        )
        .await?;
    let now = state.clock.now_ms();
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        other => {
            let reason = match &other {
                Some(u) if ok && u.disabled => "user_disabled",
                Some(_) => "bad_password",
                None => "unknown_user",
            };
            audit::record(
                &state.db.write,
                now,
                AuditEvent {
                    kind: kind::LOGIN_FAILED,
                    user_id: other.as_ref().map(|u| u.id.clone()),
                    client_id: Some(client.client_id.clone()),
                    ip: meta.ip.clone(),
                    reason: Some(reason.into()),
                    detail: other
                        .is_none()
                        .then(|| json!({ "username": truncate(req.username, 64) })),
                    ..Default::default()
                },
            )
            .await?;
            return Err(GrantError::InvalidGrant(if reason == "user_disabled" {
                "this account is disabled".into()
            } else {
                "invalid username or password".into()
            }));
        }
    };
    let scope = resolve_scope(req.scope, &policy.scopes, user.is_admin)?;

    let refresh = RefreshTokenValue::generate();
    let family_id = uuid::Uuid::now_v7().to_string();
    let family_expires_at = now.saturating_add(policy.refresh_absolute_ttl.saturating_mul(1000));
    let txn = state.db.write.begin().await?;
    families::create(
        &txn,
        NewFamily {
            family_id: family_id.clone(),
            user_id: Some(user.id.clone()),
            client_id: &client.client_id,
            scope: scope.to_string(),
            token_hash: refresh.hash(),
            token_expires_at: child_expiry(now, policy.refresh_idle_ttl, family_expires_at),
            family_expires_at,
        },
        meta,
        now,
    )
    .await?;
    users::record_login(&txn, &user.id, now).await?;
    audit::record(
        &txn,
        now,
        AuditEvent {
            kind: kind::LOGIN_SUCCEEDED,
            actor: Some(user.id.clone()),
            user_id: Some(user.id.clone()),
            client_id: Some(client.client_id.clone()),
            family_id: Some(family_id.clone()),
            ip: meta.ip.clone(),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;

    let access_token = issue_access_token(
        state,
        &user.id,
        &client.client_id,
        &scope,
        Some(&family_id),
        policy.access_ttl,
    )?;
    Ok(TokenSet {
        access_token,
        expires_in: policy.access_ttl,
        refresh_token: Some(refresh.into_string()),
        scope,
    })
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
