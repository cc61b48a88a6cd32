//! Access tokens revoked before their expiry that belong to no refresh family (client
//! credentials): kept by `jti` until they would have expired anyway. And a client's
//! `tokens_valid_after`: its client-credentials tokens issued before it (when it was
//! disabled) stay dead after it is enabled again.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RevokedAccessTokens {
    Table,
    Jti,
    ClientId,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    TokensValidAfter,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(RevokedAccessTokens::Table)
                .col(string_len(RevokedAccessTokens::Jti, 64).primary_key())
                .col(string_len(RevokedAccessTokens::ClientId, 128))
                .col(big_integer(RevokedAccessTokens::ExpiresAt))
                .col(big_integer(RevokedAccessTokens::RevokedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_revoked_access_tokens_expires")
                .table(RevokedAccessTokens::Table)
                .col(RevokedAccessTokens::ExpiresAt)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Clients::Table)
                .add_column(big_integer_null(Clients::TokensValidAfter))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Clients::Table)
                .drop_column(Clients::TokensValidAfter)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(RevokedAccessTokens::Table).to_owned())
            .await
    }
}
