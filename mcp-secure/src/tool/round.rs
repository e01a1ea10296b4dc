//! Tools that ask the client for input (spec 2026-07-28, SEP-2322): the answers a retried call
//! carries, and the state a tool keeps between rounds, sealed to the tool and the caller.
//!
//! A `requestState` comes back from the client, so a tool must not trust it as it reads. The
//! guard opens it before the tool runs: only a state this server sealed, for this tool and this
//! caller, within [`STATE_TTL`], reaches the tool; anything else is a JSON-RPC `-32602` error,
//! audited as a `validation_failed` event. The state is signed (HMAC-SHA-256, rmcp's
//! [`RequestStateCodec`]), not encrypted: the client can read it, so it must hold no secret.

use std::time::Duration;

use rmcp::model::{
    InputRequest, InputRequests, InputRequiredResult, InputResponses, RequestStateCodec,
    RequestStateError, SealOptions,
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::json;

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
/// The client fulfils the requests and calls again with the answers and the state, which
/// the tool reads with [`answer`](Self::answer) and [`state`](Self::state).
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
    state: Option<Vec<u8>>,
    /// Set for a tool that takes rounds: what it seals new states with.
    sealer: Option<Sealer>,
}

struct Sealer {
    security: Security,
    binding: Vec<u8>,
}

impl InputRound {
    /// The round of a tool that takes none: nothing read, nothing to seal with.
    pub(crate) const fn unused() -> Self {
        Self {
            answers: None,
            state: None,
            sealer: None,
        }
    }

    /// Checks a call's answers and opens its state for `tool` and `principal`; a refusal is
    /// audited and is the JSON-RPC error the client gets.
    pub(crate) fn open(
        security: &Security,
        tool: &str,
        principal: &Principal,
        client: Option<std::net::IpAddr>,
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
        let state = match state {
            None => None,
            Some(sealed) => match security.request_states().open_with(&sealed, &binding) {
                Ok(payload) => Some(payload),
                Err(RequestStateError::Expired) => {
                    return Err(refuse(Violation {
                        field: "requestState".into(),
                        rule: "expired",
                        message: "the state has expired; call the tool again without it".into(),
                    }));
                }
                Err(_) => {
                    return Err(refuse(Violation {
                        field: "requestState".into(),
                        rule: "integrity",
                        message: "the state is not one this server gave for this tool and caller"
                            .into(),
                    }));
                }
            },
        };
        Ok(Self {
            answers,
            state,
            sealer: Some(Sealer {
                security: security.clone(),
                binding,
            }),
        })
    }

    /// Whether this call is a retry: it carries answers or a state.
    pub fn is_retry(&self) -> bool {
        self.answers.is_some() || self.state.is_some()
    }

    /// The client's answer to the request named `key`, as `T` (e.g. rmcp's `ElicitResult`,
    /// `CreateMessageResult` or `ListRootsResult`); `None` when the call carries none. An
    /// answer that is not a `T` is an `invalid_input` error naming `key`. Answers to keys the
    /// tool never asked for are ignored.
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

    /// The state this tool sealed in the previous round, as `T`; `None` on a first call. It was
    /// checked before the tool ran: it is one this server sealed for this tool and this caller.
    pub fn state<T: DeserializeOwned>(&self) -> Result<Option<T>, ToolError> {
        let Some(payload) = &self.state else {
            return Ok(None);
        };
        // Sealed by this server, so a payload that does not parse was sealed by another
        // version of the tool: the client starts over.
        serde_json::from_slice(payload).map(Some).map_err(|_| {
            ToolError::new(
                "stale_state",
                "the state is from another version of this tool; call it again without it",
            )
        })
    }

    /// The result that asks the client for `requests` (each under a key the retry's answers
    /// use), carrying `state` sealed to this tool and caller for [`STATE_TTL`].
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
        let sealed = match state {
            None => None,
            Some(state) => Some(self.seal(state)?),
        };
        Ok(InputRequiredResult::new(
            (!requests.is_empty()).then_some(requests),
            sealed,
        ))
    }

    fn seal<S: Serialize + ?Sized>(&self, state: &S) -> Result<String, ToolError> {
        let sealer = self.sealer.as_ref().ok_or_else(|| {
            ToolError::internal("an InputRound built without the tool's policy cannot seal")
        })?;
        let options = SealOptions::new()
            .associated_data(&sealer.binding)
            .ttl(STATE_TTL);
        let payload = serde_json::to_vec(state).map_err(ToolError::internal)?;
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
        let error = InputRound::open(&security(&key), "tool", &alice, None, None, Some(sealed))
            .err()
            .expect("refused");
        assert_eq!(error.data.unwrap()["rule"], "expired");
    }

    #[test]
    fn a_state_opens_only_for_the_binding_it_was_sealed_with() {
        let security = security(&[4u8; 32]);
        let alice = Principal::new("alice", ["x:y"]);
        let round = InputRound::open(&security, "tool", &alice, None, None, None).unwrap();
        assert!(!round.is_retry());
        let asked = round
            .ask(Vec::<(String, InputRequest)>::new(), Some(&7u8))
            .unwrap();
        let sealed = asked.request_state.unwrap();
        assert!(asked.input_requests.is_none());
        let again = InputRound::open(&security, "tool", &alice, None, None, Some(sealed.clone()));
        assert_eq!(again.unwrap().state::<u8>().unwrap(), Some(7));
        // The tool name and the caller id are separated: `tool` + `x#y` is not `toolx` + `#y`.
        let other = Principal::new("y", ["x:y"]);
        assert!(InputRound::open(&security, "toolx", &other, None, None, Some(sealed)).is_err());
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
}
