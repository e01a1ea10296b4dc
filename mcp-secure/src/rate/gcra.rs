use std::{hash::BuildHasher, sync::Mutex, time::Duration};

use hashbrown::HashTable;

use super::{Decision, DecisionFuture, RateLimiter, RateSpec};

const SHARDS: usize = 64;

/// The in-memory limiter: the generic cell rate algorithm (GCRA), one theoretical arrival time
/// (TAT) per (tool, key), in sharded hash tables behind short mutexes.
///
/// A decision is one clock read (TSC), one hash (seeded per limiter), one uncontended lock and
/// one probe; only a key seen for the first time allocates. Memory stays bounded by the keys active
/// within their tolerance: a key whose TAT has passed holds no information (it behaves exactly
/// like a new key) and is dropped when its shard is swept, which happens whenever the shard
/// has doubled since its last sweep.
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
    /// A TSC-based monotonic clock where the CPU has one (a few ns per read, against tens for
    /// `Instant::now`), calibrated against the OS clock.
    clock: quanta::Clock,
    epoch: u64,
    hasher: foldhash::fast::RandomState,
    shards: Box<[Mutex<Shard>]>,
}

#[derive(Default)]
struct Shard {
    table: HashTable<Entry>,
    sweep_at: usize,
}

struct Entry {
    /// `tool \0 key`: one allocation per key. Tool names cannot contain NUL.
    joined: Box<str>,
    /// Nanoseconds since the limiter's epoch.
    tat: u64,
}

impl Entry {
    fn parts(&self) -> (&str, &str) {
        self.joined.split_once('\0').unwrap_or((&self.joined, ""))
    }

    fn is(&self, tool: &str, key: &str) -> bool {
        let j = self.joined.as_bytes();
        j.len() == tool.len() + 1 + key.len()
            && j[tool.len()] == 0
            && &j[..tool.len()] == tool.as_bytes()
            && &j[tool.len() + 1..] == key.as_bytes()
    }
}

impl MemoryLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        let clock = quanta::Clock::new();
        Self {
            epoch: clock.raw(),
            clock,
            hasher: foldhash::fast::RandomState::default(),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    /// How many keys are held now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).table.len()).sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn hash(&self, tool: &str, key: &str) -> u64 {
        self.hasher.hash_one((tool, key))
    }

    /// One decision at `now` (nanoseconds since the limiter's epoch): the algorithm, with the
    /// clock passed in so that tests can drive it.
    pub fn decide_at(&self, tool: &str, key: &str, spec: RateSpec, now: u64) -> Decision {
        let (interval, tolerance) = spec.interval_and_tolerance_nanos();
        let hash = self.hash(tool, key);
        // The high bits pick the shard; the table uses the hash as a whole.
        let mut shard = lock(&self.shards[(hash >> 58) as usize % SHARDS]);
        if let Some(entry) = shard.table.find_mut(hash, |e| e.is(tool, key)) {
            let tat = entry.tat.max(now);
            if tat - now > tolerance {
                return Decision::Deny {
                    retry_after: Duration::from_nanos(tat - now - tolerance),
                };
            }
            entry.tat = tat + interval;
            return Decision::Allow;
        }
        self.insert(&mut shard, hash, tool, key, now, now + interval);
        Decision::Allow
    }

    /// A key seen for the first time (or again after it was swept): its entry, and a sweep of
    /// the shard if it has doubled. Out of line: a steady caller's decisions do not run it, and
    /// its code (allocation, rehashing) would otherwise sit in theirs.
    #[cold]
    #[inline(never)]
    fn insert(&self, shard: &mut Shard, hash: u64, tool: &str, key: &str, now: u64, tat: u64) {
        let entry = Entry {
            joined: format!("{tool}\0{key}").into_boxed_str(),
            tat,
        };
        shard.table.insert_unique(hash, entry, |e| {
            let (t, k) = e.parts();
            self.hash(t, k)
        });
        if shard.table.len() > shard.sweep_at {
            shard.table.retain(|e| e.tat > now);
            shard.sweep_at = (shard.table.len() * 2).max(1024);
        }
    }

    /// Nanoseconds since the limiter's epoch.
    pub fn now(&self) -> u64 {
        self.clock.delta_as_nanos(self.epoch, self.clock.raw())
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
    fn check<'a>(&'a self, tool: &'a str, key: &'a str, spec: RateSpec) -> DecisionFuture<'a> {
        DecisionFuture::ready(Ok(self.decide_at(tool, key, spec, self.now())))
    }

    fn keys(&self) -> Option<usize> {
        Some(self.len())
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

    const MS: u64 = 1_000_000;
    const SEC: u64 = 1_000 * MS;

    #[test]
    fn burst_then_steady_rate() {
        let l = MemoryLimiter::new();
        let spec = RateSpec::per_second(5);
        for _ in 0..5 {
            assert_eq!(l.decide_at("t", "a", spec, SEC), Decision::Allow);
        }
        let Decision::Deny { retry_after } = l.decide_at("t", "a", spec, SEC) else {
            panic!("the sixth call in the same instant must be refused");
        };
        assert_eq!(retry_after, Duration::from_millis(200));
        assert!(matches!(
            l.decide_at("t", "a", spec, SEC + 199 * MS),
            Decision::Deny { .. }
        ));
        assert_eq!(l.decide_at("t", "a", spec, SEC + 200 * MS), Decision::Allow);
        assert!(matches!(
            l.decide_at("t", "a", spec, SEC + 200 * MS),
            Decision::Deny { .. }
        ));
    }

    #[test]
    fn rates_above_one_call_per_nanosecond_keep_their_burst() {
        // 4e9/s: the interval truncates to 0 ns; the burst of 4e9 is still a second's worth.
        let spec = RateSpec::per_second(4_000_000_000);
        assert_eq!(spec.interval(), Duration::ZERO);
        assert_eq!(spec.tolerance(), Duration::from_nanos(999_999_999));
        let l = MemoryLimiter::new();
        // Callers on other threads read the clock a little earlier than the last admission.
        assert_eq!(l.decide_at("t", "a", spec, SEC), Decision::Allow);
        assert_eq!(l.decide_at("t", "a", spec, SEC - 500), Decision::Allow);
        // A rate and burst whose tolerance overflows u64 saturates rather than wraps.
        let huge = RateSpec::new(u32::MAX, u64::MAX);
        assert_eq!(huge.interval_and_tolerance_nanos().1, u64::MAX);
    }

    #[test]
    fn a_smaller_burst_admits_fewer_at_once() {
        let l = MemoryLimiter::new();
        let spec = RateSpec::per_second(10).with_burst(3);
        let admitted = (0..10)
            .filter(|_| l.decide_at("t", "a", spec, SEC) == Decision::Allow)
            .count();
        assert_eq!(admitted, 3);
        assert_eq!(l.decide_at("t", "a", spec, SEC + 100 * MS), Decision::Allow);
    }

    #[test]
    fn sustained_rate_never_exceeds_the_limit() {
        let l = MemoryLimiter::new();
        let spec = RateSpec::per_second(10);
        // One attempt every millisecond for 10 seconds: the burst of 10, then 10 per second.
        let mut admitted_at = Vec::new();
        for ms in 0..10_000u64 {
            if l.decide_at("t", "a", spec, ms * MS) == Decision::Allow {
                admitted_at.push(ms);
            }
        }
        assert_eq!(admitted_at.len(), 10 + 99);
        // No window of one second holds more than burst + rate.
        for (i, start) in admitted_at.iter().enumerate() {
            let in_window = admitted_at[i..]
                .iter()
                .take_while(|t| **t < start + 1_000)
                .count();
            assert!(
                in_window <= 20,
                "{in_window} admitted in the second after {start} ms"
            );
        }
        // After the burst, admissions are spaced by the interval.
        assert!(admitted_at[10..].windows(2).all(|w| w[1] - w[0] == 100));
    }

    #[test]
    fn a_long_idle_restores_the_full_burst_and_no_more() {
        let l = MemoryLimiter::new();
        let spec = RateSpec::per_minute(3);
        for _ in 0..3 {
            l.decide_at("t", "a", spec, 0);
        }
        let later = 3_600 * SEC;
        let admitted = (0..10)
            .filter(|_| l.decide_at("t", "a", spec, later) == Decision::Allow)
            .count();
        assert_eq!(admitted, 3, "idling does not bank more than the burst");
    }

    #[test]
    fn a_clock_stepping_back_refuses_rather_than_admits() {
        let l = MemoryLimiter::new();
        let spec = RateSpec::per_second(2);
        assert_eq!(l.decide_at("t", "a", spec, 10 * SEC), Decision::Allow);
        assert_eq!(l.decide_at("t", "a", spec, 10 * SEC), Decision::Allow);
        // A decision stamped earlier than the last one (another thread's clock read, a skewed
        // replica) still sees the recorded TAT: it cannot buy extra calls.
        assert!(matches!(
            l.decide_at("t", "a", spec, 9 * SEC),
            Decision::Deny { .. }
        ));
    }

    #[test]
    fn keys_are_per_tool_and_per_key() {
        let l = MemoryLimiter::new();
        let spec = RateSpec::per_minute(1);
        assert_eq!(l.decide_at("t1", "a", spec, 0), Decision::Allow);
        assert_eq!(l.decide_at("t2", "a", spec, 0), Decision::Allow);
        assert_eq!(l.decide_at("t1", "b", spec, 0), Decision::Allow);
        assert!(matches!(
            l.decide_at("t1", "a", spec, 0),
            Decision::Deny { .. }
        ));
        // The separator keeps ("t1", "a") and ("t", "1\0a")-like pairs apart.
        assert_eq!(l.decide_at("t", "1\0a", spec, 0), Decision::Allow);
        assert_eq!(l.decide_at("t1", "a\0b", spec, 0), Decision::Allow);
        let long = "k".repeat(1_000);
        assert_eq!(l.decide_at("t1", &long, spec, 0), Decision::Allow);
        assert!(matches!(
            l.decide_at("t1", &long, spec, 0),
            Decision::Deny { .. }
        ));
    }

    #[test]
    fn idle_keys_are_evicted() {
        let l = MemoryLimiter::new();
        let spec = RateSpec::per_second(1);
        for i in 0..50_000 {
            l.decide_at("t", &format!("caller-{i}"), spec, 0);
        }
        for i in 0..50_000 {
            l.decide_at("t", &format!("late-{i}"), spec, 10 * SEC);
        }
        assert!(l.len() < 60_000, "held {} keys", l.len());
    }

    #[test]
    fn concurrent_callers_of_one_key_get_exactly_the_burst() {
        let l = std::sync::Arc::new(MemoryLimiter::new());
        let spec = RateSpec::per_minute(100);
        let admitted = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..32 {
                s.spawn(|| {
                    for _ in 0..50 {
                        if l.decide_at("t", "shared", spec, SEC) == Decision::Allow {
                            admitted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(admitted.into_inner(), 100);
    }
}
