//! Starting the demo server as a child process and connecting real rmcp clients to it.

#![allow(dead_code)]

pub mod balancer;
pub mod idp;
pub mod nginx;
pub mod oauth;
pub mod otlp;
pub mod redis_server;

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use rmcp::{
    RoleClient, ServiceExt,
    model::{CallToolRequestParams, CallToolResult},
    service::RunningService,
    transport::{
        ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess,
        streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::Value;

pub type Client = RunningService<RoleClient, ()>;

/// The unprivileged user a demo started by a root test becomes (`nobody`).
pub const NOBODY: &str = "65534:65534";

/// Whether the tests run as root (as CI does).
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

/// Gives `path` (and what is beneath it) to `nobody`, which a root test's servers become.
pub fn give_to_nobody(path: &Path) {
    // The link itself, never what it points to (the fixtures hold links out of the root).
    std::os::unix::fs::lchown(path, Some(65534), Some(65534)).unwrap();
    if std::fs::symlink_metadata(path).unwrap().is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            give_to_nobody(&entry.unwrap().path());
        }
    }
}

/// Makes `cmd`, a demo about to serve, run unprivileged when the tests run as root: the
/// sandbox's default `best-effort` then enforces everything, so that the end-to-end tests
/// exercise a confined server. `paths` are its arguments and the files root: each temporary
/// directory one of them lies in is given to `nobody`, as an operator gives a service its
/// files. Other temporary directories (the fixtures' secrets outside the root) stay root's.
pub fn unprivileged<'c, 'p>(
    cmd: &'c mut Command,
    paths: impl IntoIterator<Item = &'p std::ffi::OsStr>,
) -> &'c mut Command {
    if running_as_root() {
        let temp = std::env::temp_dir();
        for arg in paths {
            let Ok(inside) = Path::new(arg).strip_prefix(&temp) else {
                continue;
            };
            if let Some(std::path::Component::Normal(top)) = inside.components().next() {
                let top = temp.join(top);
                if top.exists() {
                    give_to_nobody(&top);
                }
            }
        }
        cmd.args(["--user", NOBODY]);
    }
    cmd
}

/// Serves `server` (one clone per session) over streamable HTTP on a free loopback port,
/// through `mcp_secure::http::Endpoint` with `security` and the API keys `keys`; returns the
/// MCP URL.
pub async fn serve_in_process<S: rmcp::ServerHandler + Clone>(
    server: S,
    tools: &mcp_secure::tool::Tools<S>,
    security: mcp_secure::Security,
    keys: mcp_secure::auth::ApiKeys,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let endpoint =
        mcp_secure::http::Endpoint::new(url.as_str(), server, tools, security).verifier(keys);
    tokio::spawn(endpoint.serve(listener, std::future::pending()));
    url
}

/// A client of `server` over an in-memory pipe, as over stdio.
pub async fn over_pipe<S: rmcp::Service<rmcp::RoleServer>>(server: S) -> Client {
    let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_end).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_end).await.unwrap()
}

/// A token of the demo's (`notes-server token`) for `sub` with `scope`, issued for the server
/// at `url`, with the further arguments `extra` (`--tenant`, `--role`, `--home`, `--ttl`).
pub fn mint(url: &str, sub: &str, scope: &str, extra: &[&str]) -> String {
    let out = Command::new(bin())
        .args(["token", "--sub", sub, "--scope", scope, "--url", url])
        .args(extra)
        .env("NOTES_JWT_SECRET", JWT_SECRET)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Asserts that `client` (`who`) finds none of the notes `ids` on any path: got, updated and
/// deleted are `not_found`, as if they did not exist, and a search for everything finds
/// nothing.
pub async fn assert_notes_unseen(client: &Client, who: &str, ids: &[i64]) {
    for id in ids {
        let got = call(client, "notes_get", serde_json::json!({"id": id})).await;
        assert_eq!(
            error_code(&got).as_deref(),
            Some("not_found"),
            "{who}: {got:?}"
        );
        let changed = serde_json::json!({"id": id, "title": "taken", "body": "over"});
        let updated = call(client, "notes_update", changed).await;
        assert_eq!(error_code(&updated).as_deref(), Some("not_found"), "{who}");
        let deleted = call(client, "notes_delete", serde_json::json!({"id": id})).await;
        assert_eq!(error_code(&deleted).as_deref(), Some("not_found"), "{who}");
    }
    let everything = serde_json::json!({"query": "", "sort": "title", "limit": 100});
    let found = call(client, "notes_search", everything).await;
    assert_eq!(ok(&found)["notes"], serde_json::json!([]), "{who}");
}

/// An rmcp client presenting `key`.
pub async fn connect(url: &str, key: &str) -> Client {
    let config = StreamableHttpClientTransportConfig::with_uri(url).auth_header(key);
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("connect over HTTP")
}

/// An rmcp client presenting `key` that speaks spec 2026-07-28 (`server/discover`, no
/// session, each request on its own).
pub async fn connect_2026(url: &str, key: &str) -> Client {
    use rmcp::{
        model::ProtocolVersion,
        service::{ClientLifecycleMode, ClientServiceExt},
    };
    let config = StreamableHttpClientTransportConfig::with_uri(url).auth_header(key);
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    ().serve_with_lifecycle(
        StreamableHttpClientTransport::from_config(config),
        lifecycle,
    )
    .await
    .expect("connect over HTTP at 2026-07-28")
}

/// Creates notes as `client` until one is refused (notes_create allows 30/min: 30 at once,
/// then one every 2 s): how many were admitted, and the refusal. The calls, not a clock,
/// decide: a refusal must come before the 100th call (70 calls do not take the 140 s that many
/// refills need, however slow the machine).
pub async fn create_until_refused(client: &Client) -> (u32, CallToolResult) {
    let mut admitted = 0;
    loop {
        let r = call(
            client,
            "notes_create",
            serde_json::json!({"title": format!("n{admitted}"), "body": ""}),
        )
        .await;
        if r.is_error == Some(true) {
            return (admitted, r);
        }
        admitted += 1;
        assert!(admitted < 100, "100 calls and no refusal");
    }
}

/// The JSON-RPC answer in an HTTP body: the JSON itself, or the event of an SSE stream that
/// answers a request (has an `id`); `null` if there is none.
pub fn rpc_answer(text: &str) -> Value {
    if let Ok(v) = serde_json::from_str(text) {
        return v;
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("id").is_some())
        .unwrap_or(Value::Null)
}

/// A JSON-RPC POST to `url` as an MCP client sends it (JSON in, JSON or SSE out), presenting
/// `authorization` when given.
pub fn rpc(
    http: &reqwest::Client,
    url: &str,
    authorization: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = http
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream");
    match authorization {
        Some(auth) => request.header("Authorization", auth),
        None => request,
    }
}

/// A 2026-07-28 stateless `tools/call` with `id` (any JSON), `meta` merged into `_meta`, and
/// the extra headers `headers`; the response's status.
pub async fn call_2026(
    url: &str,
    auth: Option<&str>,
    id: Value,
    tool: &str,
    arguments: Value,
    meta: Value,
    headers: &[(&str, &str)],
) -> reqwest::StatusCode {
    let mut all_meta = serde_json::json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}});
    all_meta
        .as_object_mut()
        .unwrap()
        .extend(meta.as_object().unwrap().clone());
    let body = serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments, "_meta": all_meta}});
    let mut request = rpc(&reqwest::Client::new(), url, auth)
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", "tools/call")
        .header("Mcp-Name", tool);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.json(&body).send().await.unwrap().status()
}

/// A raw `initialize` POST, with `Authorization: <auth>` when given.
pub async fn post_initialize(url: &str, auth: Option<&str>) -> reqwest::Response {
    let init = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    rpc(&reqwest::Client::new(), url, auth)
        .json(&init)
        .send()
        .await
        .expect("the server answers")
}

/// The demo's tools, by name.
pub const DEMO_TOOLS: [&str; 8] = [
    "files_read",
    "notes_create",
    "notes_delete",
    "notes_get",
    "notes_search",
    "notes_update",
    "webhook_register",
    "whoami",
];

/// Keys used by the tests: `<key> <subject> <scopes>`.
pub const KEYS: &str = "\
    alice-writer-key-000 alice notes:write files:read;\
    alice-reader-key-000 alice notes:read;\
    bob-all-key-00000000 bob notes:write files:read webhooks:write;\
    nobody-key-000000000 nobody";

/// The JWT secret every test server signs and verifies with.
pub const JWT_SECRET: &str = "e2e-jwt-secret-0123456789-abcdefghij";

/// Runs a client program (`what`) against `server` to its end, within 180 s; fails with what
/// it printed (and what the server logged meanwhile) unless it exits with success. Returns its
/// standard output, which it also prints.
pub fn run_client(mut command: Command, what: &str, server: &HttpServer) -> String {
    use std::io::Read;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let out = read(Box::new(child.stdout.take().unwrap()));
    let err = read(Box::new(child.stderr.take().unwrap()));
    // Bounded: a hung client is a failure, not a hung CI.
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    println!("{out}");
    assert!(
        status.success(),
        "{what} failed:\n{out}\n--- stderr ---\n{err}\n--- the server logged ---\n{}",
        server.drain_stderr().join("\n")
    );
    out
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_e2e-notes-server")
}

/// `cmd` (the demo, or a program that runs it) set to `serve` on a free loopback port with
/// `files`, an in-memory database and the tests' JWT secret; more arguments may follow.
pub fn serve_args<'c>(cmd: &'c mut Command, files: &Path) -> &'c mut Command {
    cmd.args([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--db",
        ":memory:",
        "--files",
    ])
    .arg(files)
    .env("NOTES_JWT_SECRET", JWT_SECRET)
}

/// Runs `cmd`, a demo expected to refuse to start: its standard error if it did. One that
/// starts serving instead is stopped after a generous while (a bound against hanging), and
/// gives `None`.
pub fn refused_at_start(mut cmd: Command) -> Option<String> {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start notes-server");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    (!output.status.success()).then(|| String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A files directory with a text file, a binary file, a large file and (on Unix) links out of
/// it in every form, a link inside it and a FIFO; and the directory outside, with `secret.txt`.
pub fn files_dir() -> (tempfile::TempDir, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("hello.txt"), "hello, world\n").unwrap();
    std::fs::write(root.path().join("big.txt"), "x".repeat(5000)).unwrap();
    std::fs::write(root.path().join("binary.bin"), [0xff, 0xfe, 0x00]).unwrap();
    std::fs::create_dir(root.path().join("sub")).unwrap();
    std::fs::write(root.path().join("sub/inner.txt"), "inner").unwrap();
    std::fs::write(outside.path().join("secret.txt"), "top secret").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        let r = root.path();
        let secret = outside.path().join("secret.txt");
        // Links out of the root in every form: to a directory, to a file, to the process's
        // environment (which holds the JWT secret), relative, chained, dangling.
        symlink(outside.path(), r.join("escape")).unwrap();
        symlink(&secret, r.join("out-file")).unwrap();
        symlink("/proc/self/environ", r.join("environ")).unwrap();
        let up = "../".repeat(r.components().count());
        symlink(format!("{up}{}", secret.display()), r.join("rel-out")).unwrap();
        symlink("../out-file", r.join("sub/chain")).unwrap();
        symlink(outside.path().join("later.txt"), r.join("dangling")).unwrap();
        // A link that stays inside, and a FIFO (which must never hold a call).
        symlink("hello.txt", r.join("inner")).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(r.join("fifo"))
            .status()
            .unwrap();
        assert!(made.success());
    }
    (root, outside)
}

/// The end-to-end suite exercises a confined server: a demo that keeps the default sandbox
/// (as `nobody` when the tests run as root) reports at start-up everything enforced but what
/// the kernel's Landlock ABI cannot: below ABI 10, the destinations of a name resolver's UDP
/// sockets (the demo resolves Redis, PostgreSQL and client documents by name).
fn assert_confined(banner: &[String]) {
    let line = banner
        .iter()
        .find_map(|l| l.strip_prefix("notes-server: sandbox: Landlock ABI "))
        .unwrap_or_else(|| panic!("no sandbox report at start-up: {banner:?}"));
    let mut parts = line.split("; missing: ");
    let obtained = parts.next().unwrap();
    let abi: u32 = obtained
        .split(',')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no Landlock ABI in {line}"));
    for part in [
        "filesystem enforced",
        "network enforced",
        "signals scoped",
        "seccomp filter enforced",
        "no_new_privs set",
        "non-dumpable",
        "no core files",
    ] {
        assert!(obtained.contains(part), "{part} not obtained: {line}");
    }
    for missing in parts {
        assert!(
            abi < 10 && missing.starts_with("UDP destinations:"),
            "the demo did not start fully confined: {missing} (in {line})"
        );
    }
}

/// The demo server over HTTP on a free loopback port; killed on drop.
pub struct HttpServer {
    child: Child,
    pub url: String,
    /// What the server printed before it was ready.
    pub banner: Vec<String>,
    pub stderr: mpsc::Receiver<String>,
}

impl HttpServer {
    pub fn start(keys: Option<&str>, files: &Path) -> HttpServer {
        Self::start_with(keys, files, &[])
    }

    /// The demo with its development authorization server, approving every request as
    /// `alice` for `notes:read notes:write`, and no API key: what the OAuth clients sign in to.
    pub fn start_dev_auth(files: &Path) -> HttpServer {
        let dev_auth = [
            "--dev-auth",
            "--dev-auth-user",
            "alice",
            "--dev-auth-scopes",
            "notes:read notes:write",
        ];
        Self::start_with(None, files, &dev_auth)
    }

    pub fn start_with(keys: Option<&str>, files: &Path, extra: &[&str]) -> HttpServer {
        Self::start_command(Command::new(bin()), keys, files, extra)
    }

    /// [`Self::start_with`], run as `cmd`: the demo's binary, or a program that runs the
    /// command line that follows its own arguments (e.g. in a namespace of its own).
    pub fn start_command(
        mut cmd: Command,
        keys: Option<&str>,
        files: &Path,
        extra: &[&str],
    ) -> HttpServer {
        cmd.args(["serve", "--addr", "127.0.0.1:0", "--files"])
            .arg(files)
            .args(extra);
        if !extra.contains(&"--db") {
            cmd.args(["--db", ":memory:"]);
        }
        let paths = extra.iter().map(std::ffi::OsStr::new);
        unprivileged(&mut cmd, paths.chain([files.as_os_str()]));
        cmd.env("NOTES_JWT_SECRET", JWT_SECRET)
            .env_remove("NOTES_API_KEYS")
            .env("NOTES_LOG", "warn,mcp_secure::audit=off");
        if let Some(keys) = keys {
            cmd.env("NOTES_API_KEYS", keys);
        }
        let mut child = cmd
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start notes-server");
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut url = None;
        let mut seen = Vec::new();
        while url.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("server did not start: {seen:?}"));
            if let Some(rest) = line.split("serving MCP at ").nth(1) {
                // `<local URL>` or `<local URL> (public URL <url>)`: connect to the local one.
                url = rest.split_whitespace().next().map(str::to_owned);
            }
            seen.push(line);
        }
        let sandbox_off = extra.windows(2).any(|pair| pair == ["--sandbox", "off"]);
        if std::env::var_os("CI").is_some() && !sandbox_off {
            assert_confined(&seen);
        }
        HttpServer {
            child,
            url: url.unwrap(),
            banner: seen,
            stderr: rx,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server printed since start-up (or the last call).
    pub fn drain_stderr(&self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(200)) {
            lines.push(line);
        }
        lines
    }

    /// The URL of its Prometheus metrics (started with `--metrics-addr`).
    #[allow(dead_code)]
    pub fn metrics_url(&self) -> String {
        self.banner
            .iter()
            .find_map(|l| l.split("metrics at ").nth(1))
            .expect("the metrics address is printed")
            .trim()
            .to_owned()
    }

    pub async fn client(&self, key: &str) -> Client {
        connect(&self.url, key).await
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo server over stdio, as a child process of the client.
pub async fn stdio_client(api_key: Option<&str>, files: &Path) -> Client {
    match api_key {
        Some(key) => stdio_client_with(&[("NOTES_API_KEY", key)], files).await,
        None => stdio_client_with(&[], files).await,
    }
}

/// The demo over stdio with these credentials in its environment (`NOTES_API_KEY`,
/// `NOTES_TOKEN`); the keys of [`KEYS`] and [`JWT_SECRET`] are configured.
pub async fn stdio_client_with(credentials: &[(&str, &str)], files: &Path) -> Client {
    stdio_client_args(credentials, files, &[]).await
}

/// [`stdio_client_with`], with more arguments for `notes-server stdio`.
pub async fn stdio_client_args(
    credentials: &[(&str, &str)],
    files: &Path,
    args: &[&str],
) -> Client {
    let files: PathBuf = files.to_owned();
    let transport = TokioChildProcess::new(tokio::process::Command::new(bin()).configure(|cmd| {
        cmd.args(["stdio", "--db", ":memory:"])
            .args(args)
            .arg("--files")
            .arg(&files);
        let paths = args.iter().map(std::ffi::OsStr::new);
        unprivileged(cmd.as_std_mut(), paths.chain([files.as_os_str()]));
        cmd.env("NOTES_JWT_SECRET", JWT_SECRET)
            .env("NOTES_API_KEYS", KEYS)
            .env("NOTES_LOG", "error")
            .env_remove("NOTES_TOKEN")
            .env_remove("NOTES_API_KEY");
        for (name, value) in credentials {
            cmd.env(name, value);
        }
    }))
    .expect("spawn stdio server");
    ().serve(transport).await.expect("connect over stdio")
}

/// A call the HTTP layer may refuse: `Err` carries rmcp's error (`{:?}` names a 403's
/// `InsufficientScope` and its `required_scope`).
pub async fn try_call(
    client: &Client,
    tool: &str,
    args: Value,
) -> Result<CallToolResult, rmcp::ServiceError> {
    let params = CallToolRequestParams::new(tool.to_owned())
        .with_arguments(args.as_object().cloned().expect("object arguments"));
    client.call_tool(params).await
}

/// The `scope` of a `403 insufficient_scope` challenge, as rmcp's client read it (it calls it
/// `required_scope`): the scopes held that the server advertises, then the missing ones.
pub fn challenge_scope(error: &rmcp::ServiceError) -> Option<String> {
    let text = format!("{error:?}");
    assert!(
        text.contains("InsufficientScope"),
        "expected a 403 insufficient_scope, got {text}"
    );
    text.split("required_scope: Some(\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
}

pub async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let params = CallToolRequestParams::new(tool.to_owned())
        .with_arguments(args.as_object().cloned().expect("object arguments"));
    client.call_tool(params).await.expect("tools/call answered")
}

/// The structured content of a successful call.
pub fn ok(result: &CallToolResult) -> &Value {
    assert_ne!(
        result.is_error,
        Some(true),
        "expected success, got {result:?}"
    );
    result
        .structured_content
        .as_ref()
        .expect("structured content")
}

/// The error code of an error result, from `_meta` (where every error result has it).
pub fn error_code(result: &CallToolResult) -> Option<String> {
    let meta = result.meta.as_ref()?;
    let code = meta.0.get(mcp_secure::tool::ERROR_META_KEY)?["code"].as_str()?;
    Some(code.to_owned())
}

/// The `error` object of a refused call: in `_meta`, on every tool; and the same in
/// `structuredContent` where the tool declares no output schema, never where it declares one.
pub fn err(result: &CallToolResult) -> &Value {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected an error, got {result:?}"
    );
    let error = result
        .meta
        .as_ref()
        .and_then(|meta| meta.0.get(mcp_secure::tool::ERROR_META_KEY))
        .expect("the error in _meta");
    if let Some(structured) = &result.structured_content {
        assert_eq!(&structured["error"], error, "the two copies differ");
    }
    error
}

pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

/// The (field, rule) pairs of an `invalid_input` error.
pub fn violations(result: &CallToolResult) -> Vec<(String, String)> {
    let error = err(result);
    assert_eq!(error["code"], "invalid_input", "{error}");
    error["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["field"].as_str().unwrap().to_owned(),
                v["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A PKCE pair (RFC 7636): a fresh verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let verifier = format!("verifier-{nanos}-0123456789abcdefghijklmnopqrstuvwxyz");
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// `jsonwebtoken::encode`, with the library's cryptography (ring) registered first: the tests
/// sign with what the library verifies with.
pub fn encode<T: serde::Serialize>(
    header: &jsonwebtoken::Header,
    claims: &T,
    key: &jsonwebtoken::EncodingKey,
) -> jsonwebtoken::errors::Result<String> {
    mcp_secure::auth::install_jwt_crypto();
    jsonwebtoken::encode(header, claims, key)
}

/// The payload of a JWT, unverified (the server under test verifies it).
pub fn jwt_claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}
