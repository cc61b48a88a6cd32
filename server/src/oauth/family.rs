//! Starting a refresh family for a verified user: the password grant and the
//! authorization-code exchange both end here.

use sea_orm::DatabaseTransaction;

use super::{OAuthError, TokenSet, issue_access_token};
use crate::clock::Millis;
use crate::domain::{RefreshTokenValue, RequestMeta, Scope, child_expiry};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent};
use crate::store::clients::ClientPolicy;
use crate::store::entities::{client, user};
use crate::store::rotation::{self, NewFamily};
use crate::store::users;

pub struct Start<'a> {
    pub client: &'a client::Model,
    pub policy: &'a ClientPolicy,
    pub user: &'a user::Model,
    /// The password hash the sign-in was checked against: if it changed since (or the
    /// user was disabled or deleted), that change wins and no family starts.
    pub verified_hash: &'a str,
    pub scope: Scope,
    /// The sign-in's audit event; user, client, family and address are filled in.
    pub audit: AuditEvent,
}

/// Creates the family and its first refresh token in `txn`, records the sign-in and its
/// audit event, and signs the access token. The caller commits.
pub async fn start(
    state: &AppState,
    txn: &DatabaseTransaction,
    s: Start<'_>,
    meta: &RequestMeta,
    now: Millis,
) -> Result<(TokenSet, String), OAuthError> {
    let Start {
        client,
        policy,
        user,
        verified_hash,
        scope,
        audit: event,
    } = s;
    let refresh = RefreshTokenValue::generate();
    let family_id = uuid::Uuid::now_v7().to_string();
    let family_expires_at = now.saturating_add(policy.refresh_absolute_ttl.saturating_mul(1000));
    let token_expires_at = child_expiry(now, policy.refresh_idle_ttl, family_expires_at);
    let access_token = issue_access_token(
        state,
        &user.id,
        &client.client_id,
        &scope,
        Some(&family_id),
        policy.access_ttl,
    )?;
    rotation::create_family(
        txn,
        NewFamily {
            family_id: family_id.clone(),
            user_id: Some(user.id.clone()),
            client_id: &client.client_id,
            scope: scope.to_string(),
            token_hash: refresh.hash(),
            token_expires_at,
            family_expires_at,
        },
        meta,
        now,
    )
    .await?;
    // Only if the user is still as verified: a password change, disabling or deletion
    // that committed while this sign-in was hashing wins, and the new family is dropped
    // (with the caller's transaction).
    if !users::record_login(txn, &user.id, verified_hash, now).await? {
        return Err(OAuthError::InvalidGrant(
            "invalid username or password".into(),
        ));
    }
    // Likewise the client: it was authenticated from the client cache, which may be up to
    // a second old; one disabled or removed since gets no new family.
    if !crate::store::clients::is_enabled(txn, &client.client_id).await? {
        return Err(OAuthError::InvalidClient {
            description: "client authentication failed".into(),
            basic: false,
        });
    }
    audit::record(
        txn,
        now,
        AuditEvent {
            actor: Some(user.id.clone()),
            user_id: Some(user.id.clone()),
            client_id: Some(client.client_id.clone()),
            family_id: Some(family_id.clone()),
            ip: meta.ip.clone(),
            ..event
        },
    )
    .await?;
    Ok((
        TokenSet {
            access_token,
            expires_in: policy.access_ttl,
            refresh_token: Some(refresh.into_string()),
            refresh_expires_at: Some(token_expires_at),
            scope,
        },
        family_id,
    ))
}
