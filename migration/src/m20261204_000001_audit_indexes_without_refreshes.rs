//! On SQLite, the audit trail's user and family indexes leave out `token_refreshed`
//! events.
//!
//! Every rotation writes one such event. An index keyed by user or by family puts each
//! of them on a random leaf page, and SQLite writes every changed page whole to its log
//! at each commit: four such pages a rotation (the token's hash, the token's family, the
//! event's user and the event's family) bounded the refresh rate. Leaving out the user
//! index raised it by 12 %, and the family index by 16 % more (BENCHMARKS.md).
//! PostgreSQL keeps both indexes whole: its log records a page whole only on the first
//! change after a checkpoint, and its planner cannot serve the rewritten filter's
//! `IN (subquery)` inside an `OR` from an index.
//!
//! Nothing is lost to a filter. A refresh event is written in the transaction that
//! inserts its child token, with the same time (`at` = the child's `issued_at`), in the
//! same family and for the family's user; families are never deleted. So
//! `store::audit::page` finds the refresh events of a family through the family's
//! tokens and the time index, and those of a user through the user's families.
//!
//! The predicate is a literal, the same on SQLite and PostgreSQL. A query can use these
//! indexes only where its own condition says the same with the same literal
//! (`kind <> 'token_refreshed'`), not a bound parameter.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, AuditEvents); 2] = [
    ("idx_audit_events_user", AuditEvents::UserId),
    ("idx_audit_events_family", AuditEvents::FamilyId),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too: an index is never left dropped and not rebuilt.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        rebuild(m, true).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        rebuild(m, false).await
    }
}

/// Drops both indexes and makes them again, partial or whole (SQLite only).
async fn rebuild(m: &SchemaManager<'_>, partial: bool) -> Result<(), DbErr> {
    if m.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return Ok(());
    }
    for (name, col) in INDEXES {
        m.drop_index(
            Index::drop()
                .name(name)
                .table(AuditEvents::Table)
                .to_owned(),
        )
        .await?;
        let only = if partial {
            " WHERE kind <> 'token_refreshed'"
        } else {
            ""
        };
        m.get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {name} ON audit_events ({}){only}",
                col.to_string()
            ))
            .await?;
    }
    Ok(())
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditEvents {
    Table,
    UserId,
    FamilyId,
}
