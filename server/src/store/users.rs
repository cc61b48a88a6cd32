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

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<user::Model>, DbErr> {
    Users::find()
        .order_by_asc(user::Column::Username)
        .all(db)
        .await
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

pub async fn record_login(db: &impl ConnectionTrait, id: &str, now: Millis) -> Result<(), DbErr> {
    Users::update_many()
        .col_expr(user::Column::LastLoginAt, Some(now).into())
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
