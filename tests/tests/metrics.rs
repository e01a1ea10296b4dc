//! Prometheus metrics, scraped: after a scripted set of calls, each count holds exactly what
//! was done, and nothing personal (subject, key, address, argument) is in the exposition.

mod common;

use common::*;
use serde_json::json;

/// The value of one series (`name{labels}`) in a scrape, or 0 when it is absent.
fn value(scrape: &str, series: &str) -> f64 {
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
