//! The `AuthLayer`'s documented defaults, pinned by behaviour.

use super::*;

/// A layer with every default (body limit, body timeout, sessions per principal) and one key,
/// over an inner service that opens session `s-<n>` for each `POST` without one.
fn defaults()
-> impl Service<Request<Body>, Response = Response<Body>, Error = std::convert::Infallible, Future: Send>
+ Clone {
    let layer = AuthLayer::builder("http://127.0.0.1/mcp", &crate::Security::default())
        .verifier(ApiKeys::new().with_key("a-long-enough-key-0000", Principal::new("ann", ["x"])))
        .build()
        .unwrap();
    let opened = Arc::new(AtomicUsize::new(0));
    let inner = tower::service_fn(move |request: Request<Body>| {
        let opened = opened.clone();
        async move {
            let mut response = Response::new(Body::empty());
            if !request.headers().contains_key(MCP_SESSION_ID) {
                let n = opened.fetch_add(1, Ordering::SeqCst) + 1;
                let id = HeaderValue::from_str(&format!("s-{n}")).unwrap();
                response.headers_mut().insert(MCP_SESSION_ID, id);
            }
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    layer.layer(inner)
}

/// An authenticated `POST` of `body`.
fn post(body: impl Into<Body>) -> Request<Body> {
    Request::post("http://127.0.0.1/mcp")
        .header(header::AUTHORIZATION, "Bearer a-long-enough-key-0000")
        .body(body.into())
        .unwrap()
}

/// The guide (docs/src/http.md): "request bodies over 4 MiB get `413`": a body of exactly 4 MiB is read and passed
/// on, one byte more is refused.
#[tokio::test]
async fn by_default_a_body_of_4_mib_passes_and_one_byte_more_is_a_413() {
    let service = defaults();
    let four_mib = 4 * 1024 * 1024;
    assert_eq!(status(&service, post(vec![b' '; four_mib])).await, 200);
    assert_eq!(
        status(&service, post(vec![b' '; four_mib + 1])).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

/// The guide (docs/src/http.md): "bodies slower than 30 s (`.body_timeout(..)`) `408`", on tokio's paused clock: a
/// body that never ends is answered `408` 30 s after its head, not before.
#[tokio::test(start_paused = true)]
async fn by_default_a_body_still_arriving_after_30_s_is_a_408() {
    /// A body that never sends anything nor ends.
    struct Silent;
    impl axum::body::HttpBody for Silent {
        type Data = axum::body::Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<axum::body::Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }
    let service = defaults();
    let start = tokio::time::Instant::now();
    let response = service.oneshot(post(Body::new(Silent))).await.unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(start.elapsed(), Duration::from_secs(30));
}

/// The guide (docs/src/http.md): a `401`'s scope is read "from a body of at most 64 KiB; a larger one is left unread
/// and the connection closed": a call padded to exactly 64 KiB is read (its tool's scope named,
/// the connection kept), one byte more is not.
#[tokio::test]
async fn a_401_reads_a_body_of_64_kib_and_leaves_one_byte_more_unread() {
    let (service, _) = layered();
    let padded = |len: usize| {
        let mut body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "write", "arguments": {}}})
        .to_string();
        body.push_str(&" ".repeat(len - body.len()));
        assert_eq!(body.len(), len);
        Request::post("http://127.0.0.1/mcp")
            .header(header::CONTENT_LENGTH, len)
            .body(Body::from(body))
            .unwrap()
    };
    let (status, challenge, connection, _) = answer(&service, padded(64 * 1024)).await;
    assert_eq!(status, 401);
    assert!(challenge.contains(r#"scope="t:write""#), "{challenge}");
    assert_ne!(connection, "close");
    let (status, challenge, connection, _) = answer(&service, padded(64 * 1024 + 1)).await;
    assert_eq!(status, 401);
    assert!(!challenge.contains("scope="), "{challenge}");
    assert_eq!(connection, "close");
}

/// The guide (docs/src/rate-limits.md): "Each principal may have `--sessions-per-principal` sessions open (100 by default)
/// … past it, opening one more is refused with `429 too_many_sessions`".
#[tokio::test]
async fn by_default_a_principal_opens_100_sessions_and_not_a_101st() {
    let service = defaults();
    let initialize = || {
        post(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}).to_string())
    };
    for n in 1..=100 {
        assert_eq!(status(&service, initialize()).await, 200, "session {n}");
    }
    let (status, _, _, body) = answer(&service, initialize()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        body["error"]["data"]["error"], "too_many_sessions",
        "{body}"
    );
}
