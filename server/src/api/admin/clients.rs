use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Object, OpenApi};

use super::{Deleted, RevokedCount, actor, page};
use crate::admin::clients::{self, Change, ClientChanges, ClientRecord, ClientSettings};
use crate::admin::sessions::{self, Owner};
use crate::api::ApiTag;
use crate::api::auth::AdminBearer;
use crate::api::error::ApiResult;
use crate::api::time::datetime;
use crate::domain::{GrantType, RefreshTokenDelivery};
use crate::state::AppState;

#[derive(Default)]
pub struct AdminClientsApi;

/// A registered client (never its secret).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ClientView {
    pub client_id: String,
    /// Public clients have no secret (apps in a browser or on a device).
    pub public: bool,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    /// Exact browser origins (`https://app.example.com`) allowed to call the token,
    /// revocation and `/me` endpoints with credentials (CORS).
    pub allowed_origins: Vec<String>,
    /// `cookie`: refresh tokens travel in an HttpOnly cookie, never in a response body.
    pub refresh_token_delivery: RefreshTokenDelivery,
    /// A third-party client: users are asked to allow its scopes.
    pub require_consent: bool,
    /// Seconds; absent means the server default (shown in `effective_*`).
    pub access_ttl: Option<i64>,
    pub refresh_idle_ttl: Option<i64>,
    pub refresh_absolute_ttl: Option<i64>,
    pub reuse_leeway: Option<i64>,
    pub effective_access_ttl: i64,
    pub effective_refresh_idle_ttl: i64,
    pub effective_refresh_absolute_ttl: i64,
    pub effective_reuse_leeway: i64,
    pub disabled: bool,
    pub created_at: time::OffsetDateTime,
    pub updated_at: time::OffsetDateTime,
}

impl From<ClientRecord> for ClientView {
    fn from(c: ClientRecord) -> Self {
        ClientView {
            client_id: c.client_id,
            public: c.public,
            grant_types: c.grant_types,
            scopes: c.scopes,
            redirect_uris: c.redirect_uris,
            allowed_origins: c.allowed_origins,
            refresh_token_delivery: c.refresh_token_delivery,
            require_consent: c.require_consent,
            access_ttl: c.access_ttl,
            refresh_idle_ttl: c.refresh_idle_ttl,
            refresh_absolute_ttl: c.refresh_absolute_ttl,
            reuse_leeway: c.reuse_leeway,
            effective_access_ttl: c.effective_access_ttl,
            effective_refresh_idle_ttl: c.effective_refresh_idle_ttl,
            effective_refresh_absolute_ttl: c.effective_refresh_absolute_ttl,
            effective_reuse_leeway: c.effective_reuse_leeway,
            disabled: c.disabled,
            created_at: datetime(c.created_at),
            updated_at: datetime(c.updated_at),
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ClientPage {
    pub items: Vec<ClientView>,
    pub next_cursor: Option<String>,
    pub total: u64,
}

#[derive(Debug, Object)]
pub struct CreateClient {
    /// 1 to 128 characters from `A-Z a-z 0-9 . _ ~ -`.
    pub client_id: String,
    /// A public client has no secret; a confidential one gets a generated secret.
    #[oai(default)]
    pub public: bool,
    pub grant_types: Vec<GrantType>,
    #[oai(default)]
    pub scopes: Vec<String>,
    /// Absolute http(s) URIs without a fragment, compared as exact strings.
    #[oai(default)]
    pub redirect_uris: Vec<String>,
    /// Exact origins, `scheme://host[:port]` without a path; needed for `cookie` delivery.
    #[oai(default)]
    pub allowed_origins: Vec<String>,
    /// `body` (default) or `cookie` (browser apps; needs an allowed origin and the
    /// refresh_token grant).
    #[oai(default)]
    pub refresh_token_delivery: RefreshTokenDelivery,
    /// Ask users to allow this client's scopes (third-party apps). Default false.
    #[oai(default)]
    pub require_consent: bool,
    /// Seconds, 1 to 86400.
    pub access_ttl: Option<i64>,
    /// Seconds, 1 to 31536000.
    pub refresh_idle_ttl: Option<i64>,
    /// Seconds, 1 to 31536000.
    pub refresh_absolute_ttl: Option<i64>,
    /// Seconds, 0 to 60.
    pub reuse_leeway: Option<i64>,
}

/// The new client and, for a confidential client, its secret (shown once).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ClientCreated {
    pub client: ClientView,
    pub client_secret: Option<String>,
}

/// Fields to change; absent fields stay. A lifetime set to `null` returns to the server
/// default. Disabling a client ends its sessions.
#[derive(Debug, Object)]
pub struct UpdateClient {
    pub grant_types: Option<Vec<GrantType>>,
    /// A list given replaces the old one; `[]` empties it (`null` leaves it).
    #[oai(nullable)]
    pub scopes: Option<Vec<String>>,
    #[oai(nullable)]
    pub redirect_uris: Option<Vec<String>>,
    #[oai(nullable)]
    pub allowed_origins: Option<Vec<String>>,
    pub refresh_token_delivery: Option<RefreshTokenDelivery>,
    pub require_consent: Option<bool>,
    pub access_ttl: MaybeUndefined<i64>,
    pub refresh_idle_ttl: MaybeUndefined<i64>,
    pub refresh_absolute_ttl: MaybeUndefined<i64>,
    pub reuse_leeway: MaybeUndefined<i64>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Object)]
pub struct ClientSecretView {
    /// The new secret, shown once; the old one no longer works.
    pub client_secret: String,
}

fn change(v: MaybeUndefined<i64>) -> Change<i64> {
    match v {
        MaybeUndefined::Undefined => Change::Keep,
        MaybeUndefined::Null => Change::Reset,
        MaybeUndefined::Value(v) => Change::Set(v),
    }
}

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::AdminClients")]
impl AdminClientsApi {
    /// List clients
    #[oai(path = "/clients", method = "get", operation_id = "admin_list_clients")]
    async fn list(
        &self,
        state: Data<&AppState>,
        _admin: AdminBearer,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> ApiResult<ClientPage> {
        let p = clients::list(&state, &page(cursor.0, limit.0)).await?;
        Ok(Json(ClientPage {
            items: p.items.into_iter().map(ClientView::from).collect(),
            next_cursor: p.next_cursor,
            total: p.total,
        }))
    }

    /// Register a client
    #[oai(
        path = "/clients",
        method = "post",
        operation_id = "admin_create_client"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        req: &Request,
        admin: AdminBearer,
        body: Json<CreateClient>,
    ) -> ApiResult<ClientCreated> {
        let b = body.0;
        let settings = ClientSettings {
            grant_types: b.grant_types,
            scopes: b.scopes,
            redirect_uris: b.redirect_uris,
            allowed_origins: b.allowed_origins,
            refresh_token_delivery: b.refresh_token_delivery,
            require_consent: b.require_consent,
            access_ttl: b.access_ttl,
            refresh_idle_ttl: b.refresh_idle_ttl,
            refresh_absolute_ttl: b.refresh_absolute_ttl,
            reuse_leeway: b.reuse_leeway,
        };
        let (c, client_secret) = clients::create(
            &state,
            &actor(&admin.0, req),
            &b.client_id,
            b.public,
            settings,
            None,
        )
        .await?;
        Ok(Json(ClientCreated {
            client: c.into(),
            client_secret,
        }))
    }

    /// Get a client
    #[oai(
        path = "/clients/:id",
        method = "get",
        operation_id = "admin_get_client"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        _admin: AdminBearer,
        id: Path<String>,
    ) -> ApiResult<ClientView> {
        Ok(Json(clients::get(&state, &id.0).await?.into()))
    }

    /// Update a client
    #[oai(
        path = "/clients/:id",
        method = "patch",
        operation_id = "admin_update_client"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        req: &Request,
        admin: AdminBearer,
        id: Path<String>,
        body: Json<UpdateClient>,
    ) -> ApiResult<ClientView> {
        let b = body.0;
        let changes = ClientChanges {
            grant_types: b.grant_types,
            scopes: b.scopes,
            redirect_uris: b.redirect_uris,
            allowed_origins: b.allowed_origins,
            refresh_token_delivery: b.refresh_token_delivery,
            require_consent: b.require_consent,
            access_ttl: change(b.access_ttl),
            refresh_idle_ttl: change(b.refresh_idle_ttl),
            refresh_absolute_ttl: change(b.refresh_absolute_ttl),
            reuse_leeway: change(b.reuse_leeway),
            disabled: b.disabled,
        };
        let c = clients::update(&state, &actor(&admin.0, req), &id.0, changes).await?;
        Ok(Json(c.into()))
    }

    /// Rotate a client's secret
    #[oai(
        path = "/clients/:id/secret",
        method = "post",
        operation_id = "admin_rotate_client_secret"
    )]
    async fn rotate_secret(
        &self,
        state: Data<&AppState>,
        req: &Request,
        admin: AdminBearer,
        id: Path<String>,
    ) -> ApiResult<ClientSecretView> {
        let client_secret = clients::rotate_secret(&state, &actor(&admin.0, req), &id.0).await?;
        Ok(Json(ClientSecretView { client_secret }))
    }

    /// Remove a client
    ///
    /// Ends all its sessions (reason `client_removed`). The built-in `tessera-admin`
    /// client cannot be removed.
    #[oai(
        path = "/clients/:id",
        method = "delete",
        operation_id = "admin_remove_client"
    )]
    async fn remove(
        &self,
        state: Data<&AppState>,
        req: &Request,
        admin: AdminBearer,
        id: Path<String>,
    ) -> ApiResult<Deleted> {
        let sessions_ended = clients::remove(&state, &actor(&admin.0, req), &id.0).await?;
        Ok(Json(Deleted {
            id: id.0,
            sessions_ended,
        }))
    }

    /// End all of a client's sessions
    #[oai(
        path = "/clients/:id/revoke-sessions",
        method = "post",
        operation_id = "admin_revoke_client_sessions"
    )]
    async fn revoke_sessions(
        &self,
        state: Data<&AppState>,
        req: &Request,
        admin: AdminBearer,
        id: Path<String>,
    ) -> ApiResult<RevokedCount> {
        let revoked =
            sessions::revoke_all(&state, &actor(&admin.0, req), Owner::Client(&id.0)).await?;
        Ok(Json(RevokedCount { revoked }))
    }
}
