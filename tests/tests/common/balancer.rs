//! A load balancer for replicas of the demo: each request goes to the next replica in turn,
//! as is (its `Host` included), with the client's address appended to `X-Forwarded-For`.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    response::Response,
};

/// The balancer's state: the replicas, and whose turn it is.
pub struct Balancer {
    pub upstreams: Vec<String>,
    /// How many requests it has forwarded: the next goes to `upstreams[next % len]`.
    pub next: AtomicUsize,
    http: reqwest::Client,
}

/// The header a test sets to play a client at another address (the proxy's peer is always
/// loopback); the proxy appends it to `X-Forwarded-For` as the address it saw.
pub const TEST_CLIENT: &str = "x-test-client-address";

/// Forwards `request` to the next replica, as is (its `Host` included), with the client's
/// address appended to `X-Forwarded-For`; streams the answer back.
pub async fn forward(
    State(proxy): State<Arc<Balancer>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let turn = proxy.next.fetch_add(1, Ordering::Relaxed) % proxy.upstreams.len();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = parts.headers.clone();
    let client = headers
        .remove(TEST_CLIENT)
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .unwrap_or_else(|| peer.ip().to_string());
    let chain = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(before) => format!("{before}, {client}"),
        None => client,
    };
    headers.insert("x-forwarded-for", chain.parse().unwrap());
    headers.remove("connection");
    let body = axum::body::to_bytes(body, 8 << 20).await.unwrap();
    let answer = proxy
        .http
        .request(parts.method, format!("{}{path}", proxy.upstreams[turn]))
        .headers(headers)
        .body(body)
        .send()
        .await
        .expect("the replica answers");
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != "transfer-encoding" && name != "connection" {
            response = response.header(name, value);
        }
    }
    // Streamed: an SSE answer stays open.
    let stream = futures_util::stream::unfold(answer, |mut answer| async move {
        match answer.chunk().await {
            Ok(Some(chunk)) => Some((Ok::<_, std::io::Error>(chunk), answer)),
            _ => None,
        }
    });
    response.body(Body::from_stream(stream)).unwrap()
}

/// Serves `listener`, forwarding to `upstreams` (origins) in turn.
pub fn serve(listener: tokio::net::TcpListener, upstreams: Vec<String>) -> Arc<Balancer> {
    let balancer = Arc::new(Balancer {
        upstreams,
        next: AtomicUsize::new(0),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap(),
    });
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(balancer.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    balancer
}
