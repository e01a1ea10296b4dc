//! Prometheus metrics of a server's security decisions, in the text exposition format of the
//! Prometheus project's own client (`prometheus-client`), served on a listener of their own.
//!
//! [`Metrics`] is an [`AuditSink`]: every decision the guard and the HTTP layer record becomes
//! a count, so nothing is counted that the audit log does not show, and the labels are only a
//! tool's name and an outcome (never a subject, a token, an address or an argument).
//!
//! - `mcp_secure_tool_decisions_total{tool, outcome}`: `admitted`, `unauthenticated`,
//!   `insufficient_scope`, `rate_limited`, `invalid_input`, `tool_error`, `unavailable`;
//! - `mcp_secure_tool_duration_seconds{tool}`: how long admitted calls ran (millisecond
//!   resolution);
//! - `mcp_secure_http_refusals_total{reason}`: `unauthenticated`, `throttled` (failed
//!   authentications spent), `host`, `origin`;
//! - `mcp_secure_sessions` and `mcp_secure_limiter_keys` gauges, read at each scrape.
//!
//! [`Metrics::serve`] answers behind a [`ScrapeAccess`]: the `Host` rules of the endpoint
//! (loopback names and listed ones, so that a DNS-rebinding page is refused), no browser
//! `Origin`, and optionally a bearer token for the scraper.
//!
//! ```
//! use mcp_secure::{Security, audit::SecurityEvent, metrics::Metrics};
//! let metrics = Metrics::new();
//! let security = Security::builder().audit_sink(metrics.clone()).build().unwrap();
//! // What the guard records when a scoped tool is called without credentials:
//! security.emit(&SecurityEvent::Unauthenticated { tool: "notes_get", client: None });
//! assert!(metrics.encode().contains(
//!     r#"mcp_secure_tool_decisions_total{tool="notes_get",outcome="unauthenticated"} 1"#
//! ));
//! ```

use std::{
    future::Future,
    io,
    sync::{Arc, Mutex},
};

use axum::{Router, body::Body, routing::get};
use http::{HeaderValue, Response, header};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::{
    audit::{AuditSink, SecurityEvent},
    http::ClientAddressLayer,
};

mod scrape;

pub use scrape::{MIN_SCRAPE_TOKEN_CHARS, ScrapeAccess, ScrapeAccessBuilder, ScrapeAccessError};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Decision {
    tool: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabel {
    tool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Refusal {
    reason: &'static str,
}

/// A gauge read at each scrape.
type Source = Box<dyn Fn() -> i64 + Send + Sync>;

struct Inner {
    registry: Registry,
    decisions: Family<Decision, Counter>,
    durations: Family<ToolLabel, Histogram>,
    refusals: Family<Refusal, Counter>,
    sessions: Gauge,
    limiter_keys: Gauge,
    sources: Mutex<Vec<(Gauge, Source)>>,
}

/// The metrics of one server: an audit sink to install with
/// [`SecurityBuilder::audit_sink`](crate::SecurityBuilder::audit_sink), and what
/// [`serve`](Self::serve) answers scrapes with. Cloning it is cheap; clones share the counts.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Latency buckets, in seconds: 1 ms to about 16 s.
fn latency_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.001, 2.0, 15)
}

impl Metrics {
    /// Metrics with every count at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mcp_secure");
        let decisions = Family::<Decision, Counter>::default();
        registry.register(
            "tool_decisions",
            "Decisions on tool calls, by tool and outcome",
            decisions.clone(),
        );
        let durations = Family::<ToolLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(latency_buckets())
        });
        registry.register(
            "tool_duration_seconds",
            "How long admitted tool calls ran",
            durations.clone(),
        );
        let refusals = Family::<Refusal, Counter>::default();
        registry.register(
            "http_refusals",
            "Requests refused by the HTTP layer before any tool, by reason",
            refusals.clone(),
        );
        let sessions = Gauge::default();
        registry.register(
            "sessions",
            "Legacy sessions bound to their principals in this process (0 when a shared registry keeps them)",
            sessions.clone(),
        );
        let limiter_keys = Gauge::default();
        registry.register(
            "limiter_keys",
            "Keys the in-memory rate limiter holds",
            limiter_keys.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            decisions,
            durations,
            refusals,
            sessions,
            limiter_keys,
            sources: Mutex::default(),
        }))
    }

    /// Reads the sessions gauge from `count` at each scrape.
    pub(crate) fn count_sessions(&self, count: impl Fn() -> usize + Send + Sync + 'static) {
        self.source(self.0.sessions.clone(), count);
    }

    /// Reads the limiter-keys gauge from `count` at each scrape.
    pub(crate) fn count_limiter_keys(&self, count: impl Fn() -> usize + Send + Sync + 'static) {
        self.source(self.0.limiter_keys.clone(), count);
    }

    fn source(&self, gauge: Gauge, count: impl Fn() -> usize + Send + Sync + 'static) {
        let read: Source = Box::new(move || i64::try_from(count()).unwrap_or(i64::MAX));
        self.0
            .sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((gauge, read));
    }

    /// The metrics now, in Prometheus' text format.
    pub fn encode(&self) -> String {
        for (gauge, read) in self
            .0
            .sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            gauge.set(read());
        }
        let mut text = String::new();
        // Writing into a `String` cannot fail.
        let _ = encode(&mut text, &self.0.registry);
        text
    }

    fn decided(&self, tool: &str, outcome: &'static str) {
        self.0
            .decisions
            .get_or_create(&Decision {
                tool: tool.to_owned(),
                outcome,
            })
            .inc();
    }

    fn refused(&self, reason: &'static str) {
        self.0.refusals.get_or_create(&Refusal { reason }).inc();
    }

    /// The scrape endpoint, `GET /metrics`, as a router to serve where the operator chooses,
    /// behind `access`: a `Host` that is not a loopback name or an allowed one is refused
    /// (`403`), as is any browser `Origin`, and with a token a request without it (`401`).
    pub fn router(&self, access: &ScrapeAccess) -> Router {
        let metrics = self.clone();
        Router::new()
            .route(
                "/metrics",
                get(move || {
                    let metrics = metrics.clone();
                    async move {
                        let mut response = Response::new(Body::from(metrics.encode()));
                        response.headers_mut().insert(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static(
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            ),
                        );
                        response
                    }
                }),
            )
            // Explicit, so that the layers below guard every path, not only the route.
            .fallback(|| async { http::StatusCode::NOT_FOUND })
            .layer(access.token.clone())
            .layer(access.origin.clone())
            .layer(access.host.clone())
            // The peer, for the audit events of refusals (no proxy is trusted here).
            .layer(ClientAddressLayer::default())
    }

    /// Serves `GET /metrics` on `listener` behind `access` ([`router`](Self::router)) until
    /// `shutdown` completes. Keep it off the public network: `--metrics-addr 127.0.0.1:9090`,
    /// or a port only the scraper reaches, with a token.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        access: &ScrapeAccess,
        shutdown: impl Future<Output = ()> + Send,
    ) -> io::Result<()> {
        crate::http::serve(
            listener,
            self.router(access),
            crate::http::ServeOptions::default(),
            shutdown,
        )
        .await
    }
}

impl AuditSink for Metrics {
    fn record(&self, event: &SecurityEvent<'_>) {
        match *event {
            SecurityEvent::ToolCalled {
                tool,
                outcome,
                duration_ms,
                ..
            } => {
                // `ok`, or the code of the error the tool returned.
                self.decided(
                    tool,
                    if outcome == "ok" {
                        "admitted"
                    } else {
                        "tool_error"
                    },
                );
                if outcome == "ok" {
                    self.0
                        .durations
                        .get_or_create(&ToolLabel {
                            tool: tool.to_owned(),
                        })
                        .observe(duration_ms as f64 / 1000.0);
                }
            }
            SecurityEvent::Unauthenticated { tool, .. } => self.decided(tool, "unauthenticated"),
            SecurityEvent::AuthorizationDenied { tool, .. } => {
                self.decided(tool, "insufficient_scope")
            }
            SecurityEvent::RateLimited { tool, .. } => self.decided(tool, "rate_limited"),
            SecurityEvent::ValidationFailed { tool, .. } => self.decided(tool, "invalid_input"),
            SecurityEvent::BackendUnavailable {
                tool,
                fail_open: false,
                ..
            } => self.decided(tool, "unavailable"),
            SecurityEvent::AuthenticationFailed { .. } => self.refused("unauthenticated"),
            SecurityEvent::AuthenticationThrottled { .. } => self.refused("throttled"),
            SecurityEvent::HostRefused { .. } => self.refused("host"),
            SecurityEvent::OriginRefused { .. } => self.refused("origin"),
            SecurityEvent::SessionRefused { .. } => self.refused("session"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line of the exposition, by its name and labels.
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn each_decision_is_counted_by_tool_and_outcome_and_nothing_personal_is_a_label() {
        let metrics = Metrics::new();
        let calls = [
            SecurityEvent::ToolCalled {
                tool: "notes_get",
                issuer: "api-key",
                subject: "alice-secret-subject",
                client_id: Some("app"),
                outcome: "ok",
                duration_ms: 3,
                client: Some("198.51.100.9".parse().unwrap()),
            },
            SecurityEvent::ToolCalled {
                tool: "notes_get",
                issuer: "api-key",
                subject: "alice-secret-subject",
                client_id: None,
                outcome: "not_found",
                duration_ms: 1,
                client: None,
            },
            SecurityEvent::RateLimited {
                tool: "notes_get",
                issuer: "api-key",
                subject: "alice-secret-subject",
                key: "api-key#alice-secret-subject",
                retry_after_ms: 10,
                client: None,
            },
            SecurityEvent::BackendUnavailable {
                backend: "rate_limiter",
                tool: "notes_get",
                fail_open: true,
            },
            SecurityEvent::AuthenticationThrottled {
                client: "198.51.100.7".parse().unwrap(),
                path: "/mcp",
                retry_after_ms: 6000,
            },
        ];
        for event in &calls {
            metrics.record(event);
        }
        metrics.count_sessions(|| 4);
        let text = metrics.encode();
        let decisions = "mcp_secure_tool_decisions_total";
        assert_eq!(
            value(
                &text,
                &format!("{decisions}{{tool=\"notes_get\",outcome=\"admitted\"}}")
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &text,
                &format!("{decisions}{{tool=\"notes_get\",outcome=\"tool_error\"}}")
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &text,
                &format!("{decisions}{{tool=\"notes_get\",outcome=\"rate_limited\"}}")
            ),
            Some(1.0)
        );
        // Let through by `fail_open`: not a refusal.
        assert!(!text.contains("outcome=\"unavailable\""));
        assert_eq!(
            value(
                &text,
                "mcp_secure_http_refusals_total{reason=\"throttled\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &text,
                "mcp_secure_tool_duration_seconds_count{tool=\"notes_get\"}"
            ),
            Some(1.0)
        );
        assert_eq!(value(&text, "mcp_secure_sessions"), Some(4.0));
        for private in ["alice", "api-key", "app", "198.51.100.", "/mcp"] {
            assert!(!text.contains(private), "{private} in {text}");
        }
    }
}
