//! Administrative operations, shared by the admin API (and usable by the CLI). Each one
//! validates its input, applies the change, revokes what must be revoked, and writes an
//! audit event naming the acting administrator.

use sea_orm::TransactionTrait;
use serde_json::json;

use crate::clock::Millis;
use crate::config::Settings;
use crate::crypto::keys::{self, SigningAlg};
use crate::domain::{
    ClientId, ClientSecret, GrantType, NewPassword, RevokeReason, Scope, Username,
};
use crate::lifecycle;
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent, kind};
use crate::store::clients::{self, NewClient};
use crate::store::entities::{client, refresh_family, signing_key, user};
use crate::store::families::{self, Owner};
use crate::store::{self, Db, is_unique_violation, users};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error("{0}")]
    Internal(String),
}

impl From<crate::crypto::password::HashError> for AdminError {
    fn from(e: crate::crypto::password::HashError) -> Self {
        AdminError::Internal(e.to_string())
    }
}

impl From<anyhow::Error> for AdminError {
    fn from(e: anyhow::Error) -> Self {
        AdminError::Internal(format!("{e:#}"))
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// Who is acting, for the audit trail.
pub struct Actor<'a> {
    pub user_id: &'a str,
    pub ip: Option<String>,
}

async fn record(state: &AppState, actor: &Actor<'_>, e: AuditEvent) -> AdminResult<()> {
    audit::record(
        &state.db.write,
        state.clock.now_ms(),
        AuditEvent {
            actor: Some(actor.user_id.to_owned()),
            ip: actor.ip.clone(),
            ..e
        },
    )
    .await?;
    Ok(())
}

fn generated_password() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::crypto::random::bytes::<18>())
}

pub async fn find_user(state: &AppState, id: &str) -> AdminResult<user::Model> {
    users::find(&state.db.read, id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no user {id}")))
}

/// Creates a user; returns it and the password when one was generated.
pub async fn create_user(
    state: &AppState,
    actor: &Actor<'_>,
    username: &str,
    password: Option<String>,
    is_admin: bool,
) -> AdminResult<(user::Model, Option<String>)> {
    let name = Username::parse(username).map_err(AdminError::BadRequest)?;
    let generated = password.is_none();
    let password = NewPassword::parse(password.unwrap_or_else(generated_password))
        .map_err(AdminError::BadRequest)?;
    let hash = state.hasher.hash(password.expose()).await?;
    let u = match users::insert(&state.db.write, &name, hash, is_admin, state.clock.now_ms()).await
    {
        Err(e) if is_unique_violation(&e) => {
            return Err(AdminError::Conflict(format!(
                "a user named `{name}` already exists"
            )));
        }
        other => other?,
    };
    record(
        state,
        actor,
        AuditEvent {
            kind: kind::USER_CREATED,
            user_id: Some(u.id.clone()),
            detail: Some(json!({"username": u.username, "admin": is_admin})),
            ..Default::default()
        },
    )
    .await?;
    Ok((u, generated.then(|| password.expose().to_owned())))
}

/// Refuses a change that would leave no enabled administrator.
async fn keep_an_admin(state: &AppState, u: &user::Model) -> AdminResult<()> {
    if u.is_admin
        && !u.disabled
        && users::count_other_active_admins(&state.db.read, &u.id).await? == 0
    {
        return Err(AdminError::Conflict(
            "this is the last enabled administrator; make another one first".into(),
        ));
    }
    Ok(())
}

/// Changes the admin role and/or the disabled flag. Disabling ends all sessions.
pub async fn update_user(
    state: &AppState,
    actor: &Actor<'_>,
    id: &str,
    is_admin: Option<bool>,
    disabled: Option<bool>,
) -> AdminResult<user::Model> {
    let u = find_user(state, id).await?;
    let now = state.clock.now_ms();
    if is_admin == Some(false) || disabled == Some(true) {
        keep_an_admin(state, &u).await?;
    }
    let mut changes = serde_json::Map::new();
    if let Some(a) = is_admin.filter(|a| *a != u.is_admin) {
        users::set_admin(&state.db.write, id, a, now).await?;
        changes.insert("admin".into(), json!(a));
    }
    if let Some(d) = disabled {
        if d != u.disabled {
            users::set_disabled(&state.db.write, id, d, now).await?;
            changes.insert("disabled".into(), json!(d));
        }
        // Also when already disabled: a retry must finish a revocation that failed.
        if d {
            lifecycle::end_sessions(
                state,
                Owner::User(id),
                RevokeReason::UserDisabled,
                actor.user_id,
            )
            .await?;
        }
    }
    if !changes.is_empty() {
        record(
            state,
            actor,
            AuditEvent {
                kind: kind::USER_UPDATED,
                user_id: Some(id.to_owned()),
                detail: Some(serde_json::Value::Object(changes)),
                ..Default::default()
            },
        )
        .await?;
    }
    find_user(state, id).await
}

/// Sets (or generates) a password and ends all the user's sessions.
pub async fn set_password(
    state: &AppState,
    actor: &Actor<'_>,
    id: &str,
    password: Option<String>,
) -> AdminResult<Option<String>> {
    find_user(state, id).await?;
    let generated = password.is_none();
    let password = NewPassword::parse(password.unwrap_or_else(generated_password))
        .map_err(AdminError::BadRequest)?;
    let hash = state.hasher.hash(password.expose()).await?;
    let now = state.clock.now_ms();
    users::set_password(&state.db.write, id, hash, now).await?;
    let n = lifecycle::end_sessions(
        state,
        Owner::User(id),
        RevokeReason::PasswordChanged,
        actor.user_id,
    )
    .await?;
    record(
        state,
        actor,
        AuditEvent {
            kind: kind::USER_UPDATED,
            user_id: Some(id.to_owned()),
            detail: Some(json!({"password": "changed", "sessions_ended": n})),
            ..Default::default()
        },
    )
    .await?;
    Ok(generated.then(|| password.expose().to_owned()))
}

/// Ends the user's sessions and deletes the user.
pub async fn delete_user(state: &AppState, actor: &Actor<'_>, id: &str) -> AdminResult<u64> {
    let u = find_user(state, id).await?;
    keep_an_admin(state, &u).await?;
    // Delete first: a sign-in finishing now finds no user and drops its new family.
    users::delete(&state.db.write, id).await?;
    let n =
        lifecycle::end_sessions(state, Owner::User(id), RevokeReason::Admin, actor.user_id).await?;
    record(
        state,
        actor,
        AuditEvent {
            kind: kind::USER_DELETED,
            user_id: Some(id.to_owned()),
            detail: Some(json!({"username": u.username, "sessions_ended": n})),
            ..Default::default()
        },
    )
    .await?;
    Ok(n)
}

/// Ends every session of a user or a client (reason `admin`).
pub async fn revoke_sessions(
    state: &AppState,
    actor: &Actor<'_>,
    owner: Owner<'_>,
) -> AdminResult<u64> {
    let (user_id, client_id) = match owner {
        Owner::User(u) => (Some(u.to_owned()), None),
        Owner::Client(c) => (None, Some(c.to_owned())),
    };
    let n = lifecycle::end_sessions(state, owner, RevokeReason::Admin, actor.user_id).await?;
    record(
        state,
        actor,
        AuditEvent {
            kind: kind::ADMIN_ACTION,
            user_id,
            client_id,
            detail: Some(json!({"action": "revoke_sessions", "revoked": n})),
            ..Default::default()
        },
    )
    .await?;
    Ok(n)
}

pub async fn find_client(state: &AppState, id: &str) -> AdminResult<client::Model> {
    clients::find(&state.db.read, id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no client {id}")))
}

/// A client's registrable settings, validated.
pub struct ClientSettings {
    pub grant_types: Vec<GrantType>,
    pub scopes: Scope,
    pub redirect_uris: Vec<String>,
    pub access_ttl: Option<i64>,
    pub refresh_idle_ttl: Option<i64>,
    pub refresh_absolute_ttl: Option<i64>,
    pub reuse_leeway: Option<i64>,
}

impl ClientSettings {
    pub fn validate(&self, public: bool) -> AdminResult<()> {
        if self.grant_types.is_empty() {
            return Err(AdminError::BadRequest(
                "grant_types: at least one grant is needed".into(),
            ));
        }
        if self.grant_types.contains(&GrantType::AuthorizationCode) {
            return Err(AdminError::BadRequest(
                "grant_types: authorization_code is not supported yet".into(),
            ));
        }
        if public && self.grant_types.contains(&GrantType::ClientCredentials) {
            return Err(AdminError::BadRequest(
                "grant_types: a public client cannot use client_credentials".into(),
            ));
        }
        for (name, v, min) in [
            ("access_ttl", self.access_ttl, 1),
            ("refresh_idle_ttl", self.refresh_idle_ttl, 1),
            ("refresh_absolute_ttl", self.refresh_absolute_ttl, 1),
            ("reuse_leeway", self.reuse_leeway, 0),
        ] {
            if let Some(v) = v
                && !(min..=10 * 365 * 24 * 3600).contains(&v)
            {
                return Err(AdminError::BadRequest(format!(
                    "{name}: must be between {min} and 315360000 seconds"
                )));
            }
        }
        for uri in &self.redirect_uris {
            let ok = (uri.starts_with("https://") || uri.starts_with("http://"))
                && !uri.contains('#')
                && uri.len() <= 2048
                && !uri.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err(AdminError::BadRequest(format!(
                    "redirect_uris: `{uri}` must be an absolute http(s) URI without a fragment"
                )));
            }
        }
        Ok(())
    }
}

/// Registers a client; returns its generated secret when confidential.
pub async fn create_client(
    state: &AppState,
    actor: &Actor<'_>,
    client_id: &str,
    public: bool,
    settings: ClientSettings,
) -> AdminResult<(client::Model, Option<String>)> {
    let id = ClientId::parse(client_id)
        .map_err(|e| AdminError::BadRequest(format!("client_id: {e}")))?;
    settings.validate(public)?;
    let secret = (!public).then(ClientSecret::generate);
    let grants = GrantType::join(&settings.grant_types);
    let new = NewClient {
        client_id: id.clone(),
        secret_hash: secret.as_ref().map(ClientSecret::hash),
        grant_types: settings.grant_types,
        scopes: settings.scopes,
        redirect_uris: settings.redirect_uris,
        access_ttl: settings.access_ttl,
        refresh_idle_ttl: settings.refresh_idle_ttl,
        refresh_absolute_ttl: settings.refresh_absolute_ttl,
        reuse_leeway: settings.reuse_leeway,
    };
    match clients::insert(&state.db.write, new, state.clock.now_ms()).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(AdminError::Conflict(format!(
                "client `{id}` already exists"
            )));
        }
        other => other?,
    }
    record(
        state,
        actor,
        AuditEvent {
            kind: kind::CLIENT_CREATED,
            client_id: Some(id.to_string()),
            detail: Some(json!({"public": public, "grant_types": grants})),
            ..Default::default()
        },
    )
    .await?;
    Ok((
        find_client(state, id.as_str()).await?,
        secret.map(|s| s.expose().to_owned()),
    ))
}

/// Replaces a client's settings and/or disabled flag.
pub async fn update_client(
    state: &AppState,
    actor: &Actor<'_>,
    mut c: client::Model,
    settings: ClientSettings,
    disabled: Option<bool>,
) -> AdminResult<client::Model> {
    settings.validate(c.is_public)?;
    c.grant_types = GrantType::join(&settings.grant_types);
    c.scopes = settings.scopes.to_string();
    c.redirect_uris =
        serde_json::to_string(&settings.redirect_uris).unwrap_or_else(|_| "[]".into());
    c.access_ttl = settings.access_ttl;
    c.refresh_idle_ttl = settings.refresh_idle_ttl;
    c.refresh_absolute_ttl = settings.refresh_absolute_ttl;
    c.reuse_leeway = settings.reuse_leeway;
    if let Some(d) = disabled {
        c.disabled = d;
    }
    c.updated_at = state.clock.now_ms();
    let id = c.client_id.clone();
    let detail = json!({
        "grant_types": c.grant_types,
        "scopes": c.scopes,
        "disabled": c.disabled,
    });
    clients::save(&state.db.write, c).await?;
    record(
        state,
        actor,
        AuditEvent {
            kind: kind::CLIENT_UPDATED,
            client_id: Some(id.clone()),
            detail: Some(detail),
            ..Default::default()
        },
    )
    .await?;
    find_client(state, &id).await
}

/// Generates a new secret for a confidential client; the old one stops working at once.
pub async fn rotate_client_secret(
    state: &AppState,
    actor: &Actor<'_>,
    id: &str,
) -> AdminResult<String> {
    let c = find_client(state, id).await?;
    if c.is_public {
        return Err(AdminError::Conflict("a public client has no secret".into()));
    }
    let secret = ClientSecret::generate();
    clients::set_secret_hash(
        &state.db.write,
        &c.client_id,
        &secret.hash(),
        state.clock.now_ms(),
    )
    .await?;
    record(
        state,
        actor,
        AuditEvent {
            kind: kind::CLIENT_SECRET_ROTATED,
            client_id: Some(id.to_owned()),
            ..Default::default()
        },
    )
    .await?;
    Ok(secret.expose().to_owned())
}

/// Removes a client and ends its sessions.
pub async fn remove_client(state: &AppState, actor: &Actor<'_>, id: &str) -> AdminResult<u64> {
    find_client(state, id).await?;
    if id == crate::bootstrap::ADMIN_CLIENT_ID {
        return Err(AdminError::Conflict(
            "the tessera-admin client is needed by the desktop admin".into(),
        ));
    }
    clients::delete(&state.db.write, id).await?;
    let n = lifecycle::end_sessions(
        state,
        Owner::Client(id),
        RevokeReason::ClientRemoved,
        actor.user_id,
    )
    .await?;
    record(
        state,
        actor,
        AuditEvent {
            kind: kind::CLIENT_REMOVED,
            client_id: Some(id.to_owned()),
            detail: Some(json!({"sessions_ended": n})),
            ..Default::default()
        },
    )
    .await?;
    Ok(n)
}

pub async fn revoke_family(
    state: &AppState,
    actor: &Actor<'_>,
    id: &str,
) -> AdminResult<refresh_family::Model> {
    let f = families::find(&state.db.read, id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no family {id}")))?;
    lifecycle::end_family(
        state,
        &f,
        RevokeReason::Admin,
        actor.user_id,
        actor.ip.clone(),
    )
    .await?;
    families::find(&state.db.read, id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no family {id}")))
}

/// Rotates the signing key (see [`rotate_signing_key`]) and reloads the ring.
pub async fn rotate_key(
    state: &AppState,
    actor: &Actor<'_>,
    alg: SigningAlg,
) -> AdminResult<signing_key::Model> {
    let kid = rotate_signing_key(
        &state.db,
        &state.settings,
        state.clock.now_ms(),
        alg,
        actor.user_id,
    )
    .await?;
    state.reload_keys().await?;
    find_key(state, &kid).await
}

pub async fn find_key(state: &AppState, kid: &str) -> AdminResult<signing_key::Model> {
    store::keys::list(&state.db.read)
        .await?
        .into_iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| AdminError::NotFound(format!("no key {kid}")))
}

/// Retires a key at once; refuses the last key able to sign.
pub async fn retire_key(
    state: &AppState,
    actor: &Actor<'_>,
    kid: &str,
) -> AdminResult<signing_key::Model> {
    retire_signing_key(
        &state.db,
        kid,
        actor.user_id,
        actor.ip.clone(),
        state.clock.now_ms(),
    )
    .await?;
    state.reload_keys().await?;
    find_key(state, kid).await
}

/// Retires a key at once (it stops signing and leaves the JWKS), audited; refuses an
/// unknown or already retired key and the last key able to sign. Shared by the admin
/// API and `tessera keys retire`.
pub async fn retire_signing_key(
    db: &Db,
    kid: &str,
    actor: &str,
    ip: Option<String>,
    now: Millis,
) -> AdminResult<()> {
    let all = store::keys::list(&db.read).await?;
    let k = all
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| AdminError::NotFound(format!("no key {kid}")))?;
    if k.publish_until.is_some_and(|u| u <= now) {
        return Err(AdminError::Conflict(format!(
            "key {kid} is already retired"
        )));
    }
    if !all
        .iter()
        .any(|o| o.kid != kid && o.retired_at.is_none_or(|r| r > now))
    {
        return Err(AdminError::Conflict(format!(
            "{kid} is the only signing key; rotate first"
        )));
    }
    let txn = db.write.begin().await?;
    store::keys::retire_now(&txn, kid, now).await?;
    audit::record(
        &txn,
        now,
        AuditEvent {
            kind: kind::KEY_RETIRED,
            actor: Some(actor.to_owned()),
            ip,
            detail: Some(json!({"kid": kid})),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Rotates the signing key: the new key is published now and signs from `now +
/// key_prepublish`; older keys stop signing then and stay published until every token
/// they may have signed has expired.
pub async fn rotate_signing_key(
    db: &Db,
    settings: &Settings,
    now: i64,
    alg: SigningAlg,
    actor: &str,
) -> anyhow::Result<String> {
    let key = keys::generate(alg)?;
    let activate_at = now + settings.key_prepublish * 1000;
    let max_ttl = clients::list(&db.read)
        .await?
        .iter()
        .filter_map(|c| c.access_ttl)
        .fold(settings.access_ttl, i64::max);
    store::keys::insert(&db.write, &key, now, activate_at, settings.kek()?.as_ref()).await?;
    store::keys::retire_others(
        &db.write,
        &key.kid,
        activate_at,
        activate_at + max_ttl * 1000,
    )
    .await?;
    audit::record(
        &db.write,
        now,
        AuditEvent {
            kind: kind::KEY_ROTATED,
            actor: Some(actor.to_owned()),
            detail: Some(serde_json::json!({"kid": key.kid, "alg": alg.as_str(), "activate_at": activate_at})),
            ..Default::default()
        },
    )
    .await?;
    Ok(key.kid)
}

pub fn parse_alg(s: &str) -> AdminResult<SigningAlg> {
    keys::SigningAlg::parse(s).ok_or_else(|| {
        AdminError::BadRequest(format!("alg: `{s}` is not one of ES256, EdDSA, RS256"))
    })
}
