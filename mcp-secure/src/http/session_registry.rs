//! Where the [`SessionLayer`](super::SessionLayer) keeps its bindings: which principal opened
//! each legacy session, and how many sessions each holder (a principal, or an anonymous
//! caller's address) has open, so that one caller cannot open sessions without end.
//!
//! [`MemorySessions`] keeps them in this process; [`RedisSessions`](super::RedisSessions)
//! (feature `redis`) in Redis, shared by every replica. A binding expires after
//! [`SESSION_IDLE`] without a request, as rmcp's sessions do, and each request on it renews it.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// How long a session's binding lives without a request: rmcp's own idle timeout for a session
/// (`LocalSessionConfig::DEFAULT_KEEP_ALIVE`), so the two expire together.
pub const SESSION_IDLE: Duration = Duration::from_secs(300);

/// How many sessions one principal (or one anonymous client address) may have open at once,
/// unless [`AuthLayerBuilder::sessions_per_principal`](super::AuthLayerBuilder::sessions_per_principal)
/// says otherwise.
pub const DEFAULT_SESSIONS_PER_PRINCIPAL: usize = 100;

/// Past this many bindings in one process, new sessions are refused until some expire or
/// close (the sessions already open keep working).
const MAX_SESSIONS: usize = 100_000;

/// What a registry says of a request naming a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// The session is the caller's (and its binding was renewed).
    Own,
    /// The session was opened anonymously and is now the caller's, who signed in on it.
    Claimed,
    /// The session was opened anonymously, and the caller who signed in on it already has as
    /// many sessions as allowed.
    Full,
    /// The session belongs to another principal.
    Other,
    /// No session of that id is bound: never issued, closed, or expired.
    Unknown,
}

/// A registry could not answer (e.g. Redis is unreachable): the request is refused.
#[derive(Debug, Clone)]
pub struct RegistryError {
    detail: String,
}

impl RegistryError {
    /// An error whose `detail` goes to the server's log only, never to a client.
    pub fn new(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "session registry unavailable: {}", self.detail)
    }
}

impl std::error::Error for RegistryError {}

/// A registry's answer, later.
pub type RegistryFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, RegistryError>> + Send + 'a>>;

/// A store of session bindings, shared by the replicas that use the same one.
///
/// A new session is opened in two steps, so that the bound is exact under concurrency: a place
/// is [reserved](SessionRegistry::reserve) for the holder before rmcp creates the session, then
/// [bound](SessionRegistry::bind) to the session's id once rmcp has answered (or
/// [released](SessionRegistry::release) if it created none). A reservation that is neither
/// expires by itself after a minute.
pub trait SessionRegistry: Send + Sync + 'static {
    /// Reserves a place for one more session of `holder`, unless it has `max` already: the
    /// reservation's ticket, or `None`.
    fn reserve<'a>(&'a self, holder: &'a str, max: usize) -> RegistryFuture<'a, Option<String>>;

    /// Binds session `id` to `subject` (`""`: anonymous), in the place `ticket` reserved for
    /// `holder`.
    fn bind<'a>(
        &'a self,
        ticket: &'a str,
        holder: &'a str,
        id: &'a str,
        subject: &'a str,
    ) -> RegistryFuture<'a, ()>;

    /// Gives back the place `ticket` reserved for `holder`: no session was created.
    fn release<'a>(&'a self, ticket: &'a str, holder: &'a str) -> RegistryFuture<'a, ()>;

    /// Whether session `id` is `subject`'s (`""`: anonymous), renewing its binding if so. An
    /// anonymous session named by a principal becomes that principal's, counted for `holder`
    /// (its holder), unless `holder` has `max` sessions already.
    fn check<'a>(
        &'a self,
        id: &'a str,
        subject: &'a str,
        holder: &'a str,
        max: usize,
    ) -> RegistryFuture<'a, Checked>;

    /// Forgets session `id` (closed by its owner).
    fn close<'a>(&'a self, id: &'a str) -> RegistryFuture<'a, ()>;

    /// How many sessions are bound, if the registry can say cheaply (for the sessions gauge).
    fn bound(&self) -> Option<usize> {
        None
    }
}

/// The bindings of this process's sessions: the default, for a single replica.
#[derive(Clone)]
pub struct MemorySessions {
    state: Arc<Mutex<State>>,
    tickets: Arc<AtomicU64>,
    /// How many bindings it keeps at most.
    capacity: usize,
}

impl Default for MemorySessions {
    fn default() -> Self {
        Self {
            state: Arc::default(),
            tickets: Arc::default(),
            capacity: MAX_SESSIONS,
        }
    }
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, Binding>,
    /// Each holder's sessions and reservations, with when each expires.
    holders: HashMap<String, HashMap<String, Instant>>,
}

struct Binding {
    subject: String,
    holder: String,
    expires: Instant,
}

/// How long a reservation waits for its session.
const RESERVATION: Duration = Duration::from_secs(60);

impl State {
    /// `holder`'s live sessions and reservations, the expired ones dropped.
    fn live(&mut self, holder: &str, now: Instant) -> usize {
        match self.holders.get_mut(holder) {
            Some(places) => {
                places.retain(|_, expires| *expires > now);
                places.len()
            }
            None => 0,
        }
    }

    fn forget(&mut self, id: &str) {
        if let Some(binding) = self.sessions.remove(id)
            && let Some(places) = self.holders.get_mut(&binding.holder)
        {
            places.remove(id);
            if places.is_empty() {
                self.holders.remove(&binding.holder);
            }
        }
    }

    fn renew(&mut self, id: &str, holder: &str, expires: Instant) {
        self.holders
            .entry(holder.to_owned())
            .or_default()
            .insert(id.to_owned(), expires);
    }
}

impl MemorySessions {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// [`SessionRegistry::reserve`], now.
    pub(crate) fn reserve_now(&self, holder: &str, max: usize) -> Option<String> {
        let now = Instant::now();
        let mut state = self.state();
        if state.sessions.len() >= self.capacity {
            state.sessions.retain(|_, b| b.expires > now);
            state.holders.retain(|_, places| {
                places.retain(|_, expires| *expires > now);
                !places.is_empty()
            });
            if state.sessions.len() >= self.capacity {
                return None;
            }
        }
        if state.live(holder, now) >= max {
            return None;
        }
        // `?` never starts a session id (rmcp's are UUIDs), so tickets and ids cannot meet.
        let ticket = format!("?{}", self.tickets.fetch_add(1, Ordering::Relaxed));
        state.renew(&ticket, holder, now + RESERVATION);
        Some(ticket)
    }

    /// [`SessionRegistry::bind`], now.
    pub(crate) fn bind_now(&self, ticket: &str, holder: &str, id: &str, subject: &str) {
        let expires = Instant::now() + SESSION_IDLE;
        let mut state = self.state();
        if let Some(places) = state.holders.get_mut(holder) {
            places.remove(ticket);
        }
        state.renew(id, holder, expires);
        state.sessions.insert(
            id.to_owned(),
            Binding {
                subject: subject.to_owned(),
                holder: holder.to_owned(),
                expires,
            },
        );
    }

    /// [`SessionRegistry::release`], now.
    pub(crate) fn release_now(&self, ticket: &str, holder: &str) {
        let mut state = self.state();
        if let Some(places) = state.holders.get_mut(holder) {
            places.remove(ticket);
            if places.is_empty() {
                state.holders.remove(holder);
            }
        }
    }

    /// [`SessionRegistry::check`], now; `holder` is asked for only when a session is claimed.
    pub(crate) fn check_now(
        &self,
        id: &str,
        subject: &str,
        holder: impl FnOnce() -> String,
        max: usize,
    ) -> Checked {
        let now = Instant::now();
        let expires = now + SESSION_IDLE;
        let mut guard = self.state();
        let state = &mut *guard;
        let Some(binding) = state.sessions.get_mut(id) else {
            return Checked::Unknown;
        };
        if binding.expires <= now {
            state.forget(id);
            return Checked::Unknown;
        }
        if binding.subject == subject {
            // Renewed in place: a request on one's own session allocates nothing.
            binding.expires = expires;
            if let Some(at) = state
                .holders
                .get_mut(&binding.holder)
                .and_then(|places| places.get_mut(id))
            {
                *at = expires;
            }
            return Checked::Own;
        }
        if !binding.subject.is_empty() || subject.is_empty() {
            return Checked::Other;
        }
        let holder = holder();
        if state.live(&holder, now) >= max {
            return Checked::Full;
        }
        state.forget(id);
        state.renew(id, &holder, expires);
        state.sessions.insert(
            id.to_owned(),
            Binding {
                subject: subject.to_owned(),
                holder,
                expires,
            },
        );
        Checked::Claimed
    }

    /// Records that session `id` is `subject`'s, counted for `holder`, as a shared registry
    /// said (a replica's mirror of what it has seen, for when the shared one cannot answer).
    pub(crate) fn remember(&self, id: &str, subject: &str, holder: &str) {
        let expires = Instant::now() + SESSION_IDLE;
        let mut state = self.state();
        match state.sessions.get_mut(id) {
            Some(binding) if binding.subject == subject => binding.expires = expires,
            _ => {
                state.forget(id);
                if state.sessions.len() >= self.capacity {
                    // A mirror, not the record: forgetting costs only availability in an
                    // outage.
                    return;
                }
                state.sessions.insert(
                    id.to_owned(),
                    Binding {
                        subject: subject.to_owned(),
                        holder: holder.to_owned(),
                        expires,
                    },
                );
            }
        }
        state.renew(id, holder, expires);
    }

    /// Whether session `id` is known here to be principal `subject`'s (never an anonymous
    /// caller's: an anonymous session may have been claimed elsewhere since).
    pub(crate) fn is_principals(&self, id: &str, subject: &str) -> bool {
        !subject.is_empty()
            && self
                .state()
                .sessions
                .get(id)
                .is_some_and(|b| b.subject == subject && b.expires > Instant::now())
    }

    /// [`SessionRegistry::close`], now.
    pub(crate) fn close_now(&self, id: &str) {
        self.state().forget(id);
    }

    /// Whether this process holds as many bindings as it keeps ([`reserve_now`](Self::reserve_now)
    /// then refuses everyone).
    pub(crate) fn is_full(&self) -> bool {
        self.count() >= self.capacity
    }

    /// A registry that keeps at most `capacity` bindings.
    #[cfg(test)]
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }

    /// How many sessions are bound.
    pub(crate) fn count(&self) -> usize {
        self.state().sessions.len()
    }

    /// Who opened session `id`, if it is bound.
    #[cfg(test)]
    pub(crate) fn owner_of(&self, id: &str) -> Option<String> {
        self.state().sessions.get(id).map(|b| b.subject.clone())
    }
}

impl SessionRegistry for MemorySessions {
    fn reserve<'a>(&'a self, holder: &'a str, max: usize) -> RegistryFuture<'a, Option<String>> {
        Box::pin(std::future::ready(Ok(self.reserve_now(holder, max))))
    }

    fn bind<'a>(
        &'a self,
        ticket: &'a str,
        holder: &'a str,
        id: &'a str,
        subject: &'a str,
    ) -> RegistryFuture<'a, ()> {
        self.bind_now(ticket, holder, id, subject);
        Box::pin(std::future::ready(Ok(())))
    }

    fn release<'a>(&'a self, ticket: &'a str, holder: &'a str) -> RegistryFuture<'a, ()> {
        self.release_now(ticket, holder);
        Box::pin(std::future::ready(Ok(())))
    }

    fn check<'a>(
        &'a self,
        id: &'a str,
        subject: &'a str,
        holder: &'a str,
        max: usize,
    ) -> RegistryFuture<'a, Checked> {
        Box::pin(std::future::ready(Ok(self.check_now(
            id,
            subject,
            || holder.to_owned(),
            max,
        ))))
    }

    fn close<'a>(&'a self, id: &'a str) -> RegistryFuture<'a, ()> {
        self.close_now(id);
        Box::pin(std::future::ready(Ok(())))
    }

    fn bound(&self) -> Option<usize> {
        Some(self.count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound counts sessions and reservations; closing or releasing gives a place back;
    /// claiming an anonymous session counts against the claimant's bound.
    #[test]
    fn each_holder_has_at_most_its_bound() {
        let r = MemorySessions::new();
        let a = r.reserve_now("p:ann", 2).unwrap();
        let b = r.reserve_now("p:ann", 2).unwrap();
        assert_eq!(r.reserve_now("p:ann", 2), None, "two places taken");
        assert!(r.reserve_now("p:bob", 2).is_some(), "holders are separate");
        r.bind_now(&a, "p:ann", "s-1", "ann");
        r.release_now(&b, "p:ann");
        let c = r.reserve_now("p:ann", 2).expect("a released place is free");
        r.bind_now(&c, "p:ann", "s-2", "ann");
        assert_eq!(r.reserve_now("p:ann", 2), None);
        assert_eq!(
            r.check_now("s-1", "ann", || "p:ann".into(), 2),
            Checked::Own
        );
        assert_eq!(
            r.check_now("s-1", "bob", || "p:bob".into(), 2),
            Checked::Other
        );
        assert_eq!(
            r.check_now("s-1", "", || "a:1.2.3.4".into(), 2),
            Checked::Other
        );
        r.close_now("s-1");
        assert_eq!(
            r.check_now("s-1", "ann", || "p:ann".into(), 2),
            Checked::Unknown
        );
        assert!(
            r.reserve_now("p:ann", 2).is_some(),
            "a closed session frees"
        );

        let anon = r.reserve_now("a:1.2.3.4", 5).unwrap();
        r.bind_now(&anon, "a:1.2.3.4", "s-3", "");
        assert_eq!(
            r.check_now("s-3", "", || "a:1.2.3.4".into(), 5),
            Checked::Own
        );
        assert_eq!(
            r.check_now("s-3", "ann", || "p:ann".into(), 2),
            Checked::Full,
            "ann holds two already"
        );
        assert_eq!(
            r.check_now("s-3", "bob", || "p:bob".into(), 2),
            Checked::Claimed
        );
        assert_eq!(r.owner_of("s-3").as_deref(), Some("bob"));
        assert_eq!(
            r.check_now("s-3", "", || "a:1.2.3.4".into(), 5),
            Checked::Other
        );
        assert!(
            r.reserve_now("a:1.2.3.4", 1).is_some(),
            "the claimed session no longer counts for the anonymous holder"
        );
        assert_eq!(
            r.reserve_now("p:bob", 2),
            None,
            "bob: one reserved, one claimed"
        );
    }
}
