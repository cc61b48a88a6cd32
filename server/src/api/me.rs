//! `/me/sessions`: a signed-in user lists and ends their own refresh families.

use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::ApiTag;
use super::auth::UserBearer;
use super::error::ApiResult;
use super::meta::request_meta;
use super::time::datetime;
use crate::admin::sessions::Owner;
use crate::admin::{Actor, sessions};
use crate::domain::RevokeReason;
use crate::state::AppState;

#[derive(Default)]
pub struct MeApi;

/// One of the caller's sessions (a live refresh family).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
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
        let sessions = sessions::list_own(&state, &p.user_id)
            .await?
            .into_iter()
            .map(|f| Session {
                last_used_at: datetime(f.last_used_at),
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
        let actor = user_actor(&auth.0, req);
        let revoked = sessions::end_own(&state, &actor, &id.0).await?;
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
    async fn end_all(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: UserBearer,
    ) -> ApiResult<Revoked> {
        let actor = user_actor(&auth.0, req);
        let n = sessions::end_all(
            &state,
            &actor,
            Owner::User(&auth.0.user_id),
            RevokeReason::Logout,
        )
        .await?;
        Ok(Json(Revoked { revoked: n }))
    }
}

/// The caller, acting on their own sessions.
pub fn user_actor(p: &super::auth::Principal, req: &Request) -> Actor {
    Actor::User {
        id: p.user_id.clone(),
        ip: request_meta(req).ip,
    }
}
