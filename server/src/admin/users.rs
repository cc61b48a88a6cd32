//! Users: create, change role or disabled flag, set a password, delete, end sessions.
//! The rules: names are unique, passwords at least 8 characters (generated when not
//! given), the last enabled administrator is kept, and disabling, a password change or
//! deletion ends the user's sessions in the same transaction as the change.

use sea_orm::TransactionTrait;
use serde_json::json;

use super::sessions::{counted, end_owned_in, live_counts};
use super::{Actor, AdminError, AdminResult, Page, PageRequest, filter_text};
use crate::clock::Millis;
use crate::domain::{AuditKind, NewPassword, RevokeReason, Username};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent};
use crate::store::entities::user;
use crate::store::sessions::Owner;
use crate::store::{Fault, classify, users};

/// A user as administrators see it (never the password hash).
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub last_login_at: Option<Millis>,
    /// Refresh families that can still be refreshed.
    pub live_sessions: i64,
}

fn to_record(u: user::Model, live_sessions: i64) -> UserRecord {
    UserRecord {
        id: u.id,
        username: u.username,
        is_admin: u.is_admin,
        disabled: u.disabled,
        created_at: u.created_at,
        updated_at: u.updated_at,
        last_login_at: u.last_login_at,
        live_sessions,
    }
}

async fn with_sessions(state: &AppState, u: user::Model) -> AdminResult<UserRecord> {
    let counts = live_counts(state, std::slice::from_ref(&u.id)).await?;
    let n = counts.get(&u.id).copied().unwrap_or(0);
    Ok(to_record(u, n))
}

pub(crate) async fn find(state: &AppState, id: &str) -> AdminResult<user::Model> {
    users::find(&state.db.read, id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no user {id}")))
}

pub async fn get(state: &AppState, id: &str) -> AdminResult<UserRecord> {
    with_sessions(state, find(state, id).await?).await
}

/// The user with this name (the CLI names users by name).
pub async fn by_name(state: &AppState, name: &str) -> AdminResult<UserRecord> {
    let u = users::find_by_username(&state.db.read, name)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no user named `{name}`")))?;
    with_sessions(state, u).await
}

/// Users by name; `search` matches any part of the name, ignoring case.
pub async fn list(
    state: &AppState,
    search: Option<String>,
    page: &PageRequest,
) -> AdminResult<Page<UserRecord>> {
    let limit = page.limit()?;
    let search = filter_text("search", search, 64)?;
    let (rows, total) =
        users::page(&state.db.read, search.as_deref(), page.cursor(), limit).await?;
    let ids: Vec<String> = rows.iter().map(|u| u.id.clone()).collect();
    let counts = live_counts(state, &ids).await?;
    Ok(Page::of(
        rows,
        limit,
        total,
        |u| u.username.clone(),
        |u| {
            let n = counts.get(&u.id).copied().unwrap_or(0);
            to_record(u, n)
        },
    ))
}

fn generated_password() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::crypto::random::bytes::<18>())
}

/// The password to set: the one given (checked), or a generated one, returned so the
/// caller can show it once.
fn password_or_generated(given: Option<String>) -> AdminResult<(NewPassword, Option<String>)> {
    match given {
        Some(p) => Ok((
            NewPassword::parse(p).map_err(|e| AdminError::invalid("password", e))?,
            None,
        )),
        None => {
            let p = generated_password();
            let np =
                NewPassword::parse(p.clone()).map_err(|e| AdminError::invalid("password", e))?;
            Ok((np, Some(p)))
        }
    }
}

/// Creates a user; returns it and the password when one was generated.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    username: &str,
    password: Option<String>,
    is_admin: bool,
) -> AdminResult<(UserRecord, Option<String>)> {
    let name = Username::parse(username).map_err(|e| AdminError::invalid("username", e))?;
    let (password, generated) = password_or_generated(password)?;
    let hash = state.hasher.hash(password.expose()).await?;
    let now = state.clock.now_ms();
    let txn = state.db.write.begin().await?;
    let u = match users::insert(&txn, &name, hash, is_admin, now).await {
        Err(e) if classify(&e) == Fault::Duplicate => {
            return Err(AdminError::conflict(
                Some("username"),
                format!("a user named `{name}` already exists"),
            ));
        }
        other => other?,
    };
    audit::record(
        &txn,
        now,
        actor.stamp(AuditEvent {
            user_id: Some(u.id.clone()),
            detail: Some(json!({"username": u.username, "admin": is_admin})),
            ..AuditEvent::new(AuditKind::UserCreated)
        }),
    )
    .await?;
    txn.commit().await?;
    Ok((to_record(u, 0), generated))
}

/// Inside the caller's transaction: refuses the change when, after it, no enabled
/// administrator would be left. The no-op update first locks every enabled admin row,
/// so two concurrent demotions cannot both see the other one still standing.
async fn keep_an_admin(txn: &impl sea_orm::ConnectionTrait, u: &user::Model) -> AdminResult<()> {
    if u.is_admin && !u.disabled {
        users::lock_active_admins(txn).await?;
        if users::count_other_active_admins(txn, &u.id).await? == 0 {
            return Err(AdminError::conflict(
                None,
                "this is the last enabled administrator; make another one first",
            ));
        }
    }
    Ok(())
}

/// Changes the admin role and/or the disabled flag. Disabling ends all the user's
/// sessions in the same transaction; asking to disable an already disabled user ends
/// any session still left. Returns the user and how many sessions ended.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: &str,
    is_admin: Option<bool>,
    disabled: Option<bool>,
) -> AdminResult<(UserRecord, u64)> {
    let u = find(state, id).await?;
    let now = state.clock.now_ms();
    let txn = state.db.write.begin().await?;
    if is_admin == Some(false) || disabled == Some(true) {
        keep_an_admin(&txn, &u).await?;
    }
    let mut changes = serde_json::Map::new();
    if let Some(a) = is_admin.filter(|a| *a != u.is_admin) {
        users::set_admin(&txn, id, a, now).await?;
        changes.insert("admin".into(), json!(a));
    }
    let mut ended = 0;
    if let Some(d) = disabled {
        if d != u.disabled {
            users::set_disabled(&txn, id, d, now).await?;
            changes.insert("disabled".into(), json!(d));
        }
        if d {
            ended = end_owned_in(
                &txn,
                Owner::User(id),
                RevokeReason::UserDisabled,
                actor,
                now,
            )
            .await?;
            changes.insert("sessions_ended".into(), json!(ended));
        }
    }
    if !changes.is_empty() {
        audit::record(
            &txn,
            now,
            actor.stamp(AuditEvent {
                user_id: Some(id.to_owned()),
                detail: Some(serde_json::Value::Object(changes)),
                ..AuditEvent::new(AuditKind::UserUpdated)
            }),
        )
        .await?;
    }
    txn.commit().await?;
    counted(state, RevokeReason::UserDisabled, ended);
    Ok((get(state, id).await?, ended))
}

/// Sets (or generates) a password and ends all the user's sessions, in one
/// transaction. Returns how many sessions ended and the generated password, if any.
pub async fn set_password(
    state: &AppState,
    actor: &Actor,
    id: &str,
    password: Option<String>,
) -> AdminResult<(u64, Option<String>)> {
    find(state, id).await?;
    let (password, generated) = password_or_generated(password)?;
    let hash = state.hasher.hash(password.expose()).await?;
    let now = state.clock.now_ms();
    let txn = state.db.write.begin().await?;
    if !users::set_password(&txn, id, hash, now).await? {
        return Err(AdminError::NotFound(format!("no user {id}")));
    }
    let n = end_owned_in(
        &txn,
        Owner::User(id),
        RevokeReason::PasswordChanged,
        actor,
        now,
    )
    .await?;
    audit::record(
        &txn,
        now,
        actor.stamp(AuditEvent {
            user_id: Some(id.to_owned()),
            detail: Some(json!({"password": "changed", "sessions_ended": n})),
            ..AuditEvent::new(AuditKind::UserUpdated)
        }),
    )
    .await?;
    txn.commit().await?;
    Ok((counted(state, RevokeReason::PasswordChanged, n), generated))
}

/// Deletes the user and ends their sessions, in one transaction.
pub async fn delete(state: &AppState, actor: &Actor, id: &str) -> AdminResult<u64> {
    let u = find(state, id).await?;
    let now = state.clock.now_ms();
    let txn = state.db.write.begin().await?;
    keep_an_admin(&txn, &u).await?;
    users::delete(&txn, id).await?;
    crate::store::signin::forget_consents(&txn, Some(id), None).await?;
    let n = end_owned_in(&txn, Owner::User(id), RevokeReason::Admin, actor, now).await?;
    audit::record(
        &txn,
        now,
        actor.stamp(AuditEvent {
            user_id: Some(id.to_owned()),
            detail: Some(json!({"username": u.username, "sessions_ended": n})),
            ..AuditEvent::new(AuditKind::UserDeleted)
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(counted(state, RevokeReason::Admin, n))
}
