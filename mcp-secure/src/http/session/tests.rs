//! The session layer's tests: bindings, bounds, outages of a shared registry, and which bodies
//! may open a session.

use std::convert::Infallible;

use http::HeaderValue;
use tower::{ServiceExt, service_fn};

use super::*;

/// An inner service that opens session `s-<n>` for each `POST` without one.
fn opener() -> impl Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Body>, Infallible>> + Send,
> + Clone
+ Send
+ 'static {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(1));
    service_fn(move |request: Request<Body>| {
        let next = next.clone();
        async move {
            let mut response = Response::new(Body::empty());
            if request.headers().get(MCP_SESSION_ID).is_none() && request.method() == Method::POST {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                response.headers_mut().insert(
                    MCP_SESSION_ID,
                    HeaderValue::from_str(&format!("s-{n}")).unwrap(),
                );
            }
            Ok::<_, Infallible>(response)
        }
    })
}

fn request(who: Option<&str>, method: Method, session: Option<&str>) -> Request<Body> {
    let mut request = Request::builder().method(method).uri("/mcp");
    if let Some(session) = session {
        request = request.header(MCP_SESSION_ID, session);
    }
    let mut request = request.body(Body::empty()).unwrap();
    if let Some(who) = who {
        request.extensions_mut().insert(Principal::new(who, ["x"]));
    }
    request
}

/// The status of an answer.
fn status(answer: Result<Response<Body>, Infallible>) -> u16 {
    answer.unwrap().status().as_u16()
}

/// The layers under test: with bindings in this process, and behind a shared registry
/// (here in memory too, through the asynchronous path Redis takes).
fn layers(per_principal: usize) -> [SessionLayer; 2] {
    [
        SessionLayer::new(Security::default(), None, per_principal),
        SessionLayer::new(
            Security::default(),
            Some(Arc::new(MemorySessions::new())),
            per_principal,
        ),
    ]
}

/// A session opened by one principal is its own until closed: another principal, and an
/// anonymous caller, get the `404` of an unknown session, as does an id bound to nobody;
/// an anonymous session becomes the first principal's that signs in on it.
#[tokio::test]
async fn a_session_is_its_openers_until_closed() {
    for layer in layers(100) {
        let service = layer.layer(opener());
        let send = |who: Option<&str>, method: Method, session: Option<&str>| {
            service.clone().oneshot(request(who, method, session))
        };
        for (who, method, session, status) in [
            (Some("ann"), Method::POST, None, 200),
            (Some("ann"), Method::POST, Some("s-1"), 200),
            (Some("bob"), Method::POST, Some("s-1"), 404),
            (None, Method::POST, Some("s-1"), 404),
            (Some("bob"), Method::DELETE, Some("s-1"), 404),
            (Some("ann"), Method::DELETE, Some("s-1"), 200),
            // Closed: bound to nobody, so nobody's.
            (Some("ann"), Method::POST, Some("s-1"), 404),
            (Some("bob"), Method::POST, Some("s-1"), 404),
            // Never issued.
            (Some("ann"), Method::POST, Some("s-9"), 404),
            // An anonymous caller's session is the anonymous callers', until someone signs
            // in on it: then it is theirs.
            (None, Method::POST, None, 200),
            (None, Method::POST, Some("s-2"), 200),
            (Some("ann"), Method::POST, Some("s-2"), 200),
            (None, Method::POST, Some("s-2"), 404),
            (Some("bob"), Method::POST, Some("s-2"), 404),
            (Some("ann"), Method::POST, Some("s-2"), 200),
        ] {
            let answer = send(who, method.clone(), session).await.unwrap();
            assert_eq!(answer.status(), status, "{who:?} {method} {session:?}");
        }
    }
}

/// One principal opens at most its bound of sessions; closing one frees a place; others
/// are not affected; a request marked as opening none reserves nothing.
#[tokio::test]
async fn a_principal_holds_at_most_its_bound_of_sessions() {
    for layer in layers(2) {
        let service = layer.layer(opener());
        let send = |who: Option<&str>, method: Method, session: Option<&str>| {
            service.clone().oneshot(request(who, method, session))
        };
        assert_eq!(status(send(Some("ann"), Method::POST, None).await), 200);
        assert_eq!(status(send(Some("ann"), Method::POST, None).await), 200);
        let refused = send(Some("ann"), Method::POST, None).await.unwrap();
        assert_eq!(refused.status(), 429);
        let body = axum::body::to_bytes(refused.into_body(), 4096)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["data"]["error"], "too_many_sessions");
        assert_eq!(status(send(Some("bob"), Method::POST, None).await), 200);
        // A stateless request opens nothing: not refused.
        let mut stateless = request(Some("ann"), Method::POST, None);
        stateless.extensions_mut().insert(OpensNoSession);
        assert_eq!(
            service.clone().oneshot(stateless).await.unwrap().status(),
            200
        );
        // The sessions already open keep working.
        assert_eq!(
            status(send(Some("ann"), Method::POST, Some("s-1")).await),
            200
        );
        assert_eq!(
            status(send(Some("ann"), Method::DELETE, Some("s-1")).await),
            200
        );
        assert_eq!(status(send(Some("ann"), Method::POST, None).await), 200);
    }
}

/// A shared registry that can be taken down.
#[derive(Clone, Default)]
struct Flaky {
    inner: MemorySessions,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl Flaky {
    fn answer<'a, T: Send + 'a>(&self, value: T) -> crate::http::RegistryFuture<'a, T> {
        let result = match self.down.load(std::sync::atomic::Ordering::Relaxed) {
            true => Err(RegistryError::new("down")),
            false => Ok(value),
        };
        Box::pin(std::future::ready(result))
    }
}

impl SessionRegistry for Flaky {
    fn reserve<'a>(
        &'a self,
        holder: &'a str,
        max: usize,
    ) -> crate::http::RegistryFuture<'a, Option<String>> {
        if self.down.load(std::sync::atomic::Ordering::Relaxed) {
            return self.answer(None);
        }
        self.answer(self.inner.reserve_now(holder, max))
    }
    fn bind<'a>(
        &'a self,
        ticket: &'a str,
        holder: &'a str,
        id: &'a str,
        subject: &'a str,
    ) -> crate::http::RegistryFuture<'a, ()> {
        if !self.down.load(std::sync::atomic::Ordering::Relaxed) {
            self.inner.bind_now(ticket, holder, id, subject);
        }
        self.answer(())
    }
    fn release<'a>(
        &'a self,
        ticket: &'a str,
        holder: &'a str,
    ) -> crate::http::RegistryFuture<'a, ()> {
        self.inner.release_now(ticket, holder);
        self.answer(())
    }
    fn check<'a>(
        &'a self,
        id: &'a str,
        subject: &'a str,
        holder: &'a str,
        max: usize,
    ) -> crate::http::RegistryFuture<'a, Checked> {
        self.answer(self.inner.check_now(id, subject, || holder.to_owned(), max))
    }
    fn close<'a>(&'a self, id: &'a str) -> crate::http::RegistryFuture<'a, ()> {
        self.inner.close_now(id);
        self.answer(())
    }
}

/// While the shared registry is down, a principal's own session continues on the replica
/// that saw it, an anonymous or unseen one is refused (`503`), and new sessions are
/// bounded and bound here; once it is back, those stay their principal's here.
#[tokio::test]
async fn an_outage_of_the_shared_registry_keeps_what_is_safe() {
    let flaky = Flaky::default();
    let layer = SessionLayer::new(Security::default(), Some(Arc::new(flaky.clone())), 2);
    let service = layer.layer(opener());
    let send = |who: Option<&str>, method: Method, session: Option<&str>| {
        service.clone().oneshot(request(who, method, session))
    };
    assert_eq!(status(send(Some("ann"), Method::POST, None).await), 200);
    assert_eq!(status(send(None, Method::POST, None).await), 200);
    flaky.down.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        status(send(Some("ann"), Method::POST, Some("s-1")).await),
        200
    );
    assert_eq!(
        status(send(Some("bob"), Method::POST, Some("s-1")).await),
        503
    );
    assert_eq!(
        status(send(None, Method::POST, Some("s-2")).await),
        503,
        "anonymous: maybe claimed elsewhere"
    );
    assert_eq!(
        status(send(Some("ann"), Method::POST, Some("s-9")).await),
        503
    );
    // New sessions: bounded here (ann holds one already).
    assert_eq!(status(send(Some("ann"), Method::POST, None).await), 200);
    assert_eq!(status(send(Some("ann"), Method::POST, None).await), 429);
    flaky
        .down
        .store(false, std::sync::atomic::Ordering::Relaxed);
    // s-3, opened during the outage, is still ann's here, and nobody else's.
    assert_eq!(
        status(send(Some("ann"), Method::POST, Some("s-3")).await),
        200
    );
    assert_eq!(
        status(send(Some("bob"), Method::POST, Some("s-3")).await),
        404
    );
    assert_eq!(
        status(send(Some("bob"), Method::POST, Some("s-1")).await),
        404
    );
}

/// Only a body that may be an `initialize` reserves a place; escapes, batches, duplicate
/// keys and bodies that do not parse are assumed to.
#[test]
fn only_what_may_initialize_opens_a_session() {
    for (body, opens) in [
        (r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, false),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
            true,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"init\u0069alize"}"#,
            true,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"t":"a\nb"}}}"#,
            false,
        ),
        (
            r#"{"method":"tools/call","params":{"arguments":{"t":"initialize"}}}"#,
            false,
        ),
        (r#"{"method":"tools/list","method":"initialize"}"#, true),
        (r#"[{"method":"initialize"}]"#, true),
        (r#"{"method":"initialize"#, true),
        (r#"{"method":"tools/list"}"#, false),
    ] {
        assert_eq!(may_open_session(body.as_bytes()), opens, "{body}");
    }
}

/// A process holding as many bindings as it keeps refuses new sessions to everyone with `503`
/// (not the caller's `429`), and the sessions it holds keep working.
#[tokio::test]
async fn a_full_process_refuses_new_sessions_and_keeps_the_open_ones() {
    let layer = SessionLayer::in_memory(Security::default(), MemorySessions::with_capacity(2), 100);
    let service = layer.layer(opener());
    let send = |who: Option<&str>, method: Method, session: Option<&str>| {
        service.clone().oneshot(request(who, method, session))
    };
    assert_eq!(status(send(Some("ann"), Method::POST, None).await), 200);
    assert_eq!(status(send(Some("bob"), Method::POST, None).await), 200);
    let refused = send(Some("cat"), Method::POST, None).await.unwrap();
    assert_eq!(refused.status(), 503);
    let body = axum::body::to_bytes(refused.into_body(), 4096)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["data"]["error"], "temporarily_unavailable");
    assert_eq!(
        status(send(Some("ann"), Method::POST, Some("s-1")).await),
        200
    );
    assert_eq!(
        status(send(Some("bob"), Method::DELETE, Some("s-2")).await),
        200
    );
    assert_eq!(
        status(send(Some("cat"), Method::POST, None).await),
        200,
        "a place is free again"
    );
}
