//! `rate_key` over real HTTP: an in-process server with the API-key layer, and rmcp clients
//! holding keys of different subjects and OAuth clients.

mod common;

use common::{connect, serve_in_process};
use mcp_secure::{
    auth::{ApiKeys, Principal},
    prelude::*,
};
use rmcp::model::CallToolRequestParams;

#[derive(Clone)]
struct Keyed {
    tools: Tools<Self>,
}

#[mcp_tools]
impl Keyed {
    /// Everyone shares two calls a minute.
    #[mcp_tool(public, rate = "2/min", rate_key = "global")]
    async fn shared(&self) -> String {
        "ok".into()
    }

    /// Each OAuth client gets two calls a minute, shared by its users.
    #[mcp_tool(public, rate = "2/min", rate_key = "client")]
    async fn per_client(&self) -> String {
        "ok".into()
    }

    /// Each caller gets one call a minute.
    #[mcp_tool(public, rate = "1/min")]
    async fn per_caller(&self) -> String {
        "ok".into()
    }

    /// No limit at all.
    #[mcp_tool(public, rate = "unlimited")]
    async fn free(&self) -> String {
        "ok".into()
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for Keyed {}

async fn serve() -> String {
    let keys = ApiKeys::new()
        .with_key(
            "alice-key-0123456789",
            Principal::new("alice", ["x:y"]).with_client_id("app-1"),
        )
        .with_key(
            "bob-key-000123456789",
            Principal::new("bob", ["x:y"]).with_client_id("app-1"),
        )
        .with_key("carol-key-0123456789", Principal::new("carol", ["x:y"]));
    let server = Keyed {
        tools: Keyed::tools(),
    };
    let security = mcp_secure::Security::builder().build().unwrap();
    serve_in_process(server.clone(), &server.tools, security, keys).await
}

async fn outcome(url: &str, key: &str, tool: &str) -> &'static str {
    let client = connect(url, key).await;
    let result = client
        .call_tool(CallToolRequestParams::new(tool.to_owned()))
        .await
        .unwrap();
    client.cancel().await.unwrap();
    if result.is_error != Some(true) {
        return "ok";
    }
    match common::error_code(&result).as_deref() {
        Some("rate_limited") => "rate_limited",
        other => panic!("unexpected refusal {other:?}"),
    }
}

#[tokio::test]
async fn rate_keys_choose_whose_calls_share_a_limit() {
    let url = serve().await;
    let (alice, bob, carol) = (
        "alice-key-0123456789",
        "bob-key-000123456789",
        "carol-key-0123456789",
    );

    assert_eq!(outcome(&url, alice, "shared").await, "ok");
    assert_eq!(outcome(&url, bob, "shared").await, "ok");
    assert_eq!(
        outcome(&url, carol, "shared").await,
        "rate_limited",
        "global: everyone's third call"
    );

    assert_eq!(outcome(&url, alice, "per_client").await, "ok");
    assert_eq!(outcome(&url, alice, "per_client").await, "ok");
    assert_eq!(
        outcome(&url, bob, "per_client").await,
        "rate_limited",
        "client: bob shares app-1's limit"
    );
    assert_eq!(
        outcome(&url, carol, "per_client").await,
        "ok",
        "no client id: keyed by subject"
    );

    assert_eq!(outcome(&url, alice, "per_caller").await, "ok");
    assert_eq!(outcome(&url, alice, "per_caller").await, "rate_limited");
    assert_eq!(
        outcome(&url, bob, "per_caller").await,
        "ok",
        "caller: each subject has its own"
    );

    for _ in 0..20 {
        assert_eq!(outcome(&url, carol, "free").await, "ok");
    }
}
