//! The pure rules of refresh rotation; the store applies them with compare-and-set.

use crate::clock::Millis;

/// Expiry of a newly issued refresh token: its idle lifetime, capped by the family's
/// absolute lifetime.
pub fn child_expiry(now: Millis, idle_ttl_secs: i64, family_expires_at: Millis) -> Millis {
    now.saturating_add(idle_ttl_secs.saturating_mul(1000))
        .min(family_expires_at)
}

/// What to do when an already-used refresh token is presented again.
#[derive(Debug, PartialEq, Eq)]
pub enum ReuseDecision {
    /// Within the client's leeway: a retry after a lost response. Invalidate the child and
    /// issue a fresh one, if the child is still unused.
    RetryWithinLeeway,
    /// A replay: one of the two presenters is a thief. Revoke the family.
    Replay,
}

pub fn decide_reuse(used_at: Millis, now: Millis, leeway_secs: i64) -> ReuseDecision {
    if leeway_secs > 0 && now.saturating_sub(used_at) <= leeway_secs.saturating_mul(1000) {
        ReuseDecision::RetryWithinLeeway
    } else {
        ReuseDecision::Replay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_expiry_is_capped_by_family() {
        assert_eq!(child_expiry(1_000, 10, 1_000_000), 11_000);
        assert_eq!(child_expiry(1_000, 10, 5_000), 5_000);
        assert_eq!(child_expiry(i64::MAX - 5, 10, i64::MAX), i64::MAX);
    }

    #[test]
    fn zero_leeway_means_every_reuse_is_a_replay() {
        assert_eq!(decide_reuse(1_000, 1_000, 0), ReuseDecision::Replay);
    }

    #[test]
    fn leeway_window_is_inclusive_and_ends() {
        assert_eq!(
            decide_reuse(1_000, 3_000, 2),
            ReuseDecision::RetryWithinLeeway
        );
        assert_eq!(decide_reuse(1_000, 3_001, 2), ReuseDecision::Replay);
    }
}
