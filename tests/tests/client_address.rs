//! Client addresses behind a proxy, and failed authentications limited per client address:
//! behind a real nginx, whose clients write whatever forwarding headers they like, and with the
//! test playing the load balancer (loopback is the trusted proxy), forwarding several clients
//! in `X-Forwarded-For` as a proxy appends them.

mod common;

use std::{path::Path, time::Duration};

use common::{nginx::Nginx, *};
use serde_json::{Value, json};

/// An `initialize`, which a valid key is answered `200` to.
fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

async fn send(server: &HttpServer, key: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = rpc(
        &reqwest::Client::new(),
        &server.url,
        Some(&format!("Bearer {key}")),
    )
    .json(&initialize());
    if let Some(chain) = forwarded_for {
        request = request.header("X-Forwarded-For", chain);
    }
    request.send().await.unwrap()
}

/// The audit file's events, once it has one named `event`.
fn audit_events(path: &Path, event: &str) -> Vec<Value> {
    for _ in 0..100 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let events: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect();
        if events.iter().any(|e| e["event"] == event) {
            return events;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no {event} in the audit file");
}

#[tokio::test]
async fn refused_tokens_are_limited_per_forwarded_client_address() {
    let (files, _outside) = files_dir();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let server = HttpServer::start_with(
        Some(KEYS),
        files.path(),
        &[
            "--trusted-proxy",
            "127.0.0.0/8",
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    );
    let (guesser, neighbour) = ("198.51.100.7", "203.0.113.5");
    // Ten guesses are refused as guesses (401)...
    for i in 0..10 {
        let guess = send(&server, &format!("guess-{i:016}"), Some(guesser)).await;
        assert_eq!(guess.status(), 401, "guess {i}");
    }
    // ...the eleventh spends the last failure (429), and from then on the address is refused
    // before any verifier runs, a valid key included.
    let over = send(&server, "guess-final-000000", Some(guesser)).await;
    assert_eq!(over.status(), 429);
    let retry: u64 = over.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=6).contains(&retry), "Retry-After: {retry}");
    let body: Value = over.json().await.unwrap();
    assert_eq!(
        body["error"]["data"]["error"],
        "too_many_failed_authentications"
    );
    assert_eq!(
        send(&server, "alice-writer-key-000", Some(guesser))
            .await
            .status(),
        429
    );
    // Naming another client before its own address does not escape: a proxy appends the
    // address it saw, and that one is read.
    assert_eq!(
        send(
            &server,
            "alice-writer-key-000",
            Some(&format!("{neighbour}, {guesser}"))
        )
        .await
        .status(),
        429
    );
    // Another client behind the same proxy is not affected.
    assert_eq!(
        send(&server, "alice-writer-key-000", Some(neighbour))
            .await
            .status(),
        200
    );
    // A tool call of the neighbour: its events carry its address too.
    let config =
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
            server.url.as_str(),
        )
        .auth_header("alice-writer-key-000")
        .custom_headers(std::collections::HashMap::from([(
            "x-forwarded-for".parse().unwrap(),
            neighbour.parse().unwrap(),
        )]));
    let client = rmcp::ServiceExt::serve(
        (),
        rmcp::transport::StreamableHttpClientTransport::from_config(config),
    )
    .await
    .unwrap();
    ok(&call(&client, "whoami", json!({})).await);
    client.cancel().await.unwrap();
    let events = audit_events(&audit, "tool_called");
    let called = events.iter().find(|e| e["event"] == "tool_called").unwrap();
    assert_eq!(called["client_address"], neighbour);
    // Audited with the client's address, never the token.
    let events = audit_events(&audit, "authentication_throttled");
    let throttled: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "authentication_throttled")
        .collect();
    assert!(throttled.iter().all(|e| e["client_address"] == guesser));
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "authentication_failed")
        .collect();
    // The ten guesses, and the eleventh, whose refusal spent the last failure: nothing after
    // it reached a verifier.
    assert_eq!(failed.len(), 11, "{failed:?}");
    assert!(failed.iter().all(|e| e["client_address"] == guesser));
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(!text.contains("guess-"), "no token in the audit log");
}

/// Behind nginx, appending to `X-Forwarded-For` as its documentation suggests and passing
/// every other header through, a client names any address it likes in `Forwarded`,
/// `X-Real-IP` and a prefix of `X-Forwarded-For`: none of them is believed. The client is the
/// address nginx saw, in the failed-authentication limit and in the audit log.
#[tokio::test]
#[cfg_attr(
    skip_nginx,
    ignore = "nginx is not installed: `apt-get install nginx` runs it"
)]
async fn behind_nginx_a_client_cannot_choose_its_address() {
    let (files, _outside) = files_dir();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    // nginx connects to the server from 127.0.0.2, the one trusted proxy; its clients come
    // from other loopback addresses.
    let server = HttpServer::start_with(
        Some(KEYS),
        files.path(),
        &[
            "--trusted-proxy",
            "127.0.0.2",
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    );
    let upstream = url::Url::parse(&server.url).unwrap();
    let upstream = format!(
        "{}:{}",
        upstream.host_str().unwrap(),
        upstream.port().unwrap()
    );
    let nginx = Nginx::start(&upstream, "127.0.0.2");
    let url = format!("http://127.0.0.1:{}/mcp", nginx.port);
    let (guesser, victim) = ("127.0.0.3", "127.0.0.4");
    let from = |address: &str| {
        reqwest::Client::builder()
            .local_address(address.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let (guessing, victims) = (from(guesser), from(victim));
    // Each guess names a new address in `Forwarded`, and the victim in `X-Real-IP` and in the
    // `X-Forwarded-For` that nginx appends to.
    let guess = |key: String, i: usize| {
        rpc(&guessing, &url, Some(&format!("Bearer {key}")))
            .header("Forwarded", format!("for=198.51.100.{i}"))
            .header("Forwarded", format!("for=\"[2001:db8:{i}::1]:4711\""))
            .header("X-Real-IP", victim)
            .header("X-Forwarded-For", victim)
            .json(&initialize())
            .send()
    };
    for i in 0..10 {
        let refused = guess(format!("guess-{i:016}"), i).await.unwrap();
        assert_eq!(refused.status(), 401, "guess {i}");
    }
    // The eleventh spends the guesser's last failure, whatever it claims: one address, one
    // budget.
    assert_eq!(
        guess("guess-final-000000".into(), 10)
            .await
            .unwrap()
            .status(),
        429
    );
    assert_eq!(
        guess("alice-writer-key-000".into(), 11)
            .await
            .unwrap()
            .status(),
        429
    );
    // The victim it named everywhere is served, naming the guesser in turn.
    let served = rpc(&victims, &url, Some("Bearer alice-writer-key-000"))
        .header("Forwarded", format!("for={guesser}"))
        .header("X-Real-IP", guesser)
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    let events = audit_events(&audit, "authentication_throttled");
    let of = |name: &str| -> Vec<&Value> { events.iter().filter(|e| e["event"] == name).collect() };
    // The ten guesses and the eleventh; the twelfth was refused before any verifier.
    assert_eq!(of("authentication_failed").len(), 11);
    assert!(!of("authentication_throttled").is_empty());
    for event in [of("authentication_failed"), of("authentication_throttled")].concat() {
        assert_eq!(event["client_address"], guesser, "{event}");
    }
}

/// Without `--trusted-proxy`, forwarded addresses are anyone's words: every guess counts
/// against the peer, whatever it claims to forward.
#[tokio::test]
async fn forwarded_addresses_are_ignored_unless_the_peer_is_a_trusted_proxy() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    for i in 0..10 {
        let claimed = format!("198.51.100.{i}");
        let guess = send(&server, &format!("guess-{i:016}"), Some(&claimed)).await;
        assert_eq!(guess.status(), 401, "guess {i}");
    }
    let over = send(&server, "guess-final-000000", Some("203.0.113.99")).await;
    assert_eq!(over.status(), 429);
}

/// With `--forwarded-header forwarded`, a proxy's RFC 7239 `for` is read, and the
/// `X-Forwarded-For` it passes through is not.
#[tokio::test]
async fn the_operator_chooses_the_forwarded_header() {
    let (files, _outside) = files_dir();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let server = HttpServer::start_with(
        Some(KEYS),
        files.path(),
        &[
            "--trusted-proxy",
            "127.0.0.0/8",
            "--forwarded-header",
            "forwarded",
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    );
    let refused = rpc(
        &reqwest::Client::new(),
        &server.url,
        Some("Bearer guess-0000000000000000"),
    )
    .header("X-Forwarded-For", "203.0.113.1")
    .header("Forwarded", "for=\"[2001:db8::7]:4711\";proto=http")
    .json(&initialize())
    .send()
    .await
    .unwrap();
    assert_eq!(refused.status(), 401);
    let events = audit_events(&audit, "authentication_failed");
    let failed = events
        .iter()
        .find(|e| e["event"] == "authentication_failed")
        .unwrap();
    assert_eq!(failed["client_address"], "2001:db8::7");
}

#[test]
fn the_forwarded_header_is_one_the_server_reads() {
    let (files, _outside) = files_dir();
    let mut cmd = std::process::Command::new(common::bin());
    common::serve_args(&mut cmd, files.path()).args(["--forwarded-header", "x-real-ip"]);
    let stderr = common::refused_at_start(cmd).expect("the demo refuses to start");
    assert!(
        stderr.contains("the forwarded header is `x-forwarded-for` or `forwarded`"),
        "{stderr}"
    );
}

#[test]
fn a_trusted_proxy_must_be_an_address_or_a_block() {
    let (files, _outside) = files_dir();
    let mut cmd = std::process::Command::new(common::bin());
    common::serve_args(&mut cmd, files.path()).args(["--trusted-proxy", "10.0.0.0/33"]);
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("trusted proxy `10.0.0.0/33` is not an address or a CIDR block"),
        "{stderr}"
    );
}
