//! Two servers in one process, each with its own `Security`: limits, audit sinks and path roots
//! never cross from one to the other, whether a server is served over HTTP or over a pipe as
//! over stdio. And a server served by rmcp directly, without its configuration, refuses its
//! guarded tools instead of running them unchecked.

mod common;

use std::{
    io::Read,
    sync::{Arc, Mutex},
};

use common::{connect, err, over_pipe, serve_in_process};
use mcp_secure::{
    audit::SecurityEvent,
    auth::{ApiKeys, Principal},
    prelude::*,
    serve::Secured,
};
use rmcp::{
    RoleClient,
    model::{CallToolRequestParams, CallToolResult},
    service::RunningService,
};
use serde_json::{Value, json};

mcp_secure::scopes! {
    /// Read files.
    "files:read",
}

#[derive(Clone)]
struct Files {
    tools: Tools<Self>,
}

#[mcp_tools]
impl Files {
    /// One call a minute per caller; the same name on both servers.
    #[mcp_tool(scope = "files:read", rate = "1/min")]
    async fn count(&self) -> String {
        "counted".into()
    }

    /// A file of the server's `files` root.
    #[mcp_tool(scope = "files:read", rate = "unlimited")]
    async fn read(
        &self,
        #[mcp(path(within = "files"))] path: SafePath,
    ) -> Result<String, ToolError> {
        let mut text = String::new();
        path.open()?
            .read_to_string(&mut text)
            .map_err(ToolError::internal)?;
        Ok(text)
    }

    /// Always fails, with a cause only the server's records may hold.
    #[mcp_tool(scope = "files:read", rate = "unlimited")]
    async fn fail(&self) -> Result<String, ToolError> {
        Err(ToolError::internal("the disk under /srv/data is full"))
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for Files {}

type Events = Arc<Mutex<Vec<Value>>>;

/// Each event's name and tool.
fn names(events: &Events) -> Vec<String> {
    events
        .lock()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["event"].as_str().unwrap_or_default(),
                e["tool"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// A server's configuration: a root holding `file` and a sink recording every event.
fn configured(file: &str) -> (Security, tempfile::TempDir, Events) {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join(file), format!("this is {file}")).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let security = Security::builder()
        .path_root("files", root.path())
        .local_principal(Principal::new("alice", ["files:read"]))
        .audit_sink(move |event: &SecurityEvent<'_>| sink.lock().unwrap().push(event.to_json()))
        .build()
        .unwrap();
    (security, root, events)
}

async fn call(client: &RunningService<RoleClient, ()>, tool: &str, args: Value) -> CallToolResult {
    let params = CallToolRequestParams::new(tool.to_owned())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    client.call_tool(params).await.unwrap()
}

fn code(result: &CallToolResult) -> &str {
    match result.is_error {
        Some(true) => err(result)["code"].as_str().unwrap(),
        _ => "ok",
    }
}

fn text(result: &CallToolResult) -> String {
    result.content[0].as_text().unwrap().text.clone()
}

#[tokio::test]
async fn two_servers_share_no_limiter_sink_or_root() {
    let (security_a, _root_a, events_a) = configured("a.txt");
    let (security_b, _root_b, events_b) = configured("b.txt");
    let server = Files {
        tools: Files::tools(),
    };
    // A over HTTP, alice by API key; B over a pipe, alice as its local principal. Both callers
    // are `api-key#alice` and `local#alice`: different ids, but the limiter of one server would
    // be shared by tool name alone if the servers shared one.
    let keys = ApiKeys::new().with_key(
        "alice-key-0123456789",
        Principal::new("alice", ["files:read"]),
    );
    let url = serve_in_process(server.clone(), &server.tools, security_a, keys).await;
    let a = connect(&url, "alice-key-0123456789").await;
    let b = over_pipe(Secured::new(server.clone(), security_b.clone())).await;

    assert_eq!(code(&call(&a, "count", json!({})).await), "ok");
    assert_eq!(code(&call(&b, "count", json!({})).await), "ok");
    assert_eq!(code(&call(&a, "count", json!({})).await), "rate_limited");
    assert_eq!(code(&call(&b, "count", json!({})).await), "rate_limited");
    // A second client of B, through the same configuration: the limit holds across sessions.
    let b2 = over_pipe(Secured::new(server.clone(), security_b)).await;
    assert_eq!(code(&call(&b2, "count", json!({})).await), "rate_limited");

    // Each server's root is its own.
    let read_a = call(&a, "read", json!({"path": "a.txt"})).await;
    assert_eq!(text(&read_a), "this is a.txt");
    let read_b = call(&b, "read", json!({"path": "b.txt"})).await;
    assert_eq!(text(&read_b), "this is b.txt");
    let cross = call(&a, "read", json!({"path": "b.txt"})).await;
    assert_eq!(code(&cross), "not_found", "{cross:?}");
    let cross = call(&b, "read", json!({"path": "a.txt"})).await;
    assert_eq!(code(&cross), "not_found", "{cross:?}");

    for client in [a, b, b2] {
        client.cancel().await.unwrap();
    }
    // Each sink saw its own server's decisions and nothing of the other's.
    let (a, b) = (names(&events_a), names(&events_b));
    let count = |events: &[String], e: &str| events.iter().filter(|x| *x == e).count();
    assert_eq!(count(&a, "tool_called count"), 1, "{a:?}");
    assert_eq!(count(&a, "rate_limited count"), 1, "{a:?}");
    assert_eq!(count(&a, "tool_called read"), 2, "{a:?}");
    assert_eq!(count(&b, "tool_called count"), 1, "{b:?}");
    assert_eq!(count(&b, "rate_limited count"), 2, "{b:?}");
    assert_eq!(count(&b, "tool_called read"), 2, "{b:?}");
    assert_eq!(a.len(), 4, "nothing else: {a:?}");
    assert_eq!(b.len(), 5, "nothing else: {b:?}");
}

#[tokio::test]
async fn a_server_served_without_its_configuration_refuses_guarded_calls() {
    let server = Files {
        tools: Files::tools(),
    };
    // rmcp's own `serve`, no `Secured`: the guard finds no limiter, sinks, roots or caller.
    let client = over_pipe(server).await;
    for (tool, args) in [("count", json!({})), ("read", json!({"path": "a.txt"}))] {
        let result = call(&client, tool, args).await;
        assert_eq!(code(&result), "unavailable", "{result:?}");
        assert!(
            !text(&result).contains("Security") && !text(&result).contains("mcp_secure"),
            "the client learns nothing of the server's wiring: {result:?}"
        );
    }
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn incidents_reach_the_sink_of_the_server_whose_tool_failed() {
    let (security, _root, events) = configured("a.txt");
    let (other, _other_root, other_events) = configured("a.txt");
    let server = Files {
        tools: Files::tools(),
    };
    let client = over_pipe(Secured::new(server.clone(), security)).await;
    let bystander = over_pipe(Secured::new(server, other)).await;
    let failed = call(&client, "fail", json!({})).await;
    assert_eq!(code(&failed), "internal");
    assert!(!text(&failed).contains("/srv"), "{failed:?}");
    let incident = err(&failed)["incident"].as_str().unwrap().to_owned();
    let seen = events.lock().unwrap().clone();
    let recorded = seen
        .iter()
        .find(|e| e["event"] == "incident")
        .unwrap_or_else(|| panic!("no incident in {seen:?}"));
    assert_eq!(recorded["incident"], incident.as_str());
    assert_eq!(recorded["cause"], "the disk under /srv/data is full");
    let called = seen.iter().find(|e| e["event"] == "tool_called").unwrap();
    assert_eq!(
        called["outcome"], "internal",
        "the code, carried as a value"
    );
    assert!(
        other_events.lock().unwrap().is_empty(),
        "the other server saw nothing"
    );
    client.cancel().await.unwrap();
    bystander.cancel().await.unwrap();
}
