//! The replay cache: each DPoP proof's `jti` is accepted once while its `iat` is in the window.

use std::{
    collections::{HashSet, VecDeque},
    fmt,
    future::Future,
    pin::Pin,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Why a [`ReplayCache`] could not decide: the request is refused (fail closed) with a `503`
/// that asks the client to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayError {
    pub(crate) detail: String,
}

impl ReplayError {
    /// A failure to decide, with a reason for the audit log.
    pub fn new(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
        }
    }
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DPoP replay cache: {}", self.detail)
    }
}

impl std::error::Error for ReplayError {}

/// The future a [`ReplayCache`] returns: `Ok(true)` the first time a key is seen.
pub type ReplayFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, ReplayError>> + Send + 'a>>;

/// Remembers the DPoP proofs already accepted, so that a captured proof cannot be sent again.
///
/// [`MemoryReplayCache`] serves one process; [`RedisReplayCache`](super::RedisReplayCache)
/// is shared by every replica on one Redis, so a proof accepted by one replica is refused by
/// the others.
pub trait ReplayCache: Send + Sync + 'static {
    /// Records `key` for `ttl`: `Ok(true)` if it was not already recorded, `Ok(false)` if it
    /// was (a replay). The check and the record are one atomic step.
    fn first_use<'a>(&'a self, key: &'a [u8; 32], ttl: Duration) -> ReplayFuture<'a>;
}

/// The default most proofs a [`MemoryReplayCache`] remembers at once.
pub const DEFAULT_REPLAY_CAPACITY: usize = 1 << 20;

/// A [`ReplayCache`] in this process's memory, bounded: when it is full of proofs still in
/// their window it refuses new ones (a `503`) rather than forget one that could be replayed.
pub struct MemoryReplayCache {
    capacity: usize,
    state: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    keys: HashSet<[u8; 32]>,
    /// When each key may be forgotten, in the order recorded; with one `ttl` per cache that is
    /// also the order they expire in, and the oldest are dropped first.
    expiries: VecDeque<(Instant, [u8; 32])>,
}

impl MemoryReplayCache {
    /// A cache of [`DEFAULT_REPLAY_CAPACITY`] proofs.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_REPLAY_CAPACITY)
    }

    /// A cache of at most `capacity` proofs in their window at once.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            state: Mutex::new(Seen::default()),
        }
    }

    fn record(&self, key: &[u8; 32], ttl: Duration) -> Result<bool, ReplayError> {
        let now = Instant::now();
        let mut seen = self
            .state
            .lock()
            .map_err(|_| ReplayError::new("poisoned"))?;
        while let Some(&(expiry, old)) = seen.expiries.front()
            && expiry <= now
        {
            seen.expiries.pop_front();
            seen.keys.remove(&old);
        }
        if seen.keys.contains(key) {
            return Ok(false);
        }
        if seen.keys.len() >= self.capacity {
            return Err(ReplayError::new("full of proofs still in their window"));
        }
        seen.keys.insert(*key);
        seen.expiries.push_back((now + ttl, *key));
        Ok(true)
    }
}

impl Default for MemoryReplayCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayCache for MemoryReplayCache {
    fn first_use<'a>(&'a self, key: &'a [u8; 32], ttl: Duration) -> ReplayFuture<'a> {
        Box::pin(std::future::ready(self.record(key, ttl)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_accepted_once_until_it_expires() {
        let cache = MemoryReplayCache::with_capacity(2);
        let ttl = Duration::from_millis(50);
        assert_eq!(cache.record(&[1; 32], ttl), Ok(true));
        assert_eq!(cache.record(&[1; 32], ttl), Ok(false));
        assert_eq!(cache.record(&[2; 32], ttl), Ok(true));
        assert!(
            cache.record(&[3; 32], ttl).is_err(),
            "full: refused, not forgotten"
        );
        assert_eq!(cache.record(&[1; 32], ttl), Ok(false), "still remembered");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            cache.record(&[3; 32], ttl),
            Ok(true),
            "expired keys make room"
        );
        assert_eq!(cache.record(&[1; 32], ttl), Ok(true), "and are forgotten");
    }
}
