//! Tools that ask the client for input (SEP-2322), attacked over real HTTP: a `requestState`
//! comes back from the client, so every way of bending it is tried: altered, moved to another
//! tool, replayed by another caller or with other arguments, forged by another server, sent with
//! answers to questions never asked. Only the state this server sealed for this tool, this
//! caller and these arguments reaches the tool, with answers to what it asked; everything else
//! is a `-32602` error, audited.

mod common;

use std::sync::{Arc, Mutex};

use common::{Client, serve_in_process};
use mcp_secure::{
    Security, SecurityError,
    audit::{AuditSink, SecurityEvent},
    auth::{ApiKeys, Principal},
    prelude::*,
    tool::InputRound,
};
use rmcp::{
    ServiceError,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ElicitResult,
        InputRequest, InputRequiredResult, InputResponses,
    },
};
use secrecy::SecretSlice;
use serde_json::{Value, json};

const KEY_A: &str = "round-tester-key-a-0123456789";
const KEY_B: &str = "round-tester-key-b-0123456789";

mcp_secure::scopes! {
    /// Ask for names.
    "x:y",
}

#[derive(Clone)]
struct Rounds {
    tools: Tools<Self>,
}

fn question() -> InputRequest {
    serde_json::from_value(json!({
        "method": "elicitation/create",
        "params": {
            "mode": "form",
            "message": "What is your name?",
            "requestedSchema": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"]
            }
        }
    }))
    .unwrap()
}

/// Asks for a name with the state `asked`; greets when the retry carries both.
async fn greet(round: InputRound, tool: &str) -> Result<CallToolResponse, ToolError> {
    let state: Option<String> = round.state()?;
    match (state, round.answer::<ElicitResult>("name")?) {
        (Some(state), Some(answer)) => {
            let name = answer.content.unwrap_or_default()["name"].clone();
            Ok(CallToolResult::success(vec![ContentBlock::text(format!(
                "{tool}: hello {name} ({state})"
            ))])
            .into())
        }
        _ => Ok(round.ask([("name", question())], Some("asked"))?.into()),
    }
}

#[mcp_tools(default_rate = "unlimited")]
impl Rounds {
    /// Asks for a name.
    #[mcp_tool(scope = "x:y")]
    async fn ask_name(&self, round: InputRound) -> Result<CallToolResponse, ToolError> {
        greet(round, "ask_name").await
    }

    /// Asks for a name too: a state of `ask_name` must not pass here.
    #[mcp_tool(scope = "x:y")]
    async fn other(&self, round: InputRound) -> Result<CallToolResponse, ToolError> {
        greet(round, "other").await
    }

    /// Asks to confirm a transfer, then makes it.
    #[mcp_tool(scope = "x:y")]
    async fn transfer(
        &self,
        /// To whom.
        #[mcp(length(min = 1, max = 32))]
        to: String,
        /// How much.
        #[mcp(range(min = 1, max = 1000))]
        amount: u32,
        round: InputRound,
    ) -> Result<CallToolResponse, ToolError> {
        let confirmed = round.answer::<ElicitResult>("confirm")?;
        match (round.state::<String>()?, confirmed) {
            (Some(_), Some(_)) => Ok(CallToolResult::success(vec![ContentBlock::text(format!(
                "sent {amount} to {to}"
            ))])
            .into()),
            _ => Ok(round
                .ask([("confirm", question())], Some("confirm"))?
                .into()),
        }
    }

    /// Asks for a name without a state of its own, then says which answers it can read.
    #[mcp_tool(scope = "x:y")]
    async fn peek(&self, round: InputRound) -> Result<CallToolResponse, ToolError> {
        let mut seen = Vec::new();
        for key in ["name", "admin", "confirm"] {
            if round.answer::<Value>(key)?.is_some() {
                seen.push(key);
            }
        }
        if seen.is_empty() {
            return Ok(round.ask([("name", question())], None::<&()>)?.into());
        }
        Ok(CallToolResult::success(vec![ContentBlock::text(seen.join(","))]).into())
    }

    /// Takes no rounds: whatever the client sends as state is not read.
    #[mcp_tool(scope = "x:y")]
    async fn plain(&self) -> String {
        "plain".into()
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for Rounds {}

struct Capture(Arc<Mutex<Vec<Value>>>);

impl AuditSink for Capture {
    fn record(&self, event: &SecurityEvent<'_>) {
        self.0.lock().unwrap().push(event.to_json());
    }
}

/// A server with its own audit log; `key` is its `requestState` key (random when `None`).
async fn start(key: Option<&[u8]>) -> (String, Arc<Mutex<Vec<Value>>>) {
    let audit = Arc::new(Mutex::new(Vec::new()));
    let mut security = Security::builder().audit_sink(Capture(audit.clone()));
    if let Some(key) = key {
        security = security.request_state_key(SecretSlice::from(key.to_vec()));
    }
    let keys = ApiKeys::new()
        .with_key(KEY_A, Principal::new("alice", ["x:y"]))
        .with_key(KEY_B, Principal::new("bob", ["x:y"]));
    let server = Rounds {
        tools: Rounds::tools(),
    };
    let url = serve_in_process(
        server.clone(),
        &server.tools,
        security.build().unwrap(),
        keys,
    )
    .await;
    (url, audit)
}

/// A 2026-07-28 client (`server/discover`, no session): input requests need that revision.
async fn connect(url: &str, key: &str) -> Client {
    common::connect_2026(url, key).await
}

async fn call_once(
    client: &Client,
    tool: &str,
    answers: Option<Value>,
    state: Option<&str>,
) -> Result<CallToolResponse, ServiceError> {
    call_with(client, tool, json!({}), answers, state).await
}

async fn call_with(
    client: &Client,
    tool: &str,
    arguments: Value,
    answers: Option<Value>,
    state: Option<&str>,
) -> Result<CallToolResponse, ServiceError> {
    let arguments = serde_json::from_value(arguments).unwrap();
    let mut params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
    if let Some(answers) = answers {
        params =
            params.with_input_responses(serde_json::from_value::<InputResponses>(answers).unwrap());
    }
    params.request_state = state.map(str::to_owned);
    client.call_tool_once(params).await
}

fn asked(response: CallToolResponse) -> InputRequiredResult {
    match response {
        CallToolResponse::InputRequired(asked) => asked,
        other => panic!("expected an input request, got {other:?}"),
    }
}

fn answered(response: CallToolResponse) -> String {
    match response {
        CallToolResponse::Complete(result) => {
            assert_ne!(result.is_error, Some(true), "{result:?}");
            common::text(&result)
        }
        other => panic!("expected a result, got {other:?}"),
    }
}

fn name() -> Option<Value> {
    Some(json!({"name": {"action": "accept", "content": {"name": "Alice"}}}))
}

/// The JSON-RPC error of a refused retry: `-32602`, naming the field and the rule, and nothing
/// of the state the client sent.
fn refused(result: Result<CallToolResponse, ServiceError>, field: &str, rule: &str, sent: &str) {
    let Err(ServiceError::McpError(error)) = &result else {
        panic!("expected a JSON-RPC error, got {result:?}");
    };
    assert_eq!(error.code.0, -32602, "{error:?}");
    let data = error.data.as_ref().expect("data");
    assert_eq!(data["field"], field, "{error:?}");
    assert_eq!(data["rule"], rule, "{error:?}");
    if !sent.is_empty() {
        assert!(
            !format!("{error:?}").contains(sent),
            "the state is echoed: {error:?}"
        );
    }
}

/// The violations of the `validation_failed` events recorded so far.
fn audited(audit: &Mutex<Vec<Value>>) -> Vec<(String, String, String)> {
    audit
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "validation_failed")
        .flat_map(|e| {
            let subject = e["subject"].as_str().unwrap().to_owned();
            e["violations"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |v| {
                    (
                        subject.clone(),
                        v["field"].as_str().unwrap().to_owned(),
                        v["rule"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn a_round_trip_completes_with_the_state_this_server_sealed() {
    let (url, _) = start(None).await;
    let alice = connect(&url, KEY_A).await;
    let first = asked(call_once(&alice, "ask_name", None, None).await.unwrap());
    assert!(first.input_requests.as_ref().unwrap().contains_key("name"));
    let state = first.request_state.expect("a sealed state");
    let done = call_once(&alice, "ask_name", name(), Some(&state))
        .await
        .unwrap();
    assert_eq!(answered(done), "ask_name: hello \"Alice\" (asked)");
    // Without the answer the tool asks again rather than failing.
    let again = call_once(&alice, "ask_name", Some(json!({})), Some(&state)).await;
    asked(again.unwrap());
}

#[tokio::test]
async fn an_altered_state_is_refused_and_audited() {
    let (url, audit) = start(None).await;
    let alice = connect(&url, KEY_A).await;
    let state = asked(call_once(&alice, "ask_name", None, None).await.unwrap())
        .request_state
        .unwrap();
    let middle = state.len() / 2;
    let flipped = {
        let mut bytes = state.clone().into_bytes();
        bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let forged_payload = {
        // Same framing, payload swapped for one the tool would trust.
        let (head, _) = state.rsplit_once('.').unwrap_or((&state, ""));
        format!("{head}.AAAA")
    };
    for bent in [
        format!("{state}-TAMPERED"),
        flipped,
        forged_payload,
        state[..state.len() - 1].to_owned(),
        String::new(),
        "\u{202e}\u{0007}".to_owned(),
    ] {
        let result = call_once(&alice, "ask_name", name(), Some(&bent)).await;
        refused(result, "requestState", "integrity", &bent);
    }
    let events = audited(&audit);
    assert_eq!(events.len(), 6, "{events:?}");
    assert!(events.iter().all(|(who, field, rule)| who == "alice"
        && field == "requestState"
        && rule == "integrity"));
}

#[tokio::test]
async fn a_state_is_bound_to_its_tool_its_caller_and_its_server() {
    let (url, _) = start(None).await;
    let alice = connect(&url, KEY_A).await;
    let bob = connect(&url, KEY_B).await;
    let state = asked(call_once(&alice, "ask_name", None, None).await.unwrap())
        .request_state
        .unwrap();
    // Another tool of the same server.
    refused(
        call_once(&alice, "other", name(), Some(&state)).await,
        "requestState",
        "integrity",
        "",
    );
    // Another caller with the same scope.
    refused(
        call_once(&bob, "ask_name", name(), Some(&state)).await,
        "requestState",
        "integrity",
        "",
    );
    // Another server (its own random key).
    let (elsewhere, _) = start(None).await;
    let alice_elsewhere = connect(&elsewhere, KEY_A).await;
    refused(
        call_once(&alice_elsewhere, "ask_name", name(), Some(&state)).await,
        "requestState",
        "integrity",
        "",
    );
    // The owner still completes with it.
    let done = call_once(&alice, "ask_name", name(), Some(&state))
        .await
        .unwrap();
    assert!(answered(done).starts_with("ask_name: hello"));
}

#[tokio::test]
async fn replicas_sharing_a_key_accept_each_others_states() {
    let key = [7u8; 32];
    let (one, _) = start(Some(&key)).await;
    let (two, _) = start(Some(&key)).await;
    let on_one = connect(&one, KEY_A).await;
    let on_two = connect(&two, KEY_A).await;
    let state = asked(call_once(&on_one, "ask_name", None, None).await.unwrap())
        .request_state
        .unwrap();
    let done = call_once(&on_two, "ask_name", name(), Some(&state))
        .await
        .unwrap();
    assert!(answered(done).starts_with("ask_name: hello"));
}

#[tokio::test]
async fn answers_that_are_not_results_are_refused() {
    let (url, audit) = start(None).await;
    let alice = connect(&url, KEY_A).await;
    for bad in [
        json!({"name": 12345}),
        json!({"name": "accept"}),
        json!({"name": null, "x": {}}),
    ] {
        refused(
            call_once(&alice, "ask_name", Some(bad), None).await,
            "inputResponses",
            "type",
            "",
        );
    }
    assert_eq!(audited(&audit).len(), 3);
    // An object of the wrong shape reaches the tool, which names the answer it could not read.
    let state = asked(call_once(&alice, "ask_name", None, None).await.unwrap())
        .request_state
        .unwrap();
    let wrong = Some(json!({"name": {"action": ["accept"]}}));
    match call_once(&alice, "ask_name", wrong, Some(&state))
        .await
        .unwrap()
    {
        CallToolResponse::Complete(result) => {
            let error = common::err(&result);
            assert_eq!(error["code"], "invalid_input", "{error}");
            assert_eq!(error["field"], "inputResponses.name", "{error}");
        }
        other => panic!("expected an error result, got {other:?}"),
    }
}

fn confirm() -> Option<Value> {
    Some(json!({"confirm": {"action": "accept", "content": {"name": "yes"}}}))
}

#[tokio::test]
async fn a_state_is_bound_to_the_arguments_of_the_call_that_asked() {
    let (url, audit) = start(None).await;
    let alice = connect(&url, KEY_A).await;
    let sent = json!({"to": "bob", "amount": 10});
    let state = asked(
        call_with(&alice, "transfer", sent.clone(), None, None)
            .await
            .unwrap(),
    )
    .request_state
    .unwrap();
    // The confirmation given for 10 to bob does not confirm anything else.
    for other in [
        json!({"to": "mallory", "amount": 10}),
        json!({"to": "bob", "amount": 1000}),
        json!({"to": "bob", "amount": 11}),
    ] {
        refused(
            call_with(&alice, "transfer", other, confirm(), Some(&state)).await,
            "requestState",
            "arguments",
            &state,
        );
    }
    assert_eq!(
        audited(&audit),
        vec![
            (
                "alice".to_owned(),
                "requestState".to_owned(),
                "arguments".to_owned()
            );
            3
        ]
    );
    // The same arguments, in another order, complete it.
    let reordered = json!({"amount": 10, "to": "bob"});
    let done = call_with(&alice, "transfer", reordered, confirm(), Some(&state))
        .await
        .unwrap();
    assert_eq!(answered(done), "sent 10 to bob");
    // Not single-use (the guide, docs/src/known-limits.md): within its TTL the same caller can present it
    // again with the same arguments, and the tool runs again.
    let again = call_with(&alice, "transfer", sent, confirm(), Some(&state))
        .await
        .unwrap();
    assert_eq!(answered(again), "sent 10 to bob");
}

#[tokio::test]
async fn answers_to_questions_never_asked_never_reach_the_tool() {
    let (url, audit) = start(None).await;
    let alice = connect(&url, KEY_A).await;
    let name = json!({"action": "accept", "content": {"name": "Alice"}});
    let accept = json!({"action": "accept"});
    // Answers on a first call, without the state of a round that asked: nothing was asked, so
    // the tool reads none and asks.
    let first = call_once(
        &alice,
        "peek",
        Some(json!({"name": name, "admin": accept})),
        None,
    )
    .await
    .unwrap();
    let state = asked(first)
        .request_state
        .expect("every question is sealed");
    // With the state, the answer asked for reaches it; the others beside it do not.
    let extra = json!({"name": name, "admin": accept, "confirm": accept});
    let done = call_once(&alice, "peek", Some(extra), Some(&state))
        .await
        .unwrap();
    assert_eq!(answered(done), "name");
    // Only extras: the tool sees nothing, and asks again.
    let only_extra = json!({"admin": accept, "confirm\u{202e}": accept});
    asked(
        call_once(&alice, "peek", Some(only_extra), Some(&state))
            .await
            .unwrap(),
    );
    // Dropped, not refused (SEP-2322: servers ignore what they do not recognize).
    assert!(audited(&audit).is_empty());
}

#[tokio::test]
async fn a_tool_that_takes_no_rounds_does_not_read_a_state() {
    let (url, audit) = start(None).await;
    let alice = connect(&url, KEY_A).await;
    let done = call_once(&alice, "plain", name(), Some("not-a-state"))
        .await
        .unwrap();
    assert_eq!(answered(done), "plain");
    assert!(audited(&audit).is_empty());
}

#[test]
fn a_short_key_is_refused() {
    let short = Security::builder()
        .request_state_key(SecretSlice::from(vec![1u8; 31]))
        .build();
    assert_eq!(short.err(), Some(SecurityError::ShortRequestStateKey));
}
