use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::entities::client::{self, Entity as Clients};
use crate::clock::Millis;
use crate::domain::{ClientId, GrantType, Lifetime, RefreshTokenDelivery, Scope};

/// A client registration as created by the CLI or the admin API.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub client_id: ClientId,
    /// `None` for a public client.
    pub secret_hash: Option<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Scope,
    pub redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub refresh_token_delivery: RefreshTokenDelivery,
    pub require_consent: bool,
    pub access_ttl: Option<i64>,
    pub refresh_idle_ttl: Option<i64>,
    pub refresh_absolute_ttl: Option<i64>,
    pub reuse_leeway: Option<i64>,
}

pub async fn find(
    db: &impl ConnectionTrait,
    client_id: &str,
) -> Result<Option<client::Model>, DbErr> {
    Clients::find_by_id(client_id.to_owned()).one(db).await
}

/// Whether the client exists and is enabled, read in `db` (a transaction): the client
/// cache may be a second old, and a new family must not outlive a change that committed.
pub async fn is_enabled(db: &impl ConnectionTrait, client_id: &str) -> Result<bool, DbErr> {
    Ok(Clients::find_by_id(client_id.to_owned())
        .filter(client::Column::Disabled.eq(false))
        .one(db)
        .await?
        .is_some())
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<client::Model>, DbErr> {
    Clients::find()
        .order_by_asc(client::Column::ClientId)
        .all(db)
        .await
}

pub async fn insert(db: &impl ConnectionTrait, c: NewClient, now: Millis) -> Result<(), DbErr> {
    Clients::insert(client::ActiveModel {
        client_id: Set(c.client_id.as_str().to_owned()),
        is_public: Set(c.secret_hash.is_none()),
        secret_hash: Set(c.secret_hash),
        grant_types: Set(GrantType::join(&c.grant_types)),
        scopes: Set(c.scopes.to_string()),
        redirect_uris: Set(serde_json::to_string(&c.redirect_uris).unwrap_or_else(|_| "[]".into())),
        allowed_origins: Set(
            serde_json::to_string(&c.allowed_origins).unwrap_or_else(|_| "[]".into())
        ),
        refresh_token_delivery: Set(c.refresh_token_delivery.as_str().to_owned()),
        require_consent: Set(c.require_consent),
        access_ttl: Set(c.access_ttl),
        refresh_idle_ttl: Set(c.refresh_idle_ttl),
        refresh_absolute_ttl: Set(c.refresh_absolute_ttl),
        reuse_leeway: Set(c.reuse_leeway),
        disabled: Set(false),
        tokens_valid_after: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    Clients::find().count(db).await
}

pub async fn delete(db: &impl ConnectionTrait, client_id: &str) -> Result<bool, DbErr> {
    let r = Clients::delete_many()
        .filter(client::Column::ClientId.eq(client_id))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

pub async fn page(
    db: &impl ConnectionTrait,
    after: Option<&str>,
    limit: u64,
) -> Result<(Vec<client::Model>, u64), DbErr> {
    use sea_orm::{PaginatorTrait, QuerySelect};
    let total = Clients::find().count(db).await?;
    let mut q = Clients::find();
    if let Some(a) = after {
        q = q.filter(client::Column::ClientId.gt(a));
    }
    let rows = q
        .order_by_asc(client::Column::ClientId)
        .limit(limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// Writes a client's settings back (never its secret, which only
/// [`set_secret_hash`] changes, so a concurrent edit cannot undo a rotation).
pub async fn save(db: &impl ConnectionTrait, c: client::Model) -> Result<(), DbErr> {
    use client::Column as C;
    Clients::update_many()
        .col_expr(C::GrantTypes, c.grant_types.into())
        .col_expr(C::Scopes, c.scopes.into())
        .col_expr(C::RedirectUris, c.redirect_uris.into())
        .col_expr(C::AllowedOrigins, c.allowed_origins.into())
        .col_expr(C::RefreshTokenDelivery, c.refresh_token_delivery.into())
        .col_expr(C::RequireConsent, c.require_consent.into())
        .col_expr(C::AccessTtl, c.access_ttl.into())
        .col_expr(C::RefreshIdleTtl, c.refresh_idle_ttl.into())
        .col_expr(C::RefreshAbsoluteTtl, c.refresh_absolute_ttl.into())
        .col_expr(C::ReuseLeeway, c.reuse_leeway.into())
        .col_expr(C::Disabled, c.disabled.into())
        .col_expr(C::TokensValidAfter, c.tokens_valid_after.into())
        .col_expr(C::UpdatedAt, c.updated_at.into())
        .filter(C::ClientId.eq(c.client_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_secret_hash(
    db: &impl ConnectionTrait,
    client_id: &str,
    hash: &str,
    now: Millis,
) -> Result<(), DbErr> {
    Clients::update_many()
        .col_expr(client::Column::SecretHash, Some(hash.to_owned()).into())
        .col_expr(client::Column::UpdatedAt, now.into())
        .filter(client::Column::ClientId.eq(client_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Every client's allowed browser origins, for CORS (clients without any are left out).
pub async fn origins(db: &impl ConnectionTrait) -> Result<Vec<(String, Vec<String>)>, DbErr> {
    use sea_orm::QuerySelect;
    let rows: Vec<(String, String)> = Clients::find()
        .select_only()
        .column(client::Column::ClientId)
        .column(client::Column::AllowedOrigins)
        .filter(client::Column::AllowedOrigins.ne("[]"))
        .filter(client::Column::Disabled.eq(false))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, o)| (id, serde_json::from_str(&o).unwrap_or_default()))
        .collect())
}

/// A client's effective settings: its own values, or the server's defaults.
#[derive(Debug, Clone)]
pub struct ClientPolicy {
    pub grant_types: Vec<GrantType>,
    pub scopes: Scope,
    pub access_ttl: i64,
    pub refresh_idle_ttl: i64,
    pub refresh_absolute_ttl: i64,
    pub reuse_leeway: i64,
}

impl client::Model {
    /// The effective settings. A stored lifetime outside today's bounds (a row from
    /// before they existed) is clamped into them.
    pub fn policy(&self, defaults: &crate::config::Settings) -> ClientPolicy {
        let [
            access_ttl,
            refresh_idle_ttl,
            refresh_absolute_ttl,
            reuse_leeway,
        ] = self.lifetimes();
        ClientPolicy {
            grant_types: self.grants(),
            scopes: Scope::parse(&self.scopes).unwrap_or_default(),
            access_ttl: access_ttl.unwrap_or(defaults.access_ttl),
            refresh_idle_ttl: refresh_idle_ttl.unwrap_or(defaults.refresh_idle_ttl),
            refresh_absolute_ttl: refresh_absolute_ttl.unwrap_or(defaults.refresh_absolute_ttl),
            reuse_leeway: reuse_leeway.unwrap_or(defaults.reuse_leeway),
        }
    }

    /// The client's own lifetimes (access, refresh idle, refresh absolute, leeway),
    /// clamped into their bounds.
    pub fn lifetimes(&self) -> [Option<i64>; 4] {
        let own = [
            self.access_ttl,
            self.refresh_idle_ttl,
            self.refresh_absolute_ttl,
            self.reuse_leeway,
        ];
        let mut out = [None; 4];
        for ((o, v), l) in out.iter_mut().zip(own).zip(Lifetime::ALL) {
            *o = v.map(|v| v.clamp(*l.range().start(), *l.range().end()));
        }
        out
    }

    /// Whether a client-credentials token issued at `issued_ms` may still stand: not
    /// from before the client was created (a removed client's id reused) or last
    /// disabled.
    pub fn accepts_tokens_issued_at(&self, issued_ms: Millis) -> bool {
        issued_ms >= self.tokens_valid_after.unwrap_or(0).max(self.created_at)
    }

    pub fn grants(&self) -> Vec<GrantType> {
        GrantType::parse_list(&self.grant_types).unwrap_or_default()
    }

    pub fn redirect_uri_list(&self) -> Vec<String> {
        serde_json::from_str(&self.redirect_uris).unwrap_or_default()
    }

    pub fn allowed_origin_list(&self) -> Vec<String> {
        serde_json::from_str(&self.allowed_origins).unwrap_or_default()
    }

    pub fn refresh_token_delivery(&self) -> RefreshTokenDelivery {
        RefreshTokenDelivery::parse(&self.refresh_token_delivery)
            .unwrap_or(RefreshTokenDelivery::Body)
    }

    /// Whether refresh tokens of this client travel in an HttpOnly cookie.
    pub fn refresh_in_cookie(&self) -> bool {
        self.refresh_token_delivery() == RefreshTokenDelivery::Cookie
    }

    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origin_list().iter().any(|o| o == origin)
    }
}
