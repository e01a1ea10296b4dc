//! What the policies answer a call: admitted, or [`Denied`] naming the policies that decided.

use super::evaluate::Outcome;
use crate::tool::ToolError;

/// The answer to a call from what the policies said: any policy that failed to evaluate
/// denies (fail closed, a `forbid` among them), then any `forbid` that held, then a `permit`
/// must have held.
pub(super) fn verdict(outcome: Outcome<'_>) -> Result<(), Denied> {
    let owned = |ids: Vec<&str>| ids.into_iter().map(str::to_owned).collect();
    if !outcome.errors.is_empty() {
        return Err(Denied {
            policies: owned(outcome.errors),
            failed: true,
        });
    }
    if !outcome.forbids.is_empty() {
        return Err(Denied {
            policies: owned(outcome.forbids),
            failed: false,
        });
    }
    match outcome.permitted {
        true => Ok(()),
        false => Err(Denied {
            policies: Vec::new(),
            failed: false,
        }),
    }
}

/// A call the policies refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    policies: Vec<String>,
    failed: bool,
}

impl Denied {
    pub(super) fn failed() -> Self {
        Self {
            policies: Vec::new(),
            failed: true,
        }
    }

    /// The `@id`s of the policies that decided: the `forbid`s that matched, or those that
    /// failed to evaluate; empty when no policy permits.
    pub fn policies(&self) -> &[String] {
        &self.policies
    }

    /// Whether the call was refused because a policy (or the request) could not be evaluated.
    pub fn is_failure(&self) -> bool {
        self.failed
    }

    /// The tool error a client gets: `forbidden`, naming the policies, never their text.
    pub fn to_tool_error(&self) -> ToolError {
        let message = match (self.policies.as_slice(), self.failed) {
            ([], true) => "the policies could not decide this call; it is refused".to_owned(),
            ([], false) => "no policy permits this call".to_owned(),
            (ids, true) => format!(
                "policy {} could not be evaluated; the call is refused",
                quoted(ids)
            ),
            (ids, false) => format!("policy {} forbids this call", quoted(ids)),
        };
        ToolError::new("forbidden", message)
            .with_detail("policies", serde_json::json!(self.policies))
    }
}

fn quoted(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("`{id}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
