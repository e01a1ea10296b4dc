//! Legacy sessions (`Mcp-Session-Id`) bound to the principal that opened them (an anonymous
//! caller's to "anonymous"): another principal naming the session is answered `404`, as for an
//! unknown session, so it learns nothing about whose it is; so is an id bound to nobody (never
//! issued, closed, or forgotten when the bindings were full), rather than passed on unchecked.

use std::{
    collections::HashMap,
    future::Future,
    marker::PhantomData,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, ready},
};

use axum::body::Body;
use http::{HeaderMap, HeaderName, Method, Request, Response, StatusCode};
use tower::{Layer, Service};

use super::error_response;
use crate::{Security, audit::SecurityEvent, auth::Principal};

/// The header naming a streamable HTTP session.
pub(crate) const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// At most this many bindings are kept: past it an arbitrary one is forgotten rather than
/// grow without end (rmcp expires idle sessions on its side too).
const MAX_SESSIONS: usize = 100_000;

/// Which principal ([`Principal::id`]) opened each session.
type Owners = Arc<Mutex<HashMap<String, String>>>;

/// The layer: the bindings of the sessions its services have seen opened.
#[derive(Clone)]
pub struct SessionLayer {
    owners: Owners,
    security: Security,
}

impl SessionLayer {
    pub(crate) fn new(security: Security) -> Self {
        Self {
            owners: Owners::default(),
            security,
        }
    }
}

impl SessionLayer {
    /// How many sessions are bound.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.owners.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
impl SessionLayer {
    /// Who opened session `id`, if it is bound.
    pub(crate) fn owner_of(&self, id: &str) -> Option<String> {
        self.owners.lock().unwrap().get(id).cloned()
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

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(MCP_SESSION_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl<S> Service<Request<Body>> for SessionService<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
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
        let asked = session_id(request.headers());
        let mut own = false;
        if let Some(id) = &asked {
            let mut owners = self.layer.owners.lock().unwrap_or_else(|p| p.into_inner());
            let owner = match owners.get_mut(id) {
                Some(owner) if *owner == subject => Some(true),
                // A session opened anonymously becomes the caller's who signs in on it (a client
                // stepping up keeps its session); the anonymous callers lose it.
                Some(owner) if owner.is_empty() => {
                    owner.clone_from(&subject);
                    Some(true)
                }
                Some(_) => Some(false),
                None => None,
            };
            drop(owners);
            if owner != Some(true) {
                let reason = match owner {
                    Some(_) => "session belongs to another principal",
                    None => "session bound to no principal",
                };
                self.layer
                    .security
                    .emit(&SecurityEvent::AuthenticationFailed {
                        reason,
                        path: request.uri().path(),
                        client: super::ClientAddress::of(request.extensions()),
                    });
                let refused = error_response(
                    StatusCode::NOT_FOUND,
                    "session_not_found",
                    "no such session",
                );
                return SessionFuture::refused(refused);
            }
            own = true;
        }
        let closing = request.method() == Method::DELETE;
        // On a session this caller opened: nothing to bind.
        let binding = (!own || closing).then(|| Binding {
            owners: self.layer.owners.clone(),
            subject,
            asked,
            closing,
        });
        SessionFuture {
            refused: None,
            inner: Some(self.inner.call(request)),
            binding,
            error: PhantomData,
        }
    }
}

/// What to remember of a session once the inner service has answered.
struct Binding {
    owners: Owners,
    subject: String,
    asked: Option<String>,
    closing: bool,
}

pin_project_lite::pin_project! {
    /// The response of a [`SessionService`]: its refusal, or the inner service's answer, whose
    /// new session is bound to the caller.
    pub struct SessionFuture<F, E> {
        refused: Option<Response<Body>>,
        #[pin]
        inner: Option<F>,
        binding: Option<Binding>,
        error: PhantomData<fn() -> E>,
    }
}

impl<F, E> SessionFuture<F, E> {
    fn refused(response: Response<Body>) -> Self {
        Self {
            refused: Some(response),
            inner: None,
            binding: None,
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
        let inner = this.inner.as_pin_mut().expect("polled after completion");
        let response = ready!(inner.poll(cx))?;
        if let Some(b) = this.binding.take() {
            bind(&b.owners, b.subject, b.asked, b.closing, response.headers());
        }
        Poll::Ready(Ok(response))
    }
}

/// Remembers which principal a new session belongs to; forgets it when the session is closed.
fn bind(
    owners: &Owners,
    subject: String,
    asked: Option<String>,
    closing: bool,
    response: &HeaderMap,
) {
    let mut owners = owners.lock().unwrap_or_else(|p| p.into_inner());
    if closing {
        if let Some(id) = asked {
            owners.remove(&id);
        }
        return;
    }
    if let Some(id) = session_id(response)
        && !owners.contains_key(&id)
    {
        if owners.len() >= MAX_SESSIONS
            && let Some(old) = owners.keys().next().cloned()
        {
            owners.remove(&old);
        }
        owners.insert(id, subject);
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::HeaderValue;
    use tower::{ServiceExt, service_fn};

    use super::*;

    /// A session opened by one principal is its own until closed: another principal, and an
    /// anonymous caller, get the `404` of an unknown session, as does an id bound to nobody;
    /// an anonymous session becomes the first principal's that signs in on it.
    #[tokio::test]
    async fn a_session_is_its_openers_until_closed() {
        let inner = service_fn(|request: Request<Body>| async move {
            let mut response = Response::new(Body::empty());
            if request.headers().get(MCP_SESSION_ID).is_none() {
                response
                    .headers_mut()
                    .insert(MCP_SESSION_ID, HeaderValue::from_static("s-1"));
            }
            Ok::<_, Infallible>(response)
        });
        let service = SessionLayer::new(Security::default()).layer(inner);
        let send = |who: Option<&str>, method: Method, session: bool| {
            let mut request = Request::builder().method(method).uri("/mcp");
            if session {
                request = request.header(MCP_SESSION_ID, "s-1");
            }
            let mut request = request.body(Body::empty()).unwrap();
            if let Some(who) = who {
                request.extensions_mut().insert(Principal::new(who, ["x"]));
            }
            service.clone().oneshot(request)
        };
        for (who, method, session, status) in [
            (Some("ann"), Method::POST, false, 200),
            (Some("ann"), Method::POST, true, 200),
            (Some("bob"), Method::POST, true, 404),
            (None, Method::POST, true, 404),
            (Some("bob"), Method::DELETE, true, 404),
            (Some("ann"), Method::DELETE, true, 200),
            // Closed: bound to nobody, so nobody's.
            (Some("ann"), Method::POST, true, 404),
            (Some("bob"), Method::POST, true, 404),
            // An anonymous caller's session is the anonymous callers', until someone signs in
            // on it: then it is theirs.
            (None, Method::POST, false, 200),
            (None, Method::POST, true, 200),
            (Some("ann"), Method::POST, true, 200),
            (None, Method::POST, true, 404),
            (Some("bob"), Method::POST, true, 404),
            (Some("ann"), Method::POST, true, 200),
        ] {
            let answer = send(who, method.clone(), session).await.unwrap();
            assert_eq!(answer.status(), status, "{who:?} {method} {session}");
        }
    }
}
