//! Browser sign-in sessions, as administrators see them: list, and end one (the user's
//! next authorize request asks for the password again; refresh families it started
//! are separate sessions and stay).

use sea_orm::TransactionTrait;

use super::sessions::user_filter;
use super::{Actor, AdminError, AdminResult, Page, PageRequest};
use crate::clock::Millis;
use crate::domain::{AuditKind, RevokeReason};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent};
use crate::store::entities::signin_session;
use crate::store::{signin, users};

#[derive(Debug, Clone)]
pub struct SigninSessionRecord {
    pub id: String,
    pub user_id: String,
    pub username: Option<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub ended_at: Option<Millis>,
    pub end_reason: Option<RevokeReason>,
    pub active: bool,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SigninSessionQuery {
    pub user_id: Option<String>,
    pub username: Option<String>,
    /// Also ended and expired sessions.
    pub include_ended: bool,
}

async fn records(
    state: &AppState,
    rows: Vec<signin_session::Model>,
) -> AdminResult<Vec<SigninSessionRecord>> {
    let now = state.clock.now_ms();
    let ids: Vec<String> = rows.iter().map(|s| s.user_id.clone()).collect();
    let names = users::names(&state.db.read, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|s| SigninSessionRecord {
            username: names.get(&s.user_id).cloned(),
            active: s.is_live(now),
            end_reason: s.end_reason.as_deref().and_then(RevokeReason::parse),
            id: s.id,
            user_id: s.user_id,
            created_at: s.created_at,
            expires_at: s.expires_at,
            ended_at: s.ended_at,
            ip: s.ip,
            user_agent: s.user_agent,
        })
        .collect())
}

pub async fn list(
    state: &AppState,
    q: SigninSessionQuery,
    page: &PageRequest,
) -> AdminResult<Page<SigninSessionRecord>> {
    let limit = page.limit()?;
    let Ok(user_id) = user_filter(state, q.user_id, q.username).await? else {
        return Ok(Page::empty());
    };
    let now = state.clock.now_ms();
    let (rows, total) = signin::page(
        &state.db.read,
        user_id.as_deref(),
        q.include_ended,
        now,
        page.cursor.as_deref().filter(|c| !c.is_empty()),
        limit,
    )
    .await?;
    let next = Page::of(rows, limit, total, |s| s.id.clone(), |s| s);
    Ok(Page {
        items: records(state, next.items).await?,
        next_cursor: next.next_cursor,
        total,
    })
}

/// Ends a sign-in session (reason `admin`).
pub async fn end(state: &AppState, actor: &Actor, id: &str) -> AdminResult<SigninSessionRecord> {
    let now = state.clock.now_ms();
    let txn = state.db.write.begin().await?;
    let Some(s) = signin::find(&txn, id).await? else {
        return Err(AdminError::NotFound(format!("no sign-in session {id}")));
    };
    if signin::end(&txn, id, RevokeReason::Admin.as_str(), now).await? {
        audit::record(
            &txn,
            now,
            actor.stamp(AuditEvent {
                user_id: Some(s.user_id.clone()),
                reason: Some(RevokeReason::Admin.as_str().into()),
                detail: Some(serde_json::json!({ "signin_session": id })),
                ..AuditEvent::new(AuditKind::SessionEnded)
            }),
        )
        .await?;
    }
    txn.commit().await?;
    let s = signin::find(&state.db.read, id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no sign-in session {id}")))?;
    records(state, vec![s])
        .await?
        .pop()
        .ok_or_else(|| AdminError::Internal("sign-in session record missing".into()))
}
