//! A guarded tool call over streamable HTTP on loopback to a server confined by the sandbox
//! (Landlock, the seccomp filter, `no_new_privs`) against the same server unconfined, in the
//! same run. The sandbox's checks run in the kernel (seccomp's filter on every system call,
//! Landlock's on opens, binds and connects), where callgrind cannot count them: these calls
//! are timed. Each server is a child process (confinement cannot be undone), the bench binary
//! itself in server mode.
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

/// The child: the guarded server behind the `Endpoint`, confined (or not) before its runtime
/// starts, on a listener bound before.
fn serve(mode: &str) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let mode: SandboxMode = mode.parse().unwrap();
    let report = Sandbox::new(mode).apply().unwrap();
    eprintln!("bench server: {report}");
    println!("{url}");
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
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
    rt.block_on(().serve(StreamableHttpClientTransport::from_config(config)))
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

fn main() {
    if let Ok(mode) = std::env::var(SERVER_MODE) {
        serve(&mode);
        return;
    }
    divan::main();
}
