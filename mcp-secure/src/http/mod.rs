//! The HTTP side: tower layers in front of rmcp's streamable HTTP service, one per concern
//! (hosts, origins, metadata, authentication, sessions, security headers). [`AuthLayer`]
//! composes them into the front door (verifiers, such as [`ApiKeys`](crate::auth::ApiKeys) or
//! a [`JwtVerifier`](crate::auth::JwtVerifier), challenges, scope checks, body limit);
//! [`Endpoint`] wires it to rmcp's service.

mod auth_layer;
mod client_address;
#[cfg(feature = "dpop")]
mod dpop;
mod endpoint;
mod health;
mod host;
mod metadata;
mod origin;
#[cfg(feature = "redis")]
mod redis_sessions;
mod security_headers;
mod serve;
mod session;
mod session_registry;
#[cfg(feature = "tls")]
mod tls;

pub use auth_layer::{
    AuthLayer, AuthLayerBuilder, AuthLayerError, AuthService, AuthenticateService,
    DEFAULT_BODY_TIMEOUT, DEFAULT_FAILED_AUTHENTICATIONS, DEFAULT_MAX_BODY, FORBIDDEN_CODE,
    HEADER_MISMATCH_CODE,
};
pub use client_address::{
    ClientAddress, ClientAddressLayer, ClientAddressService, ForwardedHeader,
    UnknownForwardedHeader,
};
#[cfg(all(feature = "dpop", feature = "redis"))]
pub use dpop::RedisReplayCache;
#[cfg(feature = "dpop")]
pub use dpop::{
    DEFAULT_DPOP_ALGORITHMS, DEFAULT_DPOP_WINDOW, DEFAULT_REPLAY_CAPACITY, Dpop, DpopConfigError,
    DpopMode, MAX_DPOP_WINDOW, MemoryReplayCache, ProofError, ReplayCache, ReplayError,
    ReplayFuture, UnknownDpopMode,
};
#[cfg(feature = "dev-auth")]
pub(crate) use dpop::{normalize_htu, proof_header};
pub use endpoint::{Endpoint, EndpointError};
pub use health::{HEALTHZ_PATH, READINESS_TIMEOUT, READYZ_PATH};
pub use host::{HostLayer, HostService};
pub use metadata::{MetadataLayer, MetadataService};
pub use origin::{OriginFuture, OriginLayer, OriginService};
#[cfg(feature = "redis")]
pub use redis_sessions::RedisSessions;
pub use security_headers::{SecurityHeaders, SecurityHeadersLayer};
pub use serve::{DEFAULT_HEADER_TIMEOUT, ServeOptions, serve};
pub use session::{SessionFuture, SessionLayer, SessionService};
pub use session_registry::{
    Checked, DEFAULT_SESSIONS_PER_PRINCIPAL, MemorySessions, RegistryError, RegistryFuture,
    SESSION_IDLE, SessionRegistry,
};

#[cfg(feature = "metrics")]
pub(crate) use host::AllowedHosts;
#[cfg(feature = "dev-auth")]
pub(crate) use host::is_loopback_host;
#[cfg(feature = "tls")]
pub use tls::TlsListener;

use axum::body::Body;
use http::{HeaderValue, Response, StatusCode, header};

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

/// `response`, made the last on its connection when the request's body was announced and left
/// unread.
pub(crate) fn keep_or_close(
    parts: &http::request::Parts,
    response: Response<Body>,
) -> Response<Body> {
    match announces_body(parts.version, &parts.headers) {
        true => last_on_connection(response),
        false => response,
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is a non-empty one (the
/// metrics listener's; the MCP endpoint also takes `DPoP`).
#[cfg(feature = "metrics")]
pub(crate) fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
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
    json_response(status, &body)
}

/// `body` as a JSON answer with `status`, never cached.
pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
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
