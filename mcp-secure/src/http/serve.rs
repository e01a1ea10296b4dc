//! Serving an axum app over HTTP/1.1 with limits on slow and idle clients.
//!
//! `axum::serve` sets no read timeout: a client that opens a connection and sends its request
//! head one byte a minute (or nothing at all) holds a connection, a task and a file descriptor
//! for as long as it likes. [`serve`] is the same accept loop with hyper's header read timeout
//! switched on; [`AuthLayer`](super::AuthLayer) bounds the time a request body may take.

use std::{future::Future, io, pin::pin, time::Duration};

use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::sync::watch;

/// The default time a client has to send a request head, and that an idle keep-alive
/// connection is kept: 30 s.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`serve`] waits for open requests to finish after the shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How [`serve`] treats clients.
#[derive(Clone, Copy, Debug)]
pub struct ServeOptions {
    header_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
        }
    }
}

impl ServeOptions {
    /// A client that has not sent a complete request head this long after the connection
    /// opened (or after its previous response) is disconnected. Default
    /// [`DEFAULT_HEADER_TIMEOUT`]; a zero duration is raised to one millisecond.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout.max(Duration::from_millis(1));
        self
    }
}

/// Serves `app` on `listener` (a `tokio::net::TcpListener`, a [`TlsListener`](super::TlsListener)
/// or any other [`axum::serve::Listener`]) until `shutdown` completes; then stops accepting,
/// lets open requests finish for up to 5 s and returns.
///
/// Each connection is HTTP/1.1 with keep-alive; a client slower than
/// [`ServeOptions::header_timeout`] to send a request head is disconnected, so that silent or
/// trickling clients cannot pile up connections.
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// use std::time::Duration;
/// use mcp_secure::http::{ServeOptions, serve};
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// let app: axum::Router = axum::Router::new();
/// let options = ServeOptions::default().header_timeout(Duration::from_secs(10));
/// serve(listener, app, options, async { let _ = tokio::signal::ctrl_c().await; }).await
/// # }
/// ```
pub async fn serve<L>(
    mut listener: L,
    app: axum::Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()>
where
    L: axum::serve::Listener,
{
    // Every connection holds a `stop` receiver (told to finish when the sender goes) and a
    // `open` receiver (whose last drop tells the server that all connections are done).
    let (stop_tx, stop_rx) = watch::channel(());
    let (open_tx, open_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (io, _peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let (mut stop, open) = (stop_rx.clone(), open_rx.clone());
        let header_timeout = options.header_timeout;
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            let mut connection = pin!(builder.serve_connection(TokioIo::new(io), service));
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "HTTP connection ended");
                    }
                }
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(open);
        });
    }
    drop(listener);
    drop(stop_tx);
    drop(open_rx);
    // Streams (server-sent events) may stay open for good: the grace period bounds the wait.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, open_tx.closed()).await;
    Ok(())
}
