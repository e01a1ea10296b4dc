//! Throughput over loopback HTTP with 50 concurrent clients, in the same run: the same tool
//! written with plain rmcp behind rmcp's `StreamableHttpService` alone (the baseline); guarded,
//! with the caller authenticated in front (the guard's cost); and guarded behind
//! `http::Endpoint` (API-key authentication, the `AuthLayer`, the guard: as deployed).
//!
//! `cargo bench -p mcp-secure --bench throughput` prints calls per second for each, in
//! alternating rounds, and the ratios of the medians to the baseline (the goal is at least
//! 0.97). `MCP_BENCH_SECONDS` sets a round's length (default 3), `MCP_BENCH_ROUNDS` the rounds
//! per variant (default 7), `MCP_BENCH_CLIENTS` the clients (default 50).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

mod servers;

use mcp_secure::{
    Security,
    auth::{ApiKeys, Principal},
    http::Endpoint,
};
use rmcp::{
    RoleClient, ServiceExt,
    service::RunningService,
    transport::{
        StreamableHttpClientTransport,
        streamable_http_client::StreamableHttpClientTransportConfig,
        streamable_http_server::{
            StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
        },
    },
};
use servers::{KEY, call, guarded, plain};

mcp_secure::scopes! {
    /// Write notes.
    "notes:write",
}

#[derive(Clone, Copy, Debug)]
enum Variant {
    Plain,
    GuardOnly,
    Endpoint,
}

/// Serves `variant` on a free loopback port; returns its URL.
async fn serve(variant: Variant) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    match variant {
        Variant::Plain => {
            let server = plain();
            let service = StreamableHttpService::new(
                move || Ok(server.clone()),
                Arc::new(LocalSessionManager::default()),
                StreamableHttpServerConfig::default(),
            );
            let app = axum::Router::new().nest_service("/mcp", service);
            tokio::spawn(async move { axum::serve(listener, app).await });
        }
        Variant::GuardOnly => {
            use tower::Layer as _;
            let server = guarded();
            let service = StreamableHttpService::new(
                move || Ok(server.clone()),
                Arc::new(LocalSessionManager::default()),
                StreamableHttpServerConfig::default(),
            );
            // What an authenticating proxy or middleware in front would leave on the request.
            let service = axum::Extension(Principal::new("bench", ["notes:write"])).layer(service);
            let service = axum::Extension(Security::default()).layer(service);
            let app = axum::Router::new().nest_service("/mcp", service);
            tokio::spawn(async move { axum::serve(listener, app).await });
        }
        Variant::Endpoint => {
            let server = guarded();
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
            env("MCP_BENCH_ROUNDS", 7),
            env("MCP_BENCH_CLIENTS", 50) as usize,
        )
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let variants = [Variant::Plain, Variant::GuardOnly, Variant::Endpoint];
        let mut urls = Vec::new();
        for variant in variants {
            urls.push(serve(variant).await);
        }
        let length = Duration::from_secs(seconds);
        let mut rates = vec![Vec::new(); variants.len()];
        for _ in 0..rounds {
            for (i, variant) in variants.iter().enumerate() {
                let rate = round(&urls[i], clients, length).await;
                println!("{variant:?}: {rate:.0} calls/s ({clients} clients)");
                rates[i].push(rate);
            }
        }
        let medians: Vec<f64> = rates.into_iter().map(median).collect();
        for (i, variant) in variants.iter().enumerate().skip(1) {
            println!(
                "{variant:?} / Plain: {:.3} (medians {:.0} / {:.0} calls/s)",
                medians[i] / medians[0],
                medians[i],
                medians[0]
            );
        }
    });
}
