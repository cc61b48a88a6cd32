//! Time series for the admin dashboard, bucketed in SQL (`at / bucket`), the same on
//! SQLite and PostgreSQL (integer division of BIGINT milliseconds). Grouping is by the
//! output alias: PostgreSQL would not see two bound `$n` divisors as the same expression.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use super::entities::{audit_event, refresh_token};
use crate::clock::Millis;
use crate::domain::AuditKind;

/// Counts per bucket start (milliseconds).
#[derive(Debug, Default, Clone, Copy)]
pub struct Bucket {
    pub sign_ins: i64,
    pub refreshes: i64,
    pub failed_logins: i64,
    pub reuse_detections: i64,
}

pub async fn series(
    db: &impl ConnectionTrait,
    from: Millis,
    bucket_ms: i64,
) -> Result<BTreeMap<i64, Bucket>, DbErr> {
    let mut out: BTreeMap<i64, Bucket> = BTreeMap::new();
    let audit_rows: Vec<(String, i64, i64)> = audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::Kind)
        .column_as(Expr::col(audit_event::Column::At).div(bucket_ms), "b")
        .column_as(audit_event::Column::Id.count(), "n")
        .filter(audit_event::Column::At.gte(from))
        .filter(audit_event::Column::Kind.is_in([
            AuditKind::LoginSucceeded.as_str(),
            AuditKind::LoginFailed.as_str(),
            AuditKind::ReuseDetected.as_str(),
        ]))
        .group_by(audit_event::Column::Kind)
        .group_by(Expr::col(Alias::new("b")))
        .into_tuple()
        .all(db)
        .await?;
    for (k, b, n) in audit_rows {
        let e = out.entry(b * bucket_ms).or_default();
        match AuditKind::parse(&k) {
            Some(AuditKind::LoginSucceeded) => e.sign_ins += n,
            Some(AuditKind::LoginFailed) => e.failed_logins += n,
            _ => e.reuse_detections += n,
        }
    }
    let refresh_rows: Vec<(i64, i64)> = refresh_token::Entity::find()
        .select_only()
        .column_as(
            Expr::col(refresh_token::Column::IssuedAt).div(bucket_ms),
            "b",
        )
        .column_as(refresh_token::Column::Id.count(), "n")
        .filter(refresh_token::Column::IssuedAt.gte(from))
        .filter(refresh_token::Column::Generation.gt(0))
        .group_by(Expr::col(Alias::new("b")))
        .into_tuple()
        .all(db)
        .await?;
    for (b, n) in refresh_rows {
        out.entry(b * bucket_ms).or_default().refreshes += n;
    }
    Ok(out)
}
