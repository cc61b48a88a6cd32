//! Client rows for the protocol endpoints, at most [`CLIENT_CACHE_TTL`] old.
//!
//! Every call to the token endpoint authenticates a client, and reading its row was one
//! database round trip per request on the hottest path. Client rows change rarely and
//! only by an administrator, so the endpoints read them through this cache:
//!
//! - an entry is used for at most [`CLIENT_CACHE_TTL`] after its read began, then read
//!   again, so a change made by the CLI or on another instance is honoured everywhere
//!   within that bound (docs/architecture.md, "Client cache");
//! - a change made through this instance's operations ([`crate::admin::clients`])
//!   drops the entry at once;
//! - only clients that exist are kept, so unknown client ids cannot fill it, and it
//!   holds at most [`MAX_ENTRIES`].
//!
//! What a stale entry can do is bounded too: disabling or removing a client revokes its
//! refresh families in the same transaction, and a rotation checks its family in the
//! database, so no refresh outlives the change; and a new family (password grant, code
//! exchange) re-reads the client in its own transaction
//! ([`crate::store::clients::is_enabled`]). Within the bound a replaced secret may
//! still authenticate, and a removed client may still get client-credentials tokens.
//! The administration API reads the table directly.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbErr};

use super::clients;
use super::entities::client;

/// How stale a client row used by the protocol endpoints may be.
pub const CLIENT_CACHE_TTL: Duration = Duration::from_secs(1);
/// The most clients kept; beyond it, expired entries go, then all.
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    read_at: Instant,
    client: Arc<client::Model>,
}

#[derive(Default)]
pub struct ClientCache {
    entries: RwLock<HashMap<String, Entry>>,
    /// Bumped by every [`ClientCache::forget`]: a read that began before one is not kept,
    /// so this instance's own changes are never undone by a read racing them.
    changes: AtomicU64,
}

impl ClientCache {
    /// The client, from the cache while fresh, else from `db`.
    pub async fn get(
        &self,
        db: &impl ConnectionTrait,
        client_id: &str,
    ) -> Result<Option<Arc<client::Model>>, DbErr> {
        if let Some(hit) = self.fresh(client_id) {
            return Ok(Some(hit));
        }
        // The entry's age counts from before the read, so a change committed while it
        // ran is honoured within the bound.
        let read_at = Instant::now();
        let changes = self.changes.load(Ordering::Acquire);
        let Some(found) = clients::find(db, client_id).await? else {
            return Ok(None);
        };
        let found = Arc::new(found);
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if self.changes.load(Ordering::Acquire) != changes {
            return Ok(Some(found));
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.read_at.elapsed() < CLIENT_CACHE_TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            client_id.to_owned(),
            Entry {
                read_at,
                client: found.clone(),
            },
        );
        Ok(Some(found))
    }

    /// Drops the client's entry: it was changed or removed by this instance.
    pub fn forget(&self, client_id: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.changes.fetch_add(1, Ordering::AcqRel);
        entries.remove(client_id);
    }

    fn fresh(&self, client_id: &str) -> Option<Arc<client::Model>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(client_id)
            .filter(|e| e.read_at.elapsed() < CLIENT_CACHE_TTL)
            .map(|e| e.client.clone())
    }
}
