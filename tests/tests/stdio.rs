//! The demo server over stdio, as a child process of rmcp's client.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn the_caller_comes_from_the_start_up_key() {
    let (files, _outside) = files_dir();
    let client = stdio_client(Some("alice-writer-key-000"), files.path()).await;
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 8);
    let create = serde_json::Value::Object(
        (*tools
            .iter()
            .find(|t| t.name == "notes_create")
            .unwrap()
            .input_schema)
            .clone(),
    );
    assert_eq!(create["properties"]["title"]["maxLength"], 200);
    // The listing leaves as made: its patterns' `\u` escapes are rules, not hidden text.
    assert_eq!(
        create["properties"]["title"]["pattern"],
        mcp_secure::validate::rules::NO_CONTROL_PATTERN
    );

    assert_eq!(
        ok(&call(&client, "whoami", json!({})).await)["subject"],
        "alice"
    );
    let note = call(
        &client,
        "notes_create",
        json!({"title": "over stdio", "body": "b", "tags": ["x"]}),
    )
    .await;
    let id = ok(&note)["id"].as_i64().unwrap();
    assert_eq!(
        ok(&call(&client, "notes_get", json!({"id": id})).await)["title"],
        "over stdio"
    );
    assert_eq!(
        text(
            &call(
                &client,
                "files_read",
                json!({"path": "hello.txt", "max_bytes": 64})
            )
            .await
        ),
        "hello, world\n"
    );

    let bad = call(
        &client,
        "notes_search",
        json!({"query": "q", "sort": "nope", "limit": 1000}),
    )
    .await;
    assert_eq!(
        violations(&bad),
        [("sort".to_owned(), "one_of".to_owned())],
        "parsing stops at the first type error"
    );
    let bad = call(
        &client,
        "notes_search",
        json!({"query": "q".repeat(300), "sort": "title", "limit": 1000}),
    )
    .await;
    assert_eq!(
        violations(&bad),
        [
            ("query".to_owned(), "length".to_owned()),
            ("limit".to_owned(), "range".to_owned())
        ]
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn scopes_and_rates_apply_over_stdio_too() {
    let (files, _outside) = files_dir();
    let client = stdio_client(Some("alice-reader-key-000"), files.path()).await;
    let denied = call(
        &client,
        "files_read",
        json!({"path": "hello.txt", "max_bytes": 64}),
    )
    .await;
    assert_eq!(err(&denied)["code"], "insufficient_scope");
    client.cancel().await.unwrap();

    // At least the burst of 30 is admitted, then a refusal (the calls decide, not a clock).
    let writer = stdio_client(Some("alice-writer-key-000"), files.path()).await;
    let (admitted, limited) = create_until_refused(&writer).await;
    assert!(admitted >= 30, "the burst of 30 was cut at {admitted}");
    assert_eq!(err(&limited)["code"], "rate_limited");
    assert!(err(&limited)["retry_after_ms"].as_u64().unwrap() > 0);
    writer.cancel().await.unwrap();
}

#[tokio::test]
async fn without_a_key_only_public_tools_answer() {
    let (files, _outside) = files_dir();
    let client = stdio_client(None, files.path()).await;
    assert_eq!(
        ok(&call(&client, "whoami", json!({})).await)["subject"],
        "anonymous"
    );
    let denied = call(
        &client,
        "notes_search",
        json!({"query": "", "sort": "title", "limit": 5}),
    )
    .await;
    assert_eq!(err(&denied)["code"], "unauthenticated");
    client.cancel().await.unwrap();
}
