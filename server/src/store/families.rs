//! Refresh families and their token chains: creation, the rotation compare-and-set,
//! leeway retries and revocation.

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    TransactionTrait,
};

use super::audit::{self, AuditEvent, kind};
use super::entities::refresh_family::{self, Entity as Families};
use super::entities::refresh_token::{self, Entity as Tokens};
use crate::clock::Millis;
use crate::domain::RevokeReason;

/// Who asked, for the session list and the audit trail.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A new family's first token.
pub struct NewFamily<'a> {
    pub family_id: String,
    pub user_id: Option<String>,
    pub client_id: &'a str,
    pub scope: String,
    pub token_hash: String,
    pub token_expires_at: Millis,
    pub family_expires_at: Millis,
}

/// Inserts the family and its generation-0 token. Call inside a write transaction.
pub async fn create(
    db: &impl ConnectionTrait,
    f: NewFamily<'_>,
    meta: &RequestMeta,
    now: Millis,
) -> Result<(), DbErr> {
    Families::insert(refresh_family::ActiveModel {
        id: Set(f.family_id.clone()),
        user_id: Set(f.user_id.clone()),
        client_id: Set(f.client_id.to_owned()),
        scope: Set(f.scope.clone()),
        created_at: Set(now),
        expires_at: Set(f.family_expires_at),
        revoked_at: Set(None),
        revoke_reason: Set(None),
        user_agent: Set(meta.user_agent.clone()),
        ip: Set(meta.ip.clone()),
    })
    .exec_without_returning(db)
    .await?;
    insert_token(
        db,
        TokenRow {
            family_id: f.family_id,
            parent_id: None,
            generation: 0,
            token_hash: f.token_hash,
            client_id: f.client_id.to_owned(),
            user_id: f.user_id,
            scope: f.scope,
            expires_at: f.token_expires_at,
            family_expires_at: f.family_expires_at,
        },
        meta,
        now,
    )
    .await
}

/// The fields of a token row that the caller decides.
pub struct TokenRow {
    pub family_id: String,
    pub parent_id: Option<i64>,
    pub generation: i32,
    pub token_hash: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub scope: String,
    pub expires_at: Millis,
    pub family_expires_at: Millis,
}

pub async fn insert_token(
    db: &impl ConnectionTrait,
    t: TokenRow,
    meta: &RequestMeta,
    now: Millis,
) -> Result<(), DbErr> {
    Tokens::insert(refresh_token::ActiveModel {
        family_id: Set(t.family_id),
        parent_id: Set(t.parent_id),
        generation: Set(t.generation),
        token_hash: Set(t.token_hash),
        client_id: Set(t.client_id),
        user_id: Set(t.user_id),
        scope: Set(t.scope),
        issued_at: Set(now),
        expires_at: Set(t.expires_at),
        family_expires_at: Set(t.family_expires_at),
        used_at: Set(None),
        invalidated: Set(false),
        user_agent: Set(meta.user_agent.clone()),
        ip: Set(meta.ip.clone()),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The compare-and-set at the heart of rotation: marks the token with this hash used,
/// if and only if it is unused, unexpired, and its family is neither revoked nor expired.
/// One statement (`UPDATE ... WHERE used_at IS NULL AND EXISTS(...) RETURNING *`), so of
/// any number of concurrent callers on any number of instances exactly one gets the row.
pub async fn claim(
    db: &impl ConnectionTrait,
    token_hash: &str,
    now: Millis,
) -> Result<Option<refresh_token::Model>, DbErr> {
    let mut rows = Tokens::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(refresh_token::Column::TokenHash.eq(token_hash))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now))
        .filter(Expr::exists(family_live(now)))
        .exec_with_returning(db)
        .await?;
    Ok(rows.pop())
}

/// `SELECT 1 FROM refresh_families WHERE id = refresh_tokens.family_id AND` live at `now`.
fn family_live(now: Millis) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from(refresh_family::Entity)
        .and_where(
            Expr::col((refresh_family::Entity, refresh_family::Column::Id))
                .equals((refresh_token::Entity, refresh_token::Column::FamilyId)),
        )
        .and_where(Expr::col((refresh_family::Entity, refresh_family::Column::RevokedAt)).is_null())
        .and_where(Expr::col((refresh_family::Entity, refresh_family::Column::ExpiresAt)).gt(now))
        .to_owned()
}

pub async fn find_token(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<refresh_token::Model>, DbErr> {
    Tokens::find()
        .filter(refresh_token::Column::TokenHash.eq(token_hash))
        .one(db)
        .await
}

pub async fn find(
    db: &impl ConnectionTrait,
    family_id: &str,
) -> Result<Option<refresh_family::Model>, DbErr> {
    Families::find_by_id(family_id.to_owned()).one(db).await
}

/// For a retry within the reuse leeway: invalidates the still-unused child of `parent_id`
/// (compare-and-set). Returns false when the child was already used, i.e. the chain moved
/// on and the retry is really a replay.
pub async fn invalidate_unused_child(
    db: &impl ConnectionTrait,
    parent_id: i64,
    now: Millis,
) -> Result<bool, DbErr> {
    // Take the parent's row lock first (a no-op write): concurrent retries of the same
    // parent then run one after the other, and on PostgreSQL the next statement's fresh
    // snapshot sees the child the previous retry issued.
    Tokens::update_many()
        .col_expr(
            refresh_token::Column::UsedAt,
            Expr::col(refresh_token::Column::UsedAt),
        )
        .filter(refresh_token::Column::Id.eq(parent_id))
        .exec(db)
        .await?;
    let r = Tokens::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(Some(now)))
        .col_expr(refresh_token::Column::Invalidated, Expr::value(true))
        .filter(refresh_token::Column::ParentId.eq(parent_id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(Expr::exists(family_live(now)))
        .exec(db)
        .await?;
    Ok(r.rows_affected >= 1)
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

/// Revokes every live family of a user (password change, disabling) or of a client
/// (removal), with one audit row per revoked family, in one transaction. Returns how
/// many were revoked.
pub async fn revoke_all(
    db: &DatabaseConnection,
    by: Owner<'_>,
    reason: RevokeReason,
    actor: &str,
    now: Millis,
) -> Result<usize, DbErr> {
    let txn = db.begin().await?;
    let filter = match by {
        Owner::User(id) => refresh_family::Column::UserId.eq(id),
        Owner::Client(id) => refresh_family::Column::ClientId.eq(id),
    };
    // Write first (SQLite), then read what was revoked by this statement.
    let revoked = Families::update_many()
        .col_expr(refresh_family::Column::RevokedAt, Expr::value(Some(now)))
        .col_expr(
            refresh_family::Column::RevokeReason,
            Expr::value(Some(reason.as_str())),
        )
        .filter(filter)
        .filter(refresh_family::Column::RevokedAt.is_null())
        .exec_with_returning(&txn)
        .await?;
    for f in &revoked {
        audit::record(
            &txn,
            now,
            AuditEvent {
                kind: kind::FAMILY_REVOKED,
                actor: Some(actor.to_owned()),
                user_id: f.user_id.clone(),
                client_id: Some(f.client_id.clone()),
                family_id: Some(f.id.clone()),
                reason: Some(reason.as_str().to_owned()),
                ..Default::default()
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(revoked.len())
}

pub enum Owner<'a> {
    User(&'a str),
    Client(&'a str),
}

/// Families of a user that can still be refreshed, newest first.
pub async fn live_for_user(
    db: &impl ConnectionTrait,
    user_id: &str,
    now: Millis,
) -> Result<Vec<refresh_family::Model>, DbErr> {
    use sea_orm::{QueryOrder, QuerySelect};
    Families::find()
        .filter(refresh_family::Column::UserId.eq(user_id))
        .filter(refresh_family::Column::RevokedAt.is_null())
        .filter(refresh_family::Column::ExpiresAt.gt(now))
        .order_by_desc(refresh_family::Column::CreatedAt)
        .limit(MAX_LISTED_SESSIONS)
        .all(db)
        .await
}

/// When each family last rotated (the newest token's issue time).
pub async fn last_used(
    db: &impl ConnectionTrait,
    family_ids: &[String],
) -> Result<std::collections::HashMap<String, Millis>, DbErr> {
    use sea_orm::QuerySelect;
    if family_ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(String, Option<i64>)> = Tokens::find()
        .select_only()
        .column(refresh_token::Column::FamilyId)
        .column_as(refresh_token::Column::IssuedAt.max(), "last")
        .filter(refresh_token::Column::FamilyId.is_in(family_ids.iter().cloned()))
        .group_by(refresh_token::Column::FamilyId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, last)| last.map(|l| (id, l)))
        .collect())
}

/// Revokes one family and writes its audit row, in one transaction. Returns whether
/// this call revoked it (false if it was already revoked or does not exist).
pub async fn revoke_with_audit(
    db: &DatabaseConnection,
    family: &refresh_family::Model,
    reason: RevokeReason,
    actor: &str,
    ip: Option<String>,
    now: Millis,
) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    let revoked = revoke(&txn, &family.id, reason, now).await?;
    if revoked {
        audit::record(
            &txn,
            now,
            AuditEvent {
                kind: kind::FAMILY_REVOKED,
                actor: Some(actor.to_owned()),
                user_id: family.user_id.clone(),
                client_id: Some(family.client_id.clone()),
                family_id: Some(family.id.clone()),
                ip,
                reason: Some(reason.as_str().to_owned()),
                ..Default::default()
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(revoked)
}

/// `active`, `revoked` or `expired`, as the admin API filters and shows families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyState {
    Active,
    Revoked,
    Expired,
}

impl FamilyState {
    pub fn of(f: &refresh_family::Model, now: Millis) -> Self {
        if f.revoked_at.is_some() {
            FamilyState::Revoked
        } else if f.expires_at <= now {
            FamilyState::Expired
        } else {
            FamilyState::Active
        }
    }
}

/// Filters for listing families; `None` means any.
#[derive(Debug, Default, Clone)]
pub struct FamilyFilter {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub state: Option<FamilyState>,
    pub reason: Option<String>,
    pub created_after: Option<Millis>,
    pub created_before: Option<Millis>,
}

/// A page of families, newest first (ids are UUIDv7, so id order is creation order),
/// after the cursor (a family id).
pub async fn page(
    db: &impl ConnectionTrait,
    f: &FamilyFilter,
    before_id: Option<&str>,
    limit: u64,
    now: Millis,
) -> Result<(Vec<refresh_family::Model>, u64), DbErr> {
    use refresh_family::Column as C;
    use sea_orm::{PaginatorTrait, QueryOrder, QuerySelect};
    let mut q = Families::find();
    if let Some(v) = &f.user_id {
        q = q.filter(C::UserId.eq(v.as_str()));
    }
    if let Some(v) = &f.client_id {
        q = q.filter(C::ClientId.eq(v.as_str()));
    }
    if let Some(v) = &f.reason {
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

/// A family's token chain, oldest first.
pub async fn tokens_of(
    db: &impl ConnectionTrait,
    family_id: &str,
) -> Result<Vec<refresh_token::Model>, DbErr> {
    use sea_orm::{QueryOrder, QuerySelect};
    let mut rows = Tokens::find()
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .order_by_desc(refresh_token::Column::Id)
        .limit(MAX_CHAIN)
        .all(db)
        .await?;
    rows.reverse();
    Ok(rows)
}

/// The longest chain (newest generations) the admin API returns in one answer.
pub const MAX_CHAIN: u64 = 1000;

/// At most this many of a user's live sessions are listed at once.
pub const MAX_LISTED_SESSIONS: u64 = 200;

/// Number of live families per user.
pub async fn live_counts_by_user(
    db: &impl ConnectionTrait,
    user_ids: &[String],
    now: Millis,
) -> Result<std::collections::HashMap<String, i64>, DbErr> {
    use sea_orm::QuerySelect;
    if user_ids.is_empty() {
        return Ok(Default::default());
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
    use sea_orm::PaginatorTrait;
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
    use sea_orm::PaginatorTrait;
    if to <= from {
        return Ok(0);
    }
    Tokens::find()
        .filter(refresh_token::Column::IssuedAt.gte(from))
        .filter(refresh_token::Column::IssuedAt.lt(to))
        .count(db)
        .await
}
