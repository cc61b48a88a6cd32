//! The one error body of every operation: RFC 6749 §5.2.

use poem_openapi::Object;

use crate::grants::GrantError;

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
    pub error_description: Option<String>,
}

impl ErrorBody {
    pub fn new(error: &str, description: impl Into<String>) -> Self {
        ErrorBody {
            error: error.to_owned(),
            error_description: Some(description.into()),
        }
    }

    /// The OAuth error code of a grant failure.
    pub fn from_grant_code(e: &GrantError) -> &'static str {
        match e {
            GrantError::InvalidRequest(_) => "invalid_request",
            GrantError::InvalidClient { .. } => "invalid_client",
            GrantError::InvalidGrant(_) => "invalid_grant",
            GrantError::UnauthorizedClient(_) => "unauthorized_client",
            GrantError::UnsupportedGrantType(_) => "unsupported_grant_type",
            GrantError::InvalidScope(_) => "invalid_scope",
            GrantError::TooManyAttempts { .. } => "invalid_grant",
            GrantError::Unavailable(_) => "temporarily_unavailable",
            GrantError::Internal(_) => "server_error",
        }
    }

    /// The body for a grant failure. Internal faults are logged here with their detail
    /// and answered generically.
    pub fn from_grant(e: &GrantError) -> Self {
        match e {
            GrantError::InvalidRequest(d) => Self::new("invalid_request", d),
            GrantError::InvalidClient { description, .. } => {
                Self::new("invalid_client", description)
            }
            GrantError::InvalidGrant(d) => Self::new("invalid_grant", d),
            GrantError::UnauthorizedClient(d) => Self::new("unauthorized_client", d),
            GrantError::UnsupportedGrantType(d) => Self::new("unsupported_grant_type", d),
            GrantError::InvalidScope(d) => Self::new("invalid_scope", d),
            GrantError::TooManyAttempts { description, .. } => {
                Self::new("invalid_grant", description)
            }
            GrantError::Unavailable(d) => Self::new("temporarily_unavailable", d),
            GrantError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                Self::new("server_error", "an internal error occurred")
            }
        }
    }
}

/// The error statuses every OAuth endpoint answers with; [`OAuthErrors::from_grant`] is
/// the one mapping from a [`GrantError`] to status, body and headers.
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

    fn from_grant(e: GrantError) -> Self {
        let body = poem_openapi::payload::Json(ErrorBody::from_grant(&e));
        match e {
            GrantError::InvalidClient { basic, .. } => Self::unauthorized(
                body,
                basic.then(|| "Basic realm=\"tessera\", charset=\"UTF-8\"".to_owned()),
            ),
            GrantError::Unavailable(_) => Self::unavailable(body, "1".into()),
            GrantError::TooManyAttempts { retry_after, .. } => {
                Self::too_many_attempts(body, retry_after.to_string())
            }
            GrantError::Internal(_) => Self::internal(body),
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
    /// `insufficient_scope` / `forbidden`: the token may not do this.
    #[oai(status = 403)]
    Forbidden(poem_openapi::payload::Json<ErrorBody>),
    /// `not_found`.
    #[oai(status = 404)]
    NotFound(poem_openapi::payload::Json<ErrorBody>),
    /// `conflict`: a name already taken, or a state that forbids the change.
    #[oai(status = 409)]
    Conflict(poem_openapi::payload::Json<ErrorBody>),
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
        ApiError::Forbidden(poem_openapi::payload::Json(ErrorBody::new(
            "insufficient_scope",
            d,
        )))
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

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        let text = e.to_string();
        if text.contains("database is locked") || text.contains("pool timed out") {
            ApiError::Unavailable(
                poem_openapi::payload::Json(ErrorBody::new(
                    "temporarily_unavailable",
                    "the database is busy, retry shortly",
                )),
                "1".into(),
            )
        } else {
            ApiError::internal(text)
        }
    }
}

impl From<crate::grants::GrantError> for ApiError {
    fn from(e: crate::grants::GrantError) -> Self {
        use crate::grants::GrantError as G;
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
