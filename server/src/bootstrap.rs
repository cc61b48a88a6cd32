//! First start on an empty database (docs/protocol.md, "First start"): an ES256 signing
//! key, the public client `tessera-admin` for the desktop GUI, and an `admin` user when
//! there is no administrator. Safe to run on every start and from several instances at
//! once.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};

use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::keys::{self, SigningAlg};
use crate::crypto::password::PasswordHasher;
use crate::domain::AuditKind;
use crate::domain::{ClientId, GrantType, NewPassword, Scope, Username};
use crate::store::audit::{self, AuditEvent};
use crate::store::clients::{self, NewClient};
use crate::store::{self, Db, is_unique_violation, users};

pub const ADMIN_CLIENT_ID: &str = "tessera-admin";

/// The PostgreSQL advisory lock that makes instances create the first key one at a time.
const FIRST_KEY_LOCK: i64 = 0x0074_6573_7365_7261; // "tessera"

pub async fn run(
    db: &Db,
    settings: &Settings,
    clock: &Clock,
    admin_password: Option<String>,
) -> anyhow::Result<()> {
    let now = clock.now_ms();
    let kek = settings.kek()?;
    match &kek {
        Some(kek) => {
            let n = store::keys::encrypt_plain_rows(&db.write, kek).await?;
            if n > 0 {
                tracing::info!("encrypted {n} signing key(s) stored in the clear");
            }
        }
        None => tracing::warn!(
            "signing keys are stored unencrypted; set key_encryption_key_file (or \
             TESSERA_KEY_ENCRYPTION_KEY) to encrypt them at rest"
        ),
    }
    // Instances started together on an empty database must make one first key, not one
    // each (each would sign with its own, which the others do not publish until their
    // next reload): the check and the insert are one transaction, serialized on
    // PostgreSQL by an advisory lock (SQLite has one writer).
    let txn = db.write.begin().await?;
    if db.backend() == DbBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({FIRST_KEY_LOCK})"))
            .await?;
    }
    if store::keys::load_live(&txn, now).await?.is_empty() {
        let key = keys::generate(SigningAlg::Es256)?;
        match store::keys::insert(&txn, &key, now, now, kek.as_ref()).await {
            Ok(()) => {
                audit::record(
                    &txn,
                    now,
                    AuditEvent {
                        actor: Some("system".into()),
                        detail: Some(serde_json::json!({"kid": key.kid, "alg": "ES256"})),
                        ..AuditEvent::new(AuditKind::KeyCreated)
                    },
                )
                .await?;
                tracing::info!(kid = %key.kid, "created the first signing key (ES256)");
            }
            Err(e) => return Err(e),
        }
    }
    txn.commit().await?;

    if clients::find(&db.read, ADMIN_CLIENT_ID).await?.is_none() {
        let client = NewClient {
            client_id: ClientId::parse(ADMIN_CLIENT_ID).map_err(anyhow::Error::msg)?,
            secret_hash: None,
            grant_types: vec![GrantType::Password, GrantType::RefreshToken],
            scopes: Scope::parse("admin").map_err(anyhow::Error::msg)?,
            redirect_uris: vec![],
            allowed_origins: vec![],
            refresh_token_delivery: Default::default(),
            require_consent: false,
            access_ttl: None,
            refresh_idle_ttl: None,
            refresh_absolute_ttl: None,
            reuse_leeway: None,
        };
        match clients::insert(&db.write, client, now).await {
            Ok(()) => tracing::info!("created the public client `{ADMIN_CLIENT_ID}`"),
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }

    if users::count_admins(&db.read).await? == 0 {
        let from_env = std::env::var("TESSERA_ADMIN_PASSWORD").ok();
        let (password, generated) = match admin_password.or(from_env) {
            Some(p) if !p.is_empty() => (p, false),
            _ => (
                URL_SAFE_NO_PAD.encode(crate::crypto::random::bytes::<18>()),
                true,
            ),
        };
        // The same rule as any other password.
        let password = NewPassword::parse(password)
            .map_err(|e| anyhow::anyhow!("TESSERA_ADMIN_PASSWORD: {e}"))?;
        let hasher = PasswordHasher::new(settings.argon2, 1, 0)?;
        let hash = hasher.hash(password.expose()).await?;
        let name = Username::parse("admin").map_err(anyhow::Error::msg)?;
        match users::insert(&db.write, &name, hash, true, now).await {
            Ok(user) => {
                audit::record(
                    &db.write,
                    now,
                    AuditEvent {
                        actor: Some("system".into()),
                        user_id: Some(user.id),
                        detail: Some(serde_json::json!({"username": "admin", "admin": true})),
                        ..AuditEvent::new(AuditKind::UserCreated)
                    },
                )
                .await?;
                if generated {
                    eprintln!(
                        "\n  Created administrator `admin` with password: {}\n  \
                         (shown once; change it with `tessera user passwd admin`)\n",
                        password.expose()
                    );
                } else {
                    tracing::info!("created administrator `admin` from TESSERA_ADMIN_PASSWORD");
                }
            }
            Err(e) if is_unique_violation(&e) => {
                tracing::warn!("a user named `admin` exists but is not an administrator");
            }
            Err(e) => return Err(e).context("creating the admin user"),
        }
    }
    Ok(())
}
