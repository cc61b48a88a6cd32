//! The operations layer: every change to users, clients, signing keys and sessions, and
//! the reads the admin API shows, each written once. The `tessera` CLI and the admin API
//! both call these functions (so they enforce the same rules and write the same audit
//! events), and `/me` and the OAuth endpoints call [`sessions`](crate::admin::sessions)
//! to end sessions. The edges only translate: they parse input, call one operation, and
//! render its answer. See docs/architecture.md for the layers and what may call what.

pub mod audit;
pub mod clients;
pub mod keys;
pub mod sessions;
pub mod signin_sessions;
pub mod users;

use sea_orm::DbErr;

use crate::state::AppState;
use crate::store::audit::AuditEvent;
use crate::store::{Fault, classify};

/// Why an operation refused or failed. `field` names the input at fault, when one is.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The input is malformed or breaks a rule (400).
    #[error("{}", with_field(*.field, .message))]
    Invalid {
        field: Option<&'static str>,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    /// The current state forbids the change, or a name is taken (409).
    #[error("{}", with_field(*.field, .message))]
    Conflict {
        field: Option<&'static str>,
        message: String,
    },
    /// The database is busy or unreachable: retry shortly (503).
    #[error("{0}")]
    Unavailable(String),
    /// A fault on our side; the edge logs it and answers generically.
    #[error("internal error: {0}")]
    Internal(String),
}

fn with_field(field: Option<&str>, message: &str) -> String {
    match field {
        Some(f) => format!("{f}: {message}"),
        None => message.to_owned(),
    }
}

impl AdminError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        AdminError::Invalid {
            field: Some(field),
            message: message.into(),
        }
    }

    pub fn conflict(field: Option<&'static str>, message: impl Into<String>) -> Self {
        AdminError::Conflict {
            field,
            message: message.into(),
        }
    }
}

impl From<DbErr> for AdminError {
    fn from(e: DbErr) -> Self {
        match classify(&e) {
            Fault::Busy => AdminError::Unavailable("the database is busy, retry shortly".into()),
            Fault::Duplicate => AdminError::conflict(None, "it already exists"),
            Fault::Other => AdminError::Internal(e.to_string()),
        }
    }
}

impl From<crate::crypto::password::HashError> for AdminError {
    fn from(e: crate::crypto::password::HashError) -> Self {
        match e {
            crate::crypto::password::HashError::Busy => AdminError::Unavailable(
                "too many password hashes in progress, retry shortly".into(),
            ),
            other => AdminError::Internal(other.to_string()),
        }
    }
}

impl From<anyhow::Error> for AdminError {
    fn from(e: anyhow::Error) -> Self {
        AdminError::Internal(format!("{e:#}"))
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// Who is acting: recorded on every audited change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The `tessera` command line, run by whoever has the server's database.
    Cli,
    /// The server itself (first start, reuse detection).
    System,
    /// A signed-in user: an administrator through the admin API, or a user ending their
    /// own sessions.
    User { id: String, ip: Option<String> },
    /// A client acting for itself (revoking its own token).
    Client { id: String, ip: Option<String> },
}

impl Actor {
    /// The audit trail's `actor`: `cli`, `system`, a user id, or `client:<id>`.
    pub fn audit_name(&self) -> String {
        match self {
            Actor::Cli => "cli".into(),
            Actor::System => "system".into(),
            Actor::User { id, .. } => id.clone(),
            Actor::Client { id, .. } => format!("client:{id}"),
        }
    }

    pub fn ip(&self) -> Option<String> {
        match self {
            Actor::User { ip, .. } | Actor::Client { ip, .. } => ip.clone(),
            Actor::Cli | Actor::System => None,
        }
    }

    /// The event, stamped with this actor and address.
    pub fn stamp(&self, e: AuditEvent) -> AuditEvent {
        AuditEvent {
            actor: Some(self.audit_name()),
            ip: e.ip.or_else(|| self.ip()),
            ..e
        }
    }
}

/// Writes an audit event stamped with the actor, outside any transaction.
async fn record(state: &AppState, actor: &Actor, e: AuditEvent) -> AdminResult<()> {
    crate::store::audit::record(&state.db.write, state.clock.now_ms(), actor.stamp(e)).await?;
    Ok(())
}

/// Default and largest page sizes.
pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 500;

/// Which page of a list: the `cursor` from the previous page and a size.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

impl PageRequest {
    pub fn limit(&self) -> AdminResult<u64> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(AdminError::invalid(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            )),
        }
    }

    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|c| !c.is_empty())
    }
}

/// A page of a list, with the cursor of the next (absent on the last page) and the
/// number of items matching the filter on all pages.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    pub total: u64,
}

impl<T> Page<T> {
    /// No items (a filter that names nobody).
    pub fn empty() -> Page<T> {
        Page {
            items: vec![],
            next_cursor: None,
            total: 0,
        }
    }

    /// The page of `rows` (at most `limit`, fetched after the cursor): a full page has a
    /// next one, found after its last row's `key`.
    fn of<R>(
        rows: Vec<R>,
        limit: u64,
        total: u64,
        key: impl Fn(&R) -> String,
        item: impl FnMut(R) -> T,
    ) -> Page<T> {
        let next_cursor = (rows.len() as u64 == limit)
            .then(|| rows.last().map(&key))
            .flatten();
        Page {
            items: rows.into_iter().map(item).collect(),
            next_cursor,
            total,
        }
    }
}

/// A filter string: at most `max` characters, empty meaning absent.
fn filter_text(field: &'static str, v: Option<String>, max: usize) -> AdminResult<Option<String>> {
    match v {
        Some(s) if s.chars().count() > max => Err(AdminError::invalid(
            field,
            format!("must be at most {max} characters"),
        )),
        Some(s) if s.is_empty() => Ok(None),
        other => Ok(other),
    }
}
