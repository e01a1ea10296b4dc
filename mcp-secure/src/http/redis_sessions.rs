//! Sessions shared by replicas through Redis: the bindings of the [`SessionLayer`] (who owns
//! each session, how many each holder has) and rmcp's session state (the client's `initialize`
//! parameters, from which another replica restores the session), on the connection the
//! [`RedisLimiter`] already has.
//!
//! [`SessionLayer`]: super::SessionLayer

use redis::{AsyncCommands, Script, aio::ConnectionManager};
use rmcp::transport::streamable_http_server::session::store::{
    SessionState, SessionStore, SessionStoreError,
};

use super::session_registry::{
    Checked, RegistryError, RegistryFuture, SESSION_IDLE, SessionRegistry,
};
use crate::rate::RedisLimiter;

/// How long a reservation waits for its session, in milliseconds.
const RESERVATION_MS: u64 = 60_000;

/// The Redis server's clock, in milliseconds, so that replicas with skewed clocks agree.
const NOW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
";

/// KEYS: holder set. ARGV: max, ticket, reservation ms, idle ms. 1 if reserved.
const RESERVE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
";

/// KEYS: holder set, owner hash. ARGV: ticket, id, subject, idle ms.
const BIND: &str = r"
local idle = tonumber(ARGV[4])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + idle, ARGV[2])
redis.call('PEXPIRE', KEYS[1], idle)
redis.call('HSET', KEYS[2], 'subject', ARGV[3], 'holder', KEYS[1])
redis.call('PEXPIRE', KEYS[2], idle)
return 1
";

/// KEYS: owner hash, state, the claimant's holder set. ARGV: subject, max, idle ms, id.
/// The owner hash names its holder set's key, so a claim moves the session between sets.
const CHECK: &str = r"
local owner = redis.call('HMGET', KEYS[1], 'subject', 'holder')
if not owner[1] then
  return 'unknown'
end
local idle = tonumber(ARGV[3])
local holder = owner[2]
local result = 'own'
if owner[1] ~= ARGV[1] then
  if owner[1] ~= '' or ARGV[1] == '' then
    return 'other'
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[2]) then
    return 'full'
  end
  redis.call('ZREM', holder, ARGV[4])
  holder = KEYS[3]
  redis.call('HSET', KEYS[1], 'subject', ARGV[1], 'holder', holder)
  result = 'claimed'
end
redis.call('PEXPIRE', KEYS[1], idle)
redis.call('PEXPIRE', KEYS[2], idle)
redis.call('ZADD', holder, now + idle, ARGV[4])
redis.call('PEXPIRE', holder, idle)
return result
";

/// KEYS: owner hash. ARGV: id.
const CLOSE: &str = r"
local holder = redis.call('HGET', KEYS[1], 'holder')
if holder then
  redis.call('ZREM', holder, ARGV[1])
end
redis.call('DEL', KEYS[1])
return 1
";

/// The sessions of every replica on one Redis: a [`SessionRegistry`] for the
/// [`SessionLayer`](super::SessionLayer) and rmcp's [`SessionStore`], so that a legacy client
/// sent to any replica keeps its session, which stays its owner's alone, and one bound of
/// sessions per principal holds across replicas. Give it to
/// [`Endpoint::shared_sessions`](super::Endpoint::shared_sessions).
///
/// Keys are `<prefix>:o:<id>` (owner), `<prefix>:st:<id>` (rmcp's state) and
/// `<prefix>:h:<holder>` (a holder's sessions, scored by when each expires); the default prefix
/// `mcp-secure:{sessions}` is one Redis Cluster hash tag, as the scripts that span them need.
/// Every key expires after [`SESSION_IDLE`] without a request on its session. While Redis is
/// unreachable, requests that name or open a session are refused (`503`), audited as
/// `session_refused`; stateless requests are not affected.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use mcp_secure::{http::RedisSessions, rate::RedisLimiter};
/// let limiter = RedisLimiter::connect("redis://127.0.0.1:6379").await?;
/// let sessions = RedisSessions::sharing(&limiter);
/// # let _ = sessions;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisSessions {
    conn: ConnectionManager,
    prefix: String,
    reserve: Script,
    bind: Script,
    check: Script,
    close: Script,
}

fn script(body: &str) -> Script {
    Script::new(&format!("{NOW}{body}"))
}

fn redis_error(e: redis::RedisError) -> RegistryError {
    RegistryError::new(format!("Redis: {e}"))
}

impl RedisSessions {
    /// Sessions on the Redis connection of `limiter`.
    pub fn sharing(limiter: &RedisLimiter) -> Self {
        Self {
            conn: limiter.connection(),
            prefix: "mcp-secure:{sessions}".to_owned(),
            reserve: script(RESERVE),
            bind: script(BIND),
            check: script(CHECK),
            close: script(CLOSE),
        }
    }

    /// Uses `prefix` for keys instead of `mcp-secure:{sessions}` (e.g. one per deployment;
    /// keep one hash tag in it for Redis Cluster).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn owner_key(&self, id: &str) -> String {
        format!("{}:o:{id}", self.prefix)
    }

    fn state_key(&self, id: &str) -> String {
        format!("{}:st:{id}", self.prefix)
    }

    fn holder_key(&self, holder: &str) -> String {
        format!("{}:h:{holder}", self.prefix)
    }
}

fn idle_ms() -> u64 {
    SESSION_IDLE.as_millis() as u64
}

/// A ticket no session id can equal: rmcp's ids are UUIDs.
fn ticket() -> String {
    let mut bytes = [0u8; 16];
    // An unpredictable ticket is not needed (a holder's own place), a unique one is; the
    // clock stands in if the system's randomness fails.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = nanos.to_le_bytes();
    }
    let mut out = String::from("?");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

impl SessionRegistry for RedisSessions {
    fn reserve<'a>(&'a self, holder: &'a str, max: usize) -> RegistryFuture<'a, Option<String>> {
        Box::pin(async move {
            let ticket = ticket();
            let reserved: i64 = self
                .reserve
                .key(self.holder_key(holder))
                .arg(max)
                .arg(&ticket)
                .arg(RESERVATION_MS)
                .arg(idle_ms())
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(redis_error)?;
            Ok((reserved == 1).then_some(ticket))
        })
    }

    fn bind<'a>(
        &'a self,
        ticket: &'a str,
        holder: &'a str,
        id: &'a str,
        subject: &'a str,
    ) -> RegistryFuture<'a, ()> {
        Box::pin(async move {
            let _: i64 = self
                .bind
                .key(self.holder_key(holder))
                .key(self.owner_key(id))
                .arg(ticket)
                .arg(id)
                .arg(subject)
                .arg(idle_ms())
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(redis_error)?;
            Ok(())
        })
    }

    fn release<'a>(&'a self, ticket: &'a str, holder: &'a str) -> RegistryFuture<'a, ()> {
        Box::pin(async move {
            let _: i64 = self
                .conn
                .clone()
                .zrem(self.holder_key(holder), ticket)
                .await
                .map_err(redis_error)?;
            Ok(())
        })
    }

    fn check<'a>(
        &'a self,
        id: &'a str,
        subject: &'a str,
        holder: &'a str,
        max: usize,
    ) -> RegistryFuture<'a, Checked> {
        Box::pin(async move {
            let answer: String = self
                .check
                .key(self.owner_key(id))
                .key(self.state_key(id))
                .key(self.holder_key(holder))
                .arg(subject)
                .arg(max)
                .arg(idle_ms())
                .arg(id)
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(redis_error)?;
            Ok(match answer.as_str() {
                "own" => Checked::Own,
                "claimed" => Checked::Claimed,
                "full" => Checked::Full,
                "other" => Checked::Other,
                _ => Checked::Unknown,
            })
        })
    }

    fn close<'a>(&'a self, id: &'a str) -> RegistryFuture<'a, ()> {
        Box::pin(async move {
            let _: i64 = self
                .close
                .key(self.owner_key(id))
                .arg(id)
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(redis_error)?;
            Ok(())
        })
    }
}

type StoreFuture<'a, T> =
    std::pin::Pin<Box<dyn Future<Output = Result<T, SessionStoreError>> + Send + 'a>>;

// rmcp's trait is declared with `async_trait`; these are the signatures it expands to.
impl SessionStore for RedisSessions {
    fn load<'s, 'i, 'f>(&'s self, session_id: &'i str) -> StoreFuture<'f, Option<SessionState>>
    where
        's: 'f,
        'i: 'f,
        Self: 'f,
    {
        Box::pin(async move {
            let json: Option<String> = self.conn.clone().get(self.state_key(session_id)).await?;
            Ok(match json {
                Some(json) => Some(serde_json::from_str(&json)?),
                None => None,
            })
        })
    }

    fn store<'s, 'i, 't, 'f>(
        &'s self,
        session_id: &'i str,
        state: &'t SessionState,
    ) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'i: 'f,
        't: 'f,
        Self: 'f,
    {
        Box::pin(async move {
            let json = serde_json::to_string(state)?;
            let _: () = self
                .conn
                .clone()
                .pset_ex(self.state_key(session_id), json, idle_ms())
                .await?;
            Ok(())
        })
    }

    fn delete<'s, 'i, 'f>(&'s self, session_id: &'i str) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'i: 'f,
        Self: 'f,
    {
        Box::pin(async move {
            let _: i64 = self.conn.clone().del(self.state_key(session_id)).await?;
            Ok(())
        })
    }
}
