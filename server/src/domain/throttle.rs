//! Brute-force protection rules: after some failures each further attempt must wait
//! (doubling), after more the key is locked for a while. Pure; the store keeps counts.

use crate::clock::Millis;

/// Thresholds for one kind of key (a user name from an address, or an address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Failures after which each attempt must wait (1 s, doubling, at most 60 s).
    pub delay_after: i32,
    /// Failures after which the key is locked for `lock_secs`.
    pub lock_after: i32,
}

/// The lockout policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutPolicy {
    /// For one user name from one client address (a name is never locked everywhere).
    pub user: Thresholds,
    pub address: Thresholds,
    /// How long a lock lasts.
    pub lock_secs: i64,
    /// Failures older than this are forgotten.
    pub window_secs: i64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            user: Thresholds {
                delay_after: 3,
                lock_after: 10,
            },
            address: Thresholds {
                delay_after: 20,
                lock_after: 100,
            },
            lock_secs: 900,
            window_secs: 900,
        }
    }
}

const MAX_DELAY_MS: i64 = 60_000;

/// The recorded failures of one key.
#[derive(Debug, Clone, Copy)]
pub struct Failures {
    pub count: i32,
    pub first_at: Millis,
    pub last_at: Millis,
    pub locked_until: Option<Millis>,
}

/// How long the next attempt must wait, in milliseconds, or `None` if it may go ahead.
pub fn must_wait(f: &Failures, t: &Thresholds, policy: &LockoutPolicy, now: Millis) -> Option<i64> {
    if let Some(until) = f.locked_until
        && until > now
    {
        return Some(until - now);
    }
    if f.first_at + policy.window_secs * 1000 <= now || f.count < t.delay_after {
        return None;
    }
    let doublings = u32::try_from(f.count - t.delay_after).unwrap_or(0).min(16);
    let delay = (1000i64 << doublings).min(MAX_DELAY_MS);
    let ready = f.last_at + delay;
    (ready > now).then(|| ready - now)
}

/// Whether a key that now has `count` failures (and no lock) should be locked.
pub fn should_lock(count: i32, locked_until: Option<Millis>, t: &Thresholds, now: Millis) -> bool {
    count >= t.lock_after && locked_until.is_none_or(|u| u <= now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(count: i32, last_at: Millis) -> Failures {
        Failures {
            count,
            first_at: 0,
            last_at,
            locked_until: None,
        }
    }

    #[test]
    fn no_wait_below_the_delay_threshold() {
        let p = LockoutPolicy::default();
        assert_eq!(must_wait(&f(2, 100), &p.user, &p, 100), None);
    }

    #[test]
    fn delay_doubles_and_expires() {
        let p = LockoutPolicy::default();
        assert_eq!(must_wait(&f(3, 0), &p.user, &p, 0), Some(1000));
        assert_eq!(must_wait(&f(4, 0), &p.user, &p, 500), Some(1500));
        assert_eq!(must_wait(&f(4, 0), &p.user, &p, 2000), None);
        assert_eq!(must_wait(&f(30, 0), &p.user, &p, 0), Some(60_000));
    }

    #[test]
    fn locks_hold_until_they_end_and_windows_forget() {
        let p = LockoutPolicy::default();
        let locked = Failures {
            locked_until: Some(5_000),
            ..f(10, 0)
        };
        assert_eq!(must_wait(&locked, &p.user, &p, 1_000), Some(4_000));
        assert_eq!(must_wait(&f(9, 0), &p.user, &p, 900_000), None);
        assert!(should_lock(10, None, &p.user, 0));
        assert!(!should_lock(9, None, &p.user, 0));
        assert!(!should_lock(11, Some(10), &p.user, 5));
    }
}
