//! Load over real HTTP: 50 concurrent rmcp clients (25 writers, 25 readers) make 20 000 tool
//! calls against the demo. Every answer must be a success or the intended refusal (a reader's
//! `notes_create` is refused for its scope; calls over a tool's rate are `rate_limited`); every
//! caller's allowed calls must stay within its rate's bound for the time the run took; the
//! server's memory must stay bounded. Loopback only, bounded, self-stopping.

mod common;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use common::*;
use rmcp::model::CallToolRequestParams;
use serde_json::json;

const CLIENTS: usize = 50;
const CALLS_PER_CLIENT: usize = 400;

fn key(i: usize) -> String {
    format!("load-key-{i:03}-0123456789")
}

/// The server's resident memory; a test that cannot read it fails rather than compare zeros.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .filter(|&kib| kib > 0)
        .unwrap_or_else(|| panic!("the server's memory cannot be read from /proc/{pid}/status"))
}

/// How much the server's memory may grow over the run: measured +16.3 MB (22.8 → 39.1 MB,
/// SECURITY.md "Figures"), with a margin of 2.5 times for the allocator's moods.
const GROWTH_KIB: u64 = 40 * 1024;

#[derive(Default)]
struct Tally {
    allowed: HashMap<(usize, &'static str), u64>,
    rate_limited: u64,
    scope_refused: u64,
    unexpected: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_twenty_thousand_calls() {
    let (files, _outside) = files_dir();
    let keys: String = (0..CLIENTS)
        .map(|i| {
            let scope = if i % 2 == 0 {
                "notes:write"
            } else {
                "notes:read"
            };
            format!("{} user{i} {scope}", key(i))
        })
        .collect::<Vec<_>>()
        .join(";");
    let server = HttpServer::start(Some(&keys), files.path());
    let pid = server.pid();
    let rss_before = rss_kib(pid);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let url = server.url.clone();
        let tally = tally.clone();
        tasks.push(tokio::spawn(async move {
            let client = connect(&url, &key(i)).await;
            for n in 0..CALLS_PER_CLIENT {
                let (tool, args): (&'static str, _) = match n % 4 {
                    0 => ("whoami", json!({})),
                    1 => (
                        "notes_search",
                        json!({"query": "load", "sort": "created", "limit": 5}),
                    ),
                    2 => (
                        "notes_create",
                        json!({"title": format!("load {i} {n}"), "body": "x"}),
                    ),
                    _ => ("notes_get", json!({"id": 1})),
                };
                let result = client
                    .call_tool(
                        CallToolRequestParams::new(tool)
                            .with_arguments(args.as_object().unwrap().clone()),
                    )
                    .await;
                let mut t = tally.lock().unwrap();
                match result {
                    Ok(r) if r.is_error != Some(true) => {
                        *t.allowed.entry((i, tool)).or_default() += 1;
                    }
                    Ok(r) => {
                        let code = common::error_code(&r);
                        match code.as_deref() {
                            Some("rate_limited") => t.rate_limited += 1,
                            // notes_get of note 1: someone else's or missing, as designed.
                            Some("not_found") if tool == "notes_get" => {
                                *t.allowed.entry((i, tool)).or_default() += 1;
                            }
                            _ => t.unexpected.push(format!("{tool} by user{i}: {r:?}")),
                        }
                    }
                    Err(e) => {
                        let readers_write = i % 2 == 1 && tool == "notes_create";
                        if readers_write && format!("{e:?}").contains("notes:write") {
                            t.scope_refused += 1;
                        } else {
                            t.unexpected.push(format!("{tool} by user{i}: {e:?}"));
                        }
                    }
                }
            }
            let _ = client.cancel().await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rss_after = rss_kib(pid);
    let t = tally.lock().unwrap();
    assert!(
        t.unexpected.is_empty(),
        "{} unexpected answers, e.g. {:?}",
        t.unexpected.len(),
        &t.unexpected[..t.unexpected.len().min(3)]
    );
    let total: u64 = t.allowed.values().sum::<u64>() + t.rate_limited + t.scope_refused;
    assert_eq!(
        total,
        (CLIENTS * CALLS_PER_CLIENT) as u64,
        "every call answered"
    );
    assert_eq!(
        t.scope_refused,
        (CLIENTS / 2 * CALLS_PER_CLIENT / 4) as u64,
        "every reader's notes_create refused for its scope, nothing else"
    );
    // Rate bounds per caller and tool: at most burst + rate × elapsed (+1 for the edges), and
    // at least the burst when more calls than that were made.
    let attempts = (CALLS_PER_CLIENT / 4) as f64;
    for ((i, tool), &allowed) in &t.allowed {
        let (burst, per_second) = match *tool {
            "whoami" | "notes_search" => (10.0, 10.0),
            "notes_create" => (30.0, 0.5),
            "notes_get" => (20.0, 20.0),
            other => unreachable!("{other}"),
        };
        let most = burst + per_second * elapsed + 1.0;
        assert!(
            (allowed as f64) <= most,
            "user{i} {tool}: {allowed} allowed in {elapsed:.1} s, at most {most:.0}"
        );
        assert!(
            allowed as f64 >= burst.min(attempts),
            "user{i} {tool}: only {allowed} allowed"
        );
    }
    eprintln!(
        "load: {} calls by {CLIENTS} clients in {elapsed:.1} s: {} allowed, {} rate_limited, {} refused for scope; server RSS {} KiB before, {} KiB after",
        total,
        t.allowed.values().sum::<u64>(),
        t.rate_limited,
        t.scope_refused,
        rss_before,
        rss_after
    );
    assert!(
        rss_after < rss_before + GROWTH_KIB,
        "server memory grew from {rss_before} KiB to {rss_after} KiB"
    );
}
