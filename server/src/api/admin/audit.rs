use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::bad;
use crate::api::ApiTag;
use crate::api::auth::AdminBearer;
use crate::api::error::ApiResult;
use crate::api::time::{datetime, millis};
use crate::state::AppState;
use crate::store::audit::{self, AuditFilter, kind};
use crate::store::{self, families, users};

#[derive(Default)]
pub struct AdminAuditApi;

/// One audit event. Never holds a secret or a token value.
#[derive(Debug, Object)]
pub struct AuditEventView {
    pub id: i64,
    pub at: time::OffsetDateTime,
    /// e.g. `login_succeeded`, `login_failed`, `account_locked`, `reuse_detected`,
    /// `family_revoked`, `key_rotated`, `key_retired`, `user_created`, `user_updated`,
    /// `user_deleted`, `client_created`, `client_updated`, `client_removed`,
    /// `client_secret_rotated`, `admin_action`.
    pub kind: String,
    /// The acting user id, `cli` or `system`.
    pub actor: Option<String>,
    /// The acting user's name, when the actor is a user who still exists.
    pub actor_name: Option<String>,
    pub user_id: Option<String>,
    /// The user's name, when the user still exists.
    pub username: Option<String>,
    pub client_id: Option<String>,
    pub family_id: Option<String>,
    pub ip: Option<String>,
    pub reason: Option<String>,
    /// Event-specific details.
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, Object)]
pub struct AuditPage {
    /// Newest first.
    pub items: Vec<AuditEventView>,
    pub next_cursor: Option<String>,
    pub total: u64,
}

#[derive(Debug, Object)]
pub struct Totals {
    pub users: u64,
    pub clients: u64,
    pub live_families: u64,
    /// Keys not yet retired.
    pub signing_keys: u64,
}

/// Counts in one time bucket.
#[derive(Debug, Object)]
pub struct StatsPoint {
    /// Start of the bucket.
    pub at: time::OffsetDateTime,
    /// Successful password sign-ins.
    pub sign_ins: i64,
    /// Refresh-token exchanges.
    pub refreshes: i64,
    pub failed_logins: i64,
    pub reuse_detections: i64,
}

#[derive(Debug, Object)]
pub struct Stats {
    pub totals: Totals,
    /// `hour` (per minute) or `week` (per hour).
    pub range: String,
    pub bucket_seconds: i64,
    /// Oldest first, one point per bucket, empty buckets included.
    pub points: Vec<StatsPoint>,
    /// Reuse detections in the last hour, for an alert.
    pub recent_reuse_detections: i64,
}

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::AdminAudit")]
impl AdminAuditApi {
    /// List audit events
    ///
    /// Newest first, filtered by kind, user, client, family and time (`since` inclusive,
    /// `until` exclusive).
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/audit", method = "get", operation_id = "admin_list_audit")]
    async fn list(
        &self,
        state: Data<&AppState>,
        _admin: AdminBearer,
        kind: Query<Option<String>>,
        user_id: Query<Option<String>>,
        client_id: Query<Option<String>>,
        family_id: Query<Option<String>>,
        since: Query<Option<time::OffsetDateTime>>,
        until: Query<Option<time::OffsetDateTime>>,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> ApiResult<AuditPage> {
        let limit = super::limit(limit.0)?;
        let nonempty = |q: Option<String>| q.filter(|s| !s.is_empty());
        let kind_filter = nonempty(kind.0);
        if let Some(k) = &kind_filter
            && !kind::ALL.contains(&k.as_str())
        {
            return Err(bad(format!("kind: unknown event kind `{k}`")));
        }
        let before = match nonempty(cursor.0) {
            None => None,
            Some(c) => Some(
                c.parse::<i64>()
                    .map_err(|_| bad("cursor: not a cursor from this list"))?,
            ),
        };
        let filter = AuditFilter {
            kind: kind_filter,
            user_id: nonempty(user_id.0),
            client_id: nonempty(client_id.0),
            family_id: nonempty(family_id.0),
            since: since.0.map(millis),
            until: until.0.map(millis),
        };
        let (rows, total) = audit::page(&state.db.read, &filter, before, limit).await?;
        let next_cursor = (rows.len() as u64 == limit)
            .then(|| rows.last().map(|e| e.id.to_string()))
            .flatten();
        let ids: Vec<String> = rows
            .iter()
            .flat_map(|e| [e.actor.clone(), e.user_id.clone()])
            .flatten()
            .collect();
        let names = users::names(&state.db.read, &ids).await?;
        let name = |id: &Option<String>| id.as_ref().and_then(|i| names.get(i).cloned());
        Ok(Json(AuditPage {
            items: rows
                .into_iter()
                .map(|e| AuditEventView {
                    id: e.id,
                    at: datetime(e.at),
                    kind: e.kind,
                    actor_name: name(&e.actor),
                    username: name(&e.user_id),
                    actor: e.actor,
                    user_id: e.user_id,
                    client_id: e.client_id,
                    family_id: e.family_id,
                    ip: e.ip,
                    reason: e.reason,
                    detail: e.detail.and_then(|d| serde_json::from_str(&d).ok()),
                })
                .collect(),
            next_cursor,
            total,
        }))
    }

    /// Dashboard statistics
    ///
    /// Totals, and sign-ins, refreshes, failed sign-ins and reuse detections per minute
    /// over the last hour (`range=hour`, the default) or per hour over the last week
    /// (`range=week`).
    #[oai(
        path = "/stats",
        method = "get",
        operation_id = "admin_stats",
        tag = "ApiTag::AdminStats"
    )]
    async fn stats(
        &self,
        state: Data<&AppState>,
        _admin: AdminBearer,
        range: Query<Option<String>>,
    ) -> ApiResult<Stats> {
        let (range, bucket_ms, buckets) = match range.0.as_deref() {
            None | Some("") | Some("hour") => ("hour", 60_000i64, 60i64),
            Some("week") => ("week", 3_600_000, 168),
            Some(other) => return Err(bad(format!("range: `{other}` is not hour or week"))),
        };
        let now = state.clock.now_ms();
        let end = now.div_euclid(bucket_ms) * bucket_ms + bucket_ms;
        let from = end - buckets * bucket_ms;
        let series = store::stats::series(&state.db.read, from, bucket_ms).await?;
        let points = (0..buckets)
            .map(|i| {
                let at = from + i * bucket_ms;
                let b = series.get(&at).copied().unwrap_or_default();
                StatsPoint {
                    at: datetime(at),
                    sign_ins: b.sign_ins,
                    refreshes: b.refreshes,
                    failed_logins: b.failed_logins,
                    reuse_detections: b.reuse_detections,
                }
            })
            .collect::<Vec<_>>();
        let hour_ago = now - 3_600_000;
        let recent_reuse_detections =
            store::stats::series(&state.db.read, hour_ago, 3_600_000 * 24)
                .await?
                .values()
                .map(|b| b.reuse_detections)
                .sum();
        let keys = store::keys::list(&state.db.read)
            .await?
            .iter()
            .filter(|k| k.retired_at.is_none_or(|r| r > now))
            .count() as u64;
        Ok(Json(Stats {
            totals: Totals {
                users: users::count(&state.db.read).await?,
                clients: store::clients::list(&state.db.read).await?.len() as u64,
                live_families: families::count_live(&state.db.read, now).await?,
                signing_keys: keys,
            },
            range: range.to_owned(),
            bucket_seconds: bucket_ms / 1000,
            points,
            recent_reuse_detections,
        }))
    }
}
