use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::actor;
use crate::admin;
use crate::api::ApiTag;
use crate::api::auth::AdminBearer;
use crate::api::error::ApiResult;
use crate::api::time::{datetime, opt_datetime};
use crate::clock::Millis;
use crate::state::AppState;
use crate::store::entities::signing_key;
use crate::store::{self, families};

#[derive(Default)]
pub struct AdminKeysApi;

/// A signing key (its public half only).
#[derive(Debug, Object)]
pub struct KeyView {
    pub kid: String,
    /// `ES256`, `EdDSA` or `RS256`.
    pub alg: String,
    /// `pending` (published, not signing yet), `active` (signing), `retiring` (no longer
    /// signing, still verifying tokens it signed) or `retired` (gone from the JWKS).
    pub state: String,
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

#[derive(Debug, Object)]
pub struct KeyList {
    /// Newest activation first.
    pub items: Vec<KeyView>,
}

#[derive(Debug, Object)]
pub struct RotateKey {
    /// `ES256` (default), `EdDSA` or `RS256`.
    pub alg: Option<String>,
}

fn key_state(k: &signing_key::Model, now: Millis) -> &'static str {
    if k.publish_until.is_some_and(|u| u <= now) {
        "retired"
    } else if k.retired_at.is_some_and(|r| r <= now) {
        "retiring"
    } else if k.activate_at > now {
        "pending"
    } else {
        "active"
    }
}

async fn view(
    state: &AppState,
    k: signing_key::Model,
) -> Result<KeyView, crate::api::error::ApiError> {
    let now = state.clock.now_ms();
    let ttl_ms = state.settings.access_ttl * 1000;
    let signed_until = k.retired_at.map_or(now, |r| r.min(now));
    let from = k.activate_at.max(now - ttl_ms);
    let unexpired_tokens = families::issued_between(&state.db.read, from, signed_until).await?;
    Ok(KeyView {
        state: key_state(&k, now).to_owned(),
        created_at: datetime(k.created_at),
        activate_at: datetime(k.activate_at),
        retired_at: opt_datetime(k.retired_at),
        publish_until: opt_datetime(k.publish_until),
        encrypted: k.key_encryption.is_some(),
        unexpired_tokens,
        kid: k.kid,
        alg: k.alg,
    })
}

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::AdminKeys")]
impl AdminKeysApi {
    /// List signing keys
    #[oai(path = "/keys", method = "get", operation_id = "admin_list_keys")]
    async fn list(&self, state: Data<&AppState>, _admin: AdminBearer) -> ApiResult<KeyList> {
        let mut items = Vec::new();
        for k in store::keys::list(&state.db.read).await? {
            items.push(view(&state, k).await?);
        }
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
        let alg = admin::parse_alg(body.0.alg.as_deref().unwrap_or("ES256"))?;
        let k = admin::rotate_key(&state, &actor(&admin.0, req), alg).await?;
        Ok(Json(view(&state, k).await?))
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
        let k = admin::retire_key(&state, &actor(&admin.0, req), &kid.0).await?;
        Ok(Json(view(&state, k).await?))
    }
}
