//! The audit trail: append-only rows, never a secret or token value.

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

use super::entities::audit_event;
use crate::clock::Millis;

/// Event kinds written by the server.
pub mod kind {
    pub const LOGIN_SUCCEEDED: &str = "login_succeeded";
    pub const LOGIN_FAILED: &str = "login_failed";
    pub const ACCOUNT_LOCKED: &str = "account_locked";
    pub const REUSE_DETECTED: &str = "reuse_detected";
    pub const FAMILY_REVOKED: &str = "family_revoked";
    pub const KEY_CREATED: &str = "key_created";
    pub const KEY_ROTATED: &str = "key_rotated";
    pub const KEY_RETIRED: &str = "key_retired";
    pub const USER_CREATED: &str = "user_created";
    pub const USER_UPDATED: &str = "user_updated";
    pub const USER_DELETED: &str = "user_deleted";
    pub const CLIENT_CREATED: &str = "client_created";
    pub const CLIENT_UPDATED: &str = "client_updated";
    pub const CLIENT_REMOVED: &str = "client_removed";
    pub const ADMIN_ACTION: &str = "admin_action";

    /// Every kind, for filters and documentation.
    pub const ALL: [&str; 17] = [
        LOGIN_SUCCEEDED,
        LOGIN_FAILED,
        ACCOUNT_LOCKED,
        REUSE_DETECTED,
        FAMILY_REVOKED,
        KEY_CREATED,
        KEY_ROTATED,
        KEY_RETIRED,
        USER_CREATED,
        USER_UPDATED,
        USER_DELETED,
        CLIENT_CREATED,
        CLIENT_UPDATED,
        CLIENT_REMOVED,
        ADMIN_ACTION,
        TOKEN_REFRESHED,
        CLIENT_SECRET_ROTATED,
    ];
    /// One per refresh, unless the `audit_refreshes` setting is off.
    pub const TOKEN_REFRESHED: &str = "token_refreshed";
    pub const CLIENT_SECRET_ROTATED: &str = "client_secret_rotated";
}

/// One event to record. Fields left `None` do not apply.
#[derive(Debug, Default, Clone)]
pub struct AuditEvent {
    pub kind: &'static str,
    pub actor: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub family_id: Option<String>,
    pub ip: Option<String>,
    pub reason: Option<String>,
    pub detail: Option<serde_json::Value>,
}

pub async fn record(db: &impl ConnectionTrait, at: Millis, e: AuditEvent) -> Result<(), DbErr> {
    audit_event::Entity::insert(audit_event::ActiveModel {
        at: Set(at),
        kind: Set(e.kind.to_owned()),
        actor: Set(e.actor),
        user_id: Set(e.user_id),
        client_id: Set(e.client_id),
        family_id: Set(e.family_id),
        ip: Set(e.ip),
        reason: Set(e.reason),
        detail: Set(e.detail.map(|d| d.to_string())),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Filters for listing audit events; `None` means any.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub kind: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub family_id: Option<String>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
}

/// A page of events, newest first, after the cursor (an event id).
pub async fn page(
    db: &impl ConnectionTrait,
    f: &AuditFilter,
    before_id: Option<i64>,
    limit: u64,
) -> Result<(Vec<audit_event::Model>, u64), DbErr> {
    use audit_event::Column as C;
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut q = audit_event::Entity::find();
    if let Some(v) = &f.kind {
        q = q.filter(C::Kind.eq(v.as_str()));
    }
    if let Some(v) = &f.user_id {
        q = q.filter(C::UserId.eq(v.as_str()));
    }
    if let Some(v) = &f.client_id {
        q = q.filter(C::ClientId.eq(v.as_str()));
    }
    if let Some(v) = &f.family_id {
        q = q.filter(C::FamilyId.eq(v.as_str()));
    }
    if let Some(v) = f.since {
        q = q.filter(C::At.gte(v));
    }
    if let Some(v) = f.until {
        q = q.filter(C::At.lt(v));
    }
    let total = q.clone().count(db).await?;
    if let Some(b) = before_id {
        q = q.filter(C::Id.lt(b));
    }
    let rows = q.order_by_desc(C::Id).limit(limit).all(db).await?;
    Ok((rows, total))
}

/// The generation replayed in a family's `reuse_detected` event, if there was one.
pub async fn replayed_generation(
    db: &impl ConnectionTrait,
    family_id: &str,
) -> Result<Option<i64>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let row = audit_event::Entity::find()
        .filter(audit_event::Column::FamilyId.eq(family_id))
        .filter(audit_event::Column::Kind.eq(kind::REUSE_DETECTED))
        .one(db)
        .await?;
    Ok(row
        .and_then(|r| r.detail)
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        .and_then(|v| v["generation"].as_i64()))
}
