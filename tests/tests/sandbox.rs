//! The kernel confines the process, not only the type system the tools: a server whose tools
//! have deliberate bugs (`sandbox-probe`: read any path, run a shell, connect to any port) is
//! run confined over stdio, and each bug is refused by Landlock or seccomp, while the server
//! keeps serving. The same server run without the sandbox does all three, so the refusals are
//! the sandbox's.

mod common;

use std::{net::TcpListener, os::unix::fs::PermissionsExt, path::Path, process::Stdio};

use rmcp::{
    ServiceExt,
    model::CallToolRequestParams,
    transport::{ConfigureCommandExt, TokioChildProcess},
};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use common::{NOBODY, give_to_nobody, running_as_root};

/// The probe, confined to `root` (readable), `out` (writable: a write-scoped tool names it)
/// and to connecting to `port`, in `mode` (as `nobody` when the test runs as root); and the
/// report it printed.
async fn probe(root: &Path, out: &Path, port: u16, mode: &str) -> (common::Client, Value) {
    probe_reading(root, out, port, mode, None).await
}

/// [`probe`], also granted reading the one file `file` (as the demo's key file is).
async fn probe_reading(
    root: &Path,
    out: &Path,
    port: u16,
    mode: &str,
    file: Option<&Path>,
) -> (common::Client, Value) {
    let command =
        tokio::process::Command::new(env!("CARGO_BIN_EXE_sandbox-probe")).configure(|cmd| {
            cmd.arg(root).arg(out).arg(port.to_string()).arg(mode);
            if let Some(file) = file {
                cmd.env("SANDBOX_PROBE_READ", file);
            }
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
        // EACCES, as the guide says (docs/src/sandbox.md): Landlock's refusal.
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
        "forbidden",
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
    assert_eq!(
        tool(&client, "read_any", json!({"path": "/etc/passwd"})).await,
        "ok"
    );
    // A directory: read as a file it answers EISDIR, which the kernel's permission let through.
    assert!(
        !tool(&client, "read_any", read(root.path().parent().unwrap()))
            .await
            .starts_with("denied"),
        "the root's parent, unconfined"
    );
    assert_eq!(tool(&client, "write_any", inside(root.path())).await, "ok");
    assert_eq!(tool(&client, "run_shell", json!({})).await, "ok");
    assert_eq!(
        tool(&client, "connect", json!({ "port": undeclared })).await,
        "ok"
    );
    client.cancel().await.unwrap();
}

/// A victim process of the probe's own user, which only the sandbox keeps it from signalling.
fn victim() -> std::process::Child {
    let mut sleep = std::process::Command::new("sleep");
    sleep.arg("300");
    if running_as_root() {
        std::os::unix::process::CommandExt::uid(&mut sleep, 65534);
    }
    sleep.spawn().expect("start sleep")
}

/// A tool's bug reaching past the process: its own `/proc` files (where the environment, the
/// command line and the memory hold the secrets), another process's, sockets Landlock's TCP
/// rules do not cover, file metadata Landlock has no right for, and signals. Each is refused,
/// from a worker thread and from a thread the tool starts; unconfined, each goes through.
#[tokio::test]
async fn the_kernel_refuses_what_lies_beside_files_and_tcp() {
    let root = tempfile::tempdir().unwrap();
    let served = root.path().join("served.txt");
    std::fs::write(&served, "served").unwrap();
    let out = tempfile::tempdir().unwrap();
    // Unix listeners of the test's, at a path anyone may reach and in the abstract namespace.
    let sockets = tempfile::tempdir().unwrap();
    std::fs::set_permissions(sockets.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let unix_path = sockets.path().join("s");
    let _unix = std::os::unix::net::UnixListener::bind(&unix_path).unwrap();
    std::fs::set_permissions(&unix_path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let abstract_name = format!("mcp-secure-probe-{}", std::process::id());
    let _abstract = std::os::unix::net::UnixListener::bind_addr(
        &<std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(
            abstract_name.as_bytes(),
        )
        .unwrap(),
    )
    .unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    let listeners = [
        TcpListener::bind("127.0.0.1:0").unwrap(),
        TcpListener::bind("127.0.0.1:0").unwrap(),
    ];
    let [declared, undeclared] = listeners.each_ref().map(|l| l.local_addr().unwrap().port());
    if running_as_root() {
        give_to_nobody(root.path());
        give_to_nobody(out.path());
    }
    let path = |p: &Path| json!({ "path": p.to_str().unwrap() });
    let proc_files = |own: u32| {
        let mut files: Vec<String> = ["environ", "cmdline", "mem", "maps", "auxv", "stack"]
            .iter()
            .map(|f| format!("/proc/self/{f}"))
            .collect();
        files.extend([
            format!("/proc/{own}/environ"),
            "/proc/thread-self/environ".into(),
            format!("/proc/{}/environ", std::process::id()),
            "/proc/1/cmdline".into(),
            "/proc/sys/kernel/hostname".into(),
        ]);
        files
    };

    // A key file granted alone, beside a TLS key that must stay unreadable.
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("keys.txt");
    let tls_key = keys.path().join("tls.key");
    std::fs::write(&key_file, "k alice").unwrap();
    std::fs::write(&tls_key, "-----BEGIN PRIVATE KEY-----").unwrap();
    if running_as_root() {
        give_to_nobody(keys.path());
    }
    let (client, report) = probe_reading(
        root.path(),
        out.path(),
        declared,
        "require",
        Some(&key_file),
    )
    .await;
    assert_eq!(tool(&client, "read_any", path(&key_file)).await, "ok");
    assert_eq!(tool(&client, "read_any", path(&tls_key)).await, "denied");
    assert_eq!(tool(&client, "read_any", path(keys.path())).await, "denied");
    assert_eq!(report["non_dumpable"], true, "{report}");
    assert_eq!(report["signals_scoped"], true, "{report}");
    assert!(report["landlock_abi"].as_u64().unwrap() >= 6, "{report}");
    assert_eq!(report["limits"]["processes"], 1024, "{report}");
    // 8192, or the hard limit in force when lower (the probe inherits the test's).
    let hard_files: u64 = std::fs::read_to_string("/proc/self/limits")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .expect("the test's open-files limit");
    assert_eq!(
        report["limits"]["open_files"],
        hard_files.min(8192),
        "{report}"
    );
    assert_eq!(
        report["syscalls"],
        json!({"exec": false, "tcp": true, "udp": false, "listen": false, "file_metadata": false}),
        "{report}"
    );
    let own = tool(&client, "own_pid", json!({})).await;
    let own: u32 = own.parse().expect("a pid");
    for file in proc_files(own) {
        for reader in ["read_any", "read_in_new_thread"] {
            assert_eq!(
                tool(&client, reader, json!({ "path": file })).await,
                "denied",
                "{reader} {file}"
            );
        }
    }
    for (family, kind, protocol, what) in [
        (1, 1, 0, "unix stream"),
        (1, 2, 0, "unix datagram"),
        (16, 2, 0, "netlink"),
        (2, 2, 0, "UDP"),
        (10, 2, 17, "UDP over IPv6"),
        (2, 1, 262, "MPTCP"),
        (2, 3, 1, "raw ICMP"),
        (2, 5, 132, "SCTP"),
        (40, 1, 0, "vsock"),
    ] {
        let args = json!({"family": family, "kind": kind, "protocol": protocol});
        assert_eq!(tool(&client, "socket", args).await, "forbidden", "{what}");
    }
    let tcp = json!({"family": 10, "kind": 1, "protocol": 6});
    assert_eq!(tool(&client, "socket", tcp).await, "ok", "a TCP socket");
    for (name, args, what) in [
        ("udp_send", json!({ "port": udp_port }), "a UDP datagram"),
        (
            "mptcp_connect",
            json!({ "port": undeclared }),
            "MPTCP to an undeclared port",
        ),
        (
            "unix_connect",
            json!({ "address": unix_path.to_str().unwrap() }),
            "a unix socket path",
        ),
        (
            "unix_connect",
            json!({ "address": format!("@{abstract_name}") }),
            "an abstract unix socket",
        ),
    ] {
        assert_eq!(tool(&client, name, args).await, "forbidden", "{what}");
    }
    for how in ["chmod", "chown", "setxattr"] {
        for file in [&served, &out.path().to_path_buf()] {
            let args = json!({ "path": file.to_str().unwrap(), "how": how });
            assert_eq!(
                tool(&client, "change_metadata", args).await,
                "forbidden",
                "{how} {}",
                file.display()
            );
        }
    }
    let mut sleeping = victim();
    let pid = json!({ "pid": sleeping.id() });
    assert_eq!(
        tool(&client, "signal", pid.clone()).await,
        "forbidden",
        "another process"
    );
    assert_eq!(
        tool(&client, "limit_other", pid.clone()).await,
        "forbidden",
        "another process's limits"
    );
    assert!(sleeping.try_wait().unwrap().is_none(), "the victim lives");
    assert_eq!(
        tool(&client, "listen_unbound", json!({})).await,
        "forbidden",
        "a listener on a port the kernel picks"
    );
    assert_eq!(
        tool(&client, "set_file_flags", path(&served)).await,
        "forbidden",
        "chattr of a file in a read-only root"
    );
    let setuid = out.path().join("setuid");
    assert_eq!(
        tool(&client, "create_setuid", path(&setuid)).await,
        "forbidden",
        "a set-user-ID file in a writable root"
    );
    assert!(!setuid.exists());
    // Still serving.
    assert_eq!(tool(&client, "read_any", path(&served)).await, "ok");
    client.cancel().await.unwrap();

    // Unconfined, the same bugs go through: the refusals above are the kernel's.
    let (client, _) = probe(root.path(), out.path(), declared, "off").await;
    for file in ["/proc/self/environ", "/proc/self/maps"] {
        for reader in ["read_any", "read_in_new_thread"] {
            assert_eq!(
                tool(&client, reader, json!({ "path": file })).await,
                "ok",
                "{reader} {file}"
            );
        }
    }
    for (family, kind, protocol) in [(1, 1, 0), (16, 2, 0), (2, 2, 0)] {
        let args = json!({"family": family, "kind": kind, "protocol": protocol});
        assert_eq!(
            tool(&client, "socket", args).await,
            "ok",
            "{family}/{kind}/{protocol}"
        );
    }
    assert_eq!(
        tool(&client, "udp_send", json!({ "port": udp_port })).await,
        "ok"
    );
    assert_eq!(
        tool(
            &client,
            "unix_connect",
            json!({ "address": format!("@{abstract_name}") })
        )
        .await,
        "ok"
    );
    assert_eq!(
        tool(
            &client,
            "unix_connect",
            json!({ "address": unix_path.to_str().unwrap() })
        )
        .await,
        "ok"
    );
    for how in ["chmod", "chown"] {
        let args = json!({ "path": served.to_str().unwrap(), "how": how });
        assert_eq!(tool(&client, "change_metadata", args).await, "ok", "{how}");
    }
    assert_eq!(tool(&client, "listen_unbound", json!({})).await, "ok");
    assert_eq!(
        tool(&client, "create_setuid", path(&setuid)).await,
        "ok",
        "a set-user-ID file"
    );
    assert_eq!(tool(&client, "signal", pid).await, "ok", "another process");
    assert!(sleeping.wait().is_ok());
    // The unconfined probe keeps the test's user (root may lack CAP_SYS_RESOURCE): a victim
    // of that user.
    let mut own = std::process::Command::new("sleep")
        .arg("300")
        .spawn()
        .expect("start sleep");
    let own_pid = json!({ "pid": own.id() });
    assert_eq!(tool(&client, "limit_other", own_pid).await, "ok");
    own.kill().unwrap();
    own.wait().unwrap();
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
    let args = vec![
        "--sandbox",
        "require",
        "--audit-log",
        audit.to_str().unwrap(),
        "--manifest-out",
        manifest.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ];
    // `require` refuses to run as root: run as root, the test's demo becomes nobody
    // (`common::unprivileged`), who is given its files.
    let server = common::HttpServer::start_with(Some(common::KEYS), files.path(), &args);
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains("sandbox: Landlock ABI")
                && l.contains(
                    "filesystem enforced, network enforced, signals scoped, seccomp filter enforced"
                )
                && l.contains("non-dumpable, limits: no core files")),
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
    assert_eq!(first["signals_scoped"], true);
    assert_eq!(first["non_dumpable"], true);
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

/// Landlock's rights add up along a path, so a read-only files root inside the database's
/// writable directory would be writable: `require` refuses to start, `best-effort` says so.
#[tokio::test]
async fn a_read_only_root_inside_a_writable_grant_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    let db = dir.path().join("notes.db");
    if running_as_root() {
        give_to_nobody(dir.path());
    }
    let run = |mode: &str| {
        let mut cmd = std::process::Command::new(common::bin());
        cmd.args(["stdio", "--sandbox", mode, "--db"])
            .arg(&db)
            .arg("--files")
            .arg(&files)
            .stdin(Stdio::null());
        if running_as_root() {
            cmd.args(["--user", NOBODY]);
        }
        cmd.output().unwrap()
    };
    let refused = run("require");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("is declared read-only but lies inside a writable grant")
            && stderr.contains(files.to_str().unwrap()),
        "{stderr}"
    );
    let reported = run("best-effort");
    let stderr = String::from_utf8_lossy(&reported.stderr);
    assert!(
        stderr.contains(&format!(
            "missing: read-only {}: it lies inside a writable grant",
            files.display()
        )),
        "{stderr}"
    );
    // With the database in a directory of its own (the default layout), it starts.
    let own = dir.path().join("db");
    std::fs::create_dir(&own).unwrap();
    if running_as_root() {
        give_to_nobody(&own);
    }
    let mut cmd = std::process::Command::new(common::bin());
    cmd.args(["stdio", "--sandbox", "require", "--db"])
        .arg(own.join("notes.db"))
        .arg("--files")
        .arg(&files)
        .stdin(Stdio::null());
    if running_as_root() {
        cmd.args(["--user", NOBODY]);
    }
    let started = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&started.stderr);
    assert!(
        stderr.contains("sandbox: Landlock ABI") && !stderr.contains("missing:"),
        "{stderr}"
    );
}

/// The key file's neighbours stay unreadable: a key file sharing its directory is granted alone
/// (and the operator is told that a replacement by rename will not be readable); one in a
/// directory of its own is granted with the directory, so that a replacement is readable too
/// (`key_reload.rs` replaces it under the default sandbox).
#[tokio::test]
async fn a_key_file_beside_other_secrets_is_granted_alone() {
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("keys.txt");
    std::fs::write(&key_file, "alice-key-0123456789 alice notes:read\n").unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let start = |db: &Path| {
        let output = std::process::Command::new(common::bin())
            .args([
                "stdio",
                "--sandbox",
                "best-effort",
                "--db",
                ":memory:",
                "--files",
            ])
            .arg(db)
            .arg("--api-keys-file")
            .arg(&key_file)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let files = tempfile::tempdir().unwrap();
    let alone = start(files.path());
    assert!(alone.contains("sandbox: Landlock ABI"), "{alone}");
    assert!(!alone.contains("shares its directory"), "{alone}");
    std::fs::write(keys.path().join("tls.key"), "-----BEGIN PRIVATE KEY-----").unwrap();
    let beside = start(files.path());
    assert!(
        beside.contains(&format!(
            "sandbox: {} shares its directory with other files, so only the file is readable",
            key_file.display()
        )),
        "{beside}"
    );
}
