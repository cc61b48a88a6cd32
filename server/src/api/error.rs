//! The one error body of every operation: RFC 6749 §5.2.

use poem_openapi::Object;

use crate::admin::AdminError;
use crate::oauth::OAuthError;

/// An error, in the shape RFC 6749 §5.2 defines for the token endpoint and used by every
/// Tessera endpoint.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct ErrorBody {
    /// A machine-readable code: `invalid_request`, `invalid_client`, `invalid_grant`,
    /// `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`,
    /// `temporarily_unavailable`, `server_error`, `not_found`, ...
    pub error: String,
    /// A human-readable explanation.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// The request field at fault (e.g. `grant_types`, `redirect_uris`), when one is.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ErrorBody {
    pub fn new(error: &str, description: impl Into<String>) -> Self {
        ErrorBody {
            error: error.to_owned(),
            error_description: Some(description.into()),
            field: None,
        }
    }

    /// An error about one field of the request.
    pub fn for_field(error: &str, field: Option<&str>, description: impl Into<String>) -> Self {
        ErrorBody {
            field: field.map(str::to_owned),
            ..Self::new(error, description)
        }
    }

    /// The OAuth error code of a grant failure.
    pub fn from_grant_code(e: &OAuthError) -> &'static str {
        match e {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient { .. } => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnauthorizedClient(_) => "unauthorized_client",
            OAuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::TooManyAttempts { .. } => "invalid_grant",
            OAuthError::ClientThrottled { .. } => "invalid_client",
            OAuthError::Unavailable(_) => "temporarily_unavailable",
            OAuthError::Internal(_) => "server_error",
        }
    }

    /// The body for a grant failure. Internal faults are logged here with their detail
    /// and answered generically.
    pub fn from_grant(e: &OAuthError) -> Self {
        match e {
            OAuthError::InvalidRequest(d) => Self::new("invalid_request", d),
            OAuthError::InvalidClient { description, .. } => {
                Self::new("invalid_client", description)
            }
            OAuthError::InvalidGrant(d) => Self::new("invalid_grant", d),
            OAuthError::UnauthorizedClient(d) => Self::new("unauthorized_client", d),
            OAuthError::UnsupportedGrantType(d) => Self::new("unsupported_grant_type", d),
            OAuthError::InvalidScope(d) => Self::new("invalid_scope", d),
            OAuthError::TooManyAttempts { description, .. } => {
                Self::new("invalid_grant", description)
            }
            OAuthError::ClientThrottled { .. } => Self::new("invalid_client", e.to_string()),
            OAuthError::Unavailable(d) => Self::new("temporarily_unavailable", d),
            OAuthError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                Self::new("server_error", "an internal error occurred")
            }
        }
    }
}

/// The error statuses every OAuth endpoint answers with; [`OAuthErrors::from_grant`] is
/// the one mapping from a [`OAuthError`] to status, body and headers.
pub trait OAuthErrors: Sized {
    fn bad_request(body: poem_openapi::payload::Json<ErrorBody>) -> Self;
    fn unauthorized(
        body: poem_openapi::payload::Json<ErrorBody>,
        www_authenticate: Option<String>,
    ) -> Self;
    fn internal(body: poem_openapi::payload::Json<ErrorBody>) -> Self;
    fn unavailable(body: poem_openapi::payload::Json<ErrorBody>, retry_after: String) -> Self;
    /// 429; endpoints that never throttle answer 400.
    fn too_many_attempts(
        body: poem_openapi::payload::Json<ErrorBody>,
        retry_after: String,
    ) -> Self {
        let _ = retry_after;
        Self::bad_request(body)
    }

    fn from_grant(e: OAuthError) -> Self {
        let body = poem_openapi::payload::Json(ErrorBody::from_grant(&e));
        match e {
            OAuthError::InvalidClient { basic, .. } => Self::unauthorized(
                body,
                basic.then(|| "Basic realm=\"tessera\", charset=\"UTF-8\"".to_owned()),
            ),
            OAuthError::Unavailable(_) => Self::unavailable(body, "1".into()),
            OAuthError::TooManyAttempts { retry_after, .. }
            | OAuthError::ClientThrottled { retry_after, .. } => {
                Self::too_many_attempts(body, retry_after.to_string())
            }
            OAuthError::Internal(_) => Self::internal(body),
            _ => Self::bad_request(body),
        }
    }
}

/// RFC 6749 §3.2: a form parameter sent without a value is treated as omitted.
pub fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// Describes a request the framework could not parse, for a `bad_request_handler`.
pub fn describe_parse_error(err: &poem::Error) -> String {
    let text = err.to_string();
    if text.is_empty() {
        "the request could not be parsed".into()
    } else {
        text
    }
}

/// The error side of every non-OAuth operation (`/me`, `/admin/v1`): always an
/// [`ErrorBody`], with the status that fits.
#[derive(Debug, poem_openapi::ApiResponse)]
pub enum ApiError {
    /// `invalid_request`: the input is malformed or fails validation.
    #[oai(status = 400)]
    BadRequest(poem_openapi::payload::Json<ErrorBody>),
    /// `invalid_token`: no bearer token, or it is invalid, expired or its session ended.
    #[oai(status = 401)]
    Unauthorized(
        poem_openapi::payload::Json<ErrorBody>,
        #[oai(header = "WWW-Authenticate")] String,
    ),
    /// `insufficient_scope`: the token may not do this (RFC 6750 §3.1).
    #[oai(status = 403)]
    Forbidden(
        poem_openapi::payload::Json<ErrorBody>,
        #[oai(header = "WWW-Authenticate")] String,
    ),
    /// `not_found`.
    #[oai(status = 404)]
    NotFound(poem_openapi::payload::Json<ErrorBody>),
    /// `conflict`: a name already taken, or a state that forbids the change.
    #[oai(status = 409)]
    Conflict(poem_openapi::payload::Json<ErrorBody>),
    /// `invalid_request`: the body is over `body_limit` (answered before any operation
    /// reads it, by `app.rs`).
    #[oai(status = 413)]
    TooLarge(poem_openapi::payload::Json<ErrorBody>),
    /// `invalid_request`: the body is not `application/json`, or has no `Content-Type`
    /// (answered by the framework before the operation runs).
    #[oai(status = 415)]
    UnsupportedMediaType(poem_openapi::payload::Json<ErrorBody>),
    /// `server_error`.
    #[oai(status = 500)]
    Internal(poem_openapi::payload::Json<ErrorBody>),
    /// `temporarily_unavailable`; retry after the given seconds.
    #[oai(status = 503)]
    Unavailable(
        poem_openapi::payload::Json<ErrorBody>,
        #[oai(header = "Retry-After")] String,
    ),
}

impl ApiError {
    pub fn bad_request(d: impl Into<String>) -> Self {
        ApiError::BadRequest(poem_openapi::payload::Json(ErrorBody::new(
            "invalid_request",
            d,
        )))
    }

    pub fn unauthorized(d: impl Into<String>) -> Self {
        ApiError::Unauthorized(
            poem_openapi::payload::Json(ErrorBody::new("invalid_token", d)),
            "Bearer realm=\"tessera\", error=\"invalid_token\"".into(),
        )
    }

    pub fn forbidden(d: impl Into<String>) -> Self {
        ApiError::Forbidden(
            poem_openapi::payload::Json(ErrorBody::new("insufficient_scope", d)),
            "Bearer realm=\"tessera\", error=\"insufficient_scope\"".into(),
        )
    }

    pub fn not_found(d: impl Into<String>) -> Self {
        ApiError::NotFound(poem_openapi::payload::Json(ErrorBody::new("not_found", d)))
    }

    pub fn conflict(d: impl Into<String>) -> Self {
        ApiError::Conflict(poem_openapi::payload::Json(ErrorBody::new("conflict", d)))
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        ApiError::Internal(poem_openapi::payload::Json(ErrorBody::new(
            "server_error",
            "an internal error occurred",
        )))
    }

    /// For a security-scheme checker, which must fail with a `poem::Error`.
    pub fn into_poem(self) -> poem::Error {
        poem::Error::from_response(poem::IntoResponse::into_response(self))
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        use poem_openapi::payload::Json;
        match e {
            AdminError::Invalid { field, message } => ApiError::BadRequest(Json(
                ErrorBody::for_field("invalid_request", field, message),
            )),
            AdminError::NotFound(d) => ApiError::not_found(d),
            AdminError::Conflict { field, message } => {
                ApiError::Conflict(Json(ErrorBody::for_field("conflict", field, message)))
            }
            AdminError::Unavailable(d) => ApiError::Unavailable(
                Json(ErrorBody::new("temporarily_unavailable", d)),
                "1".into(),
            ),
            AdminError::Internal(d) => ApiError::internal(d),
        }
    }
}

impl From<crate::oauth::OAuthError> for ApiError {
    fn from(e: crate::oauth::OAuthError) -> Self {
        use crate::oauth::OAuthError as G;
        let body = poem_openapi::payload::Json(ErrorBody::from_grant(&e));
        match e {
            G::Unavailable(_) => ApiError::Unavailable(body, "1".into()),
            G::Internal(_) => ApiError::Internal(body),
            G::InvalidClient { .. } => {
                ApiError::Unauthorized(body, "Basic realm=\"tessera\"".into())
            }
            _ => ApiError::BadRequest(body),
        }
    }
}

/// The result of a non-OAuth operation.
pub type ApiResult<T> = Result<poem_openapi::payload::Json<T>, ApiError>;
