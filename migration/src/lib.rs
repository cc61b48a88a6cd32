//! Schema migrations for Tessera, runnable on SQLite and PostgreSQL.
//!
//! Each step declares its own identifiers and never imports the server's entities: a
//! migration that has run must never change meaning. Timestamps are stored as `BIGINT`
//! milliseconds since the Unix epoch, which compares and indexes the same way on every
//! backend.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_create_core_tables;
mod m20261127_000002_create_login_throttle;
mod m20261202_000001_create_revoked_access_tokens;
mod m20261202_000002_create_browser_sign_in;
mod m20261204_000001_audit_indexes_without_refreshes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_core_tables::Migration),
            Box::new(m20261127_000002_create_login_throttle::Migration),
            Box::new(m20261202_000001_create_revoked_access_tokens::Migration),
            Box::new(m20261202_000002_create_browser_sign_in::Migration),
            Box::new(m20261204_000001_audit_indexes_without_refreshes::Migration),
        ]
    }
}
