//! Two replicas of the demo on one Redis, behind a small reverse proxy that sends each request
//! to the next replica in turn and appends the client's address to `X-Forwarded-For`, as a
//! load balancer does: hosts, legacy sessions (and their owners and bounds), stateless
//! 2026-07-28 clients, client addresses, the brute-force limit and metrics, together.

mod common;

use std::sync::atomic::Ordering;

use common::{
    balancer::{self, TEST_CLIENT},
    redis_server::RedisServer,
    *,
};
use rmcp::{
    model::ProtocolVersion,
    service::{ClientLifecycleMode, ClientServiceExt},
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::{Value, json};

/// A raw JSON-RPC POST through the proxy as `key`, from `client` when given, on `session`.
async fn post(
    url: &str,
    key: &str,
    session: Option<&str>,
    client: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut request = rpc(&reqwest::Client::new(), url, Some(&format!("Bearer {key}")))
        .header("MCP-Protocol-Version", "2025-06-18")
        .json(body);
    if let Some(session) = session {
        request = request.header("Mcp-Session-Id", session);
    }
    if let Some(client) = client {
        request = request.header(TEST_CLIENT, client);
    }
    request.send().await.unwrap()
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

fn whoami(id: u32) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}}})
}

/// Opens a legacy session as `key`: its id.
async fn open_session(url: &str, key: &str) -> reqwest::Response {
    post(url, key, None, None, &initialize()).await
}

async fn initialized(url: &str, key: &str, session: &str) {
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let answer = post(url, key, Some(session), None, &note).await;
    assert_eq!(answer.status(), 202);
}

fn session_of(response: &reqwest::Response) -> String {
    response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The sum over `scrapes` of one series (`name{labels}`), 0 where absent.
fn total(scrapes: &[String], series: &str) -> f64 {
    scrapes
        .iter()
        .filter_map(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(series)?
                    .strip_prefix(' ')?
                    .parse::<f64>()
                    .ok()
            })
        })
        .sum()
}

#[tokio::test]
#[cfg_attr(
    skip_redis,
    ignore = "redis-server is not installed: `apt-get install redis-server` runs it"
)]
async fn two_replicas_behind_a_proxy_share_sessions_limits_and_nothing_else() {
    let redis = RedisServer::start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}/mcp", listener.local_addr().unwrap());
    let (files, _outside) = files_dir();
    let args = [
        "--rate-backend",
        "redis",
        "--redis-url",
        &redis.url(),
        "--url",
        &public,
        "--allow-host",
        "lb.internal",
        "--trusted-proxy",
        "127.0.0.1/32",
        "--sessions-per-principal",
        "3",
        "--metrics-addr",
        "127.0.0.1:0",
    ];
    let replicas = [
        HttpServer::start_with(Some(KEYS), files.path(), &args),
        HttpServer::start_with(Some(KEYS), files.path(), &args),
    ];
    let proxy = balancer::serve(
        listener,
        replicas
            .iter()
            .map(|r| r.url.trim_end_matches("/mcp").to_owned())
            .collect(),
    );
    let turn = || proxy.next.load(Ordering::Relaxed);

    // Hosts: the public URL's and the listed one are served by either replica; another is
    // refused by both.
    for _ in 0..2 {
        let evil = rpc(
            &reqwest::Client::new(),
            &public,
            Some("Bearer nobody-key-000000000"),
        )
        .header("Host", "evil.example")
        .json(&initialize())
        .send()
        .await
        .unwrap();
        assert_eq!(evil.status(), 403, "an unlisted Host");
    }
    let listed = rpc(
        &reqwest::Client::new(),
        &public,
        Some("Bearer nobody-key-000000000"),
    )
    .header("Host", "lb.internal")
    .json(&initialize())
    .send()
    .await
    .unwrap();
    assert_eq!(listed.status(), 200, "a listed Host");

    // A legacy client (initialize, then a session) whose requests alternate between the
    // replicas keeps its session: the replica that did not open it restores it from Redis.
    let start = turn();
    let legacy = connect(&public, "alice-writer-key-000").await;
    for i in 0..4 {
        let me = ok(&call(&legacy, "whoami", json!({})).await).clone();
        assert_eq!(me["subject"], "alice", "call {i}");
    }
    ok(&call(
        &legacy,
        "notes_create",
        json!({"title": "shared", "body": "across"}),
    )
    .await);
    let found = call(
        &legacy,
        "notes_search",
        json!({"query": "shared", "sort": "title", "limit": 5}),
    )
    .await;
    ok(&found);
    assert!(turn() - start >= 6, "the requests went to both replicas");

    // A 2026-07-28 client (no initialize, no session) alternating between them.
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(public.as_str())
            .auth_header("bob-all-key-00000000"),
    );
    let modern = ()
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("a 2026-07-28 client connects");
    for _ in 0..3 {
        let me = ok(&call(&modern, "whoami", json!({})).await).clone();
        assert_eq!(me["subject"], "bob");
    }

    // A session opened on one replica is its owner's on both; another principal naming it gets
    // the 404 of an unknown session from either.
    let opened = open_session(&public, "alice-writer-key-000").await;
    assert_eq!(opened.status(), 200);
    let session = session_of(&opened);
    initialized(&public, "alice-writer-key-000", &session).await;
    for i in 0..2 {
        let stolen = post(
            &public,
            "bob-all-key-00000000",
            Some(&session),
            None,
            &whoami(i),
        )
        .await;
        assert_eq!(stolen.status(), 404, "another principal, try {i}");
        let own = post(
            &public,
            "alice-writer-key-000",
            Some(&session),
            None,
            &whoami(i),
        )
        .await;
        assert_eq!(own.status(), 200, "its owner, try {i}");
    }

    // One bound of sessions per principal across the replicas: bob (whose 2026-07-28 client
    // opened none) opens three, alternating, and the fourth is refused by either.
    let mut bobs = Vec::new();
    for _ in 0..3 {
        let opened = open_session(&public, "bob-all-key-00000000").await;
        assert_eq!(opened.status(), 200);
        bobs.push(session_of(&opened));
    }
    for _ in 0..2 {
        let refused = open_session(&public, "bob-all-key-00000000").await;
        assert_eq!(refused.status(), 429);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["data"]["error"], "too_many_sessions");
    }
    // Closing one (on whichever replica) frees a place on both.
    let closed = reqwest::Client::new()
        .delete(&public)
        .header("Authorization", "Bearer bob-all-key-00000000")
        .header("Mcp-Session-Id", &bobs[0])
        .header("MCP-Protocol-Version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert!(closed.status().is_success(), "{}", closed.status());
    assert_eq!(
        open_session(&public, "bob-all-key-00000000").await.status(),
        200
    );

    // The brute-force limit, per forwarded client address, shared through Redis: ten refused
    // guesses from one address (alternating replicas), then every guess gets 429 from either
    // replica; its neighbour behind the same proxy is not affected.
    let guesser = "198.51.100.7";
    for i in 0..10 {
        let guess = post(
            &public,
            &format!("guess-{i:016}"),
            None,
            Some(guesser),
            &initialize(),
        )
        .await;
        assert_eq!(guess.status(), 401, "guess {i}");
    }
    let mut throttled = 0;
    for key in [
        "guess-final-000000",
        "guess-final-000001",
        "guess-final-000002",
    ] {
        let over = post(&public, key, None, Some(guesser), &initialize()).await;
        assert_eq!(over.status(), 429, "{key}");
        assert!(over.headers().contains_key("retry-after"));
        throttled += 1;
    }
    let neighbour = post(
        &public,
        "nobody-key-000000000",
        None,
        Some("203.0.113.5"),
        &initialize(),
    )
    .await;
    assert_eq!(neighbour.status(), 200, "the neighbour is not throttled");

    // Each replica's audit log names the forwarded client, never the proxy, nor a key.
    let logs: Vec<String> = replicas
        .iter()
        .map(|r| r.drain_stderr().join("\n"))
        .collect();
    for log in &logs {
        assert!(log.contains("\"authentication_failed\""), "{log}");
        assert!(log.contains(guesser), "the forwarded address is audited");
        assert!(!log.contains("guess-0000"), "no token in the audit log");
        assert!(log.contains("\"tool_called\""), "each replica served calls");
    }

    // Metrics, scraped from both: together they count exactly what was done.
    let mut scrapes = Vec::new();
    for replica in &replicas {
        let url = replica.metrics_url();
        scrapes.push(reqwest::get(&url).await.unwrap().text().await.unwrap());
    }
    let refusals = |reason: &str| {
        total(
            &scrapes,
            &format!("mcp_secure_http_refusals_total{{reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(refusals("throttled"), f64::from(throttled));
    assert_eq!(refusals("host"), 2.0);
    assert_eq!(refusals("session"), 2.0, "the two refused fourth sessions");
    // 14 = the ten guesses + the two session thefts + 2 of the 3 throttled requests, which are
    // counted under both reasons, on purpose: the first such request at each replica had its
    // token verified (and refused) before the shared count answered 429, so it was refused
    // twice; from then on a replica remembers, and refuses before verifying. 19 requests
    // refused, 21 refusals counted.
    assert_eq!(refusals("unauthenticated"), 10.0 + 2.0 + 2.0);
    // With Redis the sessions live in the shared registry, not in either process: the gauge
    // of in-process sessions reads 0 (the guide, docs/src/rate-limits.md, "Metrics").
    assert_eq!(total(&scrapes, "mcp_secure_sessions"), 0.0);
    assert!(
        scrapes
            .iter()
            .all(|s| s.contains("\nmcp_secure_sessions 0\n")),
        "each replica says 0, not nothing"
    );
    assert_eq!(
        total(
            &scrapes,
            "mcp_secure_tool_decisions_total{tool=\"whoami\",outcome=\"admitted\"}"
        ),
        // The legacy client's four, the modern client's three, alice's own two.
        9.0
    );
    assert_eq!(
        total(
            &scrapes,
            "mcp_secure_tool_decisions_total{tool=\"notes_create\",outcome=\"admitted\"}"
        ),
        1.0
    );
    legacy.cancel().await.unwrap();
    modern.cancel().await.unwrap();
}
