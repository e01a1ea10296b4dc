//! The OTLP exporter's HTTP client: the library's reqwest, run on the server's Tokio runtime.
//!
//! The SDK's batch processors export from threads of their own, outside any runtime; the
//! client it ships for that (reqwest's blocking one, of another reqwest major version) would
//! put a second HTTP stack into the build. Each export is instead spawned onto the runtime the
//! telemetry was started on, and the processor's thread waits for it.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use opentelemetry_http::{HttpClient, HttpError};

/// The largest collector response read: a collector answers with a small status message.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Sends the exporter's requests, with the headers the collector asks for (sensitive: they
/// often carry an API key), through no proxy and without following redirects.
pub(super) struct Transport {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
    headers: http::HeaderMap,
    exports: Exports,
}

/// How the exports went: requests the collector accepted, and requests that failed (not sent,
/// not answered, or answered with an error status). Shared by the exporters of one
/// [`Telemetry`](super::Telemetry); a clone reads the same counts.
///
/// Each failure is also logged, as a warning with target `mcp_secure::otel` and the kind of
/// failure (never the collector's response), for the server's own log: the SDK drops a failed
/// batch.
#[derive(Debug, Clone, Default)]
pub struct Exports(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    sent: AtomicU64,
    failed: AtomicU64,
}

impl Exports {
    /// Requests the collector answered with a success status.
    pub fn sent(&self) -> u64 {
        self.0.sent.load(Ordering::Relaxed)
    }

    /// Requests that failed: not sent, not answered in time, answered with an error status or
    /// too long an answer.
    pub fn failed(&self) -> u64 {
        self.0.failed.load(Ordering::Relaxed)
    }

    fn record(&self, outcome: Result<http::StatusCode, &ExportFailed>) {
        match outcome {
            Ok(status) if status.is_success() => {
                self.0.sent.fetch_add(1, Ordering::Relaxed);
            }
            failed => {
                self.0.failed.fetch_add(1, Ordering::Relaxed);
                match failed {
                    Ok(status) => tracing::warn!(
                        target: "mcp_secure::otel",
                        status = status.as_u16(),
                        "OTLP export refused by the collector; the batch is dropped"
                    ),
                    Err(reason) => tracing::warn!(
                        target: "mcp_secure::otel",
                        reason = %reason,
                        "OTLP export failed; the batch is dropped"
                    ),
                }
            }
        }
    }
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the headers: they are credentials.
        f.debug_struct("Transport").finish_non_exhaustive()
    }
}

/// Why an export's request failed, without the collector's words (its body may echo what
/// was sent).
#[derive(Debug)]
enum ExportFailed {
    /// The request could not be sent or its response read.
    Network,
    /// The response was longer than [`MAX_RESPONSE_BYTES`].
    ResponseTooLarge,
    /// The runtime the telemetry was started on has shut down.
    RuntimeGone,
}

impl std::fmt::Display for ExportFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Network => "the collector could not be reached",
            Self::ResponseTooLarge => "the collector's response is too large",
            Self::RuntimeGone => "the server's runtime has shut down",
        })
    }
}

impl std::error::Error for ExportFailed {}

impl Transport {
    pub(super) fn new(
        runtime: tokio::runtime::Handle,
        headers: http::HeaderMap,
        timeout: Duration,
        exports: Exports,
    ) -> Result<Self, reqwest::Error> {
        // No proxy from the environment: an endpoint allowed as http because it is on loopback
        // would otherwise cross the network in clear text.
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()?;
        Ok(Self {
            client,
            runtime,
            headers,
            exports,
        })
    }
}

#[async_trait::async_trait]
impl HttpClient for Transport {
    async fn send_bytes(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, HttpError> {
        let (mut parts, body) = request.into_parts();
        for (name, value) in &self.headers {
            parts.headers.insert(name, value.clone());
        }
        let request = match reqwest::Request::try_from(http::Request::from_parts(parts, body)) {
            Ok(request) => request,
            Err(_) => {
                self.exports.record(Err(&ExportFailed::Network));
                return Err(ExportFailed::Network.into());
            }
        };
        let client = self.client.clone();
        let sent = self.runtime.spawn(async move {
            let mut response = client
                .execute(request)
                .await
                .map_err(|_| ExportFailed::Network)?;
            let mut reply = http::Response::builder().status(response.status());
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|_| ExportFailed::Network)? {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(ExportFailed::ResponseTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            if let Some(headers) = reply.headers_mut() {
                *headers = std::mem::take(response.headers_mut());
            }
            reply
                .body(Bytes::from(body))
                .map_err(|_| ExportFailed::Network)
        });
        let answered = sent.await.unwrap_or(Err(ExportFailed::RuntimeGone));
        self.exports
            .record(answered.as_ref().map(http::Response::status));
        Ok(answered?)
    }
}
