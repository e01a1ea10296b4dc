//! A guarded tool call over streamable HTTP on loopback to a server confined by the sandbox
//! (Landlock, the seccomp filter, `no_new_privs`) against the same server unconfined, in the
//! same run. The sandbox's checks run in the kernel (seccomp's filter on every system call,
//! Landlock's on opens, binds and connects), where callgrind cannot count them. Each server is
//! a child process (confinement cannot be undone), the bench binary itself in server mode.
//!
//! Two measures: divan times whole calls (latency over loopback, which moves by ±15 % between
//! runs); then the servers' own CPU time (user and system, from `/proc/<pid>/stat`) per call,
//! over rounds of calls alternating between the two servers, the median round of each, and
//! their ratio: the cost the sandbox adds to serving a call, kernel side included. On a shared
//! virtual machine both move by ±20 % between runs, so a third measure isolates the one cost
//! that applies to every system call, seccomp's filter: the time of a cheap system call
//! (`getppid`, a million times, median of five rounds) in a confined and an unconfined child.
//!
//! `cargo bench -p mcp-secure --features sandbox --bench sandbox`

// The whole-call benches' servers; this one serves only the guarded one.
#[allow(dead_code)]
mod servers;

use std::{
    io::BufRead,
    process::{Child, Command, Stdio},
};

use mcp_secure::{
    Security,
    auth::{ApiKeys, Principal},
    http::Endpoint,
    sandbox::{Sandbox, SandboxMode},
};
use rmcp::{
    RoleClient, ServiceExt,
    service::RunningService,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use servers::{Guarded, KEY, call, guarded};
use tokio::runtime::Runtime;

mcp_secure::scopes! {
    /// Write notes.
    "notes:write",
}

/// Set in a child: serve in this sandbox mode, print the URL, serve until killed.
const SERVER_MODE: &str = "MCP_BENCH_SANDBOXED_SERVER";

/// Set in a child: time a cheap system call in this sandbox mode, print nanoseconds per call.
const SYSCALL_MODE: &str = "MCP_BENCH_SANDBOXED_SYSCALL";

/// The child: `getppid` a million times, five rounds, the median round's nanoseconds per call.
fn time_syscall(mode: &str) {
    let mode: SandboxMode = mode.parse().unwrap();
    Sandbox::new(mode).apply().unwrap();
    const CALLS: u32 = 1_000_000;
    let mut rounds: Vec<f64> = (0..5)
        .map(|_| {
            let start = std::time::Instant::now();
            for _ in 0..CALLS {
                std::hint::black_box(rustix::process::getppid());
            }
            start.elapsed().as_nanos() as f64 / f64::from(CALLS)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    println!("{}", rounds[2]);
}

/// The child's result of [`time_syscall`].
fn syscall_ns(mode: &str) -> f64 {
    let out = Command::new(std::env::current_exe().unwrap())
        .env(SYSCALL_MODE, mode)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The child: the guarded server behind the `Endpoint`, confined (or not) before its runtime
/// starts, on a listener bound before.
fn serve(mode: &str) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let mode: SandboxMode = mode.parse().unwrap();
    let report = Sandbox::new(mode).apply().unwrap();
    eprintln!("bench server: {report}");
    println!("{url}");
    // One thread: its CPU time is the calls', not work stealing's.
    runtime().block_on(async {
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let keys = ApiKeys::new().with_key(KEY, Principal::new("bench", ["notes:write"]));
        let server = guarded();
        Endpoint::new(url, server, &Guarded::tools(), Security::default())
            .verifier(keys)
            .serve(listener, std::future::pending())
            .await
            .unwrap();
    });
}

/// A server child, killed on drop.
struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(mode: &str) -> Server {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(SERVER_MODE, mode)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    Server(child, url.trim().to_owned())
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn client(rt: &Runtime, url: &str) -> RunningService<RoleClient, ()> {
    let config = StreamableHttpClientTransportConfig::with_uri(url).auth_header(KEY);
    rt.block_on(async { ().serve(StreamableHttpClientTransport::from_config(config)).await })
        .unwrap()
}

fn bench_calls(bencher: divan::Bencher, mode: &str) {
    let server = spawn(mode);
    let rt = runtime();
    let client = client(&rt, &server.1);
    let ok = rt.block_on(client.call_tool(call())).unwrap();
    assert_eq!(ok.is_error, Some(false), "{ok:?}");
    bencher.bench_local(|| rt.block_on(client.call_tool(call())).unwrap());
}

#[divan::bench(sample_count = 300)]
fn confined(bencher: divan::Bencher) {
    bench_calls(bencher, "best-effort");
}

#[divan::bench(sample_count = 300)]
fn unconfined(bencher: divan::Bencher) {
    bench_calls(bencher, "off");
}

/// The CPU time `pid` has used, in clock ticks (user and system).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// The servers' CPU time per call, confined and not, and the ratio.
fn cpu_per_call() {
    const ROUNDS: usize = 7;
    const CALLS: u32 = 2_000;
    let rt = runtime();
    let servers = [spawn("best-effort"), spawn("off")];
    let clients = servers.each_ref().map(|s| client(&rt, &s.1));
    let mut rounds: [Vec<u64>; 2] = Default::default();
    for round in 0..=ROUNDS {
        for (i, (server, client)) in servers.iter().zip(&clients).enumerate() {
            let before = cpu_ticks(server.0.id());
            for _ in 0..CALLS {
                rt.block_on(client.call_tool(call())).unwrap();
            }
            // The first round warms both up and is not kept.
            if round > 0 {
                rounds[i].push(cpu_ticks(server.0.id()) - before);
            }
        }
    }
    let [confined, unconfined] = rounds.map(|mut r| {
        r.sort_unstable();
        // Clock ticks are 10 ms (USER_HZ): per call, in microseconds.
        r[r.len() / 2] as f64 * 10_000.0 / f64::from(CALLS)
    });
    println!(
        "server CPU per call (median of {ROUNDS} rounds of {CALLS} calls): confined {confined:.1} µs, unconfined {unconfined:.1} µs, ratio {:.3}",
        confined / unconfined
    );
}

fn main() {
    if let Ok(mode) = std::env::var(SERVER_MODE) {
        serve(&mode);
        return;
    }
    if let Ok(mode) = std::env::var(SYSCALL_MODE) {
        time_syscall(&mode);
        return;
    }
    divan::main();
    cpu_per_call();
    let (confined, unconfined) = (syscall_ns("best-effort"), syscall_ns("off"));
    println!(
        "a system call (getppid): confined {confined:.1} ns, unconfined {unconfined:.1} ns, ratio {:.3}",
        confined / unconfined
    );
}
