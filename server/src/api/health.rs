//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers).

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTag;
use super::error::ErrorBody;
use crate::state::AppState;

pub struct HealthApi;

/// A probe's answer.
#[derive(Debug, Object)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

#[derive(ApiResponse)]
pub enum HealthResponse {
    /// Healthy.
    #[oai(status = 200)]
    Ok(Json<Health>),
    /// Not ready: the database cannot be reached.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

#[OpenApi(tag = "ApiTag::Operations")]
impl HealthApi {
    /// Liveness
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> HealthResponse {
        HealthResponse::Ok(Json(Health {
            status: "ok".into(),
        }))
    }

    /// Readiness: the database is reachable
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&AppState>) -> HealthResponse {
        match state.db.ping().await {
            Ok(()) => HealthResponse::Ok(Json(Health {
                status: "ok".into(),
            })),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                HealthResponse::Unavailable(Json(ErrorBody::new(
                    "temporarily_unavailable",
                    "the database is not reachable",
                )))
            }
        }
    }
}
