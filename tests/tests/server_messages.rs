//! What a server sends of its own accord, through its peer rather than as an answer: a tool
//! that logs what it read (a file's, a database's, another site's text) sends hidden
//! characters of every class, and their JSON escapes, in its log messages. The client reads
//! none of them, over real HTTP (`Endpoint`, a call's event stream) and over a pipe as over
//! stdio (`serve::over`), whatever the server's code did.

// Logging is deprecated by SEP-2577, but servers still send log messages and rmcp still sends
// them.
#![allow(deprecated)]

use std::sync::{Arc, Mutex};

use mcp_secure::{Security, prelude::*, sanitize::is_invisible};
use rmcp::{
    ClientHandler, RoleClient, RoleServer, ServiceExt,
    model::{CallToolRequestParams, LoggingLevel, LoggingMessageNotificationParam},
    service::{NotificationContext, RequestContext, RunningService},
    transport::StreamableHttpClientTransport,
};
use serde_json::json;

mcp_secure::scopes! {
    /// Unused: the tool is public.
    "relay:read",
}

/// Hidden payloads of each class, and JSON escapes of them inside text.
const HOSTILE: &[&str] = &[
    "\u{1b}[31mred\u{1b}[0m and \u{1b}]8;;http://evil.test\u{7}link\u{1b}]8;;\u{7}",
    "bidi \u{202E}txt.exe",
    "Meeting notes 😀\u{FE00}\u{E0149}\u{E0147}\u{E004E}\u{E004F}\u{E0052}\u{E0045}",
    "soft\u{AD}hyphen, cgj\u{34F}, filler\u{3164}, braille\u{2800}, mongolian\u{180E}",
    "{\"a\": \"\\u001b[2J\"} and prose",
    "\u{FEFF}{\"b\": \"\\ufe0f\\udb40\\udc49\"}",
    "line\u{2028}separator, private\u{E000}use",
];

#[derive(Clone)]
struct Relay {
    tools: Tools<Self>,
}

#[mcp_tools]
impl Relay {
    /// Logs each hostile text, as a tool logging what it read would.
    #[mcp_tool(public, rate = "unlimited")]
    async fn relay(&self, cx: RequestContext<RoleServer>) -> String {
        for text in HOSTILE {
            cx.peer
                .notify_logging_message(
                    LoggingMessageNotificationParam::new(
                        LoggingLevel::Info,
                        json!({ "read": text, "keys too": { *text: 1 } }),
                    )
                    .with_logger(*text),
                )
                .await
                .expect("the log message is sent");
        }
        "relayed".into()
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for Relay {}

/// A client that keeps every log message it receives, as sent.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<String>>>);

impl ClientHandler for Logs {
    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _: NotificationContext<RoleClient>,
    ) {
        let json = serde_json::to_string(&params).unwrap();
        self.0.lock().unwrap().push(json);
    }
}

/// Calls `relay` and checks every log message that arrived.
async fn relay_is_clean(client: RunningService<RoleClient, Logs>) {
    let result = client
        .call_tool(CallToolRequestParams::new("relay"))
        .await
        .expect("relay answers");
    assert_eq!(result.is_error, Some(false));
    // The client handles notifications on tasks of their own: wait for all of them.
    let wait = async {
        loop {
            let logs = client.service().0.lock().unwrap().clone();
            if logs.len() >= HOSTILE.len() {
                break logs;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    // A bound against hanging, not a measurement.
    let logs = tokio::time::timeout(std::time::Duration::from_secs(60), wait)
        .await
        .expect("every log message arrives");
    assert_eq!(logs.len(), HOSTILE.len(), "{logs:?}");
    for (log, hostile) in logs.iter().zip(HOSTILE) {
        let decoded: serde_json::Value = serde_json::from_str(log).unwrap();
        let mut strings = String::new();
        collect(&decoded, &mut strings);
        assert!(
            !strings.chars().any(|c| is_invisible(c) && c != '\u{1F600}'),
            "a hidden character came through from {hostile:?}: {strings:?}"
        );
        let lower = log.to_ascii_lowercase();
        for escape in ["\\u001b", "\\ufe0f", "\\udb40", "\\u2028"] {
            assert!(
                !lower.contains(escape),
                "{escape} came from {hostile:?}: {log}"
            );
        }
        assert!(
            !strings.contains("\\u001b") && !strings.contains("\\ufe0f"),
            "an escape inside text came through from {hostile:?}: {strings:?}"
        );
    }
    client.cancel().await.unwrap();
}

/// Every string inside `value`, keys included.
fn collect(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::String(s) => out.push_str(s),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push_str(k);
            collect(v, out)
        }),
        _ => {}
    }
}

#[tokio::test]
async fn log_messages_leave_clean_over_http() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let security = Security::default();
    let server = Relay {
        tools: Relay::tools(),
    };
    let endpoint = mcp_secure::http::Endpoint::new(
        format!("http://{addr}/mcp"),
        server.clone(),
        &server.tools,
        security,
    )
    .auth(|auth| auth.allow_anonymous(true));
    tokio::spawn(endpoint.serve(listener, std::future::pending()));
    let url = format!("http://{addr}/mcp");
    let client = Logs::default()
        .serve(StreamableHttpClientTransport::from_uri(url.as_str()))
        .await
        .unwrap();
    relay_is_clean(client).await;
}

#[tokio::test]
async fn log_messages_leave_clean_over_a_pipe() {
    let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    let server = Relay {
        tools: Relay::tools(),
    };
    tokio::spawn(async move {
        let running = mcp_secure::serve::over(server, Security::default(), server_end)
            .await
            .unwrap();
        let _ = running.waiting().await;
    });
    let client = Logs::default().serve(client_end).await.unwrap();
    relay_is_clean(client).await;
}
