//! The proxy's state in Redis, shared by its replicas: each operation one script, so that two
//! replicas spending the same code or refresh token see it spent once. Values are sealed
//! (AES-256-GCM, a key derived from the proxy's secret, bound to their key's name): whoever
//! reads Redis reads no grant, user or provider token, and a value written there without the
//! secret, or moved to another key, is refused.

use std::time::Duration;

use redis::{Script, aio::ConnectionManager};

use super::{Entry, Kind, Result, StoreError};
use crate::{dev_auth::vault::Vault, rate::RedisLimiter, secret::SecretString};

/// KEYS: record. ARGV: sealed value, ttl ms (0: none).
const PUT: &str = r"
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'f', '0')
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
";

/// KEYS: record. The record's fields, then it is gone.
const TAKE: &str = r"
local e = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return e
";

/// KEYS: record. ARGV: link ('' for none), keep ms. The record's fields as they were; its
/// flag is set, and the first to set it records the link and keeps the record `keep`.
const FLAG: &str = r"
local e = redis.call('HGETALL', KEYS[1])
if #e == 0 then return e end
if redis.call('HGET', KEYS[1], 'f') ~= '1' and ARGV[1] ~= '' then
  redis.call('HSET', KEYS[1], 'l', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
redis.call('HSET', KEYS[1], 'f', '1')
return e
";

/// KEYS: record. ARGV: sealed value. Its expiry is kept.
const REPLACE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'v', ARGV[1]) end
return 1
";

/// KEYS: record. ARGV: ttl ms. Never shortens, never gives a kept record an expiry.
const EXTEND: &str = r"
local left = redis.call('PTTL', KEYS[1])
if left >= 0 and left < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
";

/// KEYS: counter. ARGV: max. 1 if counted.
const COUNT_UP: &str = r"
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
return 1
";

/// The Redis backend: a connection, a key prefix, and the sealing key.
pub(in crate::dev_auth) struct RedisKv {
    conn: ConnectionManager,
    prefix: String,
    seal: Vault,
    put: Script,
    take: Script,
    flag: Script,
    replace: Script,
    extend: Script,
    count_up: Script,
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError(format!("Redis failed ({:?})", e.kind()))
}

fn ms(ttl: Duration) -> u64 {
    ttl.as_millis().clamp(1, u128::from(u64::MAX)) as u64
}

impl RedisKv {
    /// On `limiter`'s connection, keys under `prefix`, values sealed with a key from `secret`.
    pub(in crate::dev_auth) fn new(
        limiter: &RedisLimiter,
        prefix: impl Into<String>,
        secret: &SecretString,
    ) -> Self {
        Self {
            conn: limiter.connection(),
            prefix: prefix.into(),
            seal: Vault::for_use(secret, b"oauth-proxy state"),
            put: Script::new(PUT),
            take: Script::new(TAKE),
            flag: Script::new(FLAG),
            replace: Script::new(REPLACE),
            extend: Script::new(EXTEND),
            count_up: Script::new(COUNT_UP),
        }
    }

    fn key(&self, kind: Kind, id: &str) -> String {
        format!("{}:{}:{id}", self.prefix, kind.name())
    }

    /// The entry of a record's fields, its value opened; an altered or foreign value is an
    /// error, never a record.
    fn entry(&self, key: &str, fields: Vec<Vec<u8>>) -> Result<Option<Entry>> {
        if fields.is_empty() {
            return Ok(None);
        }
        let mut entry = Entry::default();
        let mut sealed = None;
        for pair in fields.chunks(2) {
            let [name, value] = pair else {
                return Err(StoreError("Redis answered an odd field list".into()));
            };
            match name.as_slice() {
                b"v" => sealed = Some(value),
                b"f" => entry.flag = value.as_slice() == b"1",
                b"l" => entry.link = String::from_utf8(value.clone()).ok(),
                _ => {}
            }
        }
        let opened = sealed.and_then(|s| self.seal.open_bytes(key.as_bytes(), s));
        let Some(value) = opened else {
            return Err(StoreError(
                "a record in Redis was altered, moved or sealed with another secret".into(),
            ));
        };
        entry.value = value.to_vec();
        Ok(Some(entry))
    }

    async fn fields(&self, script: &Script, key: &str) -> Result<Option<Entry>> {
        let fields: Vec<Vec<u8>> = script
            .key(key)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        self.entry(key, fields)
    }

    pub(super) async fn put(
        &self,
        kind: Kind,
        id: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<()> {
        let key = self.key(kind, id);
        let sealed = self.seal.seal_bytes(key.as_bytes(), &value);
        let _: i64 = self
            .put
            .key(&key)
            .arg(sealed)
            .arg(ttl.map_or(0, ms))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub(super) async fn get(&self, kind: Kind, id: &str) -> Result<Option<Entry>> {
        let key = self.key(kind, id);
        let fields: Vec<Vec<u8>> = redis::cmd("HGETALL")
            .arg(&key)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        self.entry(&key, fields)
    }

    pub(super) async fn take(&self, kind: Kind, id: &str) -> Result<Option<Entry>> {
        self.fields(&self.take, &self.key(kind, id)).await
    }

    pub(super) async fn flag(
        &self,
        kind: Kind,
        id: &str,
        link: Option<(&str, Duration)>,
    ) -> Result<Option<Entry>> {
        let key = self.key(kind, id);
        let (link, keep) = link.map_or(("", 0), |(l, keep)| (l, ms(keep)));
        let fields: Vec<Vec<u8>> = self
            .flag
            .key(&key)
            .arg(link)
            .arg(keep)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        self.entry(&key, fields)
    }

    pub(super) async fn replace(&self, kind: Kind, id: &str, value: Vec<u8>) -> Result<()> {
        let key = self.key(kind, id);
        let sealed = self.seal.seal_bytes(key.as_bytes(), &value);
        let _: i64 = self
            .replace
            .key(&key)
            .arg(sealed)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub(super) async fn extend(&self, kind: Kind, id: &str, ttl: Duration) -> Result<()> {
        let _: i64 = self
            .extend
            .key(self.key(kind, id))
            .arg(ms(ttl))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub(super) async fn count_up(&self, kind: Kind, max: usize) -> Result<bool> {
        let counted: i64 = self
            .count_up
            .key(format!("{}:count:{}", self.prefix, kind.name()))
            .arg(max)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(counted == 1)
    }
}
