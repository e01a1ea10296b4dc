use std::sync::atomic::{AtomicUsize, Ordering};

use super::scope_check::called_tools_general;
use super::*;
use crate::{auth::ApiKeys, http::session::MCP_SESSION_ID};

/// An inner service that panics when called without having been made ready, and counts
/// its clones and calls.
struct Strict {
    ready: bool,
    clones: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
}

impl Clone for Strict {
    fn clone(&self) -> Self {
        self.clones.fetch_add(1, Ordering::SeqCst);
        Strict {
            ready: false,
            clones: self.clones.clone(),
            calls: self.calls.clone(),
        }
    }
}

impl Service<Request<Body>> for Strict {
    type Response = Response<Body>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Response<Body>, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.ready = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        assert!(self.ready, "called without poll_ready");
        self.ready = false;
        assert!(request.extensions().get::<Principal>().is_some());
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(Response::new(Body::empty())))
    }
}

#[tokio::test]
async fn the_inner_service_is_made_ready_before_each_call_and_refusals_never_reach_it() {
    let (clones, calls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let inner = Strict {
        ready: false,
        clones: clones.clone(),
        calls: calls.clone(),
    };
    let layer = AuthLayer::builder("http://127.0.0.1/mcp", &crate::Security::default())
        .verifier(ApiKeys::new().with_key("a-long-enough-key-0000", Principal::new("ann", ["x"])))
        .build()
        .unwrap();
    let mut service = layer.layer(inner);
    let request = |key: Option<&str>| {
        let mut request = Request::post("http://127.0.0.1/mcp");
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        request.body(Body::from("{}")).unwrap()
    };
    for key in [None, Some("a-wrong-key-00000000000")] {
        assert_eq!(
            status(&service, request(key)).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(clones.load(Ordering::SeqCst), 0, "a refusal clones nothing");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    for n in 1..=3 {
        let response = service
            .ready()
            .await
            .unwrap()
            .call(request(Some("a-long-enough-key-0000")))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(calls.load(Ordering::SeqCst), n);
        assert_eq!(
            clones.load(Ordering::SeqCst),
            n,
            "one clone per admitted call"
        );
    }
}

static CATALOG: ScopeCatalog = ScopeCatalog::new(&[
    crate::auth::ScopeDecl {
        name: "t:read",
        description: "Read.",
        implies: &[],
    },
    crate::auth::ScopeDecl {
        name: "t:write",
        description: "Write.",
        implies: &["t:read"],
    },
    crate::auth::ScopeDecl {
        name: "t:admin",
        description: "Administer.",
        implies: &[],
    },
]);
static POLICIES: [ToolPolicy; 4] = [
    ToolPolicy::new(
        "read",
        Access::Scope("t:read", &CATALOG),
        crate::rate::RateLimit::Unlimited,
    ),
    ToolPolicy::new(
        "read_more",
        Access::Scope("t:read", &CATALOG),
        crate::rate::RateLimit::Unlimited,
    ),
    ToolPolicy::new(
        "write",
        Access::Scope("t:write", &CATALOG),
        crate::rate::RateLimit::Unlimited,
    ),
    ToolPolicy::new("open", Access::Public, crate::rate::RateLimit::Unlimited),
];

/// A layer over an inner service that answers every request with session `s-1`, in front
/// of the tools above, with keys for a reader, a writer (who may read) and an
/// administrator who holds every tool's scope.
fn layered() -> (
    impl Service<
        Request<Body>,
        Response = Response<Body>,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone,
    AuthLayer,
) {
    let layer = AuthLayer::builder("http://127.0.0.1/mcp", &crate::Security::default())
        .verifier(
            ApiKeys::new()
                .with_key("reader-key-000000000000", Principal::new("rea", ["t:read"]))
                .with_key(
                    "writer-key-000000000000",
                    Principal::new("wri", ["t:write"]),
                )
                .with_key(
                    "admin-key-0000000000000",
                    Principal::new("adm", ["t:write", "t:admin"]),
                )
                .with_key(
                    "mixed-key-0000000000000",
                    Principal::new("mix", ["x:other", "t:read"]),
                ),
        )
        // The same subject, vouched for by another set of keys: another caller.
        .verifier(
            ApiKeys::new()
                .with_issuer("partner-keys")
                .unwrap()
                .with_key(
                    "partner-wri-key-0000000",
                    Principal::new("wri", ["t:write"]),
                ),
        )
        .tools(&crate::tool::Tools::<()>::new(
            rmcp::handler::server::router::tool::ToolRouter::new(),
            &POLICIES,
        ))
        .build()
        .unwrap();
    let inner = tower::service_fn(|request: Request<Body>| async move {
        assert!(request.extensions().get::<Principal>().is_some());
        let mut response = Response::new(Body::empty());
        response
            .headers_mut()
            .insert(MCP_SESSION_ID, HeaderValue::from_static("s-1"));
        Ok::<_, std::convert::Infallible>(response)
    });
    (layer.layer(inner), layer)
}

/// The status `service` answers `request` with.
async fn status<S>(service: &S, request: Request<Body>) -> StatusCode
where
    S: Service<Request<Body>, Response = Response<Body>, Error = std::convert::Infallible> + Clone,
{
    service.clone().oneshot(request).await.unwrap().status()
}

fn call_request(key: &str, tool: &str, mcp_name: Option<&str>, session: bool) -> Request<Body> {
    let mut request = Request::post("http://127.0.0.1/mcp")
        .header(header::AUTHORIZATION, format!("Bearer {key}"));
    if let Some(name) = mcp_name {
        request = request.header("mcp-name", name);
    }
    if session {
        request = request.header(MCP_SESSION_ID, "s-1");
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": tool, "arguments": {}}});
    request.body(Body::from(body.to_string())).unwrap()
}

#[test]
fn the_tool_scopes_are_known_to_the_layer_once_each() {
    let (_, layer) = layered();
    let scopes: Vec<_> = layer.config.tool_scopes.iter().map(|&(s, _)| s).collect();
    assert_eq!(scopes, ["t:read", "t:write"]);
}

#[tokio::test]
async fn the_scope_pre_check_refuses_what_is_lacking_and_reads_mcp_name_for_everyone() {
    let (service, _) = layered();
    let status = |request| status(&service, request);
    let reader = "reader-key-000000000000";
    let writer = "writer-key-000000000000";
    let admin = "admin-key-0000000000000";
    assert_eq!(status(call_request(reader, "read", None, false)).await, 200);
    assert_eq!(status(call_request(reader, "open", None, false)).await, 200);
    assert_eq!(
        status(call_request(reader, "write", None, false)).await,
        403
    );
    assert_eq!(
        status(call_request(writer, "read", None, false)).await,
        200,
        "implied"
    );
    assert_eq!(
        status(call_request(writer, "write", None, false)).await,
        200
    );
    // The administrator holds every tool's scope: nothing to refuse, but a disagreeing
    // Mcp-Name header is still a 400, for it as for the others.
    assert_eq!(status(call_request(admin, "write", None, false)).await, 200);
    for key in [reader, writer, admin] {
        let refused = call_request(key, "read", Some("write"), false);
        assert_eq!(status(refused).await, 400, "{key}");
        let agreed = call_request(key, "read", Some("read"), false);
        assert_eq!(status(agreed).await, 200, "{key}");
    }
}

/// Accepts every token as `wri`, claiming to be of the API-key issuer.
struct Impostor;

impl TokenVerifier for Impostor {
    fn issuer(&self) -> &str {
        "impostor"
    }
    fn verify<'a>(&'a self, _: &'a str) -> crate::auth::VerifyFuture<'a> {
        let p = Principal::new("wri", ["t:write"]).with_issuer("api-key");
        Box::pin(std::future::ready(Ok(p.unwrap())))
    }
}

/// Refuses every token, under the name it is given.
struct Named(&'static str);

impl TokenVerifier for Named {
    fn issuer(&self) -> &str {
        self.0
    }
    fn verify<'a>(&'a self, _: &'a str) -> crate::auth::VerifyFuture<'a> {
        Box::pin(std::future::ready(Err(crate::auth::VerifyError::new("no"))))
    }
}

#[test]
fn verifiers_must_vouch_under_names_of_their_own() {
    let build = |second: ApiKeys| {
        AuthLayer::builder("http://127.0.0.1/mcp", &crate::Security::default())
            .verifier(ApiKeys::new())
            .verifier(second)
            .build()
            .map(|_| ())
    };
    let err = build(ApiKeys::new()).unwrap_err();
    assert_eq!(err, AuthLayerError::DuplicateIssuer("api-key".into()));
    assert!(
        err.to_string().contains("two verifiers vouch as `api-key`"),
        "{err}"
    );
    assert!(build(ApiKeys::new().with_issuer("other").unwrap()).is_ok());
    for reserved in ["local", "anonymous"] {
        assert!(ApiKeys::new().with_issuer(reserved).is_err(), "{reserved}");
        let err = AuthLayer::builder("http://127.0.0.1/mcp", &crate::Security::default())
            .verifier(Named(reserved))
            .build()
            .map(|_| ())
            .unwrap_err();
        assert!(
            matches!(&err, AuthLayerError::BadIssuer { issuer, .. } if issuer == reserved),
            "{err:?}"
        );
        assert!(err.to_string().contains("no verifier made"), "{err}");
    }
    assert!(ApiKeys::new().with_issuer("a#b").is_err());
    assert!(ApiKeys::new().with_issuer("a b").is_err());
}

#[tokio::test]
async fn a_principal_is_of_the_issuer_of_the_verifier_that_accepted_it() {
    let layer = AuthLayer::builder("http://127.0.0.1/mcp", &crate::Security::default())
        .verifier(Impostor)
        .build()
        .unwrap();
    let principal = bearer::authenticate(&layer.config, "anything", "/mcp", None)
        .await
        .unwrap();
    assert_eq!(principal.id(), "impostor#wri");
}

#[tokio::test]
async fn a_session_stays_its_openers_until_it_is_closed() {
    let (service, layer) = layered();
    let send = |request| status(&service, request);
    let owner = "writer-key-000000000000";
    let other = "admin-key-0000000000000";
    let bound = || layer.session.owner_of("s-1");
    // A request that is no `initialize` opens no session, even if the inner service named one.
    assert_eq!(send(call_request(owner, "read", None, false)).await, 200);
    assert_eq!(bound(), None);
    // Opened (the inner service names the session in its answer): bound to its opener.
    let initialize = Request::post("http://127.0.0.1/mcp")
        .header(header::AUTHORIZATION, format!("Bearer {owner}"))
        .body(Body::from(
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}).to_string(),
        ))
        .unwrap();
    assert_eq!(send(initialize).await, 200);
    assert_eq!(bound().as_deref(), Some("api-key#wri"));
    let same_subject_other_issuer = "partner-wri-key-0000000";
    for _ in 0..2 {
        assert_eq!(send(call_request(owner, "read", None, true)).await, 200);
        assert_eq!(send(call_request(other, "read", None, true)).await, 404);
        assert_eq!(
            send(call_request(same_subject_other_issuer, "read", None, true)).await,
            404,
            "`wri` of another issuer is another caller"
        );
    }
    assert_eq!(bound().as_deref(), Some("api-key#wri"));
    let close = |key: &str| {
        Request::delete("http://127.0.0.1/mcp")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(MCP_SESSION_ID, "s-1")
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(close(other)).await, 404, "only its owner closes it");
    assert_eq!(bound().as_deref(), Some("api-key#wri"));
    assert_eq!(send(close(owner)).await, 200);
    assert_eq!(bound(), None, "closed: forgotten");
}

/// A body that arrives in the given pieces.
struct Pieces(std::collections::VecDeque<&'static [u8]>);

impl axum::body::HttpBody for Pieces {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<axum::body::Bytes>, Self::Error>>> {
        let piece = self.get_mut().0.pop_front();
        Poll::Ready(piece.map(|p| Ok(http_body::Frame::data(p.into()))))
    }
}

#[tokio::test]
async fn a_body_is_read_whole_in_one_piece_or_many_and_refused_over_the_limit() {
    let read = |pieces: &[&'static [u8]], limit| {
        let body = Body::new(Pieces(pieces.iter().copied().collect()));
        read_body(body, limit)
    };
    let cases: &[&[&[u8]]] = &[
        &[],
        &[b""],
        &[b"{\"a\":1}"],
        &[b"", b"{\"a\":1}"],
        &[b"{\"a\"", b":1}"],
        &[b"{", b"", b"\"a\":", b"1}"],
        &[b"{\"a\":1}", b""],
    ];
    for pieces in cases {
        let whole: Vec<u8> = pieces.concat();
        assert_eq!(read(pieces, 7).await.unwrap(), whole, "{pieces:?}");
    }
    assert_eq!(
        read(&[b"{\"a\":12}"], 7).await,
        Err(StatusCode::PAYLOAD_TOO_LARGE)
    );
    assert_eq!(
        read(&[b"{\"a\"", b":12}"], 7).await,
        Err(StatusCode::PAYLOAD_TOO_LARGE)
    );
}

#[test]
fn the_fast_path_reads_calls_as_the_general_one_does() {
    let bodies: &[&str] = &[
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":[1,{"y":"z"}]}}}"#,
        r#"{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"arguments":{},"name":"b\u0062"}}"#,
        r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"no-id"}}"#,
        r#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"null-id"}}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"name":"not-a-call"}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":["positional"]}"#,
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":5}}"#,
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"a","name":"b"}}"#,
        r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","method":"x","params":{"name":"a"}}"#,
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":null}"#,
        r#"  [{"id":1,"method":"tools/call","params":{"name":"a"}},{"id":2,"method":"tools/call","params":{"name":"b"}}]"#,
        r#"[1, {"id":2,"method":"tools/call","params":{"name":"c"}}]"#,
        r#"[{"id":1,"method":"x","params":[1]},{"id":2,"method":"tools/call","params":{"name":"d"}}]"#,
        r#"{"method":"tools/call","params":{"name":"a"}"#,
        "",
        "not json",
    ];
    for body in bodies {
        assert_eq!(
            called_tools(body.as_bytes()),
            called_tools_general(body.as_bytes()),
            "{body}"
        );
    }
    assert_eq!(
        called_tools(bodies[10].as_bytes())
            .into_iter()
            .map(|(name, _)| name)
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
}

#[cfg(feature = "jwt")]
#[tokio::test]
async fn a_jwt_verifier_takes_the_resource_as_its_audience_and_a_foreign_one_is_refused() {
    use crate::{
        auth::{Audience, JwtConfigErrorKind, JwtVerifier},
        secret::SecretString,
        testing::TokenMinter,
    };
    let secret = || SecretString::new("a-test-secret-of-32-bytes-or-more".to_owned());
    let (issuer, resource) = ("http://127.0.0.1:9", "http://127.0.0.1/mcp");
    let for_resource = TokenMinter::hs256(&secret(), issuer, resource)
        .mint("ann", ["x:y"])
        .unwrap();
    let for_other = TokenMinter::hs256(&secret(), issuer, "http://127.0.0.1/other")
        .mint("ann", ["x:y"])
        .unwrap();

    // Unbound, it vouches for nobody: there is no audience to check yet.
    let unbound = JwtVerifier::hs256(secret(), issuer, Audience::Resource).unwrap();
    assert_eq!(unbound.audience(), None);
    assert!(unbound.verify(&for_resource).await.is_err());

    let layer = AuthLayer::builder(resource, &crate::Security::default())
        .verifier(unbound)
        .build()
        .unwrap();
    let ann = bearer::authenticate(&layer.config, &for_resource, "/mcp", None).await;
    assert_eq!(ann.unwrap().subject(), "ann");
    assert!(
        bearer::authenticate(&layer.config, &for_other, "/mcp", None)
            .await
            .is_err()
    );

    // Named as the resource, it is accepted; named otherwise, the layer is not built.
    let same = JwtVerifier::hs256(secret(), issuer, resource).unwrap();
    assert!(
        AuthLayer::builder(resource, &crate::Security::default())
            .verifier(same)
            .build()
            .is_ok()
    );
    let other = JwtVerifier::hs256(secret(), issuer, "http://127.0.0.1/other").unwrap();
    let Err(AuthLayerError::Audience(mismatch)) =
        AuthLayer::builder(resource, &crate::Security::default())
            .verifier(other)
            .build()
    else {
        panic!("a verifier for another resource was accepted");
    };
    assert_eq!(mismatch.audience, "http://127.0.0.1/other");
    assert!(mismatch.to_string().contains("Audience::Resource"));

    let empty = JwtVerifier::hs256(secret(), issuer, "").unwrap_err();
    assert_eq!(empty.kind(), JwtConfigErrorKind::Audience);
}

/// A `tools/call` request for each of `tools` (a batch when there are several), ids from 1.
fn calls(key: Option<&str>, tools: &[&str], names: &[&str]) -> Request<Body> {
    let mut request = Request::post("http://127.0.0.1/mcp");
    if let Some(key) = key {
        request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    for name in names {
        request = request.header("mcp-name", *name);
    }
    let messages: Vec<Value> = tools
        .iter()
        .enumerate()
        .map(|(i, tool)| {
            json!({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
                "params": {"name": tool, "arguments": {}}})
        })
        .collect();
    let body = match messages.as_slice() {
        [one] => one.to_string(),
        _ => Value::Array(messages).to_string(),
    };
    request
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .unwrap()
}

/// The answer's status, `WWW-Authenticate`, `Connection` and JSON body.
async fn answer<S>(service: &S, request: Request<Body>) -> (StatusCode, String, String, Value)
where
    S: Service<Request<Body>, Response = Response<Body>, Error = std::convert::Infallible> + Clone,
{
    use http_body_util::BodyExt;
    let response = service.clone().oneshot(request).await.unwrap();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (challenge, connection) = (header(header::WWW_AUTHENTICATE), header(header::CONNECTION));
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, challenge, connection, body)
}

#[tokio::test]
async fn a_403_names_the_held_scopes_with_every_missing_one() {
    let (service, _) = layered();
    let reader = "reader-key-000000000000";
    let (status, challenge, _, body) = answer(&service, calls(Some(reader), &["write"], &[])).await;
    assert_eq!(status, 403);
    assert!(
        challenge.contains(r#"scope="t:read t:write""#),
        "{challenge}"
    );
    assert_eq!(body["id"], 1);
    assert_eq!(body["error"]["data"]["required_scope"], "t:write");
    assert_eq!(body["error"]["data"]["scope"], "t:read t:write");

    // A held scope the server does not advertise is not repeated back.
    let mixed = "mixed-key-0000000000000";
    let (_, challenge, _, _) = answer(&service, calls(Some(mixed), &["write"], &[])).await;
    assert!(
        challenge.contains(r#"scope="t:read t:write""#),
        "{challenge}"
    );

    // A batch: one challenge, each missing scope once, the first refused request's id.
    let batch = calls(Some(reader), &["read", "write", "write"], &[]);
    let (status, challenge, _, body) = answer(&service, batch).await;
    assert_eq!(status, 403);
    assert!(
        challenge.contains(r#"scope="t:read t:write""#),
        "{challenge}"
    );
    assert_eq!(body["id"], 2);
    assert_eq!(body["error"]["data"]["required_scopes"], json!(["t:write"]));
}

#[tokio::test]
async fn a_401_names_the_scope_of_the_tool_called() {
    let (service, _) = layered();
    // No token: from the body, which is small and read to its end (the connection stays).
    let (status, challenge, connection, _) = answer(&service, calls(None, &["write"], &[])).await;
    assert_eq!(status, 401);
    assert!(challenge.contains(r#"scope="t:write""#), "{challenge}");
    assert_ne!(connection, "close");
    // From the Mcp-Name header, without reading the body.
    let named = calls(None, &["write"], &["write"]);
    let (_, challenge, connection, _) = answer(&service, named).await;
    assert!(challenge.contains(r#"scope="t:write""#), "{challenge}");
    assert_eq!(connection, "close");
    // A refused token: the same scope, with `invalid_token`.
    let refused = calls(Some("no-such-key-00000000000"), &["read", "write"], &[]);
    let (status, challenge, _, _) = answer(&service, refused).await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert!(
        challenge.contains(r#"scope="t:read t:write""#),
        "{challenge}"
    );
    // A public tool, or a body too large to peek at: no tool scope, and a large body is left
    // unread with the connection closed.
    let (_, challenge, _, _) = answer(&service, calls(None, &["open"], &[])).await;
    assert!(!challenge.contains("scope="), "{challenge}");
    let large = Request::post("http://127.0.0.1/mcp")
        .header(header::CONTENT_LENGTH, 70_000)
        .body(Body::from(vec![b' '; 70_000]))
        .unwrap();
    let (status, challenge, connection, _) = answer(&service, large).await;
    assert_eq!(status, 401);
    assert!(!challenge.contains("scope="), "{challenge}");
    assert_eq!(connection, "close");
}

#[tokio::test]
async fn mcp_name_is_decoded_and_every_copy_compared() {
    let (service, _) = layered();
    let writer = "writer-key-000000000000";
    // "write" as SEP-2243 encodes a value: =?base64?…?=
    let encoded = "=?base64?d3JpdGU=?=";
    let agreed = calls(Some(writer), &["write"], &[encoded]);
    assert_eq!(answer(&service, agreed).await.0, 200);
    for names in [
        &[encoded][..],
        &["=?base64?not base64!?="],
        &["=?base64?/w==?="], // Base64 of a byte that is not UTF-8
        &["read", "read"],    // two headers are not one name
        &["write"],
    ] {
        let request = calls(Some(writer), &["read"], names);
        let (status, _, _, body) = answer(&service, request).await;
        assert_eq!(status, 400, "{names:?}");
        assert_eq!(body["error"]["code"], HEADER_MISMATCH_CODE, "{names:?}");
        assert_eq!(body["id"], 1, "the request's id: {names:?}");
    }
    // In a batch, the id of the call the header disagrees with.
    let batch = calls(Some(writer), &["write", "read"], &["write"]);
    let (status, _, _, body) = answer(&service, batch).await;
    assert_eq!((status.as_u16(), body["id"].clone()), (400, json!(2)));
}

/// A verifier whose authorization server is down.
struct Down;

impl TokenVerifier for Down {
    fn issuer(&self) -> &str {
        "https://down.example"
    }

    fn verify<'a>(&'a self, _: &'a str) -> crate::auth::VerifyFuture<'a> {
        Box::pin(std::future::ready(Err(
            crate::auth::VerifyError::unavailable("the introspection endpoint could not decide"),
        )))
    }
}

#[tokio::test]
async fn a_token_no_verifier_could_decide_on_is_refused_with_a_503() {
    let keys = ApiKeys::new().with_key("a-long-enough-key-0000", Principal::new("ann", ["x:y"]));
    let layer = AuthLayer::builder("http://127.0.0.1/mcp", &crate::Security::default())
        .verifier(keys)
        .verifier(Down)
        .build()
        .unwrap();
    let inner = tower::service_fn(|_: Request<Body>| async {
        Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
    });
    let service = layer.layer(inner);
    let response = service
        .clone()
        .oneshot(calls(Some("some-opaque-token"), &["read"], &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()[header::RETRY_AFTER], "5");
    // A verifier that accepts it still decides: the other one's outage does not matter.
    let accepted = calls(Some("a-long-enough-key-0000"), &["read"], &[]);
    assert_eq!(service.oneshot(accepted).await.unwrap().status(), 200);
}

mod defaults;
