//! `Host` names: a request is served only under a name the server answers to (DNS rebinding,
//! and a request meant for another virtual host). Checked here only: rmcp's own host check is
//! turned off by [`Endpoint`](super::Endpoint), so that one list decides.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use axum::body::Body;
use futures_util::future::{Either, Ready, ready};
use http::{Request, Response, StatusCode, header};
use tower::{Layer, Service};

use super::{ClientAddress, error_response, keep_or_close};
use crate::{Security, audit::SecurityEvent};

/// The names a server answers to: a name with an optional port (`mcp.example.com`,
/// `10.0.0.5:8080`); a name without a port matches any port. Names compare without case.
#[derive(Debug, Clone, Default)]
pub(crate) struct AllowedHosts(Vec<(String, Option<u16>)>);

impl AllowedHosts {
    /// The resource URL's host (and the loopback names, for a loopback resource) and `more`.
    /// A name that does not parse as `host[:port]` is returned as the error.
    pub(crate) fn new<'a>(
        resource: &url::Url,
        more: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, String> {
        let mut hosts = AllowedHosts::default();
        if let Some(host) = resource.host_str() {
            let host = unbracket(host);
            hosts.0.push((host.to_ascii_lowercase(), None));
            if is_loopback_host(host) {
                hosts.add_loopback_names();
            }
        }
        hosts.add(more)?;
        Ok(hosts)
    }

    /// The loopback names and `more`, for a listener of its own that local clients reach (the
    /// metrics): a page that rebinds its own name to this machine still names itself.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn loopback<'a>(more: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut hosts = AllowedHosts::default();
        hosts.add_loopback_names();
        hosts.add(more)?;
        Ok(hosts)
    }

    fn add_loopback_names(&mut self) {
        for name in ["localhost", "127.0.0.1", "::1"] {
            self.0.push((name.to_owned(), None));
        }
    }

    fn add<'a>(&mut self, more: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
        for entry in more {
            let authority = parse_authority(entry).ok_or_else(|| entry.to_owned())?;
            self.0.push(authority);
        }
        Ok(())
    }

    fn allows(&self, name: &str, port: Option<u16>) -> bool {
        self.0.iter().any(|(allowed, allowed_port)| {
            allowed.eq_ignore_ascii_case(name) && allowed_port.is_none_or(|p| Some(p) == port)
        })
    }
}

/// `name[:port]` or `[v6][:port]`, the name unbracketed; `None` when it is not one (an empty
/// name, a bad port, anything after the port, a user part). Borrowed: read on every request.
fn split_authority(value: &str) -> Option<(&str, Option<u16>)> {
    let value = value.trim();
    let (name, port) = match value.strip_prefix('[') {
        Some(v6) => {
            let (name, rest) = v6.split_once(']')?;
            name.parse::<std::net::Ipv6Addr>().ok()?;
            (name, rest)
        }
        None => value.split_at(value.find(':').unwrap_or(value.len())),
    };
    let port = match port {
        "" => None,
        port => Some(port.strip_prefix(':')?.parse::<u16>().ok()?),
    };
    let name_ok = !name.is_empty()
        && (value.starts_with('[')
            || name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_'));
    name_ok.then_some((name, port))
}

/// [`split_authority`], owned and lower-cased, for the configured names.
fn parse_authority(value: &str) -> Option<(String, Option<u16>)> {
    split_authority(value).map(|(name, port)| (name.to_ascii_lowercase(), port))
}

fn unbracket(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}

/// `localhost`, `127.0.0.1` (any `127.x`), `::1`/`[::1]`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = unbracket(host);
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why a request's host was refused.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// No `Host` and no authority in the target.
    Missing,
    /// More than one `Host`, or a `Host` and an authority that disagree, or one that does not
    /// parse: which one the server behind would read is not knowable.
    Ambiguous,
    /// A name the server does not answer to.
    NotAllowed,
}

/// The one host a request names, from its `Host` headers and its target's authority (HTTP/2's
/// `:authority`), all of which must agree.
fn requested_host(request: &http::request::Parts) -> Result<(&str, Option<u16>), Refusal> {
    let mut hosts = request.headers.get_all(header::HOST).iter();
    let from_header = match (hosts.next(), hosts.next()) {
        (None, _) => None,
        (Some(one), None) => Some(
            one.to_str()
                .ok()
                .and_then(split_authority)
                .ok_or(Refusal::Ambiguous)?,
        ),
        (Some(_), Some(_)) => return Err(Refusal::Ambiguous),
    };
    let from_target = match request.uri.authority() {
        Some(authority) => Some(split_authority(authority.as_str()).ok_or(Refusal::Ambiguous)?),
        None => None,
    };
    match (from_header, from_target) {
        (Some((a, a_port)), Some((b, b_port)))
            if !a.eq_ignore_ascii_case(b) || a_port != b_port =>
        {
            Err(Refusal::Ambiguous)
        }
        (Some(host), _) | (None, Some(host)) => Ok(host),
        (None, None) => Err(Refusal::Missing),
    }
}

/// Refuses a request whose host is not allowed (`403`), or that names none or several (`400`).
#[derive(Clone)]
pub struct HostLayer {
    allowed: Arc<AllowedHosts>,
    security: Security,
}

impl HostLayer {
    pub(crate) fn new(allowed: AllowedHosts, security: Security) -> Self {
        Self {
            allowed: Arc::new(allowed),
            security,
        }
    }
}

impl<S> Layer<S> for HostLayer {
    type Service = HostService<S>;

    fn layer(&self, inner: S) -> HostService<S> {
        HostService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`HostLayer`] wraps around an inner service.
#[derive(Clone)]
pub struct HostService<S> {
    inner: S,
    layer: HostLayer,
}

impl<S> Service<Request<Body>> for HostService<S>
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
        let (parts, body) = request.into_parts();
        let refusal = match requested_host(&parts) {
            Ok((name, port)) if self.layer.allowed.allows(name, port) => None,
            Ok((name, _)) => {
                self.layer.security.emit(&SecurityEvent::HostRefused {
                    host: name,
                    client: ClientAddress::of(&parts.extensions),
                });
                Some(Refusal::NotAllowed)
            }
            Err(refusal) => {
                self.layer.security.emit(&SecurityEvent::HostRefused {
                    host: "",
                    client: ClientAddress::of(&parts.extensions),
                });
                Some(refusal)
            }
        };
        let response = match refusal {
            None => return Either::Right(self.inner.call(Request::from_parts(parts, body))),
            Some(Refusal::NotAllowed) => error_response(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this server does not answer to this Host",
            ),
            Some(Refusal::Missing | Refusal::Ambiguous) => error_response(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "send exactly one Host header, naming the server",
            ),
        };
        Either::Left(ready(Ok(keep_or_close(&parts, response))))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::{ServiceExt, service_fn};

    use super::*;

    fn service(
        resource: &str,
        more: &[&str],
    ) -> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone {
        let allowed =
            AllowedHosts::new(&url::Url::parse(resource).unwrap(), more.iter().copied()).unwrap();
        HostLayer::new(allowed, Security::default()).layer(service_fn(|_| async {
            Ok::<_, Infallible>(Response::new(Body::empty()))
        }))
    }

    async fn status(
        service: &(impl Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone),
        target: &str,
        hosts: &[&str],
    ) -> u16 {
        let mut request = Request::get(target);
        for host in hosts {
            request = request.header(header::HOST, *host);
        }
        let response = service
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        response.status().as_u16()
    }

    /// The resource's host, a listed one, and nothing else; one `Host` only, agreeing with the
    /// target's authority.
    #[tokio::test]
    async fn only_the_resource_host_and_listed_hosts_are_served() {
        let public = service("https://mcp.example.com/mcp", &["10.0.0.5:8080", "health"]);
        for (hosts, status_code) in [
            (&["mcp.example.com"][..], 200),
            (&["MCP.Example.COM:443"], 200),
            (&["10.0.0.5:8080"], 200),
            (&["10.0.0.5:9090"], 403),
            (&["10.0.0.5"], 403),
            (&["health:1"], 200),
            (&["evil.example"], 403),
            (&["mcp.example.com.evil.example"], 403),
            (&["mcp.example.com@evil.example"], 400),
            (&["mcp.example.com/x"], 400),
            (&["mcp.example.com", "mcp.example.com"], 400),
            (&["mcp.example.com", "evil.example"], 400),
            (&["evil.example", "mcp.example.com"], 400),
            (&[""], 400),
            (&[], 400),
            (&["127.0.0.1"], 403),
        ] {
            assert_eq!(
                status(&public, "/mcp", hosts).await,
                status_code,
                "{hosts:?}"
            );
        }
        // HTTP/2's `:authority` (the target's authority) counts as a Host, and must agree.
        assert_eq!(
            status(&public, "https://mcp.example.com/mcp", &[]).await,
            200
        );
        assert_eq!(status(&public, "https://evil.example/mcp", &[]).await, 403);
        assert_eq!(
            status(&public, "https://evil.example/mcp", &["mcp.example.com"]).await,
            400
        );
        assert_eq!(
            status(&public, "https://mcp.example.com/mcp", &["mcp.example.com"]).await,
            200
        );
    }

    #[tokio::test]
    async fn a_loopback_resource_answers_loopback_names_only() {
        let local = service("http://127.0.0.1:8787/mcp", &[]);
        for (host, status_code) in [
            ("127.0.0.1:8787", 200),
            ("localhost:8787", 200),
            ("[::1]:8787", 200),
            ("LOCALHOST", 200),
            ("127.0.0.2", 403),
            ("attacker.example:8787", 403),
        ] {
            assert_eq!(status(&local, "/mcp", &[host]).await, status_code, "{host}");
        }
    }

    #[test]
    fn a_listed_host_must_be_a_host() {
        let resource = url::Url::parse("https://mcp.example.com/mcp").unwrap();
        for bad in [
            "",
            "a b",
            "user@host",
            "host:port",
            "host:",
            "host:99999",
            "host/path",
        ] {
            assert_eq!(
                AllowedHosts::new(&resource, [bad]).unwrap_err(),
                bad,
                "{bad:?}"
            );
        }
        assert!(AllowedHosts::new(&resource, ["[::1]:80", "Mixed.Case"]).is_ok());
    }
}
