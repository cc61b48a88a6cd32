//! Domain types. Raw input becomes one of these once, at the edge; past that point the
//! code can rely on it being well formed.

mod limits;
mod names;
mod pkce;
mod rotation;
mod scope;
mod throttle;
mod tokens;
mod vocab;

pub use limits::{Lifetime, Origin, RedirectUri, is_loopback};
pub use names::{ClientId, NewPassword, Username};
pub use pkce::{CodeChallenge, CodeVerifier};
pub use rotation::{ReuseDecision, child_expiry, decide_reuse};
pub use scope::Scope;
pub use throttle::{Failures, LockoutPolicy, Thresholds, must_wait, should_lock};
pub use tokens::{
    BrowserSecret, ClientSecret, RefreshTokenValue,
    hash_presented_secret as tokens_hash_presented_secret,
};

pub use vocab::{
    AuditKind, FamilyState, GrantType, KeyState, RefreshTokenDelivery, RevokeReason, TokenState,
};

/// Who sent a request, for the session list, throttling and the audit trail.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}
