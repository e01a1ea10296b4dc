//! The Redis backend: one GCRA decision per call as one atomic Lua script, shared by every
//! replica that points at the same Redis.

use std::time::Duration;

use redis::{
    Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use super::{Decision, DecisionFuture, LimiterError, RateLimiter, RateSpec};

/// The GCRA in Lua. Time comes from the Redis server (`TIME`), so replicas with skewed clocks
/// agree; the key expires when its theoretical arrival time passes, when it would behave like
/// a new key anyway, so nothing is left behind. Returns 0 to admit, or the microseconds to
/// wait.
const GCRA_LUA: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end
local wait = tat - now - tolerance
if wait > 0 then
  return wait
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
return 0
";

/// A [`RateLimiter`] whose state lives in Redis, so that several server replicas enforce one
/// limit together.
///
/// Each decision is one round trip: `EVALSHA` of the GCRA script (the `redis` crate sends
/// `EVAL` once when the server does not know the script yet). Keys are
/// `<prefix>:{<tool>:<key>}`; the braces are a Redis Cluster hash tag, and `{`, `}` and `%` in
/// tool or key are percent-encoded so the tag stays whole. The connection reconnects by itself;
/// while Redis is unreachable every decision is an error, which refuses the call unless the
/// server chose [`crate::SecurityBuilder::limiter_fail_open`].
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use mcp_secure::{Security, rate::RedisLimiter};
/// let limiter = RedisLimiter::connect("redis://127.0.0.1:6379").await?;
/// let security = Security::builder().limiter(limiter).build()?;
/// # let _ = security;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisLimiter {
    conn: ConnectionManager,
    script: Script,
    prefix: String,
}

impl RedisLimiter {
    /// Connects to `url` (`redis://host:port/db`, `rediss://` for TLS). Fails if Redis cannot
    /// be reached now; once connected, outages are survived by reconnecting.
    pub async fn connect(url: &str) -> Result<Self, LimiterError> {
        let client = redis::Client::open(url).map_err(|e| LimiterError {
            detail: format!("invalid Redis URL ({:?})", e.kind()),
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(redis_error)?;
        Ok(Self {
            conn,
            script: Script::new(GCRA_LUA),
            prefix: "mcp-secure:rl".to_owned(),
        })
    }

    /// Uses `prefix` for keys instead of `mcp-secure:rl` (e.g. one per deployment).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The connection, for other state the replicas share ([`crate::http::RedisSessions`]).
    #[cfg(feature = "http")]
    pub(crate) fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The Redis key of (`tool`, `key`).
    pub fn redis_key(&self, tool: &str, key: &str) -> String {
        format!("{}:{{{}:{}}}", self.prefix, escape(tool), escape(key))
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
        }
    }
    out
}

fn redis_error(e: redis::RedisError) -> LimiterError {
    // The error's text can include the server's address; keep it to the server log (this
    // detail never reaches a client).
    LimiterError {
        detail: format!("Redis: {e}"),
    }
}

impl RateLimiter for RedisLimiter {
    fn check<'a>(&'a self, tool: &'a str, key: &'a str, spec: RateSpec) -> DecisionFuture<'a> {
        DecisionFuture::boxed(async move {
            let mut conn = self.conn.clone();
            let wait_us: i64 = self
                .script
                .key(self.redis_key(tool, key))
                .arg(spec.interval().as_micros() as u64)
                .arg(spec.tolerance().as_micros() as u64)
                .invoke_async(&mut conn)
                .await
                .map_err(redis_error)?;
            Ok(if wait_us > 0 {
                Decision::Deny {
                    retry_after: Duration::from_micros(wait_us as u64),
                }
            } else {
                Decision::Allow
            })
        })
    }

    fn ready(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), LimiterError>> + Send + '_>>
    {
        Box::pin(self.ping())
    }
}

impl RedisLimiter {
    async fn ping(&self) -> Result<(), LimiterError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(())
    }
}

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn keys_keep_their_hash_tag_whole() {
        assert_eq!(escape("notes_create"), "notes_create");
        assert_eq!(escape("a}b{c%d:e"), "a%7Db%7Bc%25d%3Ae");
    }
}
