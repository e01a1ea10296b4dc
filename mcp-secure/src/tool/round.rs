//! Tools that ask the client for input (spec 2026-07-28, SEP-2322): the answers a retried call
//! carries, and the state a tool keeps between rounds, sealed to the tool, the caller and the
//! call's arguments.
//!
//! A `requestState` comes back from the client, so a tool must not trust it as it reads. The
//! guard opens it before the tool runs: only a state this server sealed, for this tool, this
//! caller and these arguments, within [`STATE_TTL`], reaches the tool; anything else is a
//! JSON-RPC `-32602` error, audited as a `validation_failed` event. Answers reach the tool only
//! for the questions that state's round asked; the others are dropped. The state is signed (HMAC-SHA-256, rmcp's
//! [`RequestStateCodec`]), not encrypted: the client can read it, so it must hold no secret.
//!
//! A state is not single-use: within its TTL the same caller can present it again, with the
//! same arguments, and the tool runs again with whatever answers come with it. Refusing the
//! second use would need a record of spent states shared by every replica, and would refuse an
//! honest client retrying after a lost response; what it would stop, the same caller sending
//! the same answers twice, that caller can do anyway by starting the round again. A tool whose
//! effect must happen once keys it on something it stores itself (an id it puts in its state
//! and records when the effect is done).

use std::time::Duration;

use rmcp::model::{
    InputRequest, InputRequests, InputRequiredResult, InputResponses, JsonObject,
    RequestStateCodec, RequestStateError, SealOptions,
};
use serde::{Deserialize, Deserializer, Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::ToolError;
use crate::{Security, audit::SecurityEvent, auth::Principal, validate::Violation};

/// How long a sealed `requestState` is accepted: long enough for a person to answer an
/// elicitation, short enough that a leaked state is soon worthless.
pub const STATE_TTL: Duration = Duration::from_secs(10 * 60);

/// The input rounds of one call, for a tool that asks the client for input: take it as a
/// parameter of an `#[mcp_tool]` method (any position, like `Principal`).
///
/// The first call carries no answers; the tool asks with [`ask`](Self::ask) (returned as
/// `Ok(round.ask(..)?.into())` from a tool returning `Result<CallToolResponse, ToolError>`).
/// The client fulfils the requests and calls again with the same arguments, the answers and
/// the state, which the tool reads with [`answer`](Self::answer) and [`state`](Self::state).
/// Before the tool runs, the guard refuses a state presented with other arguments (rule
/// `arguments`), and drops answers to keys the round that sealed the state did not ask (all
/// of them when the call carries no state): the tool reads only answers to its questions.
///
/// ```
/// use mcp_secure::{prelude::*, tool::InputRound};
/// use rmcp::model::{
///     CallToolResponse, CallToolResult, ContentBlock, ElicitRequest, ElicitRequestParams,
///     ElicitResult, ElicitationSchema, InputRequest,
/// };
///
/// #[derive(Clone)]
/// struct Server;
///
/// #[mcp_tools(default_rate = "10/s")]
/// impl Server {
///     /// Greets the caller by the name they give.
///     #[mcp_tool(public)]
///     async fn greet(&self, round: InputRound) -> Result<CallToolResponse, ToolError> {
///         let Some(answer) = round.answer::<ElicitResult>("name")? else {
///             let schema = ElicitationSchema::builder().required_string("name").build();
///             let question = ElicitRequestParams::FormElicitationParams {
///                 meta: None,
///                 message: "What is your name?".into(),
///                 requested_schema: schema.map_err(ToolError::internal)?,
///             };
///             let request = InputRequest::Elicitation(ElicitRequest::new(question));
///             return Ok(round.ask([("name", request)], None::<&()>)?.into());
///         };
///         let name = answer.content.as_ref().and_then(|c| c.get("name")?.as_str());
///         let text = format!("Hello, {}!", name.unwrap_or("stranger"));
///         Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
///     }
/// }
/// # assert!(Server::tool_policies()[0].takes_input_rounds());
/// ```
pub struct InputRound {
    answers: Option<InputResponses>,
    /// The call carried answers or a sealed state.
    retry: bool,
    state: Option<Value>,
    /// Set for a tool that takes rounds: what it seals new states with.
    sealer: Option<Sealer>,
}

struct Sealer {
    security: Security,
    binding: Vec<u8>,
    arguments: ArgumentsDigest,
}

/// What is sealed: the tool's state, with what the guard checks on the retry. Readable by the
/// client, like the tool's state: the digest is of arguments the client sent itself.
#[derive(Serialize, Deserialize)]
struct Sealed {
    /// The envelope's version, so that a state of another one is told apart.
    v: u8,
    /// The call's arguments ([`ArgumentsDigest`]), in hex.
    arguments: String,
    /// The keys of the input requests this round asked.
    asked: Vec<String>,
    /// The tool's state; a `null` state is `Some(Null)`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    state: Option<Value>,
}

const SEALED_VERSION: u8 = 1;

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// SHA-256 of a call's arguments in canonical JSON (object keys sorted, no spaces), so that a
/// client that sends the same arguments in another key order or spacing matches; absent
/// arguments are `{}`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArgumentsDigest([u8; 32]);

impl ArgumentsDigest {
    pub(crate) fn of(arguments: Option<&JsonObject>) -> Self {
        let mut hasher = Sha256::new();
        match arguments {
            Some(object) => canonical_object(object, &mut hasher),
            None => hasher.update(b"{}"),
        }
        Self(hasher.finalize().into())
    }

    fn hex(&self) -> String {
        use std::fmt::Write;
        self.0.iter().fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
    }
}

/// Depth is bounded by the parser that built the value (serde_json stops at 128 levels).
fn canonical(value: &Value, hasher: &mut Sha256) {
    match value {
        Value::Object(object) => canonical_object(object, hasher),
        Value::Array(items) => {
            hasher.update(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    hasher.update(b",");
                }
                canonical(item, hasher);
            }
            hasher.update(b"]");
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *hasher, scalar);
        }
    }
}

fn canonical_object(object: &JsonObject, hasher: &mut Sha256) {
    let mut entries: Vec<_> = object.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    hasher.update(b"{");
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            hasher.update(b",");
        }
        let _ = serde_json::to_writer(&mut *hasher, key);
        hasher.update(b":");
        canonical(value, hasher);
    }
    hasher.update(b"}");
}

impl InputRound {
    /// The round of a tool that takes none: nothing read, nothing to seal with.
    pub(crate) const fn unused() -> Self {
        Self {
            answers: None,
            retry: false,
            state: None,
            sealer: None,
        }
    }

    /// Checks a call's answers and opens its state for `tool`, `principal` and the call's
    /// `arguments`; a refusal is audited and is the JSON-RPC error the client gets.
    pub(crate) fn open(
        security: &Security,
        tool: &str,
        principal: &Principal,
        client: Option<std::net::IpAddr>,
        arguments: ArgumentsDigest,
        answers: Option<InputResponses>,
        state: Option<String>,
    ) -> Result<Self, rmcp::ErrorData> {
        let binding = binding(tool, principal);
        let refuse = |violation: Violation| {
            security.emit(&SecurityEvent::ValidationFailed {
                tool,
                issuer: principal.issuer(),
                subject: principal.subject(),
                violations: std::slice::from_ref(&violation),
                client,
            });
            rmcp::ErrorData::invalid_params(
                violation.to_string(),
                Some(json!({"field": violation.field, "rule": violation.rule})),
            )
        };
        // Each answer is a client's result object; anything else is a malformed retry.
        if let Some(answers) = &answers
            && answers.values().any(|v| !v.is_object())
        {
            return Err(refuse(Violation {
                field: "inputResponses".into(),
                rule: "type",
                message: "each answer must be the object the client's request returned".into(),
            }));
        }
        let integrity = || Violation {
            field: "requestState".into(),
            rule: "integrity",
            message: "the state is not one this server gave for this tool and caller".into(),
        };
        let sealed = match state {
            None => None,
            Some(sealed) => match security.request_states().open_with(&sealed, &binding) {
                Ok(payload) => match serde_json::from_slice::<Sealed>(&payload) {
                    Ok(opened) if opened.v == SEALED_VERSION => Some(opened),
                    // Sealed by this key in another envelope: another version of the server.
                    _ => return Err(refuse(integrity())),
                },
                Err(RequestStateError::Expired) => {
                    return Err(refuse(Violation {
                        field: "requestState".into(),
                        rule: "expired",
                        message: "the state has expired; call the tool again without it".into(),
                    }));
                }
                Err(_) => return Err(refuse(integrity())),
            },
        };
        if let Some(sealed) = &sealed
            && sealed.arguments != arguments.hex()
        {
            return Err(refuse(Violation {
                field: "requestState".into(),
                rule: "arguments",
                message: "the state was given to a call with other arguments; retry with the arguments of the call that asked, or call again without the state".into(),
            }));
        }
        // Only answers to what the round that sealed the state asked reach the tool; others,
        // and any without a state (nothing was asked), are dropped: SEP-2322 has servers
        // ignore what they do not recognize, and clients may send earlier rounds' answers too.
        let asked: &[String] = sealed.as_ref().map_or(&[], |s| &s.asked);
        let answers = answers.map(|mut answers| {
            let sent = answers.len();
            answers.retain(|key, _| asked.contains(key));
            if answers.len() < sent {
                tracing::debug!(target: "mcp_secure", tool, dropped = sent - answers.len(), "answers to input requests not asked were dropped");
            }
            answers
        });
        Ok(Self {
            retry: answers.is_some() || sealed.is_some(),
            answers,
            state: sealed.and_then(|s| s.state),
            sealer: Some(Sealer {
                security: security.clone(),
                binding,
                arguments,
            }),
        })
    }

    /// Whether this call is a retry: it carries answers or a state.
    pub fn is_retry(&self) -> bool {
        self.retry
    }

    /// The client's answer to the request named `key`, as `T` (e.g. rmcp's `ElicitResult`,
    /// `CreateMessageResult` or `ListRootsResult`); `None` when the call carries none. An
    /// answer that is not a `T` is an `invalid_input` error naming `key`. Answers to keys the
    /// round that sealed the call's state did not ask (all answers, when it carries none) were
    /// dropped before the tool ran: this is `None` for them.
    pub fn answer<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ToolError> {
        let Some(value) = self.answers.as_ref().and_then(|a| a.get(key)) else {
            return Ok(None);
        };
        T::deserialize(value).map(Some).map_err(|_| {
            ToolError::new(
                "invalid_input",
                format!("the answer to `{key}` is not the result its request asked for"),
            )
            .with_detail("field", json!(format!("inputResponses.{key}")))
        })
    }

    /// The state this tool sealed in the previous round, as `T`; `None` on a first call, or
    /// when the previous round asked without one. It was checked before the tool ran: it is
    /// one this server sealed for this tool, this caller and these arguments.
    pub fn state<T: DeserializeOwned>(&self) -> Result<Option<T>, ToolError> {
        let Some(payload) = &self.state else {
            return Ok(None);
        };
        // Sealed by this server, so a payload that does not parse was sealed by another
        // version of the tool: the client starts over.
        T::deserialize(payload).map(Some).map_err(|_| {
            ToolError::new(
                "stale_state",
                "the state is from another version of this tool; call it again without it",
            )
        })
    }

    /// The result that asks the client for `requests` (each under a key the retry's answers
    /// use), carrying `state` sealed to this tool, caller and arguments for [`STATE_TTL`].
    /// The result always carries a sealed state, with the keys asked, even when `state` is
    /// `None`: the retry's answers are taken only for those keys.
    pub fn ask<K: Into<String>, S: Serialize + ?Sized>(
        &self,
        requests: impl IntoIterator<Item = (K, InputRequest)>,
        state: Option<&S>,
    ) -> Result<InputRequiredResult, ToolError> {
        let requests: InputRequests = requests.into_iter().map(|(k, r)| (k.into(), r)).collect();
        if requests.is_empty() && state.is_none() {
            // The spec requires one of them: a result asking for nothing would leave the
            // client retrying the same call for ever.
            return Err(ToolError::internal(
                "an input request that asks for nothing and carries no state",
            ));
        }
        let state = match state {
            None => None,
            Some(state) => Some(serde_json::to_value(state).map_err(ToolError::internal)?),
        };
        let sealed = self.seal(requests.keys().cloned().collect(), state)?;
        Ok(InputRequiredResult::new(
            (!requests.is_empty()).then_some(requests),
            Some(sealed),
        ))
    }

    fn seal(&self, asked: Vec<String>, state: Option<Value>) -> Result<String, ToolError> {
        let sealer = self.sealer.as_ref().ok_or_else(|| {
            ToolError::internal("an InputRound built without the tool's policy cannot seal")
        })?;
        let options = SealOptions::new()
            .associated_data(&sealer.binding)
            .ttl(STATE_TTL);
        let sealed = Sealed {
            v: SEALED_VERSION,
            arguments: sealer.arguments.hex(),
            asked,
            state,
        };
        let payload = serde_json::to_vec(&sealed).map_err(ToolError::internal)?;
        Ok(sealer
            .security
            .request_states()
            .seal_with(&payload, &options))
    }
}

/// What a state is bound to: the tool, and the caller (issuer-qualified).
fn binding(tool: &str, principal: &Principal) -> Vec<u8> {
    let mut binding = Vec::with_capacity(tool.len() + 1 + principal.id().len());
    binding.extend_from_slice(tool.as_bytes());
    binding.push(0);
    binding.extend_from_slice(principal.id().as_bytes());
    binding
}

/// A fresh key for a server that configured none: states then survive neither a restart nor a
/// hop to another replica.
pub(crate) fn random_codec() -> RequestStateCodec {
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(key.as_mut()).expect("the operating system's random source");
    // 32 bytes: at the minimum length `new_unchecked` leaves unchecked.
    RequestStateCodec::new_unchecked(key.to_vec())
}

#[cfg(test)]
mod tests {
    use secrecy::SecretSlice;

    use super::*;

    fn security(key: &[u8]) -> Security {
        Security::builder()
            .request_state_key(SecretSlice::from(key.to_vec()))
            .build()
            .unwrap()
    }

    #[test]
    fn an_expired_state_is_refused_as_expired() {
        let key = [3u8; 32];
        let alice = Principal::new("alice", ["x:y"]);
        let options_binding = binding("tool", &alice);
        let options = SealOptions::new()
            .associated_data(&options_binding)
            .ttl(Duration::from_millis(1));
        let sealed = RequestStateCodec::new_unchecked(key.to_vec()).seal_with(b"\"s\"", &options);
        std::thread::sleep(Duration::from_millis(20));
        let error = InputRound::open(
            &security(&key),
            "tool",
            &alice,
            None,
            no_arguments(),
            None,
            Some(sealed),
        )
        .err()
        .expect("refused");
        assert_eq!(error.data.unwrap()["rule"], "expired");
    }

    #[test]
    fn a_state_opens_only_for_the_binding_it_was_sealed_with() {
        let security = security(&[4u8; 32]);
        let alice = Principal::new("alice", ["x:y"]);
        let open = |tool: &str, who: &Principal, state: Option<String>| {
            InputRound::open(&security, tool, who, None, no_arguments(), None, state)
        };
        let round = open("tool", &alice, None).unwrap();
        assert!(!round.is_retry());
        let asked = round
            .ask(Vec::<(String, InputRequest)>::new(), Some(&7u8))
            .unwrap();
        let sealed = asked.request_state.unwrap();
        assert!(asked.input_requests.is_none());
        let again = open("tool", &alice, Some(sealed.clone()));
        assert_eq!(again.unwrap().state::<u8>().unwrap(), Some(7));
        // The tool name and the caller id are separated: `tool` + `x#y` is not `toolx` + `#y`.
        let other = Principal::new("y", ["x:y"]);
        assert!(open("toolx", &other, Some(sealed)).is_err());
        // A round built for a tool that takes none cannot seal.
        assert!(
            InputRound::unused()
                .ask([("k", list_roots())], Some(&1u8))
                .is_err()
        );
    }

    fn list_roots() -> InputRequest {
        serde_json::from_value(json!({"method": "roots/list"})).unwrap()
    }

    fn no_arguments() -> ArgumentsDigest {
        ArgumentsDigest::of(None)
    }

    fn arguments(value: Value) -> ArgumentsDigest {
        ArgumentsDigest::of(Some(value.as_object().unwrap()))
    }

    /// The rule of a refused open.
    fn refused(opened: Result<InputRound, rmcp::ErrorData>) -> (String, String) {
        let data = opened.err().expect("refused").data.unwrap();
        (
            data["field"].as_str().unwrap().to_owned(),
            data["rule"].as_str().unwrap().to_owned(),
        )
    }

    #[test]
    fn a_state_opens_only_with_the_arguments_of_the_call_that_asked() {
        let security = security(&[5u8; 32]);
        let alice = Principal::new("alice", ["x:y"]);
        let sent = json!({"to": "bob", "amount": 10, "memo": {"a": [1, 2.5, null], "b": "é\n"}});
        let open = |args: ArgumentsDigest, state: Option<String>| {
            InputRound::open(&security, "pay", &alice, None, args, None, state)
        };
        let sealed = open(arguments(sent.clone()), None)
            .unwrap()
            .ask([("ok", list_roots())], Some("step 1"))
            .unwrap()
            .request_state
            .unwrap();
        // The same arguments, in another key order, open it.
        let reordered =
            json!({"memo": {"b": "é\n", "a": [1, 2.5, null]}, "amount": 10, "to": "bob"});
        let opened = open(arguments(reordered), Some(sealed.clone())).unwrap();
        assert_eq!(opened.state::<String>().unwrap().as_deref(), Some("step 1"));
        // Any other arguments do not: a value, a nested value, a field added or dropped.
        for other in [
            json!({"to": "mallory", "amount": 10, "memo": {"a": [1, 2.5, null], "b": "é\n"}}),
            json!({"to": "bob", "amount": 1000, "memo": {"a": [1, 2.5, null], "b": "é\n"}}),
            json!({"to": "bob", "amount": 10, "memo": {"a": [1, 2.5], "b": "é\n"}}),
            json!({"to": "bob", "amount": "10", "memo": {"a": [1, 2.5, null], "b": "é\n"}}),
            json!({"to": "bob", "amount": 10, "memo": {"a": [1, 2.5, null], "b": "é\n"}, "x": 1}),
            json!({"to": "bob", "amount": 10}),
            json!({}),
        ] {
            let got = refused(open(arguments(other.clone()), Some(sealed.clone())));
            assert_eq!(got, ("requestState".into(), "arguments".into()), "{other}");
        }
        // Absent arguments are `{}`.
        let empty = open(arguments(json!({})), None)
            .unwrap()
            .ask([("ok", list_roots())], None::<&()>)
            .unwrap()
            .request_state
            .unwrap();
        assert!(open(no_arguments(), Some(empty)).is_ok());
    }

    #[test]
    fn only_answers_to_the_questions_asked_reach_the_tool() {
        let security = security(&[6u8; 32]);
        let alice = Principal::new("alice", ["x:y"]);
        let open = |answers: Value, state: Option<String>| {
            let answers: InputResponses = serde_json::from_value(answers).unwrap();
            InputRound::open(
                &security,
                "tool",
                &alice,
                None,
                no_arguments(),
                Some(answers),
                state,
            )
            .unwrap()
        };
        let asked = open(json!({}), None)
            .ask([("a", list_roots()), ("b", list_roots())], None::<&()>)
            .unwrap();
        let state_only = InputRound::open(
            &security,
            "tool",
            &alice,
            None,
            no_arguments(),
            None,
            asked.request_state.clone(),
        );
        assert!(
            state_only.unwrap().is_retry(),
            "a sealed state makes a retry"
        );
        // A state is sealed even without the tool's: it holds the keys asked.
        let sealed = asked.request_state.unwrap();
        let roots = json!({"roots": []});
        let seen = |round: &InputRound| -> Vec<&str> {
            ["a", "b", "c", ""]
                .into_iter()
                .filter(|k| round.answer::<Value>(k).unwrap().is_some())
                .collect()
        };
        let round = open(json!({"a": roots, "b": roots}), Some(sealed.clone()));
        assert_eq!(seen(&round), ["a", "b"]);
        assert_eq!(round.state::<Value>().unwrap(), None);
        let round = open(json!({"b": roots}), Some(sealed.clone()));
        assert_eq!(seen(&round), ["b"]);
        let round = open(
            json!({"a": roots, "c": roots, "": roots}),
            Some(sealed.clone()),
        );
        assert_eq!(seen(&round), ["a"]);
        // Answers without a state answer nothing this server asked.
        let round = open(json!({"a": roots, "c": roots}), None);
        assert!(seen(&round).is_empty());
        // A state the tool set to `null` is a state, not none.
        let null = open(json!({}), None)
            .ask([("a", list_roots())], Some(&()))
            .unwrap()
            .request_state;
        assert_eq!(open(json!({}), null).state::<()>().unwrap(), Some(()));
    }

    #[test]
    fn a_state_in_another_envelope_is_refused() {
        let key = [8u8; 32];
        let alice = Principal::new("alice", ["x:y"]);
        let bound = binding("tool", &alice);
        let options = SealOptions::new().associated_data(&bound).ttl(STATE_TTL);
        let codec = RequestStateCodec::new_unchecked(key.to_vec());
        for payload in [
            &b"7"[..],
            br#"{"v":2,"arguments":"","asked":[]}"#,
            br#"{"arguments":"","asked":[]}"#,
        ] {
            let sealed = codec.seal_with(payload, &options);
            let opened = InputRound::open(
                &security(&key),
                "tool",
                &alice,
                None,
                no_arguments(),
                None,
                Some(sealed),
            );
            assert_eq!(refused(opened), ("requestState".into(), "integrity".into()));
        }
    }
}
