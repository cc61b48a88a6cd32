//! argon2id password hashing, off the async executor, with a bounded number in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::Semaphore;

/// argon2 cost. The default is OWASP's recommendation for argon2id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Cost {
    /// Memory in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2Cost {
    fn default() -> Self {
        Argon2Cost {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Too many hashes already queued; the caller should answer 503 with `Retry-After`.
    #[error("password hashing is saturated")]
    Busy,
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// Hashes and verifies passwords on threads of its own. At most `concurrency` hashes
/// run at once and at most `queue` wait; beyond that callers get [`HashError::Busy`]
/// instead of the server growing memory (each hash holds `memory_kib` KiB).
pub struct PasswordHasher {
    argon: Argon2<'static>,
    threads: HashThreads,
    running: Arc<Semaphore>,
    queued: Arc<AtomicUsize>,
    /// Running plus waiting hashes allowed at once.
    capacity: usize,
    /// A hash of a random password with the current cost, verified against when the user
    /// does not exist, so unknown and known usernames take the same time.
    dummy_hash: String,
    /// How long each hash took on its thread (not its wait for one), for `/metrics`:
    /// with the thread count, it gives the sign-in rate the hashing allows.
    hash_seconds: Histogram,
    concurrency: usize,
}

impl PasswordHasher {
    pub fn new(cost: Argon2Cost, concurrency: usize, queue: usize) -> Result<Self, HashError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| HashError::Internal(format!("invalid argon2 parameters: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = dummy_phc(cost);
        Ok(PasswordHasher {
            argon,
            threads: HashThreads::start(concurrency.max(1))?,
            running: Arc::new(Semaphore::new(concurrency.max(1))),
            queued: Arc::new(AtomicUsize::new(0)),
            capacity: concurrency.max(1) + queue,
            dummy_hash,
            hash_seconds: Histogram::new([0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0]),
            concurrency: concurrency.max(1),
        })
    }

    /// The time each hash took on its thread (shared with `/metrics`).
    pub fn hash_seconds(&self) -> Histogram {
        self.hash_seconds.clone()
    }

    /// Hashes that can run at once (one thread each).
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// How many hash operations are waiting or running right now.
    pub fn in_flight(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Takes a place among the hashes allowed at once, or answers [`HashError::Busy`] at
    /// once. A sign-in takes its place before it touches the database, so a request shed
    /// for load costs nothing and counts against no one.
    pub fn admit(&self) -> Result<Admitted<'_>, HashError> {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(HashError::Busy);
        }
        Ok(Admitted {
            hasher: self,
            place: Place(self.queued.clone()),
        })
    }

    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let argon = self.argon.clone();
        let password = password.as_bytes().to_vec();
        self.admit()?
            .run(move || {
                argon
                    .hash_password(&password)
                    .map(|h| h.to_string())
                    .map_err(|e| HashError::Internal(e.to_string()))
            })
            .await?
    }
}

/// A PHC string with the given cost, a random salt and a random output: verifying a
/// password against it costs exactly what verifying against a real hash costs (argon2
/// runs in full, then the outputs are compared), and nothing matches it. Made without
/// hashing, so a server does not spend a hash's time and memory at start.
fn dummy_phc(cost: Argon2Cost) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let salt = b64.encode(crate::crypto::random::bytes::<16>());
    let output = b64.encode(crate::crypto::random::bytes::<32>());
    let Argon2Cost {
        memory_kib: m,
        iterations: t,
        parallelism: p,
    } = cost;
    format!("$argon2id$v=19$m={m},t={t},p={p}${salt}${output}")
}

/// A place among the hashes allowed at once, held from [`PasswordHasher::admit`] until
/// the hash it was taken for is done (or the place is dropped unused).
pub struct Admitted<'a> {
    hasher: &'a PasswordHasher,
    place: Place,
}

/// One counted place; given back when dropped.
struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Admitted<'_> {
    /// Verifies `password` against `stored`, or against a dummy hash when `stored` is
    /// `None` (unknown user), which always fails but costs the same.
    pub async fn verify(self, password: &str, stored: Option<&str>) -> Result<bool, HashError> {
        let known = stored.is_some();
        let phc = stored.unwrap_or(&self.hasher.dummy_hash).to_owned();
        let argon = self.hasher.argon.clone();
        let password = password.as_bytes().to_vec();
        let ok = self
            .run(move || match PasswordHash::new(&phc) {
                Ok(parsed) => argon.verify_password(&password, &parsed).is_ok(),
                Err(_) => false,
            })
            .await?;
        Ok(known && ok)
    }

    async fn run<T: Send + 'static>(
        self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = self
            .hasher
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashError::Internal("hasher closed".into()))?;
        // The hash holds its place and its permit until it is done, even if the request
        // that asked for it is gone (a client that disconnects cannot start more hashes
        // than the limit by leaving them running).
        let place = self.place;
        let timing = self.hasher.hash_seconds.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.hasher.threads.run(Box::new(move || {
            let answer = {
                let _held = (permit, place);
                let started = std::time::Instant::now();
                let answer = f();
                timing.observe(started.elapsed().as_secs_f64());
                answer
            };
            // The place is free again by the time the caller has its answer.
            let _ = tx.send(answer);
        }))?;
        rx.await
            .map_err(|_| HashError::Internal("a hashing thread failed".into()))
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The threads that hash, one per hash allowed to run at once, started with the hasher
/// and ended when it is dropped. They run at a lower CPU priority (nice 10) than the
/// threads that answer requests: when sign-ins flood in, the hashes share what the
/// cores have left, and the request threads still answer at once (the 503 that sheds
/// a sign-in, a refresh beside it). With nothing else to run, the hashes get the cores
/// whole.
struct HashThreads {
    jobs: mpsc::Sender<Job>,
}

impl HashThreads {
    fn start(n: usize) -> Result<Self, HashError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..n {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("tessera-hash-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        // A job that panics loses its answer (the caller sees an
                        // internal error), not the thread.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })
                .map_err(|e| HashError::Internal(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(HashThreads { jobs })
    }

    fn run(&self, job: Job) -> Result<(), HashError> {
        self.jobs
            .send(job)
            .map_err(|_| HashError::Internal("the hashing threads are gone".into()))
    }
}

/// Lowers the calling thread's CPU priority to niceness 10; where that cannot be done,
/// hashes run at normal priority.
fn lower_priority() {
    use thread_priority::{ThreadPriority, ThreadPriorityValue, set_current_thread_priority};
    // thread-priority maps 0..=99 onto niceness 19..=-20; 22 is niceness 10 (the unit
    // test below reads it back from /proc).
    let Ok(low) = ThreadPriorityValue::try_from(22u8) else {
        return;
    };
    if let Err(e) = set_current_thread_priority(ThreadPriority::Crossplatform(low)) {
        tracing::debug!(error = ?e, "cannot lower the priority of a hashing thread");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(
            Argon2Cost {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            2,
            8,
        )
        .unwrap()
    }

    /// The hashing threads run at niceness 10, read back from the kernel.
    #[test]
    fn hashing_threads_run_at_a_lower_priority() {
        let h = cheap();
        let (tx, rx) = std::sync::mpsc::channel();
        h.threads
            .run(Box::new(move || {
                let _ = tx.send(std::fs::read_to_string("/proc/thread-self/stat"));
            }))
            .unwrap();
        let stat = rx.recv().unwrap().expect("/proc/thread-self/stat (Linux)");
        // After the command name come the fields from the third (state) on; niceness is
        // the nineteenth.
        let (_, fields) = stat.rsplit_once(") ").unwrap();
        let nice: i32 = fields.split(' ').nth(16).unwrap().parse().unwrap();
        assert_eq!(nice, 10, "{stat}");
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let h = cheap();
        let phc = h.hash("correct horse").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        let verify = |p: &'static str, stored: Option<&str>| {
            let stored = stored.map(str::to_owned);
            let h = &h;
            async move {
                h.admit()
                    .unwrap()
                    .verify(p, stored.as_deref())
                    .await
                    .unwrap()
            }
        };
        assert!(verify("correct horse", Some(&phc)).await);
        assert!(!verify("wrong horse", Some(&phc)).await);
        assert!(!verify("correct horse", None).await);
        assert!(!verify("x", Some("not a phc string")).await);
    }

    #[tokio::test]
    async fn admission_is_bounded_and_released() {
        let h = cheap(); // 2 running + 8 waiting
        let places: Vec<_> = (0..10).map(|_| h.admit().unwrap()).collect();
        assert_eq!(h.in_flight(), 10);
        assert!(matches!(h.admit(), Err(HashError::Busy)));
        assert!(matches!(h.hash("x").await, Err(HashError::Busy)));
        drop(places);
        assert_eq!(h.in_flight(), 0);
        assert!(h.admit().unwrap().verify("x", None).await.is_ok());
        assert_eq!(h.in_flight(), 0);
    }

    #[tokio::test]
    async fn the_dummy_hash_has_the_real_shape_and_cost() {
        let h = cheap();
        let real = h.hash("some password").await.unwrap();
        let dummy = PasswordHash::new(&h.dummy_hash).unwrap();
        let real = PasswordHash::new(&real).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert_eq!(dummy.salt.map(|s| s.len()), real.salt.map(|s| s.len()));
        assert_eq!(dummy.hash.map(|o| o.len()), real.hash.map(|o| o.len()));
    }

    #[test]
    fn default_cost_is_owasp() {
        assert_eq!(
            Argon2Cost::default(),
            Argon2Cost {
                memory_kib: 19_456,
                iterations: 2,
                parallelism: 1
            }
        );
    }
}
