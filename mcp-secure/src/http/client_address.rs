//! The address of the client a request came from: the connection's peer, or, when the peer is
//! a trusted proxy, the address the proxies forwarded (`Forwarded`, else `X-Forwarded-For`),
//! read from the right and past every trusted hop. Headers from a peer that is not a trusted
//! proxy are ignored: anyone can send them.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    task::{Context, Poll},
};

use axum::extract::ConnectInfo;
use http::{HeaderMap, HeaderName, Request, header};
use ipnet::IpNet;
use tower::{Layer, Service};

/// The client's address, in a request's extensions once [`ClientAddressLayer`] has read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    /// The client address of a request, if a [`ClientAddressLayer`] found one.
    pub fn of(extensions: &http::Extensions) -> Option<IpAddr> {
        extensions.get::<ClientAddress>().map(|c| c.0)
    }
}

/// Puts the [`ClientAddress`] into each request that carries its peer's address (axum's
/// `ConnectInfo<SocketAddr>`, which [`serve`](super::serve) adds).
#[derive(Clone, Default)]
pub struct ClientAddressLayer {
    trusted: Arc<[IpNet]>,
}

impl ClientAddressLayer {
    /// Forwarded addresses are believed only from peers in `trusted` (the proxies in front of
    /// the server, e.g. `10.0.0.0/8`); with none, the peer is the client.
    pub fn new(trusted: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            trusted: trusted.into_iter().collect(),
        }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request from `peer` with these headers.
    fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let hops = forwarded_hops(headers);
        for hop in hops.iter().rev() {
            if !self.trusts(client) {
                break;
            }
            match hop {
                Some(ip) => client = ip.to_canonical(),
                // `unknown`, an obfuscated name or garbage: the last trusted proxy cannot say
                // who sent it the request, so it stands for the client.
                None => break,
            }
        }
        client
    }
}

impl<S> Layer<S> for ClientAddressLayer {
    type Service = ClientAddressService<S>;

    fn layer(&self, inner: S) -> ClientAddressService<S> {
        ClientAddressService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`ClientAddressLayer`] wraps around an inner service.
#[derive(Clone)]
pub struct ClientAddressService<S> {
    inner: S,
    layer: ClientAddressLayer,
}

impl<S, B> Service<Request<B>> for ClientAddressService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> S::Future {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        // Whatever a caller may have smuggled in is never taken for the address.
        request.extensions_mut().remove::<ClientAddress>();
        if let Some(peer) = peer {
            let client = self.layer.client(peer, request.headers());
            request.extensions_mut().insert(ClientAddress(client));
        }
        self.inner.call(request)
    }
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The addresses the proxies recorded, first hop first (`None` for one that is not an
/// address): from `Forwarded` (RFC 7239) when present, else from `X-Forwarded-For`.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    if headers.contains_key(header::FORWARDED) {
        for value in headers.get_all(header::FORWARDED) {
            let Ok(value) = value.to_str() else {
                hops.push(None);
                continue;
            };
            for element in value.split(',') {
                let for_value = element.split(';').find_map(|pair| {
                    let (key, value) = pair.trim().split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("for")
                        .then_some(value.trim())
                });
                hops.push(for_value.and_then(parse_node));
            }
        }
    } else {
        for value in headers.get_all(X_FORWARDED_FOR) {
            let Ok(value) = value.to_str() else {
                hops.push(None);
                continue;
            };
            hops.extend(value.split(',').map(|v| parse_node(v.trim())));
        }
    }
    hops
}

/// A node as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`, quoted or not; anything else (`unknown`, `_hidden`) is `None`.
fn parse_node(value: &str) -> Option<IpAddr> {
    let value = value.trim_matches('"');
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = value.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let v6 = value.strip_prefix('[')?.split(']').next()?;
    v6.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(trusted: &[&str], peer: &str, headers: &[(&str, &str)]) -> IpAddr {
        let layer = ClientAddressLayer::new(trusted.iter().map(|t| t.parse::<IpNet>().unwrap()));
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        layer.client(peer.parse().unwrap(), &map)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Without trusted proxies, or from a peer that is not one, the headers are ignored.
    #[test]
    fn forwarded_headers_from_anyone_else_are_ignored() {
        let spoof = [("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=1.2.3.4")];
        assert_eq!(client(&[], "203.0.113.9", &spoof), ip("203.0.113.9"));
        assert_eq!(
            client(&["10.0.0.0/8"], "203.0.113.9", &spoof),
            ip("203.0.113.9")
        );
    }

    /// From a trusted proxy, the rightmost address that is not a trusted proxy; what the
    /// client wrote itself, to the left, is never reached.
    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right() {
        let trusted = ["10.0.0.0/8", "192.168.1.1/32"];
        for (headers, expected) in [
            (vec![("x-forwarded-for", "198.51.100.7")], "198.51.100.7"),
            (
                vec![("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")],
                "198.51.100.7",
            ),
            (
                vec![
                    ("x-forwarded-for", "6.6.6.6"),
                    ("x-forwarded-for", "198.51.100.7"),
                ],
                "198.51.100.7",
            ),
            (
                vec![(
                    "forwarded",
                    "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https",
                )],
                "2001:db8::7",
            ),
            (
                vec![("Forwarded", "For=\"198.51.100.7:1234\";by=10.0.0.1")],
                "198.51.100.7",
            ),
            // `Forwarded` wins over `X-Forwarded-For`.
            (
                vec![
                    ("x-forwarded-for", "6.6.6.6"),
                    ("forwarded", "for=198.51.100.7"),
                ],
                "198.51.100.7",
            ),
            (vec![("x-forwarded-for", "198.51.100.7:80")], "198.51.100.7"),
            (
                vec![("x-forwarded-for", "::ffff:198.51.100.7")],
                "198.51.100.7",
            ),
            // The proxy does not know: it stands for the client.
            (vec![("forwarded", "for=unknown")], "10.0.0.2"),
            (vec![("x-forwarded-for", "6.6.6.6, garbage")], "10.0.0.2"),
            (
                vec![("x-forwarded-for", "10.9.9.9, 192.168.1.1")],
                "10.9.9.9",
            ),
            // No header: the proxy itself.
            (vec![], "10.0.0.2"),
        ] {
            assert_eq!(
                client(&trusted, "10.0.0.2", &headers),
                ip(expected),
                "{headers:?}"
            );
        }
        // A peer on an IPv4-mapped IPv6 address is the IPv4 address, trusted or not.
        assert_eq!(
            client(
                &trusted,
                "::ffff:10.0.0.2",
                &[("x-forwarded-for", "198.51.100.7")]
            ),
            ip("198.51.100.7")
        );
    }

    #[tokio::test]
    async fn the_layer_replaces_any_address_already_in_the_request() {
        use tower::{ServiceExt, service_fn};
        let service = ClientAddressLayer::new(["10.0.0.0/8".parse().unwrap()]).layer(service_fn(
            |request: Request<()>| async move {
                Ok::<_, std::convert::Infallible>(ClientAddress::of(request.extensions()))
            },
        ));
        let mut request = Request::new(());
        request
            .extensions_mut()
            .insert(ClientAddress(ip("1.1.1.1")));
        assert_eq!(service.clone().oneshot(request).await.unwrap(), None);
        let mut request = Request::new(());
        request.extensions_mut().insert(ConnectInfo(
            "203.0.113.9:5000".parse::<SocketAddr>().unwrap(),
        ));
        assert_eq!(
            service.oneshot(request).await.unwrap(),
            Some(ip("203.0.113.9"))
        );
    }
}
