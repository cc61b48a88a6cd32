use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::{actor, page};
use crate::admin::signin_sessions::{self, SigninSessionQuery, SigninSessionRecord};
use crate::api::ApiTag;
use crate::api::auth::AdminBearer;
use crate::api::error::ApiResult;
use crate::api::time::{datetime, opt_datetime};
use crate::domain::RevokeReason;
use crate::state::AppState;

#[derive(Default)]
pub struct AdminSigninSessionsApi;

/// A browser sign-in session (the sign-in page's cookie): while active, the user's
/// authorize requests skip the password.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SigninSessionView {
    pub id: String,
    pub user_id: String,
    pub username: Option<String>,
    pub created_at: time::OffsetDateTime,
    pub expires_at: time::OffsetDateTime,
    pub ended_at: Option<time::OffsetDateTime>,
    pub end_reason: Option<RevokeReason>,
    /// Not ended and not expired.
    pub active: bool,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl From<SigninSessionRecord> for SigninSessionView {
    fn from(s: SigninSessionRecord) -> Self {
        SigninSessionView {
            id: s.id,
            user_id: s.user_id,
            username: s.username,
            created_at: datetime(s.created_at),
            expires_at: datetime(s.expires_at),
            ended_at: opt_datetime(s.ended_at),
            end_reason: s.end_reason,
            active: s.active,
            ip: s.ip,
            user_agent: s.user_agent,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SigninSessionPage {
    /// Newest first.
    pub items: Vec<SigninSessionView>,
    pub next_cursor: Option<String>,
    pub total: u64,
}

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::AdminFamilies")]
impl AdminSigninSessionsApi {
    /// List browser sign-in sessions
    ///
    /// Active ones, newest first; `include_ended=true` adds ended and expired ones.
    /// Filter by user (`user_id` or `username`).
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/signin-sessions",
        method = "get",
        operation_id = "admin_list_signin_sessions"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        _admin: AdminBearer,
        user_id: Query<Option<String>>,
        username: Query<Option<String>>,
        include_ended: Query<Option<bool>>,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> ApiResult<SigninSessionPage> {
        let q = SigninSessionQuery {
            user_id: user_id.0,
            username: username.0,
            include_ended: include_ended.0.unwrap_or(false),
        };
        let p = signin_sessions::list(&state, q, &page(cursor.0, limit.0)).await?;
        Ok(Json(SigninSessionPage {
            items: p.items.into_iter().map(SigninSessionView::from).collect(),
            next_cursor: p.next_cursor,
            total: p.total,
        }))
    }

    /// End a browser sign-in session
    ///
    /// The user's next sign-in asks for the password again. Refresh families are
    /// separate sessions and are not ended.
    #[oai(
        path = "/signin-sessions/:id",
        method = "delete",
        operation_id = "admin_end_signin_session"
    )]
    async fn end(
        &self,
        state: Data<&AppState>,
        req: &Request,
        admin: AdminBearer,
        id: Path<String>,
    ) -> ApiResult<SigninSessionView> {
        let s = signin_sessions::end(&state, &actor(&admin.0, req), &id.0).await?;
        Ok(Json(s.into()))
    }
}
