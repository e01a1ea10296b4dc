//! Exporting each tool call's span and the audit events to an OpenTelemetry collector over
//! OTLP/HTTP (protobuf).
//!
//! Every `#[mcp_tool]` call runs in a `tracing` span (target `mcp_secure::call`) named and
//! attributed after OpenTelemetry's semantic conventions for MCP servers (`tools/call
//! notes_search`, `mcp.method.name`, `gen_ai.tool.name`, `jsonrpc.request.id`, `error.type`,
//! …) with the guard's decision (`mcp_secure.decision`, `mcp_secure.outcome`) and the caller
//! (`enduser.id`, `mcp_secure.issuer`, `mcp_secure.client_id`). [`Telemetry::layer`] exports
//! those spans, and the audit events (target `mcp_secure::audit`) as OpenTelemetry log
//! records and span events. No token, secret or argument value is in any of them.
//!
//! ```
//! use mcp_secure::otel::Otlp;
//! use tracing_subscriber::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A collector's OTLP/HTTP base URL: https, or http on a loopback host.
//! let telemetry = Otlp::http("http://127.0.0.1:4318")?
//!     .service_name("notes-server")
//!     .start()?;
//! let subscriber = tracing_subscriber::registry().with(telemetry.layer());
//! # drop(subscriber);
//! // … serve; then send what is buffered before the process ends:
//! telemetry.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod context;
mod transport;

use std::time::Duration;

pub use context::ClientTraceContext;
pub(crate) use context::adopt;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{LogExporter, Protocol, SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::{Resource, logs::SdkLoggerProvider, trace::SdkTracerProvider};
use tracing_subscriber::{
    Layer,
    filter::{LevelFilter, Targets},
    registry::LookupSpan,
};
pub use transport::Exports;

use crate::secret::SecretString;

/// Why telemetry could not be set up or shut down. Its text never holds a header's value.
#[derive(Debug)]
#[non_exhaustive]
pub enum OtelError {
    /// The endpoint is not an absolute URL, or not https (http is allowed on a loopback host
    /// only: spans name callers).
    Endpoint(&'static str),
    /// A header's name or value is not one HTTP allows.
    Header(String),
    /// [`Otlp::start`] ran outside a Tokio runtime (exports run on it).
    NoRuntime,
    /// The exporter could not be built.
    Exporter(String),
    /// Shutting down lost what was buffered (the collector could not be reached in time).
    Shutdown(String),
}

impl std::fmt::Display for OtelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Endpoint(rule) => write!(f, "OTLP endpoint: {rule}"),
            Self::Header(name) => write!(f, "OTLP header `{name}`: not a valid HTTP header"),
            Self::NoRuntime => f.write_str("OTLP export must be started inside a Tokio runtime"),
            Self::Exporter(why) => write!(f, "OTLP exporter: {why}"),
            Self::Shutdown(why) => write!(f, "OTLP shutdown: {why}"),
        }
    }
}

impl std::error::Error for OtelError {}

/// An OTLP/HTTP export, being configured: [`Otlp::http`], then [`start`](Self::start).
pub struct Otlp {
    endpoint: url::Url,
    service_name: String,
    headers: http::HeaderMap,
    timeout: Duration,
}

impl std::fmt::Debug for Otlp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Otlp")
            .field("endpoint", &self.endpoint.as_str())
            .field("service_name", &self.service_name)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Otlp {
    /// Export to the collector whose OTLP/HTTP base URL is `endpoint` (spans to
    /// `{endpoint}/v1/traces`, logs to `{endpoint}/v1/logs`). It must be https, or http on a
    /// loopback host: the spans name callers, and a header may carry the collector's key. No
    /// user or password, query or fragment; exports go through no proxy.
    pub fn http(endpoint: &str) -> Result<Self, OtelError> {
        let mut endpoint =
            url::Url::parse(endpoint).map_err(|_| OtelError::Endpoint("not an absolute URL"))?;
        let loopback = match endpoint.host() {
            Some(url::Host::Domain(host)) => host == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if endpoint.scheme() != "https" && !(endpoint.scheme() == "http" && loopback) {
            return Err(OtelError::Endpoint(
                "must be https (http only on a loopback host)",
            ));
        }
        if endpoint.query().is_some() || endpoint.fragment().is_some() {
            return Err(OtelError::Endpoint("must have no query or fragment"));
        }
        // A password in the URL would travel in every export and sit in the configuration:
        // `header` takes credentials, as secrets.
        if !endpoint.username().is_empty() || endpoint.password().is_some() {
            return Err(OtelError::Endpoint(
                "must have no user or password (send credentials with `header`)",
            ));
        }
        if !endpoint.path().ends_with('/') {
            let path = format!("{}/", endpoint.path());
            endpoint.set_path(&path);
        }
        Ok(Self {
            endpoint,
            service_name: "mcp-server".to_owned(),
            headers: http::HeaderMap::new(),
            timeout: Duration::from_secs(10),
        })
    }

    /// The `service.name` the collector files the telemetry under (default `mcp-server`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// A header sent with every export, such as the collector's API key. Its value is kept
    /// out of `Debug` and errors, and marked sensitive for the HTTP stack.
    pub fn header(mut self, name: &str, value: &SecretString) -> Result<Self, OtelError> {
        let header = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| OtelError::Header(crate::audit::escape(name).into_owned()))?;
        let mut value = http::HeaderValue::from_str(value.expose_secret())
            .map_err(|_| OtelError::Header(header.to_string()))?;
        value.set_sensitive(true);
        self.headers.insert(header, value);
        Ok(self)
    }

    /// How long one export may take (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Starts the exporters' batch processors; the exports run on the current Tokio runtime.
    pub fn start(self) -> Result<Telemetry, OtelError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| OtelError::NoRuntime)?;
        let exports = Exports::default();
        let transport = || {
            transport::Transport::new(
                runtime.clone(),
                self.headers.clone(),
                self.timeout,
                exports.clone(),
            )
            .map_err(|_| OtelError::Exporter("the HTTP client could not be built".into()))
        };
        let url = |signal: &str| {
            self.endpoint
                .join(signal)
                .map(String::from)
                .map_err(|_| OtelError::Endpoint("not a base URL"))
        };
        let resource = Resource::builder()
            .with_service_name(self.service_name.clone())
            .build();
        let spans = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url("v1/traces")?)
            .with_timeout(self.timeout)
            .with_http_client(transport()?)
            .build()
            .map_err(|e| OtelError::Exporter(e.to_string()))?;
        let logs = LogExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url("v1/logs")?)
            .with_timeout(self.timeout)
            .with_http_client(transport()?)
            .build()
            .map_err(|e| OtelError::Exporter(e.to_string()))?;
        Ok(Telemetry {
            exports,
            traces: SdkTracerProvider::builder()
                .with_batch_exporter(spans)
                .with_resource(resource.clone())
                .build(),
            logs: SdkLoggerProvider::builder()
                .with_batch_exporter(logs)
                .with_resource(resource)
                .build(),
        })
    }
}

/// Running OTLP export: a `tracing` layer for the subscriber, and the batches to flush at the
/// end ([`shutdown`](Self::shutdown)).
#[derive(Debug)]
pub struct Telemetry {
    exports: Exports,
    traces: SdkTracerProvider,
    logs: SdkLoggerProvider,
}

impl Telemetry {
    /// The layer to add to the server's `tracing` subscriber: it exports the calls' spans
    /// (target `mcp_secure::call`) with the events inside them, and the audit events
    /// (target `mcp_secure::audit`) as log records, whatever the subscriber's other layers
    /// filter. A tool's own spans are not exported by it: add
    /// `tracing_opentelemetry::layer().with_tracer(telemetry.tracer())` with a filter of your
    /// own for those.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let calls = Targets::new()
            .with_target("mcp_secure::call", LevelFilter::INFO)
            .with_target("mcp_secure::audit", LevelFilter::INFO);
        let audit = Targets::new().with_target("mcp_secure::audit", LevelFilter::INFO);
        // Not the source file, line and thread of each span and event: internals, not
        // telemetry.
        tracing_opentelemetry::layer()
            .with_tracer(self.tracer())
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_filter(calls)
            .and_then(
                opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&self.logs)
                    .with_filter(audit),
            )
    }

    /// How the exports go (sent and failed requests), for a health check or a metric; the
    /// handle outlives [`shutdown`](Self::shutdown), so it also tells how the last batches went.
    pub fn exports(&self) -> Exports {
        self.exports.clone()
    }

    /// The tracer the calls' spans are exported with, for layers of your own.
    pub fn tracer(&self) -> opentelemetry_sdk::trace::Tracer {
        self.traces.tracer("mcp-secure")
    }

    /// Exports what is buffered and stops the exporters. Async because the exports run on
    /// the runtime this waits on (the SDK's shutdown blocks its thread).
    pub async fn shutdown(self) -> Result<(), OtelError> {
        let Self { traces, logs, .. } = self;
        tokio::task::spawn_blocking(move || {
            let traces = traces.shutdown();
            let logs = logs.shutdown();
            traces.and(logs)
        })
        .await
        .map_err(|_| OtelError::Shutdown("the shutdown task failed".into()))?
        .map_err(|e| OtelError::Shutdown(e.to_string()))
    }
}
