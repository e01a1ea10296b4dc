//! A `Principal` is the caller (what `sql!` binds to an owned table's owner or tenant column)
//! only during its own call. A tool that keeps the principal it was handed (a "last callers"
//! cache, a job queue, a bug) keeps an identity, not the right to act as it: once that call's
//! response is sent, the kept copy is no longer the caller, in any later call of anyone's, over
//! HTTP or over a pipe as over stdio, for a `#[mcp_tool]` and a plain rmcp `#[tool]` alike.

mod common;

use std::sync::{Arc, Mutex};

use common::{connect, serve_in_process};
use mcp_secure::{
    auth::{ApiKeys, Principal},
    prelude::*,
    serve::Secured,
};
use rmcp::{
    RoleClient, ServiceExt, handler::server::router::tool::ToolRouter,
    model::CallToolRequestParams, service::RunningService, tool, tool_router,
};
use serde_json::{Value, json};

mcp_secure::scopes! {
    /// Read notes.
    "notes:read",
}

type Kept = Arc<Mutex<Vec<Principal>>>;

/// `[is the principal handed to this call the caller, is each kept one]`.
fn report(caller: &Principal, kept: &Kept) -> String {
    let kept: Vec<Value> = kept
        .lock()
        .unwrap()
        .iter()
        .map(|p| json!([p.id(), p.is_the_caller()]))
        .collect();
    json!({ "caller": [caller.id(), caller.is_the_caller()], "kept": kept }).to_string()
}

#[derive(Clone)]
struct Keeper {
    tools: Tools<Self>,
    kept: Kept,
}

#[mcp_tools]
impl Keeper {
    /// Keeps its caller, then reports.
    #[mcp_tool(scope = "notes:read", rate = "unlimited")]
    async fn keep(&self, caller: Principal) -> String {
        self.kept.lock().unwrap().push(caller.clone());
        report(&caller, &self.kept)
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for Keeper {}

/// The same, as a plain rmcp tool taking `Principal` through its extractor.
#[derive(Clone)]
struct PlainKeeper {
    tool_router: ToolRouter<Self>,
    kept: Kept,
}

#[tool_router]
impl PlainKeeper {
    /// Keeps its caller, then reports.
    #[tool]
    async fn keep(&self, caller: Principal) -> String {
        self.kept.lock().unwrap().push(caller.clone());
        report(&caller, &self.kept)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for PlainKeeper {}

async fn over_pipe<S: rmcp::Service<rmcp::RoleServer>>(
    server: S,
) -> RunningService<RoleClient, ()> {
    let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_end).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_end).await.unwrap()
}

async fn keep(client: &RunningService<RoleClient, ()>) -> Value {
    let result = client
        .call_tool(CallToolRequestParams::new("keep"))
        .await
        .unwrap();
    assert_ne!(result.is_error, Some(true), "{result:?}");
    serde_json::from_str(&result.content[0].as_text().unwrap().text).unwrap()
}

fn local(who: &str) -> Security {
    Security::builder()
        .local_principal(Principal::new(who, ["notes:read"]))
        .build()
        .unwrap()
}

/// Alice's call keeps her; Bob's later call finds her kept, and not the caller; so does her own
/// next call (a kept copy is never the caller again, not even for its own identity).
fn assert_kept_copies_are_not_callers(first: &Value, second: &Value, third: &Value) {
    assert_eq!(first["caller"], json!(["local#alice", true]), "{first}");
    assert_eq!(first["kept"], json!([["local#alice", true]]), "{first}");
    assert_eq!(second["caller"], json!(["local#bob", true]), "{second}");
    assert_eq!(
        second["kept"],
        json!([["local#alice", false], ["local#bob", true]]),
        "{second}"
    );
    assert_eq!(third["caller"], json!(["local#alice", true]), "{third}");
    assert_eq!(
        third["kept"],
        json!([
            ["local#alice", false],
            ["local#bob", false],
            ["local#alice", true]
        ]),
        "{third}"
    );
}

#[tokio::test]
async fn a_caller_kept_past_its_call_over_a_pipe_is_not_the_caller() {
    let server = Keeper {
        tools: Keeper::tools(),
        kept: Kept::default(),
    };
    let alice = over_pipe(Secured::new(server.clone(), local("alice"))).await;
    let bob = over_pipe(Secured::new(server.clone(), local("bob"))).await;
    let first = keep(&alice).await;
    let second = keep(&bob).await;
    let third = keep(&alice).await;
    assert_kept_copies_are_not_callers(&first, &second, &third);
}

#[tokio::test]
async fn a_caller_kept_past_its_call_over_http_is_not_the_caller() {
    let server = Keeper {
        tools: Keeper::tools(),
        kept: Kept::default(),
    };
    let keys = ApiKeys::new()
        .with_key(
            "alice-key-0123456789",
            Principal::new("alice", ["notes:read"]),
        )
        .with_key("bob-key-0123456789", Principal::new("bob", ["notes:read"]));
    let security = Security::builder().build().unwrap();
    let url = serve_in_process(server.clone(), &server.tools, security, keys).await;
    let alice = connect(&url, "alice-key-0123456789").await;
    let bob = connect(&url, "bob-key-0123456789").await;
    let [first, second, third] = [keep(&alice).await, keep(&bob).await, keep(&alice).await];
    let issuer = |v: &Value| v.to_string().replace("api-key#", "local#");
    let [first, second, third] =
        [&first, &second, &third].map(|v| serde_json::from_str::<Value>(&issuer(v)).unwrap());
    assert_kept_copies_are_not_callers(&first, &second, &third);
}

#[tokio::test]
async fn a_caller_a_plain_rmcp_tool_kept_is_not_the_caller() {
    let server = PlainKeeper {
        tool_router: PlainKeeper::tool_router(),
        kept: Kept::default(),
    };
    let alice = over_pipe(Secured::new(server.clone(), local("alice"))).await;
    let bob = over_pipe(Secured::new(server.clone(), local("bob"))).await;
    let first = keep(&alice).await;
    let second = keep(&bob).await;
    let third = keep(&alice).await;
    assert_kept_copies_are_not_callers(&first, &second, &third);
}
