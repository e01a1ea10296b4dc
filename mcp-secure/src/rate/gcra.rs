use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    sync::Mutex,
    time::{Duration, Instant},
};

use super::{Decision, DecisionFuture, RateLimiter, RateSpec};

const SHARDS: usize = 16;

/// The in-memory limiter: the generic cell rate algorithm (GCRA), one theoretical arrival time
/// per (tool, caller), in sharded maps.
///
/// Memory stays bounded by the callers active within one period: a key whose theoretical
/// arrival time has passed holds no information (it behaves as a new key) and is dropped when
/// its shard is swept, which happens whenever the shard has doubled since the last sweep.
///
/// ```
/// use mcp_secure::rate::{Decision, MemoryLimiter, RateLimiter, RateSpec};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let limiter = MemoryLimiter::new();
/// let spec = RateSpec::per_second(2);
/// assert_eq!(limiter.check("t", "alice", spec).await.unwrap(), Decision::Allow);
/// assert_eq!(limiter.check("t", "alice", spec).await.unwrap(), Decision::Allow);
/// assert!(matches!(limiter.check("t", "alice", spec).await.unwrap(), Decision::Deny { .. }));
/// assert_eq!(limiter.check("t", "bob", spec).await.unwrap(), Decision::Allow);
/// # });
/// ```
pub struct MemoryLimiter {
    epoch: Instant,
    hasher: RandomState,
    shards: [Mutex<Shard>; SHARDS],
}

#[derive(Default)]
struct Shard {
    tats: HashMap<(Box<str>, Box<str>), u64>,
    sweep_at: usize,
}

impl MemoryLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            hasher: RandomState::new(),
            shards: std::array::from_fn(|_| Mutex::new(Shard::default())),
        }
    }

    /// How many keys are held now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).tats.len()).sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One decision at `now`, in nanoseconds since the limiter's epoch.
    fn decide(&self, tool: &str, caller: &str, spec: RateSpec, now: u64) -> Decision {
        let interval = spec.interval().as_nanos() as u64;
        let tolerance = interval.saturating_mul(u64::from(spec.count()) - 1);
        let shard = &self.shards[self.hasher.hash_one((tool, caller)) as usize % SHARDS];
        let mut shard = lock(shard);
        let tat = shard
            .tats
            .get(&(Box::from(tool), Box::from(caller)))
            .copied()
            .unwrap_or(now)
            .max(now);
        if tat - now > tolerance {
            return Decision::Deny {
                retry_after: Duration::from_nanos(tat - now - tolerance),
            };
        }
        shard
            .tats
            .insert((tool.into(), caller.into()), tat + interval);
        if shard.tats.len() > shard.sweep_at {
            shard.tats.retain(|_, tat| *tat > now);
            shard.sweep_at = (shard.tats.len() * 2).max(1024);
        }
        Decision::Allow
    }
}

impl Default for MemoryLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryLimiter")
            .field("keys", &self.len())
            .finish()
    }
}

impl RateLimiter for MemoryLimiter {
    fn check<'a>(&'a self, tool: &'a str, caller: &'a str, spec: RateSpec) -> DecisionFuture<'a> {
        let now = self.epoch.elapsed().as_nanos() as u64;
        let decision = self.decide(tool, caller, spec, now);
        Box::pin(std::future::ready(Ok(decision)))
    }
}

fn lock(shard: &Mutex<Shard>) -> std::sync::MutexGuard<'_, Shard> {
    // A panic while holding the lock cannot leave a shard inconsistent (one insert or retain),
    // so a poisoned lock is still usable.
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn burst_then_steady_rate() {
        let l = MemoryLimiter::new();
        let spec = RateSpec::per_second(5);
        for _ in 0..5 {
            assert_eq!(l.decide("t", "a", spec, SEC), Decision::Allow);
        }
        let Decision::Deny { retry_after } = l.decide("t", "a", spec, SEC) else {
            panic!("sixth call in the same instant must be refused");
        };
        assert_eq!(retry_after, Duration::from_millis(200));
        assert!(matches!(
            l.decide("t", "a", spec, SEC + 199_000_000),
            Decision::Deny { .. }
        ));
        assert_eq!(l.decide("t", "a", spec, SEC + 200_000_000), Decision::Allow);
    }

    #[test]
    fn sustained_rate_never_exceeds_the_limit() {
        let l = MemoryLimiter::new();
        let spec = RateSpec::per_second(10);
        let mut allowed = 0;
        // One attempt every millisecond for 10 seconds.
        for ms in 0..10_000u64 {
            if l.decide("t", "a", spec, ms * 1_000_000) == Decision::Allow {
                allowed += 1;
            }
        }
        // 10 at once, then 10 per second for the remaining 10 s, minus rounding at the edge.
        assert!((100..=110).contains(&allowed), "allowed {allowed}");
    }

    #[test]
    fn keys_are_per_tool_and_per_caller() {
        let l = MemoryLimiter::new();
        let spec = RateSpec::per_minute(1);
        assert_eq!(l.decide("t1", "a", spec, 0), Decision::Allow);
        assert_eq!(l.decide("t2", "a", spec, 0), Decision::Allow);
        assert_eq!(l.decide("t1", "b", spec, 0), Decision::Allow);
        assert!(matches!(
            l.decide("t1", "a", spec, 0),
            Decision::Deny { .. }
        ));
    }

    #[test]
    fn idle_keys_are_evicted() {
        let l = MemoryLimiter::new();
        let spec = RateSpec::per_second(1);
        for i in 0..50_000 {
            l.decide("t", &format!("caller-{i}"), spec, 0);
        }
        // Ten seconds later every key is idle; new traffic sweeps them out.
        for i in 0..50_000 {
            l.decide("t", &format!("late-{i}"), spec, 10 * SEC);
        }
        assert!(l.len() < 60_000, "held {} keys", l.len());
    }
}
