//! Clients: register, change, rotate the secret, remove, end sessions. The rules: a
//! valid client id, at least one grant, none the token endpoint does not serve, no
//! `client_credentials` for a public client, bounded lifetimes, well-formed redirect
//! URIs (and at least one for `authorization_code`), exact browser origins (at least one
//! for cookie delivery of refresh tokens); disabling or removing a client ends its sessions in the same transaction; the
//! built-in `tessera-admin` client (the desktop admin's) cannot be removed or disabled.

use sea_orm::TransactionTrait;
use serde_json::json;

use super::sessions::{counted, end_owned_in};
use super::{Actor, AdminError, AdminResult, Page, PageRequest, record};
use crate::bootstrap::ADMIN_CLIENT_ID;
use crate::clock::Millis;
use crate::domain::{
    AuditKind, ClientId, ClientSecret, GrantType, Lifetime, Origin, RedirectUri,
    RefreshTokenDelivery, RevokeReason, Scope,
};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent};
use crate::store::clients::{self, NewClient};
use crate::store::entities::client;
use crate::store::sessions::Owner;
use crate::store::{Fault, classify};

/// A registered client (never its secret), with its effective settings.
#[derive(Debug, Clone)]
pub struct ClientRecord {
    pub client_id: String,
    pub public: bool,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub refresh_token_delivery: RefreshTokenDelivery,
    pub require_consent: bool,
    /// Seconds; `None` means the server default (in the `effective_*` fields).
    pub access_ttl: Option<i64>,
    pub refresh_idle_ttl: Option<i64>,
    pub refresh_absolute_ttl: Option<i64>,
    pub reuse_leeway: Option<i64>,
    pub effective_access_ttl: i64,
    pub effective_refresh_idle_ttl: i64,
    pub effective_refresh_absolute_ttl: i64,
    pub effective_reuse_leeway: i64,
    pub disabled: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

fn to_record(state: &AppState, c: client::Model) -> ClientRecord {
    let policy = c.policy(&state.settings);
    ClientRecord {
        public: c.is_public,
        grant_types: policy.grant_types,
        scopes: policy.scopes.iter().map(str::to_owned).collect(),
        redirect_uris: c.redirect_uri_list(),
        allowed_origins: c.allowed_origin_list(),
        refresh_token_delivery: c.refresh_token_delivery(),
        require_consent: c.require_consent,
        access_ttl: c.access_ttl,
        refresh_idle_ttl: c.refresh_idle_ttl,
        refresh_absolute_ttl: c.refresh_absolute_ttl,
        reuse_leeway: c.reuse_leeway,
        effective_access_ttl: policy.access_ttl,
        effective_refresh_idle_ttl: policy.refresh_idle_ttl,
        effective_refresh_absolute_ttl: policy.refresh_absolute_ttl,
        effective_reuse_leeway: policy.reuse_leeway,
        disabled: c.disabled,
        created_at: c.created_at,
        updated_at: c.updated_at,
        client_id: c.client_id,
    }
}

/// A client's registrable settings, as given.
#[derive(Debug, Clone, Default)]
pub struct ClientSettings {
    pub grant_types: Vec<GrantType>,
    /// One scope token each.
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub refresh_token_delivery: RefreshTokenDelivery,
    pub require_consent: bool,
    pub access_ttl: Option<i64>,
    pub refresh_idle_ttl: Option<i64>,
    pub refresh_absolute_ttl: Option<i64>,
    pub reuse_leeway: Option<i64>,
}

/// Settings that passed [`ClientSettings::validate`].
struct Valid {
    grant_types: Vec<GrantType>,
    scopes: Scope,
    redirect_uris: Vec<String>,
    allowed_origins: Vec<String>,
    refresh_token_delivery: RefreshTokenDelivery,
    require_consent: bool,
    lifetimes: [Option<i64>; 4],
}

impl ClientSettings {
    fn lifetimes(&self) -> [Option<i64>; 4] {
        [
            self.access_ttl,
            self.refresh_idle_ttl,
            self.refresh_absolute_ttl,
            self.reuse_leeway,
        ]
    }

    fn validate(&self, public: bool) -> AdminResult<Valid> {
        let mut grant_types = Vec::new();
        for g in &self.grant_types {
            if !grant_types.contains(g) {
                grant_types.push(*g);
            }
        }
        if grant_types.is_empty() {
            return Err(AdminError::invalid(
                "grant_types",
                "at least one grant is needed",
            ));
        }
        if let Some(g) = grant_types
            .iter()
            .find(|g| !GrantType::SUPPORTED.contains(g))
        {
            return Err(AdminError::invalid(
                "grant_types",
                format!("{g} is not supported yet"),
            ));
        }
        if public && grant_types.contains(&GrantType::ClientCredentials) {
            return Err(AdminError::invalid(
                "grant_types",
                "a public client cannot use client_credentials",
            ));
        }
        if self.scopes.iter().any(|s| s.is_empty() || s.contains(' ')) {
            return Err(AdminError::invalid(
                "scopes",
                "each scope is one non-empty token without spaces",
            ));
        }
        let scopes =
            Scope::parse(&self.scopes.join(" ")).map_err(|e| AdminError::invalid("scopes", e))?;
        let lifetimes = self.lifetimes();
        for (l, v) in Lifetime::ALL.into_iter().zip(lifetimes) {
            if let Some(v) = v {
                l.check(v).map_err(|e| AdminError::invalid(l.field(), e))?;
            }
        }
        let mut redirect_uris = Vec::new();
        for uri in &self.redirect_uris {
            let u = RedirectUri::parse(uri).map_err(|e| AdminError::invalid("redirect_uris", e))?;
            if !redirect_uris.contains(&u.as_str().to_owned()) {
                redirect_uris.push(u.into_string());
            }
        }
        if redirect_uris.len() > 32 {
            return Err(AdminError::invalid(
                "redirect_uris",
                "at most 32 are allowed",
            ));
        }
        if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
            return Err(AdminError::invalid(
                "redirect_uris",
                "the authorization_code grant needs at least one redirect URI",
            ));
        }
        let mut allowed_origins = Vec::new();
        for o in &self.allowed_origins {
            let o = Origin::parse(o).map_err(|e| AdminError::invalid("allowed_origins", e))?;
            if !allowed_origins.contains(&o.as_str().to_owned()) {
                allowed_origins.push(o.into_string());
            }
        }
        if allowed_origins.len() > 32 {
            return Err(AdminError::invalid(
                "allowed_origins",
                "at most 32 are allowed",
            ));
        }
        if self.refresh_token_delivery == RefreshTokenDelivery::Cookie {
            if allowed_origins.is_empty() {
                return Err(AdminError::invalid(
                    "allowed_origins",
                    "cookie delivery of refresh tokens needs the browser app's origin",
                ));
            }
            if !grant_types.contains(&GrantType::RefreshToken) {
                return Err(AdminError::invalid(
                    "refresh_token_delivery",
                    "cookie delivery of refresh tokens needs the refresh_token grant",
                ));
            }
        }
        Ok(Valid {
            grant_types,
            scopes,
            redirect_uris,
            allowed_origins,
            refresh_token_delivery: self.refresh_token_delivery,
            require_consent: self.require_consent,
            lifetimes,
        })
    }
}

/// The desktop admin signs in through the built-in client: it must stay enabled, with
/// the password and refresh grants and the `admin` scope.
fn keep_admin_client_usable(v: &Valid, disabling: bool) -> AdminResult<()> {
    let needed = format!("the {ADMIN_CLIENT_ID} client is needed by the desktop admin");
    if disabling {
        return Err(AdminError::conflict(Some("disabled"), needed));
    }
    if ![GrantType::Password, GrantType::RefreshToken]
        .iter()
        .all(|g| v.grant_types.contains(g))
    {
        return Err(AdminError::conflict(
            Some("grant_types"),
            format!("{needed} with the password and refresh_token grants"),
        ));
    }
    if !v.scopes.contains(crate::oauth::ADMIN_SCOPE) {
        return Err(AdminError::conflict(
            Some("scopes"),
            format!("{needed} with the admin scope"),
        ));
    }
    Ok(())
}

pub(crate) async fn find(state: &AppState, id: &str) -> AdminResult<client::Model> {
    clients::find(&state.db.read, id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no client {id}")))
}

pub async fn get(state: &AppState, id: &str) -> AdminResult<ClientRecord> {
    Ok(to_record(state, find(state, id).await?))
}

pub async fn list(state: &AppState, page: &PageRequest) -> AdminResult<Page<ClientRecord>> {
    let limit = page.limit()?;
    let (rows, total) = clients::page(&state.db.read, page.cursor(), limit).await?;
    Ok(Page::of(
        rows,
        limit,
        total,
        |c| c.client_id.clone(),
        |c| to_record(state, c),
    ))
}

/// Registers a client. A confidential client gets `secret`, or a generated one, which
/// is returned (shown once; only its hash is stored).
pub async fn create(
    state: &AppState,
    actor: &Actor,
    client_id: &str,
    public: bool,
    settings: ClientSettings,
    secret: Option<ClientSecret>,
) -> AdminResult<(ClientRecord, Option<String>)> {
    let id = ClientId::parse(client_id).map_err(|e| AdminError::invalid("client_id", e))?;
    if public && secret.is_some() {
        return Err(AdminError::invalid(
            "client_secret",
            "a public client has no secret",
        ));
    }
    let v = settings.validate(public)?;
    let generated = secret.is_none() && !public;
    let secret = if public {
        None
    } else {
        Some(secret.unwrap_or_else(ClientSecret::generate))
    };
    let grants = GrantType::join(&v.grant_types);
    let [
        access_ttl,
        refresh_idle_ttl,
        refresh_absolute_ttl,
        reuse_leeway,
    ] = v.lifetimes;
    let new = NewClient {
        client_id: id.clone(),
        secret_hash: secret.as_ref().map(ClientSecret::hash),
        grant_types: v.grant_types,
        scopes: v.scopes,
        redirect_uris: v.redirect_uris,
        allowed_origins: v.allowed_origins,
        refresh_token_delivery: v.refresh_token_delivery,
        require_consent: v.require_consent,
        access_ttl,
        refresh_idle_ttl,
        refresh_absolute_ttl,
        reuse_leeway,
    };
    let now = state.clock.now_ms();
    let txn = state.db.write.begin().await?;
    match clients::insert(&txn, new, now).await {
        Err(e) if classify(&e) == Fault::Duplicate => {
            return Err(AdminError::conflict(
                Some("client_id"),
                format!("client `{id}` already exists"),
            ));
        }
        other => other?,
    }
    audit::record(
        &txn,
        now,
        actor.stamp(AuditEvent {
            client_id: Some(id.to_string()),
            detail: Some(json!({"public": public, "grant_types": grants})),
            ..AuditEvent::new(AuditKind::ClientCreated)
        }),
    )
    .await?;
    txn.commit().await?;
    let shown = secret.filter(|_| generated).map(|s| s.expose().to_owned());
    Ok((get(state, id.as_str()).await?, shown))
}

/// One setting of an update: leave it, return it to the server default, or set it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Change<T> {
    #[default]
    Keep,
    Reset,
    Set(T),
}

impl<T> Change<T> {
    fn apply(self, old: Option<T>) -> Option<T> {
        match self {
            Change::Keep => old,
            Change::Reset => None,
            Change::Set(v) => Some(v),
        }
    }
}

/// Fields to change; `None` and [`Change::Keep`] leave a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub grant_types: Option<Vec<GrantType>>,
    pub scopes: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub allowed_origins: Option<Vec<String>>,
    pub refresh_token_delivery: Option<RefreshTokenDelivery>,
    pub require_consent: Option<bool>,
    pub access_ttl: Change<i64>,
    pub refresh_idle_ttl: Change<i64>,
    pub refresh_absolute_ttl: Change<i64>,
    pub reuse_leeway: Change<i64>,
    pub disabled: Option<bool>,
}

/// Changes a client's settings and/or disabled flag. Disabling ends its sessions in the
/// same transaction (reason `client_disabled`); re-enabling does not bring them back.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: &str,
    ch: ClientChanges,
) -> AdminResult<ClientRecord> {
    let mut c = find(state, id).await?;
    let current = to_record(state, c.clone());
    // Stored lifetimes from before the bounds are clamped, so any edit also fixes them.
    let [
        access_ttl,
        refresh_idle_ttl,
        refresh_absolute_ttl,
        reuse_leeway,
    ] = c.lifetimes();
    let settings = ClientSettings {
        grant_types: ch.grant_types.unwrap_or(current.grant_types),
        scopes: ch.scopes.unwrap_or(current.scopes),
        redirect_uris: ch.redirect_uris.unwrap_or(current.redirect_uris),
        allowed_origins: ch.allowed_origins.unwrap_or(current.allowed_origins),
        refresh_token_delivery: ch
            .refresh_token_delivery
            .unwrap_or(current.refresh_token_delivery),
        require_consent: ch.require_consent.unwrap_or(current.require_consent),
        access_ttl: ch.access_ttl.apply(access_ttl),
        refresh_idle_ttl: ch.refresh_idle_ttl.apply(refresh_idle_ttl),
        refresh_absolute_ttl: ch.refresh_absolute_ttl.apply(refresh_absolute_ttl),
        reuse_leeway: ch.reuse_leeway.apply(reuse_leeway),
    };
    let v = settings.validate(c.is_public)?;
    let disabling = ch.disabled == Some(true);
    if c.client_id == ADMIN_CLIENT_ID {
        keep_admin_client_usable(&v, disabling)?;
    }
    c.grant_types = GrantType::join(&v.grant_types);
    c.scopes = v.scopes.to_string();
    c.redirect_uris = serde_json::to_string(&v.redirect_uris).unwrap_or_else(|_| "[]".into());
    c.allowed_origins = serde_json::to_string(&v.allowed_origins).unwrap_or_else(|_| "[]".into());
    c.refresh_token_delivery = v.refresh_token_delivery.as_str().to_owned();
    c.require_consent = v.require_consent;
    [
        c.access_ttl,
        c.refresh_idle_ttl,
        c.refresh_absolute_ttl,
        c.reuse_leeway,
    ] = v.lifetimes;
    let now = state.clock.now_ms();
    if let Some(d) = ch.disabled {
        if d && !c.disabled {
            c.tokens_valid_after = Some(now);
        }
        c.disabled = d;
    }
    c.updated_at = now;
    let detail = json!({
        "grant_types": c.grant_types,
        "scopes": c.scopes,
        "disabled": c.disabled,
        "refresh_token_delivery": c.refresh_token_delivery,
        "require_consent": c.require_consent,
    });
    let txn = state.db.write.begin().await?;
    clients::save(&txn, c).await?;
    let ended = if disabling {
        end_owned_in(
            &txn,
            Owner::Client(id),
            RevokeReason::ClientDisabled,
            actor,
            now,
        )
        .await?
    } else {
        0
    };
    audit::record(
        &txn,
        now,
        actor.stamp(AuditEvent {
            client_id: Some(id.to_owned()),
            detail: Some(detail),
            ..AuditEvent::new(AuditKind::ClientUpdated)
        }),
    )
    .await?;
    txn.commit().await?;
    state.clients.forget(id);
    counted(state, RevokeReason::ClientDisabled, ended);
    get(state, id).await
}

/// Generates a new secret for a confidential client; the old one stops working at once
/// on this instance, and within a second on every other ([`crate::store::client_cache`]).
pub async fn rotate_secret(state: &AppState, actor: &Actor, id: &str) -> AdminResult<String> {
    let c = find(state, id).await?;
    if c.is_public {
        return Err(AdminError::conflict(None, "a public client has no secret"));
    }
    let secret = ClientSecret::generate();
    clients::set_secret_hash(
        &state.db.write,
        &c.client_id,
        &secret.hash(),
        state.clock.now_ms(),
    )
    .await?;
    state.clients.forget(id);
    record(
        state,
        actor,
        AuditEvent {
            client_id: Some(id.to_owned()),
            ..AuditEvent::new(AuditKind::ClientSecretRotated)
        },
    )
    .await?;
    Ok(secret.expose().to_owned())
}

/// Removes a client and ends its sessions, in one transaction.
pub async fn remove(state: &AppState, actor: &Actor, id: &str) -> AdminResult<u64> {
    find(state, id).await?;
    if id == ADMIN_CLIENT_ID {
        return Err(AdminError::conflict(
            None,
            format!("the {ADMIN_CLIENT_ID} client is needed by the desktop admin"),
        ));
    }
    let now = state.clock.now_ms();
    let txn = state.db.write.begin().await?;
    if !clients::delete(&txn, id).await? {
        return Err(AdminError::NotFound(format!("no client {id}")));
    }
    crate::store::signin::forget_consents(&txn, None, Some(id)).await?;
    let n = end_owned_in(
        &txn,
        Owner::Client(id),
        RevokeReason::ClientRemoved,
        actor,
        now,
    )
    .await?;
    audit::record(
        &txn,
        now,
        actor.stamp(AuditEvent {
            client_id: Some(id.to_owned()),
            detail: Some(json!({"sessions_ended": n})),
            ..AuditEvent::new(AuditKind::ClientRemoved)
        }),
    )
    .await?;
    txn.commit().await?;
    state.clients.forget(id);
    Ok(counted(state, RevokeReason::ClientRemoved, n))
}
