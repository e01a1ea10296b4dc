//! What leaves through prompts, over real HTTP: the conformance server's
//! `test_prompt_with_arguments` echoes its arguments into the prompt's text, as a prompt
//! template does. Whatever the client put there, the prompt that comes back carries no hidden
//! character (escape sequences, bidi controls, variation selectors, tag characters, default
//! ignorables) and no JSON escape of one, since `Endpoint` cleans every answer that is not a
//! tool's.

use mcp_secure::{Security, sanitize::is_invisible};
use rmcp::{ServiceExt, model::GetPromptRequestParams, transport::StreamableHttpClientTransport};
use serde_json::{Value, json};

/// Every string inside `value`, keys included.
fn strings(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push_str(k);
            strings(v, out)
        }),
        _ => {}
    }
}

/// Hidden payloads of each class, and JSON escapes of them inside text.
const HOSTILE: &[&str] = &[
    "\u{1b}[31mred\u{1b}[0m",
    "bidi \u{202E}txt.exe",
    "Meeting notes 😀\u{FE00}\u{E0149}\u{E0147}\u{E004E}\u{E004F}\u{E0052}\u{E0045}",
    "soft\u{AD}hyphen, cgj\u{34F}, filler\u{3164}, braille\u{2800}, mongolian\u{180E}",
    "{\"a\": \"\\u001b[2J\"} and prose",
    "\u{FEFF}{\"b\": \"\\ufe0f\\udb40\\udc49\"}",
    "nested \"{\\\"c\\\": \\\"\\\\u001b\\\"}\"",
];

#[tokio::test]
async fn prompt_arguments_come_back_without_hidden_characters() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let endpoint = mcp_secure_examples::conformance::endpoint(addr, Security::default());
    tokio::spawn(endpoint.serve(listener, std::future::pending()));
    let url = format!("http://{addr}/mcp");
    let client = ().serve(StreamableHttpClientTransport::from_uri(url.as_str())).await.unwrap();
    for hostile in HOSTILE {
        let arguments = json!({ "arg1": hostile, "arg2": "plain" });
        let prompt = client
            .get_prompt(
                GetPromptRequestParams::new("test_prompt_with_arguments")
                    .with_arguments(arguments.as_object().unwrap().clone()),
            )
            .await
            .expect("the prompt is answered");
        let mut text = String::new();
        strings(&serde_json::to_value(&prompt).unwrap(), &mut text);
        assert!(text.contains("arg2='plain'"), "{text:?}");
        assert!(
            !text.chars().any(|c| is_invisible(c) && c != '\u{1F600}'),
            "a hidden character came back from {hostile:?}: {text:?}"
        );
        let lower = text.to_ascii_lowercase();
        for escape in ["\\u001b", "\\ufe0f", "\\udb40"] {
            assert!(
                !lower.contains(escape),
                "{escape} came back from {hostile:?}: {text:?}"
            );
        }
    }
    client.cancel().await.unwrap();
}
