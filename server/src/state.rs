use std::sync::{Arc, RwLock};

use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::kek::Kek;
use crate::crypto::keys::KeyRing;
use crate::crypto::password::PasswordHasher;
use crate::metrics::Metrics;
use crate::oauth::refresh::group_commit::RotationQueue;
use crate::store::{self, Db};

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub db: Db,
    pub settings: Settings,
    pub issuer: String,
    pub audience: String,
    pub clock: Clock,
    pub hasher: PasswordHasher,
    pub metrics: Metrics,
    pub kek: Option<Kek>,
    /// Client origins for CORS, at most a second old.
    pub origins: crate::web::cors::OriginCache,
    /// Client rows for the protocol endpoints, at most a second old.
    pub clients: store::client_cache::ClientCache,
    /// Failed client authentications per client and network, in memory.
    pub client_failures: crate::oauth::client_auth::ClientFailures,
    /// Revoked client-credentials tokens, at most a second old.
    pub revoked: store::revoked::RevokedCache,
    /// The refresh path's group commit (oauth/refresh/group_commit.rs).
    pub rotations: RotationQueue,
    keys: RwLock<Arc<KeyRing>>,
    /// False for the CLI, which signs nothing and leaves key reloading to the servers.
    serving: bool,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub async fn new(
        db: Db,
        settings: Settings,
        issuer: String,
        clock: Clock,
    ) -> anyhow::Result<AppState> {
        let concurrency = settings
            .hash_concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let hasher = PasswordHasher::new(settings.argon2, concurrency, settings.hash_queue)?;
        let audience = settings.audience.clone().unwrap_or_else(|| issuer.clone());
        let kek = settings.kek()?;
        let mut metrics = Metrics::default();
        metrics.register_hasher(&hasher);
        let rotations = RotationQueue::start(&db, &clock, settings.audit_refreshes, &metrics);
        let state = AppState(Arc::new(Inner {
            db,
            settings,
            issuer,
            audience,
            clock,
            hasher,
            metrics,
            kek,
            origins: Default::default(),
            clients: Default::default(),
            client_failures: Default::default(),
            revoked: Default::default(),
            rotations,
            keys: RwLock::new(Arc::new(KeyRing::default())),
            serving: true,
        }));
        state.reload_keys().await?;
        Ok(state)
    }

    /// The state the CLI runs operations with: the same database, settings and clock,
    /// one password hash at a time, and no key ring (it signs nothing).
    pub fn offline(db: Db, settings: Settings, clock: Clock) -> anyhow::Result<AppState> {
        let hasher = PasswordHasher::new(settings.argon2, 1, 0)?;
        let issuer = settings.issuer_for(&settings.listen);
        let audience = settings.audience.clone().unwrap_or_else(|| issuer.clone());
        Ok(AppState(Arc::new(Inner {
            db,
            settings,
            issuer,
            audience,
            clock,
            hasher,
            metrics: Metrics::default(),
            kek: None,
            origins: Default::default(),
            clients: Default::default(),
            client_failures: Default::default(),
            revoked: Default::default(),
            rotations: RotationQueue::closed(),
            keys: RwLock::new(Arc::new(KeyRing::default())),
            serving: false,
        })))
    }

    /// After a key was added or retired: a serving instance reloads its ring at once
    /// (others pick the change up within `key_reload_interval`).
    pub async fn keys_changed(&self) -> anyhow::Result<()> {
        if self.serving {
            self.reload_keys().await?;
        }
        Ok(())
    }

    pub fn keys(&self) -> Arc<KeyRing> {
        self.keys
            .read()
            .map(|g| g.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Rebuilds the key ring from the database (keys added or retired by the CLI, the
    /// admin API or another instance).
    pub async fn reload_keys(&self) -> anyhow::Result<()> {
        let rows = store::keys::load_live(&self.db.read, self.clock.now_ms()).await?;
        let stored = rows
            .into_iter()
            .map(|k| store::keys::to_stored(k, self.kek.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let ring = Arc::new(KeyRing::build(stored)?);
        match self.keys.write() {
            Ok(mut g) => *g = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
        Ok(())
    }
}
