//! The HTTP side: tower layers in front of rmcp's streamable HTTP service. [`AuthLayer`] is the
//! full front door (verifiers, challenges, metadata, scope checks, Origin, body limit, headers);
//! [`ApiKeyLayer`] is the minimal API-key check.

mod auth_layer;
mod serve;
mod tls;

pub use auth_layer::{
    AuthLayer, AuthLayerBuilder, AuthLayerError, AuthService, DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_BODY, FORBIDDEN_CODE,
};
pub use serve::{DEFAULT_HEADER_TIMEOUT, ServeOptions, serve};

#[cfg(feature = "dev-auth")]
pub(crate) use auth_layer::is_loopback_host;
pub use tls::TlsListener;

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum::body::Body;
use http::{HeaderValue, Request, Response, StatusCode, header};
use tower::{Layer, Service};

use crate::{
    audit::{SecurityEvent, emit},
    auth::ApiKeys,
};

/// Authenticates every request with an API key in `Authorization: Bearer <key>`.
///
/// On success the caller's [`Principal`](crate::auth::Principal) is put into the request's
/// extensions, where rmcp passes it on to the tools. Otherwise the request is answered `401`
/// with `WWW-Authenticate: Bearer realm="mcp"` (plus `error="invalid_token"` when a key was
/// presented but is wrong), and the body never reaches rmcp (nor is read: a request that
/// announced one is answered `Connection: close`).
///
/// ```
/// use std::sync::Arc;
/// use mcp_secure::{auth::{ApiKeys, Principal}, http::ApiKeyLayer};
/// let keys = ApiKeys::new().with_key("a-long-enough-key", Principal::new("alice", ["notes:read"]));
/// let app: axum::Router = axum::Router::new()
///     .route("/mcp", axum::routing::post(|| async { "ok" }))
///     .layer(ApiKeyLayer::new(Arc::new(keys)));
/// # let _ = app;
/// ```
#[derive(Clone, Debug)]
pub struct ApiKeyLayer {
    keys: Arc<ApiKeys>,
}

impl ApiKeyLayer {
    /// A layer that accepts exactly these keys.
    pub fn new(keys: Arc<ApiKeys>) -> Self {
        Self { keys }
    }
}

impl<S> Layer<S> for ApiKeyLayer {
    type Service = ApiKeyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ApiKeyService {
            inner,
            keys: self.keys.clone(),
        }
    }
}

/// The service [`ApiKeyLayer`] wraps around an inner service.
#[derive(Clone, Debug)]
pub struct ApiKeyService<S> {
    inner: S,
    keys: Arc<ApiKeys>,
}

impl<S, B> Service<Request<B>> for ApiKeyService<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let presented = bearer_token(request.headers());
        let principal = presented.and_then(|token| self.keys.verify(token));
        match principal {
            Some(principal) => {
                request.extensions_mut().insert(principal);
                Box::pin(self.inner.call(request))
            }
            None => {
                let had_token = presented.is_some();
                let unread = announces_body(request.version(), request.headers());
                emit(&SecurityEvent::AuthenticationFailed {
                    reason: if had_token {
                        "unknown key"
                    } else {
                        "no bearer token"
                    },
                    path: request.uri().path(),
                });
                let response = unauthorized(had_token);
                let response = if unread {
                    last_on_connection(response)
                } else {
                    response
                };
                Box::pin(std::future::ready(Ok(response)))
            }
        }
    }
}

/// Whether an HTTP/1.x request announces a body (RFC 9112 §6.3: a `Transfer-Encoding`, or a
/// `Content-Length` other than 0). HTTP/2 frames bodies itself and is never asked.
pub(crate) fn announces_body(version: http::Version, headers: &http::HeaderMap) -> bool {
    version <= http::Version::HTTP_11
        && (headers.contains_key(header::TRANSFER_ENCODING)
            || headers
                .get(header::CONTENT_LENGTH)
                .is_some_and(|length| length.as_bytes().iter().any(|&b| b != b'0')))
}

/// Makes `response` the last one on its connection (`Connection: close`).
///
/// For an answer given before the request's body was read to its end (a refusal that never
/// looks at the body, or a body that was too large or too slow). hyper cannot tell where the
/// next request would start and closes such a connection after the response; without the
/// header the client would not know, and could send its next request into the closing
/// connection ("server disconnected without sending a response").
pub(crate) fn last_on_connection(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The token of an `Authorization: Bearer <token>` header, if there is a non-empty one.
fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The `401` answer: a `WWW-Authenticate` challenge and a body with no detail about why.
pub fn unauthorized(invalid_token: bool) -> Response<Body> {
    let (challenge, error, description) = if invalid_token {
        (
            r#"Bearer realm="mcp", error="invalid_token", error_description="the access token is not valid""#,
            "invalid_token",
            "the access token is not valid",
        )
    } else {
        (
            r#"Bearer realm="mcp""#,
            "unauthorized",
            "this server needs an access token: send Authorization: Bearer <token>",
        )
    };
    let mut response = error_response(StatusCode::UNAUTHORIZED, error, description);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// The JSON-RPC error code of an HTTP-level refusal with `status`.
fn jsonrpc_code(status: StatusCode) -> i64 {
    match status {
        StatusCode::UNAUTHORIZED => -32001,
        StatusCode::FORBIDDEN => auth_layer::FORBIDDEN_CODE,
        _ => -32600,
    }
}

/// An HTTP-level refusal (`status`, an OAuth-style `error` code and a description that reveals
/// nothing internal) with a JSON-RPC error as its body (`id` null: the request was refused
/// before it was read), so that MCP clients show the reason to their user; the OAuth-style
/// fields are in its `data`. `404` keeps a plain JSON body: clients read a `404` on a session
/// as "start a new session", which a JSON-RPC body would override.
pub(crate) fn error_response(status: StatusCode, error: &str, description: &str) -> Response<Body> {
    let oauth = serde_json::json!({ "error": error, "error_description": description });
    let body = if status == StatusCode::NOT_FOUND {
        oauth
    } else {
        serde_json::json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": {
                "code": jsonrpc_code(status),
                "message": format!("{error}: {description}"),
                "data": oauth,
            },
        })
    };
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
