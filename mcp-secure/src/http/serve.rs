//! Serving an axum app over HTTP/1.1 with limits on slow and idle clients.
//!
//! `axum::serve` sets no read timeout: a client that opens a connection and sends its request
//! head one byte a minute (or nothing at all) holds a connection, a task and a file descriptor
//! for as long as it likes. [`serve`] is the same accept loop with hyper's header read timeout
//! switched on; [`AuthLayer`](super::AuthLayer) bounds the time a request body may take.
//!
//! An answer given before its request's body was read to the end (a `401` that never looks at
//! the body, a `429`, a `413`) ends the connection: hyper closes it after the response, as it
//! cannot know where the next request starts. [`serve`] says so in the answer
//! (`Connection: close`), whichever handler gave it, so that clients do not send their next
//! request into a closing connection.

use std::{
    convert::Infallible,
    future::Future,
    io,
    pin::{Pin, pin},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::body::Body;
use http::{Request, Response};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;
use tower::ServiceExt;

use super::{announces_body, last_on_connection};

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
/// Each request carries its connection's peer address as axum's
/// [`ConnectInfo`](axum::extract::ConnectInfo). Each connection is HTTP/1.1 with keep-alive; a client slower than
/// [`ServeOptions::header_timeout`] to send a request head is disconnected, so that silent or
/// trickling clients cannot pile up connections. An answer given before its request's body was
/// read to the end carries `Connection: close` (the connection ends with it).
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
    L::Addr: Clone + Send + Sync + 'static,
{
    // Every connection holds a `stop` receiver (told to finish when the sender goes) and a
    // `open` receiver (whose last drop tells the server that all connections are done).
    let (stop_tx, stop_rx) = watch::channel(());
    let (open_tx, open_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let app = app.clone();
        // The peer's address, as axum's `ConnectInfo` (what `ClientAddressLayer` reads).
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer.clone()));
            respond(app.clone(), request)
        });
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

/// `app`'s answer to `request`, marked as the connection's last if `request`'s body was not
/// read to its end.
async fn respond(
    app: axum::Router,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    if !announces_body(request.version(), request.headers()) {
        return app.oneshot(request).await;
    }
    let ended = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| Watched {
        body,
        ended: ended.clone(),
    });
    let response = app.oneshot(request).await?;
    Ok(if ended.load(Ordering::Acquire) {
        response
    } else {
        last_on_connection(response)
    })
}

/// A request body that records when it has been read to its end.
struct Watched {
    body: Incoming,
    ended: Arc<AtomicBool>,
}

impl HttpBody for Watched {
    type Data = axum::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(frame, Poll::Ready(None)) || self.body.is_end_stream() {
            self.ended.store(true, Ordering::Release);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// The guide (docs/src/http.md): "`http::serve` is `axum::serve` with hyper's header read timeout on (30 s by
    /// default, `ServeOptions::header_timeout`)", on tokio's paused clock: a client that sends
    /// part of a request head is disconnected 30 s after it connected, not before.
    #[tokio::test(start_paused = true)]
    async fn by_default_a_request_head_unfinished_after_30_s_is_disconnected() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "answered" }));
        let options = ServeOptions::default();
        let server = tokio::spawn(serve(listener, app, options, std::future::pending()));
        let start = tokio::time::Instant::now();
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(b"GET / HTTP/1.1\r\nHost: ").await.unwrap();
        let mut answer = Vec::new();
        // The end of the connection: a close, or a reset.
        let _ = client.read_to_end(&mut answer).await;
        assert_eq!(start.elapsed(), Duration::from_secs(30));
        assert!(!String::from_utf8_lossy(&answer).contains("answered"));
        server.abort();
    }
}
