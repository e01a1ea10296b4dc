//! `tools/list` by authorization (`--list-by-authorization`, `Tools::listed_by_authorization`):
//! each caller sees the tools its scopes allow, implication included, in one order, over HTTP
//! and stdio; a hidden tool is still refused with the step-up challenge; and a listing that
//! cannot see the request shows nothing rather than everything.

mod common;

use common::{
    HttpServer, KEYS, challenge_scope, connect, connect_2026, files_dir, serve_in_process,
    stdio_client_args, try_call,
};
use mcp_secure::{
    Security,
    auth::{ApiKeys, Principal},
    prelude::*,
};
use rmcp::model::CacheScope;
use serde_json::json;

async fn names(client: &common::Client) -> Vec<String> {
    let listed = client.list_tools(None).await.unwrap();
    listed
        .tools
        .into_iter()
        .map(|t| t.name.to_string())
        .collect()
}

const PUBLIC_AND_READ: [&str; 3] = ["notes_get", "notes_search", "whoami"];

#[tokio::test]
async fn each_caller_lists_the_tools_its_scopes_allow_over_http() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start_with(Some(KEYS), files.path(), &["--list-by-authorization"]);
    let reader = server.client("alice-reader-key-000").await;
    assert_eq!(names(&reader).await, PUBLIC_AND_READ);
    // The same authorization, another session: the same listing, in the same order.
    let again = server.client("alice-reader-key-000").await;
    assert_eq!(names(&again).await, PUBLIC_AND_READ);
    // notes:write implies notes:read.
    let writer = server.client("alice-writer-key-000").await;
    assert_eq!(
        names(&writer).await,
        [
            "files_read",
            "notes_create",
            "notes_delete",
            "notes_get",
            "notes_search",
            "notes_update",
            "whoami"
        ]
    );
    let bob = server.client("bob-all-key-00000000").await;
    assert_eq!(names(&bob).await.len(), 8);
    // Hidden is not forbidden-to-ask: the call gets the step-up challenge.
    let refused = try_call(&reader, "notes_create", json!({"title": "t", "body": "b"}))
        .await
        .unwrap_err();
    assert_eq!(
        challenge_scope(&refused).as_deref(),
        Some("notes:read notes:write")
    );
    for client in [reader, again, writer, bob] {
        client.cancel().await.unwrap();
    }
    // Spec 2026-07-28's cache hint, which only a client of that revision gets: a listing that
    // varies with the caller is private.
    let current = connect_2026(&server.url, "alice-reader-key-000").await;
    let listed = current.list_tools(None).await.unwrap();
    assert_eq!(listed.cache_scope, Some(CacheScope::Private));
    assert_eq!(listed.tools.len(), PUBLIC_AND_READ.len());
    current.cancel().await.unwrap();

    // Off by default: everyone lists every tool, a listing any cache may share.
    let plain = HttpServer::start(Some(KEYS), files.path());
    let reader = connect_2026(&plain.url, "alice-reader-key-000").await;
    let listed = reader.list_tools(None).await.unwrap();
    assert_eq!(listed.tools.len(), 8);
    assert_eq!(listed.cache_scope, Some(CacheScope::Public));
    reader.cancel().await.unwrap();
    // An older client gets no hint at all.
    let older = plain.client("alice-reader-key-000").await;
    assert_eq!(older.list_tools(None).await.unwrap().cache_scope, None);
    older.cancel().await.unwrap();
}

#[tokio::test]
async fn over_stdio_the_start_up_caller_lists_its_own_tools() {
    let (files, _outside) = files_dir();
    let args = ["--list-by-authorization"];
    let reader = stdio_client_args(
        &[("NOTES_API_KEY", "alice-reader-key-000")],
        files.path(),
        &args,
    )
    .await;
    assert_eq!(names(&reader).await, PUBLIC_AND_READ);
    let refused = common::call(&reader, "notes_create", json!({"title": "t", "body": "b"})).await;
    assert_eq!(
        common::error_code(&refused).as_deref(),
        Some("insufficient_scope")
    );
    reader.cancel().await.unwrap();
    // No credentials: the public tools only.
    let nobody = stdio_client_args(&[], files.path(), &args).await;
    assert_eq!(names(&nobody).await, ["whoami"]);
    nobody.cancel().await.unwrap();
}

mcp_secure::scopes! {
    /// Read.
    "t:read",
}

/// A server served by rmcp's own `#[tool_handler]`, whose listing never sees the request.
#[derive(Clone)]
struct Unaware {
    tools: Tools<Self>,
}

#[mcp_tools(default_rate = "unlimited")]
impl Unaware {
    /// Read.
    #[mcp_tool(scope = "t:read")]
    async fn read(&self) -> String {
        "read".into()
    }
}

#[rmcp::tool_handler(router = self.tools)]
impl ServerHandler for Unaware {}

#[tokio::test]
async fn a_listing_that_cannot_see_the_caller_shows_nothing() {
    let server = Unaware {
        tools: Unaware::tools().listed_by_authorization(),
    };
    let keys = ApiKeys::new().with_key("reader-key-0000000000", Principal::new("r", ["t:read"]));
    let url = serve_in_process(server.clone(), &server.tools, Security::default(), keys).await;
    let client = connect(&url, "reader-key-0000000000").await;
    let listed = client.list_tools(None).await.unwrap();
    assert!(listed.tools.is_empty(), "fails closed: {listed:?}");
    // The tool itself is still there for a caller who knows it.
    let called = common::call(&client, "read", json!({})).await;
    assert_eq!(called.is_error, Some(false));
    client.cancel().await.unwrap();
}
