//! Failed authentications limited per client address, so that keys and tokens cannot be
//! guessed at line rate: each refused token spends one of its address's failures, counted by
//! the server's rate limiter (so a Redis limiter shares the count among replicas); an address
//! that has spent them is refused with `429` before any verifier runs, until it may try again.
//!
//! The refusal is remembered here, per replica, from the limiter's answer to the failure that
//! spent the last one: a request that authenticates costs no limiter round trip. Another
//! replica learns of it at the address's next failure there, whose count the limiter shares.
//! IPv6 addresses are counted per /64, the smallest block a client is usually given.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{
    Security,
    rate::{Decision, RateSpec, address_key as counted},
};

/// The default: 10 failures at once per address, then one per 6 s.
pub const DEFAULT_FAILED_AUTHENTICATIONS: RateSpec = RateSpec::per_minute(10);

/// The limiter's name for the count (not a tool name: `:` is not allowed in one).
const COUNTED_AS: &str = "auth:failures";

/// At most this many refused addresses are remembered; past it, the expired ones are
/// forgotten, and then the new one is not remembered (the limiter still refuses it at its next
/// failure).
const MAX_REMEMBERED: usize = 100_000;

pub(super) struct FailureLimit {
    spec: RateSpec,
    refused_until: Mutex<HashMap<IpAddr, Instant>>,
}

impl FailureLimit {
    pub(super) fn new(spec: RateSpec) -> Self {
        Self {
            spec,
            refused_until: Mutex::default(),
        }
    }

    /// How long `client` must still wait, if it has spent its failures.
    pub(super) fn refused(&self, client: IpAddr) -> Option<Duration> {
        let client = counted(client);
        let mut refused = self.refused_until.lock().unwrap_or_else(|p| p.into_inner());
        let until = *refused.get(&client)?;
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            refused.remove(&client);
            return None;
        }
        Some(left)
    }

    /// Records a failure of `client`; `Some` with the wait when it has now spent its failures.
    /// A limiter that cannot decide records nothing: the token was refused all the same.
    pub(super) async fn failed(&self, security: &Security, client: IpAddr) -> Option<Duration> {
        let client = counted(client);
        let key = client.to_string();
        match security.limiter().check(COUNTED_AS, &key, self.spec).await {
            Ok(Decision::Allow) => None,
            Ok(Decision::Deny { retry_after }) => {
                let mut refused = self.refused_until.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                if refused.len() >= MAX_REMEMBERED {
                    refused.retain(|_, until| *until > now);
                }
                if refused.len() < MAX_REMEMBERED {
                    refused.insert(client, now + retry_after);
                }
                Some(retry_after)
            }
            Err(e) => {
                tracing::error!(target: "mcp_secure", error = %e, "failed authentications could not be counted");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_address_is_refused_once_its_failures_are_spent_and_ipv6_counts_per_64() {
        let security = Security::default();
        let limit = FailureLimit::new(RateSpec::per_minute(3));
        let a: IpAddr = "198.51.100.7".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limit.refused(a), None);
            assert_eq!(limit.failed(&security, a).await, None);
        }
        let wait = limit
            .failed(&security, a)
            .await
            .expect("the fourth is over");
        assert!(wait > Duration::from_secs(19) && wait <= Duration::from_secs(20));
        assert!(limit.refused(a).is_some());
        assert_eq!(limit.refused("198.51.100.8".parse().unwrap()), None);
        // One /64 is one client; the next /64 is another.
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        for _ in 0..3 {
            limit.failed(&security, v6("2001:db8:0:1::1")).await;
        }
        assert!(
            limit
                .failed(&security, v6("2001:db8:0:1:ffff::9"))
                .await
                .is_some()
        );
        assert!(limit.refused(v6("2001:db8:0:1::abcd")).is_some());
        assert_eq!(limit.refused(v6("2001:db8:0:2::1")), None);
    }
}
