//! A tool cannot change unseen between the listing a person reviewed and the one a model
//! reads (a "rug pull", OWASP MCP03): each listed tool carries the digest of its definition,
//! which a client recomputes from what it was sent and compares with the committed manifest;
//! and the demo, given that manifest with `--manifest-pin`, refuses to start when a tool's
//! definition differs from it.

mod common;

use std::{collections::BTreeMap, process::Command};

use common::{HttpServer, KEYS, bin, files_dir, refused_at_start, serve_args};
use mcp_secure::tool::digest::DIGEST_META_KEY;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The committed manifest's digest of each tool.
fn committed() -> BTreeMap<String, String> {
    let manifest: Value =
        serde_json::from_str(include_str!("../../examples/notes-server.manifest.json")).unwrap();
    manifest["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let digest = t["digest"].as_str().expect("every tool has a digest");
            (t["name"].as_str().unwrap().to_owned(), digest.to_owned())
        })
        .collect()
}

/// What a client does: the tool as listed, less its digest, in canonical JSON (RFC 8785;
/// the demo's definitions have ASCII keys and integer numbers, for which sorted keys and no
/// whitespace are the whole of it), hashed with SHA-256.
fn recomputed(listed: &Value) -> String {
    let mut tool = listed.clone();
    let meta = tool["_meta"].as_object_mut().unwrap();
    meta.remove(DIGEST_META_KEY)
        .expect("the listing carries the digest");
    if meta.is_empty() {
        tool.as_object_mut().unwrap().remove("_meta");
    }
    // RFC 8785 (JCS): keys sorted (ASCII here, where byte and UTF-16 order agree), compact.
    // Sorted by hand: serde_json keeps insertion order when a dependency (Cedar) turns on its
    // `preserve_order`.
    let hash = Sha256::digest(serde_json::to_string(&sorted(tool)).unwrap().as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        v => v,
    }
}

#[tokio::test]
async fn a_client_recomputes_each_listed_digest_and_finds_the_committed_one() {
    let (files, _outside) = files_dir();
    let pin = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/notes-server.manifest.json"
    );
    // Pinned to the committed manifest, the demo starts.
    let server = HttpServer::start_with(Some(KEYS), files.path(), &["--manifest-pin", pin]);
    let client = server.client("alice-reader-key-000").await;
    let listed = client.list_tools(None).await.unwrap();
    let pinned = committed();
    assert_eq!(listed.tools.len(), pinned.len());
    for tool in &listed.tools {
        let json = serde_json::to_value(tool).unwrap();
        let carried = json["_meta"][DIGEST_META_KEY].as_str().unwrap();
        assert_eq!(recomputed(&json), carried, "{}", tool.name);
        assert_eq!(pinned[tool.name.as_ref()], carried, "{}", tool.name);
    }
    client.cancel().await.unwrap();
}

/// The demo with `--manifest-pin` of `manifest`: its standard error, if it refused to start.
fn start_pinned(manifest: &str) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.json");
    std::fs::write(&path, manifest).unwrap();
    let (files, _outside) = files_dir();
    let mut cmd = Command::new(bin());
    serve_args(&mut cmd, files.path())
        .arg("--manifest-pin")
        .arg(&path)
        .env("NOTES_API_KEYS", KEYS);
    refused_at_start(cmd)
}

#[test]
fn the_demo_refuses_to_start_when_a_tool_differs_from_the_pinned_manifest() {
    let committed = include_str!("../../examples/notes-server.manifest.json");
    // A manifest reviewed when `notes_create` was defined otherwise.
    let mut manifest: Value = serde_json::from_str(committed).unwrap();
    for tool in manifest["tools"].as_array_mut().unwrap() {
        if tool["name"] == "notes_create" {
            tool["digest"] = Value::from(format!("sha256:{}", "0".repeat(64)));
        }
    }
    let refusal = start_pinned(&manifest.to_string()).expect("the demo refuses to start");
    assert!(
        refusal.contains("the tools differ from the committed manifest: changed: notes_create;"),
        "{refusal}"
    );
    // A tool the reviewer never saw, and one it saw that is gone.
    let mut manifest: Value = serde_json::from_str(committed).unwrap();
    let tools = manifest["tools"].as_array_mut().unwrap();
    tools.retain(|t| t["name"] != "whoami");
    tools.push(serde_json::json!({ "name": "notes_export", "digest": "sha256:1" }));
    let refusal = start_pinned(&manifest.to_string()).expect("the demo refuses to start");
    assert!(
        refusal.contains("added: whoami; removed: notes_export;"),
        "{refusal}"
    );
    // The right digest beside a description, scope and annotations the tool does not have
    // (an outside tester's probe): what a reviewer reads cannot lie either.
    let mut manifest: Value = serde_json::from_str(committed).unwrap();
    for tool in manifest["tools"].as_array_mut().unwrap() {
        if tool["name"] == "notes_delete" {
            tool["description"] = Value::from("Harmless: lists nothing.");
            tool["policy"]["scope"] = Value::from("admin:root");
        }
    }
    let refusal = start_pinned(&manifest.to_string()).expect("the demo refuses to start");
    assert!(refusal.contains("changed: notes_delete;"), "{refusal}");
    // A tool named twice, the second entry saying otherwise.
    let mut manifest: Value = serde_json::from_str(committed).unwrap();
    let tools = manifest["tools"].as_array_mut().unwrap();
    let mut twin = tools[0].clone();
    twin["digest"] = Value::from(format!("sha256:{}", "0".repeat(64)));
    tools.push(twin);
    let refusal = start_pinned(&manifest.to_string()).expect("the demo refuses to start");
    assert!(
        refusal.contains("not a manifest with tool digests"),
        "{refusal}"
    );
    // Not a manifest with digests.
    let refusal = start_pinned("{}").expect("the demo refuses to start");
    assert!(
        refusal.contains("not a manifest with tool digests"),
        "{refusal}"
    );
}

mcp_secure::scopes! {
    /// Administration.
    "admin:all",
}

#[derive(Clone)]
struct Twice;

mod strict {
    use mcp_secure::prelude::*;

    #[mcp_tools(router = strict_router)]
    impl super::Twice {
        /// For administrators.
        #[mcp_tool(scope = "admin:all", rate = "10/s")]
        async fn dup(&self) -> String {
            "strict".into()
        }
    }
}

mod loose {
    use mcp_secure::prelude::*;

    #[mcp_tools(router = loose_router)]
    impl super::Twice {
        /// Actually public.
        #[mcp_tool(public, rate = "10/s", name = "dup")]
        async fn dup_loose(&self) -> String {
            "loose".into()
        }
    }
}

/// Two tools of one name would be routed to one and checked by the other's policy (an outside
/// tester's probe): combining them refuses, naming the tool.
#[test]
#[should_panic(expected = "two tools of this server are named `dup`")]
fn two_tools_of_one_name_do_not_combine() {
    let _ = Twice::strict_router_tools() + Twice::loose_router_tools();
}
