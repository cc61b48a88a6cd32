//! Failed sign-in counters (`user:NAME`, `ip:ADDR`), shared by all instances.

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entities::login_throttle::{self, Entity as Throttle, Model};
use crate::clock::Millis;

pub async fn rows(db: &impl ConnectionTrait, keys: &[String]) -> Result<Vec<Model>, DbErr> {
    Throttle::find()
        .filter(login_throttle::Column::Key.is_in(keys.iter().cloned()))
        .all(db)
        .await
}

/// Counts one failure for `key`: within the window it increments, else it starts a new
/// window at 1. Returns the row as it is now.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    key: &str,
    now: Millis,
    window_ms: i64,
) -> Result<Model, DbErr> {
    let bumped = Throttle::update_many()
        .col_expr(
            login_throttle::Column::Failures,
            Expr::col(login_throttle::Column::Failures).add(1),
        )
        .col_expr(login_throttle::Column::LastFailureAt, Expr::value(now))
        .filter(login_throttle::Column::Key.eq(key))
        .filter(login_throttle::Column::FirstFailureAt.gt(now - window_ms))
        .exec_with_returning(db)
        .await?;
    if let Some(row) = bumped.into_iter().next() {
        return Ok(row);
    }
    let fresh = Model {
        key: key.to_owned(),
        failures: 1,
        first_failure_at: now,
        last_failure_at: now,
        locked_until: None,
    };
    Throttle::insert(login_throttle::ActiveModel {
        key: Set(fresh.key.clone()),
        failures: Set(1),
        first_failure_at: Set(now),
        last_failure_at: Set(now),
        locked_until: Set(None),
    })
    .on_conflict(
        OnConflict::column(login_throttle::Column::Key)
            .update_columns([
                login_throttle::Column::Failures,
                login_throttle::Column::FirstFailureAt,
                login_throttle::Column::LastFailureAt,
                login_throttle::Column::LockedUntil,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(fresh)
}

pub async fn lock(db: &impl ConnectionTrait, key: &str, until: Millis) -> Result<(), DbErr> {
    Throttle::update_many()
        .col_expr(
            login_throttle::Column::LockedUntil,
            Expr::value(Some(until)),
        )
        .filter(login_throttle::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn clear(db: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    Throttle::delete_many()
        .filter(login_throttle::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}
