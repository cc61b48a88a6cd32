//! `/me/sessions`: a signed-in user lists and ends their own refresh families.

use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::ApiTag;
use super::auth::UserBearer;
use super::error::{ApiError, ApiResult};
use super::meta::request_meta;
use super::time::datetime;
use crate::domain::RevokeReason;
use crate::lifecycle;
use crate::state::AppState;
use crate::store::families;

#[derive(Default)]
pub struct MeApi;

/// One of the caller's sessions (a live refresh family).
#[derive(Debug, Object)]
pub struct Session {
    pub id: String,
    pub client_id: String,
    pub created_at: time::OffsetDateTime,
    /// When its refresh token last rotated.
    pub last_used_at: time::OffsetDateTime,
    /// Its absolute end.
    pub expires_at: time::OffsetDateTime,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// True for the session of the token making this request.
    pub current: bool,
}

/// The caller's live sessions, newest first.
#[derive(Debug, Object)]
pub struct SessionList {
    pub sessions: Vec<Session>,
}

/// How many sessions a request ended.
#[derive(Debug, Object)]
pub struct Revoked {
    pub revoked: u64,
}

#[OpenApi(tag = "ApiTag::Me")]
impl MeApi {
    /// List my sessions
    #[oai(
        path = "/me/sessions",
        method = "get",
        operation_id = "me_list_sessions"
    )]
    async fn list(&self, state: Data<&AppState>, auth: UserBearer) -> ApiResult<SessionList> {
        let p = auth.0;
        let now = state.clock.now_ms();
        let fams = families::live_for_user(&state.db.read, &p.user_id, now).await?;
        let ids: Vec<String> = fams.iter().map(|f| f.id.clone()).collect();
        let last = families::last_used(&state.db.read, &ids).await?;
        let sessions = fams
            .into_iter()
            .map(|f| Session {
                last_used_at: datetime(last.get(&f.id).copied().unwrap_or(f.created_at)),
                created_at: datetime(f.created_at),
                expires_at: datetime(f.expires_at),
                current: f.id == p.family_id,
                id: f.id,
                client_id: f.client_id,
                user_agent: f.user_agent,
                ip: f.ip,
            })
            .collect();
        Ok(Json(SessionList { sessions }))
    }

    /// End one of my sessions
    #[oai(
        path = "/me/sessions/:id",
        method = "delete",
        operation_id = "me_end_session"
    )]
    async fn end_one(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: UserBearer,
        id: Path<String>,
    ) -> ApiResult<Revoked> {
        let p = auth.0;
        let family = families::find(&state.db.read, &id.0)
            .await?
            .filter(|f| f.user_id.as_deref() == Some(p.user_id.as_str()))
            .ok_or_else(|| ApiError::not_found("no such session"))?;
        let revoked = lifecycle::end_family(
            &state,
            &family,
            RevokeReason::Logout,
            &p.user_id,
            request_meta(req).ip,
        )
        .await?;
        Ok(Json(Revoked {
            revoked: u64::from(revoked),
        }))
    }

    /// End all my sessions ("sign out everywhere"), this one included
    #[oai(
        path = "/me/sessions",
        method = "delete",
        operation_id = "me_end_all_sessions"
    )]
    async fn end_all(&self, state: Data<&AppState>, auth: UserBearer) -> ApiResult<Revoked> {
        let p = auth.0;
        let n = lifecycle::end_sessions(
            &state,
            families::Owner::User(&p.user_id),
            RevokeReason::Logout,
            &p.user_id,
        )
        .await?;
        Ok(Json(Revoked { revoked: n }))
    }
}
