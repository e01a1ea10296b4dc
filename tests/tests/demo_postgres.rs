//! The demo with its notes in PostgreSQL (`--db postgres://…`), over real HTTP with rmcp's
//! client: the same tools, ownership and literal search as on SQLite. Needs `MCP_SECURE_PG_URL`
//! (see `sql_databases.rs`); SKIPPED without it outside CI.

mod common;

use common::{HttpServer, KEYS, err, files_dir};
use mcp_secure::sql::{sql, sqlx};
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};

async fn call(client: &common::Client, tool: &str, args: Value) -> rmcp::model::CallToolResult {
    client
        .call_tool(
            CallToolRequestParams::new(tool.to_owned())
                .with_arguments(args.as_object().unwrap().clone()),
        )
        .await
        .unwrap()
}

#[tokio::test]
#[cfg_attr(
    skip_postgres,
    ignore = "MCP_SECURE_PG_URL is not set: `export MCP_SECURE_PG_URL=$(.ci/postgres.sh)` runs it"
)]
async fn notes_in_postgres() {
    let Some(url) = std::env::var_os("MCP_SECURE_PG_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "MCP_SECURE_PG_URL is not set; .ci/run sets it from .ci/postgres.sh"
        );
        eprintln!("SKIPPED: set MCP_SECURE_PG_URL to run the demo on PostgreSQL");
        return;
    };
    let url = url.into_string().unwrap();
    // A clean start: the demo creates its tables.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    for drop in [
        sql!("DROP TABLE IF EXISTS notes"),
        sql!("DROP TABLE IF EXISTS webhooks"),
    ] {
        drop.execute(&pool).await.unwrap();
    }
    let (files, _outside) = files_dir();
    let server = HttpServer::start_with(Some(KEYS), files.path(), &["--db", &url]);
    let alice = server.client("alice-writer-key-000").await;
    let created = call(
        &alice,
        "notes_create",
        json!({"title": "Shopping 100%", "body": "Milk_and eggs", "tags": ["home", "food"]}),
    )
    .await;
    assert_eq!(created.is_error, Some(false), "{created:?}");
    let note = created.structured_content.unwrap();
    assert_eq!(note["tags"], json!(["home", "food"]));
    let id = note["id"].as_i64().unwrap();
    for (query, hits) in [
        ("shopping", 1),
        ("100%", 1),
        ("%", 1),
        ("milk_", 1),
        ("x%y", 0),
        ("_", 1),
    ] {
        let found = call(
            &alice,
            "notes_search",
            json!({"query": query, "sort": "created", "limit": 10}),
        )
        .await;
        let notes = &found.structured_content.unwrap()["notes"];
        assert_eq!(notes.as_array().unwrap().len(), hits, "{query:?}");
    }
    let bob = server.client("bob-all-key-00000000").await;
    let theirs = call(&bob, "notes_get", json!({"id": id})).await;
    assert_eq!(err(&theirs)["code"], "not_found");
    let changed = json!({"id": id, "title": "renamed", "body": "b"});
    let theirs = call(&bob, "notes_update", changed.clone()).await;
    assert_eq!(err(&theirs)["code"], "not_found");
    let updated = call(&alice, "notes_update", changed).await;
    assert_eq!(updated.structured_content.unwrap()["title"], "renamed");
    let hook = call(
        &bob,
        "webhook_register",
        json!({"url": "https://hooks.example.com/n", "secret": "0123456789abcdef-secret"}),
    )
    .await;
    assert_eq!(hook.is_error, Some(false), "{hook:?}");
    let deleted = call(&alice, "notes_delete", json!({"id": id})).await;
    assert_eq!(deleted.is_error, Some(false));
    let (left,): (i64,) = sql!("SELECT count(*) FROM notes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    alice.cancel().await.unwrap();
    bob.cancel().await.unwrap();
}
