use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use super::entities::user::{self, Entity as Users};
use crate::clock::Millis;
use crate::domain::Username;

pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<user::Model>, DbErr> {
    Users::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<user::Model>, DbErr> {
    Users::find_by_id(id.to_owned()).one(db).await
}

/// Of these user ids, those of enabled administrators.
pub async fn enabled_admins_among(
    db: &impl ConnectionTrait,
    ids: &[&str],
) -> Result<std::collections::HashSet<String>, DbErr> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let found = Users::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .filter(user::Column::IsAdmin.eq(true))
        .filter(user::Column::Disabled.eq(false))
        .all(db)
        .await?;
    Ok(found.into_iter().map(|u| u.id).collect())
}

pub async fn count_admins(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Users::find()
        .filter(user::Column::IsAdmin.eq(true))
        .count(db)
        .await
}

pub async fn insert(
    db: &impl ConnectionTrait,
    username: &Username,
    password_hash: String,
    is_admin: bool,
    now: Millis,
) -> Result<user::Model, DbErr> {
    let model = user::Model {
        id: uuid::Uuid::now_v7().to_string(),
        username: username.as_str().to_owned(),
        password_hash,
        is_admin,
        disabled: false,
        created_at: now,
        updated_at: now,
        last_login_at: None,
    };
    Users::insert(user::ActiveModel {
        id: Set(model.id.clone()),
        username: Set(model.username.clone()),
        password_hash: Set(model.password_hash.clone()),
        is_admin: Set(is_admin),
        disabled: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        last_login_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(model)
}

pub async fn set_password(
    db: &impl ConnectionTrait,
    id: &str,
    password_hash: String,
    now: Millis,
) -> Result<bool, DbErr> {
    let r = Users::update_many()
        .col_expr(user::Column::PasswordHash, password_hash.into())
        .col_expr(user::Column::UpdatedAt, now.into())
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

pub async fn set_disabled(
    db: &impl ConnectionTrait,
    id: &str,
    disabled: bool,
    now: Millis,
) -> Result<bool, DbErr> {
    let r = Users::update_many()
        .col_expr(user::Column::Disabled, disabled.into())
        .col_expr(user::Column::UpdatedAt, now.into())
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Records a sign-in, only if the user still exists, is enabled and has the password
/// hash that was verified. Returns whether it did.
pub async fn record_login(
    db: &impl ConnectionTrait,
    id: &str,
    verified_hash: &str,
    now: Millis,
) -> Result<bool, DbErr> {
    let r = Users::update_many()
        .col_expr(user::Column::LastLoginAt, Some(now).into())
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::PasswordHash.eq(verified_hash))
        .filter(user::Column::Disabled.eq(false))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// A page of users, by username, optionally filtered by a case-insensitive substring.
pub async fn page(
    db: &impl ConnectionTrait,
    search: Option<&str>,
    after: Option<&str>,
    limit: u64,
) -> Result<(Vec<user::Model>, u64), DbErr> {
    use sea_orm::QuerySelect;
    let mut q = Users::find();
    if let Some(s) = search.filter(|s| !s.is_empty()) {
        q = q.filter(super::contains_ci(user::Column::Username, s));
    }
    let total = q.clone().count(db).await?;
    if let Some(a) = after {
        q = q.filter(user::Column::Username.gt(a));
    }
    let rows = q
        .order_by_asc(user::Column::Username)
        .limit(limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Users::find().count(db).await
}

/// Takes the row locks of every enabled administrator (a no-op write), so changes that
/// must keep one of them run one after the other on any backend.
pub async fn lock_active_admins(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    Users::update_many()
        .col_expr(
            user::Column::UpdatedAt,
            sea_orm::sea_query::Expr::col(user::Column::UpdatedAt),
        )
        .filter(user::Column::IsAdmin.eq(true))
        .filter(user::Column::Disabled.eq(false))
        .exec(db)
        .await?;
    Ok(())
}

/// Enabled administrators other than `except`.
pub async fn count_other_active_admins(
    db: &impl ConnectionTrait,
    except: &str,
) -> Result<u64, DbErr> {
    Users::find()
        .filter(user::Column::IsAdmin.eq(true))
        .filter(user::Column::Disabled.eq(false))
        .filter(user::Column::Id.ne(except))
        .count(db)
        .await
}

pub async fn set_admin(
    db: &impl ConnectionTrait,
    id: &str,
    is_admin: bool,
    now: Millis,
) -> Result<bool, DbErr> {
    let r = Users::update_many()
        .col_expr(user::Column::IsAdmin, is_admin.into())
        .col_expr(user::Column::UpdatedAt, now.into())
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<bool, DbErr> {
    let r = Users::delete_many()
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// User names by id, for the given ids (unknown ids are left out).
pub async fn names(
    db: &impl ConnectionTrait,
    ids: &[String],
) -> Result<std::collections::HashMap<String, String>, DbErr> {
    let mut unique: Vec<String> = ids.to_vec();
    unique.sort();
    unique.dedup();
    if unique.is_empty() {
        return Ok(Default::default());
    }
    Ok(Users::find()
        .filter(user::Column::Id.is_in(unique))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect())
}
