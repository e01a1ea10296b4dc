//! A whole tool call through rmcp, guarded by mcp-secure (scope, rate, three validated fields;
//! over HTTP also the `AuthLayer` with an API key) against the same tool written with plain
//! rmcp `#[tool]` and no checks, in the same run: in process (rmcp client and server over a
//! tokio duplex pipe) and over streamable HTTP on loopback. Over HTTP also against the plain
//! tool behind API-key authentication written by hand (`hand_written_auth`), the baseline for
//! what the `AuthLayer` costs.
//!
//! `cargo bench -p mcp-secure --bench tool_call` (`--features policy` adds a guarded call
//! decided by one Cedar policy).

mod common;
mod servers;

use std::sync::Arc;

use mcp_secure::{
    Security,
    auth::{ApiKeys, Principal},
    http::AuthLayer,
    serve::Secured,
};
use rmcp::{
    RoleClient, ServerHandler, ServiceExt,
    service::RunningService,
    transport::{
        StreamableHttpClientTransport,
        streamable_http_client::StreamableHttpClientTransportConfig,
        streamable_http_server::{
            StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
        },
    },
};
use servers::{Guarded, KEY, call, guarded, plain};
use tokio::runtime::Runtime;

mcp_secure::scopes! {
    /// Write notes.
    "notes:write",
}

/// `server` with its configuration, over the pipe: the caller is the local principal (as over
/// stdio).
fn local(server: Guarded) -> Secured<Guarded> {
    let security = Security::builder()
        .local_principal(Principal::new("bench", ["notes:write"]))
        .build()
        .unwrap();
    Secured::new(server, security)
}

/// `server` decided by one Cedar policy on an argument and the caller's attribute, after the
/// permit every policy file starts with (feature `policy`: `cargo bench --features policy`,
/// whose `preserve_order` both sides of its row then share).
#[cfg(feature = "policy")]
fn one_policy(server: Guarded) -> Secured<Guarded> {
    use mcp_secure::{
        auth::{Attribute, AttributeKind, Attributes},
        policy::Policies,
    };
    const POLICY: &str = r#"
        @id("all") permit (principal, action, resource);
        @id("priority-within-limit")
        forbid (principal, action == Action::"notes_create", resource)
        unless { principal has max_priority && context.priority <= principal.max_priority };
    "#;
    let attributes = Attributes::new()
        .with("max_priority", AttributeKind::Number)
        .unwrap();
    let policies = Policies::builder(&server.tools)
        .attributes(&attributes)
        .build(POLICY)
        .unwrap();
    let caller = Principal::new("bench", ["notes:write"])
        .with_attribute("max_priority", Attribute::Number(5))
        .unwrap();
    let security = Security::builder()
        .local_principal(caller)
        .policies(policies)
        .build()
        .unwrap();
    Secured::new(server, security)
}

type Client = RunningService<RoleClient, ()>;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A client connected to `server` over an in-memory pipe.
fn in_process<S: rmcp::Service<rmcp::RoleServer>>(rt: &Runtime, server: S) -> Client {
    rt.block_on(async {
        let (server_end, client_end) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            let running = server.serve(server_end).await.unwrap();
            let _ = running.waiting().await;
        });
        ().serve(client_end).await.unwrap()
    })
}

/// What stands in front of the MCP endpoint over HTTP.
#[derive(Clone, Copy, PartialEq)]
enum Front {
    /// Nothing: anyone may call.
    Open,
    /// The `AuthLayer` with an API key, as deployed.
    AuthLayer,
    /// Only the caller's `Principal` in the request, as a gateway that authenticated the caller
    /// would leave it: the guard's cost over HTTP without the layer's.
    Upstream,
    /// Authentication written by hand, the minimum a server that checks API keys does (see
    /// [`hand_written_auth`]): the `AuthLayer`'s baseline.
    HandWritten,
}

/// What a careful author writes in front of an MCP endpoint without mcp-secure: the bearer
/// key's SHA-256 compared in constant time with the stored one (keys are not kept in clear), a
/// `401` with a `WWW-Authenticate` challenge otherwise, the caller's `Principal` put into the
/// request, the request body limited to 4 MiB, and the same five security headers as the
/// `AuthLayer`. Not done: the layer's scope pre-check (skipped anyway for a caller holding
/// every scope), session ownership, `Origin` and `Mcp-Name` checks, the body's read timeout.
async fn hand_written_auth(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use ::http::{HeaderValue, StatusCode, header};
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    static KEY_HASH: std::sync::LazyLock<[u8; 32]> =
        std::sync::LazyLock::new(|| Sha256::digest(KEY.as_bytes()).into());
    static CALLER: std::sync::LazyLock<Principal> =
        std::sync::LazyLock::new(|| Principal::new("bench", ["notes:write"]));
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let known = presented.is_some_and(|key| {
        let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        bool::from(hash.ct_eq(&*KEY_HASH))
    });
    if !known {
        let mut refused = axum::response::Response::new(axum::body::Body::empty());
        *refused.status_mut() = StatusCode::UNAUTHORIZED;
        refused
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return refused;
    }
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(CALLER.clone());
    let body = axum::body::Body::new(http_body_util::Limited::new(body, 4 << 20));
    let mut response = next
        .run(axum::extract::Request::from_parts(parts, body))
        .await;
    let headers = response.headers_mut();
    headers.reserve(5);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A client connected over streamable HTTP on loopback to `server`, behind `front`.
fn over_http<S: ServerHandler + Clone>(rt: &Runtime, server: S, front: Front) -> Client {
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        // Behind the `AuthLayer`, hosts are checked by the layer, and rmcp's own check is off,
        // as `Endpoint` deploys it; elsewhere rmcp checks them.
        let config = match front {
            Front::AuthLayer => StreamableHttpServerConfig::default().disable_allowed_hosts(),
            _ => StreamableHttpServerConfig::default(),
        };
        let service = StreamableHttpService::new(
            move || Ok(server.clone()),
            Arc::new(LocalSessionManager::default()),
            config,
        );
        let caller = Principal::new("bench", ["notes:write"]);
        let mut app = if front == Front::Upstream {
            use tower::Layer as _;
            let service = axum::Extension(caller.clone()).layer(service);
            let service = axum::Extension(Security::default()).layer(service);
            axum::Router::new().nest_service("/mcp", service)
        } else {
            axum::Router::new().nest_service("/mcp", service)
        };
        match front {
            Front::Open | Front::Upstream => {}
            Front::HandWritten => {
                app = app.layer(axum::middleware::from_fn(hand_written_auth));
            }
            Front::AuthLayer => {
                let keys = ApiKeys::new().with_key(KEY, caller);
                let auth = AuthLayer::builder(url.as_str(), &Security::default())
                    .verifier(keys)
                    .tools(&Guarded::tools())
                    .build()
                    .unwrap();
                app = app.layer(auth);
            }
        }
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
        if matches!(front, Front::AuthLayer | Front::HandWritten) {
            config = config.auth_header(KEY);
        }
        ().serve(StreamableHttpClientTransport::from_config(config))
            .await
            .unwrap()
    })
}

fn bench_calls(bencher: divan::Bencher, rt: &Runtime, client: &Client) {
    let ok = rt.block_on(client.call_tool(call())).unwrap();
    assert_eq!(ok.is_error, Some(false), "{ok:?}");
    bencher.bench_local(|| rt.block_on(client.call_tool(call())).unwrap());
}

fn main() {
    // `MCP_BENCH_RUN=<variant>:<calls>`: set up, make that many calls, exit (for instruction
    // counts under callgrind, `benches/instructions.sh`).
    if let Ok(run) = std::env::var("MCP_BENCH_RUN") {
        let (variant, calls) = run.split_once(':').expect("variant:calls");
        let calls: usize = calls.parse().unwrap();
        let rt = runtime();
        let client = match variant {
            "in_process_guarded" => in_process(&rt, local(guarded())),
            "in_process_plain" => in_process(&rt, plain()),
            #[cfg(feature = "policy")]
            "in_process_one_policy" => in_process(&rt, one_policy(guarded())),
            "http_guarded" => over_http(&rt, guarded(), Front::AuthLayer),
            "http_plain" => over_http(&rt, plain(), Front::Open),
            "http_plain_behind_auth_layer" => over_http(&rt, plain(), Front::AuthLayer),
            "http_guarded_authenticated_upstream" => over_http(&rt, guarded(), Front::Upstream),
            "http_plain_authenticated_upstream" => over_http(&rt, plain(), Front::Upstream),
            "http_plain_behind_hand_written_auth" => over_http(&rt, plain(), Front::HandWritten),
            other => panic!("unknown variant {other}"),
        };
        // One call before counting starts, so that lazy set-up is not counted; it must be
        // admitted, or the count would be of a refusal.
        let first = rt.block_on(client.call_tool(call())).unwrap();
        assert_eq!(first.is_error, Some(false), "{first:?}");
        common::counted(calls, || {
            rt.block_on(client.call_tool(call())).unwrap();
        });
        return;
    }
    divan::main();
}

mod in_process {
    use super::*;

    #[divan::bench]
    fn guarded(bencher: divan::Bencher) {
        let rt = runtime();
        let client = in_process(&rt, local(super::guarded()));
        bench_calls(bencher, &rt, &client);
    }

    #[divan::bench]
    fn plain(bencher: divan::Bencher) {
        let rt = runtime();
        let client = in_process(&rt, super::plain());
        bench_calls(bencher, &rt, &client);
    }

    #[cfg(feature = "policy")]
    #[divan::bench]
    fn one_policy(bencher: divan::Bencher) {
        let rt = runtime();
        let client = in_process(&rt, super::one_policy(super::guarded()));
        bench_calls(bencher, &rt, &client);
    }
}

mod http {
    use super::*;

    #[divan::bench(sample_count = 200)]
    fn guarded(bencher: divan::Bencher) {
        let rt = runtime();
        let client = over_http(&rt, super::guarded(), Front::AuthLayer);
        bench_calls(bencher, &rt, &client);
    }

    #[divan::bench(sample_count = 200)]
    fn plain(bencher: divan::Bencher) {
        let rt = runtime();
        let client = over_http(&rt, super::plain(), Front::Open);
        bench_calls(bencher, &rt, &client);
    }

    /// The breakdown: the plain tool behind the `AuthLayer` (API key, scope pre-check, body
    /// limit, headers), without the guard.
    #[divan::bench(sample_count = 200)]
    fn plain_behind_auth_layer(bencher: divan::Bencher) {
        let rt = runtime();
        let client = over_http(&rt, super::plain(), Front::AuthLayer);
        bench_calls(bencher, &rt, &client);
    }

    /// The `AuthLayer`'s baseline: the plain tool behind hand-written API-key authentication
    /// and the same security headers.
    #[divan::bench(sample_count = 200)]
    fn plain_behind_hand_written_auth(bencher: divan::Bencher) {
        let rt = runtime();
        let client = over_http(&rt, super::plain(), Front::HandWritten);
        bench_calls(bencher, &rt, &client);
    }

    /// The other half: the guarded tool with its caller authenticated in front of the server
    /// (only the `Principal` put in the request), without the `AuthLayer`.
    #[divan::bench(sample_count = 200)]
    fn guarded_authenticated_upstream(bencher: divan::Bencher) {
        let rt = runtime();
        let client = over_http(&rt, super::guarded(), Front::Upstream);
        bench_calls(bencher, &rt, &client);
    }

    /// Its baseline with the same front: the plain tool with the caller's `Principal` put in
    /// the request (and not used).
    #[divan::bench(sample_count = 200)]
    fn plain_authenticated_upstream(bencher: divan::Bencher) {
        let rt = runtime();
        let client = over_http(&rt, super::plain(), Front::Upstream);
        bench_calls(bencher, &rt, &client);
    }
}
