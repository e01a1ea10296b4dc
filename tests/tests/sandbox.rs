//! The kernel confines the process, not only the type system the tools: a server whose tools
//! have deliberate bugs (`sandbox-probe`: read any path, run a shell, connect to any port) is
//! run confined over stdio, and each bug is refused by Landlock or seccomp, while the server
//! keeps serving. The same server run without the sandbox does all three, so the refusals are
//! the sandbox's.

mod common;

use std::{
    net::TcpListener,
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::Path,
    process::Stdio,
};

use rmcp::{
    ServiceExt,
    model::CallToolRequestParams,
    transport::{ConfigureCommandExt, TokioChildProcess},
};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

/// The unprivileged user a process started as root switches to (`nobody`).
const NOBODY: &str = "65534:65534";

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

/// Gives `path` (and what is beneath it) to `nobody`, which a root test's servers become.
fn give_to_nobody(path: &Path) {
    // The link itself, never what it points to (the fixtures hold links out of the root).
    std::os::unix::fs::lchown(path, Some(65534), Some(65534)).unwrap();
    if std::fs::symlink_metadata(path).unwrap().is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            give_to_nobody(&entry.unwrap().path());
        }
    }
}

/// The probe, confined to `root` (readable), `out` (writable: a write-scoped tool names it)
/// and to connecting to `port`, in `mode` (as `nobody` when the test runs as root); and the
/// report it printed.
async fn probe(root: &Path, out: &Path, port: u16, mode: &str) -> (common::Client, Value) {
    let command =
        tokio::process::Command::new(env!("CARGO_BIN_EXE_sandbox-probe")).configure(|cmd| {
            cmd.arg(root).arg(out).arg(port.to_string()).arg(mode);
            if running_as_root() {
                cmd.arg(NOBODY);
            }
        });
    let (transport, stderr) = TokioChildProcess::builder(command)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the probe");
    let client = ().serve(transport).await.expect("connect over stdio");
    // The report is printed before the server starts, so it is in the pipe by now.
    let mut stderr = stderr.expect("piped");
    let mut text = vec![0u8; 4096];
    let n = stderr.read(&mut text).await.unwrap();
    let text = String::from_utf8_lossy(&text[..n]).into_owned();
    let report = text
        .lines()
        .find_map(|l| l.strip_prefix("sandbox-probe: report "))
        .unwrap_or_else(|| panic!("no report in {text:?}"));
    (client, serde_json::from_str(report).unwrap())
}

async fn tool(client: &common::Client, name: &'static str, args: Value) -> String {
    let result = client
        .call_tool(
            CallToolRequestParams::new(name).with_arguments(args.as_object().unwrap().clone()),
        )
        .await
        .expect("the server answers");
    common::text(&result)
}

#[tokio::test]
async fn the_kernel_refuses_what_the_tools_bugs_reach_for() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("served.txt"), "served").unwrap();
    // A secret outside the root, as the token-signing secret once was.
    let elsewhere = tempfile::tempdir().unwrap();
    let secret = elsewhere.path().join("signing.key");
    std::fs::write(&secret, "do not leak").unwrap();
    // The file permissions let anyone read the secret: only the sandbox stands in the way.
    std::fs::set_permissions(elsewhere.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = tempfile::tempdir().unwrap();
    if running_as_root() {
        give_to_nobody(root.path());
        give_to_nobody(out.path());
    }
    // Two listeners of the test's (a connection completes in their backlog).
    let listeners = [
        TcpListener::bind("127.0.0.1:0").unwrap(),
        TcpListener::bind("127.0.0.1:0").unwrap(),
    ];
    let [declared, undeclared] = listeners.each_ref().map(|l| l.local_addr().unwrap().port());
    let served = root.path().join("served.txt");
    let (client, report) = probe(root.path(), out.path(), declared, "require").await;
    assert_eq!(report["filesystem"], true, "{report}");
    assert_eq!(report["network"], true, "{report}");
    assert_eq!(report["seccomp"], true, "{report}");
    assert_eq!(report["no_new_privs"], true, "{report}");
    assert!(report["landlock_abi"].as_u64().unwrap() >= 4, "{report}");
    assert_eq!(report["missing"], json!([]), "{report}");
    if running_as_root() {
        assert_eq!(report["uid"], 65534, "root became nobody: {report}");
    }
    let read = |path: &std::path::Path| json!({ "path": path.to_str().unwrap() });
    assert_eq!(tool(&client, "read_any", read(&served)).await, "ok");
    for (what, args) in [
        ("a secret outside the root", read(&secret)),
        ("/etc/passwd", json!({"path": "/etc/passwd"})),
        ("the root's parent", read(root.path().parent().unwrap())),
    ] {
        assert_eq!(tool(&client, "read_any", args).await, "denied", "{what}");
    }
    // A root is writable only if a write-scoped tool names it: `files` is named by a
    // `files:read` tool, `out` by an `out:write` one.
    let inside = |dir: &Path| json!({ "path": dir.join("new.txt").to_str().unwrap() });
    assert_eq!(
        tool(&client, "write_any", inside(root.path())).await,
        "denied",
        "writing in a root only read tools name"
    );
    assert_eq!(
        tool(&client, "write_any", inside(out.path())).await,
        "ok",
        "writing in a root a write tool names"
    );
    assert_eq!(
        tool(&client, "run_shell", json!({})).await,
        "denied",
        "execve"
    );
    assert_eq!(
        tool(&client, "connect", json!({ "port": undeclared })).await,
        "denied",
        "an undeclared loopback port"
    );
    assert_eq!(
        tool(&client, "connect", json!({ "port": declared })).await,
        "ok",
        "the declared port"
    );
    // Still serving.
    assert_eq!(tool(&client, "read_any", read(&served)).await, "ok");
    client.cancel().await.unwrap();

    // Unconfined, the same bugs reach all of it: the refusals above are the kernel's.
    let (client, report) = probe(root.path(), out.path(), declared, "off").await;
    assert_eq!(report["mode"], "off");
    assert_eq!(tool(&client, "read_any", read(&secret)).await, "ok");
    assert_eq!(tool(&client, "write_any", inside(root.path())).await, "ok");
    assert_eq!(tool(&client, "run_shell", json!({})).await, "ok");
    assert_eq!(
        tool(&client, "connect", json!({ "port": undeclared })).await,
        "ok"
    );
    client.cancel().await.unwrap();
}

/// The demo confines itself over HTTP, says so at start-up and in the audit log, and still
/// serves its contract: a tool call, and its database and audit file.
#[tokio::test]
async fn the_demo_records_its_confinement_and_serves_confined() {
    let (files, _outside) = common::files_dir();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let manifest = dir.path().join("manifest.json");
    let db = dir.path().join("db").join("notes.db");
    std::fs::create_dir(db.parent().unwrap()).unwrap();
    let mut args = vec![
        "--sandbox",
        "require",
        "--audit-log",
        audit.to_str().unwrap(),
        "--manifest-out",
        manifest.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ];
    if running_as_root() {
        // `require` refuses to run as root: the demo becomes nobody, who must reach its files.
        give_to_nobody(files.path());
        give_to_nobody(dir.path());
        args.extend(["--user", NOBODY]);
    }
    let server = common::HttpServer::start_with(Some(common::KEYS), files.path(), &args);
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains("sandbox: Landlock ABI")
                && l.contains("filesystem enforced, network enforced, seccomp filter enforced")),
        "{:?}",
        server.banner
    );
    // The container's health check, which has no shell or curl to run.
    let health = std::process::Command::new(common::bin())
        .args(["health", "--url", &server.url.replace("/mcp", "/healthz")])
        .status()
        .unwrap();
    assert!(health.success(), "notes-server health: {health}");
    let client = server.client("alice-writer-key-000").await;
    let created = common::call(
        &client,
        "notes_create",
        json!({"title": "confined", "body": "still works"}),
    )
    .await;
    common::ok(&created);
    client.cancel().await.unwrap();
    let first: Value = serde_json::from_str(
        std::fs::read_to_string(&audit)
            .unwrap()
            .lines()
            .next()
            .expect("an audit line"),
    )
    .unwrap();
    assert_eq!(first["event"], "sandboxed");
    assert_eq!(first["mode"], "require");
    assert_eq!(first["filesystem"], true);
    assert_eq!(first["network"], true);
    assert_eq!(first["seccomp"], true);
    assert_eq!(first["missing"], json!([]));
    // The manifest written at start-up is the committed one plus what was obtained.
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let sandbox = &written["sandbox"];
    assert_eq!(sandbox["mode"], "require", "{written}");
    assert_eq!(sandbox["landlock_abi"], first["landlock_abi"], "{written}");
    assert_eq!(sandbox["seccomp"], true, "{written}");
    assert_eq!(sandbox["missing"], json!([]), "{written}");
    let committed: Value =
        serde_json::from_str(include_str!("../../examples/notes-server.manifest.json")).unwrap();
    let mut without = written.clone();
    without.as_object_mut().unwrap().remove("sandbox");
    assert_eq!(
        without, committed,
        "the policy part is the committed manifest"
    );
    assert!(
        db.exists(),
        "the database was written inside its declared directory"
    );
}
