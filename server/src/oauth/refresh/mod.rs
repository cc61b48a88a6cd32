//! Refresh token grant (RFC 6749 §6) with rotation and family-wide reuse detection
//! (docs/protocol.md, "Rotation and reuse detection").
//!
//! The hot path is the compare-and-set that claims the presented token (checking in the
//! same statement that it is unused, unexpired and that its family is live) and the
//! insert of its child, committed with every other rotation waiting
//! ([`group_commit`]). Everything else (unknown, expired, replayed) is decided on the
//! cold path after the claim failed.

pub mod group_commit;

use sea_orm::TransactionTrait;
use serde_json::json;

use super::{OAuthError, TokenSet, issue_access_token_with};
use crate::admin::{Actor, sessions};
use crate::crypto::keys::LoadedKey;
use crate::domain::{
    AuditKind, GrantType, RefreshTokenValue, RequestMeta, ReuseDecision, RevokeReason, Scope,
    child_expiry, decide_reuse,
};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent};
use crate::store::clients::ClientPolicy;
use crate::store::entities::{client, refresh_token};
use crate::store::rotation::{self, TokenRow};

pub struct RefreshRequest<'a> {
    pub refresh_token: &'a str,
    pub scope: Option<&'a str>,
}

const INVALID: &str = "the refresh token is invalid, expired or revoked";

pub async fn grant(
    state: &AppState,
    client: &client::Model,
    req: RefreshRequest<'_>,
    meta: &RequestMeta,
) -> Result<TokenSet, OAuthError> {
    let policy = client.policy(&state.settings);
    super::require_grant(&client.client_id, &policy, GrantType::RefreshToken)?;
    let presented = RefreshTokenValue::parse(req.refresh_token)
        .ok_or_else(|| OAuthError::InvalidGrant(INVALID.into()))?;
    let requested = req
        .scope
        .map(Scope::parse)
        .transpose()
        .map_err(OAuthError::InvalidScope)?;
    let hash = presented.hash();
    let now = state.clock.now_ms();

    // Hot path: the rotation joins the next group commit (one transaction for every
    // rotation waiting; [`group_commit`]). The signing key is taken first, so that
    // without one nothing is spent; the signature is made after the commit, outside the
    // writer, and should it fail the rotation is undone ([`rotation::unspend`]): a token
    // is never spent without its successor reaching the client.
    let key = super::signing_key(state)?;
    let child = RefreshTokenValue::generate();
    let started = std::time::Instant::now();
    let answer = state
        .rotations
        .rotate(group_commit::Ask {
            token_hash: hash.clone(),
            client_id: client.client_id.clone(),
            policy: policy.clone(),
            requested: requested.clone(),
            meta: meta.clone(),
            child_hash: child.hash(),
        })
        .await?;
    match answer {
        group_commit::Answer::Rotated(rotated) => {
            state.metrics.db("refresh_rotate", started);
            return match finish(state, &key, &rotated.parent, rotated.scope, &policy) {
                Ok(set) => Ok(set.with_refresh(child)),
                Err(e) => {
                    let undo = state.db.write.begin().await?;
                    rotation::unspend(&undo, rotated.parent.id, &child.hash()).await?;
                    undo.commit().await?;
                    Err(e)
                }
            };
        }
        group_commit::Answer::Refused(e) => return Err(e),
        group_commit::Answer::NotClaimed => {}
    }

    // Cold path: why did the claim fail?
    let Some(token) = rotation::find_token(&state.db.read, &hash).await? else {
        return Err(OAuthError::InvalidGrant(INVALID.into()));
    };
    if token.client_id != client.client_id || token.expires_at <= now {
        return Err(OAuthError::InvalidGrant(INVALID.into()));
    }
    let family = crate::store::sessions::find(&state.db.read, &token.family_id).await?;
    let Some(family) = family.filter(|f| f.is_live(now)) else {
        return Err(OAuthError::InvalidGrant(INVALID.into()));
    };
    let Some(used_at) = token.used_at else {
        return Err(OAuthError::InvalidGrant(INVALID.into()));
    };

    if decide_reuse(used_at, now, policy.reuse_leeway) == ReuseDecision::RetryWithinLeeway {
        // A retry after a lost response: replace the still-unused child, keeping one
        // live chain. If the child was already used the chain moved on: a replay.
        let txn = state.db.write.begin().await?;
        if rotation::invalidate_unused_child(&txn, token.id, now).await? {
            let issued = match effective_scope(&txn, &token, &policy, requested.as_ref()).await {
                Ok(scope) => super::signing_key(state)
                    .and_then(|key| finish(state, &key, &token, scope, &policy)),
                Err(e) => Err(e),
            };
            let (set, child) = match issued {
                Ok(set) => (set, RefreshTokenValue::generate()),
                Err(e) => {
                    txn.rollback().await?;
                    return Err(e);
                }
            };
            rotation::insert_token(
                &txn,
                child_row(&token, &child.hash(), &policy, now),
                meta,
                now,
            )
            .await?;
            if state.settings.audit_refreshes {
                audit::record(&txn, now, audit_event(&token, meta, true)).await?;
            }
            txn.commit().await?;
            return Ok(set.with_refresh(child));
        }
        txn.rollback().await?;
    }

    // Replay: one of the two presenters is a thief. The revocation is committed on its
    // own, even though this request fails.
    let reuse = AuditEvent {
        user_id: token.user_id.clone(),
        client_id: Some(token.client_id.clone()),
        family_id: Some(token.family_id.clone()),
        ip: meta.ip.clone(),
        reason: Some(RevokeReason::ReuseDetected.as_str().into()),
        detail: Some(json!({
            "generation": token.generation,
            "used_at": used_at,
            "user_agent": meta.user_agent,
        })),
        ..AuditEvent::new(AuditKind::ReuseDetected)
    };
    let ended = sessions::end_family(
        state,
        &family,
        RevokeReason::ReuseDetected,
        &Actor::System,
        Some(reuse),
    )
    .await?;
    if ended {
        state.metrics.reuse_detections.inc();
        tracing::warn!(
            family = %token.family_id,
            client = %token.client_id,
            generation = token.generation,
            "refresh token reuse detected; family revoked"
        );
    }
    Err(OAuthError::InvalidGrant(
        "refresh token reuse detected; the session has been revoked".into(),
    ))
}

/// A rotation committed by the group commit.
pub struct Rotation {
    /// The presented token's row, as claimed.
    pub parent: refresh_token::Model,
    /// The new access token's scope.
    pub scope: Scope,
}

/// The `token_refreshed` event, recorded (unless `audit_refreshes` is off) in the same
/// transaction as the rotation.
fn audit_event(parent: &refresh_token::Model, meta: &RequestMeta, retry: bool) -> AuditEvent {
    AuditEvent {
        actor: parent.user_id.clone(),
        user_id: parent.user_id.clone(),
        client_id: Some(parent.client_id.clone()),
        family_id: Some(parent.family_id.clone()),
        ip: meta.ip.clone(),
        detail: Some(json!({
            "generation": parent.generation.saturating_add(1),
            "retry_within_leeway": retry,
        })),
        ..AuditEvent::new(AuditKind::TokenRefreshed)
    }
}

/// The scope for the new access token: what the family was granted, less what the client
/// may no longer have and, for a user no longer an administrator, less `admin`; then the
/// requested subset of that, if any (RFC 6749 §6).
async fn effective_scope(
    db: &impl sea_orm::ConnectionTrait,
    token: &refresh_token::Model,
    policy: &ClientPolicy,
    requested: Option<&Scope>,
) -> Result<Scope, OAuthError> {
    let is_admin = match (&token.user_id, needs_admin_check(token, policy)) {
        (Some(id), true) => crate::store::users::find(db, id)
            .await?
            .is_some_and(|u| u.is_admin && !u.disabled),
        _ => false,
    };
    narrow_granted(token, policy, requested, is_admin)
}

fn granted(token: &refresh_token::Model, policy: &ClientPolicy) -> Scope {
    Scope::parse(&token.scope)
        .unwrap_or_default()
        .intersection(&policy.scopes)
}

/// Whether the scope depends on the user still being an administrator.
fn needs_admin_check(token: &refresh_token::Model, policy: &ClientPolicy) -> bool {
    token.user_id.is_some() && granted(token, policy).contains(super::ADMIN_SCOPE)
}

/// [`effective_scope`] once it is known whether the user is an enabled administrator.
fn narrow_granted(
    token: &refresh_token::Model,
    policy: &ClientPolicy,
    requested: Option<&Scope>,
    is_admin: bool,
) -> Result<Scope, OAuthError> {
    let mut granted = granted(token, policy);
    if granted.contains(super::ADMIN_SCOPE) && !is_admin {
        granted = granted.without(super::ADMIN_SCOPE);
    }
    narrow(granted, requested)
}

fn narrow(granted: Scope, requested: Option<&Scope>) -> Result<Scope, OAuthError> {
    match requested {
        None => Ok(granted),
        Some(r) if r.is_subset_of(&granted) => Ok(r.clone()),
        Some(_) => Err(OAuthError::InvalidScope(
            "the requested scope exceeds the scope originally granted".into(),
        )),
    }
}

fn child_row(
    parent: &refresh_token::Model,
    child_hash: &str,
    policy: &ClientPolicy,
    now: i64,
) -> TokenRow {
    TokenRow {
        family_id: parent.family_id.clone(),
        parent_id: Some(parent.id),
        generation: parent.generation.saturating_add(1),
        token_hash: child_hash.to_owned(),
        client_id: parent.client_id.clone(),
        user_id: parent.user_id.clone(),
        scope: parent.scope.clone(),
        expires_at: child_expiry(now, policy.refresh_idle_ttl, parent.family_expires_at),
        family_expires_at: parent.family_expires_at,
    }
}

/// Signs the access token; the caller attaches the child.
fn finish(
    state: &AppState,
    key: &LoadedKey,
    parent: &refresh_token::Model,
    scope: Scope,
    policy: &ClientPolicy,
) -> Result<TokenSet, OAuthError> {
    let sub = parent.user_id.as_deref().unwrap_or(&parent.client_id);
    let access_token = issue_access_token_with(
        state,
        key,
        sub,
        &parent.client_id,
        &scope,
        Some(&parent.family_id),
        policy.access_ttl,
    )?;
    Ok(TokenSet {
        access_token,
        expires_in: policy.access_ttl,
        refresh_token: None,
        refresh_expires_at: Some(child_expiry(
            state.clock.now_ms(),
            policy.refresh_idle_ttl,
            parent.family_expires_at,
        )),
        scope,
    })
}
