//! The audit trail and the dashboard's figures, as the admin API shows them.

use super::sessions::user_filter;
use super::{AdminError, AdminResult, Page, PageRequest, filter_text};
use crate::clock::Millis;
use crate::domain::AuditKind;
use crate::state::AppState;
use crate::store::audit::{self, AuditFilter};
use crate::store::{self, clients, sessions, users};

/// One audit event, with the names of its actor and user where they still exist.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: i64,
    pub at: Millis,
    pub kind: AuditKind,
    pub actor: Option<String>,
    pub actor_name: Option<String>,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub client_id: Option<String>,
    pub family_id: Option<String>,
    pub ip: Option<String>,
    pub reason: Option<String>,
    pub detail: Option<serde_json::Value>,
}

/// Filters of the audit list; a user may be named by id or by name.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub kind: Option<AuditKind>,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub client_id: Option<String>,
    pub family_id: Option<String>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
}

/// Events newest first.
pub async fn list(
    state: &AppState,
    q: AuditQuery,
    page: &PageRequest,
) -> AdminResult<Page<AuditRecord>> {
    let limit = page.limit()?;
    let before = match page.cursor() {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| AdminError::invalid("cursor", "not a cursor from this list"))?,
        ),
    };
    let Ok(user_id) = user_filter(state, q.user_id, q.username).await? else {
        return Ok(Page::empty());
    };
    let filter = AuditFilter {
        kind: q.kind,
        user_id,
        client_id: filter_text("client_id", q.client_id, 128)?,
        family_id: filter_text("family_id", q.family_id, 64)?,
        since: q.since,
        until: q.until,
    };
    let (rows, total) = audit::page(&state.db.read, &filter, before, limit).await?;
    let ids: Vec<String> = rows
        .iter()
        .flat_map(|e| [e.actor.clone(), e.user_id.clone()])
        .flatten()
        .collect();
    let names = users::names(&state.db.read, &ids).await?;
    let name = |id: &Option<String>| id.as_ref().and_then(|i| names.get(i).cloned());
    let rows: Vec<_> = rows
        .into_iter()
        .filter_map(|e| AuditKind::parse(&e.kind).map(|k| (k, e)))
        .collect();
    Ok(Page::of(
        rows,
        limit,
        total,
        |(_, e)| e.id.to_string(),
        |(kind, e)| AuditRecord {
            id: e.id,
            at: e.at,
            kind,
            actor_name: name(&e.actor),
            username: name(&e.user_id),
            actor: e.actor,
            user_id: e.user_id,
            client_id: e.client_id,
            family_id: e.family_id,
            ip: e.ip,
            reason: e.reason,
            detail: e.detail.and_then(|d| serde_json::from_str(&d).ok()),
        },
    ))
}

crate::vocabulary! {
    /// The span the dashboard covers.
    pub enum StatsRange {
        /// The last hour, per minute.
        Hour = "hour",
        /// The last week, per hour.
        Week = "week",
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    pub users: u64,
    pub clients: u64,
    pub live_families: u64,
    /// Keys not yet retired.
    pub signing_keys: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct StatsPoint {
    pub at: Millis,
    pub sign_ins: i64,
    pub refreshes: i64,
    pub failed_logins: i64,
    pub reuse_detections: i64,
}

#[derive(Debug, Clone)]
pub struct Stats {
    pub totals: Totals,
    pub range: StatsRange,
    pub bucket_seconds: i64,
    /// Oldest first, one per bucket, empty buckets included.
    pub points: Vec<StatsPoint>,
    pub recent_reuse_detections: i64,
}

pub async fn stats(state: &AppState, range: StatsRange) -> AdminResult<Stats> {
    let db = &state.db.read;
    let (bucket_ms, buckets) = match range {
        StatsRange::Hour => (60_000i64, 60i64),
        StatsRange::Week => (3_600_000, 168),
    };
    let now = state.clock.now_ms();
    let end = now.div_euclid(bucket_ms) * bucket_ms + bucket_ms;
    let from = end - buckets * bucket_ms;
    let series = store::stats::series(db, from, bucket_ms).await?;
    let points = (0..buckets)
        .map(|i| {
            let at = from + i * bucket_ms;
            let b = series.get(&at).copied().unwrap_or_default();
            StatsPoint {
                at,
                sign_ins: b.sign_ins,
                refreshes: b.refreshes,
                failed_logins: b.failed_logins,
                reuse_detections: b.reuse_detections,
            }
        })
        .collect();
    let recent_reuse_detections = store::stats::series(db, now - 3_600_000, 3_600_000 * 24)
        .await?
        .values()
        .map(|b| b.reuse_detections)
        .sum();
    let signing_keys = store::keys::list(db)
        .await?
        .iter()
        .filter(|k| k.retired_at.is_none_or(|r| r > now))
        .count() as u64;
    Ok(Stats {
        totals: Totals {
            users: users::count(db).await?,
            clients: clients::count(db).await?,
            live_families: sessions::count_live(db, now).await?,
            signing_keys,
        },
        range,
        bucket_seconds: bucket_ms / 1000,
        points,
        recent_reuse_detections,
    })
}
