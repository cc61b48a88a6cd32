use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::{actor, page};
use crate::admin::sessions::{self, ChainLink, FamilyQuery, FamilyRecord};
use crate::api::ApiTag;
use crate::api::auth::AdminBearer;
use crate::api::error::ApiResult;
use crate::api::time::{datetime, millis, opt_datetime};
use crate::domain::{FamilyState, RevokeReason, TokenState};
use crate::state::AppState;

#[derive(Default)]
pub struct AdminFamiliesApi;

/// A refresh family: one sign-in and every token rotated from it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FamilyView {
    pub id: String,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub client_id: String,
    pub scope: String,
    pub state: FamilyState,
    pub created_at: time::OffsetDateTime,
    pub expires_at: time::OffsetDateTime,
    pub revoked_at: Option<time::OffsetDateTime>,
    pub revoke_reason: Option<RevokeReason>,
    pub last_used_at: time::OffsetDateTime,
    /// Tokens in the chain (the first sign-in is generation 0).
    pub generations: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

impl From<FamilyRecord> for FamilyView {
    fn from(f: FamilyRecord) -> Self {
        FamilyView {
            id: f.id,
            user_id: f.user_id,
            username: f.username,
            client_id: f.client_id,
            scope: f.scope,
            state: f.state,
            created_at: datetime(f.created_at),
            expires_at: datetime(f.expires_at),
            revoked_at: opt_datetime(f.revoked_at),
            revoke_reason: f.revoke_reason,
            last_used_at: datetime(f.last_used_at),
            generations: f.generations,
            user_agent: f.user_agent,
            ip: f.ip,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FamilyPage {
    /// Newest first.
    pub items: Vec<FamilyView>,
    pub next_cursor: Option<String>,
    pub total: u64,
}

/// One token of a chain (never its value).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ChainToken {
    pub generation: i32,
    pub state: TokenState,
    pub issued_at: time::OffsetDateTime,
    pub expires_at: time::OffsetDateTime,
    pub used_at: Option<time::OffsetDateTime>,
    /// Where it was issued to.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// This generation was presented again after use: the replay that revoked the family.
    pub replayed: bool,
}

impl From<ChainLink> for ChainToken {
    fn from(t: ChainLink) -> Self {
        ChainToken {
            generation: t.generation,
            state: t.state,
            issued_at: datetime(t.issued_at),
            expires_at: datetime(t.expires_at),
            used_at: opt_datetime(t.used_at),
            ip: t.ip,
            user_agent: t.user_agent,
            replayed: t.replayed,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FamilyDetail {
    pub family: FamilyView,
    /// Oldest first.
    pub tokens: Vec<ChainToken>,
    pub replayed_generation: Option<i64>,
}

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::AdminFamilies")]
impl AdminFamiliesApi {
    /// List refresh families
    ///
    /// Newest first, filtered by user (`user_id`, or `username`), client, state, revoke
    /// reason (e.g. `reuse_detected`) and creation time.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/families",
        method = "get",
        operation_id = "admin_list_families"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        _admin: AdminBearer,
        user_id: Query<Option<String>>,
        username: Query<Option<String>>,
        client_id: Query<Option<String>>,
        #[oai(name = "state")] family_state: Query<Option<FamilyState>>,
        reason: Query<Option<RevokeReason>>,
        created_after: Query<Option<time::OffsetDateTime>>,
        created_before: Query<Option<time::OffsetDateTime>>,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> ApiResult<FamilyPage> {
        let q = FamilyQuery {
            user_id: user_id.0,
            username: username.0,
            client_id: client_id.0,
            state: family_state.0,
            reason: reason.0,
            created_after: created_after.0.map(millis),
            created_before: created_before.0.map(millis),
        };
        let p = sessions::list(&state, q, &page(cursor.0, limit.0)).await?;
        Ok(Json(FamilyPage {
            items: p.items.into_iter().map(FamilyView::from).collect(),
            next_cursor: p.next_cursor,
            total: p.total,
        }))
    }

    /// Get a family with its token chain
    #[oai(
        path = "/families/:id",
        method = "get",
        operation_id = "admin_get_family"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        _admin: AdminBearer,
        id: Path<String>,
    ) -> ApiResult<FamilyDetail> {
        let d = sessions::get(&state, &id.0).await?;
        Ok(Json(FamilyDetail {
            family: d.family.into(),
            tokens: d.chain.into_iter().map(ChainToken::from).collect(),
            replayed_generation: d.replayed_generation,
        }))
    }

    /// Revoke a family
    #[oai(
        path = "/families/:id/revoke",
        method = "post",
        operation_id = "admin_revoke_family"
    )]
    async fn revoke(
        &self,
        state: Data<&AppState>,
        req: &Request,
        admin: AdminBearer,
        id: Path<String>,
    ) -> ApiResult<FamilyView> {
        let f = sessions::revoke(&state, &actor(&admin.0, req), &id.0).await?;
        Ok(Json(f.into()))
    }
}
