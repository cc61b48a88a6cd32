//! Prometheus metrics, one registry per server (so tests running several servers in one
//! process do not mix counts), rendered in the text exposition format at `/metrics`.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The OpenAPI operation id, or `other` (unknown paths, docs).
    pub operation: String,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrantLabels {
    pub grant: String,
    /// `ok` or the OAuth error code.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabels {
    pub op: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<OpLabels, Histogram>,
    pub grants: Family<GrantLabels, Counter>,
    pub reuse_detections: Counter,
    pub families_revoked: Family<ReasonLabels, Counter>,
    pub logins_throttled: Counter,
    pub client_auth_throttled: Counter,
    pub hash_in_flight: Gauge,
    /// Connections open (serve.rs), at most `max_connections`.
    pub connections_open: Gauge,
    pub db_seconds: Family<OpLabels, Histogram>,
    /// Rotations per group commit (oauth/refresh/group_commit.rs).
    pub group_commit_size: Histogram,
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    [
        0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
    ]
    .into_iter()
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tessera");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by operation and status",
            requests.clone(),
        );
        let request_seconds = Family::<OpLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(latency_buckets())
        });
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by operation",
            request_seconds.clone(),
        );
        let grants = Family::<GrantLabels, Counter>::default();
        registry.register(
            "token_grants",
            "Token requests by grant type and outcome",
            grants.clone(),
        );
        let reuse_detections = Counter::default();
        registry.register(
            "reuse_detections",
            "Refresh tokens presented again after use (family revoked)",
            reuse_detections.clone(),
        );
        let families_revoked = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "families_revoked",
            "Refresh families revoked, by reason",
            families_revoked.clone(),
        );
        let logins_throttled = Counter::default();
        registry.register(
            "logins_throttled",
            "Sign-ins refused because the user or address is delayed or locked",
            logins_throttled.clone(),
        );
        let client_auth_throttled = Counter::default();
        registry.register(
            "client_auth_throttled",
            "Client authentications refused after too many wrong secrets from one network",
            client_auth_throttled.clone(),
        );
        let hash_in_flight = Gauge::default();
        registry.register(
            "password_hash_queue_depth",
            "Password hashes running or waiting",
            hash_in_flight.clone(),
        );
        let connections_open = Gauge::default();
        registry.register(
            "connections_open",
            "Client connections open (at most max_connections)",
            connections_open.clone(),
        );
        let db_seconds = Family::<OpLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(latency_buckets())
        });
        registry.register(
            "db_operation_duration_seconds",
            "Database transaction latency by operation",
            db_seconds.clone(),
        );
        let group_commit_size = Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]);
        registry.register(
            "group_commit_rotations",
            "Refresh rotations committed together in one transaction",
            group_commit_size.clone(),
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            grants,
            reuse_detections,
            families_revoked,
            logins_throttled,
            client_auth_throttled,
            hash_in_flight,
            connections_open,
            db_seconds,
            group_commit_size,
        }
    }
}

impl Metrics {
    pub fn grant(&self, grant: &str, outcome: &str) {
        self.grants
            .get_or_create(&GrantLabels {
                grant: grant.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub fn revoked(&self, reason: &str, n: u64) {
        self.families_revoked
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc_by(n);
    }

    /// Publishes the hasher's own timing and its thread count.
    pub fn register_hasher(&mut self, hasher: &crate::crypto::password::PasswordHasher) {
        self.registry.register(
            "password_hash_duration_seconds",
            "Time each password hash took on its thread, not counting its wait for one",
            hasher.hash_seconds(),
        );
        let threads = Gauge::<i64>::default();
        threads.set(i64::try_from(hasher.concurrency()).unwrap_or(i64::MAX));
        self.registry.register(
            "password_hash_threads",
            "Password hashes that can run at once",
            threads,
        );
    }

    pub fn db(&self, op: &str, started: std::time::Instant) {
        self.db_seconds
            .get_or_create(&OpLabels { op: op.to_owned() })
            .observe(started.elapsed().as_secs_f64());
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

pub type SharedMetrics = Arc<Metrics>;
