use std::sync::Arc;

use rmcp::{
    RoleServer,
    handler::server::tool::{IntoCallToolResult, ToolCallContext},
    model::{CallToolResponse, JsonObject, Tool, ToolAnnotations},
    service::RequestContext,
};
use serde_json::json;

use super::{Access, POLICY_META_KEY, ToolError, ToolPolicy};
use crate::{
    Security,
    audit::{self, Outcome},
    auth::Principal,
    rate::{Decision, RateKey, RateLimit},
    validate::{SecureInput, parse_arguments},
};

/// A call that passed every check: the caller, its validated input and the request.
pub struct Guarded<'s, S, I> {
    /// The server.
    pub service: &'s S,
    /// The authenticated caller (anonymous only for public tools).
    pub principal: Principal,
    /// The validated input.
    pub input: I,
    /// The rmcp request context.
    pub context: RequestContext<RoleServer>,
    /// What to record once the tool returns.
    pub audit: Finish,
}

/// Records a guarded call's outcome when the tool returns.
pub struct Finish {
    policy: &'static ToolPolicy,
    principal: Principal,
}

impl Finish {
    /// Turns the tool's return value into its result and records the outcome.
    pub fn finish<R: IntoCallToolResult>(
        self,
        output: R,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        let result = output.into_call_tool_result();
        let outcome = match &result {
            Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => Outcome::ToolError,
            Ok(_) => Outcome::Ok,
            Err(_) => Outcome::ToolError,
        };
        audit::record(self.policy.name(), &self.principal, outcome);
        result
    }
}

/// Runs, in order: authenticate, authorize (scope with implication), rate limit, parse and
/// validate. A denial is returned as the tool result to send; the tool does not run.
pub async fn guard<'s, S, I: SecureInput>(
    policy: &'static ToolPolicy,
    ctx: ToolCallContext<'s, S>,
) -> Result<Guarded<'s, S, I>, CallToolResponse> {
    let security = Security::global();
    let tool = policy.name();
    let principal = match (
        Principal::from_request(&ctx.request_context),
        policy.access(),
    ) {
        (Some(p), _) => p,
        (None, Access::Public) => Principal::anonymous(),
        (None, Access::Scope(..)) => {
            audit::record(tool, &Principal::anonymous(), Outcome::Unauthenticated);
            return Err(deny(ToolError::new(
                "unauthenticated",
                "this tool needs credentials; none were presented",
            )));
        }
    };
    if let Access::Scope(scope, catalog) = policy.access()
        && !principal.is_granted(scope, catalog)
    {
        audit::record(tool, &principal, Outcome::Forbidden { scope });
        let error = ToolError::new(
            "insufficient_scope",
            format!("this tool needs the scope `{scope}`, which the caller was not granted"),
        )
        .with_detail("required_scope", json!(scope));
        return Err(deny(error));
    }
    if let RateLimit::Limited(rate) = policy.rate() {
        let key = match policy.rate_key() {
            RateKey::Caller => principal.subject(),
            RateKey::Client => principal.client_id().unwrap_or(principal.subject()),
            RateKey::Global => "",
        };
        match security.limiter().check(tool, key, rate).await {
            Ok(Decision::Allow) => {}
            Ok(Decision::Deny { retry_after }) => {
                let ms = retry_after.as_millis().max(1) as u64;
                audit::record(
                    tool,
                    &principal,
                    Outcome::RateLimited { retry_after_ms: ms },
                );
                let error = ToolError::new(
                    "rate_limited",
                    format!("too many calls (limit {rate}); retry after {ms} ms"),
                )
                .with_detail("retry_after_ms", json!(ms));
                return Err(deny(error));
            }
            Err(e) if security.limiter_fail_open() => {
                tracing::error!(target: "mcp_secure::audit", tool, error = %e, "rate limiter failed; call let through (fail_open)");
            }
            Err(e) => {
                tracing::error!(target: "mcp_secure::audit", tool, error = %e, "rate limiter failed; call refused");
                audit::record(tool, &principal, Outcome::Unavailable);
                return Err(deny(ToolError::new(
                    "unavailable",
                    "the server cannot take this call now; retry later",
                )));
            }
        }
    }
    let input = match parse_arguments::<I>(ctx.arguments) {
        Ok(input) => input,
        Err(errors) => {
            audit::record(
                tool,
                &principal,
                Outcome::Invalid {
                    violations: errors.violations().len(),
                },
            );
            return Err(deny(ToolError::from(errors)));
        }
    };
    Ok(Guarded {
        service: ctx.service,
        audit: Finish {
            policy,
            principal: principal.clone(),
        },
        principal,
        input,
        context: ctx.request_context,
    })
}

fn deny(error: ToolError) -> CallToolResponse {
    error.to_result().into()
}

/// The rmcp tool listing for a policy: name, description, input (and output) schema,
/// annotations, and the policy under `_meta`.
pub fn tool_attr<I: SecureInput>(
    policy: &'static ToolPolicy,
    description: Option<&'static str>,
    title: Option<&'static str>,
    output_schema: Option<Arc<JsonObject>>,
) -> Tool {
    let input_schema = rmcp::handler::server::tool::schema_for_input::<I>()
        .unwrap_or_else(|e| unreachable!("SecureInput schemas are objects: {e}"));
    let mut tool = Tool::new(policy.name(), description.unwrap_or_default(), input_schema);
    if description.is_none() {
        tool.description = None;
    }
    if let Some(title) = title {
        tool = tool.with_title(title);
    }
    if let Some(schema) = output_schema {
        tool = tool.with_raw_output_schema(schema);
    }
    let mut annotations = match title {
        Some(t) => ToolAnnotations::with_title(t),
        None => ToolAnnotations::new(),
    };
    if policy.read_only() {
        annotations = annotations.read_only(true).destructive(false);
    }
    if let Some(d) = policy.destructive() {
        annotations = annotations.destructive(d);
    }
    if let Some(i) = policy.idempotent() {
        annotations = annotations.idempotent(i);
    }
    if annotations != ToolAnnotations::default() {
        tool = tool.with_annotations(annotations);
    }
    let mut meta = JsonObject::new();
    meta.insert(POLICY_META_KEY.into(), policy.meta());
    tool.with_meta(meta.into())
}
