//! A `Principal` is the caller (what `sql!` binds to an owned table's owner or tenant column)
//! only during its own call. A tool that keeps the principal it was handed (a "last callers"
//! cache, a job queue, a bug) keeps an identity, not the right to act as it: once that call's
//! call returns, the kept copy is no longer the caller, in any later call of anyone's, over
//! HTTP or over a pipe as over stdio, even when the client reuses an in-flight request id. A
//! plain rmcp `#[tool]`'s `Principal` is never the caller (nothing ends its mark).

mod common;

use std::sync::{Arc, Mutex};

use common::{connect, over_pipe, serve_in_process};
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
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf};

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

    /// Keeps its caller, then reports a while later (long enough for a second request with
    /// the same id to arrive while it runs).
    #[mcp_tool(scope = "notes:read", rate = "unlimited")]
    async fn keep_slowly(&self, caller: Principal) -> String {
        self.kept.lock().unwrap().push(caller.clone());
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
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
async fn a_plain_rmcp_tools_principal_is_never_the_caller() {
    let server = PlainKeeper {
        tool_router: PlainKeeper::tool_router(),
        kept: Kept::default(),
    };
    let alice = over_pipe(Secured::new(server.clone(), local("alice"))).await;
    let first = keep(&alice).await;
    assert_eq!(first["caller"], json!(["local#alice", false]), "{first}");
}

async fn line(reader: &mut BufReader<ReadHalf<DuplexStream>>) -> Value {
    let mut s = String::new();
    reader.read_line(&mut s).await.unwrap();
    serde_json::from_str(&s).unwrap()
}

/// rmcp keeps one token per request id: a second request with the id of one in flight replaces
/// the first's token, which is then never cancelled. The guard's own mark ends with the call.
/// (Found by an outside attacker; its probe, kept.)
#[tokio::test]
async fn a_reused_request_id_does_not_keep_a_caller_alive() {
    let server = Keeper {
        tools: Keeper::tools(),
        kept: Kept::default(),
    };
    let mut sessions = Vec::new();
    for who in ["mallory", "bob"] {
        let (server_end, client_end) = tokio::io::duplex(64 * 1024);
        let secured = Secured::new(server.clone(), local(who));
        tokio::spawn(async move {
            if let Ok(running) = secured.serve(server_end).await {
                let _ = running.waiting().await;
            }
        });
        let (r, mut w) = tokio::io::split(client_end);
        let mut r = BufReader::new(r);
        w.write_all(
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"0"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
"#,
        )
        .await
        .unwrap();
        line(&mut r).await;
        sessions.push((r, w));
    }
    let call = |id: u32| {
        format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"keep_slowly","arguments":{{}}}}}}"#
        ) + "\n"
    };
    // Mallory: two calls with the same id, the second while the first runs.
    let (mr, mw) = &mut sessions[0];
    mw.write_all(call(7).as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    mw.write_all(call(7).as_bytes()).await.unwrap();
    line(mr).await;
    // Both of her calls have returned (the second's answer rmcp drops).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (br, bw) = &mut sessions[1];
    bw.write_all(call(2).as_bytes()).await.unwrap();
    let answer = line(br).await;
    let report: Value =
        serde_json::from_str(answer["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    let kept = report["kept"].as_array().unwrap();
    assert_eq!(
        kept.iter().filter(|k| k[0] == "local#mallory").count(),
        2,
        "{report}"
    );
    for k in kept.iter().filter(|k| k[0] == "local#mallory") {
        assert_eq!(
            k[1], false,
            "mallory's principal, kept past her calls: {report}"
        );
    }
    assert_eq!(report["caller"], json!(["local#bob", true]), "{report}");
}
