//! One `tracing` span per tool call (target `mcp_secure::call`), named and attributed as
//! OpenTelemetry's semantic conventions for MCP servers ask (`tools/call {tool}`, kind
//! `server`, `mcp.method.name`, `gen_ai.tool.name`, `jsonrpc.request.id`, …), with the guard's
//! decision as attributes of its own (`mcp_secure.decision`, `error.type`).
//!
//! What a span carries is what the audit trail may carry: the tool, the caller's issuer,
//! subject and client id, the client's address, the decision and its code. Never a token, a
//! secret or an argument's value; the session id only as a digest, since it is a handle a
//! client presents; every string a client chose escaped as the audit sinks escape it, and
//! bounded.

use std::borrow::Cow;

use rmcp::{
    RoleServer,
    model::{CallToolResponse, NumberOrString},
    service::RequestContext,
};
use tracing::{Span, field::Empty};

use crate::{audit::Traced, auth::Principal};

/// A disabled span, or one with the attributes every call has.
fn new_span(tool: &str) -> Span {
    tracing::info_span!(
        target: "mcp_secure::call",
        "tools/call",
        otel.name = Empty,
        otel.kind = "server",
        otel.status_code = Empty,
        mcp.method.name = "tools/call",
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = tool,
        jsonrpc.request.id = Empty,
        mcp.session.id = Empty,
        mcp.protocol.version = Empty,
        network.transport = Empty,
        network.protocol.name = Empty,
        client.address = Empty,
        enduser.id = Empty,
        mcp_secure.issuer = Empty,
        mcp_secure.client_id = Empty,
        mcp_secure.decision = Empty,
        mcp_secure.outcome = Empty,
        error.type = Empty,
        rpc.response.status_code = Empty,
    )
}

/// The span of a call of `tool`; disabled (and costing a relaxed load) unless a subscriber
/// takes `mcp_secure::call` spans.
pub(super) fn begin(tool: &str, ctx: &RequestContext<RoleServer>) -> Span {
    let span = new_span(tool);
    if !span.is_disabled() {
        describe(&span, tool, ctx);
    }
    span
}

/// The attributes known before any check: the request's, the transport's.
#[cold]
#[inline(never)]
fn describe(span: &Span, tool: &str, ctx: &RequestContext<RoleServer>) {
    span.record("otel.name", format!("tools/call {tool}"));
    let id = match &ctx.id {
        NumberOrString::Number(n) => Cow::Owned(n.to_string()),
        NumberOrString::String(s) => client_text(s),
    };
    span.record("jsonrpc.request.id", &*id);
    let version = ctx.meta.protocol_version().or_else(|| {
        ctx.peer
            .peer_info()
            .map(|info| info.protocol_version.clone())
    });
    if let Some(version) = version {
        span.record("mcp.protocol.version", &*client_text(version.as_str()));
    }
    #[cfg(feature = "http")]
    if let Some(parts) = ctx.extensions.get::<http::request::Parts>() {
        describe_http(span, parts);
    }
}

#[cfg(feature = "http")]
fn describe_http(span: &Span, parts: &http::request::Parts) {
    span.record("network.transport", "tcp");
    span.record("network.protocol.name", "http");
    if let Some(session) = parts.headers.get("mcp-session-id") {
        span.record("mcp.session.id", session_digest(session.as_bytes()));
    }
    if let Some(client) = crate::http::ClientAddress::of(&parts.extensions) {
        span.record("client.address", tracing::field::display(client));
    }
}

/// The span of a call of `tool` (request `id`) that the HTTP layer refused with `code`
/// before the tool's guard saw it (no credentials, or a scope the caller lacks); entered while
/// the refusal is recorded, so that its audit event belongs to it.
#[cfg(feature = "http")]
pub(crate) fn refused_over_http(
    tool: &str,
    id: &serde_json::Value,
    parts: &http::request::Parts,
    principal: Option<&Principal>,
    code: &str,
) -> Span {
    let span = new_span(tool);
    if span.is_disabled() {
        return span;
    }
    span.record("otel.name", format!("tools/call {tool}"));
    let id = match id {
        serde_json::Value::String(s) => client_text(s),
        other => client_text(&other.to_string()).into_owned().into(),
    };
    span.record("jsonrpc.request.id", &*id);
    if let Some(version) = parts
        .headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
    {
        span.record("mcp.protocol.version", &*client_text(version));
    }
    describe_http(&span, parts);
    caller(&span, principal);
    denied(&span, code);
    span
}

/// Records who is calling, before the checks decide (a refused caller is named too).
pub(crate) fn caller(span: &Span, principal: Option<&Principal>) {
    if let Some(principal) = principal
        && !span.is_disabled()
    {
        record_caller(span, principal);
    }
}

#[cold]
#[inline(never)]
fn record_caller(span: &Span, principal: &Principal) {
    span.record("enduser.id", &*client_text(principal.subject()));
    span.record("mcp_secure.issuer", &*client_text(principal.issuer()));
    if let Some(client_id) = principal.client_id() {
        span.record("mcp_secure.client_id", &*client_text(client_id));
    }
}

/// Records a refusal by the guard: the tool did not run.
pub(crate) fn denied(span: &Span, code: &str) {
    if !span.is_disabled() {
        span.record("mcp_secure.decision", "denied");
        failed(span, code);
    }
}

/// Records a call refused with a JSON-RPC error (a malformed input round).
pub(super) fn rejected(span: &Span, error: &rmcp::ErrorData) {
    if !span.is_disabled() {
        span.record("mcp_secure.decision", "denied");
        jsonrpc_error(span, error);
    }
}

/// Records what a call that ran returned.
pub(super) fn ran(
    span: &Span,
    result: &Result<CallToolResponse, rmcp::ErrorData>,
    code: Option<&str>,
) {
    if span.is_disabled() {
        return;
    }
    span.record("mcp_secure.decision", "allowed");
    match (result, code) {
        (_, Some(code)) => failed(span, code),
        (Ok(CallToolResponse::Complete(r)), None) if r.is_error == Some(true) => {
            // The conventions' class for an `isError` result.
            failed(span, "tool_error");
        }
        (Ok(_), None) => {
            span.record("mcp_secure.outcome", "ok");
        }
        (Err(e), None) => jsonrpc_error(span, e),
    }
}

fn failed(span: &Span, code: &str) {
    span.record("mcp_secure.outcome", code);
    span.record("error.type", code);
    span.record("otel.status_code", "ERROR");
}

fn jsonrpc_error(span: &Span, error: &rmcp::ErrorData) {
    let code = error.code.0.to_string();
    span.record("mcp_secure.outcome", format!("jsonrpc_error_{code}"));
    span.record("rpc.response.status_code", &*code);
    span.record("error.type", &*code);
    span.record("otel.status_code", "ERROR");
}

/// A client-chosen string as a span keeps it: as the audit's `tracing` events do ([`Traced`]:
/// escaped, then cut, escapes included).
fn client_text(s: &str) -> Cow<'_, str> {
    Cow::Owned(Traced(s).to_string())
}

#[cfg(feature = "http")]
/// The first 16 hex digits of the session id's SHA-256: stable for grouping a session's
/// calls, useless to present as the session.
fn session_digest(id: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(id)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::MAX_TRACED_CHARS;

    #[test]
    fn client_text_is_escaped_then_bounded() {
        assert_eq!(client_text("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(
            client_text("a\\u{7}"),
            "a\\\\u{7}",
            "a written escape is not one"
        );
        for long in [
            "x".repeat(1000),
            "\u{e0041}".repeat(400),
            "\u{1b}".repeat(400),
        ] {
            let kept = client_text(&long);
            assert!(kept.chars().count() <= MAX_TRACED_CHARS + 1, "{kept}");
            assert!(kept.ends_with('…'));
        }
    }

    #[cfg(feature = "http")]
    #[test]
    fn the_session_digest_is_not_the_session() {
        let digest = session_digest(b"0f6c1a2e-secret-session");
        assert_eq!(digest.len(), 16);
        assert!(!digest.contains("secret"));
        assert_eq!(digest, session_digest(b"0f6c1a2e-secret-session"));
    }
}
