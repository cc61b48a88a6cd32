use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Object, OpenApi};

use super::{Deleted, RevokedCount, actor, bad};
use crate::admin::{self, ClientSettings};
use crate::api::ApiTag;
use crate::api::auth::AdminBearer;
use crate::api::error::{ApiError, ApiResult};
use crate::api::time::datetime;
use crate::domain::{GrantType, Scope};
use crate::state::AppState;
use crate::store::clients;
use crate::store::entities::client;
use crate::store::families::Owner;

#[derive(Default)]
pub struct AdminClientsApi;

/// A registered client (never its secret).
#[derive(Debug, Object)]
pub struct ClientView {
    pub client_id: String,
    /// Public clients have no secret (apps in a browser or on a device).
    pub public: bool,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
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

#[derive(Debug, Object)]
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
    /// `password`, `refresh_token`, `client_credentials`.
    pub grant_types: Vec<String>,
    #[oai(default)]
    pub scopes: Vec<String>,
    #[oai(default)]
    pub redirect_uris: Vec<String>,
    pub access_ttl: Option<i64>,
    pub refresh_idle_ttl: Option<i64>,
    pub refresh_absolute_ttl: Option<i64>,
    pub reuse_leeway: Option<i64>,
}

/// The new client and, for a confidential client, its secret (shown once).
#[derive(Debug, Object)]
pub struct ClientCreated {
    pub client: ClientView,
    pub client_secret: Option<String>,
}

/// Fields to change; absent fields stay. A lifetime set to `null` returns to the server
/// default.
#[derive(Debug, Object)]
pub struct UpdateClient {
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
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

pub fn view(state: &AppState, c: client::Model) -> ClientView {
    let policy = crate::grants::ClientPolicy::of(&c, state);
    ClientView {
        public: c.is_public,
        grant_types: policy
            .grant_types
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect(),
        scopes: policy.scopes.iter().map(str::to_owned).collect(),
        redirect_uris: serde_json::from_str(&c.redirect_uris).unwrap_or_default(),
        access_ttl: c.access_ttl,
        refresh_idle_ttl: c.refresh_idle_ttl,
        refresh_absolute_ttl: c.refresh_absolute_ttl,
        reuse_leeway: c.reuse_leeway,
        effective_access_ttl: policy.access_ttl,
        effective_refresh_idle_ttl: policy.refresh_idle_ttl,
        effective_refresh_absolute_ttl: policy.refresh_absolute_ttl,
        effective_reuse_leeway: policy.reuse_leeway,
        disabled: c.disabled,
        created_at: datetime(c.created_at),
        updated_at: datetime(c.updated_at),
        client_id: c.client_id,
    }
}

fn grants(list: &[String]) -> Result<Vec<GrantType>, ApiError> {
    GrantType::parse_list(&list.join(" ")).map_err(|e| bad(format!("grant_types: {e}")))
}

fn scopes(list: &[String]) -> Result<Scope, ApiError> {
    if list.iter().any(|s| s.is_empty() || s.contains(' ')) {
        return Err(bad(
            "scopes: each scope is one non-empty token without spaces",
        ));
    }
    Scope::parse(&list.join(" ")).map_err(|e| bad(format!("scopes: {e}")))
}

fn merge(old: Option<i64>, new: MaybeUndefined<i64>) -> Option<i64> {
    match new {
        MaybeUndefined::Undefined => old,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(v) => Some(v),
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
        let limit = super::limit(limit.0)?;
        let (rows, total) = clients::page(&state.db.read, cursor.0.as_deref(), limit).await?;
        let next_cursor = (rows.len() as u64 == limit)
            .then(|| rows.last().map(|c| c.client_id.clone()))
            .flatten();
        Ok(Json(ClientPage {
            items: rows.into_iter().map(|c| view(&state, c)).collect(),
            next_cursor,
            total,
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
            grant_types: grants(&b.grant_types)?,
            scopes: scopes(&b.scopes)?,
            redirect_uris: b.redirect_uris,
            access_ttl: b.access_ttl,
            refresh_idle_ttl: b.refresh_idle_ttl,
            refresh_absolute_ttl: b.refresh_absolute_ttl,
            reuse_leeway: b.reuse_leeway,
        };
        let (c, client_secret) = admin::create_client(
            &state,
            &actor(&admin.0, req),
            &b.client_id,
            b.public,
            settings,
        )
        .await?;
        Ok(Json(ClientCreated {
            client: view(&state, c),
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
        Ok(Json(view(&state, admin::find_client(&state, &id.0).await?)))
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
        let c = admin::find_client(&state, &id.0).await?;
        let current = view(&state, c.clone());
        let settings = ClientSettings {
            grant_types: grants(b.grant_types.as_ref().unwrap_or(&current.grant_types))?,
            scopes: scopes(b.scopes.as_ref().unwrap_or(&current.scopes))?,
            redirect_uris: b.redirect_uris.unwrap_or(current.redirect_uris),
            access_ttl: merge(c.access_ttl, b.access_ttl),
            refresh_idle_ttl: merge(c.refresh_idle_ttl, b.refresh_idle_ttl),
            refresh_absolute_ttl: merge(c.refresh_absolute_ttl, b.refresh_absolute_ttl),
            reuse_leeway: merge(c.reuse_leeway, b.reuse_leeway),
        };
        let c =
            admin::update_client(&state, &actor(&admin.0, req), c, settings, b.disabled).await?;
        Ok(Json(view(&state, c)))
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
        let client_secret =
            admin::rotate_client_secret(&state, &actor(&admin.0, req), &id.0).await?;
        Ok(Json(ClientSecretView { client_secret }))
    }

    /// Remove a client
    ///
    /// Ends all its sessions (reason `client_removed`).
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
        let sessions_ended = admin::remove_client(&state, &actor(&admin.0, req), &id.0).await?;
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
        admin::find_client(&state, &id.0).await?;
        let revoked =
            admin::revoke_sessions(&state, &actor(&admin.0, req), Owner::Client(&id.0)).await?;
        Ok(Json(RevokedCount { revoked }))
    }
}
