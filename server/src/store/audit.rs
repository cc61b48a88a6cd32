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
    pub const USER_CREATED: &str = "user_created";
    pub const USER_UPDATED: &str = "user_updated";
    pub const CLIENT_CREATED: &str = "client_created";
    pub const CLIENT_REMOVED: &str = "client_removed";
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
