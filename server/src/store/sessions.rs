//! Refresh families as sessions: reading them (the user's list, the admin's pages and
//! token chains) and revoking them. Revocation here is the bare write; the operation
//! that also audits and counts it is `admin::sessions`.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entities::refresh_family::{self, Entity as Families};
use super::entities::refresh_token::{self, Entity as Tokens};
use crate::clock::Millis;
use crate::domain::{FamilyState, RevokeReason};

impl refresh_family::Model {
    pub fn state(&self, now: Millis) -> FamilyState {
        FamilyState::of(self.revoked_at, self.expires_at, now)
    }

    /// Can still be refreshed: the one predicate every reader uses.
    pub fn is_live(&self, now: Millis) -> bool {
        self.state(now) == FamilyState::Active
    }
}

/// Whose sessions.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    User(&'a str),
    Client(&'a str),
}

pub async fn find(
    db: &impl ConnectionTrait,
    family_id: &str,
) -> Result<Option<refresh_family::Model>, DbErr> {
    Families::find_by_id(family_id.to_owned()).one(db).await
}

/// Revokes one family if it is not revoked yet; returns whether this call revoked it.
pub async fn revoke(
    db: &impl ConnectionTrait,
    family_id: &str,
    reason: RevokeReason,
    now: Millis,
) -> Result<bool, DbErr> {
    let r = Families::update_many()
        .col_expr(refresh_family::Column::RevokedAt, Expr::value(Some(now)))
        .col_expr(
            refresh_family::Column::RevokeReason,
            Expr::value(Some(reason.as_str())),
        )
        .filter(refresh_family::Column::Id.eq(family_id))
        .filter(refresh_family::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Revokes every unrevoked family of a user or a client; returns those it revoked.
/// One statement that writes first (SQLite takes the write lock at once).
pub async fn revoke_owned(
    db: &impl ConnectionTrait,
    by: Owner<'_>,
    reason: RevokeReason,
    now: Millis,
) -> Result<Vec<refresh_family::Model>, DbErr> {
    let filter = match by {
        Owner::User(id) => refresh_family::Column::UserId.eq(id),
        Owner::Client(id) => refresh_family::Column::ClientId.eq(id),
    };
    Families::update_many()
        .col_expr(refresh_family::Column::RevokedAt, Expr::value(Some(now)))
        .col_expr(
            refresh_family::Column::RevokeReason,
            Expr::value(Some(reason.as_str())),
        )
        .filter(filter)
        .filter(refresh_family::Column::RevokedAt.is_null())
        .exec_with_returning(db)
        .await
}

/// At most this many of a user's live sessions are listed at once.
pub const MAX_LISTED_SESSIONS: u64 = 200;

/// The longest chain (newest generations) returned in one answer.
pub const MAX_CHAIN: u64 = 1000;

/// Families of a user that can still be refreshed, newest first.
pub async fn live_for_user(
    db: &impl ConnectionTrait,
    user_id: &str,
    now: Millis,
) -> Result<Vec<refresh_family::Model>, DbErr> {
    Families::find()
        .filter(refresh_family::Column::UserId.eq(user_id))
        .filter(refresh_family::Column::RevokedAt.is_null())
        .filter(refresh_family::Column::ExpiresAt.gt(now))
        .order_by_desc(refresh_family::Column::CreatedAt)
        .limit(MAX_LISTED_SESSIONS)
        .all(db)
        .await
}

/// Per family: when it last rotated (its newest token's issue time) and how many
/// tokens its chain holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChainSummary {
    pub last_used_at: Millis,
    pub generations: i64,
}

pub async fn chain_summaries(
    db: &impl ConnectionTrait,
    family_ids: &[String],
) -> Result<HashMap<String, ChainSummary>, DbErr> {
    if family_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, Option<i64>, i64)> = Tokens::find()
        .select_only()
        .column(refresh_token::Column::FamilyId)
        .column_as(refresh_token::Column::IssuedAt.max(), "last")
        .column_as(refresh_token::Column::Id.count(), "n")
        .filter(refresh_token::Column::FamilyId.is_in(family_ids.iter().cloned()))
        .group_by(refresh_token::Column::FamilyId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, last, n)| {
            (
                id,
                ChainSummary {
                    last_used_at: last.unwrap_or_default(),
                    generations: n,
                },
            )
        })
        .collect())
}

/// Filters for listing families; `None` means any.
#[derive(Debug, Default, Clone)]
pub struct FamilyFilter {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub state: Option<FamilyState>,
    pub reason: Option<RevokeReason>,
    pub created_after: Option<Millis>,
    pub created_before: Option<Millis>,
}

/// A page of families, newest first (ids are UUIDv7, so id order is creation order),
/// after the cursor (a family id), and the number matching the filter.
pub async fn page(
    db: &impl ConnectionTrait,
    f: &FamilyFilter,
    before_id: Option<&str>,
    limit: u64,
    now: Millis,
) -> Result<(Vec<refresh_family::Model>, u64), DbErr> {
    use refresh_family::Column as C;
    let mut q = Families::find();
    if let Some(v) = &f.user_id {
        q = q.filter(C::UserId.eq(v.as_str()));
    }
    if let Some(v) = &f.client_id {
        q = q.filter(C::ClientId.eq(v.as_str()));
    }
    if let Some(v) = f.reason {
        q = q.filter(C::RevokeReason.eq(v.as_str()));
    }
    if let Some(v) = f.created_after {
        q = q.filter(C::CreatedAt.gte(v));
    }
    if let Some(v) = f.created_before {
        q = q.filter(C::CreatedAt.lt(v));
    }
    q = match f.state {
        None => q,
        Some(FamilyState::Revoked) => q.filter(C::RevokedAt.is_not_null()),
        Some(FamilyState::Active) => q
            .filter(C::RevokedAt.is_null())
            .filter(C::ExpiresAt.gt(now)),
        Some(FamilyState::Expired) => q
            .filter(C::RevokedAt.is_null())
            .filter(C::ExpiresAt.lte(now)),
    };
    let total = q.clone().count(db).await?;
    if let Some(b) = before_id {
        q = q.filter(C::Id.lt(b));
    }
    let rows = q.order_by_desc(C::Id).limit(limit).all(db).await?;
    Ok((rows, total))
}

/// A family's token chain, oldest first (at most the newest [`MAX_CHAIN`]).
pub async fn chain(
    db: &impl ConnectionTrait,
    family_id: &str,
) -> Result<Vec<refresh_token::Model>, DbErr> {
    let mut rows = Tokens::find()
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .order_by_desc(refresh_token::Column::Id)
        .limit(MAX_CHAIN)
        .all(db)
        .await?;
    rows.reverse();
    Ok(rows)
}

/// Number of live families per user.
pub async fn live_counts_by_user(
    db: &impl ConnectionTrait,
    user_ids: &[String],
    now: Millis,
) -> Result<HashMap<String, i64>, DbErr> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Option<String>, i64)> = Families::find()
        .select_only()
        .column(refresh_family::Column::UserId)
        .column_as(refresh_family::Column::Id.count(), "n")
        .filter(refresh_family::Column::UserId.is_in(user_ids.iter().cloned()))
        .filter(refresh_family::Column::RevokedAt.is_null())
        .filter(refresh_family::Column::ExpiresAt.gt(now))
        .group_by(refresh_family::Column::UserId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(u, n)| u.map(|u| (u, n)))
        .collect())
}

pub async fn count_live(db: &impl ConnectionTrait, now: Millis) -> Result<u64, DbErr> {
    Families::find()
        .filter(refresh_family::Column::RevokedAt.is_null())
        .filter(refresh_family::Column::ExpiresAt.gt(now))
        .count(db)
        .await
}

/// Tokens (and so access tokens) issued in `[from, to)`: the access tokens a signing key
/// active in that span may have signed.
pub async fn issued_between(
    db: &impl ConnectionTrait,
    from: Millis,
    to: Millis,
) -> Result<u64, DbErr> {
    if to <= from {
        return Ok(0);
    }
    Tokens::find()
        .filter(refresh_token::Column::IssuedAt.gte(from))
        .filter(refresh_token::Column::IssuedAt.lt(to))
        .count(db)
        .await
}
