//! Bounded HTTP fetches of what others publish (an issuer's keys and metadata, a client's
//! metadata document, an introspection answer): 5 s per request, no redirects (a redirect could
//! take the fetch to a host nobody named), no proxy from the environment, the body refused past
//! a cap before more is read, and only to addresses the [`FetchPolicy`] allows.
//!
//! The policy is checked on the addresses connected to, not on the URL's text: a host name is
//! resolved by a resolver that passes on only the allowed addresses of its answer, and
//! an IP address in the URL (which the HTTP client connects to without resolving) is checked
//! before the request is sent. A name that resolves to loopback, a private network or a cloud
//! metadata address is therefore refused however it is spelled, and a name whose answer
//! changes between a check and the connection (DNS rebinding) cannot pass: the addresses
//! checked are the ones connected to.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    sync::Arc,
    time::Duration,
};

pub use ipnet::IpNet;

/// Which addresses this server's own fetches (JWKS, issuer metadata, introspection, client
/// metadata documents) may connect to.
///
/// By default ([`FetchPolicy::default`]) only public addresses: an address that
/// [`is_private_ip`](crate::validate::rules::is_private_ip) calls loopback, private, link-local,
/// shared (CGNAT), unspecified, documentation, reserved or multicast, also in its IPv4-mapped,
/// IPv4-compatible or NAT64 form, is refused when a fetch would connect to it. An operator whose
/// authorization server is on a private network names that network:
///
/// ```
/// use mcp_secure::fetch::FetchPolicy;
/// let policy = FetchPolicy::default().allow_network("10.20.0.0/16".parse().unwrap());
/// assert!(policy.allows("10.20.3.4".parse().unwrap()));
/// assert!(!policy.allows("10.21.0.1".parse().unwrap()));
/// assert!(!policy.allows("169.254.169.254".parse().unwrap()));
/// assert!(policy.allows("93.184.215.14".parse().unwrap()));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchPolicy {
    allowed: Vec<IpNet>,
}

impl FetchPolicy {
    /// Also allows the addresses of `network` (e.g. `10.20.0.0/16`, or `127.0.0.1/32` for an
    /// identity provider on this machine). IPv4-mapped IPv6 addresses count as their IPv4
    /// address.
    pub fn allow_network(mut self, network: IpNet) -> Self {
        self.allowed.push(network.trunc());
        self
    }

    /// Also allows loopback (`127.0.0.0/8` and `::1`): a development identity provider, or
    /// client metadata documents served on this machine.
    pub fn allow_loopback(self) -> Self {
        self.allow_network(IpNet::new_assert(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
            8,
        ))
        .allow_network(IpNet::new_assert(IpAddr::V6(Ipv6Addr::LOCALHOST), 128))
    }

    /// The networks allowed besides the public addresses.
    pub fn allowed_networks(&self) -> &[IpNet] {
        &self.allowed
    }

    /// Whether a fetch may connect to `ip`: a public address, or one in an allowed network.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        !crate::validate::rules::is_private_ip(ip) || self.allowed.iter().any(|n| n.contains(&ip))
    }
}

/// A fetch the [`FetchPolicy`] refused: where it would have connected is not a public address
/// nor in an allowed network. Which address is not said: that is the server's business.
#[derive(Debug)]
pub(crate) struct Refused;

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "its host is a loopback, private, link-local or otherwise non-public address, which this server does not fetch from",
        )
    }
}

impl std::error::Error for Refused {}

/// Resolves host names with the system's resolver and hands the connector only the addresses
/// the policy allows (`localhost` may answer `::1` and `127.0.0.1` while only one is allowed);
/// an answer with none is refused.
struct PolicyResolver {
    policy: Arc<FetchPolicy>,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.allows(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(Refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client of bounded fetches, connecting only where its policy allows.
#[derive(Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
    policy: Arc<FetchPolicy>,
}

impl Fetcher {
    /// A client whose connections `policy` allows.
    pub(crate) fn new(policy: &FetchPolicy) -> reqwest::Result<Self> {
        let policy = Arc::new(policy.clone());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would connect on our behalf to wherever the URL says, unchecked.
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver {
                policy: policy.clone(),
            }))
            .build()?;
        Ok(Self { client, policy })
    }

    /// A request to `url`; refused now when its host is an IP address the policy does not
    /// allow (the client connects to those without resolving, so the resolver never sees
    /// them). The URL parser has already read every IPv4 spelling (`2130706433`, `0x7f.1`,
    /// `127.0.0.1.`) as the address it stands for.
    pub(crate) fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, FetchError> {
        let url = url::Url::parse(url).map_err(|_| FetchError::NotUrl)?;
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(FetchError::NotUrl),
        };
        if literal.is_some_and(|ip| !self.policy.allows(ip)) {
            return Err(FetchError::Refused);
        }
        Ok(self.client.request(method, url))
    }

    /// Sends `request`.
    pub(crate) async fn send(
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, FetchError> {
        request.send().await.map_err(FetchError::from_send)
    }
}

/// Why a fetch failed, in words that name the rule and nothing of the server's insides.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// The URL does not parse, or has no host.
    NotUrl,
    /// The policy refused where it would connect.
    Refused,
    /// The connection or the request failed.
    Failed(reqwest::Error),
    /// The body is larger than the cap.
    TooLarge(usize),
    /// The answer's status was not a success.
    // AWS Secrets Manager reads its error answers itself.
    #[cfg_attr(
        not(any(feature = "jwks", feature = "introspection", feature = "dev-auth")),
        allow(dead_code)
    )]
    Status(reqwest::StatusCode),
}

impl FetchError {
    /// A failed send: [`FetchError::Refused`] when the policy's resolver refused the name.
    fn from_send(e: reqwest::Error) -> Self {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = source {
            if err.is::<Refused>() {
                return Self::Refused;
            }
            source = err.source();
        }
        Self::Failed(e.without_url())
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotUrl => f.write_str("not an absolute URL with a host"),
            Self::Refused => Refused.fmt(f),
            Self::Failed(e) => write!(f, "fetching failed: {e}"),
            Self::TooLarge(max) => write!(f, "larger than {} KiB", max / 1024),
            Self::Status(status) => write!(f, "the URL answered {status}"),
        }
    }
}

/// The body of `response`, refused past `max` bytes before more is read.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, FetchError> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(FetchError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::Failed(e.without_url()))?
    {
        if body.len() + chunk.len() > max {
            return Err(FetchError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(any(feature = "jwks", feature = "dev-auth"))]
/// The body at `url` (a `GET` asking for JSON), at most `max` bytes, from a success status.
pub(crate) async fn get_capped(
    fetcher: &Fetcher,
    url: &str,
    max: usize,
) -> Result<Vec<u8>, FetchError> {
    let request = fetcher
        .request(reqwest::Method::GET, url)?
        .header(reqwest::header::ACCEPT, "application/json");
    let response = Fetcher::send(request).await?;
    if !response.status().is_success() {
        return Err(FetchError::Status(response.status()));
    }
    read_capped(response, max).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_public_addresses_and_named_networks_only() {
        let public = FetchPolicy::default();
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2001:db8::1",
        ] {
            let ip: IpAddr = refused.parse().unwrap();
            assert!(!public.allows(ip), "{refused}");
        }
        assert!(public.allows(IpAddr::V4(Ipv4Addr::new(93, 184, 215, 14))));
        assert!(public.allows("2606:4700::1".parse().unwrap()));

        let loopback = FetchPolicy::default().allow_loopback();
        for allowed in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            assert!(loopback.allows(allowed.parse().unwrap()), "{allowed}");
        }
        assert!(!loopback.allows("10.0.0.1".parse().unwrap()));
        assert!(!loopback.allows(IpAddr::V6(Ipv6Addr::UNSPECIFIED)));
    }

    #[tokio::test]
    async fn ip_hosts_are_refused_however_they_are_spelled() {
        let fetcher = Fetcher::new(&FetchPolicy::default()).unwrap();
        for url in [
            "http://127.0.0.1:9/x",
            "http://2130706433:9/x",
            "http://0x7f.1:9/x",
            "http://0177.0.0.1:9/x",
            "http://127.1:9/x",
            "http://127.0.0.1.:9/x",
            "http://[::1]:9/x",
            "http://[::ffff:7f00:1]:9/x",
            "http://[64:ff9b::7f00:1]:9/x",
            "http://169.254.169.254/latest/meta-data",
        ] {
            assert!(
                matches!(
                    fetcher.request(reqwest::Method::GET, url),
                    Err(FetchError::Refused)
                ),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_at_connect() {
        // `localhost` resolves to loopback on every system, and the listener is there: only
        // the policy can keep the fetch from connecting.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://localhost:{}/x",
            listener.local_addr().unwrap().port()
        );
        let fetcher = Fetcher::new(&FetchPolicy::default()).unwrap();
        let request = fetcher.request(reqwest::Method::GET, &url).unwrap();
        let error = Fetcher::send(request).await.unwrap_err();
        assert!(matches!(error, FetchError::Refused), "{error}");
        let nothing = tokio::time::timeout(Duration::from_millis(1), listener.accept()).await;
        assert!(nothing.is_err(), "nothing connected");

        // Allowed, it connects (the listener never answers; the connection is what counts).
        let allowed = Fetcher::new(&FetchPolicy::default().allow_loopback()).unwrap();
        let request = allowed.request(reqwest::Method::GET, &url).unwrap();
        let sent = tokio::spawn(Fetcher::send(request));
        let accepted = tokio::time::timeout(Duration::from_secs(30), listener.accept()).await;
        assert!(accepted.is_ok_and(|a| a.is_ok()), "connected when allowed");
        sent.abort();
    }

    /// SECURITY.md: a client metadata document is fetched with "5 s" (as is every fetch of a
    /// `Fetcher`: JWKS, issuer metadata, introspection), on tokio's paused clock: a server that
    /// takes the connection and never answers fails the fetch 5 s after it was sent.
    #[tokio::test(start_paused = true)]
    async fn a_fetch_unanswered_after_5_s_fails() {
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/x", silent.local_addr().unwrap());
        let fetcher = Fetcher::new(&FetchPolicy::default().allow_loopback()).unwrap();
        let request = fetcher.request(reqwest::Method::GET, &url).unwrap();
        let start = tokio::time::Instant::now();
        let error = Fetcher::send(request).await.unwrap_err();
        assert!(
            matches!(&error, FetchError::Failed(e) if e.is_timeout()),
            "{error}"
        );
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        drop(silent);
    }
}
