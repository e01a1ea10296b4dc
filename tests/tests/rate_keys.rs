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

    /// Each client address gets two calls a minute, shared by whoever calls from it.
    #[mcp_tool(public, rate = "2/min", rate_key = "ip")]
    async fn per_address(&self) -> String {
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

/// `rate_key = "ip"`: the test plays a trusted proxy (loopback), forwarding callers from two
/// addresses; callers at one address share its limit, whoever they are.
#[tokio::test]
async fn an_address_keyed_limit_is_shared_by_the_callers_at_that_address() {
    use std::collections::HashMap;

    use rmcp::{
        ServiceExt as _,
        transport::{
            StreamableHttpClientTransport,
            streamable_http_client::StreamableHttpClientTransportConfig,
        },
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let server = Keyed {
        tools: Keyed::tools(),
    };
    let keys = ApiKeys::new()
        .with_key("alice-key-0123456789", Principal::new("alice", ["x:y"]))
        .with_key("bob-key-000123456789", Principal::new("bob", ["x:y"]));
    let endpoint = mcp_secure::http::Endpoint::new(
        url.as_str(),
        server.clone(),
        &server.tools,
        mcp_secure::Security::default(),
    )
    .verifier(keys)
    .trusted_proxy("127.0.0.1");
    tokio::spawn(endpoint.serve(listener, std::future::pending()));
    let from = |key: &'static str, address: &'static str| {
        let url = url.clone();
        async move {
            let headers =
                HashMap::from([("x-forwarded-for".parse().unwrap(), address.parse().unwrap())]);
            let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                .auth_header(key)
                .custom_headers(headers);
            let client =
                ().serve(StreamableHttpClientTransport::from_config(config))
                    .await
                    .unwrap();
            let result = client
                .call_tool(CallToolRequestParams::new("per_address"))
                .await
                .unwrap();
            client.cancel().await.unwrap();
            match (result.is_error, common::error_code(&result).as_deref()) {
                (Some(true), Some("rate_limited")) => "rate_limited",
                (Some(true), other) => panic!("unexpected refusal {other:?}"),
                _ => "ok",
            }
        }
    };
    let (alice, bob) = ("alice-key-0123456789", "bob-key-000123456789");
    assert_eq!(from(alice, "198.51.100.7").await, "ok");
    assert_eq!(from(bob, "198.51.100.7").await, "ok");
    assert_eq!(
        from(alice, "198.51.100.7").await,
        "rate_limited",
        "the address's third call, whoever makes it"
    );
    assert_eq!(from(bob, "203.0.113.5").await, "ok", "another address");
}
