//! Where the authorization server keeps its flows between requests: clients, consent pages,
//! sign-ins waiting at the provider, codes, refresh families and refresh tokens.
//!
//! Two backends keep the same records: memory, for one process, and Redis, for the proxy's
//! replicas (features `oauth-proxy` and `redis`). Every step that spends something (a consent
//! ticket, a sign-in's `state`, a code, a refresh token) is one atomic operation on either, so
//! two replicas presented the same code or refresh token both see it spent once: one gets the
//! tokens, the other revokes what it bought.

mod memory;
#[cfg(all(feature = "oauth-proxy", feature = "redis"))]
mod redis;

#[cfg(all(feature = "oauth-proxy", feature = "redis"))]
pub(super) use self::redis::RedisKv;

use std::time::Duration;

use serde::{Serialize, de::DeserializeOwned};

use super::{Client, Code, Family, Pending, Refresh, flow::is_document_url, hash, random_token};

/// The state store could not be reached or answered nonsense: the request is refused and may
/// be retried. The flows write what they keep before they spend, so nothing was spent, unless
/// the failure came during the spend itself (its answer lost).
#[derive(Debug)]
pub(super) struct StoreError(String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the authorization server's state store: {}", self.0)
    }
}

type Result<T> = std::result::Result<T, StoreError>;

/// What a record is; its key's namespace, and in memory the cap it shares.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) enum Kind {
    /// A registered client, kept until the server's state is cleared.
    Client,
    /// A client known from its metadata document, kept while its copy is fresh.
    Document,
    /// A consent page waiting for its answer, by its ticket's hash.
    Pending,
    /// A sign-in at the upstream provider waiting for its callback, by its `state`'s hash.
    #[cfg_attr(not(feature = "oauth-proxy"), allow(dead_code))]
    Upstream,
    /// An authorization code, by its hash.
    Code,
    /// A refresh family: what a code bought, and every refresh token rotated from it.
    Family,
    /// A refresh token, by its hash.
    Refresh,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::Document => "document",
            Kind::Pending => "consent",
            Kind::Upstream => "sign-in",
            Kind::Code => "code",
            Kind::Family => "family",
            Kind::Refresh => "refresh",
        }
    }
}

/// A record as both backends keep it: its value, and the two marks the flows change in place
/// (a code or refresh token spent, a family revoked; the family a code bought).
#[derive(Clone, Debug, Default)]
pub(super) struct Entry {
    pub(super) value: Vec<u8>,
    pub(super) flag: bool,
    pub(super) link: Option<String>,
}

/// What spending a code found.
pub(super) enum Spent {
    /// Unspent until now: it is spent, linked to the family it bought (if any).
    First,
    /// Spent before: a replay, or a stolen copy. `link` is the family the first spend bought.
    Again { link: Option<String> },
}

enum Kv {
    Memory(memory::MemoryKv),
    #[cfg(all(feature = "oauth-proxy", feature = "redis"))]
    Redis(Box<RedisKv>),
}

/// The flows' records, typed, on one backend.
pub(super) struct StateStore {
    kv: Kv,
}

/// The key of a record named by a secret (a ticket, state, code or token): its hash, so that
/// neither memory nor Redis holds the secret itself.
fn secret_id(secret: &str) -> String {
    let mut id = String::with_capacity(64);
    for b in hash(secret) {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    serde_json::to_vec(record)
        .unwrap_or_else(|e| unreachable!("the store's records serialize to JSON: {e}"))
}

fn decode<T: DeserializeOwned>(kind: Kind, entry: &Entry) -> Result<T> {
    serde_json::from_slice(&entry.value)
        .map_err(|_| StoreError(format!("a {} record could not be read", kind.name())))
}

fn expires_in(expires_ms: u64) -> Duration {
    Duration::from_millis(expires_ms.saturating_sub(super::now_ms()).max(1))
}

impl StateStore {
    /// State in this process's memory.
    pub(super) fn memory() -> Self {
        Self {
            kv: Kv::Memory(memory::MemoryKv::default()),
        }
    }

    /// State in Redis, shared by the replicas that use the same connection, prefix and secret.
    #[cfg(all(feature = "oauth-proxy", feature = "redis"))]
    pub(super) fn redis(kv: RedisKv) -> Self {
        Self {
            kv: Kv::Redis(Box::new(kv)),
        }
    }

    async fn put(&self, kind: Kind, id: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<()> {
        match &self.kv {
            Kv::Memory(kv) => {
                kv.put(kind, id, value, ttl);
                Ok(())
            }
            #[cfg(all(feature = "oauth-proxy", feature = "redis"))]
            Kv::Redis(kv) => kv.put(kind, id, value, ttl).await,
        }
    }

    async fn get(&self, kind: Kind, id: &str) -> Result<Option<Entry>> {
        match &self.kv {
            Kv::Memory(kv) => Ok(kv.get(kind, id)),
            #[cfg(all(feature = "oauth-proxy", feature = "redis"))]
            Kv::Redis(kv) => kv.get(kind, id).await,
        }
    }

    async fn take(&self, kind: Kind, id: &str) -> Result<Option<Entry>> {
        match &self.kv {
            Kv::Memory(kv) => Ok(kv.take(kind, id)),
            #[cfg(all(feature = "oauth-proxy", feature = "redis"))]
            Kv::Redis(kv) => kv.take(kind, id).await,
        }
    }

    /// Sets the record's flag; the record as it was before. The first to set it also records
    /// `link` (and keeps the record `keep` from now), in the same atomic step: whoever comes
    /// second finds the link.
    async fn flag(
        &self,
        kind: Kind,
        id: &str,
        link: Option<(&str, Duration)>,
    ) -> Result<Option<Entry>> {
        match &self.kv {
            Kv::Memory(kv) => Ok(kv.flag(kind, id, link)),
            #[cfg(all(feature = "oauth-proxy", feature = "redis"))]
            Kv::Redis(kv) => kv.flag(kind, id, link).await,
        }
    }

    /// Replaces the value of a record that still exists, keeping its marks and expiry.
    #[cfg(feature = "oauth-proxy")]
    async fn replace(&self, kind: Kind, id: &str, value: Vec<u8>) -> Result<()> {
        match &self.kv {
            Kv::Memory(kv) => {
                kv.replace(kind, id, value);
                Ok(())
            }
            #[cfg(all(feature = "oauth-proxy", feature = "redis"))]
            Kv::Redis(kv) => kv.replace(kind, id, value).await,
        }
    }

    /// Makes a record that still exists live at least until `ttl` from now.
    async fn extend(&self, kind: Kind, id: &str, ttl: Duration) -> Result<()> {
        match &self.kv {
            Kv::Memory(kv) => {
                kv.extend(kind, id, ttl);
                Ok(())
            }
            #[cfg(all(feature = "oauth-proxy", feature = "redis"))]
            Kv::Redis(kv) => kv.extend(kind, id, ttl).await,
        }
    }

    /// Counts one more of `kind` unless `max` are counted; whether it was counted.
    async fn count_up(&self, kind: Kind, max: usize) -> Result<bool> {
        match &self.kv {
            Kv::Memory(kv) => Ok(kv.count_up(kind, max)),
            #[cfg(all(feature = "oauth-proxy", feature = "redis"))]
            Kv::Redis(kv) => kv.count_up(kind, max).await,
        }
    }

    fn client_kind(id: &str) -> Kind {
        if is_document_url(id) {
            Kind::Document
        } else {
            Kind::Client
        }
    }

    /// The client `id`, registered or known from its document (perhaps a stale copy).
    pub(super) async fn client(&self, id: &str) -> Result<Option<Client>> {
        let kind = Self::client_kind(id);
        match self.get(kind, id).await? {
            Some(entry) => decode(kind, &entry).map(Some),
            None => Ok(None),
        }
    }

    /// Registers `client` as `id` unless `max` clients are registered; whether it was.
    pub(super) async fn register(&self, id: &str, client: &Client, max: usize) -> Result<bool> {
        if !self.count_up(Kind::Client, max).await? {
            return Ok(false);
        }
        self.put(Kind::Client, id, encode(client), None).await?;
        Ok(true)
    }

    /// Keeps the client of the document at `url` until its copy expires.
    pub(super) async fn remember_document(&self, url: &str, client: &Client) -> Result<()> {
        let ttl = client.expires.map(expires_in);
        self.put(Kind::Document, url, encode(client), ttl).await
    }

    /// Keeps a consent page's grant until it expires, for its `ticket`.
    pub(super) async fn put_pending(&self, ticket: &str, pending: &Pending) -> Result<()> {
        let ttl = Some(expires_in(pending.expires));
        self.put(Kind::Pending, &secret_id(ticket), encode(pending), ttl)
            .await
    }

    /// The consent page of `ticket`, which no one can answer again.
    pub(super) async fn take_pending(&self, ticket: &str) -> Result<Option<Pending>> {
        match self.take(Kind::Pending, &secret_id(ticket)).await? {
            Some(entry) => decode(Kind::Pending, &entry).map(Some),
            None => Ok(None),
        }
    }

    /// Keeps a sign-in at the provider until it expires, for its `state`.
    #[cfg(feature = "oauth-proxy")]
    pub(super) async fn put_upstream(
        &self,
        state: &str,
        pending: &super::PendingUpstream,
    ) -> Result<()> {
        let ttl = Some(expires_in(pending.expires));
        self.put(Kind::Upstream, &secret_id(state), encode(pending), ttl)
            .await
    }

    /// The sign-in of `state`, which no callback can complete again.
    #[cfg(feature = "oauth-proxy")]
    pub(super) async fn take_upstream(
        &self,
        state: &str,
    ) -> Result<Option<super::PendingUpstream>> {
        match self.take(Kind::Upstream, &secret_id(state)).await? {
            Some(entry) => decode(Kind::Upstream, &entry).map(Some),
            None => Ok(None),
        }
    }

    /// Keeps `code` until it expires.
    pub(super) async fn put_code(&self, code: &str, record: &Code) -> Result<()> {
        let ttl = Some(expires_in(record.expires));
        self.put(Kind::Code, &secret_id(code), encode(record), ttl)
            .await
    }

    /// The record of `code`, with whether it was spent; reading spends nothing.
    pub(super) async fn code(&self, code: &str) -> Result<Option<(Code, bool)>> {
        let Some(entry) = self.get(Kind::Code, &secret_id(code)).await? else {
            return Ok(None);
        };
        decode(Kind::Code, &entry).map(|c| Some((c, entry.flag)))
    }

    /// Spends `code`, linking it to the `family` it bought, which is then kept `keep` longer
    /// so that the family is revoked if the code comes back. The link is recorded with the
    /// spend (one atomic step): a second exchange at another replica finds it at once.
    pub(super) async fn spend_code(
        &self,
        code: &str,
        family: Option<&str>,
        keep: Duration,
    ) -> Result<Option<Spent>> {
        let link = family.map(|f| (f, keep));
        let Some(entry) = self.flag(Kind::Code, &secret_id(code), link).await? else {
            return Ok(None);
        };
        Ok(Some(match entry.flag {
            true => Spent::Again { link: entry.link },
            false => Spent::First,
        }))
    }

    /// A new refresh family; its id.
    pub(super) async fn add_family(&self, family: &Family, ttl: Duration) -> Result<String> {
        let id = random_token();
        self.put(Kind::Family, &id, encode(family), Some(ttl))
            .await?;
        Ok(id)
    }

    /// The family `id`, with whether it is revoked.
    pub(super) async fn family(&self, id: &str) -> Result<Option<Family>> {
        let Some(entry) = self.get(Kind::Family, id).await? else {
            return Ok(None);
        };
        let mut family: Family = decode(Kind::Family, &entry)?;
        family.revoked = entry.flag;
        Ok(Some(family))
    }

    /// Revokes the family `id`: none of its tokens refreshes any more.
    pub(super) async fn revoke(&self, id: &str) -> Result<()> {
        self.flag(Kind::Family, id, None).await.map(drop)
    }

    /// Replaces what the family `id` keeps (the proxy's rotated provider token), if it lives.
    #[cfg(feature = "oauth-proxy")]
    pub(super) async fn replace_family(&self, id: &str, family: &Family) -> Result<()> {
        self.replace(Kind::Family, id, encode(family)).await
    }

    /// Keeps a refresh `token` of its family until it expires; the family lives as long.
    pub(super) async fn put_refresh(&self, token: &str, record: &Refresh) -> Result<()> {
        let ttl = expires_in(record.expires);
        self.extend(Kind::Family, &record.family, ttl).await?;
        self.put(Kind::Refresh, &secret_id(token), encode(record), Some(ttl))
            .await
    }

    /// The refresh `token`'s record, with whether it was spent.
    pub(super) async fn refresh_token(&self, token: &str) -> Result<Option<Refresh>> {
        let Some(entry) = self.get(Kind::Refresh, &secret_id(token)).await? else {
            return Ok(None);
        };
        let mut record: Refresh = decode(Kind::Refresh, &entry)?;
        record.used = entry.flag;
        Ok(Some(record))
    }

    /// Spends the refresh `token`: whether it was unspent until now (`None` if unknown).
    pub(super) async fn spend_refresh(&self, token: &str) -> Result<Option<bool>> {
        Ok(self
            .flag(Kind::Refresh, &secret_id(token), None)
            .await?
            .map(|entry| !entry.flag))
    }
}

#[cfg(test)]
mod tests;
