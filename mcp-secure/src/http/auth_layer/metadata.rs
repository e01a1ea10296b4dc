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
    let doc = json!({
        "resource": config.resource,
        "authorization_servers": config.authorization_servers,
        "scopes_supported": config.scopes,
        "bearer_methods_supported": ["header"],
    });
    let mut response = Response::new(Body::from(doc.to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
