//! The replay cache in Redis, shared by every replica on one Redis.

use std::time::Duration;

use redis::aio::ConnectionManager;

use super::replay::{ReplayCache, ReplayError, ReplayFuture};
use crate::rate::RedisLimiter;

/// A [`ReplayCache`] in Redis: every replica on one Redis refuses a proof any of them accepted.
///
/// Each check is one round trip, `SET <prefix>:<hash> 1 NX PX <ttl>`: atomic, so two replicas
/// handed one proof at once accept it once. Keys expire with the proofs' window. While Redis is
/// unreachable every DPoP request is refused with a `503` (fail closed).
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use mcp_secure::{http::{Dpop, RedisReplayCache}, rate::RedisLimiter};
/// let limiter = RedisLimiter::connect("redis://127.0.0.1:6379").await?;
/// let dpop = Dpop::allowed().replay_cache(RedisReplayCache::sharing(&limiter));
/// # let _ = dpop;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisReplayCache {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisReplayCache {
    /// A cache on the Redis connection of `limiter`.
    pub fn sharing(limiter: &RedisLimiter) -> Self {
        Self {
            conn: limiter.connection(),
            prefix: "mcp-secure:dpop".to_owned(),
        }
    }

    /// Uses `prefix` for keys instead of `mcp-secure:dpop` (e.g. one per deployment).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

impl ReplayCache for RedisReplayCache {
    fn first_use<'a>(&'a self, key: &'a [u8; 32], ttl: Duration) -> ReplayFuture<'a> {
        Box::pin(async move {
            let mut name = format!("{}:", self.prefix);
            for b in key {
                name.push_str(&format!("{b:02x}"));
            }
            let set: Option<String> = redis::cmd("SET")
                .arg(&name)
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(ttl.as_millis().max(1) as u64)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(|e| ReplayError::new(format!("Redis: {:?}", e.kind())))?;
            Ok(set.is_some())
        })
    }
}
