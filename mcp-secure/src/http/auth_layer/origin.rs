//! Browser origins: the CORS preflight answer and the headers of an allowed origin's response.

use super::*;

/// Refuses a request whose `Origin` is not allowed (`403`), and answers an allowed origin's
/// preflight; a request without an `Origin` (not from a browser) passes.
// An answer, not an error value: it is sent as is, as `screen`'s are.
#[allow(clippy::result_large_err)]
pub(super) fn check(config: &Config, request: &http::request::Parts) -> Result<(), Response<Body>> {
    let Some(origin) = request.headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    if !config.allowed_origins.iter().any(|o| o == origin) {
        config.emit(&SecurityEvent::OriginRefused { origin });
        return Err(error_response(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this Origin is not allowed",
        ));
    }
    if request.method == Method::OPTIONS {
        return Err(preflight());
    }
    Ok(())
}

/// The answer to a CORS preflight from an allowed origin (the origin header is added with the
/// other CORS headers on the way out).
fn preflight() -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, DELETE"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "authorization, content-type, accept, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, last-event-id",
        ),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// CORS headers for a response to an allowed origin: that origin only, never `*`.
pub(super) fn cors_headers(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("mcp-session-id, www-authenticate"),
    );
}
