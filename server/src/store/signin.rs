//! Browser sign-in sessions and remembered consent.

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entities::consent::{self, Entity as Consents};
use super::entities::signin_session::{self, Entity as Sessions};
use crate::clock::Millis;
use crate::domain::RequestMeta;

pub struct NewSession<'a> {
    pub id: String,
    pub token_hash: String,
    pub user_id: &'a str,
    pub expires_at: Millis,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    s: NewSession<'_>,
    meta: &RequestMeta,
    now: Millis,
) -> Result<(), DbErr> {
    Sessions::insert(signin_session::ActiveModel {
        id: Set(s.id),
        token_hash: Set(s.token_hash),
        user_id: Set(s.user_id.to_owned()),
        created_at: Set(now),
        expires_at: Set(s.expires_at),
        ended_at: Set(None),
        end_reason: Set(None),
        ip: Set(meta.ip.clone()),
        user_agent: Set(meta
            .user_agent
            .as_ref()
            .map(|u| u.chars().take(512).collect())),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn find_by_token(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<signin_session::Model>, DbErr> {
    Sessions::find()
        .filter(signin_session::Column::TokenHash.eq(token_hash))
        .one(db)
        .await
}

pub async fn find(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<signin_session::Model>, DbErr> {
    Sessions::find_by_id(id.to_owned()).one(db).await
}

/// Ends one session if it is still open; true if this call ended it.
pub async fn end(
    db: &impl ConnectionTrait,
    id: &str,
    reason: &str,
    now: Millis,
) -> Result<bool, DbErr> {
    let r = Sessions::update_many()
        .col_expr(signin_session::Column::EndedAt, Some(now).into())
        .col_expr(
            signin_session::Column::EndReason,
            Some(reason.to_owned()).into(),
        )
        .filter(signin_session::Column::Id.eq(id))
        .filter(signin_session::Column::EndedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Ends every open session of a user; returns how many.
pub async fn end_for_user(
    db: &impl ConnectionTrait,
    user_id: &str,
    reason: &str,
    now: Millis,
) -> Result<u64, DbErr> {
    let r = Sessions::update_many()
        .col_expr(signin_session::Column::EndedAt, Some(now).into())
        .col_expr(
            signin_session::Column::EndReason,
            Some(reason.to_owned()).into(),
        )
        .filter(signin_session::Column::UserId.eq(user_id))
        .filter(signin_session::Column::EndedAt.is_null())
        .filter(signin_session::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// A page of sessions, newest first, optionally one user's and/or only open ones.
pub async fn page(
    db: &impl ConnectionTrait,
    user_id: Option<&str>,
    include_ended: bool,
    now: Millis,
    after: Option<&str>,
    limit: u64,
) -> Result<(Vec<signin_session::Model>, u64), DbErr> {
    let mut q = Sessions::find();
    if let Some(u) = user_id {
        q = q.filter(signin_session::Column::UserId.eq(u));
    }
    if !include_ended {
        q = q
            .filter(signin_session::Column::EndedAt.is_null())
            .filter(signin_session::Column::ExpiresAt.gt(now));
    }
    let total = q.clone().count(db).await?;
    if let Some(a) = after {
        q = q.filter(signin_session::Column::Id.lt(a));
    }
    let rows = q
        .order_by_desc(signin_session::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// The scopes a user has allowed a client so far (empty: none).
pub async fn consented_scope(
    db: &impl ConnectionTrait,
    user_id: &str,
    client_id: &str,
) -> Result<Option<String>, DbErr> {
    Ok(
        Consents::find_by_id((user_id.to_owned(), client_id.to_owned()))
            .one(db)
            .await?
            .map(|c| c.scope),
    )
}

/// Remembers that the user allowed `scope` (the union with what was allowed before).
pub async fn remember_consent(
    db: &impl ConnectionTrait,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: Millis,
) -> Result<(), DbErr> {
    Consents::insert(consent::ActiveModel {
        user_id: Set(user_id.to_owned()),
        client_id: Set(client_id.to_owned()),
        scope: Set(scope.to_owned()),
        granted_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([consent::Column::UserId, consent::Column::ClientId])
            .update_columns([consent::Column::Scope, consent::Column::GrantedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Forgets a user's consents (the user is deleted) or a client's (the client is removed).
pub async fn forget_consents(
    db: &impl ConnectionTrait,
    user_id: Option<&str>,
    client_id: Option<&str>,
) -> Result<(), DbErr> {
    let mut q = Consents::delete_many();
    if let Some(u) = user_id {
        q = q.filter(consent::Column::UserId.eq(u));
    }
    if let Some(c) = client_id {
        q = q.filter(consent::Column::ClientId.eq(c));
    }
    if user_id.is_none() && client_id.is_none() {
        q = q.filter(Expr::val(false));
    }
    q.exec(db).await?;
    Ok(())
}
