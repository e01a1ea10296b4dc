//! TLS for the HTTP server: a listener axum can serve on.

use std::{io, net::SocketAddr, path::Path, sync::Arc, time::Duration};

use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_rustls::{TlsAcceptor, rustls, server::TlsStream};

/// How long a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TCP listener that hands axum only connections that completed a TLS handshake
/// (rustls, TLS 1.2 and 1.3). Handshakes run concurrently, each with a 10 s limit, so a slow or
/// silent client cannot hold up the others.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use mcp_secure::http::{ServeOptions, TlsListener, serve};
/// let listener = TlsListener::bind("127.0.0.1:8443".parse()?, "cert.pem", "key.pem").await?;
/// let app: axum::Router = axum::Router::new();
/// serve(listener, app, ServeOptions::default(), std::future::pending()).await?;
/// # Ok(()) }
/// ```
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Binds `addr` and serves the certificate chain in `cert_pem` with the private key in
    /// `key_pem`.
    pub async fn bind(
        addr: SocketAddr,
        cert_pem: impl AsRef<Path>,
        key_pem: impl AsRef<Path>,
    ) -> io::Result<Self> {
        Self::from_listener(TcpListener::bind(addr).await?, cert_pem, key_pem)
    }

    /// Serves TLS on `tcp`, a listener already bound (e.g. before a sandbox that refuses
    /// `listen`), with the certificate chain in `cert_pem` and the private key in `key_pem`.
    ///
    /// The cryptography is rustls's *ring* provider, which has no post-quantum key exchange
    /// (rustls deprecates it for that): a client's session can be recorded now and decrypted by
    /// a quantum computer later. [`from_listener_with_provider`](Self::from_listener_with_provider)
    /// takes another, such as rustls's aws-lc-rs provider with `X25519MLKEM768` (its feature
    /// `aws-lc-rs`, a C build this crate does not impose).
    pub fn from_listener(
        tcp: TcpListener,
        cert_pem: impl AsRef<Path>,
        key_pem: impl AsRef<Path>,
    ) -> io::Result<Self> {
        // Deprecated since rustls 0.23.48 for its missing post-quantum groups; chosen as the
        // default because ring is in the tree already (DPoP, reqwest), and said above.
        #[allow(deprecated)]
        let provider = rustls::crypto::ring::default_provider();
        Self::from_listener_with_provider(tcp, cert_pem, key_pem, Arc::new(provider))
    }

    /// [`from_listener`](Self::from_listener) with the cryptography of `provider` (cipher
    /// suites, key exchange groups, signatures).
    ///
    /// ```no_run
    /// # async fn f(provider: std::sync::Arc<tokio_rustls::rustls::crypto::CryptoProvider>) -> std::io::Result<()> {
    /// use mcp_secure::http::TlsListener;
    /// // e.g. `rustls::crypto::aws_lc_rs::default_provider()`, with rustls's `aws-lc-rs` feature.
    /// let tcp = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
    /// let listener = TlsListener::from_listener_with_provider(tcp, "cert.pem", "key.pem", provider)?;
    /// # Ok(()) }
    /// ```
    pub fn from_listener_with_provider(
        tcp: TcpListener,
        cert_pem: impl AsRef<Path>,
        key_pem: impl AsRef<Path>,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> io::Result<Self> {
        let invalid = |what: &str, e: &dyn std::fmt::Display| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"))
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem.as_ref())
            .map_err(|e| invalid("reading the certificate", &e))?
            .collect::<Result<_, _>>()
            .map_err(|e| invalid("parsing the certificate", &e))?;
        if certs.is_empty() {
            return Err(invalid("the certificate file", &"it holds no certificate"));
        }
        let key = PrivateKeyDer::from_pem_file(key_pem.as_ref())
            .map_err(|e| invalid("reading the private key", &e))?;
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("TLS versions", &e))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| invalid("the certificate and key", &e))?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a TCP connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    break;
                }
                let (acceptor, ready) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = ready.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { local, ready })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept task only ends once this listener is gone; nothing is left to serve.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    /// The guide (docs/src/http.md): "`TlsListener` serves over rustls (handshakes time out after 10 s)", on tokio's
    /// paused clock: a client that connects and sends nothing is disconnected 10 s later, not
    /// before. The certificate is the workspace tests' (`tests/tests/tls`).
    #[tokio::test(start_paused = true)]
    async fn a_handshake_unfinished_after_10_s_is_dropped() {
        let tls = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/tests/tls");
        let listener = TlsListener::bind(
            "127.0.0.1:0".parse().unwrap(),
            format!("{tls}/cert.pem"),
            format!("{tls}/key.pem"),
        )
        .await
        .unwrap();
        let addr = axum::serve::Listener::local_addr(&listener).unwrap();
        let start = tokio::time::Instant::now();
        let mut client = TcpStream::connect(addr).await.unwrap();
        let mut answer = Vec::new();
        // The end of the connection: a close, or a reset.
        let _ = client.read_to_end(&mut answer).await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        assert!(
            answer.is_empty(),
            "nothing is sent to a client that sent nothing"
        );
        drop(listener);
    }

    /// The provider given is the one used: one with no key exchange group cannot make a
    /// configuration, and says so.
    #[tokio::test]
    async fn the_provider_given_is_the_one_used() {
        let tls = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/tests/tls");
        #[allow(deprecated)]
        let mut provider = rustls::crypto::ring::default_provider();
        provider.kx_groups.clear();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let refused = TlsListener::from_listener_with_provider(
            tcp,
            format!("{tls}/cert.pem"),
            format!("{tls}/key.pem"),
            Arc::new(provider),
        )
        .err()
        .expect("no key exchange, no configuration");
        assert_eq!(refused.kind(), io::ErrorKind::InvalidData);
        assert!(refused.to_string().starts_with("TLS versions"), "{refused}");
    }
}
