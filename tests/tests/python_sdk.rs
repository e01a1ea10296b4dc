//! The demo server with the official Python MCP SDK as the client (`tests/python/interop.py`):
//! over streamable HTTP with bearer tokens (API keys and a JWT) and over stdio, listing tools,
//! checking schema constraints, calling every tool, and seeing each denial.
//!
//! The Python interpreter is `MCP_SECURE_PYTHON`, one with the `mcp` package from
//! `tests/python/requirements.txt` (`.ci/run` builds a virtual environment for it). Without it
//! the test says SKIPPED, except in CI.

mod common;

use std::process::Command;

use common::{HttpServer, JWT_SECRET, KEYS, NOBODY, bin, files_dir, run_client, running_as_root};

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
    let mut command = Command::new(python);
    command.arg(path).envs(env.iter().copied());
    let out = run_client(command, "the Python SDK client", server);
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
    // The stdio server runs as the HTTP one does: unprivileged when the tests run as root.
    let server_args = if running_as_root() {
        format!("--user {NOBODY}")
    } else {
        String::new()
    };
    run_script(
        python,
        "interop.py",
        &server,
        &[
            ("MCP_URL", &server.url),
            ("SERVER_BIN", bin()),
            ("SERVER_ARGS", &server_args),
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
    let server = HttpServer::start_dev_auth(files.path());
    run_script(python, "oauth.py", &server, &[("MCP_URL", &server.url)]);
}

/// The same client through the OAuth proxy (`--upstream-issuer`) in front of
/// `oauth2-mock-server`: it registers at the proxy, approves its consent page, signs in at the
/// identity provider as `johndoe`, and steps up the same way (`oauth.py`).
#[test]
#[cfg_attr(
    any(skip_python, skip_node),
    ignore = "MCP_SECURE_PYTHON or MCP_SECURE_NODE is not set: a Python with tests/python/requirements.txt, and `.ci/node.sh` (oauth2-mock-server), run it (README, \"The two commands\")"
)]
fn python_sdk_oauth_through_the_proxy_with_step_up() {
    let Some(python) = python() else {
        return;
    };
    let idp = common::idp::Idp::start();
    let (files, _outside) = files_dir();
    let (server, _secret) = common::idp::start_proxy(&idp, "proxy-secret", files.path());
    run_script(
        python,
        "oauth.py",
        &server,
        &[("MCP_URL", &server.url), ("EXPECTED_USER", "johndoe")],
    );
}
