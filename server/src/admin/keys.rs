//! Signing keys: rotate, retire, list. The rules: a rotated key is published at once and
//! signs after `key_prepublish` seconds (by default on PostgreSQL, once every instance
//! has reloaded its ring: [`crate::config::Settings::prepublish_secs`]), the keys it
//! replaces stop signing then and stay published until every token they may have signed
//! has expired; a key is retired at once only if another key can sign; a running server
//! reloads its ring at once, other instances within `key_reload_interval`.

use sea_orm::TransactionTrait;
use serde_json::json;

use super::{Actor, AdminError, AdminResult};
use crate::clock::Millis;
use crate::crypto::keys::{self, SigningAlg};
use crate::domain::{AuditKind, KeyState};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent};
use crate::store::entities::signing_key;
use crate::store::{self, clients, sessions};

/// A signing key (its public half only).
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub kid: String,
    pub alg: SigningAlg,
    pub state: KeyState,
    pub created_at: Millis,
    pub activate_at: Millis,
    pub retired_at: Option<Millis>,
    pub publish_until: Option<Millis>,
    pub encrypted: bool,
    /// Access tokens it signed that may not have expired yet (counted from user token
    /// issuance; client-credentials tokens are not recorded).
    pub unexpired_tokens: u64,
}

impl KeyRecord {
    fn state_of(k: &signing_key::Model, now: Millis) -> KeyState {
        KeyState::of(k.activate_at, k.retired_at, k.publish_until, now)
    }
}

async fn to_record(state: &AppState, k: signing_key::Model) -> AdminResult<KeyRecord> {
    let now = state.clock.now_ms();
    let ttl_ms = state.settings.access_ttl * 1000;
    let signed_until = k.retired_at.map_or(now, |r| r.min(now));
    let from = k.activate_at.max(now - ttl_ms);
    let unexpired_tokens = sessions::issued_between(&state.db.read, from, signed_until).await?;
    Ok(KeyRecord {
        state: KeyRecord::state_of(&k, now),
        alg: SigningAlg::parse(&k.alg).ok_or_else(|| {
            AdminError::Internal(format!("key {} has unknown alg {}", k.kid, k.alg))
        })?,
        created_at: k.created_at,
        activate_at: k.activate_at,
        retired_at: k.retired_at,
        publish_until: k.publish_until,
        encrypted: k.key_encryption.is_some(),
        unexpired_tokens,
        kid: k.kid,
    })
}

/// Every key, newest activation first.
pub async fn list(state: &AppState) -> AdminResult<Vec<KeyRecord>> {
    let mut out = Vec::new();
    for k in store::keys::list(&state.db.read).await? {
        out.push(to_record(state, k).await?);
    }
    Ok(out)
}

async fn find(state: &AppState, kid: &str) -> AdminResult<signing_key::Model> {
    store::keys::list(&state.db.read)
        .await?
        .into_iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| AdminError::NotFound(format!("no key {kid}")))
}

/// Creates a key of `alg` and schedules the others to stop signing when it activates.
pub async fn rotate(state: &AppState, actor: &Actor, alg: SigningAlg) -> AdminResult<KeyRecord> {
    let key = keys::generate(alg).map_err(|e| AdminError::Internal(e.to_string()))?;
    let now = state.clock.now_ms();
    let settings = &state.settings;
    let activate_at = now + settings.prepublish_secs() * 1000;
    // The old keys verify until the longest-lived token they may sign has expired.
    let max_ttl = clients::list(&state.db.read)
        .await?
        .iter()
        .filter_map(|c| c.access_ttl)
        .fold(settings.access_ttl, i64::max);
    let kek = settings
        .kek()
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    let txn = state.db.write.begin().await?;
    store::keys::insert(&txn, &key, now, activate_at, kek.as_ref()).await?;
    store::keys::retire_others(&txn, &key.kid, activate_at, activate_at + max_ttl * 1000).await?;
    audit::record(
        &txn,
        now,
        actor.stamp(AuditEvent {
            detail: Some(json!({"kid": key.kid, "alg": alg.as_str(), "activate_at": activate_at})),
            ..AuditEvent::new(AuditKind::KeyRotated)
        }),
    )
    .await?;
    txn.commit().await?;
    state.keys_changed().await?;
    to_record(state, find(state, &key.kid).await?).await
}

/// Retires a key at once (it stops signing and leaves the JWKS: tokens it signed stop
/// verifying); refuses an unknown or already retired key and the last key able to sign.
pub async fn retire(state: &AppState, actor: &Actor, kid: &str) -> AdminResult<KeyRecord> {
    let now = state.clock.now_ms();
    let all = store::keys::list(&state.db.read).await?;
    let k = all
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| AdminError::NotFound(format!("no key {kid}")))?;
    if KeyRecord::state_of(k, now) == KeyState::Retired {
        return Err(AdminError::conflict(
            None,
            format!("key {kid} is already retired"),
        ));
    }
    // Another key must be signing now: a pending one would leave a gap with no key.
    if !all
        .iter()
        .any(|o| o.kid != kid && KeyRecord::state_of(o, now) == KeyState::Active)
    {
        return Err(AdminError::conflict(
            None,
            format!(
                "{kid} is the only signing key; rotate first (and wait until the new key is active)"
            ),
        ));
    }
    let txn = state.db.write.begin().await?;
    store::keys::retire_now(&txn, kid, now).await?;
    audit::record(
        &txn,
        now,
        actor.stamp(AuditEvent {
            detail: Some(json!({"kid": kid})),
            ..AuditEvent::new(AuditKind::KeyRetired)
        }),
    )
    .await?;
    txn.commit().await?;
    state.keys_changed().await?;
    to_record(state, find(state, kid).await?).await
}
