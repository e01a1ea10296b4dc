//! An outside attacker's probes of the telemetry promises (docs/src/operations.md, "Traces";
//! SECURITY.md, "leaking through telemetry"): each probe asserts a promise, so that a probe
//! that finds a break fails.
//!
//! The receiver is `tests/python/otlp_receiver.py` on `MCP_SECURE_PYTHON` (as in otel.rs); the
//! hostile collectors (redirecting, silent, endless, a proxy) are written here.

mod common;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use common::{
    HttpServer, JWT_SECRET, KEYS, bin, call_2026, files_dir, mint,
    otlp::{Receiver, attr, hex_of_base64, logs, python, raw, spans, spans_with_id, strings},
    rpc,
};
use serde_json::{Value, json};

/// The most characters a client-chosen string may keep: 256, and the `…` that says it was cut.
const MAX_KEPT: usize = 257;

/// Every string attribute (of spans, their events and links, and log records) with its key.
fn string_attributes(exports: &[Value]) -> Vec<(String, String)> {
    fn walk(value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                if let (Some(Value::String(key)), Some(Value::Object(v))) =
                    (map.get("key"), map.get("value"))
                    && let Some(Value::String(s)) = v.get("stringValue")
                {
                    out.push((key.clone(), s.clone()));
                }
                if let Some(Value::String(state)) = map.get("traceState") {
                    out.push(("link.traceState".into(), state.clone()));
                }
                for v in map.values() {
                    walk(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for export in exports {
        walk(&export["message"], &mut out);
    }
    out
}

/// Fails with every exported string attribute longer than [`MAX_KEPT`] characters (`where`:
/// which records were searched, for the message).
fn assert_within_bound(exports: &[Value], r#where: &str) {
    let too_long: Vec<(String, usize)> = string_attributes(exports)
        .into_iter()
        .filter(|(_, v)| v.chars().count() > MAX_KEPT)
        .map(|(k, v)| (k, v.chars().count()))
        .collect();
    assert!(
        too_long.is_empty(),
        "client strings over {MAX_KEPT} characters were exported {where} (attribute, characters): {too_long:?}"
    );
}

fn exporting_command() -> Command {
    let mut command = Command::new(bin());
    command
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_BLRP_SCHEDULE_DELAY", "100");
    command
}

fn serve_exporting_to(endpoint: &str, files: &std::path::Path, command: Command) -> HttpServer {
    serve_exporting_with(endpoint, files, command, &[])
}

fn serve_exporting_with(
    endpoint: &str,
    files: &std::path::Path,
    command: Command,
    extra: &[&str],
) -> HttpServer {
    let mut args = vec!["--otlp-endpoint", endpoint];
    args.extend_from_slice(extra);
    HttpServer::start_command(command, Some(KEYS), files, &args)
}

const WRITER: &str = "Bearer alice-writer-key-000";
const READER: &str = "Bearer alice-reader-key-000";

/// Characters a trace viewer renders invisibly or that reorder or break its text: C0 and C1
/// controls, bidi controls, zero-width characters, tags, variation selectors, fillers, line
/// and paragraph separators, interlinear annotations, invisible musical formatting.
const HOSTILE: &[char] = &[
    '\u{1b}',
    '\u{7}',
    '\u{0}',
    '\r',
    '\n',
    '\u{7f}',
    '\u{85}',
    '\u{9b}',
    '\u{ad}',
    '\u{34f}',
    '\u{61c}',
    '\u{115f}',
    '\u{1160}',
    '\u{17b4}',
    '\u{17b5}',
    '\u{180e}',
    '\u{200b}',
    '\u{200c}',
    '\u{200d}',
    '\u{200e}',
    '\u{200f}',
    '\u{202a}',
    '\u{202b}',
    '\u{202c}',
    '\u{202d}',
    '\u{202e}',
    '\u{2028}',
    '\u{2029}',
    '\u{2060}',
    '\u{2061}',
    '\u{2062}',
    '\u{2063}',
    '\u{2064}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{206a}',
    '\u{206f}',
    '\u{3164}',
    '\u{fe00}',
    '\u{fe0f}',
    '\u{feff}',
    '\u{ffa0}',
    '\u{fff9}',
    '\u{fffa}',
    '\u{fffb}',
    '\u{1d173}',
    '\u{1d17a}',
    '\u{e0001}',
    '\u{e0041}',
    '\u{e007f}',
    '\u{e0100}',
    '\u{e01ef}',
    '\u{1bca0}',
    '\u{1bca3}',
    '\u{13430}',
    '\u{13438}',
];

fn assert_no_hostile_character(exports: &[Value]) {
    for export in exports {
        for s in strings(&export["message"]) {
            if let Some(c) = s.chars().find(|c| HOSTILE.contains(c)) {
                panic!("U+{:04X} was exported raw in {s:?}", c as u32);
            }
        }
    }
}

/// Probe 1. A request id, a protocol version and a subject a client chose, each longer than
/// 256 characters and made of characters the escaper expands (a control is 6 characters
/// escaped, a tag 9): every exported attribute keeps at most 256 characters of it (and `…`).
#[tokio::test]
#[cfg_attr(
    skip_python,
    ignore = "MCP_SECURE_PYTHON is not set: a Python with tests/python/requirements.txt runs it"
)]
async fn client_strings_stay_within_256_characters_once_escaped() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(python);
    let (files, _outside) = files_dir();
    let server = serve_exporting_to(&receiver.url, files.path(), exporting_command());
    let long_escapes: String = "P1"
        .chars()
        .chain(std::iter::repeat_n('\u{e0041}', 400))
        .collect();
    let long_controls: String = "P1c"
        .chars()
        .chain(std::iter::repeat_n('\u{1b}', 400))
        .collect();
    let eve = mint(
        &server.url,
        &format!("eve{}", "\u{7}".repeat(400)),
        "notes:read",
        &[],
    );
    let search = json!({"query": "", "sort": "title", "limit": 5});
    // Admitted by the guard (subject), refused by the HTTP layer (a scope the key lacks).
    call_2026(
        &server.url,
        Some(&format!("Bearer {eve}")),
        json!(long_escapes),
        "notes_search",
        search.clone(),
        json!({}),
        &[],
    )
    .await;
    call_2026(
        &server.url,
        Some(READER),
        json!(long_controls),
        "notes_create",
        json!({"title": "t", "body": "b"}),
        json!({}),
        &[],
    )
    .await;
    let exports = receiver.until(|got| {
        let spans = spans(got);
        !spans_with_id(&spans, "P1").is_empty() && !spans_with_id(&spans, "P1c").is_empty()
    });
    assert_within_bound(&exports, "in spans or log records");
}

/// Probe 2. Every class of invisible, bidi or control character, in a request id and a
/// subject, on a call the guard admits and one the HTTP layer refuses: none reaches the
/// collector raw.
#[tokio::test]
#[cfg_attr(
    skip_python,
    ignore = "MCP_SECURE_PYTHON is not set: a Python with tests/python/requirements.txt runs it"
)]
async fn no_invisible_bidi_or_control_character_reaches_the_collector() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(python);
    let (files, _outside) = files_dir();
    let server = serve_exporting_to(&receiver.url, files.path(), exporting_command());
    let hostile: String = HOSTILE.iter().collect();
    // A command line cannot carry NUL: the subject has every other character.
    let in_argv: String = HOSTILE.iter().filter(|&&c| c != '\0').collect();
    let eve = mint(&server.url, &format!("eve{in_argv}"), "notes:read", &[]);
    let search = json!({"query": "", "sort": "title", "limit": 5});
    call_2026(
        &server.url,
        Some(&format!("Bearer {eve}")),
        json!(format!("P2a{hostile}")),
        "notes_search",
        search.clone(),
        json!({}),
        &[],
    )
    .await;
    // Refused by the HTTP layer: the scope check reads the id from the body itself.
    call_2026(
        &server.url,
        Some(&format!("Bearer {eve}")),
        json!(format!("P2b{hostile}")),
        "notes_create",
        json!({"title": "t", "body": "b"}),
        json!({}),
        &[],
    )
    .await;
    // A non-string id the HTTP layer writes as JSON (serde_json leaves C1 and bidi raw).
    call_2026(
        &server.url,
        Some(READER),
        json!({"P2c": hostile}),
        "notes_create",
        json!({"title": "t", "body": "b"}),
        json!({}),
        &[],
    )
    .await;
    let exports = receiver.until(|got| {
        let spans = spans(got);
        ["P2a", "P2b", "{\"P2c\""]
            .iter()
            .all(|p| !spans_with_id(&spans, p).is_empty())
    });
    assert_no_hostile_character(&exports);
}

/// Probe 3. Audit events become log records (and events of the call's span): the strings a
/// client chose in them (a refused `Origin`, a refused `Host`, an unknown argument's name in a
/// validation failure) are escaped and bounded like a span's.
#[tokio::test]
#[cfg_attr(
    skip_python,
    ignore = "MCP_SECURE_PYTHON is not set: a Python with tests/python/requirements.txt runs it"
)]
async fn audit_log_records_bound_and_escape_what_a_client_chose() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(python);
    let (files, _outside) = files_dir();
    let server = serve_exporting_to(&receiver.url, files.path(), exporting_command());
    let http = reqwest::Client::new();
    let long = format!("https://evil.example/{}", "o".repeat(4000));
    let _ = rpc(&http, &server.url, Some(WRITER))
        .header("Origin", &long)
        .body("{}")
        .send()
        .await
        .unwrap();
    // An argument's name is the client's: 5000 characters of it, with a bidi override.
    let name = format!("P3\u{202e}{}", "n".repeat(5000));
    call_2026(
        &server.url,
        Some(WRITER),
        json!("P3-validation"),
        "notes_create",
        json!({"title": "t", "body": "b", name: 1}),
        json!({}),
        &[],
    )
    .await;
    let exports = receiver.until(|got| {
        let events: Vec<String> = logs(got).iter().filter_map(|l| attr(l, "event")).collect();
        events.iter().any(|e| e == "origin_refused")
            && events.iter().any(|e| e == "validation_failed")
    });
    assert_no_hostile_character(&exports);
    assert_within_bound(&exports, "in log records or span events");
}

/// Probe 4. The client's trace context, however it is sent, never makes the server's span a
/// child (the span's trace id is never the client's, and it has no parent): in `_meta` on a
/// stateless call, in `_meta` with other spellings, as an HTTP `traceparent` header, on a call
/// the HTTP layer refuses, and on a session's call. Its `tracestate` is bounded like any
/// client string.
#[tokio::test]
#[cfg_attr(
    skip_python,
    ignore = "MCP_SECURE_PYTHON is not set: a Python with tests/python/requirements.txt runs it"
)]
async fn a_client_never_chooses_the_trace_of_the_servers_span() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(python);
    let (files, _outside) = files_dir();
    let server = serve_exporting_to(&receiver.url, files.path(), exporting_command());
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = format!("00-{trace}-00f067aa0ba902b7-01");
    let state: String = (0..32)
        .map(|i| format!("k{i}={}", "v".repeat(250)))
        .collect::<Vec<_>>()
        .join(",");
    let search = json!({"query": "", "sort": "title", "limit": 5});
    let http_headers = [("traceparent", parent.as_str()), ("tracestate", "a=b")];
    let cases: Vec<Case> = vec![
        (
            "P4-meta",
            Some(READER),
            "notes_search",
            json!({"traceparent": parent, "tracestate": state}),
            &[],
        ),
        (
            "P4-case",
            Some(READER),
            "notes_search",
            json!({"Traceparent": parent, "TRACEPARENT": parent}),
            &[],
        ),
        (
            "P4-header",
            Some(READER),
            "notes_search",
            json!({}),
            &http_headers,
        ),
        (
            "P4-refused",
            Some(READER),
            "notes_create",
            json!({"traceparent": parent}),
            &http_headers,
        ),
        (
            "P4-anon",
            None,
            "notes_create",
            json!({"traceparent": parent}),
            &http_headers,
        ),
        // Parent flags a sampler might honour, a future version with more fields.
        (
            "P4-v2",
            Some(READER),
            "notes_search",
            json!({"traceparent": format!("cc-{trace}-00f067aa0ba902b7-01-whatever")}),
            &[],
        ),
    ];
    for (id, auth, tool, meta, headers) in &cases {
        let args = if *tool == "notes_create" {
            json!({"title": "t", "body": "b"})
        } else {
            search.clone()
        };
        call_2026(
            &server.url,
            *auth,
            json!(id),
            tool,
            args,
            meta.clone(),
            headers,
        )
        .await;
    }
    // A session's call (2025-06-18), with the trace context in `_meta` and as a header.
    let opened = common::post_initialize(&server.url, Some(READER)).await;
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let http = reqwest::Client::new();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    rpc(&http, &server.url, Some(READER))
        .header("Mcp-Session-Id", &session)
        .header("MCP-Protocol-Version", "2025-06-18")
        .json(&initialized)
        .send()
        .await
        .unwrap();
    let body = json!({"jsonrpc": "2.0", "id": "P4-session", "method": "tools/call", "params": {
        "name": "notes_search", "arguments": search, "_meta": {"traceparent": parent}}});
    rpc(&http, &server.url, Some(READER))
        .header("Mcp-Session-Id", &session)
        .header("MCP-Protocol-Version", "2025-06-18")
        .header("traceparent", &parent)
        .json(&body)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = cases.iter().map(|c| c.0).chain(["P4-session"]).collect();
    let (_, exports) = receiver.until_or_none(Duration::from_secs(15), |got| {
        let spans = spans(got);
        ids.iter().all(|id| !spans_with_id(&spans, id).is_empty())
    });
    let spans = spans(&exports);
    let missing: Vec<_> = ids
        .iter()
        .filter(|id| spans_with_id(&spans, id).is_empty())
        .collect();
    eprintln!("calls without a span (the call was refused before any span): {missing:?}");
    for id in &ids {
        for span in spans_with_id(&spans, id) {
            assert_ne!(
                hex_of_base64(span["traceId"].as_str().unwrap()),
                trace,
                "{id}: the client chose the span's trace: {span:#}"
            );
            assert!(
                span.get("parentSpanId").is_none(),
                "{id}: a parent: {span:#}"
            );
        }
    }
    assert_within_bound(&exports, "in spans or log records");
}

/// A probe's call: its id, authorization, tool, `_meta` and extra HTTP headers.
type Case<'a> = (
    &'a str,
    Option<&'a str>,
    &'a str,
    Value,
    &'a [(&'a str, &'a str)],
);

/// A hostile collector on a loopback port: `answer` writes its response to each request.
struct Hostile {
    port: u16,
    requests: Arc<AtomicUsize>,
    bodies: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
}

impl Hostile {
    fn start(answer: impl Fn(&mut TcpStream) + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let answer = Arc::new(answer);
        let (seen, stopped, kept) = (requests.clone(), stop.clone(), bodies.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let (seen, answer, kept) = (seen.clone(), answer.clone(), kept.clone());
                std::thread::spawn(move || {
                    // Keep-alive: every request on the connection.
                    while let Some((_, body)) = read_request(&mut stream) {
                        seen.fetch_add(1, Ordering::SeqCst);
                        kept.lock().unwrap().push(body);
                        answer(&mut stream);
                    }
                });
            }
        });
        Hostile {
            port,
            requests,
            bodies,
            stop,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Whether any export so far holds `bytes` (a string is stored as is in protobuf).
    fn received(&self, bytes: &[u8]) -> bool {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .any(|b| b.windows(bytes.len()).any(|w| w == bytes))
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Reads one HTTP request's head and its body (`Content-Length`): its request line and body.
fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    Some((head.lines().next().unwrap_or_default().to_owned(), body))
}

/// Makes a few calls of each kind (admitted, refused by the guard, refused by the HTTP layer),
/// each answered within `within`.
async fn some_calls_answered_within(url: &str, within: Duration) {
    for i in 0..10 {
        let started = Instant::now();
        let search = json!({"query": "", "sort": "title", "limit": 5});
        let status = call_2026(
            url,
            Some(READER),
            json!(i),
            "notes_search",
            search,
            json!({}),
            &[],
        )
        .await;
        assert!(status.is_success(), "{status}");
        call_2026(
            url,
            Some(READER),
            json!(i),
            "notes_create",
            json!({"title": "t", "body": "b"}),
            json!({}),
            &[],
        )
        .await;
        assert!(
            started.elapsed() < within,
            "a call waited {:?} on the collector",
            started.elapsed()
        );
    }
}

/// Probe 5. A collector that redirects (307, 308, 301) to another collector: the export is not
/// sent there.
#[tokio::test]
async fn a_collectors_redirect_is_not_followed() {
    let elsewhere = Hostile::start(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    });
    let target = elsewhere.url();
    let turn = AtomicUsize::new(0);
    let redirecting = Hostile::start(move |s| {
        let location = format!("{target}/v1/traces");
        let statuses = [
            "307 Temporary Redirect",
            "308 Permanent Redirect",
            "301 Moved Permanently",
        ];
        let status = statuses[turn.fetch_add(1, Ordering::SeqCst) % statuses.len()];
        let answer =
            format!("HTTP/1.1 {status}\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n");
        let _ = s.write_all(answer.as_bytes());
    });
    let (files, _outside) = files_dir();
    // The demo's sandbox would refuse the connection to the other port anyway: without it,
    // the probe tests the exporter's own rule.
    let server = serve_exporting_with(
        &redirecting.url(),
        files.path(),
        exporting_command(),
        &["--sandbox", "off"],
    );
    some_calls_answered_within(&server.url, Duration::from_secs(5)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while redirecting.requests() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        redirecting.requests() >= 2,
        "the exports never reached the collector"
    );
    assert_eq!(
        elsewhere.requests(),
        0,
        "the server followed the collector's redirect"
    );
}

/// The resident set of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Probe 6. A collector whose answer never ends: the server reads at most 64 KiB of each (so
/// it stops reading after a little; what the kernel buffers aside), its memory does not grow
/// with it, and calls are not held up.
#[tokio::test]
async fn an_endless_answer_is_not_read_and_holds_nothing_up() {
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let endless = Hostile::start(move |s| {
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ntransfer-encoding: chunked\r\n\r\n",
        );
        let chunk = vec![b'A'; 1 << 20];
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk,
            b"\r\n".to_vec(),
        ]
        .concat();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            match s.write(&framed) {
                Ok(n) if n > 0 => {
                    counter.fetch_add(n, Ordering::SeqCst);
                }
                _ => break,
            }
        }
    });
    let (files, _outside) = files_dir();
    let server = serve_exporting_to(&endless.url(), files.path(), exporting_command());
    let before = rss_kib(server.pid());
    some_calls_answered_within(&server.url, Duration::from_secs(5)).await;
    std::thread::sleep(Duration::from_secs(5));
    some_calls_answered_within(&server.url, Duration::from_secs(5)).await;
    let after = rss_kib(server.pid());
    let exports = endless.requests();
    let sent = written.load(Ordering::SeqCst);
    assert!(exports >= 1, "the exports never reached the collector");
    // Each export may take 64 KiB, plus what the two kernels' socket buffers hold (a few MiB).
    assert!(
        sent < exports * 16 * (1 << 20),
        "the server took {sent} bytes of {exports} answers"
    );
    assert!(
        after < before + 64 * 1024,
        "the server grew from {before} KiB to {after} KiB"
    );
}

/// Probe 7. A collector that takes the request and never answers (nor closes): calls are
/// answered promptly meanwhile.
#[tokio::test]
async fn a_silent_collector_holds_no_call_up() {
    let silent = Hostile::start(|_s| std::thread::sleep(Duration::from_secs(120)));
    let (files, _outside) = files_dir();
    let server = serve_exporting_to(&silent.url(), files.path(), exporting_command());
    for _ in 0..3 {
        some_calls_answered_within(&server.url, Duration::from_secs(3)).await;
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        silent.requests() >= 1,
        "the exports never reached the collector"
    );
}

/// Probe 8. With an `http_proxy`/`HTTP_PROXY` in the server's environment (common on hosts
/// behind an egress proxy), spans for an http loopback endpoint still go straight to the
/// loopback collector and not, in clear text, through the proxy: the endpoint's rule (https,
/// or http on loopback only) is about where the spans travel.
#[tokio::test]
async fn spans_for_a_loopback_endpoint_do_not_travel_through_a_proxy() {
    let proxy = Hostile::start(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    });
    let collector = Hostile::start(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    });
    let (files, _outside) = files_dir();
    let mut command = exporting_command();
    // The proxy is on loopback here only so that the test can see it; on a real host it is
    // another machine, reached in clear text.
    command
        .env("HTTP_PROXY", proxy.url())
        .env("http_proxy", proxy.url())
        .env("ALL_PROXY", proxy.url())
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    // Without the demo's own sandbox (which allows the collector's port only, and so turns
    // the proxied exports into lost ones): a server confined by its container instead.
    let server = serve_exporting_with(
        &collector.url(),
        files.path(),
        command,
        &["--sandbox", "off"],
    );
    some_calls_answered_within(&server.url, Duration::from_secs(5)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.requests() + collector.requests() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        proxy.requests(),
        0,
        "the spans went through the proxy ({} exports), not to the loopback collector ({})",
        proxy.requests(),
        collector.requests()
    );
    assert!(
        collector.requests() >= 1,
        "the exports never reached the collector"
    );
}

/// Probe 9. A client, with one request, makes the server create a span (and an
/// `authorization_denied` record) per `tools/call` in a batch body the HTTP layer refuses:
/// enough to fill the export queues, so that the spans and audit records of other callers'
/// calls in the meantime are dropped. Every call of another caller still has its span.
#[tokio::test]
async fn a_flood_of_refused_calls_does_not_push_other_callers_calls_out_of_the_telemetry() {
    // A collector across a network: 250 ms an export.
    let collector = Hostile::start(|s| {
        std::thread::sleep(Duration::from_millis(250));
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    });
    let (files, _outside) = files_dir();
    let server = serve_exporting_to(&collector.url(), files.path(), exporting_command());
    let batch: Vec<Value> = (0..8000)
        .map(|i| {
            json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "notes_create", "arguments": {}}})
        })
        .collect();
    let body = serde_json::to_vec(&batch).unwrap();
    let flooding = Arc::new(AtomicBool::new(true));
    let url = server.url.clone();
    let still = flooding.clone();
    let flooder = move || {
        let (url, still, body) = (url.clone(), still.clone(), body.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut sent = 0;
            while still.load(Ordering::Relaxed) {
                // The lowest-privileged key: every call of the batch is refused for its scope.
                let _ = rpc(&http, &url, Some("Bearer nobody-key-000000000"))
                    .body(body.clone())
                    .send()
                    .await;
                sent += 1;
            }
            sent
        })
    };
    let floods = [flooder(), flooder()];
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let search = json!({"query": "", "sort": "title", "limit": 5});
    for i in 0..10 {
        let id = format!("P9-legit-{i}");
        call_2026(
            &server.url,
            Some(WRITER),
            json!(id),
            "notes_search",
            search.clone(),
            json!({}),
            &[],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    flooding.store(false, Ordering::Relaxed);
    let mut sent = 0;
    for flood in floods {
        sent += flood.await.unwrap();
    }
    let floods = sent;
    std::thread::sleep(Duration::from_secs(3));
    let denied = collector
        .bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| b.windows(18).filter(|w| w == b"insufficient_scope").count())
        .sum::<usize>();
    eprintln!(
        "{floods} flooding requests; {} exports; `insufficient_scope` {denied} times in them",
        collector.requests()
    );
    let lost: Vec<usize> = (0..10)
        .filter(|i| !collector.received(format!("P9-legit-{i}").as_bytes()))
        .collect();
    assert!(
        lost.is_empty(),
        "{floods} requests of the no-scope key ({} exports) pushed the spans and records of calls {lost:?} of 10 by another caller out of the telemetry",
        collector.requests()
    );
}

/// Probe 10. Over stdio: the caller's subject (from `NOTES_TOKEN`), the request id and the
/// protocol version the client sends at `initialize` are escaped and bounded; no token.
#[tokio::test]
#[cfg_attr(
    skip_python,
    ignore = "MCP_SECURE_PYTHON is not set: a Python with tests/python/requirements.txt runs it"
)]
async fn stdio_calls_escape_and_bound_what_the_client_chose() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(python);
    let (files, _outside) = files_dir();
    let token = mint(
        "http://127.0.0.1:8787/mcp",
        &format!("eve\u{1b}[2J{}", "\u{202e}".repeat(300)),
        "notes:read",
        &[],
    );
    let mut child = Command::new(bin())
        .args([
            "stdio",
            "--db",
            ":memory:",
            "--sandbox",
            "off",
            "--otlp-endpoint",
            &receiver.url,
            "--files",
        ])
        .arg(files.path())
        .env("NOTES_JWT_SECRET", JWT_SECRET)
        .env("NOTES_TOKEN", &token)
        .env("NOTES_LOG", "error")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_BLRP_SCHEDULE_DELAY", "100")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, answers) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let version = format!("2025-06-18\u{1b}]8;;x\u{7}{}", "\u{9b}".repeat(300));
    let lines = [
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": format!("P10{}", "\u{1b}".repeat(300)), "method": "tools/call",
            "params": {"name": "notes_search", "arguments": {"query": "", "sort": "title", "limit": 5}}}),
    ];
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = answers.recv_timeout(Duration::from_secs(10));
    let exports = receiver.until(|got| !spans_with_id(&spans(got), "P10").is_empty());
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    assert_no_hostile_character(&exports);
    for export in &exports {
        let bytes = raw(export);
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token was exported"
        );
    }
    assert_within_bound(&exports, "in spans or log records");
}

/// Probe 11. Secrets and values in every place a client can put them: argument values (in a
/// valid call, an invalid one, one the HTTP layer refuses), a `_meta` entry and a progress
/// token, the `Mcp-Name` header, a wrong API key, a JWT's other claims, a tool's error: none
/// reaches the collector.
#[tokio::test]
#[cfg_attr(
    skip_python,
    ignore = "MCP_SECURE_PYTHON is not set: a Python with tests/python/requirements.txt runs it"
)]
async fn no_secret_or_value_reaches_the_collector_from_any_field() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(python);
    let (files, _outside) = files_dir();
    let server = serve_exporting_to(&receiver.url, files.path(), exporting_command());
    let canary = "CANARY-5e1f";
    let http = reqwest::Client::new();
    let meta = json!({"progressToken": format!("{canary}-progress"), "x-secret": format!("{canary}-meta")});
    let create = json!({"title": format!("{canary}-title"), "body": format!("{canary}-body")});
    call_2026(
        &server.url,
        Some(WRITER),
        json!("P11-ok"),
        "notes_create",
        create.clone(),
        meta.clone(),
        &[],
    )
    .await;
    call_2026(
        &server.url,
        Some(READER),
        json!("P11-refused"),
        "notes_create",
        create.clone(),
        meta.clone(),
        &[],
    )
    .await;
    call_2026(
        &server.url,
        Some(WRITER),
        json!("P11-invalid"),
        "notes_create",
        json!({"title": format!("{canary}-title\u{1b}"), "body": 7}),
        meta.clone(),
        &[],
    )
    .await;
    // A tool's own error (not found), with the argument in it.
    call_2026(
        &server.url,
        Some(WRITER),
        json!("P11-error"),
        "notes_get",
        json!({"id": 987654321}),
        meta.clone(),
        &[],
    )
    .await;
    call_2026(
        &server.url,
        Some(WRITER),
        json!("P11-path"),
        "files_read",
        json!({"path": format!("../{canary}-path"), "max_bytes": 10}),
        meta.clone(),
        &[],
    )
    .await;
    // A wrong key and a token of another secret, both carrying the canary.
    call_2026(
        &server.url,
        Some(&format!("Bearer {canary}-wrong-key")),
        json!("P11-wrongkey"),
        "notes_create",
        create.clone(),
        json!({}),
        &[],
    )
    .await;
    let other = mint(&server.url, "mallory", "notes:read", &[]);
    let forged = format!("{}X{canary}", &other[..other.len() - 1]);
    call_2026(
        &server.url,
        Some(&format!("Bearer {forged}")),
        json!("P11-forged"),
        "notes_create",
        create.clone(),
        json!({}),
        &[],
    )
    .await;
    // A name header that does not match the body.
    let _ = rpc(&http, &server.url, Some(WRITER))
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", "tools/call")
        .header("Mcp-Name", format!("{canary}-name"))
        .json(&json!({"jsonrpc": "2.0", "id": "P11-name", "method": "tools/call",
            "params": {"name": "notes_create", "arguments": create,
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}}))
        .send()
        .await
        .unwrap();
    let exports = receiver.until(|got| {
        let spans = spans(got);
        let events: Vec<String> = logs(got).iter().filter_map(|l| attr(l, "event")).collect();
        [
            "P11-ok",
            "P11-refused",
            "P11-invalid",
            "P11-error",
            "P11-path",
        ]
        .iter()
        .all(|id| !spans_with_id(&spans, id).is_empty())
            && events
                .iter()
                .filter(|e| *e == "authentication_failed")
                .count()
                >= 2
    });
    std::thread::sleep(Duration::from_secs(1));
    let mut exports = exports;
    while let Ok(more) = receiver.exports.recv_timeout(Duration::from_millis(500)) {
        exports.push(more);
    }
    for export in &exports {
        let bytes = raw(export);
        for secret in [
            canary.as_bytes(),
            b"alice-writer-key-000",
            b"alice-reader-key-000",
            JWT_SECRET.as_bytes(),
            other.as_bytes(),
            b"mcp-secure/src",
            b"examples/src",
        ] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{} was exported: {export:#}",
                String::from_utf8_lossy(secret)
            );
        }
    }
}

/// Probe 12. The guide promised a span for "a call the HTTP layer refuses (no credentials for
/// a scoped tool, …)"; on a server that admits no anonymous caller such a request is refused
/// before its body is read, and the promise now says so: a scoped tool called with no
/// credentials, and with a key the server does not know, each leaves its exported
/// `authentication_failed` record and no span that claims to be of the call.
#[tokio::test]
#[cfg_attr(
    skip_python,
    ignore = "MCP_SECURE_PYTHON is not set: a Python with tests/python/requirements.txt runs it"
)]
async fn a_call_refused_for_its_credentials_has_its_span() {
    // The guide's answer to this probe (Operations, Traces): a request refused for its
    // credentials is answered before its body is read, so no span names a tool; its record is
    // the `authentication_failed` event, exported as a log record. What this holds to: that
    // record arrives, for each refusal, and no span claims to be of the refused calls.
    let Some(python) = python() else { return };
    let receiver = Receiver::start(python);
    let (files, _outside) = files_dir();
    let server = serve_exporting_to(&receiver.url, files.path(), exporting_command());
    let create = json!({"title": "t", "body": "b"});
    let wrong = "Bearer not-a-key-of-this-server";
    for (id, auth) in [("P12-none", None), ("P12-wrong", Some(wrong))] {
        let status = call_2026(
            &server.url,
            auth,
            json!(id),
            "notes_create",
            create.clone(),
            json!({}),
            &[],
        )
        .await;
        assert_eq!(status, 401, "{id}");
    }
    let (_, exports) = receiver.until_or_none(Duration::from_secs(10), |got| {
        logs(got)
            .iter()
            .filter(|l| attr(l, "event").as_deref() == Some("authentication_failed"))
            .count()
            >= 2
    });
    let failed = logs(&exports)
        .iter()
        .filter(|l| attr(l, "event").as_deref() == Some("authentication_failed"))
        .count();
    assert!(failed >= 2, "each refusal is an exported record: {failed}");
    let spans = spans(&exports);
    for id in ["P12-none", "P12-wrong"] {
        assert!(
            spans_with_id(&spans, id).is_empty(),
            "{id}: a span for a call never read"
        );
    }
}
