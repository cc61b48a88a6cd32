//! Persistence. Query functions take `&impl ConnectionTrait`, so they run inside a
//! transaction or not; the flows in `oauth/` and `admin/` own the transactions
//! (docs/architecture.md).
//!
//! SQLite allows one writer at a time. Rather than let pooled connections race for the
//! lock (deferred `BEGIN` upgrades fail at once with "database is locked"), every write
//! goes through a one-connection writer pool, so in-process writes queue in order, and
//! every write transaction starts with a write statement, so a writer in another process
//! (the CLI) is waited for by the busy timeout instead of failing. Reads use a separate
//! pool and see each commit as soon as it lands (WAL). PostgreSQL uses one pool for both.

pub mod audit;
pub mod client_cache;
pub mod clients;
pub mod codes;
pub mod entities;
pub mod keys;
pub mod revoked;
pub mod rotation;
pub mod sessions;
pub mod signin;
pub mod stats;
pub mod throttle;
pub mod users;

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, SqlErr,
};
use tessera_migration::{Migrator, MigratorTrait};

/// A PostgreSQL database URL (`postgres:` or `postgresql:`), which several instances may
/// share.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres:") || url.starts_with("postgresql:")
}

/// How often a server checkpoints SQLite's write-ahead log ([`Db::checkpoint`]) while
/// writes come in: many small checkpoints, each of whose `fsync` of the database file
/// holds up the writer's `fsync` of the log for less time than one large one. Over 30 s
/// of refresh at 64 chains, p99 was 21-22 ms at 50 ms, 25-28 ms at 150 ms and 26-29 ms
/// at 500 ms, at the same rate (BENCHMARKS.md).
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(50);
/// How often while the log has not changed since the last checkpoint (an idle server).
pub const CHECKPOINT_INTERVAL_IDLE: Duration = Duration::from_millis(500);
/// Pages (4 KiB) the write-ahead log may reach before the committing connection
/// checkpoints it itself: only when the background checkpoint falls behind, or in a
/// process that runs none (the CLI). SQLite's default, 1,000, made the writer stop for
/// a checkpoint every few hundred rotations.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// How long a request waits for a PostgreSQL connection (RELIABILITY.md, "Database
/// outage"). A healthy pool hands one out in microseconds, even under load.
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// The database handles of one server instance.
#[derive(Clone)]
pub struct Db {
    /// For reads.
    pub read: DatabaseConnection,
    /// For writes; on SQLite a pool of exactly one connection.
    pub write: DatabaseConnection,
}

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbErr> {
        if url.starts_with("sqlite:") {
            if url.contains(":memory:") || url.contains("mode=memory") {
                return Err(DbErr::Custom(
                    "in-memory SQLite is not supported (the reader and writer pools would see \
                     different databases); use a file"
                        .into(),
                ));
            }
            let write = Database::connect(sqlite_options(url, 1)).await?;
            // WAL is a property of the file; set it once through the writer.
            let read = Database::connect(sqlite_options(url, max_connections.max(1))).await?;
            Ok(Db { read, write })
        } else if is_postgres_url(url) {
            let mut opts = ConnectOptions::new(url);
            opts.max_connections(max_connections.max(2))
                .min_connections(1)
                // While the database is unreachable, sqlx keeps trying to connect until
                // this passes: it is how long a request waits before its 503.
                .acquire_timeout(PG_ACQUIRE_TIMEOUT)
                .sqlx_logging(false);
            let pool = Database::connect(opts).await?;
            Ok(Db {
                read: pool.clone(),
                write: pool,
            })
        } else {
            Err(DbErr::Custom(format!(
                "unsupported database URL `{}`: use sqlite://FILE or postgres://...",
                redact_url(url)
            )))
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.write.get_database_backend()
    }

    pub async fn migrate_up(&self) -> Result<(), DbErr> {
        Migrator::up(&self.write, None).await
    }

    /// Copies committed pages from SQLite's write-ahead log into the database file, on a
    /// reader connection, so that the writer does not stop for it (a no-op on
    /// PostgreSQL). Passive: it waits for neither readers nor the writer, and does what
    /// it can now. A server calls it every [`CHECKPOINT_INTERVAL`], or
    /// [`CHECKPOINT_INTERVAL_IDLE`] while nothing changes. Returns SQLite's answer
    /// (busy, frames in the log, frames copied): the counts change only when something
    /// was written, and busy means another checkpoint held it off.
    pub async fn checkpoint(&self) -> Result<Option<(bool, i64, i64)>, DbErr> {
        if self.backend() != DbBackend::Sqlite {
            return Ok(None);
        }
        let row = self
            .read
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA wal_checkpoint(PASSIVE)",
            ))
            .await?;
        Ok(match row {
            Some(r) => Some((
                r.try_get_by_index::<i64>(0)? != 0,
                r.try_get_by_index(1)?,
                r.try_get_by_index(2)?,
            )),
            None => None,
        })
    }

    /// Runs `first_write`, the first write of the transaction `txn`, with SQLite's
    /// statement journals for the rest of that transaction kept in memory (a no-op on
    /// PostgreSQL). A multi-row statement inside a transaction keeps the pages it
    /// changes so it can undo itself alone, and past 64 KiB SQLite spills them to a
    /// temporary file: a group commit's inserts spilled on every batch, as many bytes as
    /// the WAL got. The setting is read when the write transaction starts and is put
    /// back at once, whether the write succeeded or not, so nothing else on the
    /// connection keeps it: a large statement elsewhere (revoking every family of a
    /// large client) still spills to disk instead of growing in memory. The setting is
    /// only an optimisation, so should either pragma fail, that is logged and the write
    /// goes on.
    pub async fn with_journals_in_memory<T>(
        txn: &impl ConnectionTrait,
        first_write: impl std::future::Future<Output = Result<T, DbErr>>,
    ) -> Result<T, DbErr> {
        if txn.get_database_backend() != DbBackend::Sqlite {
            return first_write.await;
        }
        let set = |value: &'static str| async move {
            if let Err(e) = txn
                .execute_unprepared(&format!("PRAGMA temp_store = {value}"))
                .await
            {
                tracing::warn!(error = %e, value, "setting SQLite's temp_store failed");
            }
        };
        set("MEMORY").await;
        let written = first_write.await;
        set("DEFAULT").await;
        written
    }

    /// Reaches the database within a second, or says why not.
    pub async fn ping(&self) -> Result<(), DbErr> {
        match tokio::time::timeout(Duration::from_secs(1), self.read.ping()).await {
            Ok(r) => r,
            Err(_) => Err(DbErr::Custom("no answer within 1 s".into())),
        }
    }

    pub async fn close(self) {
        let _ = self.read.close().await;
        let _ = self.write.close().await;
    }
}

fn sqlite_options(url: &str, max: u32) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_release(|conn, _| Box::pin(released_clean(conn)))
        })
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                // Every commit is on disk before it is acknowledged, power loss included:
                // with group commit that is one fsync per batch (BENCHMARKS.md).
                .synchronous(SqliteSynchronous::Full)
                .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string())
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    opts
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// `LOWER(col) LIKE '%needle%'` with `%`, `_` and `\` in the needle taken literally,
/// the same on SQLite and PostgreSQL.
pub fn contains_ci<C: sea_orm::ColumnTrait>(
    col: C,
    needle: &str,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
    let escaped = needle
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Func::lower(Expr::col(col)).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

/// What a database error means for the caller: the one classification every layer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Overloaded or unreachable (locked, pool exhausted, connection lost): retry shortly,
    /// answered 503 `temporarily_unavailable`.
    Busy,
    /// A unique constraint (a duplicate name, say): the caller's input conflicts.
    Duplicate,
    /// Anything else: a fault on our side.
    Other,
}

pub fn classify(err: &DbErr) -> Fault {
    if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        return Fault::Duplicate;
    }
    if matches!(err, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) {
        return Fault::Busy;
    }
    if let DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
    | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) = err
    {
        use sea_orm::SqlxError as E;
        match &**e {
            // The connection broke, or none could be had: the database went away.
            E::Io(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => return Fault::Busy,
            // PostgreSQL's connection exceptions (class 08), insufficient resources
            // (class 53: disk full, out of memory, too many connections) and operator
            // intervention (class 57: shutting down, starting up, the connection
            // terminated). SQLite's disk full (13) and I/O errors (10, with their
            // extended codes): a full or failing disk passes, and is not the client's
            // fault.
            E::Database(d) if d.code().is_some_and(|c| unavailable_code(&c)) => {
                return Fault::Busy;
            }
            _ => {}
        }
    }
    let text = err.to_string();
    if text.contains("database is locked")
        || text.contains("pool timed out")
        || text.contains("Connection refused")
        || text.contains("connection closed")
    {
        Fault::Busy
    } else {
        Fault::Other
    }
}

/// Whether a SQLite connection may go back to its pool: not if it comes back still
/// counted inside a transaction. On a full or failing disk SQLite may roll a transaction
/// back by itself; the ROLLBACK that follows then fails, and sqlx, which counts
/// transactions on the connection, goes on counting one that no longer exists. Its next
/// BEGIN becomes a SAVEPOINT, a later failure's ROLLBACK TO leaves SQLite inside a
/// transaction that nothing commits, and rotations answered as failed were found
/// committed once space came back (tests/full_disk.sh). A connection closed here is
/// replaced by a fresh one, and closing it ends whatever SQLite still held open.
async fn released_clean(
    conn: &mut sea_orm::sqlx::SqliteConnection,
) -> Result<bool, sea_orm::sqlx::Error> {
    use sea_orm::sqlx::Connection as _;
    // A transaction merely dropped has its ROLLBACK queued, not yet run: the ping
    // runs it first. Only then does a count left over mean what is described above.
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    conn.ping().await?;
    let inside = conn.is_in_transaction();
    if inside {
        tracing::warn!("a SQLite connection came back inside a transaction; replacing it");
    }
    Ok(!inside)
}

/// Whether a database error code says the database is unavailable for now: a
/// PostgreSQL SQLSTATE (five characters) of class 08, 53 or 57, or a SQLite result code
/// (a number) whose primary code is `SQLITE_IOERR` or `SQLITE_FULL`.
fn unavailable_code(code: &str) -> bool {
    // SQLite's extended codes have at most four digits; every SQLSTATE has five.
    if code.len() == 5 {
        return ["08", "53", "57"]
            .iter()
            .any(|class| code.starts_with(class));
    }
    code.parse::<u32>()
        .is_ok_and(|n| matches!(n & 0xff, 10 | 13))
}

/// True when the error is a unique-constraint violation (a duplicate name, say), which
/// the caller turns into a client error.
pub fn is_unique_violation(err: &DbErr) -> bool {
    classify(err) == Fault::Duplicate
}

/// A server's database handles on a new SQLite file, for unit tests (the file lives as
/// long as the directory).
#[cfg(test)]
pub(crate) async fn test_db() -> Result<(tempfile::TempDir, Db), DbErr> {
    let dir = tempfile::tempdir().map_err(|e| DbErr::Custom(e.to_string()))?;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = Db::connect(&url, 2).await?;
    Ok((dir, db))
}

#[cfg(test)]
mod tests {
    #[test]
    fn unavailable_codes() {
        use super::unavailable_code as u;
        for code in [
            "08006", "57P01", "53100", "53300", "13", "10", "778", "4874",
        ] {
            assert!(u(code), "{code}");
        }
        for code in ["23505", "42P01", "22001", "19", "2067", "1"] {
            assert!(!u(code), "{code}");
        }
    }

    async fn temp_store(
        txn: &impl sea_orm::ConnectionTrait,
    ) -> Result<Option<i32>, sea_orm::DbErr> {
        let q = sea_orm::Statement::from_string(txn.get_database_backend(), "PRAGMA temp_store");
        let row = txn.query_one_raw(q).await?;
        row.map(|r| r.try_get_by_index::<i32>(0)).transpose()
    }

    /// `temp_store` is MEMORY during the first write and back to DEFAULT right after it,
    /// whether it succeeded or not. (That SQLite then keeps the whole transaction's
    /// journals in memory is its own behaviour: the bytes the server writes per rotation
    /// show it, BENCHMARKS.md.)
    #[tokio::test]
    async fn temp_store_is_memory_for_the_first_write_only() -> Result<(), sea_orm::DbErr> {
        use sea_orm::{ConnectionTrait, TransactionTrait};
        let (_dir, db) = super::test_db().await?;
        db.write
            .execute_unprepared("CREATE TABLE t (v INTEGER)")
            .await?;
        let txn = db.write.begin().await?;
        let seen = super::Db::with_journals_in_memory(&txn, async {
            txn.execute_unprepared("INSERT INTO t VALUES (1)").await?;
            temp_store(&txn).await
        })
        .await?;
        assert_eq!(seen, Some(2), "MEMORY during the first write");
        assert_eq!(temp_store(&txn).await?, Some(0), "DEFAULT again after it");
        txn.commit().await?;
        // A first write that fails puts it back too.
        let txn = db.write.begin().await?;
        let failed = super::Db::with_journals_in_memory(
            &txn,
            txn.execute_unprepared("INSERT INTO nope VALUES (1)"),
        )
        .await;
        assert!(failed.is_err());
        assert_eq!(
            temp_store(&txn).await?,
            Some(0),
            "DEFAULT after a failed write"
        );
        txn.rollback().await?;
        Ok(())
    }

    /// On SQLite the audit user and family indexes are partial after the migrations,
    /// whole again after the last one is undone, and partial once more after it is redone.
    #[tokio::test]
    async fn audit_index_migration_goes_down_and_up() -> Result<(), sea_orm::DbErr> {
        use sea_orm::ConnectionTrait;
        use tessera_migration::{Migrator, MigratorTrait};
        let (_dir, db) = super::test_db().await?;
        let partial = |db: super::Db| async move {
            let q = sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "SELECT sql FROM sqlite_master WHERE name IN \
                 ('idx_audit_events_user', 'idx_audit_events_family')",
            );
            let rows = db.read.query_all_raw(q).await?;
            let sql: Vec<String> = rows
                .iter()
                .map(|r| r.try_get_by_index::<String>(0))
                .collect::<Result<_, _>>()?;
            assert_eq!(sql.len(), 2, "{sql:?}");
            Ok::<_, sea_orm::DbErr>(sql.iter().filter(|s| s.contains("WHERE")).count())
        };
        db.migrate_up().await?;
        assert_eq!(partial(db.clone()).await?, 2);
        Migrator::down(&db.write, Some(1)).await?;
        assert_eq!(partial(db.clone()).await?, 0);
        db.migrate_up().await?;
        assert_eq!(partial(db.clone()).await?, 2);
        Ok(())
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact_url("postgres://u:secret@host/db"),
            "postgres://u:***@host/db"
        );
        assert_eq!(super::redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
