//! The demo's own fetches (client metadata documents with `--dev-auth`, the `--issuer`'s
//! metadata) connect only to public addresses unless `--fetch-allow` names a network, and the
//! check is on the address connected to: a host name that resolves to loopback is refused
//! however innocent its text. The names here really resolve to loopback: the demo runs in a
//! mount namespace of its own (`unshare --mount`, root only) with a hosts file bound over
//! `/etc/hosts`. A listener on loopback stands where the fetch would land and counts every
//! connection made to it.

mod common;

use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::*;
use reqwest::{StatusCode, header};
use serde_json::json;

const REDIRECT: &str = "http://127.0.0.1:33418/callback";
/// A name that resolves to 127.0.0.1 inside the demo's namespace.
const REBOUND: &str = "client.rebound.test";

/// A loopback listener that counts connections; those that send an HTTP request get a client
/// metadata document naming `http://127.0.0.1:<port>/good.json`.
struct Landing {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Landing {
    async fn start() -> Landing {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        let doc = json!({
            "client_id": format!("http://127.0.0.1:{port}/good.json"),
            "client_name": "Document Client",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
        })
        .to_string();
        let app = axum::Router::new().route(
            "/good.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], doc) }
            }),
        );
        let listener = Counting {
            inner: listener,
            connections: counted,
        };
        tokio::spawn(async move { axum::serve(listener, app).await });
        Landing { port, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// A TCP listener that counts the connections it accepts.
struct Counting {
    inner: tokio::net::TcpListener,
    connections: Arc<AtomicUsize>,
}

impl axum::serve::Listener for Counting {
    type Io = tokio::net::TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let accepted = axum::serve::Listener::accept(&mut self.inner).await;
        self.connections.fetch_add(1, Ordering::SeqCst);
        accepted
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A command that runs the demo (the arguments that follow) with `/etc/hosts` replaced, in a
/// private mount namespace, by one that resolves `name` to 127.0.0.1. The directory holds the
/// file.
fn resolving_to_loopback(name: &str) -> (tempfile::TempDir, Command) {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    let system = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    std::fs::write(&hosts, format!("{system}\n127.0.0.1 {name}\n")).unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount --bind \"$0\" /etc/hosts && exec \"$@\"",
    ])
    .arg(&hosts)
    .arg(bin());
    (dir, cmd)
}

fn dev_auth_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    // Unconfined: the sandbox's network rules would also stop these connections, and the
    // point is that the fetch policy does.
    let mut args = vec!["--dev-auth", "--dev-auth-user", "alice", "--sandbox", "off"];
    args.extend_from_slice(extra);
    args
}

/// `GET /authorize` for `client`, well-formed, with the browser headers given.
async fn authorize(
    server: &HttpServer,
    client: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let origin = server.url.trim_end_matches("/mcp");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = http.get(format!("{origin}/authorize")).query(&[
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", REDIRECT),
        ("code_challenge", &"a".repeat(43)),
        ("code_challenge_method", "S256"),
        ("resource", &server.url),
    ]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// The page of a refused client: a 400 naming the rule, and nothing of the server's insides.
async fn refused_for_its_address(response: reqwest::Response, client: &str) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{client}");
    assert!(
        response.headers().get(header::LOCATION).is_none(),
        "{client}"
    );
    let page = response.text().await.unwrap();
    assert!(
        page.contains("loopback, private, link-local or otherwise non-public address"),
        "{client}: {page}"
    );
    for internal in ["127.0.0.1", "os error", "dns", "hosts"] {
        assert!(!page.contains(internal), "{client}: {internal} in {page}");
    }
}

#[tokio::test]
async fn a_document_host_that_resolves_to_loopback_is_never_connected_to() {
    let landing = Landing::start().await;
    let (files, _outside) = files_dir();
    let (_hosts, cmd) = resolving_to_loopback(REBOUND);
    let server = HttpServer::start_command(cmd, None, files.path(), &dev_auth_args(&[]));
    let port = landing.port;
    for client in [
        format!("https://{REBOUND}:{port}/client.json"),
        format!("https://{}:{port}/client.json", REBOUND.to_uppercase()),
        // Loopback `http` passes the URL's rules, and is fetched only when allowed.
        format!("http://localhost:{port}/good.json"),
        format!("http://127.0.0.1:{port}/good.json"),
        format!("http://[::1]:{port}/good.json"),
    ] {
        refused_for_its_address(authorize(&server, &client, &[]).await, &client).await;
    }
    assert_eq!(landing.connections(), 0, "the fetch never connected");

    // The control: allowed loopback, the same name is connected to (a TLS hello the
    // listener cannot answer): the name does resolve to loopback in the demo's namespace.
    let (_hosts, cmd) = resolving_to_loopback(REBOUND);
    let allowing = HttpServer::start_command(
        cmd,
        None,
        files.path(),
        &dev_auth_args(&["--fetch-allow", "127.0.0.1"]),
    );
    let client = format!("https://{REBOUND}:{port}/client.json");
    let response = authorize(&allowing, &client, &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(landing.connections() >= 1, "connected when allowed");
    let connections = landing.connections();
    // And a loopback document, allowed, is fetched and stands for its client.
    let client = format!("http://127.0.0.1:{port}/good.json");
    let response = authorize(&allowing, &client, &[]).await;
    assert_eq!(response.status(), StatusCode::FOUND, "{client}");
    assert!(landing.connections() > connections);
}

#[tokio::test]
async fn an_issuer_whose_name_resolves_to_loopback_is_refused_at_start() {
    let landing = Landing::start().await;
    let (files, _outside) = files_dir();
    let (_hosts, mut cmd) = resolving_to_loopback("idp.rebound.test");
    let issuer = format!("https://idp.rebound.test:{}", landing.port);
    common::serve_args(&mut cmd, files.path())
        .args(["--sandbox", "off", "--issuer", &issuer])
        .env_remove("NOTES_API_KEYS");
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("the demo stops at start")
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("non-public address, which this server does not fetch from"),
        "{said}"
    );
    let error = said.split("Error:").nth(1).expect("an error is printed");
    assert!(!error.contains("127.0.0.1"), "{error}");
    assert_eq!(landing.connections(), 0, "the discovery never connected");
}

#[tokio::test]
async fn another_sites_image_cannot_make_the_server_fetch() {
    let landing = Landing::start().await;
    let (files, _outside) = files_dir();
    let server = HttpServer::start_with(
        None,
        files.path(),
        &dev_auth_args(&["--fetch-allow", "127.0.0.1"]),
    );
    let client = format!("http://127.0.0.1:{}/good.json", landing.port);
    // `<img src=".../authorize?client_id=...">` on another site's page: no `Origin`.
    for headers in [
        &[
            ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Mode", "no-cors"),
            ("Sec-Fetch-Dest", "image"),
            ("Referer", "https://attacker.example/page"),
        ][..],
        &[
            ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Mode", "navigate"),
            ("Sec-Fetch-Dest", "iframe"),
        ][..],
        &[("Referer", "https://attacker.example/page")][..],
        &[
            ("Sec-Fetch-Site", "same-site"),
            ("Sec-Fetch-Dest", "script"),
        ][..],
    ] {
        let response = authorize(&server, &client, headers).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{headers:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains("Another site"), "{headers:?}: {page}");
    }
    assert_eq!(
        landing.connections(),
        0,
        "nothing fetched for another site's page"
    );

    // Opened as a page by another site (a navigation the user sees): the consent page,
    // with the client's document fetched to name it.
    let response = authorize(
        &server,
        &client,
        &[
            ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Mode", "navigate"),
            ("Sec-Fetch-Dest", "document"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("<form"));
    assert_eq!(landing.connections(), 1);
}
