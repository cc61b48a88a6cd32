//! The audit trail: append-only rows, never a secret or token value.

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

use super::entities::audit_event;
use crate::clock::Millis;
use crate::domain::AuditKind;

/// One event to record. Fields left `None` do not apply.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub kind: AuditKind,
    pub actor: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub family_id: Option<String>,
    pub ip: Option<String>,
    pub reason: Option<String>,
    pub detail: Option<serde_json::Value>,
}

impl AuditEvent {
    /// An event of this kind; set the fields that apply.
    pub fn new(kind: AuditKind) -> AuditEvent {
        AuditEvent {
            kind,
            actor: None,
            user_id: None,
            client_id: None,
            family_id: None,
            ip: None,
            reason: None,
            detail: None,
        }
    }
}

pub async fn record(db: &impl ConnectionTrait, at: Millis, e: AuditEvent) -> Result<(), DbErr> {
    audit_event::Entity::insert(row(at, e))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Many events in one multi-row `INSERT` (the group commit's `token_refreshed` rows).
pub async fn record_many(
    db: &impl ConnectionTrait,
    at: Millis,
    events: Vec<AuditEvent>,
) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    audit_event::Entity::insert_many(events.into_iter().map(|e| row(at, e)))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn row(at: Millis, e: AuditEvent) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        at: Set(at),
        kind: Set(e.kind.as_str().to_owned()),
        actor: Set(e.actor),
        user_id: Set(e.user_id),
        client_id: Set(e.client_id),
        family_id: Set(e.family_id),
        ip: Set(e.ip),
        reason: Set(e.reason),
        detail: Set(e.detail.map(|d| d.to_string())),
        ..Default::default()
    }
}

/// Filters for listing audit events; `None` means any.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub kind: Option<AuditKind>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub family_id: Option<String>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
}

/// A page of events, newest first, after the cursor (an event id).
pub async fn page(
    db: &impl ConnectionTrait,
    f: &AuditFilter,
    before_id: Option<i64>,
    limit: u64,
) -> Result<(Vec<audit_event::Model>, u64), DbErr> {
    use audit_event::Column as C;
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut q = filtered(f, db.get_database_backend());
    let total = q.clone().count(db).await?;
    if let Some(b) = before_id {
        q = q.filter(C::Id.lt(b));
    }
    let rows = q.order_by_desc(C::Id).limit(limit).all(db).await?;
    Ok((rows, total))
}

fn filtered(f: &AuditFilter, backend: sea_orm::DbBackend) -> sea_orm::Select<audit_event::Entity> {
    use audit_event::Column as C;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    // SQLite's user and family indexes leave refresh events out ([`through_tokens`]).
    let sqlite = backend == sea_orm::DbBackend::Sqlite;
    let mut q = audit_event::Entity::find();
    if let Some(v) = f.kind {
        q = q.filter(
            if sqlite && (f.user_id.is_some() || f.family_id.is_some()) {
                // With a user or a family, that is the narrower index. Without statistics
                // SQLite would take the kind's (every refresh ever, for `token_refreshed`);
                // a unary `+` keeps this term from choosing an index.
                Expr::cust_with_values(r#"+"audit_events"."kind" = ?"#, [v.as_str()])
            } else {
                C::Kind.eq(v.as_str())
            },
        );
    }
    if let Some(v) = &f.user_id {
        q = q.filter(if sqlite {
            of_user(v)
        } else {
            C::UserId.eq(v.as_str()).into()
        });
    }
    if let Some(v) = &f.client_id {
        q = q.filter(C::ClientId.eq(v.as_str()));
    }
    if let Some(v) = &f.family_id {
        q = q.filter(if sqlite {
            of_family(v)
        } else {
            C::FamilyId.eq(v.as_str()).into()
        });
    }
    if let Some(v) = f.since {
        q = q.filter(C::At.gte(v));
    }
    if let Some(v) = f.until {
        q = q.filter(C::At.lt(v));
    }
    q
}

/// On SQLite the user and family indexes leave out `token_refreshed` events, one per
/// rotation (migration `m20261204_000001`). A refresh event is written with its child token, at
/// the child's `issued_at`, in its family and for the family's user, and families are
/// never deleted; so a filter by user or family finds the other events through its
/// index and the refresh events through the tokens and the time index:
///
/// `user_id = U AND (kind <> 'token_refreshed' OR at IN (issued_at of the tokens of
/// U's families))`, and the same for a family with its own tokens,
///
/// each written as two alternatives that use an index each. A partial index is used
/// only where the query says `kind <> 'token_refreshed'` with that literal, so it is not
/// a bound parameter.
fn through_tokens(
    col: audit_event::Column,
    value: &str,
    tokens: sea_orm::sea_query::SelectStatement,
) -> sea_orm::sea_query::Condition {
    use audit_event::Column as C;
    use sea_orm::ColumnTrait;
    use sea_orm::sea_query::Condition;
    Condition::any()
        .add(Condition::all().add(col.eq(value)).add(not_refreshed()))
        .add(
            Condition::all()
                .add(col.eq(value))
                .add(C::At.in_subquery(tokens)),
        )
}

/// `kind <> 'token_refreshed'`, with the kind as a literal: the condition of the partial
/// indexes, which a query must state in the same words to use them.
fn not_refreshed() -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let refreshed = AuditKind::TokenRefreshed.as_str();
    debug_assert!(
        refreshed
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_')
    );
    Expr::col(audit_event::Column::Kind).ne(Expr::cust(format!("'{refreshed}'")))
}

/// The events of one user ([`through_tokens`]).
fn of_user(user_id: &str) -> sea_orm::sea_query::Condition {
    use super::entities::{refresh_family, refresh_token};
    use sea_orm::ColumnTrait;
    use sea_orm::sea_query::Query;
    let families = Query::select()
        .column(refresh_family::Column::Id)
        .from(refresh_family::Entity)
        .and_where(refresh_family::Column::UserId.eq(user_id))
        .to_owned();
    let issued = Query::select()
        .column(refresh_token::Column::IssuedAt)
        .from(refresh_token::Entity)
        .and_where(refresh_token::Column::FamilyId.in_subquery(families))
        .to_owned();
    through_tokens(audit_event::Column::UserId, user_id, issued)
}

/// The events of one family ([`through_tokens`]).
fn of_family(family_id: &str) -> sea_orm::sea_query::Condition {
    use super::entities::refresh_token;
    use sea_orm::ColumnTrait;
    use sea_orm::sea_query::Query;
    let issued = Query::select()
        .column(refresh_token::Column::IssuedAt)
        .from(refresh_token::Entity)
        .and_where(refresh_token::Column::FamilyId.eq(family_id))
        .to_owned();
    through_tokens(audit_event::Column::FamilyId, family_id, issued)
}

/// The generation replayed in a family's `reuse_detected` event, if there was one.
pub async fn replayed_generation(
    db: &impl ConnectionTrait,
    family_id: &str,
) -> Result<Option<i64>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let row = audit_event::Entity::find()
        .filter(audit_event::Column::FamilyId.eq(family_id))
        .filter(audit_event::Column::Kind.eq(AuditKind::ReuseDetected.as_str()))
        // Says what SQLite's partial family index requires ([`through_tokens`]).
        .filter(not_refreshed())
        .one(db)
        .await?;
    Ok(row
        .and_then(|r| r.detail)
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        .and_then(|v| v["generation"].as_i64()))
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, DbErr, QueryOrder, QuerySelect, QueryTrait, Statement};

    use super::{AuditFilter, audit_event};
    use crate::domain::AuditKind;

    /// A page of a user's or a family's events is found through indexes, refreshes
    /// included: no step of SQLite's plan scans the audit table.
    #[tokio::test]
    async fn filtered_events_are_found_through_indexes() -> Result<(), DbErr> {
        let (_dir, db) = crate::store::test_db().await?;
        db.migrate_up().await?;
        let by = |user: bool, kind: Option<AuditKind>| AuditFilter {
            kind,
            user_id: user.then(|| "u".to_owned()),
            family_id: (!user).then(|| "f".to_owned()),
            ..AuditFilter::default()
        };
        for (f, index) in [
            (by(true, None), "idx_audit_events_user"),
            (by(false, None), "idx_audit_events_family"),
            // With a kind too, not the kind's index (every refresh ever).
            (
                by(true, Some(AuditKind::TokenRefreshed)),
                "idx_audit_events_user",
            ),
            (
                by(false, Some(AuditKind::TokenRefreshed)),
                "idx_audit_events_family",
            ),
            (
                by(false, Some(AuditKind::LoginSucceeded)),
                "idx_audit_events_family",
            ),
        ] {
            let q = super::filtered(&f, db.backend())
                .order_by_desc(audit_event::Column::Id)
                .limit(50)
                .build(db.backend());
            let plan = db
                .read
                .query_all_raw(Statement::from_sql_and_values(
                    db.backend(),
                    format!("EXPLAIN QUERY PLAN {}", q.sql),
                    q.values.map(|v| v.0).unwrap_or_default(),
                ))
                .await?;
            let steps: Vec<String> = plan
                .iter()
                .map(|r| r.try_get_by_index::<String>(3))
                .collect::<Result<_, _>>()?;
            let uses = |what: &str| steps.iter().any(|s| s.contains(what));
            assert!(uses(index), "{steps:?}");
            assert!(uses("idx_audit_events_at (at=?)"), "{steps:?}");
            assert!(uses("idx_refresh_tokens_family"), "{steps:?}");
            assert!(!uses("idx_audit_events_kind"), "{steps:?}");
            assert!(!steps.iter().any(|s| s.starts_with("SCAN")), "{steps:?}");
        }
        Ok(())
    }
}
