use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::page;
use crate::admin::audit::{self, AuditQuery, AuditRecord, StatsRange};
use crate::api::ApiTag;
use crate::api::auth::AdminBearer;
use crate::api::error::ApiResult;
use crate::api::time::{datetime, millis};
use crate::domain::AuditKind;
use crate::state::AppState;

#[derive(Default)]
pub struct AdminAuditApi;

/// One audit event. Never holds a secret or a token value.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AuditEventView {
    pub id: i64,
    pub at: time::OffsetDateTime,
    pub kind: AuditKind,
    /// The acting user id, `cli`, `system`, or `client:<client_id>`.
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

impl From<AuditRecord> for AuditEventView {
    fn from(e: AuditRecord) -> Self {
        AuditEventView {
            id: e.id,
            at: datetime(e.at),
            kind: e.kind,
            actor: e.actor,
            actor_name: e.actor_name,
            user_id: e.user_id,
            username: e.username,
            client_id: e.client_id,
            family_id: e.family_id,
            ip: e.ip,
            reason: e.reason,
            detail: e.detail,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
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
    pub range: StatsRange,
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
    /// Newest first, filtered by kind, user (`user_id`, or `username`), client, family
    /// and time (`since` inclusive, `until` exclusive).
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/audit", method = "get", operation_id = "admin_list_audit")]
    async fn list(
        &self,
        state: Data<&AppState>,
        _admin: AdminBearer,
        kind: Query<Option<AuditKind>>,
        user_id: Query<Option<String>>,
        username: Query<Option<String>>,
        client_id: Query<Option<String>>,
        family_id: Query<Option<String>>,
        since: Query<Option<time::OffsetDateTime>>,
        until: Query<Option<time::OffsetDateTime>>,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> ApiResult<AuditPage> {
        let q = AuditQuery {
            kind: kind.0,
            user_id: user_id.0,
            username: username.0,
            client_id: client_id.0,
            family_id: family_id.0,
            since: since.0.map(millis),
            until: until.0.map(millis),
        };
        let p = audit::list(&state, q, &page(cursor.0, limit.0)).await?;
        Ok(Json(AuditPage {
            items: p.items.into_iter().map(AuditEventView::from).collect(),
            next_cursor: p.next_cursor,
            total: p.total,
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
        range: Query<Option<StatsRange>>,
    ) -> ApiResult<Stats> {
        let s = audit::stats(&state, range.0.unwrap_or(StatsRange::Hour)).await?;
        Ok(Json(Stats {
            totals: Totals {
                users: s.totals.users,
                clients: s.totals.clients,
                live_families: s.totals.live_families,
                signing_keys: s.totals.signing_keys,
            },
            range: s.range,
            bucket_seconds: s.bucket_seconds,
            points: s
                .points
                .into_iter()
                .map(|p| StatsPoint {
                    at: datetime(p.at),
                    sign_ins: p.sign_ins,
                    refreshes: p.refreshes,
                    failed_logins: p.failed_logins,
                    reuse_detections: p.reuse_detections,
                })
                .collect(),
            recent_reuse_detections: s.recent_reuse_detections,
        }))
    }
}
