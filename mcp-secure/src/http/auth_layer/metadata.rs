//! Protected resource metadata (RFC 9728): where it is served and what it says.

use super::*;

pub(super) const PRM_PATH: &str = "/.well-known/oauth-protected-resource";

pub(super) fn metadata(config: &Config, method: &Method) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        return error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "use GET",
        );
    }
    let mut doc = json!({
        "resource": config.resource,
        "scopes_supported": config.scopes,
        "bearer_methods_supported": ["header"],
    });
    // Named only when there is one (RFC 9728 makes the member optional): an empty list would
    // send an OAuth client looking for a server that does not exist.
    if !config.authorization_servers.is_empty() {
        doc["authorization_servers"] = json!(config.authorization_servers);
    }
    let mut response = Response::new(Body::from(doc.to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
