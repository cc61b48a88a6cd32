//! Users, clients, signing keys, refresh families, refresh tokens and the audit trail.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    PasswordHash,
    IsAdmin,
    Disabled,
    CreatedAt,
    UpdatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    ClientId,
    SecretHash,
    IsPublic,
    GrantTypes,
    Scopes,
    RedirectUris,
    AccessTtl,
    RefreshIdleTtl,
    RefreshAbsoluteTtl,
    ReuseLeeway,
    Disabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Alg,
    PrivateKey,
    KeyEncryption,
    PublicJwk,
    CreatedAt,
    ActivateAt,
    RetiredAt,
    PublishUntil,
}

#[derive(DeriveIden)]
enum RefreshFamilies {
    Table,
    Id,
    UserId,
    ClientId,
    Scope,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    RevokeReason,
    UserAgent,
    Ip,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    FamilyId,
    ParentId,
    Generation,
    TokenHash,
    ClientId,
    UserId,
    Scope,
    IssuedAt,
    ExpiresAt,
    FamilyExpiresAt,
    UsedAt,
    Invalidated,
    UserAgent,
    Ip,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    Kind,
    Actor,
    UserId,
    ClientId,
    FamilyId,
    Ip,
    Reason,
    Detail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(string_len(Users::Id, 36).primary_key())
                .col(string_len_uniq(Users::Username, 64))
                .col(text(Users::PasswordHash))
                .col(boolean(Users::IsAdmin).default(false))
                .col(boolean(Users::Disabled).default(false))
                .col(big_integer(Users::CreatedAt))
                .col(big_integer(Users::UpdatedAt))
                .col(big_integer_null(Users::LastLoginAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Clients::Table)
                .col(string_len(Clients::ClientId, 128).primary_key())
                .col(string_len_null(Clients::SecretHash, 64))
                .col(boolean(Clients::IsPublic))
                .col(text(Clients::GrantTypes))
                .col(text(Clients::Scopes))
                .col(text(Clients::RedirectUris))
                .col(big_integer_null(Clients::AccessTtl))
                .col(big_integer_null(Clients::RefreshIdleTtl))
                .col(big_integer_null(Clients::RefreshAbsoluteTtl))
                .col(big_integer_null(Clients::ReuseLeeway))
                .col(boolean(Clients::Disabled).default(false))
                .col(big_integer(Clients::CreatedAt))
                .col(big_integer(Clients::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SigningKeys::Table)
                .col(string_len(SigningKeys::Kid, 64).primary_key())
                .col(string_len(SigningKeys::Alg, 16))
                .col(blob(SigningKeys::PrivateKey))
                .col(string_len_null(SigningKeys::KeyEncryption, 32))
                .col(text(SigningKeys::PublicJwk))
                .col(big_integer(SigningKeys::CreatedAt))
                .col(big_integer(SigningKeys::ActivateAt))
                .col(big_integer_null(SigningKeys::RetiredAt))
                .col(big_integer_null(SigningKeys::PublishUntil))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RefreshFamilies::Table)
                .col(string_len(RefreshFamilies::Id, 36).primary_key())
                .col(string_len_null(RefreshFamilies::UserId, 36))
                .col(string_len(RefreshFamilies::ClientId, 128))
                .col(text(RefreshFamilies::Scope))
                .col(big_integer(RefreshFamilies::CreatedAt))
                .col(big_integer(RefreshFamilies::ExpiresAt))
                .col(big_integer_null(RefreshFamilies::RevokedAt))
                .col(string_len_null(RefreshFamilies::RevokeReason, 32))
                .col(text_null(RefreshFamilies::UserAgent))
                .col(string_len_null(RefreshFamilies::Ip, 64))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("idx_refresh_families_user", RefreshFamilies::UserId),
            ("idx_refresh_families_client", RefreshFamilies::ClientId),
            ("idx_refresh_families_created", RefreshFamilies::CreatedAt),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(RefreshFamilies::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(big_pk_auto(RefreshTokens::Id))
                .col(string_len(RefreshTokens::FamilyId, 36))
                .col(big_integer_null(RefreshTokens::ParentId))
                .col(integer(RefreshTokens::Generation))
                .col(string_len_uniq(RefreshTokens::TokenHash, 64))
                .col(string_len(RefreshTokens::ClientId, 128))
                .col(string_len_null(RefreshTokens::UserId, 36))
                .col(text(RefreshTokens::Scope))
                .col(big_integer(RefreshTokens::IssuedAt))
                .col(big_integer(RefreshTokens::ExpiresAt))
                .col(big_integer(RefreshTokens::FamilyExpiresAt))
                .col(big_integer_null(RefreshTokens::UsedAt))
                .col(boolean(RefreshTokens::Invalidated).default(false))
                .col(text_null(RefreshTokens::UserAgent))
                .col(string_len_null(RefreshTokens::Ip, 64))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_refresh_tokens_family")
                        .from(RefreshTokens::Table, RefreshTokens::FamilyId)
                        .to(RefreshFamilies::Table, RefreshFamilies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("idx_refresh_tokens_family", RefreshTokens::FamilyId),
            ("idx_refresh_tokens_parent", RefreshTokens::ParentId),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(RefreshTokens::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(AuditEvents::Table)
                .col(big_pk_auto(AuditEvents::Id))
                .col(big_integer(AuditEvents::At))
                .col(string_len(AuditEvents::Kind, 32))
                .col(string_len_null(AuditEvents::Actor, 128))
                .col(string_len_null(AuditEvents::UserId, 36))
                .col(string_len_null(AuditEvents::ClientId, 128))
                .col(string_len_null(AuditEvents::FamilyId, 36))
                .col(string_len_null(AuditEvents::Ip, 64))
                .col(string_len_null(AuditEvents::Reason, 32))
                .col(text_null(AuditEvents::Detail))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("idx_audit_events_at", AuditEvents::At),
            ("idx_audit_events_kind", AuditEvents::Kind),
            ("idx_audit_events_user", AuditEvents::UserId),
            ("idx_audit_events_family", AuditEvents::FamilyId),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(AuditEvents::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvents::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            RefreshFamilies::Table.into_iden(),
            SigningKeys::Table.into_iden(),
            Clients::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
