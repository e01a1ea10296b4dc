//! Protected resource metadata (RFC 9728): served at `/.well-known/oauth-protected-resource`
//! and at its path-aware variant for the resource's path, without authentication.

use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use futures_util::future::{Either, Ready, ready};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::json;
use tower::{Layer, Service};

use super::error_response;

/// Where the metadata is served, before the resource's path.
pub(crate) const PRM_PATH: &str = "/.well-known/oauth-protected-resource";

/// The layer: the metadata document, written once.
#[derive(Clone)]
pub struct MetadataLayer {
    document: Bytes,
    /// The path-aware variant (`/.well-known/oauth-protected-resource/mcp`).
    path: String,
}

impl MetadataLayer {
    /// The metadata of `resource` (whose path is `path`), listing `scopes`, when there are
    /// any, the authorization servers to get tokens from, and `extra` members (DPoP's).
    pub(crate) fn new(
        resource: &str,
        path: &str,
        scopes: &[String],
        authorization_servers: &[String],
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        let mut doc = json!({
            "resource": resource,
            "scopes_supported": scopes,
            "bearer_methods_supported": ["header"],
        });
        for (name, value) in extra {
            doc[name] = value;
        }
        // Named only when there is one (RFC 9728 makes the member optional): an empty list
        // would send an OAuth client looking for a server that does not exist.
        if !authorization_servers.is_empty() {
            doc["authorization_servers"] = json!(authorization_servers);
        }
        Self {
            document: Bytes::from(doc.to_string()),
            path: format!("{PRM_PATH}{}", path.trim_end_matches('/')),
        }
    }
}

impl<S> Layer<S> for MetadataLayer {
    type Service = MetadataService<S>;

    fn layer(&self, inner: S) -> MetadataService<S> {
        MetadataService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`MetadataLayer`] wraps around an inner service.
#[derive(Clone)]
pub struct MetadataService<S> {
    inner: S,
    layer: MetadataLayer,
}

impl<S> Service<Request<Body>> for MetadataService<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response<Body>, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let path = request.uri().path();
        if path != PRM_PATH && path != self.layer.path {
            return Either::Right(self.inner.call(request));
        }
        let method = request.method();
        let response = if method == Method::GET || method == Method::HEAD {
            let mut response = Response::new(Body::from(self.layer.document.clone()));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        } else {
            error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "use GET",
            )
        };
        Either::Left(ready(Ok(response)))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http_body_util::BodyExt;
    use tower::{ServiceExt, service_fn};

    use super::*;

    #[tokio::test]
    async fn the_metadata_is_served_at_both_paths_and_nothing_else_is_touched() {
        let inner = service_fn(|_| async {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::IM_A_TEAPOT;
            Ok::<_, Infallible>(response)
        });
        let service = MetadataLayer::new(
            "https://mcp.example.com/mcp",
            "/mcp/",
            &["notes:read".into()],
            &[],
            serde_json::Map::new(),
        )
        .layer(inner);
        let get = |method: Method, path: &str| {
            service.clone().oneshot(
                Request::builder()
                    .method(method)
                    .uri(path)
                    .body(Body::empty())
                    .unwrap(),
            )
        };
        for path in [PRM_PATH, "/.well-known/oauth-protected-resource/mcp"] {
            let response = get(Method::GET, path).await.unwrap();
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(doc["resource"], "https://mcp.example.com/mcp");
            assert_eq!(doc["scopes_supported"], json!(["notes:read"]));
            // No authorization server named: none is listed, rather than a dead end.
            assert!(doc.get("authorization_servers").is_none());
            assert_eq!(get(Method::POST, path).await.unwrap().status(), 405);
        }
        for path in ["/mcp", "/.well-known/oauth-protected-resource/other", "/"] {
            assert_eq!(get(Method::GET, path).await.unwrap().status(), 418);
        }
    }
}
