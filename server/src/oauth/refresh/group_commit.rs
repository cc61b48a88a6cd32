//! Group commit of rotations (docs/architecture.md, "Group commit").
//!
//! Every refresh is a write, and a database commits one writer at a time (SQLite) or
//! pays a round trip per statement (both). So rotations are not written one transaction
//! each: a request puts its rotation in a queue and waits; a writer task takes every
//! rotation waiting (up to [`MAX_BATCH`]) and commits them in one transaction of four
//! statements, however many they are:
//!
//! 1. one compare-and-set claims all presented tokens
//!    ([`rotation::claim_many`]: a row is claimed at most once, on any number of
//!    instances, so of N concurrent exchanges of a token exactly one wins);
//! 2. the rule checks per rotation (the token's client, the scope), and the claims they
//!    refuse are given back ([`rotation::unclaim`]);
//! 3. one `INSERT` of the children;
//! 4. one `INSERT` of the `token_refreshed` audit rows.
//!
//! Each rotation keeps its own answer. Nothing is acknowledged before the commit, so a
//! crash loses only unanswered requests, whose tokens are still unspent. While one batch
//! commits the next one gathers, so there is no timer and no added latency: under light
//! load a batch is one rotation.
//!
//! Should a batch fail for a reason other than load, its rotations are retried one by
//! one, so no request's input can spoil another's.

use std::collections::{HashMap, HashSet};

use prometheus_client::metrics::histogram::Histogram;
use sea_orm::TransactionTrait;
use tokio::sync::{mpsc, oneshot};

use super::{INVALID, Rotation, audit_event, child_row, narrow_granted};
use crate::clock::Clock;
use crate::domain::{RequestMeta, Scope};
use crate::metrics::{Metrics, OpLabels};
use crate::oauth::OAuthError;
use crate::store::clients::ClientPolicy;
use crate::store::entities::refresh_token;
use crate::store::{Db, Fault, audit, classify, rotation, users};

/// The most rotations one transaction commits. Larger batches made PostgreSQL's
/// multi-row inserts superlinear (thousands of bind parameters: 181 rows took 90 ms,
/// 30 rows 1.3 ms), so 256 waiting chains got 1,000 rotations/s; with 64, 10,000/s.
const MAX_BATCH: usize = 64;
/// Rotations waiting beyond this many make the next request wait to enqueue.
const QUEUE_DEPTH: usize = 4 * MAX_BATCH;

/// One presented refresh token, already parsed and hashed, from an authenticated client.
pub struct Ask {
    pub token_hash: String,
    pub client_id: String,
    pub policy: ClientPolicy,
    pub requested: Option<Scope>,
    pub meta: RequestMeta,
    /// The hash of the child to issue if the claim succeeds.
    pub child_hash: String,
}

/// What became of one rotation.
pub enum Answer {
    /// Committed: the parent as it was claimed and the scope of the new access token.
    Rotated(Box<Rotation>),
    /// The compare-and-set did not take it: unknown, spent, expired or its family
    /// revoked. The caller finds out which.
    NotClaimed,
    /// Claimed and given back: a rule refused it.
    Refused(OAuthError),
}

struct Pending {
    ask: Ask,
    reply: oneshot::Sender<Result<Answer, OAuthError>>,
}

/// The queue in front of the writer task. One writer per instance, on either database:
/// SQLite takes one writer at a time anyway, and on PostgreSQL more writers were slower
/// on the 2-core benchmark machine (one 3.8-4.1k rotations/s, two 3.9k, four 3.2-3.5k,
/// eight 2.6k, measured before the claim's plan was fixed; BENCHMARKS.md), while one writer's batches grow with the load.
pub struct RotationQueue {
    writer: Option<mpsc::Sender<Pending>>,
}

impl RotationQueue {
    /// Starts the writer task; it ends when the queue is dropped.
    pub fn start(
        db: &Db,
        clock: &Clock,
        audit_refreshes: bool,
        metrics: &Metrics,
    ) -> RotationQueue {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let writer = Writer {
            db: db.clone(),
            clock: clock.clone(),
            audit_refreshes,
            sizes: metrics.group_commit_size.clone(),
            seconds: metrics
                .db_seconds
                .get_or_create(&OpLabels {
                    op: "group_commit".into(),
                })
                .clone(),
        };
        tokio::spawn(writer.run(rx));
        RotationQueue { writer: Some(tx) }
    }

    /// A queue that refuses every rotation (the CLI's state, which serves nothing).
    pub fn closed() -> RotationQueue {
        RotationQueue { writer: None }
    }

    /// Queues the rotation and waits for its commit.
    pub async fn rotate(&self, ask: Ask) -> Result<Answer, OAuthError> {
        let Some(sender) = &self.writer else {
            return Err(unavailable());
        };
        let (reply, answer) = oneshot::channel();
        sender
            .send(Pending { ask, reply })
            .await
            .map_err(|_| unavailable())?;
        answer.await.map_err(|_| unavailable())?
    }
}

fn unavailable() -> OAuthError {
    OAuthError::Unavailable("the server is shutting down, retry shortly".into())
}

struct Writer {
    db: Db,
    clock: Clock,
    audit_refreshes: bool,
    sizes: Histogram,
    seconds: Histogram,
}

impl Writer {
    async fn run(self, mut rx: mpsc::Receiver<Pending>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let asks: Vec<&Ask> = batch.iter().map(|p| &p.ask).collect();
            self.sizes.observe(asks.len() as f64);
            let started = std::time::Instant::now();
            let committed = self.commit(&asks).await;
            self.seconds.observe(started.elapsed().as_secs_f64());
            let answers = match committed {
                Ok(answers) => answers.into_iter().map(Ok).collect(),
                Err(e) if asks.len() > 1 && classify(&e) == Fault::Other => {
                    tracing::warn!(error = %e, size = asks.len(), "group commit failed; retrying its rotations one by one");
                    let mut answers = Vec::with_capacity(asks.len());
                    for ask in &asks {
                        answers.push(match self.commit(&[ask]).await {
                            Ok(mut one) => one.pop().ok_or_else(|| {
                                OAuthError::Internal(
                                    "a commit of one rotation answered none".into(),
                                )
                            }),
                            Err(e) => Err(e.into()),
                        });
                    }
                    answers
                }
                Err(e) => {
                    let fault = classify(&e);
                    if fault == Fault::Other {
                        tracing::error!(error = %e, "rotation commit failed");
                    } else {
                        tracing::warn!(error = %e, "rotation commit failed; answered 503");
                    }
                    asks.iter().map(|_| Err(OAuthError::from_db(&e))).collect()
                }
            };
            for (pending, answer) in batch.drain(..).zip(answers) {
                // The requester may have gone (client disconnected): its rotation stands,
                // as after a lost response, and the leeway retry covers it.
                let _ = pending.reply.send(answer);
            }
        }
    }

    /// One transaction for all of `asks`; the answers in the same order.
    async fn commit(&self, asks: &[&Ask]) -> Result<Vec<Answer>, sea_orm::DbErr> {
        let now = self.clock.now_ms();
        let txn = self.db.write.begin().await?;
        let hashes: Vec<&str> = asks.iter().map(|a| a.token_hash.as_str()).collect();
        // The claim is the transaction's first write: it starts the write transaction,
        // which is when SQLite reads where the statement journals go.
        let mut claimed: HashMap<String, refresh_token::Model> =
            Db::with_journals_in_memory(&txn, rotation::claim_many(&txn, &hashes, now))
                .await?
                .into_iter()
                .map(|row| (row.token_hash.clone(), row))
                .collect();

        // Which claimed tokens still carry `admin` for a user who may no longer be one.
        let to_check: Vec<&str> = asks
            .iter()
            .filter_map(|a| {
                let row = claimed.get(&a.token_hash)?;
                super::needs_admin_check(row, &a.policy).then_some(row.user_id.as_deref())?
            })
            .collect();
        let admins: HashSet<String> = users::enabled_admins_among(&txn, &to_check).await?;

        let mut answers = Vec::with_capacity(asks.len());
        let mut given_back = Vec::new();
        let mut children = Vec::new();
        let mut events = Vec::new();
        for ask in asks {
            // The first ask of a hash gets the claim; a second ask of it in the same
            // batch finds it taken, as it would in the next batch.
            let Some(parent) = claimed.remove(&ask.token_hash) else {
                answers.push(Answer::NotClaimed);
                continue;
            };
            if parent.client_id != ask.client_id {
                given_back.push(parent.id);
                answers.push(Answer::Refused(OAuthError::InvalidGrant(INVALID.into())));
                continue;
            }
            let is_admin = parent
                .user_id
                .as_ref()
                .is_some_and(|id| admins.contains(id));
            match narrow_granted(&parent, &ask.policy, ask.requested.as_ref(), is_admin) {
                Err(e) => {
                    given_back.push(parent.id);
                    answers.push(Answer::Refused(e));
                }
                Ok(scope) => {
                    children.push((
                        child_row(&parent, &ask.child_hash, &ask.policy, now),
                        &ask.meta,
                    ));
                    if self.audit_refreshes {
                        events.push(audit_event(&parent, &ask.meta, false));
                    }
                    answers.push(Answer::Rotated(Box::new(Rotation { parent, scope })));
                }
            }
        }
        rotation::unclaim(&txn, &given_back).await?;
        rotation::insert_tokens(&txn, children, now).await?;
        audit::record_many(&txn, now, events).await?;
        txn.commit().await?;
        Ok(answers)
    }
}
