use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::actor;
use crate::admin::keys::{self, KeyRecord};
use crate::api::ApiTag;
use crate::api::auth::AdminBearer;
use crate::api::error::ApiResult;
use crate::api::time::{datetime, opt_datetime};
use crate::crypto::keys::SigningAlg;
use crate::domain::KeyState;
use crate::state::AppState;

#[derive(Default)]
pub struct AdminKeysApi;

/// A signing key (its public half only).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct KeyView {
    pub kid: String,
    pub alg: SigningAlg,
    pub state: KeyState,
    pub created_at: time::OffsetDateTime,
    pub activate_at: time::OffsetDateTime,
    /// When it stops (or stopped) signing.
    pub retired_at: Option<time::OffsetDateTime>,
    /// When it leaves (or left) the JWKS.
    pub publish_until: Option<time::OffsetDateTime>,
    /// Whether the private key is encrypted at rest.
    pub encrypted: bool,
    /// Access tokens it signed that may not have expired yet (counted from user token
    /// issuance; client-credentials tokens are not recorded).
    pub unexpired_tokens: u64,
}

impl From<KeyRecord> for KeyView {
    fn from(k: KeyRecord) -> Self {
        KeyView {
            kid: k.kid,
            alg: k.alg,
            state: k.state,
            created_at: datetime(k.created_at),
            activate_at: datetime(k.activate_at),
            retired_at: opt_datetime(k.retired_at),
            publish_until: opt_datetime(k.publish_until),
            encrypted: k.encrypted,
            unexpired_tokens: k.unexpired_tokens,
        }
    }
}

#[derive(Debug, Object)]
pub struct KeyList {
    /// Newest activation first.
    pub items: Vec<KeyView>,
}

#[derive(Debug, Object)]
pub struct RotateKey {
    /// `ES256` when absent.
    pub alg: Option<SigningAlg>,
}

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::AdminKeys")]
impl AdminKeysApi {
    /// List signing keys
    #[oai(path = "/keys", method = "get", operation_id = "admin_list_keys")]
    async fn list(&self, state: Data<&AppState>, _admin: AdminBearer) -> ApiResult<KeyList> {
        let items = keys::list(&state)
            .await?
            .into_iter()
            .map(KeyView::from)
            .collect();
        Ok(Json(KeyList { items }))
    }

    /// Rotate the signing key
    ///
    /// The new key is published at once and signs after `key_prepublish` seconds; the
    /// current key stops signing then and stays published until its tokens expire.
    #[oai(
        path = "/keys/rotate",
        method = "post",
        operation_id = "admin_rotate_key"
    )]
    async fn rotate(
        &self,
        state: Data<&AppState>,
        req: &Request,
        admin: AdminBearer,
        body: Json<RotateKey>,
    ) -> ApiResult<KeyView> {
        let alg = body.0.alg.unwrap_or(SigningAlg::Es256);
        Ok(Json(
            keys::rotate(&state, &actor(&admin.0, req), alg)
                .await?
                .into(),
        ))
    }

    /// Retire a signing key now
    ///
    /// It stops signing and leaves the JWKS at once: tokens it signed stop verifying.
    /// The last key able to sign cannot be retired.
    #[oai(
        path = "/keys/:kid/retire",
        method = "post",
        operation_id = "admin_retire_key"
    )]
    async fn retire(
        &self,
        state: Data<&AppState>,
        req: &Request,
        admin: AdminBearer,
        kid: Path<String>,
    ) -> ApiResult<KeyView> {
        Ok(Json(
            keys::retire(&state, &actor(&admin.0, req), &kid.0)
                .await?
                .into(),
        ))
    }
}
