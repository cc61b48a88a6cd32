//! Client authentication (RFC 6749 §2.3): the lookup and the constant-time secret check.
//! The edge extracts the credentials (Basic or form) and says which way they came.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use subtle::ConstantTimeEq;

use super::OAuthError;
use crate::clock::Millis;
use crate::domain::{ClientId, tokens_hash_presented_secret};
use crate::state::AppState;

/// An authenticated client (a row at most a second old: [`crate::store::client_cache`]).
pub type Client = std::sync::Arc<crate::store::entities::client::Model>;

/// Presented client credentials.
pub struct Credentials<'a> {
    pub client_id: &'a str,
    pub secret: Option<&'a str>,
    /// They came in an `Authorization: Basic` header (a failure then says
    /// `WWW-Authenticate`).
    pub basic: bool,
    /// The client's address, as `trusted_proxy_hops` decides it.
    pub from: Option<&'a str>,
}

/// Finds and checks the client. Every failure is `invalid_client`, with the same
/// description whether the client is unknown, disabled or the secret wrong; past
/// [`ClientFailures::LIMIT`] wrong secrets from one network, that client is refused from
/// there (429) until the window ends, before its secret is looked at.
pub async fn authenticate(state: &AppState, c: Credentials<'_>) -> Result<Client, OAuthError> {
    let fail = |d: &str| OAuthError::InvalidClient {
        description: d.to_owned(),
        basic: c.basic,
    };
    if ClientId::parse(c.client_id).is_err() || c.secret.is_some_and(|s| s.len() > 1024) {
        return Err(fail("client authentication failed"));
    }
    let found = state.clients.get(&state.db.read, c.client_id).await?;
    let Some(client) = found.filter(|c| !c.disabled) else {
        return Err(fail("client authentication failed"));
    };
    let Some(stored) = &client.secret_hash else {
        return match c.secret {
            None => Ok(client),
            Some(_) => Err(fail("public clients must not send a secret")),
        };
    };
    // Made only when there are failures to look up, or one to count.
    let key = || {
        format!(
            "{}@{}",
            c.client_id,
            c.from
                .map_or_else(|| "-".to_owned(), super::credentials::network_of)
        )
    };
    let now = state.clock.now_ms();
    if let Some(retry_after) = state.client_failures.refused(key, now) {
        state.metrics.client_auth_throttled.inc();
        return Err(OAuthError::ClientThrottled {
            retry_after,
            basic: c.basic,
        });
    }
    let right = c.secret.is_some_and(|presented| {
        let presented = tokens_hash_presented_secret(presented);
        bool::from(stored.as_bytes().ct_eq(presented.as_bytes()))
    });
    if right {
        state.client_failures.succeeded(key);
        Ok(client)
    } else {
        state.client_failures.failed(key(), now);
        Err(fail("client authentication failed"))
    }
}

/// Failed authentications of confidential clients, per client and network (an IPv6
/// address counts by its /64), in this instance's memory. Past [`Self::LIMIT`] in a
/// [`Self::WINDOW_MS`], the client is refused from that network until the window ends;
/// from other networks it goes on working. (Clients that share one address, behind a
/// proxy not counted in `trusted_proxy_hops` or a NAT, share one count.) Client secrets
/// are 256 random bits, which no rate makes guessable: this bounds the work and the
/// noise a guesser causes. Only registered clients are counted, so there are at most
/// clients × networks entries; expired ones are pruned every minute and when the map is
/// full, and past [`Self::MAX_KEYS`] live ones no new network is counted. With several
/// instances, each counts its own. While nothing is counted, a successful
/// authentication costs one atomic load here.
#[derive(Default)]
pub struct ClientFailures {
    counts: Mutex<HashMap<String, (u32, Millis)>>,
    /// Entries in `counts`, read without the lock on the hot path.
    len: AtomicUsize,
    /// When the map was last pruned because it was full.
    pruned_full_at: std::sync::atomic::AtomicI64,
}

impl ClientFailures {
    pub const LIMIT: u32 = 20;
    pub const WINDOW_MS: Millis = 60_000;
    const MAX_KEYS: usize = 10_000;

    /// Seconds until `key` may try again, if it is refused now.
    fn refused(&self, key: impl FnOnce() -> String, now: Millis) -> Option<i64> {
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let counts = self.counts.lock().ok()?;
        let &(n, since) = counts.get(&key())?;
        let ends = since + Self::WINDOW_MS;
        (n >= Self::LIMIT && now < ends).then(|| (ends - now + 999) / 1000)
    }

    fn failed(&self, key: String, now: Millis) {
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        if counts.len() >= Self::MAX_KEYS && !counts.contains_key(&key) {
            // At most one pass a second over a full map.
            if now - self.pruned_full_at.load(Ordering::Relaxed) >= 1000 {
                self.pruned_full_at.store(now, Ordering::Relaxed);
                counts.retain(|_, (_, since)| now < *since + Self::WINDOW_MS);
            }
            if counts.len() >= Self::MAX_KEYS {
                self.len.store(counts.len(), Ordering::Relaxed);
                return;
            }
        }
        let entry = counts.entry(key).or_insert((0, now));
        if now >= entry.1 + Self::WINDOW_MS {
            *entry = (0, now);
        }
        entry.0 += 1;
        self.len.store(counts.len(), Ordering::Relaxed);
    }

    /// Drops the counts whose window has ended.
    pub fn prune(&self, now: Millis) {
        if self.len.load(Ordering::Relaxed) == 0 {
            return;
        }
        if let Ok(mut counts) = self.counts.lock() {
            counts.retain(|_, (_, since)| now < *since + Self::WINDOW_MS);
            self.len.store(counts.len(), Ordering::Relaxed);
        }
    }

    fn succeeded(&self, key: impl FnOnce() -> String) {
        if self.len.load(Ordering::Relaxed) == 0 {
            return;
        }
        if let Ok(mut counts) = self.counts.lock() {
            counts.remove(&key());
            self.len.store(counts.len(), Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClientFailures;

    #[test]
    fn counts_refuse_expire_and_prune() {
        let f = ClientFailures::default();
        let key = || "svc@198.51.100.7".to_owned();
        for _ in 0..ClientFailures::LIMIT - 1 {
            f.failed(key(), 1_000);
        }
        assert_eq!(f.refused(key, 1_000), None, "under the limit");
        f.failed(key(), 1_000);
        assert_eq!(f.refused(key, 1_000), Some(60));
        assert_eq!(f.refused(key, 60_500), Some(1));
        assert_eq!(f.refused(|| "svc@192.0.2.1".to_owned(), 1_000), None);
        assert_eq!(f.refused(key, 61_000), None, "the window has ended");
        // Pruning empties the map, and the hot path is an atomic load again.
        f.prune(61_000);
        assert_eq!(f.len.load(std::sync::atomic::Ordering::Relaxed), 0);
        // A success clears the count.
        f.failed(key(), 70_000);
        f.succeeded(key);
        assert_eq!(f.len.load(std::sync::atomic::Ordering::Relaxed), 0);
    }

    #[test]
    fn a_full_map_counts_no_new_network() {
        let f = ClientFailures::default();
        for i in 0..ClientFailures::MAX_KEYS {
            f.failed(format!("svc@{i}"), 1_000);
        }
        f.failed("svc@new".to_owned(), 2_000);
        assert_eq!(
            f.counts.lock().unwrap().len(),
            ClientFailures::MAX_KEYS,
            "live counts are kept, the new network is not counted"
        );
        // Once they expire, a full map makes room.
        f.failed("svc@new".to_owned(), 70_000);
        assert_eq!(f.counts.lock().unwrap().len(), 1);
    }
}
