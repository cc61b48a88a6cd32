use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::{Deleted, RevokedCount, actor, page};
use crate::admin::sessions::{self, Owner};
use crate::admin::users::{self, UserRecord};
use crate::api::ApiTag;
use crate::api::auth::AdminBearer;
use crate::api::error::ApiResult;
use crate::api::time::{datetime, opt_datetime};
use crate::state::AppState;

#[derive(Default)]
pub struct AdminUsersApi;

/// A user as administrators see it (never the password hash).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: time::OffsetDateTime,
    pub updated_at: time::OffsetDateTime,
    pub last_login_at: Option<time::OffsetDateTime>,
    /// Refresh families that can still be refreshed.
    pub live_sessions: i64,
}

impl From<UserRecord> for UserView {
    fn from(u: UserRecord) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            is_admin: u.is_admin,
            disabled: u.disabled,
            created_at: datetime(u.created_at),
            updated_at: datetime(u.updated_at),
            last_login_at: opt_datetime(u.last_login_at),
            live_sessions: u.live_sessions,
        }
    }
}

/// A page of users, by username.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UserPage {
    pub items: Vec<UserView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// Users matching the filter, on all pages.
    pub total: u64,
}

#[derive(Debug, Object)]
pub struct CreateUser {
    /// 1 to 64 letters, digits and `. _ - @ +`.
    pub username: String,
    /// At least 8 characters; generated (and returned once) when absent.
    #[oai(write_only)]
    pub password: Option<String>,
    #[oai(default)]
    pub is_admin: bool,
}

/// The new user, and its generated password (shown once) if none was given.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UserCreated {
    pub user: UserView,
    pub generated_password: Option<String>,
}

/// Fields to change; absent fields stay as they are. Disabling ends all sessions.
#[derive(Debug, Object)]
pub struct UpdateUser {
    pub is_admin: Option<bool>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Object)]
pub struct SetPassword {
    /// At least 8 characters; generated (and returned once) when absent.
    #[oai(write_only)]
    pub password: Option<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PasswordSet {
    pub generated_password: Option<String>,
    /// Sessions ended by the change.
    pub sessions_ended: u64,
}

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::AdminUsers")]
impl AdminUsersApi {
    /// List users
    ///
    /// Ordered by username; `search` (at most 64 characters) matches any part of it,
    /// ignoring case.
    #[oai(path = "/users", method = "get", operation_id = "admin_list_users")]
    async fn list(
        &self,
        state: Data<&AppState>,
        _admin: AdminBearer,
        search: Query<Option<String>>,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> ApiResult<UserPage> {
        let p = users::list(&state, search.0, &page(cursor.0, limit.0)).await?;
        Ok(Json(UserPage {
            items: p.items.into_iter().map(UserView::from).collect(),
            next_cursor: p.next_cursor,
            total: p.total,
        }))
    }

    /// Create a user
    #[oai(path = "/users", method = "post", operation_id = "admin_create_user")]
    async fn create(
        &self,
        state: Data<&AppState>,
        req: &Request,
        admin: AdminBearer,
        body: Json<CreateUser>,
    ) -> ApiResult<UserCreated> {
        let b = body.0;
        let (u, generated_password) = users::create(
            &state,
            &actor(&admin.0, req),
            &b.username,
            b.password,
            b.is_admin,
        )
        .await?;
        Ok(Json(UserCreated {
            user: u.into(),
            generated_password,
        }))
    }

    /// Get a user
    #[oai(path = "/users/:id", method = "get", operation_id = "admin_get_user")]
    async fn get(
        &self,
        state: Data<&AppState>,
        _admin: AdminBearer,
        id: Path<String>,
    ) -> ApiResult<UserView> {
        Ok(Json(users::get(&state, &id.0).await?.into()))
    }

    /// Update a user (admin role, disabled)
    ///
    /// Disabling a user ends all their sessions. The last enabled administrator cannot be
    /// demoted or disabled.
    #[oai(
        path = "/users/:id",
        method = "patch",
        operation_id = "admin_update_user"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        req: &Request,
        admin: AdminBearer,
        id: Path<String>,
        body: Json<UpdateUser>,
    ) -> ApiResult<UserView> {
        let (u, _ended) = users::update(
            &state,
            &actor(&admin.0, req),
            &id.0,
            body.is_admin,
            body.disabled,
        )
        .await?;
        Ok(Json(u.into()))
    }

    /// Set a user's password
    ///
    /// Ends all the user's sessions. Without a password one is generated and returned once.
    #[oai(
        path = "/users/:id/password",
        method = "put",
        operation_id = "admin_set_password"
    )]
    async fn set_password(
        &self,
        state: Data<&AppState>,
        req: &Request,
        admin: AdminBearer,
        id: Path<String>,
        body: Json<SetPassword>,
    ) -> ApiResult<PasswordSet> {
        let (sessions_ended, generated_password) =
            users::set_password(&state, &actor(&admin.0, req), &id.0, body.0.password).await?;
        Ok(Json(PasswordSet {
            generated_password,
            sessions_ended,
        }))
    }

    /// Delete a user
    ///
    /// Ends the user's sessions. The last enabled administrator cannot be deleted.
    #[oai(
        path = "/users/:id",
        method = "delete",
        operation_id = "admin_delete_user"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        req: &Request,
        admin: AdminBearer,
        id: Path<String>,
    ) -> ApiResult<Deleted> {
        let sessions_ended = users::delete(&state, &actor(&admin.0, req), &id.0).await?;
        Ok(Json(Deleted {
            id: id.0,
            sessions_ended,
        }))
    }

    /// End all of a user's sessions
    #[oai(
        path = "/users/:id/revoke-sessions",
        method = "post",
        operation_id = "admin_revoke_user_sessions"
    )]
    async fn revoke_sessions(
        &self,
        state: Data<&AppState>,
        req: &Request,
        admin: AdminBearer,
        id: Path<String>,
    ) -> ApiResult<RevokedCount> {
        let revoked =
            sessions::revoke_all(&state, &actor(&admin.0, req), Owner::User(&id.0)).await?;
        Ok(Json(RevokedCount { revoked }))
    }
}
