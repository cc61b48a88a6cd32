//! Failed sign-in counters (`user:<SHA-256 of the lower-cased name>`, `ip:ADDR`), shared
//! by all instances (docs/protocol.md, "Password sign-in and brute-force protection").

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

/// Counts one failure for `key` in one statement (an upsert), so concurrent failures on
/// any number of instances are all counted: within the window it increments, else it
/// starts a new window at 1. Returns the row as it is now.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    key: &str,
    now: Millis,
    window_ms: i64,
) -> Result<Model, DbErr> {
    use login_throttle::Column as C;
    let current = |c: C| Expr::col((login_throttle::Entity, c));
    let in_window = || current(C::FirstFailureAt).gt(now - window_ms);
    let on_conflict = OnConflict::column(C::Key)
        .value(
            C::Failures,
            Expr::case(in_window(), current(C::Failures).add(1)).finally(1),
        )
        .value(
            C::FirstFailureAt,
            Expr::case(in_window(), current(C::FirstFailureAt)).finally(now),
        )
        .value(C::LastFailureAt, now)
        .value(
            C::LockedUntil,
            Expr::case(in_window(), current(C::LockedUntil)).finally(Option::<i64>::None),
        )
        .to_owned();
    Throttle::insert(login_throttle::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(1),
        first_failure_at: Set(now),
        last_failure_at: Set(now),
        locked_until: Set(None),
    })
    .on_conflict(on_conflict)
    .exec_with_returning(db)
    .await
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

/// Deletes the counters that no longer matter: no failure within the window and no lock
/// in force. Returns how many went.
pub async fn prune(db: &impl ConnectionTrait, now: Millis, window_ms: i64) -> Result<u64, DbErr> {
    use login_throttle::Column as C;
    let res = Throttle::delete_many()
        .filter(C::LastFailureAt.lte(now - window_ms))
        .filter(C::LockedUntil.is_null().or(C::LockedUntil.lte(now)))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
