//! The demo server with the official Python MCP SDK as the client (`tests/python/interop.py`):
//! over streamable HTTP with bearer tokens (API keys and a JWT) and over stdio, listing tools,
//! checking schema constraints, calling every tool, and seeing each denial.
//!
//! The Python interpreter is `MCP_SECURE_PYTHON`, one with the `mcp` package from
//! `tests/python/requirements.txt` (`.ci/run` builds a virtual environment for it). Without it
//! the test says SKIPPED, except in CI.

mod common;

use std::{
    io::Read,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{HttpServer, JWT_SECRET, KEYS, bin, files_dir};

/// The Python interpreter with the `mcp` package, or `None` (outside CI) to skip.
fn python() -> Option<std::ffi::OsString> {
    let python = std::env::var_os("MCP_SECURE_PYTHON");
    if python.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "MCP_SECURE_PYTHON is not set; .ci/run sets it to a virtual environment with tests/python/requirements.txt"
        );
        eprintln!(
            "SKIPPED: set MCP_SECURE_PYTHON to a Python with `pip install -r tests/python/requirements.txt` to run the Python SDK tests"
        );
    }
    python
}

/// Runs `tests/python/<script>` with `env` against `server`; fails with the script's output (and
/// what the server logged meanwhile) unless it passes every check.
fn run_script(python: std::ffi::OsString, script: &str, server: &HttpServer, env: &[(&str, &str)]) {
    let path = format!("{}/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(python)
        .arg(path)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the Python script");
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
            panic!("the Python client did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    println!("{out}");
    assert!(
        status.success(),
        "the Python SDK client failed:\n{out}\n--- stderr ---\n{err}\n--- the server logged ---\n{}",
        server.drain_stderr().join("\n")
    );
    assert!(out.contains("checks passed"), "{out}");
}

#[test]
#[cfg_attr(
    skip_python,
    ignore = "MCP_SECURE_PYTHON is not set: a Python with tests/python/requirements.txt runs it (README, \"The two commands\")"
)]
fn python_sdk_client() {
    let Some(python) = python() else {
        return;
    };
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let token = Command::new(bin())
        .args([
            "token",
            "--sub",
            "carol",
            "--scope",
            "notes:write",
            "--url",
            &server.url,
        ])
        .env("NOTES_JWT_SECRET", JWT_SECRET)
        .output()
        .expect("mint a token");
    assert!(token.status.success(), "{token:?}");
    let jwt = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    let files_path = files.path().to_str().unwrap();
    run_script(
        python,
        "interop.py",
        &server,
        &[
            ("MCP_URL", &server.url),
            ("SERVER_BIN", bin()),
            ("FILES_DIR", files_path),
            ("NOTES_JWT_SECRET", JWT_SECRET),
            ("NOTES_API_KEYS", KEYS),
            ("WRITER", "alice-writer-key-000"),
            ("READER", "alice-reader-key-000"),
            ("BOB", "bob-all-key-00000000"),
            ("CAROL_JWT", &jwt),
        ],
    );
}

/// The SDK's OAuth client against `--dev-auth`: registration, PKCE, step-up (`oauth.py`).
#[test]
#[cfg_attr(
    skip_python,
    ignore = "MCP_SECURE_PYTHON is not set: a Python with tests/python/requirements.txt runs it (README, \"The two commands\")"
)]
fn python_sdk_oauth_with_step_up() {
    let Some(python) = python() else {
        return;
    };
    let (files, _outside) = files_dir();
    let server = HttpServer::start_with(
        None,
        files.path(),
        &[
            "--dev-auth",
            "--dev-auth-user",
            "alice",
            "--dev-auth-scopes",
            "notes:read notes:write",
        ],
    );
    run_script(python, "oauth.py", &server, &[("MCP_URL", &server.url)]);
}
