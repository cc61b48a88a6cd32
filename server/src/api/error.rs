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
            GrantError::Unavailable(d) => Self::new("temporarily_unavailable", d),
            GrantError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                Self::new("server_error", "an internal error occurred")
            }
        }
    }
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
