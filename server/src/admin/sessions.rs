//! Sessions (refresh families): ending them, and reading them for the admin API and
//! `/me`. "Ending" is one rule wherever the request comes from: the revocation, one
//! `family_revoked` audit event per family in the same transaction, and the metric.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, TransactionTrait};

use super::{Actor, AdminError, AdminResult, Page, PageRequest, filter_text};
use crate::clock::Millis;
use crate::domain::{AuditKind, FamilyState, RevokeReason, TokenState};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent};
use crate::store::entities::refresh_family;
pub use crate::store::sessions::Owner;
use crate::store::sessions::{self as store, FamilyFilter};
use crate::store::users;

fn revoked_event(f: &refresh_family::Model, reason: RevokeReason) -> AuditEvent {
    AuditEvent {
        user_id: f.user_id.clone(),
        client_id: Some(f.client_id.clone()),
        family_id: Some(f.id.clone()),
        reason: Some(reason.as_str().to_owned()),
        ..AuditEvent::new(AuditKind::FamilyRevoked)
    }
}

/// Ends one family if it is still unrevoked, with its audit event and, when given, one
/// more event (the `reuse_detected` that caused it) in the same transaction. Returns
/// whether this call ended it.
pub async fn end_family(
    state: &AppState,
    family: &refresh_family::Model,
    reason: RevokeReason,
    actor: &Actor,
    also: Option<AuditEvent>,
) -> AdminResult<bool> {
    let now = state.clock.now_ms();
    let txn = state.db.write.begin().await?;
    let ended = store::revoke(&txn, &family.id, reason, now).await?;
    if ended {
        if let Some(e) = also {
            audit::record(&txn, now, actor.stamp(e)).await?;
        }
        audit::record(&txn, now, actor.stamp(revoked_event(family, reason))).await?;
    }
    txn.commit().await?;
    if ended {
        state.metrics.revoked(reason.as_str(), 1);
    }
    Ok(ended)
}

/// Inside the caller's transaction: ends every unrevoked family of a user or a client,
/// with an audit event each. The caller commits, then counts them with [`counted`].
pub(crate) async fn end_owned_in(
    txn: &impl ConnectionTrait,
    owner: Owner<'_>,
    reason: RevokeReason,
    actor: &Actor,
    now: Millis,
) -> AdminResult<u64> {
    let revoked = store::revoke_owned(txn, owner, reason, now).await?;
    for f in &revoked {
        audit::record(txn, now, actor.stamp(revoked_event(f, reason))).await?;
    }
    // A user's browser sign-in sessions end with their refresh families.
    if let Owner::User(user_id) = owner {
        let n = crate::store::signin::end_for_user(txn, user_id, reason.as_str(), now).await?;
        if n > 0 {
            audit::record(
                txn,
                now,
                actor.stamp(AuditEvent {
                    user_id: Some(user_id.to_owned()),
                    reason: Some(reason.as_str().into()),
                    detail: Some(serde_json::json!({ "signin_sessions": n })),
                    ..AuditEvent::new(AuditKind::SessionEnded)
                }),
            )
            .await?;
        }
    }
    Ok(revoked.len() as u64)
}

/// Counts families ended by a committed [`end_owned_in`] in the metrics.
pub(crate) fn counted(state: &AppState, reason: RevokeReason, n: u64) -> u64 {
    state.metrics.revoked(reason.as_str(), n);
    n
}

/// Ends every session of a user or a client in one transaction.
pub async fn end_all(
    state: &AppState,
    actor: &Actor,
    owner: Owner<'_>,
    reason: RevokeReason,
) -> AdminResult<u64> {
    let now = state.clock.now_ms();
    let txn = state.db.write.begin().await?;
    let n = end_owned_in(&txn, owner, reason, actor, now).await?;
    txn.commit().await?;
    Ok(counted(state, reason, n))
}

/// An administrator ends every session of a user or a client (reason `admin`), with an
/// `admin_action` event naming the count.
pub async fn revoke_all(state: &AppState, actor: &Actor, owner: Owner<'_>) -> AdminResult<u64> {
    let (user_id, client_id) = match owner {
        Owner::User(u) => {
            super::users::find(state, u).await?;
            (Some(u.to_owned()), None)
        }
        Owner::Client(c) => {
            super::clients::find(state, c).await?;
            (None, Some(c.to_owned()))
        }
    };
    let now = state.clock.now_ms();
    let txn = state.db.write.begin().await?;
    let n = end_owned_in(&txn, owner, RevokeReason::Admin, actor, now).await?;
    audit::record(
        &txn,
        now,
        actor.stamp(AuditEvent {
            user_id,
            client_id,
            detail: Some(serde_json::json!({"action": "revoke_sessions", "revoked": n})),
            ..AuditEvent::new(AuditKind::AdminAction)
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(counted(state, RevokeReason::Admin, n))
}

/// A family as the admin API and `/me` show it.
#[derive(Debug, Clone)]
pub struct FamilyRecord {
    pub id: String,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub client_id: String,
    pub scope: String,
    pub state: FamilyState,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub revoked_at: Option<Millis>,
    pub revoke_reason: Option<RevokeReason>,
    pub last_used_at: Millis,
    pub generations: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// One token of a chain (never its value).
#[derive(Debug, Clone)]
pub struct ChainLink {
    pub generation: i32,
    pub state: TokenState,
    pub issued_at: Millis,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// This generation was presented again after use: the replay that revoked the family.
    pub replayed: bool,
}

#[derive(Debug, Clone)]
pub struct FamilyDetail {
    pub family: FamilyRecord,
    /// Oldest first.
    pub chain: Vec<ChainLink>,
    pub replayed_generation: Option<i64>,
}

/// Records for a batch of families, with user names, last use and chain lengths.
async fn records(
    state: &AppState,
    rows: Vec<refresh_family::Model>,
) -> AdminResult<Vec<FamilyRecord>> {
    let db = &state.db.read;
    let now = state.clock.now_ms();
    let ids: Vec<String> = rows.iter().map(|f| f.id.clone()).collect();
    let user_ids: Vec<String> = rows.iter().filter_map(|f| f.user_id.clone()).collect();
    let names = users::names(db, &user_ids).await?;
    let chains = store::chain_summaries(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|f| {
            let chain = chains.get(&f.id).copied().unwrap_or_default();
            FamilyRecord {
                username: f.user_id.as_ref().and_then(|u| names.get(u).cloned()),
                state: f.state(now),
                last_used_at: chain.last_used_at.max(f.created_at),
                generations: chain.generations,
                revoke_reason: f.revoke_reason.as_deref().and_then(RevokeReason::parse),
                id: f.id,
                user_id: f.user_id,
                client_id: f.client_id,
                scope: f.scope,
                created_at: f.created_at,
                expires_at: f.expires_at,
                revoked_at: f.revoked_at,
                user_agent: f.user_agent,
                ip: f.ip,
            }
        })
        .collect())
}

/// Filters of the family list; a user may be named by id or by name.
#[derive(Debug, Clone, Default)]
pub struct FamilyQuery {
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub client_id: Option<String>,
    pub state: Option<FamilyState>,
    pub reason: Option<RevokeReason>,
    pub created_after: Option<Millis>,
    pub created_before: Option<Millis>,
}

/// The user id a filter names: `user_id` as given, or the id of `username`. `Ok(None)`
/// when no user filter is set; `Err(())` when the name names nobody (an empty list).
pub(crate) async fn user_filter(
    state: &AppState,
    user_id: Option<String>,
    username: Option<String>,
) -> AdminResult<Result<Option<String>, ()>> {
    let user_id = filter_text("user_id", user_id, 64)?;
    let Some(name) = filter_text("username", username, 64)? else {
        return Ok(Ok(user_id));
    };
    let found = users::find_by_username(&state.db.read, &name).await?;
    Ok(match (found, user_id) {
        (Some(u), None) => Ok(Some(u.id)),
        (Some(u), Some(id)) if u.id == id => Ok(Some(id)),
        _ => Err(()),
    })
}

pub async fn list(
    state: &AppState,
    q: FamilyQuery,
    page: &PageRequest,
) -> AdminResult<Page<FamilyRecord>> {
    let limit = page.limit()?;
    let Ok(user_id) = user_filter(state, q.user_id, q.username).await? else {
        return Ok(Page::empty());
    };
    let filter = FamilyFilter {
        user_id,
        client_id: filter_text("client_id", q.client_id, 128)?,
        state: q.state,
        reason: q.reason,
        created_after: q.created_after,
        created_before: q.created_before,
    };
    let now = state.clock.now_ms();
    let (rows, total) = store::page(&state.db.read, &filter, page.cursor(), limit, now).await?;
    let key = |f: &refresh_family::Model| f.id.clone();
    let next = Page::of(rows, limit, total, key, |f| f);
    let items = records(state, next.items).await?;
    Ok(Page {
        items,
        next_cursor: next.next_cursor,
        total,
    })
}

async fn find_family(state: &AppState, id: &str) -> AdminResult<refresh_family::Model> {
    store::find(&state.db.read, id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no family {id}")))
}

async fn record_of(state: &AppState, f: refresh_family::Model) -> AdminResult<FamilyRecord> {
    records(state, vec![f])
        .await?
        .pop()
        .ok_or_else(|| AdminError::Internal("family record missing".into()))
}

/// A family with its token chain.
pub async fn get(state: &AppState, id: &str) -> AdminResult<FamilyDetail> {
    let f = find_family(state, id).await?;
    let now = state.clock.now_ms();
    let replayed_generation = audit::replayed_generation(&state.db.read, &f.id).await?;
    let revoked = f.revoked_at.is_some();
    let chain = store::chain(&state.db.read, &f.id)
        .await?
        .into_iter()
        .map(|t| ChainLink {
            state: TokenState::of(t.used_at, t.invalidated, t.expires_at, revoked, now),
            replayed: replayed_generation == Some(i64::from(t.generation)),
            generation: t.generation,
            issued_at: t.issued_at,
            expires_at: t.expires_at,
            used_at: t.used_at,
            ip: t.ip,
            user_agent: t.user_agent,
        })
        .collect();
    Ok(FamilyDetail {
        family: record_of(state, f).await?,
        chain,
        replayed_generation,
    })
}

/// An administrator ends one family (reason `admin`).
pub async fn revoke(state: &AppState, actor: &Actor, id: &str) -> AdminResult<FamilyRecord> {
    let f = find_family(state, id).await?;
    end_family(state, &f, RevokeReason::Admin, actor, None).await?;
    record_of(state, find_family(state, id).await?).await
}

/// A user's own live sessions, newest first.
pub async fn list_own(state: &AppState, user_id: &str) -> AdminResult<Vec<FamilyRecord>> {
    let now = state.clock.now_ms();
    let rows = store::live_for_user(&state.db.read, user_id, now).await?;
    records(state, rows).await
}

/// A user ends one of their own sessions (reason `logout`); someone else's session is
/// not found.
pub async fn end_own(state: &AppState, actor: &Actor, family_id: &str) -> AdminResult<bool> {
    let Actor::User { id: user_id, .. } = actor else {
        return Err(AdminError::Internal("end_own needs a user actor".into()));
    };
    let family = store::find(&state.db.read, family_id)
        .await?
        .filter(|f| f.user_id.as_deref() == Some(user_id.as_str()))
        .ok_or_else(|| AdminError::NotFound("no such session".into()))?;
    end_family(state, &family, RevokeReason::Logout, actor, None).await
}

/// Live families per user, for user lists.
pub(crate) async fn live_counts(
    state: &AppState,
    user_ids: &[String],
) -> AdminResult<HashMap<String, i64>> {
    Ok(store::live_counts_by_user(&state.db.read, user_ids, state.clock.now_ms()).await?)
}
