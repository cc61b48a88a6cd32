//! Checking a user name and password: the one place the brute-force rules live, for the
//! password grant and the sign-in page alike. Attempts are throttled per user name (as
//! typed, so unknown names behave like known ones) from one client address, and per
//! address across names; unknown users cost one dummy hash, so timing does not reveal
//! who exists. A name is never locked for every address at once: whoever guesses at it
//! from elsewhere cannot lock its owner out (docs/protocol.md).

use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;

use super::OAuthError;
use crate::domain::{
    AuditKind, Failures, NewPassword, RequestMeta, Username, must_wait, should_lock,
};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent};
use crate::store::entities::user;
use crate::store::{throttle, users};

/// The user whose name and password these are, enabled; or why not. A wrong name, a
/// wrong password and a disabled account get the same answer. On success the caller
/// must call [`succeeded`] in the transaction that records the sign-in.
pub async fn check(
    state: &AppState,
    client_id: &str,
    username: &str,
    password: &str,
    meta: &RequestMeta,
) -> Result<user::Model, OAuthError> {
    if password.len() > NewPassword::MAX_LEN {
        return Err(OAuthError::InvalidRequest("password is too long".into()));
    }
    // A place among the hashes first: a sign-in shed for load touches no table and
    // counts against no name.
    let hashing = state.hasher.admit()?;
    // Throttling is keyed by the name as given, so unknown names behave like known ones.
    let keys = ThrottleKeys::new(username, meta);
    throttle_check(state, &keys).await?;
    // Count the attempt against the name before hashing, atomically: a burst of
    // concurrent guesses cannot all slip past the check above. Success clears it.
    let attempts = count_attempt(state, &keys).await?;
    let user = match Username::parse(username) {
        Ok(name) => users::find_by_username(&state.db.read, name.as_str()).await?,
        Err(_) => None,
    };
    // Unknown users are checked against a dummy hash: same cost, same answer.
    let ok = hashing
        .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    let now = state.clock.now_ms();
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        other => {
            let reason = match &other {
                Some(u) if ok && u.disabled => "user_disabled",
                Some(_) => "bad_password",
                None => "unknown_user",
            };
            record_failure(
                state,
                &keys,
                &attempts,
                other.as_ref().map(|u| u.id.as_str()),
                meta,
            )
            .await?;
            audit::record(
                &state.db.write,
                now,
                AuditEvent {
                    user_id: other.as_ref().map(|u| u.id.clone()),
                    client_id: Some(client_id.to_owned()),
                    ip: meta.ip.clone(),
                    reason: Some(reason.into()),
                    // Neither the name nor a digest of it: people type passwords into
                    // the name field, and a digest of a short secret is easily undone.
                    ..AuditEvent::new(AuditKind::LoginFailed)
                },
            )
            .await?;
            // The same answer whether the account is unknown, the password wrong, or the
            // account disabled: a right password for a disabled account is not confirmed.
            return Err(OAuthError::InvalidGrant(
                "invalid username or password".into(),
            ));
        }
    };
    Ok(user)
}

/// Clears the failure count of the name from this address after a successful sign-in.
pub async fn succeeded(
    db: &impl ConnectionTrait,
    username: &str,
    meta: &RequestMeta,
) -> Result<(), OAuthError> {
    throttle::clear(db, &ThrottleKeys::new(username, meta).user).await?;
    Ok(())
}

/// The throttle keys of one attempt: the user name as given from this client address
/// (`user:<digest>@<address>`), and the address itself (`ip:<address>`).
struct ThrottleKeys {
    user: String,
    address: Option<String>,
}

impl ThrottleKeys {
    fn new(username: &str, meta: &RequestMeta) -> Self {
        let name = name_digest(username);
        let network = meta.ip.as_deref().map(network_of);
        ThrottleKeys {
            user: match &network {
                Some(net) => format!("user:{name}@{net}"),
                None => format!("user:{name}"),
            },
            address: network.map(|net| format!("ip:{net}")),
        }
    }

    fn all(&self) -> Vec<String> {
        std::iter::once(self.user.clone())
            .chain(self.address.clone())
            .collect()
    }
}

fn failures(row: &crate::store::entities::login_throttle::Model) -> Failures {
    Failures {
        count: row.failures,
        first_at: row.first_failure_at,
        last_at: row.last_failure_at,
        locked_until: row.locked_until,
    }
}

/// Refuses the attempt (before any hashing) while the user name or address must wait.
async fn throttle_check(state: &AppState, keys: &ThrottleKeys) -> Result<(), OAuthError> {
    let policy = &state.settings.lockout;
    let now = state.clock.now_ms();
    let mut wait = 0;
    for row in throttle::rows(&state.db.read, &keys.all()).await? {
        let t = if row.key == keys.user {
            &policy.user
        } else {
            &policy.address
        };
        wait = wait.max(must_wait(&failures(&row), t, policy, now).unwrap_or(0));
    }
    if wait > 0 {
        state.metrics.logins_throttled.inc();
        let secs = (wait + 999) / 1000;
        return Err(OAuthError::TooManyAttempts {
            description: format!("too many failed sign-ins; try again in {secs} s"),
            retry_after: secs,
        });
    }
    Ok(())
}

/// Counts this attempt against the user name before any hashing; refuses it when the
/// name is already over the lock threshold. Returns the name's row including this attempt.
async fn count_attempt(
    state: &AppState,
    keys: &ThrottleKeys,
) -> Result<crate::store::entities::login_throttle::Model, OAuthError> {
    let policy = &state.settings.lockout;
    let now = state.clock.now_ms();
    let txn = state.db.write.begin().await?;
    let row = throttle::record_failure(&txn, &keys.user, now, policy.window_secs * 1000).await?;
    txn.commit().await?;
    if row.failures > policy.user.lock_after {
        state.metrics.logins_throttled.inc();
        let wait = row
            .locked_until
            .map_or(policy.lock_secs * 1000, |u| (u - now).max(1000));
        let secs = (wait + 999) / 1000;
        return Err(OAuthError::TooManyAttempts {
            description: format!("too many failed sign-ins; try again in {secs} s"),
            retry_after: secs,
        });
    }
    Ok(row)
}

/// After a failed attempt: locks the name if its count crossed the threshold, and counts
/// the failure against the address (locking it likewise), with `account_locked` events.
async fn record_failure(
    state: &AppState,
    keys: &ThrottleKeys,
    user_row: &crate::store::entities::login_throttle::Model,
    user_id: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), OAuthError> {
    let policy = &state.settings.lockout;
    let now = state.clock.now_ms();
    let window = policy.window_secs * 1000;
    let txn = state.db.write.begin().await?;
    let mut locks = Vec::new();
    if let Some(address) = &keys.address {
        let row = throttle::record_failure(&txn, address, now, window).await?;
        if should_lock(row.failures, row.locked_until, &policy.address, now) {
            locks.push((address.clone(), row.failures, "address"));
        }
    }
    if should_lock(user_row.failures, user_row.locked_until, &policy.user, now) {
        locks.push((keys.user.clone(), user_row.failures, "user"));
    }
    for (key, failures, what) in locks {
        let until = now + policy.lock_secs * 1000;
        throttle::lock(&txn, &key, until).await?;
        audit::record(
            &txn,
            now,
            AuditEvent {
                user_id: if what == "user" {
                    user_id.map(str::to_owned)
                } else {
                    None
                },
                ip: meta.ip.clone(),
                reason: Some(what.to_owned()),
                detail: Some(json!({
                    "failures": failures,
                    "locked_until": until,
                })),
                ..AuditEvent::new(AuditKind::AccountLocked)
            },
        )
        .await?;
        tracing::warn!(
            kind = what,
            failures,
            "sign-ins locked after repeated failures"
        );
    }
    txn.commit().await?;
    Ok(())
}

/// What one client controls: its IPv4 address, or the /64 of its IPv6 address (one
/// host is commonly given a whole /64, so counting single IPv6 addresses would count
/// nothing).
pub(crate) fn network_of(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>().map(|a| a.to_canonical()) {
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(v4) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// Hex SHA-256 of a user name as typed (lower-cased), for throttle keys. The keys live
/// only in the database, for at most `window_secs` past the last failure.
fn name_digest(name: &str) -> String {
    crate::domain::tokens_hash_presented_secret(&name.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::network_of;

    #[test]
    fn ipv6_counts_by_its_64() {
        assert_eq!(network_of("203.0.113.7"), "203.0.113.7");
        assert_eq!(network_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(network_of("2001:db8:1:2:ffff::9"), "2001:db8:1:2::/64");
        assert_eq!(network_of("::ffff:198.51.100.4"), "198.51.100.4");
        assert_eq!(network_of("not an address"), "not an address");
    }
}
