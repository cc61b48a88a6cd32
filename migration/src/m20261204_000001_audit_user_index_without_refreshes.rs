//! The audit trail's user index leaves out `token_refreshed` events.
//!
//! Every rotation writes one such event. An index keyed by user puts each of them on a
//! random leaf page, and on SQLite that page is written to the log again at every
//! commit: four such pages a rotation (the token's hash, the token's family, the event's
//! user and the event's family) bound the refresh rate, and dropping this one raised it
//! by 11 % (BENCHMARKS.md). A refresh event's user is always its family's user, so the
//! server finds a user's refresh events through the user's families and the family
//! index instead (`store::audit::page`).
//!
//! The predicate is a literal, the same on SQLite and PostgreSQL. A query can use the
//! index only where its own condition says the same, with the same literal
//! (`kind <> 'token_refreshed'`), not a bound parameter.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_audit_events_user";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(NAME)
                .table(AuditEvents::Table)
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {NAME} ON audit_events (user_id) WHERE kind <> 'token_refreshed'"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(NAME)
                .table(AuditEvents::Table)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(NAME)
                .table(AuditEvents::Table)
                .col(AuditEvents::UserId)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    UserId,
}
