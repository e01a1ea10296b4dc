//! Security events: every denial and every call, as `tracing` events with target
//! `mcp_secure::audit` (subscribe to that target to keep an audit trail).
//!
//! Events carry the tool, the caller's subject and the outcome; never arguments or secrets.

use crate::auth::Principal;

/// What happened to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The tool ran and succeeded.
    Ok,
    /// The tool ran and returned an error.
    ToolError,
    /// Refused: no credentials.
    Unauthenticated,
    /// Refused: the caller lacks `scope`.
    Forbidden {
        /// The scope the tool requires.
        scope: &'static str,
    },
    /// Refused: over the rate.
    RateLimited {
        /// When the next call would be allowed.
        retry_after_ms: u64,
    },
    /// Refused: the input failed validation.
    Invalid {
        /// How many rules failed.
        violations: usize,
    },
    /// Refused: a security backend could not decide.
    Unavailable,
}

impl Outcome {
    /// A stable name for the outcome: `ok`, `tool_error`, `unauthenticated`,
    /// `insufficient_scope`, `rate_limited`, `invalid_input`, `unavailable`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ToolError => "tool_error",
            Outcome::Unauthenticated => "unauthenticated",
            Outcome::Forbidden { .. } => "insufficient_scope",
            Outcome::RateLimited { .. } => "rate_limited",
            Outcome::Invalid { .. } => "invalid_input",
            Outcome::Unavailable => "unavailable",
        }
    }
}

/// Records the outcome of a call of `tool` by `principal`.
pub fn record(tool: &str, principal: &Principal, outcome: Outcome) {
    let subject = principal.subject();
    let result = outcome.as_str();
    match outcome {
        Outcome::Ok | Outcome::ToolError => {
            tracing::info!(target: "mcp_secure::audit", tool, subject, outcome = result, "tool call");
        }
        Outcome::Forbidden { scope } => {
            tracing::warn!(target: "mcp_secure::audit", tool, subject, outcome = result, required_scope = scope, "tool call denied");
        }
        Outcome::RateLimited { retry_after_ms } => {
            tracing::warn!(target: "mcp_secure::audit", tool, subject, outcome = result, retry_after_ms, "tool call denied");
        }
        Outcome::Invalid { violations } => {
            tracing::warn!(target: "mcp_secure::audit", tool, subject, outcome = result, violations, "tool call denied");
        }
        Outcome::Unauthenticated | Outcome::Unavailable => {
            tracing::warn!(target: "mcp_secure::audit", tool, subject, outcome = result, "tool call denied");
        }
    }
}
