//! A guarded tool call in process (rmcp client and server over a tokio duplex pipe) decided by
//! one Cedar policy on its arguments and the caller's attributes, against the same call with no
//! policy, in the same build (feature `policy`, which also turns on serde_json's
//! `preserve_order` for both sides).
//!
//! `cargo bench -p mcp-secure --features policy --bench policy`

mod common;
// The plain server and the API key are the other benches' baselines, not this one's.
#[allow(dead_code)]
mod servers;

use mcp_secure::{
    Security,
    auth::{Attribute, AttributeKind, Attributes, Principal},
    policy::Policies,
    serve::Secured,
};
use rmcp::{RoleClient, ServiceExt, service::RunningService};
use servers::{Guarded, call, guarded};
use tokio::runtime::Runtime;

mcp_secure::scopes! {
    /// Write notes.
    "notes:write",
}

/// One rule on an argument and an attribute, after the permit every policy file starts with.
const ONE_POLICY: &str = r#"
@id("all") permit (principal, action, resource);
@id("priority-within-limit")
forbid (principal, action == Action::"notes_create", resource)
unless { principal has max_priority && context.priority <= principal.max_priority };
"#;

type Client = RunningService<RoleClient, ()>;

fn server(policy: bool) -> Secured<Guarded> {
    let caller = Principal::new("bench", ["notes:write"])
        .with_attribute("max_priority", Attribute::Number(5))
        .unwrap();
    let mut security = Security::builder().local_principal(caller);
    if policy {
        let attributes = Attributes::new()
            .with("max_priority", AttributeKind::Number)
            .unwrap();
        let policies = Policies::builder(&Guarded::tools())
            .attributes(&attributes)
            .build(ONE_POLICY)
            .unwrap();
        security = security.policies(policies);
    }
    Secured::new(guarded(), security.build().unwrap())
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn in_process(rt: &Runtime, server: Secured<Guarded>) -> Client {
    rt.block_on(async {
        let (server_end, client_end) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            let running = server.serve(server_end).await.unwrap();
            let _ = running.waiting().await;
        });
        ().serve(client_end).await.unwrap()
    })
}

fn bench_calls(bencher: divan::Bencher, rt: &Runtime, client: &Client) {
    let ok = rt.block_on(client.call_tool(call())).unwrap();
    assert_eq!(ok.is_error, Some(false), "{ok:?}");
    bencher.bench_local(|| rt.block_on(client.call_tool(call())).unwrap());
}

fn main() {
    // `MCP_BENCH_RUN=<variant>:<calls>` for `benches/instructions.sh`, as in `tool_call`.
    if let Ok(run) = std::env::var("MCP_BENCH_RUN") {
        let (variant, calls) = run.split_once(':').expect("variant:calls");
        let calls: usize = calls.parse().unwrap();
        let rt = runtime();
        let client = match variant {
            "one_policy" => in_process(&rt, server(true)),
            "no_policy" => in_process(&rt, server(false)),
            other => panic!("unknown variant {other}"),
        };
        // Admitted (the policy permits priority 3 of 5), and outside the count.
        let first = rt.block_on(client.call_tool(call())).unwrap();
        assert_eq!(first.is_error, Some(false), "{first:?}");
        common::counted(calls, || {
            rt.block_on(client.call_tool(call())).unwrap();
        });
        return;
    }
    divan::main();
}

#[divan::bench]
fn one_policy(bencher: divan::Bencher) {
    let rt = runtime();
    let client = in_process(&rt, server(true));
    bench_calls(bencher, &rt, &client);
}

#[divan::bench]
fn no_policy(bencher: divan::Bencher) {
    let rt = runtime();
    let client = in_process(&rt, server(false));
    bench_calls(bencher, &rt, &client);
}
