//! Authorization codes: issued after a sign-in, exchanged once.

use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entities::authorization_code::{self, Entity as Codes};
use crate::clock::Millis;

/// Used codes are kept this long past their expiry, so a replay is still recognised (and
/// revokes its family) for a day; unused ones go as soon as they expire, so requesting
/// codes without exchanging them cannot grow the table beyond a minute's worth.
const KEEP_AFTER_EXPIRY_MS: Millis = 24 * 3600 * 1000;

pub struct NewCode<'a> {
    pub code_hash: String,
    pub client_id: &'a str,
    pub user_id: &'a str,
    pub redirect_uri: &'a str,
    pub redirect_uri_sent: bool,
    pub code_challenge: &'a str,
    pub scope: String,
    pub signin_session_id: Option<String>,
    pub expires_at: Millis,
}

pub async fn insert(db: &impl ConnectionTrait, c: NewCode<'_>, now: Millis) -> Result<(), DbErr> {
    Codes::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(authorization_code::Column::ExpiresAt.lt(now - KEEP_AFTER_EXPIRY_MS))
                .add(
                    sea_orm::Condition::all()
                        .add(authorization_code::Column::ExpiresAt.lt(now))
                        .add(authorization_code::Column::UsedAt.is_null()),
                ),
        )
        .exec(db)
        .await?;
    Codes::insert(authorization_code::ActiveModel {
        code_hash: Set(c.code_hash),
        client_id: Set(c.client_id.to_owned()),
        user_id: Set(c.user_id.to_owned()),
        redirect_uri: Set(c.redirect_uri.to_owned()),
        redirect_uri_sent: Set(c.redirect_uri_sent),
        code_challenge: Set(c.code_challenge.to_owned()),
        scope: Set(c.scope),
        signin_session_id: Set(c.signin_session_id),
        created_at: Set(now),
        expires_at: Set(c.expires_at),
        used_at: Set(None),
        family_id: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn find(
    db: &impl ConnectionTrait,
    code_hash: &str,
) -> Result<Option<authorization_code::Model>, DbErr> {
    Codes::find_by_id(code_hash.to_owned()).one(db).await
}

/// Marks the code used, if nobody did first: exactly one of any number of
/// concurrent exchanges (on any instance) gets `true`. It is the transaction's first
/// statement, so on SQLite it takes the write lock before anything is read.
pub async fn claim(db: &impl ConnectionTrait, code_hash: &str, now: Millis) -> Result<bool, DbErr> {
    let r = Codes::update_many()
        .col_expr(authorization_code::Column::UsedAt, Some(now).into())
        .filter(authorization_code::Column::CodeHash.eq(code_hash))
        .filter(authorization_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Records the family the code's exchange started (in the claiming transaction).
pub async fn set_family(
    db: &impl ConnectionTrait,
    code_hash: &str,
    family_id: &str,
) -> Result<(), DbErr> {
    Codes::update_many()
        .col_expr(
            authorization_code::Column::FamilyId,
            Some(family_id.to_owned()).into(),
        )
        .filter(authorization_code::Column::CodeHash.eq(code_hash))
        .exec(db)
        .await?;
    Ok(())
}
