//! The security headers every response carries, refusals included: tower-http's
//! `SetResponseHeaderLayer`, one per header (its multiple-header layer clones a list of boxed
//! values per request; these clone a `HeaderValue` each, which costs nothing for a static one).

use http::{HeaderValue, header};
use tower::{Layer, ServiceBuilder};
use tower_http::set_header::{SetResponseHeader, SetResponseHeaderLayer};

type Set<S> = SetResponseHeader<S, Option<HeaderValue>>;

/// The service [`SecurityHeadersLayer`] wraps around an inner service.
pub type SecurityHeaders<S> = Set<Set<Set<Set<Set<Set<S>>>>>>;

/// Sets `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, a `Content-Security-Policy`
/// that allows nothing, `Referrer-Policy: no-referrer`, `Cache-Control: no-store` and, when
/// asked, `Strict-Transport-Security`, replacing what the inner service set.
#[derive(Clone, Copy, Debug, Default)]
pub struct SecurityHeadersLayer {
    hsts: bool,
}

impl SecurityHeadersLayer {
    /// The headers, with `Strict-Transport-Security` when `hsts` (for servers behind TLS).
    pub fn new(hsts: bool) -> Self {
        Self { hsts }
    }
}

fn set(
    name: header::HeaderName,
    value: Option<&'static str>,
) -> SetResponseHeaderLayer<Option<HeaderValue>> {
    SetResponseHeaderLayer::overriding(name, value.map(HeaderValue::from_static))
}

impl<S> Layer<S> for SecurityHeadersLayer {
    type Service = SecurityHeaders<S>;

    fn layer(&self, inner: S) -> SecurityHeaders<S> {
        ServiceBuilder::new()
            .layer(set(header::X_CONTENT_TYPE_OPTIONS, Some("nosniff")))
            .layer(set(header::X_FRAME_OPTIONS, Some("DENY")))
            .layer(set(
                header::CONTENT_SECURITY_POLICY,
                Some("default-src 'none'; frame-ancestors 'none'"),
            ))
            .layer(set(header::REFERRER_POLICY, Some("no-referrer")))
            .layer(set(header::CACHE_CONTROL, Some("no-store")))
            .layer(set(
                header::STRICT_TRANSPORT_SECURITY,
                self.hsts.then_some("max-age=63072000; includeSubDomains"),
            ))
            .service(inner)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use axum::body::Body;
    use http::{Request, Response};
    use tower::{ServiceExt, service_fn};

    use super::*;

    async fn headers(hsts: bool) -> http::HeaderMap {
        let inner = service_fn(|_| async {
            let mut response = Response::new(Body::empty());
            // What the inner service set is replaced: a cacheable answer is not cached.
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("public"));
            Ok::<_, Infallible>(response)
        });
        SecurityHeadersLayer::new(hsts)
            .layer(inner)
            .oneshot(Request::new(Body::empty()))
            .await
            .unwrap()
            .headers()
            .clone()
    }

    #[tokio::test]
    async fn every_response_carries_them_and_hsts_only_when_asked() {
        let plain = headers(false).await;
        assert_eq!(plain[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(plain[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(
            plain[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'; frame-ancestors 'none'"
        );
        assert_eq!(plain[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(plain.get_all(header::CACHE_CONTROL).iter().count(), 1);
        assert_eq!(plain[header::CACHE_CONTROL], "no-store");
        assert!(plain.get(header::STRICT_TRANSPORT_SECURITY).is_none());
        let tls = headers(true).await;
        assert_eq!(
            tls[header::STRICT_TRANSPORT_SECURITY],
            "max-age=63072000; includeSubDomains"
        );
    }
}
