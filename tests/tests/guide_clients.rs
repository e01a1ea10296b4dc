//! The guide's Python and TypeScript clients (docs/src/first-server.md) against README's complete
//! server (examples/quickstart, built here as `e2e-tickets`): the snippets are read from the
//! page, so the page and what runs cannot drift apart.
//!
//! Python is `MCP_SECURE_PYTHON` (with tests/python/requirements.txt), Node `MCP_SECURE_NODE`
//! with the SDKs under `MCP_SECURE_NODE_MODULES` (`.ci/node.sh`). Without them the test is
//! ignored with the reason, except in CI.

use std::{
    io::Read,
    net::TcpStream,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The server's address: the complete server listens where README says, on a fixed port.
const ADDR: &str = "127.0.0.1:8080";
const KEY: &str = "guide-client-key-0123456789abcdef";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The body of the only fenced block of `lang` in the chapter.
fn snippet(chapter: &str, lang: &str) -> String {
    let text = std::fs::read_to_string(root().join("docs/src").join(chapter)).unwrap();
    let fence = format!("\n```{lang}\n");
    let mut blocks = text.match_indices(&fence).map(|(at, _)| {
        let open = at + fence.len();
        let close = open + text[open..].find("\n```\n").expect("a closing fence");
        text[open..=close].to_owned()
    });
    let block = blocks
        .next()
        .unwrap_or_else(|| panic!("{chapter} has no ```{lang} block"));
    assert!(
        blocks.next().is_none(),
        "{chapter} has two ```{lang} blocks"
    );
    block
}

/// The complete server, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// Starts the server with one key for `alice` (tickets:write) and waits for its port.
    fn start() -> Self {
        assert!(
            TcpStream::connect(ADDR).is_err(),
            "{ADDR} is taken: the complete server listens there, and this test cannot start it"
        );
        let child = Command::new(env!("CARGO_BIN_EXE_e2e-tickets"))
            .env("TICKETS_API_KEYS", format!("{KEY} alice tickets:write"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the complete server");
        let mut server = Self(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(ADDR).is_err() {
            if let Some(status) = server.0.try_wait().unwrap() {
                let mut err = String::new();
                let _ = server.0.stderr.take().unwrap().read_to_string(&mut err);
                panic!("the complete server exited ({status}):\n{err}");
            }
            assert!(
                Instant::now() < deadline,
                "the complete server did not listen on {ADDR}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

/// Runs `command` (bounded in time) and returns its standard output; fails with both outputs
/// unless it succeeds.
fn run(mut command: Command, what: &str) -> String {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "{what} failed:\n{stdout}\n--- stderr ---\n{stderr}"
    );
    println!("{what}:\n{stdout}");
    stdout
}

/// What a snippet printed: the ticket it opened, the caller's titles so far, the refusal.
fn assert_output(out: &str, ticket: usize, what: &str) {
    let lines: Vec<&str> = out.lines().collect();
    let titles = vec!["Printer on fire"; ticket].join("\n");
    let expected_start = format!("ticket {ticket} opened\n{titles}\n");
    assert!(out.starts_with(&expected_start), "{what} printed:\n{out}");
    let refusal = lines.last().unwrap();
    assert!(
        refusal.to_lowercase().starts_with("true invalid_input:") && refusal.contains("title"),
        "{what}'s refusal: {refusal}"
    );
}

#[test]
#[cfg_attr(
    any(skip_python, skip_node),
    ignore = "MCP_SECURE_PYTHON or MCP_SECURE_NODE is not set: a Python with tests/python/requirements.txt, and `.ci/node.sh`, run it (README, \"The two commands\")"
)]
fn the_guide_clients_call_the_complete_server() {
    let python = std::env::var("MCP_SECURE_PYTHON").expect("MCP_SECURE_PYTHON");
    let node = std::env::var("MCP_SECURE_NODE").expect("MCP_SECURE_NODE");
    let modules = std::env::var("MCP_SECURE_NODE_MODULES").expect("MCP_SECURE_NODE_MODULES");
    let dir = tempfile::tempdir().unwrap();
    let python_client = dir.path().join("tickets_client.py");
    std::fs::write(&python_client, snippet("first-server.md", "python")).unwrap();
    // The snippet imports the SDK by its package name: Node finds it in a `node_modules` beside.
    let ts_client = dir.path().join("tickets-client.mts");
    std::fs::write(&ts_client, snippet("first-server.md", "ts")).unwrap();
    std::os::unix::fs::symlink(&modules, dir.path().join("node_modules")).unwrap();

    let _server = Server::start();
    let mut command = Command::new(python);
    command.arg(&python_client).env("TICKETS_KEY", KEY);
    assert_output(&run(command, "the Python client"), 1, "the Python client");
    let mut command = Command::new(node);
    command
        .arg("--no-warnings")
        .arg(&ts_client)
        .env("TICKETS_KEY", KEY);
    assert_output(
        &run(command, "the TypeScript client"),
        2,
        "the TypeScript client",
    );
}
