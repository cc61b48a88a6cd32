//! Browser sign-in: authorization codes, sign-in sessions, remembered consent, and the
//! client settings for browser apps (allowed origins, refresh-token delivery, consent).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthorizationCodes {
    Table,
    CodeHash,
    ClientId,
    UserId,
    RedirectUri,
    RedirectUriSent,
    CodeChallenge,
    Scope,
    SigninSessionId,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    FamilyId,
}

#[derive(DeriveIden)]
enum SigninSessions {
    Table,
    Id,
    TokenHash,
    UserId,
    CreatedAt,
    ExpiresAt,
    EndedAt,
    EndReason,
    Ip,
    UserAgent,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    UserId,
    ClientId,
    Scope,
    GrantedAt,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    AllowedOrigins,
    RefreshTokenDelivery,
    RequireConsent,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AuthorizationCodes::Table)
                .col(string_len(AuthorizationCodes::CodeHash, 64).primary_key())
                .col(string_len(AuthorizationCodes::ClientId, 128))
                .col(string_len(AuthorizationCodes::UserId, 64))
                .col(text(AuthorizationCodes::RedirectUri))
                .col(boolean(AuthorizationCodes::RedirectUriSent))
                .col(string_len(AuthorizationCodes::CodeChallenge, 128))
                .col(text(AuthorizationCodes::Scope))
                .col(string_len_null(AuthorizationCodes::SigninSessionId, 64))
                .col(big_integer(AuthorizationCodes::CreatedAt))
                .col(big_integer(AuthorizationCodes::ExpiresAt))
                .col(big_integer_null(AuthorizationCodes::UsedAt))
                .col(string_len_null(AuthorizationCodes::FamilyId, 64))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_authorization_codes_expires")
                .table(AuthorizationCodes::Table)
                .col(AuthorizationCodes::ExpiresAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SigninSessions::Table)
                .col(string_len(SigninSessions::Id, 64).primary_key())
                .col(string_len(SigninSessions::TokenHash, 64).unique_key())
                .col(string_len(SigninSessions::UserId, 64))
                .col(big_integer(SigninSessions::CreatedAt))
                .col(big_integer(SigninSessions::ExpiresAt))
                .col(big_integer_null(SigninSessions::EndedAt))
                .col(string_len_null(SigninSessions::EndReason, 32))
                .col(string_len_null(SigninSessions::Ip, 64))
                .col(string_len_null(SigninSessions::UserAgent, 512))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_signin_sessions_user")
                .table(SigninSessions::Table)
                .col(SigninSessions::UserId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Consents::Table)
                .col(string_len(Consents::UserId, 64))
                .col(string_len(Consents::ClientId, 128))
                .col(text(Consents::Scope))
                .col(big_integer(Consents::GrantedAt))
                .primary_key(
                    Index::create()
                        .col(Consents::UserId)
                        .col(Consents::ClientId),
                )
                .to_owned(),
        )
        .await?;

        // SQLite takes one column per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table(Clients::Table)
                .add_column(text(Clients::AllowedOrigins).default("[]"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Clients::Table)
                .add_column(string_len(Clients::RefreshTokenDelivery, 16).default("body"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Clients::Table)
                .add_column(boolean(Clients::RequireConsent).default(false))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            Clients::RequireConsent,
            Clients::RefreshTokenDelivery,
            Clients::AllowedOrigins,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(Consents::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(SigninSessions::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(AuthorizationCodes::Table).to_owned())
            .await
    }
}
