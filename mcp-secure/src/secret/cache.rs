//! One secret from a store, kept for a time to live and fetched again after it, by one reader
//! at a time however many are waiting.
//!
//! After the time to live, a failure the store may recover from (throttling, a 5xx, the network)
//! serves the last value for a bounded time; an answer that means the secret or the access to
//! it is gone (not found, denied, deleted) fails at once and forgets the value. After any
//! failed fetch the next one waits [`RETRY_AFTER`], so that a failing store is not asked on
//! every read.

use std::{future::Future, time::Duration};

use tokio::time::Instant;

use super::SecretString;

/// How long after a failed fetch the next read may fetch again.
pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(1);

/// What the cache needs to know of a store's error (shown in its log: never a secret).
pub(crate) trait StoreError: Clone + std::fmt::Display {
    /// Whether the store may answer on a later try (throttled, unavailable, unreachable), so
    /// that a value fetched before is still the secret's.
    fn is_transient(&self) -> bool;
}

struct Value {
    secret: SecretString,
    fetched: Instant,
}

struct State<E> {
    value: Option<Value>,
    /// The last fetch's error and when it failed, until a fetch succeeds.
    failed: Option<(E, Instant)>,
}

/// The cache of one secret.
pub(crate) struct Cache<E> {
    ttl: Duration,
    serve_stale_for: Duration,
    state: std::sync::RwLock<State<E>>,
    /// Held by the one reader that fetches; the others wait for its answer.
    fetching: tokio::sync::Mutex<()>,
}

impl<E: StoreError> Cache<E> {
    pub(crate) fn new(ttl: Duration, serve_stale_for: Duration) -> Self {
        Self {
            ttl,
            serve_stale_for,
            state: std::sync::RwLock::new(State {
                value: None,
                failed: None,
            }),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self, now: Instant) -> Option<SecretString> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        state
            .value
            .as_ref()
            .filter(|v| now.saturating_duration_since(v.fetched) < self.ttl)
            .map(|v| v.secret.clone())
    }

    /// The last value, if it expired less than `serve_stale_for` ago.
    fn stale(&self, state: &State<E>, now: Instant) -> Option<SecretString> {
        state
            .value
            .as_ref()
            .filter(|v| {
                // `Duration::MAX` ("as long as the store is down") must not overflow.
                now.saturating_duration_since(v.fetched)
                    < self.ttl.saturating_add(self.serve_stale_for)
            })
            .map(|v| v.secret.clone())
    }

    /// The secret: the cached value while it is fresh, else what `fetch` answers.
    pub(crate) async fn get<F, Fut>(&self, fetch: F) -> Result<SecretString, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SecretString, E>>,
    {
        if let Some(secret) = self.fresh(Instant::now()) {
            return Ok(secret);
        }
        let _fetching = self.fetching.lock().await;
        // Whoever held the lock before may have fetched it.
        let now = Instant::now();
        if let Some(secret) = self.fresh(now) {
            return Ok(secret);
        }
        {
            let state = self.state.read().unwrap_or_else(|p| p.into_inner());
            if let Some((error, at)) = &state.failed
                && now.saturating_duration_since(*at) < RETRY_AFTER
            {
                return match self.stale(&state, now) {
                    Some(secret) if error.is_transient() => Ok(secret),
                    _ => Err(error.clone()),
                };
            }
        }
        let result = fetch().await;
        let now = Instant::now();
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(secret) => {
                state.value = Some(Value {
                    secret: secret.clone(),
                    fetched: now,
                });
                state.failed = None;
                Ok(secret)
            }
            Err(error) => {
                state.failed = Some((error.clone(), now));
                if !error.is_transient() {
                    // The store said the secret, or our access to it, is gone: stop using it.
                    state.value = None;
                    return Err(error);
                }
                match self.stale(&state, now) {
                    Some(secret) => {
                        tracing::warn!(target: "mcp_secure", error = %error, "a secret could not be fetched again; serving the value fetched before, within its stale bound");
                        Ok(secret)
                    }
                    None => Err(error),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    enum Failure {
        Transient,
        Gone,
    }

    impl std::fmt::Display for Failure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{self:?}")
        }
    }

    impl StoreError for Failure {
        fn is_transient(&self) -> bool {
            *self == Failure::Transient
        }
    }

    fn value(s: &str) -> Result<SecretString, Failure> {
        Ok(SecretString::new(s.to_owned()))
    }

    async fn read(cache: &Cache<Failure>, answer: Result<SecretString, Failure>) -> String {
        match cache.get(|| async { answer }).await {
            Ok(s) => s.expose_secret().to_owned(),
            Err(e) => format!("{e:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_value_is_kept_for_its_ttl_then_fetched_again() {
        let cache = Cache::new(Duration::from_secs(60), Duration::ZERO);
        assert_eq!(read(&cache, value("v1")).await, "v1");
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(read(&cache, value("v2")).await, "v1");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(read(&cache, value("v2")).await, "v2");
    }

    #[tokio::test(start_paused = true)]
    async fn readers_at_expiry_wait_for_one_fetch() {
        let cache = Arc::new(Cache::new(Duration::from_secs(60), Duration::ZERO));
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut readers = Vec::new();
        for _ in 0..50 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            readers.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        // A slow store: every reader arrives while the first one fetches.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        value("v1")
                    })
                    .await
                    .unwrap()
                    .expose_secret()
                    .to_owned()
            }));
        }
        for reader in readers {
            assert_eq!(reader.await.unwrap(), "v1");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_failure_serves_the_old_value_within_the_stale_bound_only() {
        let cache = Cache::new(Duration::from_secs(60), Duration::from_secs(30));
        assert_eq!(read(&cache, value("v1")).await, "v1");
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(read(&cache, Err(Failure::Transient)).await, "v1");
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(read(&cache, Err(Failure::Transient)).await, "v1");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(read(&cache, Err(Failure::Transient)).await, "Transient");
        // The store answers again: the new value, fresh.
        tokio::time::advance(RETRY_AFTER).await;
        assert_eq!(read(&cache, value("v2")).await, "v2");
    }

    #[tokio::test(start_paused = true)]
    async fn a_secret_that_is_gone_is_not_served_any_more() {
        let cache = Cache::new(Duration::from_secs(60), Duration::from_secs(600));
        assert_eq!(read(&cache, value("v1")).await, "v1");
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(read(&cache, Err(Failure::Gone)).await, "Gone");
        // Forgotten: a later transient failure has nothing stale to serve.
        tokio::time::advance(RETRY_AFTER).await;
        assert_eq!(read(&cache, Err(Failure::Transient)).await, "Transient");
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_failure_the_store_is_asked_again_only_after_a_pause() {
        let cache = Cache::new(Duration::from_secs(60), Duration::ZERO);
        let fetches = AtomicUsize::new(0);
        let failing = || async {
            fetches.fetch_add(1, Ordering::SeqCst);
            Err::<SecretString, _>(Failure::Gone)
        };
        for _ in 0..10 {
            assert_eq!(cache.get(failing).await.unwrap_err(), Failure::Gone);
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        tokio::time::advance(RETRY_AFTER).await;
        assert_eq!(cache.get(failing).await.unwrap_err(), Failure::Gone);
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }
}
