//! The address of the client a request came from: the connection's peer, or, when the peer is
//! a trusted proxy, the address the proxies recorded in the one header the operator says they
//! write ([`ForwardedHeader`]), read from the right and past every trusted hop.
//!
//! Every other forwarding header is ignored, and so is every header from a peer that is not a
//! trusted proxy: anyone can send them, and proxies pass the ones they do not write through
//! untouched (nginx, HAProxy and cloud load balancers append to `X-Forwarded-For` and forward a
//! client's own `Forwarded` or `X-Real-IP` as it came).

use std::{
    net::{IpAddr, Ipv6Addr, SocketAddr},
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

/// The one header the trusted proxies write the client's address into. Only it is read; a
/// proxy passes the others through as the client sent them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`: what nginx
    /// (`proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for`), HAProxy
    /// (`option forwardfor`) and cloud load balancers append to.
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239), for proxies configured to append it
    /// (e.g. Envoy, or nginx with a `proxy_set_header Forwarded` of its own). Only its `for`
    /// parameters are read.
    Forwarded,
}

impl ForwardedHeader {
    /// The header's name.
    pub fn name(self) -> HeaderName {
        match self {
            ForwardedHeader::XForwardedFor => HeaderName::from_static("x-forwarded-for"),
            ForwardedHeader::Forwarded => header::FORWARDED,
        }
    }

    /// The address one list element names, or `None` when it names none (`unknown`, an
    /// obfuscated identifier such as `_hidden`, or anything malformed).
    fn node(self, element: &[u8]) -> Option<IpAddr> {
        match self {
            ForwardedHeader::XForwardedFor => parse_node(element),
            ForwardedHeader::Forwarded => {
                // Exactly one `for` per element (RFC 7239 §4: a parameter occurs once).
                let mut values = element.split(|&b| b == b';').filter_map(|pair| {
                    let eq = pair.iter().position(|&b| b == b'=')?;
                    let (key, value) = (&pair[..eq], &pair[eq + 1..]);
                    key.trim_ascii()
                        .eq_ignore_ascii_case(b"for")
                        .then_some(value)
                });
                match (values.next(), values.next()) {
                    (Some(value), None) => parse_node(value),
                    _ => None,
                }
            }
        }
    }
}

impl std::str::FromStr for ForwardedHeader {
    type Err = UnknownForwardedHeader;

    /// `x-forwarded-for` or `forwarded`, in any case.
    fn from_str(name: &str) -> Result<Self, UnknownForwardedHeader> {
        [ForwardedHeader::XForwardedFor, ForwardedHeader::Forwarded]
            .into_iter()
            .find(|h| h.name().as_str().eq_ignore_ascii_case(name))
            .ok_or(UnknownForwardedHeader)
    }
}

/// A header name that is not one [`ForwardedHeader`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownForwardedHeader;

impl std::fmt::Display for UnknownForwardedHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the forwarded header is `x-forwarded-for` or `forwarded`")
    }
}

impl std::error::Error for UnknownForwardedHeader {}

/// Puts the [`ClientAddress`] into each request that carries its peer's address (axum's
/// `ConnectInfo<SocketAddr>`, which [`serve`](super::serve) adds).
#[derive(Clone, Default)]
pub struct ClientAddressLayer {
    trusted: Arc<[IpNet]>,
    header: ForwardedHeader,
}

impl ClientAddressLayer {
    /// Forwarded addresses are believed only from peers in `trusted` (the proxies in front of
    /// the server, e.g. `10.0.0.0/8`), and only from `header`, the one those proxies write;
    /// with no trusted proxy, the peer is the client.
    pub fn new(trusted: impl IntoIterator<Item = IpNet>, header: ForwardedHeader) -> Self {
        Self {
            trusted: trusted.into_iter().collect(),
            header,
        }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request from `peer` with these headers: walking from the right, each
    /// hop a trusted proxy recorded is believed while the one that recorded it is trusted.
    fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        // Several lines of the header are one list, in order (RFC 9110 §5.3). Split on bytes,
        // not on text: a client's non-ASCII byte, which nginx copies into the line it appends
        // to, must not make the proxy's own entry unreadable.
        let hops = headers
            .get_all(self.header.name())
            .iter()
            .rev()
            .flat_map(|line| line.as_bytes().rsplit(|&b| b == b','))
            // Empty list elements do not count (RFC 9110 §5.6.1).
            .filter(|element| !element.trim_ascii().is_empty());
        for element in hops {
            if !self.trusts(client) {
                break;
            }
            match self.header.node(element) {
                Some(ip) => client = ip.to_canonical(),
                // `unknown`, an obfuscated name or garbage, written by a trusted proxy (nothing
                // else is read): it cannot say who sent it the request, so it stands for the
                // client.
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

/// A node as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711`, quoted or not; anything else (`unknown`, `_hidden`) is `None`. None of
/// these contains `,`, `;` or an inner `"`, so splitting a line on them never cuts through an
/// entry a proxy wrote, whatever a client put before it.
fn parse_node(value: &[u8]) -> Option<IpAddr> {
    let value = std::str::from_utf8(value.trim_ascii()).ok()?;
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = value.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let v6 = value.strip_prefix('[')?.strip_suffix(']')?;
    v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}
#[cfg(test)]
mod tests {
    use super::*;

    fn client_by(
        header: ForwardedHeader,
        trusted: &[&str],
        peer: &str,
        headers: &[(&str, &[u8])],
    ) -> IpAddr {
        let layer =
            ClientAddressLayer::new(trusted.iter().map(|t| t.parse::<IpNet>().unwrap()), header);
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(value).unwrap(),
            );
        }
        layer.client(peer.parse().unwrap(), &map)
    }

    fn client(trusted: &[&str], peer: &str, headers: &[(&str, &str)]) -> IpAddr {
        let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
        client_by(ForwardedHeader::XForwardedFor, trusted, peer, &headers)
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

    /// A trusted proxy that appends to `X-Forwarded-For` passes a client's own `Forwarded`,
    /// `X-Real-IP` and the like through: none of them is read, whatever it says.
    #[test]
    fn only_the_header_the_proxies_write_is_read() {
        let trusted = ["10.0.0.0/8"];
        let behind_nginx = [
            ("forwarded", "for=6.6.6.6"),
            ("forwarded", "for=\"[2001:db8::6]\""),
            ("x-real-ip", "6.6.6.6"),
            ("x-client-ip", "6.6.6.6"),
            ("true-client-ip", "6.6.6.6"),
            ("cf-connecting-ip", "6.6.6.6"),
            ("x-forwarded-for", "198.51.100.7"),
        ];
        assert_eq!(
            client(&trusted, "10.0.0.2", &behind_nginx),
            ip("198.51.100.7")
        );
        // Without the chosen header, the proxy itself, never another header's claim.
        assert_eq!(
            client(&trusted, "10.0.0.2", &behind_nginx[..6]),
            ip("10.0.0.2")
        );
        // With `Forwarded` chosen, `X-Forwarded-For` is the header passed through.
        let behind_envoy: [(&str, &[u8]); 3] = [
            ("x-forwarded-for", b"6.6.6.6"),
            ("x-real-ip", b"6.6.6.6"),
            ("forwarded", b"for=198.51.100.7;proto=https"),
        ];
        assert_eq!(
            client_by(
                ForwardedHeader::Forwarded,
                &trusted,
                "10.0.0.2",
                &behind_envoy
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_by(
                ForwardedHeader::Forwarded,
                &trusted,
                "10.0.0.2",
                &behind_envoy[..2]
            ),
            ip("10.0.0.2")
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
            // Several lines are one list, in order.
            (
                vec![
                    ("x-forwarded-for", "6.6.6.6"),
                    ("x-forwarded-for", "198.51.100.7"),
                ],
                "198.51.100.7",
            ),
            (
                vec![
                    ("x-forwarded-for", "6.6.6.6, 198.51.100.7"),
                    ("x-forwarded-for", "10.1.1.1"),
                ],
                "198.51.100.7",
            ),
            // Empty elements are no hop; ports and brackets are the address.
            (
                vec![("x-forwarded-for", "6.6.6.6,, 198.51.100.7 ,")],
                "198.51.100.7",
            ),
            (vec![("x-forwarded-for", "198.51.100.7:80")], "198.51.100.7"),
            (
                vec![("x-forwarded-for", "[2001:db8::7]:443")],
                "2001:db8::7",
            ),
            (vec![("x-forwarded-for", "[2001:db8::7]")], "2001:db8::7"),
            (vec![("x-forwarded-for", "2001:db8::7")], "2001:db8::7"),
            (
                vec![("x-forwarded-for", "::ffff:198.51.100.7")],
                "198.51.100.7",
            ),
            // A client's garbage to the left is never reached...
            (
                vec![("x-forwarded-for", "\"1.2.3.4, for=;\", 198.51.100.7")],
                "198.51.100.7",
            ),
            // ...and a trusted proxy's `unknown` or garbage makes the proxy the client.
            (vec![("x-forwarded-for", "6.6.6.6, garbage")], "10.0.0.2"),
            (vec![("x-forwarded-for", "6.6.6.6, unknown")], "10.0.0.2"),
            (vec![("x-forwarded-for", "[2001:db8::7]x")], "10.0.0.2"),
            (vec![("x-forwarded-for", "198.51.100.7:99999")], "10.0.0.2"),
            (vec![("x-forwarded-for", "010.1.1.1")], "10.0.0.2"),
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

    /// nginx copies a client's `X-Forwarded-For` bytes, non-ASCII included, into the line it
    /// appends to: the line is not text, and the proxy's entry is still read.
    #[test]
    fn a_client_byte_that_is_not_text_does_not_hide_the_proxys_entry() {
        let line: &[u8] = b"6.6.6.\xff6, 198.51.100.7";
        assert_eq!(
            client_by(
                ForwardedHeader::XForwardedFor,
                &["10.0.0.0/8"],
                "10.0.0.2",
                &[("x-forwarded-for", line)]
            ),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn forwarded_elements_are_read_by_their_one_for_parameter() {
        let trusted = ["10.0.0.0/8"];
        for (value, expected) in [
            (
                "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https",
                "2001:db8::7",
            ),
            ("For=\"198.51.100.7:1234\";by=10.0.0.1", "198.51.100.7"),
            ("proto=https; for = 198.51.100.7 ", "198.51.100.7"),
            ("for=\"198.51.100.7\"", "198.51.100.7"),
            // A client's unbalanced quote stays in its own element.
            ("for=\"6.6.6.6, for=198.51.100.7", "198.51.100.7"),
            // The proxy does not know, hides it, or wrote no single `for`: the proxy.
            ("for=unknown", "10.0.0.2"),
            ("for=_hidden", "10.0.0.2"),
            ("for=\"_hidden\"", "10.0.0.2"),
            ("by=10.0.0.1", "10.0.0.2"),
            ("for=6.6.6.6;for=198.51.100.7", "10.0.0.2"),
            ("for=\"198.51.100.7", "10.0.0.2"),
            ("for=198.51.100.7:80", "198.51.100.7"),
            ("for=\"10.1.1.1\", for=10.2.2.2", "10.1.1.1"),
        ] {
            assert_eq!(
                client_by(
                    ForwardedHeader::Forwarded,
                    &trusted,
                    "10.0.0.2",
                    &[("forwarded", value.as_bytes())]
                ),
                ip(expected),
                "{value}"
            );
        }
    }

    #[test]
    fn the_header_is_named_by_its_name() {
        assert_eq!(
            "X-Forwarded-For".parse::<ForwardedHeader>(),
            Ok(ForwardedHeader::XForwardedFor)
        );
        assert_eq!(
            "forwarded".parse::<ForwardedHeader>(),
            Ok(ForwardedHeader::Forwarded)
        );
        assert_eq!(
            "x-real-ip".parse::<ForwardedHeader>(),
            Err(UnknownForwardedHeader)
        );
        assert_eq!(ForwardedHeader::default(), ForwardedHeader::XForwardedFor);
    }

    #[tokio::test]
    async fn the_layer_replaces_any_address_already_in_the_request() {
        use tower::{ServiceExt, service_fn};
        let service = ClientAddressLayer::new(
            ["10.0.0.0/8".parse().unwrap()],
            ForwardedHeader::XForwardedFor,
        )
        .layer(service_fn(|request: Request<()>| async move {
            Ok::<_, std::convert::Infallible>(ClientAddress::of(request.extensions()))
        }));
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
