//! The demo server with the clients most people use: the TypeScript SDK v1
//! (`@modelcontextprotocol/sdk`) and v2 (`@modelcontextprotocol/client`) through
//! `tests/node/interop.mjs`, and the MCP Inspector CLI (`@modelcontextprotocol/inspector
//! --cli`). Every refusal must reach the application with its code, on tools with an output
//! schema too (SDK v1 and the Inspector check structured content even on an error result).
//!
//! Node is `MCP_SECURE_NODE`, with the packages under `MCP_SECURE_NODE_MODULES` (`.ci/node.sh`
//! installs both). Without them the tests are ignored with the reason, except in CI.

mod common;

use std::process::Command;

use common::{HttpServer, KEYS, files_dir, run_client};
use serde_json::Value;

const WRITER: &str = "alice-writer-key-000";
const READER: &str = "alice-reader-key-000";
const ALL: &str = "bob-all-key-00000000";

/// Node and the directory of its packages, or a failure naming what to install.
fn node() -> (String, String) {
    let get = |var: &str| {
        std::env::var(var).unwrap_or_else(|_| {
            panic!("{var} is not set; `.ci/node.sh` installs Node and the TypeScript clients and prints it")
        })
    };
    (get("MCP_SECURE_NODE"), get("MCP_SECURE_NODE_MODULES"))
}

#[test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and the TypeScript clients (README, \"The two commands\")"
)]
fn typescript_sdk_v1_and_v2_read_every_refusal() {
    let (node, modules) = node();
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let mut command = Command::new(node);
    command
        .arg(format!("{}/node/interop.mjs", env!("CARGO_MANIFEST_DIR")))
        .env("MCP_URL", &server.url)
        .env("WRITER", WRITER)
        .env("READER", READER)
        .env("ALL", ALL)
        .env("NODE_MODULES", modules);
    let out = run_client(command, "the TypeScript SDK clients", &server);
    assert!(out.contains("checks passed, 0 failed"), "{out}");
}

/// Runs `tests/node/oauth.mjs` with SDK `sdk` (`v1` or `v2`) against a fresh `--dev-auth` demo.
fn oauth_with(sdk: &str) {
    let (files, _outside) = files_dir();
    let server = HttpServer::start_dev_auth(files.path());
    run_oauth(sdk, &server, "alice");
}

/// Runs `tests/node/oauth.mjs` with SDK `sdk` against `server`, where `user` signs in.
fn run_oauth(sdk: &str, server: &HttpServer, user: &str) {
    let (node, modules) = node();
    let mut command = Command::new(node);
    command
        .arg(format!("{}/node/oauth.mjs", env!("CARGO_MANIFEST_DIR")))
        .env("MCP_URL", &server.url)
        .env("NODE_MODULES", modules)
        .env("SDK", sdk)
        .env("EXPECTED_USER", user);
    let out = run_client(command, "the TypeScript SDK's OAuth client", server);
    assert!(out.contains("checks passed, 0 failed"), "{out}");
}

/// SDK v2's OAuth client through the OAuth proxy (`--upstream-issuer`) in front of
/// `oauth2-mock-server`: registration at the proxy, its consent page, the sign-in at the
/// identity provider (as `johndoe`), and the step-up.
#[test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and the TypeScript clients (README, \"The two commands\")"
)]
fn typescript_sdk_v2_oauth_through_the_proxy_with_step_up() {
    let idp = common::idp::Idp::start();
    let (files, _outside) = files_dir();
    let (server, _secret) = common::idp::start_proxy(&idp, "proxy-secret", files.path());
    run_oauth("v2", &server, "johndoe");
}

/// SDK v1's OAuth client against `--dev-auth`: registration, PKCE, and a step-up after which
/// the token still holds what it held (without its refresh token: the guide's docs/src/interoperability.md names v1's bug).
#[test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and the TypeScript clients (README, \"The two commands\")"
)]
fn typescript_sdk_oauth_with_step_up() {
    oauth_with("v1");
}

/// SDK v2's OAuth client (`@modelcontextprotocol/client`): the same flow, with the callback's
/// `iss` checked (RFC 9207) and its refresh token kept.
#[test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and the TypeScript clients (README, \"The two commands\")"
)]
fn typescript_sdk_v2_oauth_with_step_up() {
    oauth_with("v2");
}

/// oauth4webapi, a DPoP client nobody here wrote (`tests/node/dpop.mjs`), against a demo that
/// requires DPoP: it signs in through the development authorization server with a key of its
/// own, calls tools with its proofs, steps up on a DPoP challenge and refreshes with a proof;
/// its bound token is refused as a bearer token.
#[test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and the TypeScript clients (README, \"The two commands\")"
)]
fn oauth4webapi_signs_in_and_calls_with_dpop() {
    oauth4webapi(false);
}

/// The same against a demo that requires server nonces (`--dpop-nonces`): oauth4webapi is
/// answered `use_dpop_nonce`, keeps the nonce from `DPoP-Nonce` and succeeds on its retry.
#[test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and the TypeScript clients (README, \"The two commands\")"
)]
fn oauth4webapi_signs_in_and_calls_with_dpop_server_nonces() {
    oauth4webapi(true);
}

fn oauth4webapi(nonces: bool) {
    let (node, modules) = node();
    let (files, _outside) = files_dir();
    let mut args = vec![
        "--dpop",
        "required",
        "--dev-auth",
        "--dev-auth-user",
        "alice",
        "--dev-auth-scopes",
        "notes:read notes:write",
    ];
    if nonces {
        args.push("--dpop-nonces");
    }
    let server = HttpServer::start_with(None, files.path(), &args);
    let mut command = Command::new(node);
    command
        .arg(format!("{}/node/dpop.mjs", env!("CARGO_MANIFEST_DIR")))
        .env("MCP_URL", &server.url)
        .env("NODE_MODULES", modules)
        .env("DPOP_NONCES", if nonces { "1" } else { "0" });
    let out = run_client(command, "oauth4webapi", &server);
    assert!(out.contains("checks passed"), "{out}");
}

/// Runs the Inspector CLI for one `tools/call` (`tools/list` when `tool` is empty), presenting
/// `key` (nothing when empty); returns the result it printed (the first JSON value of its
/// output) and its exit code.
fn inspector(url: &str, key: &str, tool: &str, args: &[String]) -> (Value, Option<i32>, String) {
    let (node, modules) = node();
    let launcher =
        format!("{modules}/@modelcontextprotocol/inspector/clients/launcher/build/index.js");
    let node_dir = std::path::Path::new(&node).parent().unwrap().to_owned();
    let path = std::env::join_paths(
        std::iter::once(node_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(&node)
        .arg(launcher)
        .args(["--cli", url, "--transport", "http"])
        .args(match key {
            "" => vec![],
            key => vec![
                "--header".to_owned(),
                format!("Authorization: Bearer {key}"),
            ],
        })
        .args(match tool {
            "" => vec!["--method", "tools/list"],
            tool => vec!["--method", "tools/call", "--tool-name", tool],
        })
        .args(if args.is_empty() {
            &[][..]
        } else {
            &["--tool-arg"][..]
        })
        .args(args)
        // The Inspector keeps a catalog under the home directory: not the user's.
        .env("HOME", home.path())
        .env("PATH", path)
        .output()
        .expect("run the Inspector CLI");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let first = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
        .unwrap_or(Value::Null);
    (first, out.status.code(), format!("{stdout}\n{stderr}"))
}

fn code(result: &Value) -> Option<&str> {
    result["_meta"][mcp_secure::tool::ERROR_META_KEY]["code"].as_str()
}

#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and the MCP Inspector (README, \"The two commands\")"
)]
async fn the_inspector_cli_reads_every_refusal() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let url = server.url.clone();
    let run = |key: &'static str, tool: &'static str, args: &[&str]| {
        let url = url.clone();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        tokio::task::spawn_blocking(move || inspector(&url, key, tool, &args))
    };

    // The listing, and every tool doing its job for a caller with its scope.
    let (listed, _, all) = run(WRITER, "", &[]).await.unwrap();
    let tools = listed["tools"].as_array().cloned().unwrap_or_default();
    let mut names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    names.sort();
    assert_eq!(names, common::DEMO_TOOLS, "{all}");
    let (note, _, all) = run(WRITER, "notes_create", &["title=every tool", "body=b"])
        .await
        .unwrap();
    let id = format!("id={}", note["structuredContent"]["id"]);
    let (found, _, all2) = run(
        WRITER,
        "notes_search",
        &["query=every tool", "sort=title", "limit=5"],
    )
    .await
    .unwrap();
    assert_eq!(
        found["structuredContent"]["notes"][0]["title"], "every tool",
        "{all}\n{all2}"
    );
    let (got, _, all) = run(WRITER, "notes_get", &[id.as_str()]).await.unwrap();
    assert_eq!(got["structuredContent"]["title"], "every tool", "{all}");
    let (read, _, all) = run(WRITER, "files_read", &["path=hello.txt", "max_bytes=64"])
        .await
        .unwrap();
    assert!(
        read["content"].to_string().contains("hello, world"),
        "{all}"
    );
    let (hook, _, all) = run(
        ALL,
        "webhook_register",
        &[
            "url=https://hooks.example.com/inspector",
            "secret=a-webhook-secret-0123456789",
        ],
    )
    .await
    .unwrap();
    assert_ne!(hook["isError"], true, "{all}");
    assert!(!all.contains("a-webhook-secret-0123456789"), "{all}");
    let (me, _, all) = run(ALL, "whoami", &[]).await.unwrap();
    assert!(me["structuredContent"].to_string().contains("bob"), "{all}");
    let (deleted, _, all) = run(WRITER, "notes_delete", &[id.as_str()]).await.unwrap();
    assert_ne!(deleted["isError"], true, "{all}");

    // Without credentials: the 401 reaches the CLI, which reports that it needs a sign-in
    // (`auth_required`; it would start OAuth at a terminal).
    let (_, status, all) = run("", "whoami", &[]).await.unwrap();
    assert_ne!(status, Some(0), "{all}");
    assert!(
        all.contains("auth_required") || all.contains("401"),
        "{all}"
    );

    let (created, _, all) = run(
        WRITER,
        "notes_create",
        &["title=from the inspector", "body=b"],
    )
    .await
    .unwrap();
    assert_eq!(
        created["structuredContent"]["title"], "from the inspector",
        "{all}"
    );

    let (missing, status, all) = run(WRITER, "notes_get", &["id=987654321"]).await.unwrap();
    assert_eq!(code(&missing), Some("not_found"), "{all}");
    assert_eq!(missing["isError"], true, "{all}");
    assert!(missing.get("structuredContent").is_none(), "{all}");
    assert_ne!(status, Some(0), "a tool error is not a success: {all}");

    let (invalid, _, all) = run(WRITER, "notes_create", &["title=t", "body=b", "owner=bob"])
        .await
        .unwrap();
    assert_eq!(code(&invalid), Some("invalid_input"), "{all}");
    assert_eq!(
        invalid["_meta"][mcp_secure::tool::ERROR_META_KEY]["violations"][0]["field"],
        "owner",
        "{all}"
    );

    // notes_create allows 30 a minute: spent, and kept spent while the Inspector calls it
    // (one call refills every 2 s, about as long as the Inspector takes to start).
    let client = std::sync::Arc::new(server.client(WRITER).await);
    let spend = |client: std::sync::Arc<common::Client>| async move {
        let args = serde_json::json!({"title": "t", "body": "b"});
        common::error_code(&common::call(&client, "notes_create", args).await)
    };
    let mut spent = false;
    for _ in 0..40 {
        if spend(client.clone()).await.as_deref() == Some("rate_limited") {
            spent = true;
            break;
        }
    }
    assert!(spent, "the limit was never reached");
    let keep_spent = tokio::spawn({
        let client = client.clone();
        async move {
            loop {
                spend(client.clone()).await;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    });
    let (limited, _, all) = run(WRITER, "notes_create", &["title=t", "body=b"])
        .await
        .unwrap();
    assert_eq!(code(&limited), Some("rate_limited"), "{all}");
    keep_spent.abort();
    assert!(
        limited["_meta"][mcp_secure::tool::ERROR_META_KEY]["retry_after_ms"].is_u64(),
        "{all}"
    );

    // Refused by the HTTP layer before the tool: the 403's code is in what the CLI prints.
    let (_, status, all) = run(READER, "notes_create", &["title=t", "body=b"])
        .await
        .unwrap();
    assert_ne!(status, Some(0), "{all}");
    assert!(
        all.contains("insufficient_scope") || all.to_lowercase().contains("insufficient scope"),
        "{all}"
    );
    drop(client);
}
