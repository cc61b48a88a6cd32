//! The rotation rule's storage (docs/architecture.md, "A refresh, from HTTP to SQL"):
//! a family's first token, the compare-and-set that spends a token, its child, and the
//! leeway retry. Nothing here opens a transaction; the grant does.

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{
    Condition, Expr, ExprTrait, Query, QueryStatementBuilder, SelectStatement,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entities::refresh_family::{self, Entity as Families};
use super::entities::refresh_token::{self, Entity as Tokens};
use super::entities::user;
use crate::clock::Millis;
use crate::domain::RequestMeta;

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
pub async fn create_family(
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
    Tokens::insert(token_model(t, meta, now))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Many tokens in one multi-row `INSERT` (the group commit's children).
pub async fn insert_tokens<'m>(
    db: &impl ConnectionTrait,
    rows: impl IntoIterator<Item = (TokenRow, &'m RequestMeta)>,
    now: Millis,
) -> Result<(), DbErr> {
    let models: Vec<_> = rows
        .into_iter()
        .map(|(t, meta)| token_model(t, meta, now))
        .collect();
    if models.is_empty() {
        return Ok(());
    }
    Tokens::insert_many(models)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn token_model(t: TokenRow, meta: &RequestMeta, now: Millis) -> refresh_token::ActiveModel {
    refresh_token::ActiveModel {
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
    }
}

/// The compare-and-set at the heart of rotation, for all the tokens of a group commit in
/// one statement: of the rows whose hash is among `token_hashes`, marks used and returns
/// those that are unused and unexpired, whose family is live and whose user (if any)
/// exists and is enabled (`UPDATE ... WHERE used_at IS NULL AND (SELECT COUNT(...)) = 1
/// ... RETURNING *`).
/// Each row is claimed at most once, however often its hash is listed, so of any number
/// of concurrent callers on any number of instances exactly one gets it, and a user
/// disabled by a transaction that committed first is honoured.
pub async fn claim_many(
    db: &impl ConnectionTrait,
    token_hashes: &[&str],
    now: Millis,
) -> Result<Vec<refresh_token::Model>, DbErr> {
    if token_hashes.is_empty() {
        return Ok(Vec::new());
    }
    Tokens::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(refresh_token::Column::TokenHash.is_in(token_hashes.iter().copied()))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now))
        .filter(token_is_usable(now))
        .exec_with_returning(db)
        .await
}

/// Gives back claims that the group commit refused after the fact (the token belongs to
/// another client, or the scope asked for is too wide): the tokens are unused again, as
/// if never presented. Only for rows claimed in the same transaction.
pub async fn unclaim(db: &impl ConnectionTrait, ids: &[i64]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    Tokens::update_many()
        .col_expr(
            refresh_token::Column::UsedAt,
            Expr::value(Option::<i64>::None),
        )
        .filter(refresh_token::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// For `refresh_tokens` rows: the family is live and the user exists and is enabled.
/// (The client was authenticated, enabled, by this very request; disabling or removing
/// a client revokes its families in the same transaction, so the family check covers a
/// client changed since.)
fn token_is_usable(now: Millis) -> Condition {
    // The family check is a scalar subquery (a count of 0 or 1), not `EXISTS`: PostgreSQL
    // turns `EXISTS` into a join that it may drive from the families, through the
    // family index, scanning every token of each family's chain for the presented
    // hashes (a generic plan estimates one live family); a scalar subquery stays a check
    // per claimed row. Refresh fell from 4.3k to 2.7k rotations/s within 30 s of load.
    let live = Expr::SubQuery(None, Box::new(family_live(now).into_sub_query_statement()));
    Condition::all().add(live.eq(1)).add(
        Condition::any()
            .add(Expr::col((refresh_token::Entity, refresh_token::Column::UserId)).is_null())
            .add(Expr::exists(user_enabled())),
    )
}

/// `SELECT COUNT(id) FROM refresh_families WHERE id = refresh_tokens.family_id AND` live
/// at `now`.
fn family_live(now: Millis) -> SelectStatement {
    Query::select()
        .expr(Expr::col((refresh_family::Entity, refresh_family::Column::Id)).count())
        .from(refresh_family::Entity)
        .and_where(
            Expr::col((refresh_family::Entity, refresh_family::Column::Id))
                .equals((refresh_token::Entity, refresh_token::Column::FamilyId)),
        )
        .and_where(Expr::col((refresh_family::Entity, refresh_family::Column::RevokedAt)).is_null())
        .and_where(Expr::col((refresh_family::Entity, refresh_family::Column::ExpiresAt)).gt(now))
        .to_owned()
}

fn user_enabled() -> SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from(user::Entity)
        .and_where(
            Expr::col((user::Entity, user::Column::Id))
                .equals((refresh_token::Entity, refresh_token::Column::UserId)),
        )
        .and_where(Expr::col((user::Entity, user::Column::Disabled)).eq(false))
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

/// For a retry within the reuse leeway: invalidates the still-unused child of `parent_id`
/// (compare-and-set, with the same usability conditions as [`claim_many`]). Returns false when
/// the child was already used, i.e. the chain moved on and the retry is really a replay.
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
        .filter(token_is_usable(now))
        .exec(db)
        .await?;
    Ok(r.rows_affected >= 1)
}

/// Undoes a committed rotation whose answer could not be made (the access token failed
/// to sign): deletes the unused child and marks the parent unused again, so the client
/// can retry with the token it holds. The child's value never left the server.
pub async fn unspend(
    db: &impl ConnectionTrait,
    parent_id: i64,
    child_hash: &str,
) -> Result<(), DbErr> {
    let removed = Tokens::delete_many()
        .filter(refresh_token::Column::TokenHash.eq(child_hash))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if removed.rows_affected == 1 {
        Tokens::update_many()
            .col_expr(
                refresh_token::Column::UsedAt,
                Expr::value(Option::<i64>::None),
            )
            .filter(refresh_token::Column::Id.eq(parent_id))
            .exec(db)
            .await?;
    }
    Ok(())
}
