//! What leaves a tool, over real HTTP to an in-process server: terminal control stripped, size
//! caps, panics turned into `internal` errors, and secrets that never come back.

mod common;

use std::sync::{Arc, Mutex};

use common::{Client, connect, err, serve_in_process};
use mcp_secure::{
    Security,
    audit::{AuditSink, SecurityEvent},
    auth::{ApiKeys, Principal},
    prelude::*,
};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use serde_json::{Value, json};

const CANARIES: [&str; 4] = [
    "S3CRET-canary-valid-1",
    "short-c",
    "987654321987",
    "api-key-canary-0123456789",
];

/// What the tools with an output schema return.
#[derive(serde::Serialize, schemars::JsonSchema)]
struct Shape {
    n: i64,
    text: String,
}

#[derive(Clone)]
struct Outputs {
    tools: Tools<Self>,
}

#[mcp_tools(default_rate = "unlimited")]
impl Outputs {
    /// Text with terminal escapes and a bidi override.
    #[mcp_tool(public)]
    async fn ansi(&self) -> String {
        "\u{1b}[31mred\u{1b}[0m \u{1b}]0;owned\u{7}title \u{202E}txt.exe".into()
    }

    /// The same text, passed through on purpose.
    #[mcp_tool(public, raw_output)]
    async fn ansi_raw(&self) -> String {
        "\u{1b}[31mred\u{1b}[0m".into()
    }

    /// More than the server's default cap.
    #[mcp_tool(public)]
    async fn big(&self) -> String {
        "x".repeat(10_000)
    }

    /// The same, with its own larger cap.
    #[mcp_tool(public, max_output = "64KiB")]
    async fn big_allowed(&self) -> String {
        "x".repeat(10_000)
    }

    /// Panics.
    #[mcp_tool(public)]
    async fn panics(&self) -> String {
        panic!("something broke inside")
    }

    /// Panics with its secret in the message, formatted the only way a secret formats.
    #[mcp_tool(public)]
    async fn panics_with(
        &self,
        #[mcp(length(min = 8, max = 64))] password: SecretString,
    ) -> String {
        panic!("login failed for {password:?}")
    }

    /// A tool error, from a tool with an output schema.
    #[mcp_tool(public)]
    async fn shaped_fails(&self) -> Result<Json<Shape>, ToolError> {
        Err(ToolError::not_found("shape 7"))
    }

    /// A panic, from a tool with an output schema.
    #[mcp_tool(public)]
    async fn shaped_panics(&self) -> Json<Shape> {
        panic!("shape broke")
    }

    /// A result over the cap, from a tool with an output schema.
    #[mcp_tool(public)]
    async fn shaped_big(&self) -> Json<Shape> {
        Json(Shape {
            n: 1,
            text: "x".repeat(10_000),
        })
    }

    /// Input rules and a tight rate, on a tool with an output schema.
    #[mcp_tool(public, rate = "2/min")]
    async fn shaped_input(&self, #[mcp(range(min = 1, max = 9))] n: i64) -> Json<Shape> {
        Json(Shape {
            n,
            text: String::new(),
        })
    }

    /// Takes a secret.
    #[mcp_tool(public)]
    async fn login(&self, #[mcp(length(min = 8, max = 64))] password: SecretString) -> String {
        format!("{} characters accepted", password.expose_secret().len())
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for Outputs {}

struct Capture(Arc<Mutex<Vec<String>>>);

impl AuditSink for Capture {
    fn record(&self, event: &SecurityEvent<'_>) {
        self.0.lock().unwrap().push(event.to_json().to_string());
    }
}

async fn start() -> (String, Arc<Mutex<Vec<String>>>) {
    let audit = Arc::new(Mutex::new(Vec::new()));
    let security = Security::builder()
        .default_max_output(4096)
        .audit_sink(Capture(audit.clone()))
        .build()
        .unwrap();
    let keys = ApiKeys::new().with_key(CANARIES[3], Principal::new("tester", ["x:y"]));
    let server = Outputs {
        tools: Outputs::tools(),
    };
    (
        serve_in_process(server.clone(), &server.tools, security, keys).await,
        audit,
    )
}

async fn call(c: &Client, tool: &str, args: Value) -> CallToolResult {
    let params = CallToolRequestParams::new(tool.to_owned())
        .with_arguments(args.as_object().cloned().unwrap());
    c.call_tool(params).await.unwrap()
}

fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

fn incident(r: &CallToolResult) -> String {
    err(r)["incident"].as_str().unwrap().to_owned()
}

fn code(r: &CallToolResult) -> Option<String> {
    common::error_code(r)
}

/// Every refusal and failure of a tool that declares an output schema leaves
/// `structuredContent` out (it would not conform: clients such as the TypeScript SDK reject
/// the result) and carries the error in `_meta`, whoever produced it: the guard (input, rate),
/// the tool (its `ToolError`, its panic) or the output cap.
#[tokio::test]
async fn errors_of_a_tool_with_an_output_schema_conform_to_it() {
    let (url, _audit) = start().await;
    let c = connect(&url, CANARIES[3]).await;
    let listed = c.list_all_tools().await.unwrap();
    for name in [
        "shaped_fails",
        "shaped_panics",
        "shaped_big",
        "shaped_input",
    ] {
        let tool = listed.iter().find(|t| t.name == name).unwrap();
        assert!(
            tool.output_schema.is_some(),
            "{name} lists an output schema"
        );
    }
    let ok = call(&c, "shaped_input", json!({"n": 3})).await;
    assert_eq!(ok.structured_content, Some(json!({"n": 3, "text": ""})));
    for (tool, args, expected) in [
        ("shaped_fails", json!({}), "not_found"),
        ("shaped_panics", json!({}), "internal"),
        ("shaped_big", json!({}), "output_too_large"),
        ("shaped_input", json!({"n": 0}), "invalid_input"),
        ("shaped_input", json!({"n": "three"}), "rate_limited"),
    ] {
        let result = call(&c, tool, args).await;
        assert_eq!(result.is_error, Some(true), "{tool}: {result:?}");
        assert_eq!(
            code(&result).as_deref(),
            Some(expected),
            "{tool}: {result:?}"
        );
        assert_eq!(result.structured_content, None, "{tool}: {result:?}");
        assert!(
            text(&result).starts_with(&format!("{expected}: ")),
            "{tool}: {result:?}"
        );
    }
    // A tool without an output schema keeps the error in structured content too.
    let big = call(&c, "big", json!({})).await;
    assert_eq!(
        big.structured_content.as_ref().unwrap()["error"]["code"],
        "output_too_large"
    );
}

#[tokio::test]
async fn outputs_are_shaped_and_secrets_never_leave() {
    let (url, audit) = start().await;
    let c = connect(&url, CANARIES[3]).await;
    let mut seen = String::new();

    let ansi = call(&c, "ansi", json!({})).await;
    assert_eq!(text(&ansi), "red title txt.exe");
    let raw = call(&c, "ansi_raw", json!({})).await;
    assert_eq!(text(&raw), "\u{1b}[31mred\u{1b}[0m");

    let big = call(&c, "big", json!({})).await;
    assert_eq!(code(&big).as_deref(), Some("output_too_large"));
    assert!(
        text(&big).len() < 500,
        "the error replaces the result, no truncated half"
    );
    let allowed = call(&c, "big_allowed", json!({})).await;
    assert_eq!(text(&allowed).len(), 10_000);

    let panicked = call(&c, "panics", json!({})).await;
    assert_eq!(code(&panicked).as_deref(), Some("internal"));
    let panic_incident = incident(&panicked);
    assert!(
        !text(&panicked).contains("something broke"),
        "the panic message stays in the server log"
    );
    let panicked = call(&c, "panics_with", json!({"password": CANARIES[2]})).await;
    assert_eq!(code(&panicked).as_deref(), Some("internal"));
    let secret_incident = incident(&panicked);
    seen.push_str(&serde_json::to_string(&panicked).unwrap());
    assert_eq!(
        text(&call(&c, "ansi_raw", json!({})).await),
        "\u{1b}[31mred\u{1b}[0m",
        "the server keeps serving"
    );

    let tools = c.list_all_tools().await.unwrap();
    let login = tools.iter().find(|t| t.name == "login").unwrap();
    let schema = Value::Object((*login.input_schema).clone());
    assert_eq!(schema["properties"]["password"]["writeOnly"], true);
    assert_eq!(schema["properties"]["password"]["format"], "password");
    assert_eq!(schema["properties"]["password"]["maxLength"], 64);

    for args in [
        json!({"password": CANARIES[0]}),
        json!({"password": CANARIES[1]}),
        json!({"password": 987654321987u64}),
        json!({"password": [CANARIES[0]]}),
        json!({"password": CANARIES[0], "extra": CANARIES[0]}),
    ] {
        let r = call(&c, "login", args).await;
        seen.push_str(&serde_json::to_string(&r).unwrap());
    }
    assert!(seen.contains("21 characters accepted"));
    assert!(seen.contains("\"rule\":\"length\"") && seen.contains("must have 8 to 64 characters"));
    c.cancel().await.unwrap();

    let audit = audit.lock().unwrap().join("\n");
    assert!(audit.contains("\"event\":\"validation_failed\""));
    // Both panics are audited, each under the incident id its caller was given.
    for (tool, incident) in [
        ("panics", &panic_incident),
        ("panics_with", &secret_incident),
    ] {
        let event = audit
            .lines()
            .find(|l| {
                l.contains("\"event\":\"tool_failed\"")
                    && l.contains(&format!("\"tool\":\"{tool}\""))
            })
            .unwrap_or_else(|| panic!("the panic of {tool} is audited: {audit}"));
        assert!(event.contains(incident.as_str()), "{event}");
    }
    // The cause behind the incident id reaches the sinks, under the same id.
    let cause = audit
        .lines()
        .find(|l| l.contains("\"event\":\"incident\"") && l.contains(panic_incident.as_str()))
        .unwrap_or_else(|| panic!("the incident's cause is audited: {audit}"));
    assert!(cause.contains("something broke inside"), "{cause}");
    for canary in CANARIES {
        assert!(
            !seen.contains(canary),
            "{canary} came back in a response: {seen}"
        );
        assert!(
            !audit.contains(canary),
            "{canary} reached the audit log: {audit}"
        );
    }
}
