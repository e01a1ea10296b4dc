//! API keys reloaded without a restart: a replaced key file, or a SIGHUP, takes effect, a
//! broken file keeps the keys as they were, and each reload is audited. The tests wait for
//! each effect with a generous bound and assert the effect, never how soon it came.

mod common;

use std::{path::Path, time::Duration};

use common::*;
use serde_json::Value;

async fn status(server: &HttpServer, key: &str) -> u16 {
    post_initialize(&server.url, Some(&format!("Bearer {key}")))
        .await
        .status()
        .as_u16()
}

/// Waits, a generous while, for the audit log at `path` to hold an event `matches`: the
/// event is asserted, not how soon it came.
async fn audited(path: &Path, matches: impl Fn(&Value) -> bool) {
    for _ in 0..600 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|e| matches(&e))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the event never reached the audit log");
}

/// Writes `text` to `path` as a deployment does: a new file renamed over the old one.
fn replace(path: &Path, text: &str) {
    let next = path.with_extension("new");
    std::fs::write(&next, text).unwrap();
    std::fs::rename(&next, path).unwrap();
}

#[tokio::test]
async fn a_replaced_key_file_takes_effect_without_a_restart() {
    let (files, _outside) = files_dir();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let audit = dir.path().join("audit.jsonl");
    std::fs::write(&keys, "alice-key-0123456789 alice notes:read\n").unwrap();
    let server = HttpServer::start_with(
        None,
        files.path(),
        &[
            "--api-keys-file",
            keys.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    );
    assert_eq!(status(&server, "alice-key-0123456789").await, 200);
    assert_eq!(status(&server, "carol-key-0123456789").await, 401);

    // Alice's key revoked, Carol's added.
    replace(&keys, "carol-key-0123456789 carol notes:read\n");
    eventually(&server, "alice-key-0123456789", 401).await;
    assert_eq!(status(&server, "carol-key-0123456789").await, 200);

    // A broken file is refused: the keys stay.
    replace(&keys, "carol-key-0123456789\n");
    audited(&audit, |e| {
        e["event"] == "keys_reloaded"
            && e["refused"].as_str().is_some_and(|r| r.contains("entry 1"))
    })
    .await;
    assert_eq!(status(&server, "carol-key-0123456789").await, 200);

    // SIGHUP reloads at once.
    replace(&keys, "dave-key-01234567890 dave notes:read\n");
    let hangup = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(hangup.success());
    eventually(&server, "dave-key-01234567890", 200).await;
    assert_eq!(status(&server, "carol-key-0123456789").await, 401);
    let said = server.drain_stderr();
    assert!(
        said.iter().any(|l| l.contains("SIGHUP: 1 API keys loaded")),
        "{said:?}"
    );

    let events: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &Value| e["event"] == "keys_reloaded")
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["refused"].is_null() && e["entries"] == 1)
    );
    assert!(
        events
            .iter()
            .any(|e| e["refused"].as_str().is_some_and(|r| r.contains("entry 1")))
    );
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(!text.contains("-key-0123456789"), "no key in the audit log");
    assert!(
        !text.contains(dir.path().to_str().unwrap()),
        "no path in the audit log"
    );
}

/// `/readyz` of the demo: its status code and body.
async fn readiness(server: &HttpServer) -> (u16, Value) {
    let url = server.url.replace("/mcp", "/readyz");
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Waits, a generous while, for `key` to be answered `expected`: the answer is asserted, not
/// how soon it came.
async fn eventually(server: &HttpServer, key: &str, expected: u16) {
    for _ in 0..600 {
        if status(server, key).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{key} is never answered {expected}");
}

#[tokio::test]
async fn a_deleted_key_file_refuses_every_key_and_says_so() {
    let (files, _outside) = files_dir();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let audit = dir.path().join("audit.jsonl");
    std::fs::write(&keys, "alice-key-0123456789 alice notes:read\n").unwrap();
    let server = HttpServer::start_with(
        None,
        files.path(),
        &[
            "--api-keys-file",
            keys.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    );
    assert_eq!(status(&server, "alice-key-0123456789").await, 200);
    assert_eq!(readiness(&server).await.0, 200);

    // Deleted: once the watcher has seen it gone past its grace, no key works, the server
    // is not ready, and the audit log says why.
    std::fs::remove_file(&keys).unwrap();
    eventually(&server, "alice-key-0123456789", 401).await;
    assert_eq!(
        readiness(&server).await,
        (
            503,
            serde_json::json!({"status": "not_ready", "failing": ["api_key_file"]})
        )
    );
    let missing = |audit: &Path| {
        std::fs::read_to_string(audit)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| {
                e["event"] == "keys_reloaded"
                    && e["entries"] == 0
                    && e["refused"]
                        .as_str()
                        .is_some_and(|r| r.contains("missing: every API key is refused"))
            })
            .count()
    };
    assert_eq!(missing(&audit), 1, "said once, in the audit log");

    // Back: its keys work again, and the server is ready.
    std::fs::write(&keys, "alice-key-0123456789 alice notes:read\n").unwrap();
    eventually(&server, "alice-key-0123456789", 200).await;
    assert_eq!(readiness(&server).await.0, 200);

    // Deleted, then SIGHUP: refused at once, without waiting for the watcher.
    std::fs::remove_file(&keys).unwrap();
    let hangup = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(hangup.success());
    eventually(&server, "alice-key-0123456789", 401).await;
    let mut said = Vec::new();
    for _ in 0..100 {
        said.extend(server.drain_stderr());
        if said.iter().any(|l| l.contains("SIGHUP")) {
            break;
        }
    }
    assert!(
        said.iter()
            .any(|l| l.contains("SIGHUP") && l.contains("every API key is refused")),
        "{said:?}"
    );
    assert!(missing(&audit) >= 2);
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(!text.contains(dir.path().to_str().unwrap()), "no path");
}

/// A key file sharing its directory is granted alone by the sandbox (its neighbours stay
/// unreadable), so a replacement by rename cannot be read: the replaced keys must not stay in
/// force. Every key is refused, the server is not ready, and the audit log says why.
#[tokio::test]
async fn a_replacement_the_sandbox_cannot_read_refuses_every_key() {
    let (files, _outside) = files_dir();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let audit = dir.path().join("audit.jsonl");
    std::fs::write(dir.path().join("tls.key"), "a neighbour").unwrap();
    std::fs::write(
        &keys,
        "alice-key-0123456789 alice notes:read\nbob-key-0123456789ab bob notes:read\n",
    )
    .unwrap();
    let server = HttpServer::start_with(
        None,
        files.path(),
        &[
            "--api-keys-file",
            keys.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    );
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains("shares its directory with other files")),
        "{:?}",
        server.banner
    );
    assert_eq!(status(&server, "bob-key-0123456789ab").await, 200);
    // Bob revoked the way `mv`, editors and Kubernetes do it: a new file renamed over the old.
    let new = dir.path().join("keys.new");
    std::fs::write(&new, "alice-key-0123456789 alice notes:read\n").unwrap();
    std::fs::rename(&new, &keys).unwrap();
    eventually(&server, "bob-key-0123456789ab", 401).await;
    assert_eq!(status(&server, "alice-key-0123456789").await, 401);
    assert_eq!(readiness(&server).await.0, 503);
    let said = std::fs::read_to_string(&audit).unwrap();
    assert!(
        said.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .any(|e| e["event"] == "keys_reloaded"
                && e["entries"] == 0
                && e["refused"]
                    .as_str()
                    .is_some_and(|r| r.contains("cannot be read: every API key is refused"))),
        "{said}"
    );
}
