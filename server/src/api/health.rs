//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers).

use poem::web::Data;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTag;
use super::error::ErrorBody;
use crate::state::AppState;

#[derive(Default)]
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

#[derive(ApiResponse)]
pub enum MetricsResponse {
    /// Prometheus text exposition format.
    #[oai(
        status = 200,
        content_type = "text/plain; version=0.0.4; charset=utf-8"
    )]
    Ok(PlainText<String>),
    /// Never returned; present so the operation has an error body type like every other.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
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

    /// Prometheus metrics
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self, state: Data<&AppState>) -> MetricsResponse {
        state
            .metrics
            .hash_in_flight
            .set(i64::try_from(state.hasher.in_flight()).unwrap_or(i64::MAX));
        MetricsResponse::Ok(PlainText(state.metrics.render()))
    }

    /// Readiness: the database is reachable
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&AppState>) -> HealthResponse {
        let started = std::time::Instant::now();
        let ping = state.db.ping().await;
        state.metrics.db("ping", started);
        match ping {
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
