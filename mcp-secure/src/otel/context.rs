//! The trace context a client sends in a call's `_meta` (`traceparent`, `tracestate`: W3C
//! Trace Context, as OpenTelemetry's MCP conventions propagate it).

use opentelemetry::{
    propagation::{Extractor, TextMapPropagator},
    trace::{SpanContext, TraceContextExt, TraceState},
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use rmcp::model::RequestMetaObject;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// What a call's span does with the trace context its client sends.
///
/// A client chooses the trace id it sends: taken as the parent, it puts the server's span into
/// whatever trace the client names, someone else's included. A link keeps the client's trace
/// reachable from the server's span without letting the client place it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientTraceContext {
    /// The span links to the client's span and starts a trace of its own (the default).
    #[default]
    Link,
    /// The span is a child of the client's span: for clients that are your own services.
    Parent,
    /// The client's trace context is not read.
    Ignore,
}

struct Meta<'a>(&'a RequestMetaObject);

impl Extractor for Meta<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key)?.as_str()
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// Links `span` to, or makes it a child of, the client's span named in `meta`, as `how` says.
/// A malformed `traceparent` is no context (the W3C parser's own rule).
pub(crate) fn adopt(span: &tracing::Span, meta: &RequestMetaObject, how: ClientTraceContext) {
    if how == ClientTraceContext::Ignore || !meta.contains_key("traceparent") {
        return;
    }
    let cx = TraceContextPropagator::new().extract(&Meta(meta));
    let remote = cx.span().span_context().clone();
    if !remote.is_valid() {
        return;
    }
    match how {
        ClientTraceContext::Parent => {
            // Refused only for a disabled span, which records nothing anyway.
            let _ = span.set_parent(cx);
        }
        // The link keeps the client's ids, not its `tracestate`: up to 32 entries of the
        // client's text that nothing here needs.
        ClientTraceContext::Link | ClientTraceContext::Ignore => span.add_link(SpanContext::new(
            remote.trace_id(),
            remote.span_id(),
            remote.trace_flags(),
            true,
            TraceState::default(),
        )),
    }
}
