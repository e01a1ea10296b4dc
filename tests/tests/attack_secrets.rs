//! An outside attacker's probes of the secret-store sources (`secret::aws`, `secret::vault`)
//! against a hostile HTTP server written here: each probe asserts a promise of
//! docs/src/secrets.md and SECURITY.md, so a break fails it.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use mcp_secure::{
    fetch::FetchPolicy,
    secret::{
        SecretString,
        aws::{AwsCredentials, AwsSecretErrorKind, SecretValue, SecretsManager},
        vault::{Vault, VaultConfigError, VaultSecretErrorKind},
    },
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const SECRET: &str = "Sup3rS3cretApiKey0123456789";
const SECRET_KEY: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12";
/// Shaped as STS's are: long base64.
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleSessionToken+AbCdEf0123456789abcdefghijklmnopqrstuvwxyz==";
const VAULT_TOKEN: &str = "hvs.VaultTokenXYZ0123456789";

/// What the hostile server answers to one request.
enum Reply {
    /// These bytes, then the connection closes.
    Raw(Vec<u8>),
    /// These head bytes, then one body byte every `Duration`, forever.
    Drip(Vec<u8>, Duration),
    /// These bytes after a pause (a slow store).
    Late(Duration, Vec<u8>),
}

type Answer = dyn Fn(&str, usize) -> Reply + Send + Sync;

/// A server on loopback: counts requests, keeps the last one's text, answers with `answer`.
struct Hostile {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    last: Arc<Mutex<String>>,
}

impl Hostile {
    async fn start(answer: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let last = Arc::new(Mutex::new(String::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        let (h, l) = (hits.clone(), last.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (h, l, answer) = (h.clone(), l.clone(), answer.clone());
                tokio::spawn(serve(stream, h, l, answer));
            }
        });
        Self { addr, hits, last }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn serve(
    mut stream: TcpStream,
    hits: Arc<AtomicUsize>,
    last: Arc<Mutex<String>>,
    answer: Arc<Answer>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                break;
            }
        }
    }
    let request = String::from_utf8_lossy(&buf).into_owned();
    let n = hits.fetch_add(1, Ordering::SeqCst);
    *last.lock().unwrap() = request.clone();
    match answer(&request, n) {
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Reply::Late(pause, bytes) => {
            tokio::time::sleep(pause).await;
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Reply::Drip(head, every) => {
            if stream.write_all(&head).await.is_err() {
                return;
            }
            loop {
                tokio::time::sleep(every).await;
                if stream.write_all(b" ").await.is_err() {
                    return;
                }
            }
        }
    }
}

fn http(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

fn json(status: &str, body: &str) -> Reply {
    Reply::Raw(http(
        status,
        &[("content-type", "application/json")],
        body.as_bytes(),
    ))
}

/// The value of header `name` in a request's text (lowercased).
fn header(request: &str, name: &str) -> String {
    request
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            (n.eq_ignore_ascii_case(name)).then(|| v.trim().to_owned())
        })
        .unwrap_or_default()
}

fn credentials() -> AwsCredentials {
    AwsCredentials::new("AKIAIOSFODNN7EXAMPLE", SecretString::new(SECRET_KEY.into()))
        .unwrap()
        .with_session_token(SecretString::new(SESSION_TOKEN.into()))
}

fn aws(server: &Hostile) -> SecretsManager {
    SecretsManager::new("us-east-1", credentials())
        .unwrap()
        .endpoint(&server.url())
        .unwrap()
        .fetch_policy(&FetchPolicy::default().allow_loopback())
        .unwrap()
}

fn vault(server: &Hostile) -> Vault {
    Vault::new(&server.url(), SecretString::new(VAULT_TOKEN.into()))
        .unwrap()
        .fetch_policy(&FetchPolicy::default().allow_loopback())
        .unwrap()
}

fn aws_ok(value: &str) -> Reply {
    json(
        "200 OK",
        &serde_json::json!({"ARN": "arn", "Name": "s", "SecretString": value}).to_string(),
    )
}

fn vault_ok(key: &str, value: &str) -> Reply {
    json(
        "200 OK",
        &serde_json::json!({"data": {"data": {key: value}, "metadata": {"version": 1}}})
            .to_string(),
    )
}

/// Nothing of `forbidden` shows in `shown`.
fn assert_clean(shown: &str, what: &str) {
    for forbidden in [SECRET, SECRET_KEY, SESSION_TOKEN, VAULT_TOKEN, "Signature="] {
        assert!(
            !shown.contains(forbidden),
            "{what} shows {forbidden:?}: {shown}"
        );
    }
}

/// An error answer built from the request.
type EchoCase = dyn Fn(&str) -> Reply + Send + Sync;

// --- Leaks through errors -------------------------------------------------------------------

/// Error answers that echo the request's credentials and the secret, in the body, the
/// `__type`, the `x-amzn-ErrorType` header and XML: none of it reaches Display, Debug or
/// `code()`.
#[tokio::test]
async fn aws_error_answers_echoing_credentials_or_the_secret_never_reach_the_error() {
    let cases: Vec<Box<EchoCase>> = vec![
        // The whole request echoed in the message.
        Box::new(|req: &str| {
            json(
                "400 Bad Request",
                &serde_json::json!({"__type": "ValidationException", "Message": req, "SecretString": SECRET}).to_string(),
            )
        }),
        // The session token as `__type`.
        Box::new(|req: &str| {
            let token = header(req, "x-amz-security-token");
            json(
                "400 Bad Request",
                &serde_json::json!({ "__type": token }).to_string(),
            )
        }),
        // The session token as the header's error type.
        Box::new(|req: &str| {
            let token = header(req, "x-amz-security-token");
            Reply::Raw(http(
                "400 Bad Request",
                &[("x-amzn-ErrorType", &token)],
                b"{}",
            ))
        }),
        // The Authorization header as `__type`, and in XML.
        Box::new(|req: &str| {
            let auth = header(req, "authorization");
            json(
                "403 Forbidden",
                &serde_json::json!({ "__type": auth }).to_string(),
            )
        }),
        Box::new(|req: &str| {
            let token = header(req, "x-amz-security-token");
            Reply::Raw(http(
                "403 Forbidden",
                &[],
                format!("<ErrorResponse><Error><Code>{token}</Code><Message>{req}</Message></Error></ErrorResponse>").as_bytes(),
            ))
        }),
        // The secret itself as `__type` (a store, or something before it, repeating it).
        Box::new(|_: &str| {
            json(
                "400 Bad Request",
                &serde_json::json!({ "__type": format!("com.amazonaws#{SECRET}") }).to_string(),
            )
        }),
        // Control characters and long strings in `__type`.
        Box::new(|_: &str| {
            json(
                "400 Bad Request",
                &serde_json::json!({ "__type": format!("Bad\u{1b}[2J\nInjected: {SECRET}") })
                    .to_string(),
            )
        }),
        Box::new(|_: &str| {
            json(
                "500 Internal Server Error",
                &serde_json::json!({ "__type": "A".repeat(100_000) }).to_string(),
            )
        }),
    ];
    // Every case is tried; the leaks are reported together.
    let mut leaks = Vec::new();
    for (i, case) in cases.into_iter().enumerate() {
        let server = Hostile::start(move |req, _| case(req)).await;
        let manager = aws(&server);
        let error = manager.secret("prod/db").get().await.unwrap_err();
        let shown = format!(
            "{error} | {error:?} | {:?} | {:?}",
            error.code(),
            error.kind()
        );
        let clean = std::panic::catch_unwind(|| assert_clean(&shown, "")).is_ok();
        if !clean
            || error
                .code()
                .is_some_and(|c| c.contains('\n') || c.len() > 64)
        {
            leaks.push(format!("case {i}: {shown}"));
        }
        // The request carried the credentials the server echoed.
        assert!(
            server.last.lock().unwrap().contains(SESSION_TOKEN),
            "case {i}"
        );
    }
    assert!(leaks.is_empty(), "leaks:\n{}", leaks.join("\n"));
}

/// Vault error answers echoing the token and the secret: never in the error.
#[tokio::test]
async fn vault_error_answers_echoing_the_token_never_reach_the_error() {
    for status in [
        "400 Bad Request",
        "403 Forbidden",
        "404 Not Found",
        "429 Too Many Requests",
        "503 Service Unavailable",
        "418 I'm a teapot",
    ] {
        let server = Hostile::start(move |req, _| {
            let token = header(req, "x-vault-token");
            json(
                status,
                &serde_json::json!({"errors": [token, req, SECRET]}).to_string(),
            )
        })
        .await;
        let error = vault(&server)
            .secret("notes/db", "password")
            .unwrap()
            .get()
            .await
            .unwrap_err();
        assert_clean(&format!("{error} | {error:?}"), status);
        assert!(server.last.lock().unwrap().contains(VAULT_TOKEN));
    }
}

/// Debug of every client and handle: no credential.
#[test]
fn debug_of_clients_never_shows_credentials() {
    let manager = SecretsManager::new("eu-west-1", credentials()).unwrap();
    let vault = Vault::new(
        "https://vault.example:8200",
        SecretString::new(VAULT_TOKEN.into()),
    )
    .unwrap()
    .namespace("team-a/")
    .unwrap();
    let shown = format!(
        "{:?} {:?} {:?} {:?} {:?}",
        credentials(),
        manager,
        manager.secret("s").json_key("password"),
        vault,
        vault.secret("a/b", "k").unwrap(),
    );
    assert_clean(&shown, "Debug");
}

// --- Answers: binary, malformed, duplicate keys -------------------------------------------------

/// A binary secret: `get()` refuses it, `fetch()` answers it, and Debug of neither shows it.
#[tokio::test]
async fn aws_binary_secrets_and_malformed_answers() {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(SECRET);
    let server = Hostile::start(move |_, _| {
        json(
            "200 OK",
            &serde_json::json!({ "SecretBinary": encoded }).to_string(),
        )
    })
    .await;
    let manager = aws(&server);
    let error = manager.secret("bin").get().await.unwrap_err();
    assert_eq!(error.kind(), AwsSecretErrorKind::Binary);
    let value = manager.fetch("bin").await.unwrap();
    assert!(matches!(&value, SecretValue::Binary(b) if b.expose_secret() == SECRET.as_bytes()));
    assert_clean(&format!("{value:?} {error} {error:?}"), "binary");

    for body in [
        "not json".to_owned(),
        format!(r#"{{"SecretString":"{SECRET}""#),
        format!(r#"{{"SecretString":"a","SecretString":"{SECRET}"}}"#),
        format!(r#"{{"SecretString":1,"Message":"{SECRET}"}}"#),
        format!(r#"<xml>{SECRET}</xml>"#),
    ] {
        let server = Hostile::start(move |_, _| json("200 OK", &body)).await;
        let error = aws(&server).secret("s").get().await.unwrap_err();
        assert_eq!(error.kind(), AwsSecretErrorKind::Malformed, "{error}");
        assert_clean(&format!("{error} {error:?}"), "malformed");
    }
}

/// A JSON secret naming its field twice (the second spelled with an escape) is refused, not
/// read as either value.
#[tokio::test]
async fn aws_duplicate_json_keys_are_refused() {
    let server = Hostile::start(|_, _| {
        aws_ok(r#"{"password":"first","pass\u0077ord":"second","nested":{"password":"x"}}"#)
    })
    .await;
    let error = aws(&server)
        .secret("s")
        .json_key("password")
        .get()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), AwsSecretErrorKind::NotJson);
}

/// The same for Vault: a KV answer naming the field twice is tampered with (Vault's own maps
/// cannot hold a key twice), and must not be read as the last value.
#[tokio::test]
async fn vault_duplicate_json_keys_are_refused() {
    let server = Hostile::start(|_, _| {
        json(
            "200 OK",
            r#"{"data":{"data":{"password":"first","pass\u0077ord":"second"}}}"#,
        )
    })
    .await;
    let result = vault(&server)
        .secret("notes/db", "password")
        .unwrap()
        .get()
        .await;
    assert!(
        result.is_err(),
        "Vault read a field named twice as {:?}",
        result.map(|s| s.expose_secret().to_owned())
    );
}

// --- The fetcher's bounds: redirects, size, time, address --------------------------------------

/// A redirect to another host is not followed: the other server never sees the signature or the
/// token.
#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = Hostile::start(|_, _| aws_ok(SECRET)).await;
    let location = format!("{}/", elsewhere.url());
    for status in [
        "301 Moved Permanently",
        "302 Found",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        let location = location.clone();
        let server =
            Hostile::start(move |_, _| Reply::Raw(http(status, &[("location", &location)], b"")))
                .await;
        let error = aws(&server).secret("s").get().await.unwrap_err();
        assert_clean(&format!("{error} {error:?}"), status);
        let error = vault(&server)
            .secret("notes/db", "password")
            .unwrap()
            .get()
            .await
            .unwrap_err();
        assert_clean(&format!("{error} {error:?}"), status);
        assert_eq!(server.hits(), 2);
    }
    assert_eq!(elsewhere.hits(), 0, "a redirect was followed");
}

/// AWS: an answer over 256 KiB is refused, whether its length is declared or not.
#[tokio::test]
async fn aws_answers_over_256_kib_are_refused() {
    let big = "x".repeat(300 * 1024);
    let declared = Hostile::start({
        let big = big.clone();
        move |_, _| aws_ok(&big)
    })
    .await;
    let error = aws(&declared).secret("s").get().await.unwrap_err();
    assert_eq!(error.kind(), AwsSecretErrorKind::Malformed);

    // Chunked, without a length.
    let chunked = Hostile::start(move |_, _| {
        let body = serde_json::json!({ "SecretString": big }).to_string();
        let mut out =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
        for piece in body.as_bytes().chunks(8192) {
            out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        Reply::Raw(out)
    })
    .await;
    let error = aws(&chunked).secret("s").get().await.unwrap_err();
    assert_eq!(error.kind(), AwsSecretErrorKind::Malformed);
}

/// Vault: the documented cap (secrets.md and SECURITY.md: "5 s, no redirects, no proxy,
/// 256 KiB") holds for Vault's answers too.
#[tokio::test]
async fn vault_answers_over_256_kib_are_refused() {
    let padding = "p".repeat(512 * 1024);
    let server = Hostile::start(move |_, _| {
        json(
            "200 OK",
            &serde_json::json!({"data": {"data": {"password": SECRET, "padding": padding}}})
                .to_string(),
        )
    })
    .await;
    let result = vault(&server)
        .secret("notes/db", "password")
        .unwrap()
        .get()
        .await;
    assert!(
        result.is_err(),
        "Vault read a 512 KiB answer, over the documented 256 KiB cap"
    );
}

/// A body dripped one byte at a time: the read gives up within the 5 s bound (plus slack), as a
/// network failure.
#[tokio::test]
async fn slow_bodies_give_up_within_the_time_bound() {
    let head = b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\nconnection: close\r\n\r\n{\"SecretString\":\"".to_vec();
    let server =
        Hostile::start(move |_, _| Reply::Drip(head.clone(), Duration::from_millis(200))).await;
    let started = Instant::now();
    let error = aws(&server).secret("s").get().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(error.kind(), AwsSecretErrorKind::Network);

    let started = Instant::now();
    let error = vault(&server)
        .secret("notes/db", "password")
        .unwrap()
        .get()
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(error.kind(), VaultSecretErrorKind::Network);

    // An error answer's slow body too (AWS reads it for its code).
    let head = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 100000\r\nconnection: close\r\n\r\n{"
        .to_vec();
    let server =
        Hostile::start(move |_, _| Reply::Drip(head.clone(), Duration::from_millis(200))).await;
    let started = Instant::now();
    let _ = aws(&server).secret("s").get().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
}

/// A name resolving to loopback, without a policy allowing it, is refused before connecting;
/// so is the metadata address.
#[tokio::test]
async fn names_resolving_to_private_addresses_are_refused_without_a_policy() {
    let server = Hostile::start(|_, _| aws_ok(SECRET)).await;
    let port = server.addr.port();
    let manager = SecretsManager::new("us-east-1", credentials())
        .unwrap()
        .endpoint(&format!("https://localhost:{port}"))
        .unwrap();
    let error = manager.secret("s").get().await.unwrap_err();
    assert_eq!(error.kind(), AwsSecretErrorKind::Refused, "{error}");
    let vault = Vault::new(
        &format!("https://localhost:{port}"),
        SecretString::new(VAULT_TOKEN.into()),
    )
    .unwrap();
    let error = vault.secret("a", "k").unwrap().get().await.unwrap_err();
    assert_eq!(error.kind(), VaultSecretErrorKind::Refused, "{error}");
    for metadata in [
        "https://169.254.169.254",
        "https://[::ffff:169.254.169.254]",
        "https://[fd00:ec2::254]",
        "https://2852039166",
    ] {
        let manager = SecretsManager::new("us-east-1", credentials())
            .unwrap()
            .endpoint(metadata)
            .unwrap();
        let error = manager.secret("s").get().await.unwrap_err();
        assert_eq!(error.kind(), AwsSecretErrorKind::Refused, "{metadata}");
    }
    assert_eq!(server.hits(), 0);
}

// --- Configuration: no injection into host or path ---------------------------------------------

#[test]
fn regions_endpoints_and_paths_cannot_inject() {
    for region in [
        "us-east-1.evil.com#",
        "us-east-1.evil.com",
        "us-east-1/x",
        "us-east-1?",
        "us-east-1@evil",
        "us-east-1:443",
        "us-east-1\n",
        "us-east-1%2eevil",
        "ｕｓ-east-1",
    ] {
        assert!(
            SecretsManager::new(region, credentials()).is_err(),
            "{region:?}"
        );
    }
    // Whatever region passes, the host stays under amazonaws.com.
    for region in ["a", "-", "a--b", "cn-", "0"] {
        let manager = SecretsManager::new(region, credentials()).unwrap();
        let url = url::Url::parse(manager.endpoint_url()).unwrap();
        let host = url.host_str().unwrap();
        assert!(
            host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"),
            "{host}"
        );
    }
    let manager = SecretsManager::new("us-east-1", credentials()).unwrap();
    for endpoint in [
        "http://10.0.0.5",
        "http://169.254.169.254",
        "http://localhost.evil.com",
        "http://127.0.0.1.nip.io",
        "http://[::ffff:7f00:1]@evil",
        "https://u@vpce.example",
        "https://vpce.example/#frag",
        "https://vpce.example/?",
        "file:///etc/passwd",
        "ftp://127.0.0.1",
    ] {
        assert!(
            manager.clone().endpoint(endpoint).is_err(),
            "endpoint {endpoint}"
        );
    }
    let token = || SecretString::new(VAULT_TOKEN.into());
    let vault = Vault::new("https://vault.example:8200", token()).unwrap();
    for path in [
        "..",
        "a/..",
        "a/../../sys/raw",
        "%2e%2e",
        "a/%2e%2e/b",
        "a/.%2e/b",
        "a\\..\\b",
        "a?b",
        "a#b",
        "a;b",
        "a/./b",
        "a//b",
        "a\u{2215}..",
        "a/\u{ff0e}\u{ff0e}",
    ] {
        assert_eq!(
            vault.secret(path, "k").unwrap_err(),
            VaultConfigError::Path,
            "{path:?}"
        );
        assert!(vault.clone().mount(path).is_err(), "mount {path:?}");
    }
    // Whatever path passes, the URL stays under /v1/<mount>/data/ on the same host.
    for path in ["...", "a/...", ".a", "a.", "@", "+=", "a/b/c"] {
        let secret = vault.secret(path, "k").unwrap();
        let url = url::Url::parse(secret.url()).unwrap();
        assert_eq!(url.host_str(), Some("vault.example"), "{path}");
        assert!(url.path().starts_with("/v1/secret/data/"), "{path}: {url}");
        assert!(url.query().is_none() && url.fragment().is_none());
    }
    for address in [
        "http://10.0.0.5:8200",
        "https://vault.example/v1/sys",
        "https://vault.example/#x",
        "https://vault.example/?x",
        "https://u:p@vault.example",
    ] {
        assert!(Vault::new(address, token()).is_err(), "{address}");
    }
    // Header injection through the namespace or the token.
    assert!(vault.clone().namespace("a\r\nx-evil: 1").is_err());
    assert!(Vault::new("https://v", SecretString::new("t\r\nx-evil: 1".into())).is_err());
}

// --- The cache: stale bound, deletion, herd ------------------------------------------------

/// After a secret is deleted (an authoritative answer), a later outage does not bring the old
/// value back.
#[tokio::test]
async fn a_deleted_secret_is_not_served_stale_afterwards() {
    // AWS: the value, then not found, then 503s.
    let server = Hostile::start(|_, n| match n {
        0 => aws_ok(SECRET),
        1 => json(
            "400 Bad Request",
            r#"{"__type":"ResourceNotFoundException"}"#,
        ),
        _ => json("503 Service Unavailable", "{}"),
    })
    .await;
    let secret = aws(&server)
        .secret("s")
        .ttl(Duration::from_millis(300))
        .serve_stale_for(Duration::from_secs(600));
    assert_eq!(secret.get().await.unwrap().expose_secret(), SECRET);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        secret.get().await.unwrap_err().kind(),
        AwsSecretErrorKind::NotFound
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after = secret.get().await;
    assert!(after.is_err(), "served after deletion");
    assert_eq!(server.hits(), 3);

    // Vault: a deleted latest version, then a sealed server.
    let server = Hostile::start(|_, n| match n {
        0 => vault_ok("password", SECRET),
        1 => json(
            "404 Not Found",
            r#"{"data":{"data":null,"metadata":{"deletion_time":"2026-01-01T00:00:00Z","destroyed":false}}}"#,
        ),
        _ => json("503 Service Unavailable", r#"{"errors":["Vault is sealed"]}"#),
    })
    .await;
    let secret = vault(&server)
        .secret("notes/db", "password")
        .unwrap()
        .ttl(Duration::from_millis(300))
        .serve_stale_for(Duration::from_secs(600));
    assert_eq!(secret.get().await.unwrap().expose_secret(), SECRET);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        secret.get().await.unwrap_err().kind(),
        VaultSecretErrorKind::Deleted
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(secret.get().await.is_err(), "served after deletion");
}

/// A failing store serves the last value at most `serve_stale_for` past its expiry.
#[tokio::test]
async fn stale_values_are_served_within_the_bound_only() {
    let server = Hostile::start(|_, n| match n {
        0 => aws_ok(SECRET),
        _ => json(
            "503 Service Unavailable",
            r#"{"__type":"InternalServiceError"}"#,
        ),
    })
    .await;
    let secret = aws(&server)
        .secret("s")
        .ttl(Duration::from_millis(500))
        .serve_stale_for(Duration::from_millis(1500));
    let fetched = Instant::now();
    assert_eq!(secret.get().await.unwrap().expose_secret(), SECRET);
    let mut last_served = Duration::ZERO;
    while fetched.elapsed() < Duration::from_secs(4) {
        if secret.get().await.is_ok() {
            last_served = fetched.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        last_served < Duration::from_millis(2000) + Duration::from_millis(100),
        "served {last_served:?} after the fetch, the bound being 2 s"
    );
    assert!(last_served > Duration::from_millis(1000), "{last_served:?}");
}

/// "Serve stale for as long as the store is down" (`Duration::MAX`) must not crash the reader.
#[tokio::test]
async fn an_unbounded_stale_bound_does_not_panic() {
    let server = Hostile::start(|_, n| match n {
        0 => aws_ok(SECRET),
        _ => json("503 Service Unavailable", "{}"),
    })
    .await;
    let secret = aws(&server)
        .secret("s")
        .ttl(Duration::from_millis(200))
        .serve_stale_for(Duration::MAX);
    assert!(secret.get().await.is_ok());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reader = tokio::spawn(async move { secret.get().await.map(|_| ()) });
    let outcome = reader.await;
    assert!(
        outcome.is_ok(),
        "the reader panicked: {:?}",
        outcome.unwrap_err()
    );
}

/// Many readers at expiry: one request (AWS and Vault), against a slow store.
#[tokio::test]
async fn many_readers_at_expiry_make_one_request() {
    let server = Hostile::start(|req, n| {
        let reply = if req.starts_with("POST") {
            aws_ok(SECRET)
        } else {
            vault_ok("password", SECRET)
        };
        match reply {
            Reply::Raw(bytes) if n % 2 == 1 => Reply::Late(Duration::from_millis(300), bytes),
            other => other,
        }
    })
    .await;
    let aws_secret = aws(&server).secret("s").ttl(Duration::from_millis(300));
    aws_secret.get().await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let readers: Vec<_> = (0..50)
        .map(|_| {
            let s = aws_secret.clone();
            tokio::spawn(async move { s.get().await.map(|v| v.expose_secret().to_owned()) })
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.await.unwrap().unwrap(), SECRET);
    }
    assert_eq!(server.hits(), 2, "AWS requests for 50 readers at expiry");

    let vault_secret = vault(&server)
        .secret("notes/db", "password")
        .unwrap()
        .ttl(Duration::from_millis(300));
    vault_secret.get().await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let readers: Vec<_> = (0..50)
        .map(|_| {
            let s = vault_secret.clone();
            tokio::spawn(async move { s.get().await.map(|v| v.expose_secret().to_owned()) })
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.await.unwrap().unwrap(), SECRET);
    }
    assert_eq!(server.hits(), 4, "Vault requests for 50 readers at expiry");
}

// --- Real moto: secret ids are names, never paths ---------------------------------------------

/// moto on a free loopback port, stopped when dropped.
struct Moto {
    child: std::process::Child,
    url: String,
}

impl Moto {
    fn start() -> Option<Moto> {
        let program = std::env::var_os("MCP_SECURE_MOTO_SERVER")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(moto)
    }

    async fn create(&self, name: &str, value: &str) {
        let answer = reqwest::Client::new()
            .post(&self.url)
            .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00")
            .header("x-amz-target", "secretsmanager.CreateSecret")
            .header("content-type", "application/x-amz-json-1.1")
            .json(&serde_json::json!({"Name": name, "SecretString": value}))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "create {name}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ids with `/`, `?`, `#`, `%2e%2e` and `..` read the secret of exactly that name, or none:
/// never another secret.
#[tokio::test]
#[cfg_attr(
    skip_moto,
    ignore = "MCP_SECURE_MOTO_SERVER is not set: the path of moto_server (pip install 'moto[server]==5.2.5') runs it"
)]
async fn moto_secret_ids_are_names_not_paths() {
    let moto =
        Moto::start().expect("MCP_SECURE_MOTO_SERVER names moto_server (.ci/run installs it)");
    moto.create("prod/db", SECRET).await;
    moto.create("other/x", "other-value").await;
    let manager = SecretsManager::new("us-east-1", credentials())
        .unwrap()
        .endpoint(&moto.url)
        .unwrap()
        .fetch_policy(&FetchPolicy::default().allow_loopback())
        .unwrap();
    assert_eq!(
        manager
            .secret("prod/db")
            .get()
            .await
            .unwrap()
            .expose_secret(),
        SECRET
    );
    for id in [
        "other/../prod/db",
        "other/%2e%2e/prod/db",
        "prod%2Fdb",
        "prod/db?x=1",
        "prod/db#x",
        "prod/db/",
        "/prod/db",
        "prod/db\u{0}",
        "prod/db\n",
        "prod/*",
    ] {
        let result = manager.secret(id).get().await;
        assert!(
            result.is_err(),
            "{id:?} read {:?}",
            result.map(|s| s.expose_secret().to_owned())
        );
        let error = result.unwrap_err();
        assert_clean(&format!("{error} {error:?}"), id);
    }
}
