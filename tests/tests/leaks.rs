//! The leak test: the demo's traffic (valid calls, every kind of denial and validation failure)
//! with known secret values, then every response body, header and audit line is scanned for
//! them.

mod common;

use common::*;
use serde_json::json;

const WEBHOOK_SECRET: &str = "whsec-CANARY-7f3a9c1e2b";
const WRONG_KEY: &str = "wrong-key-CANARY-55aa66bb";
const NUMERIC_SECRET: u64 = 424_242_424_242;

#[tokio::test]
async fn no_secret_ever_comes_back() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let mut seen = String::new();

    let wrong = format!("Bearer {WRONG_KEY}");
    for auth in [
        None,
        Some(wrong.as_str()),
        Some("Bearer alice-writer-key-000"),
    ] {
        let response = post_initialize(&server.url, auth).await;
        seen.push_str(&format!("{:?}", response.headers()));
        seen.push_str(&response.text().await.unwrap());
    }

    let bob = server.client("bob-all-key-00000000").await;
    let reader = server.client("alice-reader-key-000").await;
    let mut results = Vec::new();
    results.push(
        call(
            &bob,
            "webhook_register",
            json!({"url": "https://hooks.example.com/in", "secret": WEBHOOK_SECRET}),
        )
        .await,
    );
    results.push(
        call(
            &bob,
            "webhook_register",
            json!({"url": "https://127.0.0.1/in", "secret": WEBHOOK_SECRET}),
        )
        .await,
    );
    results.push(
        call(
            &bob,
            "webhook_register",
            json!({"url": "http://hooks.example.com", "secret": "short"}),
        )
        .await,
    );
    results.push(
        call(
            &bob,
            "webhook_register",
            json!({"url": "https://hooks.example.com", "secret": NUMERIC_SECRET}),
        )
        .await,
    );
    results.push(call(&bob, "webhook_register", json!({"url": "https://hooks.example.com", "secret": WEBHOOK_SECRET, "note": WEBHOOK_SECRET})).await);
    results.push(
        call(
            &bob,
            "notes_create",
            json!({"title": WEBHOOK_SECRET, "body": "", "password": WEBHOOK_SECRET}),
        )
        .await,
    );
    let denied = try_call(
        &reader,
        "webhook_register",
        json!({"url": "https://hooks.example.com", "secret": WEBHOOK_SECRET}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        challenge_scope(&denied).as_deref(),
        Some("notes:read webhooks:write")
    );
    seen.push_str(&format!("{denied:?}"));
    for i in 0..12 {
        results.push(
            call(
                &bob,
                "webhook_register",
                json!({"url": format!("https://h{i}.example.com"), "secret": WEBHOOK_SECRET}),
            )
            .await,
        );
    }

    let registered = ok(&results[0]);
    assert_eq!(registered["url"], "https://hooks.example.com/in");
    assert!(registered.get("secret").is_none());
    assert_eq!(
        violations(&results[1]),
        [("url".to_owned(), "url".to_owned())]
    );
    assert_eq!(
        violations(&results[2]),
        [
            ("url".to_owned(), "url".to_owned()),
            ("secret".to_owned(), "length".to_owned())
        ]
    );
    assert_eq!(
        violations(&results[3]),
        [("secret".to_owned(), "type".to_owned())]
    );
    assert_eq!(
        violations(&results[4]),
        [("note".to_owned(), "unknown_field".to_owned())]
    );
    assert_eq!(
        violations(&results[5]),
        [("password".to_owned(), "unknown_field".to_owned())]
    );
    assert!(
        results
            .iter()
            .any(|r| r.is_error == Some(true) && err(r)["code"] == "rate_limited")
    );
    for r in &results {
        seen.push_str(&serde_json::to_string(r).unwrap());
    }
    bob.cancel().await.unwrap();
    reader.cancel().await.unwrap();

    let audit = server.drain_stderr().join("\n");
    assert!(
        audit.contains("\"event\":\"validation_failed\"")
            && audit.contains("\"event\":\"authentication_failed\"")
    );
    let keys: Vec<&str> = KEYS
        .split(';')
        .map(|e| e.split_whitespace().next().unwrap())
        .collect();
    for secret in [WEBHOOK_SECRET, WRONG_KEY, &NUMERIC_SECRET.to_string()]
        .into_iter()
        .chain(keys)
    {
        assert!(
            !seen.contains(secret),
            "{secret} came back to a client: {seen}"
        );
        assert!(
            !audit.contains(secret),
            "{secret} reached the audit log: {audit}"
        );
    }
}
