use std::collections::HashMap;

use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{actor, bad};
use crate::admin;
use crate::api::ApiTag;
use crate::api::auth::AdminBearer;
use crate::api::error::{ApiError, ApiResult};
use crate::api::time::{datetime, millis, opt_datetime};
use crate::clock::Millis;
use crate::domain::RevokeReason;
use crate::state::AppState;
use crate::store::audit;
use crate::store::entities::{refresh_family, refresh_token, user};
use crate::store::families::{self, FamilyFilter, FamilyState};

#[derive(Default)]
pub struct AdminFamiliesApi;

/// A refresh family: one sign-in and every token rotated from it.
#[derive(Debug, Object)]
pub struct FamilyView {
    pub id: String,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub client_id: String,
    pub scope: String,
    /// `active`, `revoked` or `expired`.
    pub state: String,
    pub created_at: time::OffsetDateTime,
    pub expires_at: time::OffsetDateTime,
    pub revoked_at: Option<time::OffsetDateTime>,
    /// `logout`, `admin`, `reuse_detected`, `password_changed`, `user_disabled`,
    /// `client_removed`.
    pub revoke_reason: Option<String>,
    pub last_used_at: time::OffsetDateTime,
    /// Tokens in the chain (the first sign-in is generation 0).
    pub generations: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Object)]
pub struct FamilyPage {
    /// Newest first.
    pub items: Vec<FamilyView>,
    pub next_cursor: Option<String>,
    pub total: u64,
}

/// One token of a chain (never its value).
#[derive(Debug, Object)]
pub struct ChainToken {
    pub generation: i32,
    /// `active` (the live one), `used` (exchanged), `invalidated` (replaced by a retry
    /// within the reuse leeway), `revoked` (unused when its family was revoked) or
    /// `expired`.
    pub state: String,
    pub issued_at: time::OffsetDateTime,
    pub expires_at: time::OffsetDateTime,
    pub used_at: Option<time::OffsetDateTime>,
    /// Where it was issued to.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// This generation was presented again after use: the replay that revoked the family.
    pub replayed: bool,
}

#[derive(Debug, Object)]
pub struct FamilyDetail {
    pub family: FamilyView,
    /// Oldest first.
    pub tokens: Vec<ChainToken>,
    pub replayed_generation: Option<i64>,
}

fn state_name(s: FamilyState) -> &'static str {
    match s {
        FamilyState::Active => "active",
        FamilyState::Revoked => "revoked",
        FamilyState::Expired => "expired",
    }
}

/// Views for a batch of families, with user names, last use and chain lengths.
async fn views(
    state: &AppState,
    rows: Vec<refresh_family::Model>,
) -> Result<Vec<FamilyView>, ApiError> {
    use sea_orm::QuerySelect;
    let now = state.clock.now_ms();
    let ids: Vec<String> = rows.iter().map(|f| f.id.clone()).collect();
    let user_ids: Vec<String> = rows.iter().filter_map(|f| f.user_id.clone()).collect();
    let names: HashMap<String, String> = if user_ids.is_empty() {
        HashMap::new()
    } else {
        user::Entity::find()
            .filter(user::Column::Id.is_in(user_ids))
            .all(&state.db.read)
            .await?
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect()
    };
    let last = families::last_used(&state.db.read, &ids).await?;
    let counts: HashMap<String, i64> = if ids.is_empty() {
        HashMap::new()
    } else {
        refresh_token::Entity::find()
            .select_only()
            .column(refresh_token::Column::FamilyId)
            .column_as(refresh_token::Column::Id.count(), "n")
            .filter(refresh_token::Column::FamilyId.is_in(ids.iter().cloned()))
            .group_by(refresh_token::Column::FamilyId)
            .into_tuple::<(String, i64)>()
            .all(&state.db.read)
            .await?
            .into_iter()
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|f| FamilyView {
            username: f.user_id.as_ref().and_then(|u| names.get(u).cloned()),
            state: state_name(FamilyState::of(&f, now)).to_owned(),
            last_used_at: datetime(last.get(&f.id).copied().unwrap_or(f.created_at)),
            generations: counts.get(&f.id).copied().unwrap_or(0),
            created_at: datetime(f.created_at),
            expires_at: datetime(f.expires_at),
            revoked_at: opt_datetime(f.revoked_at),
            id: f.id,
            user_id: f.user_id,
            client_id: f.client_id,
            scope: f.scope,
            revoke_reason: f.revoke_reason,
            user_agent: f.user_agent,
            ip: f.ip,
        })
        .collect())
}

fn chain_state(t: &refresh_token::Model, family_revoked: bool, now: Millis) -> &'static str {
    if t.invalidated {
        "invalidated"
    } else if t.used_at.is_some() {
        "used"
    } else if family_revoked {
        "revoked"
    } else if t.expires_at <= now {
        "expired"
    } else {
        "active"
    }
}

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::AdminFamilies")]
impl AdminFamiliesApi {
    /// List refresh families
    ///
    /// Newest first, filtered by user, client, state (`active`, `revoked`, `expired`),
    /// revoke reason (e.g. `reuse_detected`) and creation time.
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
        client_id: Query<Option<String>>,
        #[oai(name = "state")] family_state: Query<Option<String>>,
        reason: Query<Option<String>>,
        created_after: Query<Option<time::OffsetDateTime>>,
        created_before: Query<Option<time::OffsetDateTime>>,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> ApiResult<FamilyPage> {
        let limit = super::limit(limit.0)?;
        let st = match family_state.0.as_deref() {
            None | Some("") => None,
            Some("active") => Some(FamilyState::Active),
            Some("revoked") => Some(FamilyState::Revoked),
            Some("expired") => Some(FamilyState::Expired),
            Some(other) => {
                return Err(bad(format!(
                    "state: `{other}` is not active, revoked or expired"
                )));
            }
        };
        if let Some(r) = reason.0.as_deref().filter(|r| !r.is_empty())
            && RevokeReason::parse(r).is_none()
        {
            return Err(bad(format!("reason: unknown revoke reason `{r}`")));
        }
        let filter = FamilyFilter {
            user_id: user_id.0.filter(|s| !s.is_empty()),
            client_id: client_id.0.filter(|s| !s.is_empty()),
            state: st,
            reason: reason.0.filter(|s| !s.is_empty()),
            created_after: created_after.0.map(millis),
            created_before: created_before.0.map(millis),
        };
        let now = state.clock.now_ms();
        let (rows, total) =
            families::page(&state.db.read, &filter, cursor.0.as_deref(), limit, now).await?;
        let next_cursor = (rows.len() as u64 == limit)
            .then(|| rows.last().map(|f| f.id.clone()))
            .flatten();
        Ok(Json(FamilyPage {
            items: views(&state, rows).await?,
            next_cursor,
            total,
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
        let f = families::find(&state.db.read, &id.0)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no family {}", id.0)))?;
        let now = state.clock.now_ms();
        let replayed_generation = audit::replayed_generation(&state.db.read, &f.id).await?;
        let revoked = f.revoked_at.is_some();
        let tokens = families::tokens_of(&state.db.read, &f.id)
            .await?
            .into_iter()
            .map(|t| ChainToken {
                state: chain_state(&t, revoked, now).to_owned(),
                replayed: replayed_generation == Some(i64::from(t.generation)),
                generation: t.generation,
                issued_at: datetime(t.issued_at),
                expires_at: datetime(t.expires_at),
                used_at: opt_datetime(t.used_at),
                ip: t.ip,
                user_agent: t.user_agent,
            })
            .collect();
        let family = views(&state, vec![f])
            .await?
            .pop()
            .ok_or_else(|| ApiError::internal("family view missing"))?;
        Ok(Json(FamilyDetail {
            family,
            tokens,
            replayed_generation,
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
        let f = admin::revoke_family(&state, &actor(&admin.0, req), &id.0).await?;
        let view = views(&state, vec![f])
            .await?
            .pop()
            .ok_or_else(|| ApiError::internal("family view missing"))?;
        Ok(Json(view))
    }
}
