//! Browser origins: a request whose `Origin` is not allowed is refused (`403`, audited), an
//! allowed origin's preflight is answered, and its responses carry CORS headers naming it
//! (never `*`). A request without an `Origin` (not from a browser) passes untouched.
//!
//! Written here rather than with tower-http's `CorsLayer`, which answers every preflight itself
//! (a refused origin's with a `200` that merely lacks the CORS headers) and lets the refused
//! origin's other requests through: here a refused origin reaches nothing and is audited.

use std::{
    future::Future,
    marker::PhantomData,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use tower::{Layer, Service};

use super::{ClientAddress, error_response, keep_or_close};
use crate::{Security, audit::SecurityEvent};

/// The layer: the origins allowed (`scheme://host[:port]`, compared exactly).
#[derive(Clone)]
pub struct OriginLayer {
    allowed: Arc<[String]>,
    security: Security,
}

impl OriginLayer {
    pub(crate) fn new(allowed: Vec<String>, security: Security) -> Self {
        Self {
            allowed: allowed.into(),
            security,
        }
    }
}

impl OriginLayer {
    /// The same rules, also allowing `origin` (a server's own pages posting to it).
    pub(crate) fn also_allowing(&self, origin: String) -> Self {
        let mut allowed = self.allowed.to_vec();
        if !allowed.contains(&origin) {
            allowed.push(origin);
        }
        Self::new(allowed, self.security.clone())
    }
}

impl<S> Layer<S> for OriginLayer {
    type Service = OriginService<S>;

    fn layer(&self, inner: S) -> OriginService<S> {
        OriginService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`OriginLayer`] wraps around an inner service.
#[derive(Clone)]
pub struct OriginService<S> {
    inner: S,
    layer: OriginLayer,
}

impl<S> Service<Request<Body>> for OriginService<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = OriginFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let Some(origin) = request.headers().get(header::ORIGIN).cloned() else {
            return OriginFuture::passed(self.inner.call(request), None);
        };
        if !self
            .layer
            .allowed
            .iter()
            .any(|a| a.as_bytes() == origin.as_bytes())
        {
            let shown = origin.to_str().unwrap_or("");
            self.layer.security.emit(&SecurityEvent::OriginRefused {
                origin: shown,
                client: ClientAddress::of(request.extensions()),
            });
            let (parts, _body) = request.into_parts();
            let refused = error_response(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this Origin is not allowed",
            );
            return OriginFuture::answered(keep_or_close(&parts, refused));
        }
        if request.method() == Method::OPTIONS {
            let mut answer = preflight();
            cors_headers(answer.headers_mut(), origin);
            return OriginFuture::answered(answer);
        }
        OriginFuture::passed(self.inner.call(request), Some(origin))
    }
}

pin_project_lite::pin_project! {
    /// The response of an [`OriginService`]: its own answer, or the inner service's with the
    /// CORS headers of an allowed origin.
    pub struct OriginFuture<F, E> {
        answer: Option<Response<Body>>,
        #[pin]
        inner: Option<F>,
        origin: Option<HeaderValue>,
        error: PhantomData<fn() -> E>,
    }
}

impl<F, E> OriginFuture<F, E> {
    fn answered(answer: Response<Body>) -> Self {
        Self {
            answer: Some(answer),
            inner: None,
            origin: None,
            error: PhantomData,
        }
    }

    fn passed(inner: F, origin: Option<HeaderValue>) -> Self {
        Self {
            answer: None,
            inner: Some(inner),
            origin,
            error: PhantomData,
        }
    }
}

impl<F, E> Future for OriginFuture<F, E>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(answer) = this.answer.take() {
            return Poll::Ready(Ok(answer));
        }
        let inner = this.inner.as_pin_mut().expect("polled after completion");
        let mut response = ready!(inner.poll(cx))?;
        if let Some(origin) = this.origin.take() {
            cors_headers(response.headers_mut(), origin);
        }
        Poll::Ready(Ok(response))
    }
}

/// The answer to a CORS preflight from an allowed origin.
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
            "authorization, dpop, content-type, accept, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, last-event-id",
        ),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// CORS headers for a response to an allowed origin: that origin only, never `*`.
fn cors_headers(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("mcp-session-id, www-authenticate, dpop-nonce"),
    );
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::{ServiceExt, service_fn};

    use super::*;

    async fn answer(method: Method, origin: Option<&str>) -> Response<Body> {
        let inner = service_fn(|_| async { Ok::<_, Infallible>(Response::new(Body::empty())) });
        let service =
            OriginLayer::new(vec!["https://app.example".into()], Security::default()).layer(inner);
        let mut request = Request::builder().method(method).uri("/mcp");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        service
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn only_an_allowed_origin_passes_and_is_named_never_a_wildcard() {
        let none = answer(Method::POST, None).await;
        assert_eq!(none.status(), 200);
        assert!(
            none.headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none()
        );

        let allowed = answer(Method::POST, Some("https://app.example")).await;
        assert_eq!(allowed.status(), 200);
        assert_eq!(
            allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example"
        );
        assert_eq!(allowed.headers()[header::VARY], "Origin");

        for refused in [
            "https://evil.example",
            "https://app.example.evil.example",
            "HTTPS://APP.EXAMPLE",
            "null",
            "*",
        ] {
            for method in [Method::POST, Method::OPTIONS, Method::GET] {
                let response = answer(method.clone(), Some(refused)).await;
                assert_eq!(response.status(), 403, "{method} {refused}");
                assert!(
                    response
                        .headers()
                        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                        .is_none()
                );
            }
        }

        let preflight = answer(Method::OPTIONS, Some("https://app.example")).await;
        assert_eq!(preflight.status(), 204);
        assert_eq!(
            preflight.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example"
        );
        // A browser client may send a DPoP proof, and read the nonce it is given.
        let allowed = preflight.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
            .to_str()
            .unwrap();
        assert!(allowed.contains("authorization") && allowed.contains("dpop"));
        let answered = answer(Method::POST, Some("https://app.example")).await;
        assert!(
            answered.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
                .to_str()
                .unwrap()
                .contains("dpop-nonce")
        );
    }
}
