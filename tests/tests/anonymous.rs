//! `AuthLayer::allow_anonymous` and the loopback `Host` check, over real HTTP: the conformance
//! server (public tools, no tokens) and a small server mixing a public and a scoped tool.

mod common;

use common::{err, rpc};
use mcp_secure::{
    auth::{ApiKeys, Principal},
    http::Endpoint,
    prelude::*,
};
use rmcp::{
    ServiceExt,
    model::CallToolRequestParams,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::json;

mcp_secure::scopes! {
    /// Read things.
    "things:read",
}

#[derive(Clone)]
struct Mixed {
    tools: Tools<Self>,
}

#[mcp_tools(default_rate = "100/s")]
impl Mixed {
    /// Anyone.
    #[mcp_tool(public)]
    async fn hello(&self) -> String {
        "hello".into()
    }

    /// Only with `things:read`.
    #[mcp_tool(scope = "things:read")]
    async fn things(&self, caller: Principal) -> String {
        format!("things of {}", caller.subject())
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for Mixed {}

async fn listen() -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

async fn serve_mixed() -> String {
    let (listener, addr) = listen().await;
    let url = format!("http://{addr}/mcp");
    let server = Mixed {
        tools: Mixed::tools(),
    };
    let endpoint = Endpoint::new(
        url.as_str(),
        server.clone(),
        &server.tools,
        Security::default(),
    )
    .verifier(ApiKeys::new().with_key(
        "reader-key-0123456789",
        Principal::new("rita", ["things:read"]),
    ))
    .auth(|auth| auth.allow_anonymous(true));
    tokio::spawn(endpoint.serve(listener, std::future::pending()));
    url
}

/// The conformance server on `listener`.
fn serve_conformance(listener: tokio::net::TcpListener, addr: std::net::SocketAddr) {
    let endpoint = mcp_secure_examples::conformance::endpoint(addr, Security::default());
    tokio::spawn(endpoint.serve(listener, std::future::pending()));
}

fn call_body(tool: &str) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": tool, "arguments": {}}})
}

#[tokio::test]
async fn anonymous_callers_reach_public_tools_only() {
    let url = serve_mixed().await;
    // No token: rmcp's client connects and calls the public tool.
    let client = ().serve(StreamableHttpClientTransport::from_uri(url.as_str())).await.unwrap();
    let hello = client
        .call_tool(CallToolRequestParams::new("hello"))
        .await
        .unwrap();
    assert_eq!(hello.is_error, Some(false));
    // The scoped tool: the HTTP layer answers 401 with the challenge, before rmcp.
    let http = reqwest::Client::new();
    let refused = rpc(&http, &url, None)
        .json(&call_body("things"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(
        refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("resource_metadata=")
    );
    assert!(
        client
            .call_tool(CallToolRequestParams::new("things"))
            .await
            .is_err(),
        "the anonymous client's call is refused"
    );
    client.cancel().await.unwrap();
    // A token that is presented must be valid, anonymous access or not.
    let bad = rpc(&http, &url, Some("Bearer not-a-key-0123456789"))
        .json(&call_body("hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    // With the reader's key the scoped tool answers.
    let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
        .auth_header("reader-key-0123456789");
    let reader = ().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap();
    let things = reader
        .call_tool(CallToolRequestParams::new("things"))
        .await
        .unwrap();
    assert_eq!(things.is_error, Some(false), "{things:?}");
    reader.cancel().await.unwrap();
}

#[tokio::test]
async fn loopback_servers_refuse_foreign_hosts() {
    let (listener, addr) = listen().await;
    serve_conformance(listener, addr);
    let url = format!("http://{addr}/mcp");
    let http = reqwest::Client::new();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    for host in [
        "evil.example.com",
        &format!("evil.example.com:{}", addr.port()),
        "127.0.0.1.nip.io",
        "localhost.evil.example",
        "[::2]",
    ] {
        let refused = rpc(&http, &url, None)
            .header("Host", host)
            .json(&init)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "Host: {host}");
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["data"]["error"], "forbidden", "{body}");
    }
    for host in [
        format!("localhost:{}", addr.port()),
        format!("127.0.0.1:{}", addr.port()),
        "LOCALHOST".to_owned(),
    ] {
        let ok = rpc(&http, &url, None)
            .header("Host", host.as_str())
            .json(&init)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200, "Host: {host}");
    }
    // A foreign Origin with a loopback Host (a browser on another site) is refused too.
    let origin = rpc(&http, &url, None)
        .header("Origin", "http://evil.example.com")
        .json(&init)
        .send()
        .await
        .unwrap();
    assert_eq!(origin.status(), 403);
}

#[tokio::test]
async fn conformance_server_tools_are_guarded() {
    let (listener, addr) = listen().await;
    serve_conformance(listener, addr);
    let client = ()
        .serve(StreamableHttpClientTransport::from_uri(format!(
            "http://{addr}/mcp"
        )))
        .await
        .unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 27);
    let schema = &tools
        .iter()
        .find(|t| t.name == "json_schema_2020_12_tool")
        .unwrap()
        .input_schema;
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(schema["$defs"]["address"].is_object(), "{schema:?}");
    assert_eq!(schema["additionalProperties"], false);
    let text = client
        .call_tool(CallToolRequestParams::new("test_simple_text"))
        .await
        .unwrap();
    assert_eq!(text.is_error, Some(false));
    // Validated like any mcp-secure tool: unknown fields and oversized strings are refused.
    let extra = client
        .call_tool(
            CallToolRequestParams::new("json_schema_2020_12_tool").with_arguments(
                json!({"name": "x", "role": "admin"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(err(&extra)["code"], "invalid_input");
    let long = client
        .call_tool(
            CallToolRequestParams::new("json_schema_2020_12_tool").with_arguments(
                json!({"address": {"city": "x".repeat(101)}})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap();
    let error = err(&long);
    assert_eq!(error["violations"][0]["field"], "address.city");
    client.cancel().await.unwrap();
}
