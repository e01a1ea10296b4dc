use std::{borrow::Cow, future::Future, sync::Arc, time::Instant};

use rmcp::{
    RoleServer,
    handler::server::tool::{IntoCallToolResult, ToolCallContext},
    model::{CallToolResponse, CallToolResult, JsonObject, Tool, ToolAnnotations},
    service::RequestContext,
};

use super::{Access, InputRound, POLICY_META_KEY, ToolError, ToolPolicy, error::Incident, output};
use crate::{
    __private::BoxFuture,
    Security,
    audit::SecurityEvent,
    auth::Principal,
    rate::{Decision, RateKey, RateLimit},
    validate::{SecureInput, ValidationErrors, parse_arguments_in},
};
#[cfg(feature = "policy")]
use denials::policy_denied;
use denials::{
    deny, hook_denied, insufficient_scope, invalid, limiter_failed, rate_limited, unauthenticated,
    unconfigured,
};

/// A call that passed every check: the caller, its validated input and the request; what the
/// generated code hands to the tool method.
pub struct Guarded<'s, S, I> {
    /// The server.
    pub service: &'s S,
    /// The authenticated caller (anonymous only for public tools).
    pub principal: Principal,
    /// The validated input.
    pub input: I,
    /// The rmcp request context.
    pub context: RequestContext<RoleServer>,
    /// The call's input round, checked (empty unless the tool takes an [`InputRound`]).
    pub round: InputRound,
}

/// What a tool returned, as the guard records it: the result to send, the error code when it
/// is a [`ToolError`] (carried as a value, not read back out of the result), and the cause of
/// an incident, for the audit sinks.
pub struct Outcome {
    result: Result<CallToolResponse, rmcp::ErrorData>,
    code: Option<Cow<'static, str>>,
    incident: Option<Box<Incident>>,
}

/// What a tool returned, before it becomes an [`Outcome`]; see [`ViaToolError`].
pub struct Returned<R>(pub Option<R>);

/// A tool that returns `Result<T, ToolError>`: its error's code and incident are kept. Generated
/// code calls `outcome` on `&mut Returned(..)`: this impl, on `Returned<..>` itself, is found
/// before [`ViaAny`]'s on `&mut Returned<..>` (method lookup tries the receiver before its
/// reference), so the return type picks the impl without specialization.
pub trait ViaToolError {
    /// The outcome.
    fn outcome(&mut self) -> Outcome;
}

impl<T: IntoCallToolResult> ViaToolError for Returned<Result<T, ToolError>> {
    fn outcome(&mut self) -> Outcome {
        match self.0.take().expect("taken once") {
            Ok(value) => Outcome {
                result: value.into_call_tool_result(),
                code: None,
                incident: None,
            },
            Err(mut error) => Outcome {
                incident: error.take_incident(),
                code: Some(error.code_cow()),
                result: Ok(error.to_result().into()),
            },
        }
    }
}

/// Any other type rmcp turns into a result.
pub trait ViaAny {
    /// The outcome.
    fn outcome(&mut self) -> Outcome;
}

impl<R: IntoCallToolResult> ViaAny for &mut Returned<R> {
    fn outcome(&mut self) -> Outcome {
        Outcome {
            result: self.0.take().expect("taken once").into_call_tool_result(),
            code: None,
            incident: None,
        }
    }
}

/// Shapes and records a guarded call's result when the tool returns.
struct Finish {
    policy: &'static ToolPolicy,
    security: Security,
    /// The caller and the call's start, when security events are recorded (an audit sink or a
    /// `tracing` subscriber takes them): a call nobody records is neither timed nor attributed.
    record: Option<(Principal, Instant)>,
    /// The caller's address, when known and recorded.
    client: Option<std::net::IpAddr>,
    /// The call's span (disabled unless a subscriber takes it).
    span: tracing::Span,
}

impl Finish {
    /// Turns what the tool returned (or its panic) into the result to send: text stripped of
    /// terminal control (unless `raw_output`), a result over the size cap replaced by an
    /// `output_too_large` error; then records the incident, if any, and a `tool_called` event.
    fn finish(
        self,
        returned: Result<Outcome, String>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        let Outcome {
            mut result,
            mut code,
            incident,
        } = match returned {
            Ok(outcome) => outcome,
            Err(panic) => panicked(&self.security, self.policy.name(), &panic),
        };
        if let Some(incident) = incident {
            self.security.emit(&incident.event());
        }
        if let Ok(CallToolResponse::Complete(r)) = &mut result {
            if !self.policy.raw_output() {
                crate::sanitize::clean_result(r);
            }
            let cap = self
                .policy
                .max_output()
                .unwrap_or_else(|| self.security.default_max_output());
            if let Some(size) = output::oversize(r, cap) {
                *r = too_large(size, cap);
                code = Some(Cow::Borrowed("output_too_large"));
            }
            if self.policy.has_output_schema() {
                output::conform_error(r);
            }
        }
        // Questions put to the client are cleaned whatever `raw_output` says: they are not the
        // tool's output.
        if let Ok(CallToolResponse::InputRequired(input)) = &mut result
            && crate::sanitize::outgoing::clean_typed(input).is_err()
        {
            result = Err(rmcp::ErrorData::internal_error(
                "the result could not be sent",
                None,
            ));
        }
        super::span::ran(&self.span, &result, code.as_deref());
        if let Some((principal, started)) = &self.record {
            record_call(
                &self.security,
                self.policy.name(),
                (principal, self.client),
                *started,
                &result,
                code.as_deref(),
            );
        }
        result
    }
}

// The functions marked `#[cold]` here run on refusals and failures only. Out of line, their
// code stays out of the instruction cache lines an admitted call runs through: a tool call
// passes through more code than the cache holds (rmcp, serde, tokio), so each line of the
// guard's hot path is fetched again on every call (BENCHMARKS.md, in-process tool call).

/// The outcome for a tool that panicked: an `internal` error with its incident.
#[cold]
#[inline(never)]
fn panicked(security: &Security, tool: &str, panic: &str) -> Outcome {
    let mut returned = Returned(Some(Err::<String, _>(ToolError::internal(format_args!(
        "tool `{tool}` panicked: {panic}"
    )))));
    let outcome = returned.outcome();
    if let Some(incident) = &outcome.incident {
        security.emit(&SecurityEvent::ToolFailed {
            tool,
            incident: &incident.id,
        });
    }
    outcome
}

/// The result that replaces one over the size cap.
#[cold]
#[inline(never)]
fn too_large(size: usize, cap: usize) -> CallToolResult {
    ToolError::new(
        "output_too_large",
        format!(
            "the result has {size} bytes, more than this tool may return ({cap}); ask for less"
        ),
    )
    .to_result()
}

/// Records the `tool_called` event of a call that ran: its outcome (`ok`, the tool error's
/// code, `error` for an error result of another type, or the JSON-RPC error) and duration.
#[inline(never)]
fn record_call(
    security: &Security,
    tool: &str,
    (principal, client): (&Principal, Option<std::net::IpAddr>),
    started: Instant,
    result: &Result<CallToolResponse, rmcp::ErrorData>,
    code: Option<&str>,
) {
    let outcome = match (result, code) {
        (_, Some(code)) => Cow::Borrowed(code),
        (Ok(CallToolResponse::Complete(r)), None) if r.is_error == Some(true) => {
            Cow::Borrowed("error")
        }
        (Ok(_), None) => Cow::Borrowed("ok"),
        (Err(e), None) => Cow::Owned(format!("jsonrpc_error_{}", e.code.0)),
    };
    security.emit(&SecurityEvent::ToolCalled {
        tool,
        issuer: principal.issuer(),
        subject: principal.subject(),
        client_id: principal.client_id(),
        outcome: &outcome,
        duration_ms: started.elapsed().as_millis() as u64,
        client,
    });
}

/// Runs a tool's future, turning a panic into `Err(message)` so that the call gets an
/// `internal` error (and the server keeps serving).
async fn catch_panic<F: std::future::Future>(future: F) -> Result<F::Output, String> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(payload) => std::task::Poll::Ready(Err(panic_message(payload))),
        }
    })
    .await
}

/// The text of a panic's payload.
#[cold]
#[inline(never)]
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_owned())
}

/// What a tool's listing and its calls need of its input type, as plain functions: only
/// [`ToolInput::INPUT`] needs the type to be a [`SecureInput`], so an input type that is not
/// one is reported once, where `#[mcp_tools]` names it, not once per use.
pub struct InputOf<I> {
    schema: fn() -> Arc<JsonObject>,
    parse: fn(Option<JsonObject>, &Security) -> Result<I, ValidationErrors>,
    roots: fn(&mut Vec<&'static str>),
}

impl<I> InputOf<I> {
    /// The input's [`SecureInput::path_roots`], for the tool's policy.
    pub const fn roots(&self) -> fn(&mut Vec<&'static str>) {
        self.roots
    }
}

impl<I> Clone for InputOf<I> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I> Copy for InputOf<I> {}

/// A type a tool takes as its input: every [`SecureInput`] that can cross threads.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a validated input",
    label = "a tool's input must implement `SecureInput`",
    note = "add `#[derive(mcp_secure::SecureInput)]` to `{Self}`, or declare the parameters inline with `#[mcp(...)]` rules",
    note = "the caller (`Principal`) and the `RequestContext` are known by those names: under an alias or a renamed import they are read as the input"
)]
pub trait ToolInput: Sized {
    /// The input's schema and parse.
    const INPUT: InputOf<Self>;
}

impl<I: SecureInput + Send> ToolInput for I {
    const INPUT: InputOf<I> = InputOf {
        schema: input_schema::<I>,
        parse: parse_arguments_in::<I>,
        roots: <I as SecureInput>::path_roots,
    };
}

fn input_schema<I: SecureInput>() -> Arc<JsonObject> {
    rmcp::handler::server::tool::schema_for_input::<I>()
        .unwrap_or_else(|e| unreachable!("SecureInput schemas are objects: {e}"))
}

/// A guarded tool call, what each `#[mcp_tool]` method's route runs: the checks, then `tool`
/// (the generated call of the method with the checked input), its panics caught, its result
/// shaped and recorded. One generic body for every tool, so a crate's tools add a closure
/// each, not an async body each, to what the compiler checks.
pub fn call<'s, S, I, F, Fut>(
    input: InputOf<I>,
    policy: &'static ToolPolicy,
    ctx: ToolCallContext<'s, S>,
    tool: F,
    outcome: fn(Fut::Output) -> Outcome,
) -> BoxFuture<'s, Result<CallToolResponse, rmcp::ErrorData>>
where
    S: Send + Sync + 's,
    I: Send + 's,
    F: FnOnce(Guarded<'s, S, I>) -> Fut + Send + 's,
    Fut: Future + Send + 's,
{
    // The checks (authenticate, authorize with implication, rate limit, parse and validate)
    // are written out here rather than in an `async fn` of their own: an `async fn` copies its
    // arguments into its future, and `ctx` is large. A denial is recorded by `admit` and
    // returned as the tool result to send; the tool does not run.
    let span = super::span::begin(policy.name(), &ctx.request_context);
    // Before the span is first entered: a parent can be set only until then.
    #[cfg(feature = "otel")]
    if !span.is_disabled()
        && let Some(security) = Security::from_request(&ctx.request_context)
    {
        crate::otel::adopt(
            &span,
            &ctx.request_context.meta,
            security.client_trace_context(),
        );
    }
    let call_span = span.clone();
    let call = async move {
        #[cfg(feature = "policy")]
        let mut ctx = ctx;
        let Some(security) = Security::from_request(&ctx.request_context).cloned() else {
            return Ok(unconfigured(policy));
        };
        let started = security.recording_calls().then(Instant::now);
        // The caller mark lives as long as this call: it ends when this future ends or is
        // dropped.
        let (call, _call_ends) = crate::auth::CallMark::begin();
        let caller = Principal::caller_of(&ctx.request_context, call);
        super::span::caller(&span, caller.as_ref());
        // Looked up when something records it (the events), or keys the limit.
        let client = match started.is_some() || policy.rate_key() == RateKey::Ip {
            true => client_address(&ctx.request_context),
            false => None,
        };
        // Before the parse takes them: a tool's sealed states are bound to its arguments.
        let arguments = policy
            .takes_input_rounds()
            .then(|| super::round::ArgumentsDigest::of(ctx.arguments.as_ref()));
        #[cfg(feature = "policy")]
        let mut call_policy = None;
        let (principal, input) = match decide(
            &security,
            policy,
            caller,
            client,
            ctx.arguments,
            input.parse,
            #[cfg(feature = "policy")]
            &mut call_policy,
        )
        .await
        {
            Ok(admitted) => admitted,
            Err(denied) => {
                super::span::denied(&span, denied.code());
                return Ok(deny(policy, &denied));
            }
        };
        // For `policy::authorize` of the rows the tool loads.
        #[cfg(feature = "policy")]
        if let Some(call_policy) = call_policy {
            ctx.request_context.extensions.insert(call_policy);
        }
        let round = match arguments {
            Some(arguments) => InputRound::open(
                &security,
                policy.name(),
                &principal,
                client,
                arguments,
                ctx.input_responses,
                ctx.request_state,
            )
            .inspect_err(|e| super::span::rejected(&span, e))?,
            None => InputRound::unused(),
        };
        let audit = Finish {
            policy,
            security,
            record: started.map(|started| (principal.clone(), started)),
            client,
            span,
        };
        let guarded = Guarded {
            service: ctx.service,
            principal,
            input,
            context: ctx.request_context,
            round,
        };
        let output = catch_panic(tool(guarded)).await;
        audit.finish(output.map(outcome))
    };
    Box::pin(tracing::Instrument::instrument(call, call_span))
}

/// The caller's address, when the request came over HTTP through a
/// [`ClientAddressLayer`](crate::http::ClientAddressLayer).
fn client_address(
    ctx: &rmcp::service::RequestContext<rmcp::RoleServer>,
) -> Option<std::net::IpAddr> {
    #[cfg(feature = "http")]
    if let Some(parts) = ctx.extensions.get::<http::request::Parts>() {
        return crate::http::ClientAddress::of(&parts.extensions);
    }
    let _ = ctx;
    None
}

/// The checks every `#[mcp_tool]` call makes, without rmcp's request: given the caller the
/// transport authenticated (if any) and the call's arguments, decides the call — authorize
/// (scope with implication), rate limit, parse and validate — recording every denial. `Ok` carries the
/// caller (anonymous for a public tool called without credentials) and the validated input;
/// `Err` the error the client gets. `client` is the caller's address, for a tool whose limit is
/// keyed by it (`rate_key = "ip"`).
pub async fn admit<I: SecureInput>(
    security: &Security,
    policy: &'static ToolPolicy,
    caller: Option<Principal>,
    client: Option<std::net::IpAddr>,
    arguments: Option<JsonObject>,
) -> Result<(Principal, I), Box<ToolError>> {
    let parse = parse_arguments_in::<I>;
    decide(
        security,
        policy,
        caller,
        client,
        arguments,
        parse,
        #[cfg(feature = "policy")]
        &mut None,
    )
    .await
}

/// [`admit`] with the input's parse as a function.
#[inline(always)]
async fn decide<I>(
    security: &Security,
    policy: &'static ToolPolicy,
    caller: Option<Principal>,
    client: Option<std::net::IpAddr>,
    arguments: Option<JsonObject>,
    parse: fn(Option<JsonObject>, &Security) -> Result<I, ValidationErrors>,
    #[cfg(feature = "policy")] call_policy: &mut Option<crate::policy::CallPolicy>,
) -> Result<(Principal, I), Box<ToolError>> {
    let tool = policy.name();
    let principal = match (caller, policy.access()) {
        (Some(p), _) => p,
        (None, Access::Public) => Principal::anonymous(),
        (None, Access::Scope(..)) => return Err(unauthenticated(security, tool, client)),
    };
    if let Access::Scope(scope, catalog) = policy.access()
        && !principal.is_granted(scope, catalog)
    {
        return Err(insufficient_scope(
            security, tool, &principal, scope, client,
        ));
    }
    if let RateLimit::Limited(rate) = policy.rate() {
        // Keys are issuer-qualified: a subject or client of one issuer never shares another's.
        let client_key;
        let key = match policy.rate_key() {
            RateKey::Caller => principal.id(),
            RateKey::Client => match principal.client_id() {
                Some(client) => {
                    client_key = format!("{}#client#{client}", principal.issuer());
                    &client_key
                }
                None => principal.id(),
            },
            RateKey::Global => "",
            RateKey::Ip => {
                client_key = match client {
                    Some(ip) => format!("ip#{}", crate::rate::address_key(ip)),
                    None => "ip#local".to_owned(),
                };
                &client_key
            }
        };
        match security.limiter().check(tool, key, rate).await {
            Ok(Decision::Allow) => {}
            Ok(Decision::Deny { retry_after }) => {
                return Err(rate_limited(
                    security,
                    tool,
                    (&principal, client),
                    key,
                    rate,
                    retry_after,
                ));
            }
            Err(e) => limiter_failed(security, tool, &e)?,
        }
    }
    // Hooks decide on the arguments after the parse: kept before it takes them, when there is
    // one to ask.
    let kept = (!security.hooks().is_empty()).then(|| arguments.clone().unwrap_or_default());
    // The policies decide before the parse, on arguments of the types the schema states: the
    // parse looks paths up on disk, and its answers (a file there, a link, a FIFO) must not
    // tell a caller a policy refuses what lies behind a path. Arguments not of those types
    // are left to the parse, which says what is wrong with them. The context they decided on
    // is kept (owned) for `policy::authorize` of the rows the tool loads.
    #[cfg(feature = "policy")]
    let decided = match security.policies() {
        Some(policies) => {
            let none = JsonObject::new();
            match policies.context(tool, arguments.as_ref().unwrap_or(&none)) {
                Ok(context) => {
                    if let Err(denied) = policies.decide_call(&principal, tool, &context) {
                        return Err(policy_denied(security, tool, (&principal, client), &denied));
                    }
                    Some(context.into_static())
                }
                Err(malformed) => Some(Err(malformed)),
            }
        }
        None => None,
    };
    let input = match parse(arguments, security) {
        Ok(input) => input,
        Err(errors) => return Err(invalid(security, tool, (&principal, client), errors)),
    };
    #[cfg(feature = "policy")]
    match decided {
        Some(Ok(context)) => {
            *call_policy = Some(crate::policy::CallPolicy {
                tool,
                context,
                client,
            })
        }
        // Valid, and still not of the schema's types: nothing decided it, so it is refused.
        Some(Err(undecided)) => {
            return Err(policy_denied(
                security,
                tool,
                (&principal, client),
                &undecided,
            ));
        }
        None => {}
    }
    // Last: a hook refuses only what everything above admitted.
    if let Some(arguments) = &kept
        && !security.hooks().is_empty()
    {
        let call = super::HookCall {
            tool: policy,
            caller: &principal,
            arguments,
            client,
        };
        if let Err((hook, denial)) = security.hooks().check(&call).await {
            return Err(hook_denied(
                security,
                tool,
                (&principal, client),
                hook,
                &denial,
            ));
        }
    }
    Ok((principal, input))
}

/// The rmcp tool listing for a policy: name, description, input (and output) schema,
/// annotations, and the policy under `_meta`.
pub fn tool_attr<I>(
    input: InputOf<I>,
    policy: &'static ToolPolicy,
    description: Option<&'static str>,
    title: Option<&'static str>,
    output_schema: Option<Arc<JsonObject>>,
) -> Tool {
    let input_schema = (input.schema)();
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

mod denials;
#[cfg(test)]
mod tests;
