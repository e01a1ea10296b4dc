//! `otel::Telemetry::exports`: a failed OTLP export is counted (and logged), not lost silently.
//! The collector here is an axum server on a free loopback port answering with a chosen status,
//! or a port nothing listens on.
#![cfg(feature = "otel")]

use axum::{Router, http::StatusCode, routing::post};
use mcp_secure::otel::{Exports, Otlp};
use tracing_subscriber::prelude::*;

/// A collector on loopback answering every export with `status`; its base URL.
async fn collector(status: StatusCode) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/v1/traces", post(move || async move { status }))
        .route("/v1/logs", post(move || async move { status }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// One call's span and one audit event exported to `endpoint`; the counts once both batches
/// have been sent (at shutdown).
async fn export_one_call(endpoint: &str) -> Exports {
    let telemetry = Otlp::http(endpoint).unwrap().start().unwrap();
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!(target: "mcp_secure::call", "tools/call notes_read").in_scope(|| {
            tracing::info!(target: "mcp_secure::audit", name = "allowed", "allowed");
        });
    });
    let exports = telemetry.exports();
    // A refused export is not an error of the shutdown: the batch is dropped and counted.
    let _ = telemetry.shutdown().await;
    exports
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_exports_are_counted_as_sent() {
    let exports = export_one_call(&collector(StatusCode::OK).await).await;
    assert_eq!((exports.sent(), exports.failed()), (2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_and_unreachable_exports_are_counted_as_failed() {
    for status in [StatusCode::SERVICE_UNAVAILABLE, StatusCode::UNAUTHORIZED] {
        let exports = export_one_call(&collector(status).await).await;
        assert_eq!(exports.sent(), 0, "{status}");
        assert!(exports.failed() >= 2, "{status}: {}", exports.failed());
    }
    // A port nothing listens on (bound, then closed).
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", listener.local_addr().unwrap())
    };
    let exports = export_one_call(&closed).await;
    assert_eq!(exports.sent(), 0);
    assert!(exports.failed() >= 2, "{}", exports.failed());
}
