//! The audit trail: append-only rows, never a secret or token value.

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

use super::entities::audit_event;
use crate::clock::Millis;
use crate::domain::AuditKind;

/// One event to record. Fields left `None` do not apply.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub kind: AuditKind,
    pub actor: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub family_id: Option<String>,
    pub ip: Option<String>,
    pub reason: Option<String>,
    pub detail: Option<serde_json::Value>,
}

impl AuditEvent {
    /// An event of this kind; set the fields that apply.
    pub fn new(kind: AuditKind) -> AuditEvent {
        AuditEvent {
            kind,
            actor: None,
            user_id: None,
            client_id: None,
            family_id: None,
            ip: None,
            reason: None,
            detail: None,
        }
    }
}

pub async fn record(db: &impl ConnectionTrait, at: Millis, e: AuditEvent) -> Result<(), DbErr> {
    audit_event::Entity::insert(row(at, e))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Many events in one multi-row `INSERT` (the group commit's `token_refreshed` rows).
pub async fn record_many(
    db: &impl ConnectionTrait,
    at: Millis,
    events: Vec<AuditEvent>,
) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    audit_event::Entity::insert_many(events.into_iter().map(|e| row(at, e)))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn row(at: Millis, e: AuditEvent) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        at: Set(at),
        kind: Set(e.kind.as_str().to_owned()),
        actor: Set(e.actor),
        user_id: Set(e.user_id),
        client_id: Set(e.client_id),
        family_id: Set(e.family_id),
        ip: Set(e.ip),
        reason: Set(e.reason),
        detail: Set(e.detail.map(|d| d.to_string())),
        ..Default::default()
    }
}

/// Filters for listing audit events; `None` means any.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub kind: Option<AuditKind>,
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
    if let Some(v) = f.kind {
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
        .filter(audit_event::Column::Kind.eq(AuditKind::ReuseDetected.as_str()))
        .one(db)
        .await?;
    Ok(row
        .and_then(|r| r.detail)
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        .and_then(|v| v["generation"].as_i64()))
}
