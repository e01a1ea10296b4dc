//! Throughput over loopback HTTP with 50 concurrent clients, in the same run: the same tool
//! written with plain rmcp behind rmcp's `StreamableHttpService` alone (the baseline); guarded,
//! with the caller authenticated in front (the guard's cost); and guarded behind
//! `http::Endpoint` (API-key authentication, the `AuthLayer`, the guard: as deployed).
//!
//! The servers run in one process of their own (this binary, started again with
//! `MCP_BENCH_SERVE`), each on its port, the clients in this one; one server is under load at
//! a time. Calls per second on a shared two-core machine
//! range over ±15 % from round to round, more than the 3 % the goal is about; so the measure
//! is the server's CPU time per call: every thread's time on a CPU (`/proc/PID/task/*/schedstat`,
//! in nanoseconds) over a round, divided by the calls the round completed. One process for all
//! of them, because two processes of the same server differed by a few per cent (their memory
//! layouts): the baseline's second copy shows what is left. What the clients and
//! the rest of the machine do changes how long a call waits, not how much CPU the server spends
//! on it. Rounds are interleaved, their order rotated each time; each round's ratio is taken
//! against the baseline's round next to it, and the report gives the median of those ratios
//! with a distribution-free 95 % confidence interval (order statistics of the ratios), and the
//! calls per second they imply once the server is CPU-bound (its inverse; the goal is at least
//! 0.97).
//!
//! CPU time still moves with the machine's other work (caches, frequency). With
//! `MCP_BENCH_INSTRUCTIONS=1` the servers' process runs under callgrind instead, and the
//! measure is the instructions it executes, all threads summed, per call of 50 concurrent
//! clients making a fixed number of calls (counters zeroed before and dumped after each
//! variant's calls, with `callgrind_control`): repeatable to a fraction of a per cent whatever
//! else runs, at the price of valgrind's serialized threads.
//!
//! `cargo bench -p mcp-secure --bench throughput`. `MCP_BENCH_SECONDS` sets a round's length
//! (default 2), `MCP_BENCH_ROUNDS` the rounds per variant (default 15), `MCP_BENCH_CLIENTS` the
//! clients (default 50).

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
    /// The baseline again, in a process of its own: its ratio to the baseline shows what the
    /// method can resolve (it should be 1, and its interval says how close).
    PlainAgain,
    GuardOnly,
    Endpoint,
}

const VARIANTS: [Variant; 4] = [
    Variant::Plain,
    Variant::PlainAgain,
    Variant::GuardOnly,
    Variant::Endpoint,
];

/// Serves `variant` on a free loopback port; returns its URL.
async fn serve(variant: Variant) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    match variant {
        Variant::Plain | Variant::PlainAgain => {
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

/// Calls per second of `clients` clients calling as fast as they are answered for `length`,
/// and the calls answered (all of them: the count is read once every client has stopped).
async fn round(url: &str, clients: usize, length: Duration) -> (f64, u64) {
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
    let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    for task in tasks {
        task.await.unwrap();
    }
    (rate, done.load(Ordering::Relaxed))
}

/// Connects `clients` clients to `url`.
async fn connect(url: &str, clients: usize) -> Vec<RunningService<RoleClient, ()>> {
    let mut connected = Vec::with_capacity(clients);
    for _ in 0..clients {
        connected.push(client(url).await);
    }
    connected
}

/// Each of `clients` makes `calls` calls as fast as they are answered; then `counted` runs,
/// before the clients disconnect (closing a session is not a call), and its value is returned.
async fn fixed_round<T>(
    clients: Vec<RunningService<RoleClient, ()>>,
    calls: u64,
    counted: impl FnOnce() -> T,
) -> T {
    let mut tasks = Vec::new();
    for c in clients {
        tasks.push(tokio::spawn(async move {
            for _ in 0..calls {
                let result = c.call_tool(call()).await.unwrap();
                assert_eq!(result.is_error, Some(false), "{result:?}");
            }
            c
        }));
    }
    let mut done = Vec::new();
    for task in tasks {
        done.push(task.await.unwrap());
    }
    let value = counted();
    for c in done {
        c.cancel().await.unwrap();
    }
    value
}

/// Instructions per call of each variant under callgrind, with `clients` concurrent clients.
fn instructions(clients: usize, calls: u64, repeats: usize) {
    let out = std::env::temp_dir().join(format!("mcp-throughput-{}.callgrind", std::process::id()));
    let servers = ServerProcess::start(Some(&out));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut per_call = vec![Vec::new(); VARIANTS.len()];
        for _ in 0..repeats {
            for (i, variant) in VARIANTS.iter().enumerate() {
                // A warm-up: the first calls of a server fill its caches and pools.
                fixed_round(connect(&servers.urls[i], clients).await, 2, || ()).await;
                // Sessions are opened before counting starts and closed after it ends: the
                // count is of calls.
                let connected = connect(&servers.urls[i], clients).await;
                servers.zero();
                let total = fixed_round(connected, calls, || servers.dump(&out)).await;
                let each = total as f64 / (clients as u64 * calls) as f64;
                println!("{variant:?}: {each:.0} instructions per call ({clients} clients × {calls} calls)");
                per_call[i].push(each);
            }
        }
        for (i, variant) in VARIANTS.iter().enumerate().skip(1) {
            let ratio = median(per_call[i].clone()) / median(per_call[0].clone());
            println!(
                "{variant:?} / Plain: instructions per call {ratio:.3}, CPU-bound calls/s {:.3}",
                1.0 / ratio
            );
        }
    });
    drop(servers);
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The servers' process: its id, and the URL of each variant.
struct ServerProcess {
    child: std::process::Child,
    urls: Vec<String>,
}

impl ServerProcess {
    /// Starts the servers, under callgrind (with counting off until zeroed) when `counted`.
    fn start(counted: Option<&std::path::Path>) -> ServerProcess {
        use std::io::BufRead;
        let exe = std::env::current_exe().unwrap();
        let mut command = match counted {
            None => std::process::Command::new(exe),
            Some(out) => {
                let mut valgrind = std::process::Command::new("valgrind");
                valgrind
                    .args(["--tool=callgrind", "--quiet"])
                    .arg(format!("--callgrind-out-file={}", out.display()))
                    .arg(exe);
                valgrind
            }
        };
        let mut child = command
            .env("MCP_BENCH_SERVE", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let urls = VARIANTS
            .iter()
            .map(|_| lines.next().unwrap().unwrap())
            .collect();
        ServerProcess { child, urls }
    }

    /// Zeroes callgrind's counters.
    fn zero(&self) {
        let status = std::process::Command::new("callgrind_control")
            .args(["--zero", &self.child.id().to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "callgrind_control --zero");
    }

    /// Dumps callgrind's counters to `out`.N and returns their instruction total.
    fn dump(&self, out: &std::path::Path) -> u64 {
        let dir = out.parent().unwrap();
        let before: std::collections::BTreeSet<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        let status = std::process::Command::new("callgrind_control")
            .args(["--dump", &self.child.id().to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "callgrind_control --dump");
        // Each thread's counters go to a file of their own only with --separate-threads; the
        // dump is one file, new in the directory.
        let dumped = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                !before.contains(p) && p.to_string_lossy().starts_with(&*out.to_string_lossy())
            })
            .expect("a new dump");
        let text = std::fs::read_to_string(&dumped).unwrap();
        std::fs::remove_file(&dumped).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("totals: "))
            .or_else(|| text.lines().find_map(|l| l.strip_prefix("summary: ")))
            .and_then(|t| t.split_whitespace().next()?.parse().ok())
            .expect("an instruction total")
    }

    /// Nanoseconds every thread of the process has spent on a CPU.
    fn cpu_ns(&self) -> u64 {
        let tasks = format!("/proc/{}/task", self.child.id());
        std::fs::read_dir(tasks)
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
            .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child's side: serves every variant, prints their URLs, and serves until its parent
/// closes standard input.
fn serve_until_closed() {
    pin_to(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // The runtime's workers serve while this thread waits.
    for variant in VARIANTS {
        println!("{}", rt.block_on(serve(variant)));
    }
    let _ = std::io::Read::read(&mut std::io::stdin(), &mut [0u8; 1]);
}

/// Keeps this thread, and the threads it starts, on CPU `cpu` (when the machine has it): the
/// servers on one core and the clients on the other do not take each other's caches.
fn pin_to(cpu: usize) {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    if std::thread::available_parallelism().is_ok_and(|n| n.get() > cpu) {
        rustix::thread::sched_setaffinity(None, &set).unwrap();
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The median of `ratios` with a distribution-free confidence interval of at least 95 %: the
/// order statistics whose ranks the binomial(n, ½) distribution puts around the middle.
fn median_interval(mut ratios: Vec<f64>) -> (f64, f64, f64) {
    ratios.sort_by(f64::total_cmp);
    let n = ratios.len();
    // The largest k with P(Binomial(n, ½) < k) ≤ 2.5 %: [x(k), x(n-k+1)] covers the median.
    let mut k = 0;
    let mut below = 0.0;
    let choose =
        |n: usize, i: usize| -> f64 { (0..i).map(|j| (n - j) as f64 / (j + 1) as f64).product() };
    for i in 0..n {
        below += choose(n, i) / 2f64.powi(n as i32);
        if below > 0.025 {
            break;
        }
        k = i + 1;
    }
    let (lo, hi) = match k {
        0 => (ratios[0], ratios[n - 1]),
        k => (ratios[k - 1], ratios[n - k]),
    };
    (median(ratios), lo, hi)
}

fn main() {
    if std::env::var_os("MCP_BENCH_SERVE").is_some() {
        serve_until_closed();
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` runs a short smoke round instead.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (seconds, rounds, clients) = if smoke {
        (1, 1, 4)
    } else {
        (
            env("MCP_BENCH_SECONDS", 2),
            env("MCP_BENCH_ROUNDS", 15),
            env("MCP_BENCH_CLIENTS", 50) as usize,
        )
    };
    if !smoke && std::env::var_os("MCP_BENCH_INSTRUCTIONS").is_some() {
        instructions(
            clients,
            env("MCP_BENCH_CALLS", 20),
            env("MCP_BENCH_REPEATS", 2) as usize,
        );
        return;
    }
    let servers = ServerProcess::start(None);
    pin_to(0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let length = Duration::from_secs(seconds);
        // Per variant, per round: calls per second, and server CPU nanoseconds per call.
        let mut rates = vec![Vec::new(); VARIANTS.len()];
        let mut costs = vec![Vec::new(); VARIANTS.len()];
        for r in 0..rounds as usize {
            for turn in 0..VARIANTS.len() {
                let i = (turn + r) % VARIANTS.len();
                let before = servers.cpu_ns();
                let (rate, calls) = round(&servers.urls[i], clients, length).await;
                let cpu = servers.cpu_ns() - before;
                let cost = cpu as f64 / calls as f64;
                println!(
                    "{:?}: {rate:.0} calls/s, {:.1} µs server CPU per call ({clients} clients)",
                    VARIANTS[i],
                    cost / 1000.0
                );
                rates[i].push(rate);
                costs[i].push(cost);
            }
        }
        for (i, variant) in VARIANTS.iter().enumerate().skip(1) {
            let ratios: Vec<f64> = costs[i].iter().zip(&costs[0]).map(|(c, p)| c / p).collect();
            let (mid, lo, hi) = median_interval(ratios);
            println!(
                "{variant:?} / Plain: server CPU per call {mid:.3} (95 % CI {lo:.3}–{hi:.3}), \
                 CPU-bound calls/s {:.3} ({:.3}–{:.3}); wall-clock calls/s {:.3} (medians {:.0} / {:.0})",
                1.0 / mid,
                1.0 / hi,
                1.0 / lo,
                median(rates[i].clone()) / median(rates[0].clone()),
                median(rates[i].clone()),
                median(rates[0].clone()),
            );
        }
    });
    drop(servers);
}
