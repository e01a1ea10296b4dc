//! The guard's refusals: each records its security event and builds the error the client
//! gets. Cold: a call that is admitted never runs them.

use std::time::Duration;

use rmcp::model::CallToolResponse;
use serde_json::json;

use super::super::{ToolError, ToolPolicy};
use crate::{
    Security,
    audit::SecurityEvent,
    auth::Principal,
    rate::{LimiterError, RateSpec},
    validate::ValidationErrors,
};

#[cold]
#[inline(never)]
pub(super) fn hook_denied(
    security: &Security,
    tool: &'static str,
    (principal, client): (&Principal, Option<std::net::IpAddr>),
    hook: &'static str,
    denial: &crate::tool::HookDenial,
) -> Box<ToolError> {
    security.emit(&SecurityEvent::HookDenied {
        tool,
        issuer: principal.issuer(),
        subject: principal.subject(),
        hook,
        code: denial.code(),
        client,
    });
    Box::new(denial.to_tool_error())
}

#[cfg(feature = "policy")]
#[cold]
#[inline(never)]
pub(super) fn policy_denied(
    security: &Security,
    tool: &'static str,
    (principal, client): (&Principal, Option<std::net::IpAddr>),
    denied: &crate::policy::Denied,
) -> Box<ToolError> {
    security.emit(&SecurityEvent::PolicyDenied {
        tool,
        issuer: principal.issuer(),
        subject: principal.subject(),
        policies: denied.policies(),
        resource: None,
        client,
    });
    Box::new(denied.to_tool_error())
}

#[cold]
#[inline(never)]
pub(super) fn unauthenticated(
    security: &Security,
    tool: &str,
    client: Option<std::net::IpAddr>,
) -> Box<ToolError> {
    security.emit(&SecurityEvent::Unauthenticated { tool, client });
    Box::new(ToolError::new(
        "unauthenticated",
        "this tool needs credentials; none were presented",
    ))
}

#[cold]
#[inline(never)]
pub(super) fn insufficient_scope(
    security: &Security,
    tool: &str,
    principal: &Principal,
    scope: &str,
    client: Option<std::net::IpAddr>,
) -> Box<ToolError> {
    security.emit(&SecurityEvent::authorization_denied(
        tool, principal, scope, client,
    ));
    let error = ToolError::new(
        "insufficient_scope",
        format!("this tool needs the scope `{scope}`, which the caller was not granted"),
    )
    .with_detail("required_scope", json!(scope));
    Box::new(error)
}

#[cold]
#[inline(never)]
pub(super) fn rate_limited(
    security: &Security,
    tool: &str,
    (principal, client): (&Principal, Option<std::net::IpAddr>),
    key: &str,
    rate: RateSpec,
    retry_after: Duration,
) -> Box<ToolError> {
    let ms = retry_after.as_millis().max(1) as u64;
    security.emit(&SecurityEvent::RateLimited {
        tool,
        issuer: principal.issuer(),
        subject: principal.subject(),
        key,
        retry_after_ms: ms,
        client,
    });
    let error = ToolError::new(
        "rate_limited",
        format!("too many calls (limit {rate}); retry after {ms} ms"),
    )
    .with_detail("retry_after_ms", json!(ms));
    Box::new(error)
}

/// A limiter that could not decide: the call goes on when the server fails open, and is
/// refused as `unavailable` otherwise; either way it is logged and recorded.
#[cold]
#[inline(never)]
pub(super) fn limiter_failed(
    security: &Security,
    tool: &str,
    error: &LimiterError,
) -> Result<(), Box<ToolError>> {
    let fail_open = security.limiter_fail_open();
    tracing::error!(target: "mcp_secure", tool, error = %error, fail_open, "rate limiter failed");
    security.emit(&SecurityEvent::BackendUnavailable {
        backend: "rate_limiter",
        tool,
        fail_open,
    });
    if fail_open {
        return Ok(());
    }
    Err(Box::new(ToolError::new(
        "unavailable",
        "the server cannot take this call now; retry later",
    )))
}

#[cold]
#[inline(never)]
pub(super) fn invalid(
    security: &Security,
    tool: &str,
    (principal, client): (&Principal, Option<std::net::IpAddr>),
    errors: ValidationErrors,
) -> Box<ToolError> {
    security.emit(&SecurityEvent::ValidationFailed {
        tool,
        issuer: principal.issuer(),
        subject: principal.subject(),
        violations: errors.violations(),
        client,
    });
    Box::new(ToolError::from(errors))
}

/// The answer to a call that reached a guarded tool without its server's [`Security`]: the
/// server was served by rmcp directly, not through [`crate::serve`]. Refused rather than run
/// with no limiter, sinks or roots.
#[cold]
#[inline(never)]
pub(super) fn unconfigured(policy: &ToolPolicy) -> CallToolResponse {
    let tool = policy.name();
    tracing::error!(target: "mcp_secure", tool, "a guarded tool was called without its server's Security: serve the server through mcp_secure::serve (Secured, stdio) or mcp_secure::http::Endpoint; the call is refused");
    deny(
        policy,
        &ToolError::new(
            "unavailable",
            "this server is not set up to take calls to this tool; tell its operator (the cause is in its log)",
        ),
    )
}

/// A refusal as the tool's result, in the shape its listing allows.
#[cold]
#[inline(never)]
pub(super) fn deny(policy: &ToolPolicy, error: &ToolError) -> CallToolResponse {
    match policy.has_output_schema() {
        true => error.to_result_for_schema().into(),
        false => error.to_result().into(),
    }
}
