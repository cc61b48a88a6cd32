//! Revoked access tokens that belong to no family (client credentials), by `jti`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use super::entities::revoked_access_token::{self, Entity as Revoked};
use crate::clock::Millis;

/// Records the revocation and drops entries that have expired anyway. Returns false
/// when the token was already revoked.
pub async fn insert(
    db: &impl ConnectionTrait,
    jti: &str,
    client_id: &str,
    expires_at: Millis,
    now: Millis,
) -> Result<bool, DbErr> {
    Revoked::delete_many()
        .filter(revoked_access_token::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    let inserted = Revoked::insert(revoked_access_token::ActiveModel {
        jti: Set(jti.to_owned()),
        client_id: Set(client_id.to_owned()),
        expires_at: Set(expires_at),
        revoked_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(revoked_access_token::Column::Jti)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await;
    match inserted {
        Ok(n) => Ok(n > 0),
        Err(DbErr::RecordNotInserted) => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn is_revoked(db: &impl ConnectionTrait, jti: &str) -> Result<bool, DbErr> {
    Ok(Revoked::find_by_id(jti.to_owned()).one(db).await?.is_some())
}

/// How stale the set of revoked client-credentials tokens may be on an instance that did
/// not revoke them itself.
pub const REVOKED_CACHE_TTL: Duration = Duration::from_secs(1);
/// Beyond this many unexpired revocations the set is not kept: each check asks the
/// database.
const MAX_CACHED: u64 = 100_000;

/// The unexpired revoked `jti`s, for introspection and the bearer checks, which would
/// otherwise read the table on every call. Read again when older than
/// [`REVOKED_CACHE_TTL`] (so a revocation on another instance is honoured within a
/// second); dropped at once by a revocation on this instance ([`RevokedCache::changed`]).
/// Revocations are rare and end with the token's lifetime, so the set is small; a
/// larger one than [`MAX_CACHED`] is not kept.
#[derive(Default)]
pub struct RevokedCache {
    snapshot: RwLock<Option<Snapshot>>,
    /// One reload at a time; checks that find it running wait for its result.
    reload: tokio::sync::Mutex<()>,
    /// Bumped by [`RevokedCache::changed`]: a read that began before is not kept.
    changes: AtomicU64,
}

struct Snapshot {
    read_at: Instant,
    /// `None`: too many to keep.
    jtis: Option<Arc<HashSet<String>>>,
}

impl RevokedCache {
    pub async fn contains(
        &self,
        db: &impl ConnectionTrait,
        jti: &str,
        now: Millis,
    ) -> Result<bool, DbErr> {
        if let Some(answer) = self.answer_from_snapshot(db, jti).await? {
            return Ok(answer);
        }
        let _reloading = self.reload.lock().await;
        // Another check may have reloaded while this one waited.
        if let Some(answer) = self.answer_from_snapshot(db, jti).await? {
            return Ok(answer);
        }
        let read_at = Instant::now();
        let changes = self.changes.load(Ordering::Acquire);
        let rows: Vec<String> = Revoked::find()
            .select_only()
            .column(revoked_access_token::Column::Jti)
            .filter(revoked_access_token::Column::ExpiresAt.gt(now))
            .limit(MAX_CACHED + 1)
            .into_tuple()
            .all(db)
            .await?;
        let jtis: Option<Arc<HashSet<String>>> =
            (rows.len() as u64 <= MAX_CACHED).then(|| Arc::new(rows.into_iter().collect()));
        let answer = match &jtis {
            Some(set) => set.contains(jti),
            None => is_revoked(db, jti).await?,
        };
        let mut snapshot = self.snapshot.write().unwrap_or_else(|p| p.into_inner());
        if self.changes.load(Ordering::Acquire) == changes {
            *snapshot = Some(Snapshot { read_at, jtis });
        }
        Ok(answer)
    }

    /// The answer while the snapshot is fresh (from the database while the set is too
    /// large to keep); `None` when it must be read again.
    async fn answer_from_snapshot(
        &self,
        db: &impl ConnectionTrait,
        jti: &str,
    ) -> Result<Option<bool>, DbErr> {
        let fresh = {
            let snapshot = self.snapshot.read().unwrap_or_else(|p| p.into_inner());
            snapshot
                .as_ref()
                .filter(|s| s.read_at.elapsed() < REVOKED_CACHE_TTL)
                .map(|s| s.jtis.clone())
        };
        match fresh {
            Some(Some(jtis)) => Ok(Some(jtis.contains(jti))),
            Some(None) => is_revoked(db, jti).await.map(Some),
            None => Ok(None),
        }
    }

    /// A token was revoked through this instance: the next check reads the table (while
    /// the set is too large to keep, every check does already).
    pub fn changed(&self) {
        let mut snapshot = self.snapshot.write().unwrap_or_else(|p| p.into_inner());
        self.changes.fetch_add(1, Ordering::AcqRel);
        if snapshot.as_ref().is_some_and(|s| s.jtis.is_some()) {
            *snapshot = None;
        }
    }
}
