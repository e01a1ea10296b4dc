//! Prometheus metrics, scraped: after a scripted set of calls, each count holds exactly what
//! was done, and nothing personal (subject, key, address, argument) is in the exposition.

mod common;

use common::*;
use serde_json::json;

/// The value of one series (`name{labels}`) in a scrape, or 0 when it is absent.
/// The metric families the library registers. Each is declared in the scrape once it has a
/// series (checked at the end of `each_count_holds_exactly_what_was_done`).
const FAMILIES: &[&str] = &[
    "mcp_secure_tool_decisions",
    "mcp_secure_tool_duration_seconds",
    "mcp_secure_http_refusals",
    "mcp_secure_sessions",
    "mcp_secure_limiter_keys",
];

/// The value of `series` in `scrape`: 0 for a series not counted yet (a label combination
/// appears at its first count), of a family the library registers; a name of no such family
/// (a misspelling) fails the test.
fn value(scrape: &str, series: &str) -> f64 {
    let name = series.split('{').next().unwrap();
    assert!(
        ["", "_total", "_count", "_sum", "_bucket"]
            .iter()
            .filter_map(|suffix| name.strip_suffix(suffix))
            .any(|family| FAMILIES.contains(&family)),
        "{series} is of no family the library registers"
    );
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn each_count_holds_exactly_what_was_done() {
    let (files, _outside) = files_dir();
    let server =
        HttpServer::start_with(Some(KEYS), files.path(), &["--metrics-addr", "127.0.0.1:0"]);
    let scrape_url = server.metrics_url();
    let scrape = || async {
        let response = reqwest::get(&scrape_url).await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    };
    let before = scrape().await;
    assert_eq!(
        value(
            &before,
            "mcp_secure_tool_decisions_total{tool=\"whoami\",outcome=\"admitted\"}"
        ),
        0.0
    );

    let bob = server.client("bob-all-key-00000000").await;
    for _ in 0..2 {
        ok(&call(&bob, "whoami", json!({})).await);
    }
    let missing = call(&bob, "notes_get", json!({"id": 999_999})).await;
    assert_eq!(err(&missing)["code"], "not_found");
    // Ten refused as invalid, then the eleventh is over the tool's 10/min.
    for i in 0..11 {
        let refused = call(
            &bob,
            "webhook_register",
            json!({"url": "not a url", "secret": "0123456789abcdef-secret"}),
        )
        .await;
        let expected = if i < 10 {
            "invalid_input"
        } else {
            "rate_limited"
        };
        assert_eq!(err(&refused)["code"], expected, "call {i}");
    }
    // Refused by the HTTP layer: a scope the reader lacks (403, the tool named), a bad key.
    let http = reqwest::Client::new();
    let forbidden = rpc(&http, &server.url, Some("Bearer alice-reader-key-000"))
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "notes_create", "arguments": {"title": "t", "body": ""}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    assert_eq!(
        post_initialize(&server.url, Some("Bearer not-a-key-at-all-0000"))
            .await
            .status(),
        401
    );

    let scrape = scrape().await;
    let decisions = |tool: &str, outcome: &str| {
        value(
            &scrape,
            &format!("mcp_secure_tool_decisions_total{{tool=\"{tool}\",outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(decisions("whoami", "admitted"), 2.0);
    assert_eq!(decisions("notes_get", "tool_error"), 1.0);
    assert_eq!(decisions("webhook_register", "invalid_input"), 10.0);
    assert_eq!(decisions("webhook_register", "rate_limited"), 1.0);
    assert_eq!(decisions("notes_create", "insufficient_scope"), 1.0);
    assert_eq!(decisions("webhook_register", "admitted"), 0.0);
    assert_eq!(
        value(
            &scrape,
            "mcp_secure_http_refusals_total{reason=\"unauthenticated\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &scrape,
            "mcp_secure_tool_duration_seconds_count{tool=\"whoami\"}"
        ),
        2.0
    );
    // Bob's client holds one session.
    assert_eq!(value(&scrape, "mcp_secure_sessions"), 1.0);
    // whoami, notes_get and webhook_register for bob, and the failures of the bad key's address.
    assert_eq!(value(&scrape, "mcp_secure_limiter_keys"), 4.0);
    // Each family the reads above assume is one the scrape declares.
    for family in FAMILIES {
        assert!(
            scrape.contains(&format!("# TYPE {family} ")),
            "{family} is not declared: {scrape}"
        );
    }
    for private in [
        "bob",
        "alice",
        "api-key",
        "127.0.0.1",
        "not a url",
        "secret",
        "not-a-key",
    ] {
        assert!(!scrape.contains(private), "{private} in the scrape");
    }
    bob.cancel().await.unwrap();
}

/// A scrape of `url` with `Host: host`, and optionally an `Origin` and an `Authorization`.
async fn scrape_as(
    url: &str,
    host: &str,
    origin: Option<&str>,
    authorization: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .get(url)
        .header(reqwest::header::HOST, host);
    if let Some(origin) = origin {
        request = request.header(reqwest::header::ORIGIN, origin);
    }
    if let Some(authorization) = authorization {
        request = request.header(reqwest::header::AUTHORIZATION, authorization);
    }
    request.send().await.unwrap()
}

/// The metrics listener takes the endpoint's `Host` rules: a page that rebinds its own name to
/// the loopback address still names itself, and is refused; so is any browser `Origin`.
#[tokio::test]
async fn the_metrics_answer_loopback_and_listed_host_names_only() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start_with(
        Some(KEYS),
        files.path(),
        &[
            "--metrics-addr",
            "127.0.0.1:0",
            "--metrics-allow-host",
            "metrics.internal",
        ],
    );
    let url = server.metrics_url();
    let port = url::Url::parse(&url).unwrap().port().unwrap();
    for (host, status) in [
        (format!("127.0.0.1:{port}"), 200),
        (format!("localhost:{port}"), 200),
        (format!("[::1]:{port}"), 200),
        (format!("metrics.internal:{port}"), 200),
        (format!("rebinding.attacker.example:{port}"), 403),
        ("rebinding.attacker.example".to_owned(), 403),
        (format!("127.0.0.1.attacker.example:{port}"), 403),
        (format!("localhost:{port}, attacker.example"), 400),
    ] {
        let response = scrape_as(&url, &host, None, None).await;
        assert_eq!(response.status(), status, "Host: {host}");
        let body = response.text().await.unwrap();
        assert_eq!(
            body.contains("mcp_secure_sessions"),
            status == 200,
            "Host: {host}"
        );
    }
    // Any path, not only the route.
    let other = url.replace("/metrics", "/other");
    assert_eq!(
        scrape_as(&other, "attacker.example", None, None)
            .await
            .status(),
        403
    );
    let loopback = format!("127.0.0.1:{port}");
    for origin in [
        "http://attacker.example",
        "null",
        &format!("http://{loopback}"),
    ] {
        assert_eq!(
            scrape_as(&url, &loopback, Some(origin), None)
                .await
                .status(),
            403,
            "Origin: {origin}"
        );
    }
    // The refusals are counted like the endpoint's.
    let scrape = scrape_as(&url, &loopback, None, None)
        .await
        .text()
        .await
        .unwrap();
    assert!(value(&scrape, "mcp_secure_http_refusals_total{reason=\"host\"}") >= 4.0);
}

/// With `--metrics-token-file`, a scrape needs `Authorization: Bearer <token>`; the token
/// shows nowhere: not in a refusal, the audit log, the exposition or the server's output.
#[tokio::test]
async fn with_a_token_file_a_scrape_needs_the_token() {
    use std::os::unix::fs::PermissionsExt;
    let (files, _outside) = files_dir();
    let dir = tempfile::tempdir().unwrap();
    let token = "scrape-token-7f3a9c1e5b2d8f40";
    let token_file = dir.path().join("metrics-token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let audit = dir.path().join("audit.jsonl");
    let server = HttpServer::start_with(
        Some(KEYS),
        files.path(),
        &[
            "--metrics-addr",
            "127.0.0.1:0",
            "--metrics-token-file",
            token_file.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    );
    let url = server.metrics_url();
    let host = url::Url::parse(&url).unwrap().authority().to_owned();
    let mut refusals = String::new();
    for authorization in [
        None,
        Some("Bearer".to_owned()),
        Some("Bearer ".to_owned()),
        Some(format!("Bearer {}", &token[..token.len() - 1])),
        Some(format!("Bearer {token}x")),
        Some(format!("Bearer {}", token.to_uppercase())),
        Some(format!("Basic {token}")),
        Some(token.to_owned()),
    ] {
        let response = scrape_as(&url, &host, None, authorization.as_deref()).await;
        assert_eq!(response.status(), 401, "{authorization:?}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"metrics\""
        );
        refusals.push_str(&format!("{:?}", response.headers()));
        refusals.push_str(&response.text().await.unwrap());
    }
    // The scheme is case-insensitive (RFC 9110); the token is not.
    for scheme in ["Bearer", "bearer"] {
        let response = scrape_as(&url, &host, None, Some(&format!("{scheme} {token}"))).await;
        assert_eq!(response.status(), 200);
        let scrape = response.text().await.unwrap();
        assert!(
            value(
                &scrape,
                "mcp_secure_http_refusals_total{reason=\"unauthenticated\"}"
            ) >= 8.0
        );
        refusals.push_str(&scrape);
    }
    // The token does not open the door to another Host.
    let authorization = format!("Bearer {token}");
    assert_eq!(
        scrape_as(&url, "attacker.example", None, Some(&authorization))
            .await
            .status(),
        403
    );
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(log.contains("no scrape token") && log.contains("wrong scrape token"));
    let output = server.drain_stderr().join("\n");
    let printed = server.banner.join("\n");
    // Not the token, nor any eight characters of it.
    for text in [&refusals, &log, &output, &printed] {
        for piece in token.as_bytes().windows(8) {
            let piece = std::str::from_utf8(piece).unwrap();
            assert!(!text.contains(piece), "`{piece}` of the token in {text}");
        }
    }
}

/// A token file that others may read, or a token too short to be secret, stops the server
/// before it serves, without printing the token.
#[test]
fn a_token_file_must_be_private_and_the_token_long() {
    use std::os::unix::fs::PermissionsExt;
    let (files, _outside) = files_dir();
    let dir = tempfile::tempdir().unwrap();
    for (token, mode, expected) in [
        ("scrape-token-7f3a9c1e5b2d8f40", 0o644, "chmod 600"),
        ("short-token", 0o600, "fewer than 16 characters"),
    ] {
        let token_file = dir.path().join("metrics-token");
        std::fs::write(&token_file, token).unwrap();
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(mode)).unwrap();
        let mut cmd = std::process::Command::new(common::bin());
        common::serve_args(&mut cmd, files.path())
            .args(["--metrics-addr", "127.0.0.1:0", "--metrics-token-file"])
            .arg(&token_file)
            .env("NOTES_API_KEYS", KEYS);
        let stderr = common::refused_at_start(cmd).expect("the demo refuses to start");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!stderr.contains(token), "{stderr}");
        assert!(!stderr.contains("serving MCP"), "{stderr}");
    }
}
