//! The tools of the suite's input-required scenarios (SEP-2322): each asks the client for input
//! through an [`InputRound`], whose state the guard has checked before the tool runs.

use mcp_secure::{prelude::*, tool::InputRound};
use rmcp::model::{
    CallToolResponse, CallToolResult, ClientCapabilities, ContentBlock, CreateMessageResult,
    ElicitResult, InputRequest, ListRootsResult,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// An input request written as the spec shows it.
fn request(value: Value) -> Result<InputRequest, ToolError> {
    serde_json::from_value(value).map_err(ToolError::internal)
}

fn elicit(message: &str, field: &str, kind: &str) -> Result<InputRequest, ToolError> {
    request(json!({
        "method": "elicitation/create",
        "params": {
            "mode": "form",
            "message": message,
            "requestedSchema": {
                "type": "object",
                "properties": { field: { "type": kind } },
                "required": [field]
            }
        }
    }))
}

fn sample(text: &str, max_tokens: u32) -> Result<InputRequest, ToolError> {
    request(json!({
        "method": "sampling/createMessage",
        "params": {
            "messages": [{ "role": "user", "content": { "type": "text", "text": text } }],
            "maxTokens": max_tokens
        }
    }))
}

fn list_roots() -> Result<InputRequest, ToolError> {
    request(json!({ "method": "roots/list", "params": {} }))
}

fn text(text: impl Into<String>) -> Result<CallToolResponse, ToolError> {
    Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
}

/// A field of an accepted elicitation's content, as text.
fn field(answer: &ElicitResult, name: &str) -> String {
    answer
        .content
        .as_ref()
        .and_then(|c| c.get(name))
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .unwrap_or_default()
}

fn sampled(answer: &CreateMessageResult) -> String {
    answer
        .message
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

/// What the multi-round tool remembers between rounds.
#[derive(Serialize, Deserialize)]
struct Progress {
    round: u8,
    name: Option<String>,
}

/// `test_input_required_result_elicitation`: asks for a name, then greets. A retry without the
/// answer asks again.
pub async fn elicitation(round: InputRound) -> Result<CallToolResponse, ToolError> {
    match round.answer::<ElicitResult>("user_name")? {
        Some(answer) => text(format!("Hello, {}!", field(&answer, "name"))),
        None => Ok(round
            .ask(
                [("user_name", elicit("What is your name?", "name", "string")?)],
                None::<&()>,
            )?
            .into()),
    }
}

/// `test_input_required_result_sampling`: asks the client's model a question.
pub async fn sampling(round: InputRound) -> Result<CallToolResponse, ToolError> {
    match round.answer::<CreateMessageResult>("capital_question")? {
        Some(answer) => text(format!("The model answered: {}", sampled(&answer))),
        None => Ok(round
            .ask(
                [(
                    "capital_question",
                    sample("What is the capital of France?", 100)?,
                )],
                None::<&()>,
            )?
            .into()),
    }
}

/// `test_input_required_result_list_roots`: asks for the client's roots and names them.
pub async fn roots(round: InputRound) -> Result<CallToolResponse, ToolError> {
    match round.answer::<ListRootsResult>("client_roots")? {
        Some(answer) => {
            let uris: Vec<&str> = answer.roots.iter().map(|r| r.uri.as_str()).collect();
            text(format!("The client's roots: {}", uris.join(", ")))
        }
        None => Ok(round
            .ask([("client_roots", list_roots()?)], None::<&()>)?
            .into()),
    }
}

/// `test_input_required_result_request_state` and `..._tampered_state`: asks for a confirmation
/// with a sealed state; the retry answers `state-ok` only with the state this server sealed.
pub async fn confirm(round: InputRound) -> Result<CallToolResponse, ToolError> {
    let state: Option<String> = round.state()?;
    match (state.as_deref(), round.answer::<ElicitResult>("confirm")?) {
        (Some("confirm"), Some(answer)) => {
            text(format!("state-ok: confirmed={}", field(&answer, "ok")))
        }
        _ => Ok(round
            .ask(
                [("confirm", elicit("Please confirm", "ok", "boolean")?)],
                Some("confirm"),
            )?
            .into()),
    }
}

/// `test_input_required_result_multiple_inputs`: an elicitation, a sampling and the roots in
/// one round; completes when all three are answered.
pub async fn multiple(round: InputRound) -> Result<CallToolResponse, ToolError> {
    let name = round.answer::<ElicitResult>("user_name")?;
    let greeting = round.answer::<CreateMessageResult>("greeting")?;
    let roots = round.answer::<ListRootsResult>("client_roots")?;
    match (round.state::<String>()?, name, greeting, roots) {
        (Some(_), Some(name), Some(greeting), Some(roots)) => text(format!(
            "name={}, greeting={}, roots={}",
            field(&name, "name"),
            sampled(&greeting),
            roots.roots.len()
        )),
        _ => Ok(round
            .ask(
                [
                    ("user_name", elicit("What is your name?", "name", "string")?),
                    ("greeting", sample("Generate a greeting", 50)?),
                    ("client_roots", list_roots()?),
                ],
                Some("multiple"),
            )?
            .into()),
    }
}

/// `test_input_required_result_multi_round`: a name, then a colour, the name carried in the
/// sealed state between the rounds.
pub async fn multi_round(round: InputRound) -> Result<CallToolResponse, ToolError> {
    let progress: Option<Progress> = round.state()?;
    match progress {
        Some(Progress { round: 1, .. }) => match round.answer::<ElicitResult>("step1")? {
            Some(answer) => Ok(round
                .ask(
                    [(
                        "step2",
                        elicit("Step 2: What is your favorite color?", "color", "string")?,
                    )],
                    Some(&Progress {
                        round: 2,
                        name: Some(field(&answer, "name")),
                    }),
                )?
                .into()),
            None => ask_step1(&round),
        },
        Some(Progress {
            round: 2,
            name: Some(name),
        }) => match round.answer::<ElicitResult>("step2")? {
            Some(answer) => text(format!(
                "{name}'s favorite color is {}",
                field(&answer, "color")
            )),
            None => ask_step1(&round),
        },
        _ => ask_step1(&round),
    }
}

fn ask_step1(round: &InputRound) -> Result<CallToolResponse, ToolError> {
    Ok(round
        .ask(
            [(
                "step1",
                elicit("Step 1: What is your name?", "name", "string")?,
            )],
            Some(&Progress {
                round: 1,
                name: None,
            }),
        )?
        .into())
}

/// `test_input_required_result_capabilities`: asks only for what the client declared it can
/// answer.
pub async fn by_capability(
    round: InputRound,
    capabilities: Option<ClientCapabilities>,
) -> Result<CallToolResponse, ToolError> {
    if round.is_retry() {
        return text("Thanks for the answers.");
    }
    let capabilities = capabilities.unwrap_or_default();
    let mut requests = Vec::new();
    if capabilities.elicitation.is_some() {
        requests.push(("user_name", elicit("What is your name?", "name", "string")?));
    }
    if capabilities.sampling.is_some() {
        requests.push(("greeting", sample("Generate a greeting", 50)?));
    }
    if capabilities.roots.is_some() {
        requests.push(("client_roots", list_roots()?));
    }
    if requests.is_empty() {
        return text("The client declared no capability to ask with.");
    }
    Ok(round.ask(requests, None::<&()>)?.into())
}
