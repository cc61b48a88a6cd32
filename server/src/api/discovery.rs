//! `GET /.well-known/oauth-authorization-server` (RFC 8414) and
//! `GET /.well-known/jwks.json` (RFC 7517).

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::ApiTag;
use super::error::ErrorBody;
use crate::crypto::keys::SigningAlg;
use crate::domain::GrantType;
use crate::state::AppState;

#[derive(Default)]
pub struct DiscoveryApi;

/// Authorization server metadata (RFC 8414 §2). Lists only what this server supports.
#[derive(Debug, Object)]
pub struct ServerMetadata {
    pub issuer: String,
    /// RFC 6749 §3.1: the sign-in page (authorization code with PKCE).
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    /// RFC 7009.
    pub revocation_endpoint: String,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 7662 (confidential clients only).
    pub introspection_endpoint: String,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// `code` only.
    pub response_types_supported: Vec<String>,
    /// RFC 7636: `S256` only (`plain` is refused).
    pub code_challenge_methods_supported: Vec<String>,
    /// RFC 9207: authorization responses carry `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    /// Where a browser ends its sign-in session (`GET|POST`).
    pub end_session_endpoint: String,
    pub grant_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// JWS algorithms of published signing keys (a Tessera extension; RFC 8414 has no
    /// field for access-token signing algorithms).
    pub access_token_signing_alg_values_supported: Vec<String>,
    pub service_documentation: String,
}

/// One public key (RFC 7517 §4). Which members are present depends on `kty`.
#[derive(Debug, Object, Deserialize)]
#[oai(skip_serializing_if_is_none)]
pub struct Jwk {
    /// `EC`, `OKP` or `RSA`.
    pub kty: String,
    pub kid: Option<String>,
    pub alg: Option<String>,
    #[oai(rename = "use")]
    #[serde(rename = "use")]
    pub use_: Option<String>,
    /// Curve (`P-256`, `Ed25519`).
    #[oai(skip_serializing_if_is_none)]
    pub crv: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub x: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub y: Option<String>,
    /// RSA modulus.
    #[oai(skip_serializing_if_is_none)]
    pub n: Option<String>,
    /// RSA exponent.
    #[oai(skip_serializing_if_is_none)]
    pub e: Option<String>,
}

/// A JWK Set: the keys that verify access tokens now.
#[derive(Debug, Object)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

#[derive(ApiResponse)]
pub enum JwksResponse {
    /// The published keys. Cacheable for a minute; a new key is published before it
    /// signs anything.
    #[oai(status = 200)]
    Ok(Json<Jwks>, #[oai(header = "Cache-Control")] String),
    /// An internal fault.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
}

#[derive(ApiResponse)]
#[allow(clippy::large_enum_variant)] // built once per request, never stored
pub enum MetadataResponse {
    /// The server metadata.
    #[oai(status = 200)]
    Ok(
        Json<ServerMetadata>,
        #[oai(header = "Cache-Control")] String,
    ),
    /// An internal fault.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
}

#[OpenApi(tag = "ApiTag::Discovery")]
impl DiscoveryApi {
    /// Authorization server metadata
    #[oai(
        path = "/.well-known/oauth-authorization-server",
        method = "get",
        operation_id = "server_metadata"
    )]
    async fn metadata(&self, state: Data<&AppState>) -> MetadataResponse {
        let iss = &state.issuer;
        let mut algs: Vec<String> = state
            .keys()
            .algs()
            .into_iter()
            .map(|a| a.as_str().to_owned())
            .collect();
        if algs.is_empty() {
            algs.push(SigningAlg::Es256.as_str().to_owned());
        }
        MetadataResponse::Ok(
            Json(ServerMetadata {
                issuer: iss.clone(),
                authorization_endpoint: format!("{iss}/oauth/authorize"),
                token_endpoint: format!("{iss}/oauth/token"),
                jwks_uri: format!("{iss}/.well-known/jwks.json"),
                revocation_endpoint: format!("{iss}/oauth/revoke"),
                revocation_endpoint_auth_methods_supported: vec![
                    "client_secret_basic".into(),
                    "client_secret_post".into(),
                    "none".into(),
                ],
                introspection_endpoint: format!("{iss}/oauth/introspect"),
                introspection_endpoint_auth_methods_supported: vec![
                    "client_secret_basic".into(),
                    "client_secret_post".into(),
                ],
                response_types_supported: vec!["code".into()],
                code_challenge_methods_supported: vec!["S256".into()],
                authorization_response_iss_parameter_supported: true,
                end_session_endpoint: format!("{iss}/oauth/logout"),
                grant_types_supported: GrantType::SUPPORTED
                    .iter()
                    .map(|g| g.as_str().to_owned())
                    .collect(),
                token_endpoint_auth_methods_supported: vec![
                    "client_secret_basic".into(),
                    "client_secret_post".into(),
                    "none".into(),
                ],
                access_token_signing_alg_values_supported: algs,
                service_documentation: format!("{iss}/docs"),
            }),
            "public, max-age=300".into(),
        )
    }

    /// Published signing keys
    #[oai(path = "/.well-known/jwks.json", method = "get", operation_id = "jwks")]
    async fn jwks(&self, state: Data<&AppState>) -> JwksResponse {
        let set = state.keys().jwks(state.clock.now_ms());
        let keys =
            match serde_json::to_value(&set.keys).and_then(serde_json::from_value::<Vec<Jwk>>) {
                Ok(k) => k,
                Err(e) => {
                    tracing::error!(error = %e, "cannot serialise the JWKS");
                    return JwksResponse::Internal(Json(ErrorBody::new(
                        "server_error",
                        "an internal error occurred",
                    )));
                }
            };
        JwksResponse::Ok(Json(Jwks { keys }), "public, max-age=60".into())
    }
}
