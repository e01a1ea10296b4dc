//! Legacy sessions (`Mcp-Session-Id`) bound to the principal that opened them (an anonymous
//! caller's to "anonymous"): another principal naming the session is answered `404`, as for an
//! unknown session, so it learns nothing about whose it is; so is an id bound to nobody (never
//! issued, closed, or expired), rather than passed on unchecked. Each principal (and each
//! anonymous client address) may hold a bounded number of sessions: past it, opening one more
//! is refused (`429`) before rmcp creates it.
//!
//! The bindings live in a [`SessionRegistry`]: this process's memory by default, or one shared
//! by the replicas ([`RedisSessions`](super::RedisSessions)).

use std::{
    future::Future,
    marker::PhantomData,
    net::IpAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use axum::body::Body;
use http::{HeaderMap, HeaderName, Method, Request, Response, StatusCode};
use tower::{Layer, Service};

use super::{
    ClientAddress, error_response,
    session_registry::{Checked, MemorySessions, RegistryError, SessionRegistry},
};
use crate::{Security, audit::SecurityEvent, auth::Principal};

/// The header naming a streamable HTTP session.
pub(crate) const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// Marks a request whose body cannot open a session (it is not an `initialize`), so that no
/// place is reserved for one. Without it, a `POST` with no session id is assumed to open one.
#[derive(Clone, Copy)]
pub(crate) struct OpensNoSession;

/// Whether `body` may be an `initialize` request, the only one that opens a session. `false`
/// only when that is certain: a body without escapes that never spells `initialize`, or one
/// JSON-RPC object whose single `method` is another; anything else (a batch, a duplicate key,
/// a body that does not parse) may, and gets a place reserved.
pub(crate) fn may_open_session(body: &[u8]) -> bool {
    const WORD: &[u8] = b"initialize";
    if !body.contains(&b'\\') && !body.windows(WORD.len()).any(|w| w == WORD) {
        return false;
    }
    #[derive(serde::Deserialize)]
    struct Method<'a> {
        #[serde(default, borrow)]
        method: Option<std::borrow::Cow<'a, str>>,
    }
    match serde_json::from_slice::<Method<'_>>(body) {
        Ok(m) => m.method.as_deref() == Some("initialize"),
        Err(_) => true,
    }
}

/// Where the layer keeps its bindings.
#[derive(Clone)]
enum Registry {
    /// In this process: decided without waiting.
    Memory(MemorySessions),
    /// Elsewhere (shared by replicas): decided by a round trip. The mirror holds what this
    /// replica has seen, to decide what it safely can while the shared registry is down.
    Shared(Arc<dyn SessionRegistry>, MemorySessions),
}

/// The layer: the bindings of the sessions, and how many each caller may hold.
#[derive(Clone)]
pub struct SessionLayer {
    registry: Registry,
    per_principal: usize,
    security: Security,
}

impl SessionLayer {
    /// With bindings in `memory` rather than a fresh registry.
    #[cfg(test)]
    fn in_memory(security: Security, memory: MemorySessions, per_principal: usize) -> Self {
        Self {
            registry: Registry::Memory(memory),
            per_principal,
            security,
        }
    }

    pub(crate) fn new(
        security: Security,
        registry: Option<Arc<dyn SessionRegistry>>,
        per_principal: usize,
    ) -> Self {
        Self {
            registry: match registry {
                Some(shared) => Registry::Shared(shared, MemorySessions::new()),
                None => Registry::Memory(MemorySessions::new()),
            },
            per_principal,
            security,
        }
    }

    /// How many sessions are bound, if the registry can say.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn len(&self) -> Option<usize> {
        match &self.registry {
            Registry::Memory(memory) => Some(memory.count()),
            Registry::Shared(shared, _) => shared.bound(),
        }
    }

    /// Who opened session `id`, if it is bound in this process.
    #[cfg(test)]
    pub(crate) fn owner_of(&self, id: &str) -> Option<String> {
        match &self.registry {
            Registry::Memory(memory) => memory.owner_of(id),
            Registry::Shared(..) => None,
        }
    }

    fn refuse(&self, refusal: Refusal, path: &str, client: Option<IpAddr>) -> Response<Body> {
        match refusal {
            Refusal::NotFound(reason) => {
                self.security.emit(&SecurityEvent::AuthenticationFailed {
                    reason,
                    path,
                    client,
                });
                error_response(
                    StatusCode::NOT_FOUND,
                    "session_not_found",
                    "no such session",
                )
            }
            Refusal::Full => {
                self.security.emit(&SecurityEvent::SessionRefused {
                    reason: "too many sessions",
                    path,
                    client,
                });
                error_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_sessions",
                    &format!(
                        "this caller has {} sessions open, the most allowed; close one (DELETE) or wait for one to expire",
                        self.per_principal
                    ),
                )
            }
            Refusal::ServerFull => {
                self.security.emit(&SecurityEvent::SessionRefused {
                    reason: "the server holds as many sessions as it keeps",
                    path,
                    client,
                });
                error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the server holds as many sessions as it can; try again later, or send stateless requests",
                )
            }
            Refusal::Unavailable(error) => {
                tracing::warn!(%error, "session registry");
                self.security.emit(&SecurityEvent::SessionRefused {
                    reason: "session registry unavailable",
                    path,
                    client,
                });
                error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "sessions cannot be checked now; try again shortly",
                )
            }
        }
    }

    /// The refusal of `request`.
    fn refuse_request(&self, refusal: Refusal, request: &Request<Body>) -> Response<Body> {
        self.refuse(
            refusal,
            request.uri().path(),
            ClientAddress::of(request.extensions()),
        )
    }
}

/// Why a request naming (or opening) a session is refused.
enum Refusal {
    NotFound(&'static str),
    /// The caller holds as many sessions as allowed.
    Full,
    /// This process holds as many sessions as it keeps.
    ServerFull,
    Unavailable(RegistryError),
}

impl From<Checked> for Option<Refusal> {
    fn from(checked: Checked) -> Self {
        match checked {
            Checked::Own | Checked::Claimed => None,
            Checked::Full => Some(Refusal::Full),
            Checked::Other => Some(Refusal::NotFound("session belongs to another principal")),
            Checked::Unknown => Some(Refusal::NotFound("session bound to no principal")),
        }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> SessionService<S> {
        SessionService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps around an inner service; it reads the request's
/// [`Principal`] (none: anonymous), so it sits behind authentication.
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    layer: SessionLayer,
}

fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers.get(MCP_SESSION_ID).and_then(|v| v.to_str().ok())
}

/// Whose count a session of this request is charged to: its principal's, or for an anonymous
/// caller its client address's (IPv6 per /64), so anonymous callers cannot exhaust each
/// other's.
fn holder(subject: &str, request: &Request<Body>) -> String {
    match subject {
        "" => match ClientAddress::of(request.extensions()) {
            Some(ip) => format!("a:{}", crate::rate::address_key(ip)),
            None => "a:".to_owned(),
        },
        id => format!("p:{id}"),
    }
}

/// What a request does to the sessions, read from its head (and the body marker).
enum Intent {
    /// Names a session (and closes it, on `DELETE`).
    Names { id: String, closing: bool },
    /// May open a session: a `POST` with no session id.
    MayOpen,
    /// Neither.
    Nothing,
}

fn intent(request: &Request<Body>) -> Intent {
    match session_id(request.headers()) {
        Some(id) => Intent::Names {
            id: id.to_owned(),
            closing: request.method() == Method::DELETE,
        },
        None if request.method() == Method::POST
            && request.extensions().get::<OpensNoSession>().is_none() =>
        {
            Intent::MayOpen
        }
        None => Intent::Nothing,
    }
}

impl<S> Service<Request<Body>> for SessionService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = SessionFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // `""` for an anonymous caller: a principal's id is never empty.
        let subject = request
            .extensions()
            .get::<Principal>()
            .map(|p| p.id().to_owned())
            .unwrap_or_default();
        let intent = intent(&request);
        let registry = match &self.layer.registry {
            Registry::Memory(memory) => memory.clone(),
            Registry::Shared(shared, mirror) => {
                let (shared, mirror) = (shared.clone(), mirror.clone());
                // The service polled ready is the one called, after the registry answers.
                let ready = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, ready);
                let layer = self.layer.clone();
                return SessionFuture::shared(Box::pin(shared_call(
                    layer, shared, mirror, inner, request, subject, intent,
                )));
            }
        };
        let max = self.layer.per_principal;
        let after = match intent {
            Intent::Names { id, closing } => {
                let checked = registry.check_now(&id, &subject, || holder(&subject, &request), max);
                if let Some(refusal) = Option::<Refusal>::from(checked) {
                    return SessionFuture::refused(self.layer.refuse_request(refusal, &request));
                }
                closing.then_some(After::Close { registry, id })
            }
            Intent::MayOpen => {
                let holder = holder(&subject, &request);
                let Some(ticket) = registry.reserve_now(&holder, max) else {
                    let refusal = match registry.is_full() {
                        true => Refusal::ServerFull,
                        false => Refusal::Full,
                    };
                    return SessionFuture::refused(self.layer.refuse_request(refusal, &request));
                };
                Some(After::Open {
                    registry,
                    ticket,
                    holder,
                    subject,
                })
            }
            Intent::Nothing => None,
        };
        SessionFuture {
            refused: None,
            inner: Some(self.inner.call(request)),
            after,
            shared: None,
            error: PhantomData,
        }
    }
}

/// A call decided by a shared registry: a round trip before the inner service, and one after
/// it when a session was opened or closed. While the shared registry cannot answer, the mirror
/// of what this replica has seen decides what it safely can: a principal's own session
/// continues, a new session is bounded and bound here (other replicas do not know it, and
/// answer `404`, as for a session they never saw); the rest is refused with `503`.
async fn shared_call<S>(
    layer: SessionLayer,
    registry: Arc<dyn SessionRegistry>,
    mirror: MemorySessions,
    mut inner: S,
    request: Request<Body>,
    subject: String,
    intent: Intent,
) -> Result<Response<Body>, S::Error>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    let max = layer.per_principal;
    let holder = holder(&subject, &request);
    match intent {
        Intent::Names { id, closing } => {
            let refusal = match registry.check(&id, &subject, &holder, max).await {
                Ok(Checked::Unknown) if mirror.is_principals(&id, &subject) => None,
                Ok(checked) => {
                    if matches!(checked, Checked::Own | Checked::Claimed) {
                        mirror.remember(&id, &subject, &holder);
                    }
                    Option::<Refusal>::from(checked)
                }
                // A principal's session never changes hands, so what this replica saw of it
                // holds: while the registry is down, and for a session it bound here during an
                // outage, which the registry never learnt of.
                Err(_) if mirror.is_principals(&id, &subject) => None,
                Err(e) => Some(Refusal::Unavailable(e)),
            };
            if let Some(refusal) = refusal {
                return Ok(layer.refuse_request(refusal, &request));
            }
            let response = inner.call(request).await?;
            if closing && response.status().is_success() {
                mirror.close_now(&id);
                if let Err(error) = registry.close(&id).await {
                    // The binding expires by itself; the session is closed either way.
                    tracing::warn!(%error, "session registry: forgetting a closed session");
                }
            }
            Ok(response)
        }
        Intent::MayOpen => {
            let shared = match registry.reserve(&holder, max).await {
                Ok(Some(ticket)) => Some(ticket),
                Ok(None) => return Ok(layer.refuse_request(Refusal::Full, &request)),
                Err(error) => {
                    tracing::warn!(%error, "session registry: bounding a new session here");
                    None
                }
            };
            let local = match &shared {
                Some(_) => None,
                None => match mirror.reserve_now(&holder, max) {
                    Some(ticket) => Some(ticket),
                    None if mirror.is_full() => {
                        return Ok(layer.refuse_request(Refusal::ServerFull, &request));
                    }
                    None => return Ok(layer.refuse_request(Refusal::Full, &request)),
                },
            };
            let response = inner.call(request).await?;
            let opened = session_id(response.headers());
            if let Some(local) = &local {
                match opened {
                    Some(id) => mirror.bind_now(local, &holder, id, &subject),
                    None => mirror.release_now(local, &holder),
                }
            }
            let Some(ticket) = shared else {
                return Ok(response);
            };
            let bound = match opened {
                Some(id) => {
                    mirror.remember(id, &subject, &holder);
                    registry.bind(&ticket, &holder, id, &subject).await
                }
                None => registry.release(&ticket, &holder).await,
            };
            if let Err(error) = bound {
                // Known here: served by this replica; the reservation expires by itself.
                tracing::warn!(%error, "session registry: binding a new session");
            }
            Ok(response)
        }
        Intent::Nothing => inner.call(request).await,
    }
}

/// What to record of a session once the inner service has answered.
enum After {
    /// Forget the session the caller closed.
    Close {
        registry: MemorySessions,
        id: String,
    },
    /// Bind the new session (if one was opened) in the reserved place, or give the place back.
    Open {
        registry: MemorySessions,
        ticket: String,
        holder: String,
        subject: String,
    },
}

impl After {
    fn record(self, response: &Response<Body>) {
        match self {
            After::Close { registry, id } => {
                if response.status().is_success() {
                    registry.close_now(&id);
                }
            }
            After::Open {
                registry,
                ticket,
                holder,
                subject,
            } => match session_id(response.headers()) {
                Some(id) => registry.bind_now(&ticket, &holder, id, &subject),
                None => registry.release_now(&ticket, &holder),
            },
        }
    }
}

type BoxedCall<E> = Pin<Box<dyn Future<Output = Result<Response<Body>, E>> + Send>>;

pin_project_lite::pin_project! {
    /// The response of a [`SessionService`]: its refusal, or the inner service's answer, whose
    /// new session is bound to the caller.
    pub struct SessionFuture<F, E> {
        refused: Option<Response<Body>>,
        #[pin]
        inner: Option<F>,
        after: Option<After>,
        shared: Option<BoxedCall<E>>,
        error: PhantomData<fn() -> E>,
    }
}

impl<F, E> SessionFuture<F, E> {
    fn refused(response: Response<Body>) -> Self {
        Self {
            refused: Some(response),
            inner: None,
            after: None,
            shared: None,
            error: PhantomData,
        }
    }

    fn shared(call: BoxedCall<E>) -> Self {
        Self {
            refused: None,
            inner: None,
            after: None,
            shared: Some(call),
            error: PhantomData,
        }
    }
}

impl<F, E> Future for SessionFuture<F, E>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(refused) = this.refused.take() {
            return Poll::Ready(Ok(refused));
        }
        if let Some(shared) = this.shared.as_mut() {
            return shared.as_mut().poll(cx);
        }
        let inner = this.inner.as_pin_mut().expect("polled after completion");
        let response = ready!(inner.poll(cx))?;
        if let Some(after) = this.after.take() {
            after.record(&response);
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests;
