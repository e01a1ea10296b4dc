//! Throughput over loopback HTTP with 50 concurrent clients: the guarded tool behind
//! `http::Endpoint` (API-key authentication, the `AuthLayer`, the guard) against the same tool
//! written with plain rmcp behind rmcp's `StreamableHttpService` alone, in the same run.
//!
//! `cargo bench -p mcp-secure --bench throughput` prints calls per second for each, in
//! alternating rounds, and the ratio of the medians (guarded / plain; the goal is at least
//! 0.97). `MCP_BENCH_SECONDS` sets a round's length (default 3), `MCP_BENCH_ROUNDS` the rounds
//! per variant (default 5), `MCP_BENCH_CLIENTS` the clients (default 50).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use mcp_secure::{
    Security,
    auth::{ApiKeys, Principal},
    http::Endpoint,
    prelude::*,
};
use rmcp::{
    RoleClient, ServiceExt,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::CallToolRequestParams,
    service::RunningService,
    tool, tool_router,
    transport::{
        StreamableHttpClientTransport,
        streamable_http_client::StreamableHttpClientTransportConfig,
        streamable_http_server::{
            StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
        },
    },
};
use serde::Deserialize;
use serde_json::json;

mcp_secure::scopes! {
    /// Write notes.
    "notes:write",
}

const KEY: &str = "bench-key-0123456789abcdef";

/// The guarded tool's input.
#[derive(SecureInput)]
pub struct NewNote {
    /// 1 to 200 characters.
    #[mcp(length(min = 1, max = 200))]
    pub title: String,
    /// An email address.
    #[mcp(email)]
    pub owner: String,
    /// 1 to 5.
    #[mcp(range(min = 1, max = 5))]
    pub priority: u8,
}

/// The plain tool's input: the same fields, no rules.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct PlainNote {
    /// The title.
    pub title: String,
    /// The owner.
    pub owner: String,
    /// The priority.
    pub priority: u8,
}

#[derive(Clone)]
struct Guarded {
    tools: Tools<Self>,
}

#[mcp_tools]
impl Guarded {
    /// Create a note.
    #[mcp_tool(scope = "notes:write", rate = "4000000000/s")]
    async fn notes_create(&self, input: NewNote) -> String {
        format!("{} ({}, {})", input.title, input.owner, input.priority)
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for Guarded {}

#[derive(Clone)]
struct Plain {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Plain {
    /// Create a note.
    #[tool(description = "Create a note.")]
    async fn notes_create(&self, Parameters(input): Parameters<PlainNote>) -> String {
        format!("{} ({}, {})", input.title, input.owner, input.priority)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Plain {}

#[derive(Clone, Copy, Debug)]
enum Variant {
    Plain,
    Guarded,
}

/// Serves `variant` on a free loopback port; returns its URL.
async fn serve(variant: Variant) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    match variant {
        Variant::Plain => {
            let server = Plain {
                tool_router: Plain::tool_router(),
            };
            let service = StreamableHttpService::new(
                move || Ok(server.clone()),
                Arc::new(LocalSessionManager::default()),
                StreamableHttpServerConfig::default(),
            );
            let app = axum::Router::new().nest_service("/mcp", service);
            tokio::spawn(async move { axum::serve(listener, app).await });
        }
        Variant::Guarded => {
            let server = Guarded {
                tools: Guarded::tools(),
            };
            let keys = ApiKeys::new().with_key(KEY, Principal::new("bench", ["notes:write"]));
            let endpoint = Endpoint::new(
                url.as_str(),
                server.clone(),
                &server.tools,
                Security::default(),
            )
            .verifier(keys);
            tokio::spawn(endpoint.serve(listener, std::future::pending()));
        }
    }
    url
}

async fn client(url: &str) -> RunningService<RoleClient, ()> {
    let config = StreamableHttpClientTransportConfig::with_uri(url).auth_header(KEY);
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .unwrap()
}

fn call() -> CallToolRequestParams {
    CallToolRequestParams::new("notes_create").with_arguments(
        json!({"title": "Groceries for the week", "owner": "alice@example.com", "priority": 3})
            .as_object()
            .unwrap()
            .clone(),
    )
}

/// Calls per second of `clients` clients calling as fast as they are answered for `length`.
async fn round(url: &str, clients: usize, length: Duration) -> f64 {
    let mut connected = Vec::with_capacity(clients);
    for _ in 0..clients {
        connected.push(client(url).await);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in connected {
        let (stop, done) = (stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let result = c.call_tool(call()).await.unwrap();
                assert_eq!(result.is_error, Some(false), "{result:?}");
                done.fetch_add(1, Ordering::Relaxed);
            }
            c.cancel().await.unwrap();
        }));
    }
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    let calls = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    for task in tasks {
        task.await.unwrap();
    }
    calls as f64 / elapsed.as_secs_f64()
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs a short smoke round instead.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (seconds, rounds, clients) = if smoke {
        (1, 1, 4)
    } else {
        (
            env("MCP_BENCH_SECONDS", 3),
            env("MCP_BENCH_ROUNDS", 5),
            env("MCP_BENCH_CLIENTS", 50) as usize,
        )
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let plain = serve(Variant::Plain).await;
        let guarded = serve(Variant::Guarded).await;
        let length = Duration::from_secs(seconds);
        let (mut p, mut g) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            for (variant, url, out) in [
                (Variant::Plain, &plain, &mut p),
                (Variant::Guarded, &guarded, &mut g),
            ] {
                let rate = round(url, clients, length).await;
                println!("{variant:?}: {rate:.0} calls/s ({clients} clients)");
                out.push(rate);
            }
        }
        println!(
            "guarded / plain: {:.3} (medians {:.0} / {:.0} calls/s)",
            median(g.clone()) / median(p.clone()),
            median(g),
            median(p)
        );
    });
}
