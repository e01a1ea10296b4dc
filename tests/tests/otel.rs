//! The demo's `--otlp-endpoint`: each tool call's span and the audit events reach an OTLP/HTTP
//! receiver, with the decision's attributes and the caller, and nothing a client must not see
//! in telemetry (argument values, keys, tokens, the session id, raw control characters, the
//! library's source paths).
//!
//! The receiver is `tests/python/otlp_receiver.py`, which decodes the exports with
//! OpenTelemetry's own protobuf types (`opentelemetry-proto`, PyPI): no OpenTelemetry collector
//! is published on a registry CI reaches. It runs on `MCP_SECURE_PYTHON` (see python_sdk.rs).

mod common;

use std::process::Command;

use base64::Engine;
use common::{
    HttpServer, JWT_SECRET, KEYS, bin, files_dir, mint,
    otlp::{Receiver, attr, hex_of_base64, logs, python, spans, strings},
    refused_at_start, rpc,
};
use serde_json::{Value, json};

/// The span of the call whose JSON-RPC id is `id`.
fn span_of<'a>(spans: &[&'a Value], id: &str) -> Option<&'a Value> {
    spans
        .iter()
        .copied()
        .find(|s| attr(s, "jsonrpc.request.id").as_deref() == Some(id))
}

/// A `tools/call` as a 2026-07-28 client sends it ([`common::call_2026`]), answered or
/// refused for its scope.
async fn call(url: &str, auth: &str, id: &str, tool: &str, arguments: Value, meta: Value) {
    let status = common::call_2026(url, Some(auth), json!(id), tool, arguments, meta, &[]).await;
    assert!(status.is_success() || status == 403, "{status}");
}

/// The demo serving with `--otlp-endpoint` at `receiver`, exporting every 100 ms (the SDK's
/// own settings, `OTEL_BSP_SCHEDULE_DELAY` and `OTEL_BLRP_SCHEDULE_DELAY`).
fn serve_exporting(receiver: &Receiver, files: &std::path::Path) -> HttpServer {
    let mut command = Command::new(bin());
    command
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_BLRP_SCHEDULE_DELAY", "100");
    HttpServer::start_command(
        command,
        Some(KEYS),
        files,
        &["--otlp-endpoint", &receiver.url],
    )
}

const TRACEPARENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
#[cfg_attr(
    skip_python,
    ignore = "MCP_SECURE_PYTHON is not set: a Python with tests/python/requirements.txt runs it (README, \"The two commands\")"
)]
async fn each_call_is_a_span_with_its_decision_and_each_audit_event_a_log_record() {
    let Some(python) = python() else {
        return;
    };
    let receiver = Receiver::start(python);
    let (files, _outside) = files_dir();
    let server = serve_exporting(&receiver, files.path());
    let marker = "ARGUMENT-VALUE-7f3a";
    let traceparent = format!("00-{TRACEPARENT_TRACE}-00f067aa0ba902b7-01");
    // Refused by the HTTP layer (a scope the key lacks), admitted, refused by the guard
    // (input), and called by a token whose subject and request id carry terminal escapes.
    let reader = "Bearer alice-reader-key-000";
    let writer = "Bearer alice-writer-key-000";
    let create = json!({"title": marker, "body": marker});
    call(
        &server.url,
        reader,
        "denied-scope",
        "notes_create",
        create.clone(),
        json!({}),
    )
    .await;
    let linked = json!({"traceparent": traceparent});
    call(
        &server.url,
        writer,
        "admitted",
        "notes_create",
        create,
        linked,
    )
    .await;
    let invalid = json!({"title": marker, "body": 7});
    call(
        &server.url,
        writer,
        "denied-input",
        "notes_create",
        invalid,
        json!({}),
    )
    .await;
    let eve = mint(&server.url, "eve\u{1b}[2J", "notes:read", &[]);
    let search = json!({"query": marker, "sort": "title", "limit": 5});
    let escape_id = "id\u{1b}]8;;https://evil.example\u{7}";
    call(
        &server.url,
        &format!("Bearer {eve}"),
        escape_id,
        "notes_search",
        search,
        json!({}),
    )
    .await;

    // As the span records it: escaped.
    let escaped_id = "id\\u{1b}]8;;https://evil.example\\u{7}";
    let ids = ["denied-scope", "admitted", "denied-input", escaped_id];
    let exports = receiver.until(|got| {
        let spans = spans(got);
        let events: Vec<String> = logs(got).iter().filter_map(|l| attr(l, "event")).collect();
        ids.iter().all(|id| span_of(&spans, id).is_some())
            && events.iter().filter(|e| *e == "tool_called").count() >= 2
            && events.iter().any(|e| e == "authorization_denied")
    });
    let spans = spans(&exports);
    let logs = logs(&exports);

    // Named and attributed as OpenTelemetry's MCP server conventions ask.
    for id in ["denied-scope", "admitted", "denied-input"] {
        let span = span_of(&spans, id).unwrap();
        assert_eq!(span["name"], "tools/call notes_create", "{span:#}");
        assert_eq!(span["kind"], "SPAN_KIND_SERVER", "{span:#}");
        assert_eq!(attr(span, "mcp.method.name").as_deref(), Some("tools/call"));
        assert_eq!(
            attr(span, "gen_ai.tool.name").as_deref(),
            Some("notes_create")
        );
        assert_eq!(
            attr(span, "gen_ai.operation.name").as_deref(),
            Some("execute_tool")
        );
        assert_eq!(
            attr(span, "mcp.protocol.version").as_deref(),
            Some("2026-07-28")
        );
        assert_eq!(attr(span, "network.transport").as_deref(), Some("tcp"));
        assert_eq!(attr(span, "client.address").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            attr(span, "enduser.id").as_deref(),
            Some("alice"),
            "{span:#}"
        );
        assert_eq!(attr(span, "mcp_secure.issuer").as_deref(), Some("api-key"));
    }
    let refused = span_of(&spans, "denied-scope").unwrap();
    assert_eq!(
        attr(refused, "mcp_secure.decision").as_deref(),
        Some("denied")
    );
    assert_eq!(
        attr(refused, "error.type").as_deref(),
        Some("insufficient_scope")
    );
    assert_eq!(
        refused["status"]["code"], "STATUS_CODE_ERROR",
        "{refused:#}"
    );
    let admitted = span_of(&spans, "admitted").unwrap();
    assert_eq!(
        attr(admitted, "mcp_secure.decision").as_deref(),
        Some("allowed")
    );
    assert_eq!(attr(admitted, "mcp_secure.outcome").as_deref(), Some("ok"));
    assert_eq!(attr(admitted, "error.type"), None, "{admitted:#}");
    let invalid = span_of(&spans, "denied-input").unwrap();
    assert_eq!(
        attr(invalid, "mcp_secure.decision").as_deref(),
        Some("denied")
    );
    assert!(attr(invalid, "error.type").is_some(), "{invalid:#}");
    assert_eq!(
        invalid["status"]["code"], "STATUS_CODE_ERROR",
        "{invalid:#}"
    );

    // The client's trace context is a link, not the parent: the client does not choose the
    // trace the server's span is in.
    let links = admitted["links"].as_array().expect("a link");
    assert_eq!(
        hex_of_base64(links[0]["traceId"].as_str().unwrap()),
        TRACEPARENT_TRACE
    );
    assert_ne!(
        hex_of_base64(admitted["traceId"].as_str().unwrap()),
        TRACEPARENT_TRACE
    );
    assert!(admitted.get("parentSpanId").is_none(), "{admitted:#}");

    // Each audit event is a log record named for it, in the trace of its call's span.
    let denied_log = logs
        .iter()
        .find(|l| attr(l, "event").as_deref() == Some("authorization_denied"))
        .unwrap();
    assert_eq!(denied_log["eventName"], "authorization_denied");
    assert_eq!(denied_log["traceId"], refused["traceId"], "{denied_log:#}");
    assert!(
        logs.iter()
            .any(|l| attr(l, "event").as_deref() == Some("tool_called")
                && l["traceId"] == admitted["traceId"])
    );
    for export in &exports {
        let resource = &export["message"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()[0]["resource"];
        assert_eq!(
            attr(resource, "service.name").as_deref(),
            Some("notes-server")
        );
    }

    // What a client chose is escaped: no raw control character reaches the collector.
    let eves = span_of(&spans, escaped_id).expect("the id, escaped");
    assert_eq!(attr(eves, "enduser.id").as_deref(), Some("eve\\u{1b}[2J"));

    // Nothing secret or internal in any byte sent, and no control character in any string (a
    // byte-level search for ESC would find protobuf's lengths).
    let forbidden: [(&str, &[u8]); 6] = [
        ("an argument's value", marker.as_bytes()),
        ("an API key", b"alice-writer-key-000"),
        ("another API key", b"alice-reader-key-000"),
        ("a token", eve.as_bytes()),
        ("the token secret", JWT_SECRET.as_bytes()),
        ("a source path", b"mcp-secure/src"),
    ];
    for export in &exports {
        assert!(
            strings(&export["message"]).all(|s| !s.chars().any(char::is_control)),
            "a control character was exported: {export:#}"
        );
        let raw = base64::engine::general_purpose::STANDARD
            .decode(export["raw"].as_str().unwrap())
            .unwrap();
        for (what, bytes) in forbidden {
            assert!(
                !raw.windows(bytes.len()).any(|w| w == bytes),
                "{what} was exported: {export:#}"
            );
        }
    }
}

#[tokio::test]
#[cfg_attr(
    skip_python,
    ignore = "MCP_SECURE_PYTHON is not set: a Python with tests/python/requirements.txt runs it (README, \"The two commands\")"
)]
async fn a_sessions_calls_carry_a_digest_of_its_id_never_the_id() {
    let Some(python) = python() else {
        return;
    };
    let receiver = Receiver::start(python);
    let (files, _outside) = files_dir();
    let server = serve_exporting(&receiver, files.path());
    let auth = "Bearer alice-reader-key-000";
    let opened = common::post_initialize(&server.url, Some(auth)).await;
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let http = reqwest::Client::new();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let sent = rpc(&http, &server.url, Some(auth))
        .header("Mcp-Session-Id", &session)
        .header("MCP-Protocol-Version", "2025-06-18")
        .json(&initialized)
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_success(), "{}", sent.status());
    let search = json!({"jsonrpc": "2.0", "id": 41, "method": "tools/call", "params": {
        "name": "notes_search", "arguments": {"query": "", "sort": "title", "limit": 5}}});
    let answered = rpc(&http, &server.url, Some(auth))
        .header("Mcp-Session-Id", &session)
        .header("MCP-Protocol-Version", "2025-06-18")
        .json(&search)
        .send()
        .await
        .unwrap();
    assert!(answered.status().is_success(), "{}", answered.status());
    let exports = receiver.until(|got| span_of(&spans(got), "41").is_some());
    let span = span_of(&spans(&exports), "41").unwrap().clone();
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(session.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(attr(&span, "mcp.session.id"), Some(digest), "{span:#}");
    for export in &exports {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(export["raw"].as_str().unwrap())
            .unwrap();
        assert!(
            !raw.windows(session.len()).any(|w| w == session.as_bytes()),
            "the session id was exported: {export:#}"
        );
    }
}

#[test]
fn an_endpoint_that_is_neither_https_nor_loopback_is_refused_at_start() {
    let (files, _outside) = files_dir();
    for (endpoint, rule) in [
        (
            "http://collector.example:4318",
            "must be https (http only on a loopback host)",
        ),
        ("127.0.0.1:4318", "not an absolute URL"),
        (
            "https://collector.example/?key=k",
            "must have no query or fragment",
        ),
    ] {
        let mut command = Command::new(bin());
        common::serve_args(&mut command, files.path()).args([
            "--sandbox",
            "off",
            "--otlp-endpoint",
            endpoint,
        ]);
        let refused = refused_at_start(command).expect("refused to start");
        assert!(refused.contains(rule), "{endpoint}: {refused}");
        assert!(refused.contains("--otlp-endpoint"), "{refused}");
    }
}
