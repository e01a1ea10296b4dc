//! `secret::aws` against a real AWS Secrets Manager API: moto's server (PyPI `moto[server]`,
//! pinned in .ci/run), started on a free loopback port, at the path in `MCP_SECURE_MOTO_SERVER`.
//! String and JSON secrets, rotation seen after the cache's TTL, missing, deleted and binary
//! secrets, errors that print neither a secret nor an answer's body, an unreachable store, and
//! signatures and permissions checked by moto's IAM emulation.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use mcp_secure::{
    fetch::FetchPolicy,
    secret::{
        SecretString,
        aws::{AwsCredentials, AwsSecretErrorKind, SecretValue, SecretsManager},
    },
};
use serde_json::{Value, json};

/// Never in an error's text: the secrets and the answers carry it.
const MARKER: &str = "MARKER-4b1d-never-printed";

/// A moto server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    /// Started with `env` (moto reads its settings from its environment). Fails when
    /// `MCP_SECURE_MOTO_SERVER` is unset: the tests that call this are ignored then, except
    /// under CI (`tests/build.rs`).
    fn start(env: &[(&str, &str)]) -> Moto {
        let program = std::env::var_os("MCP_SECURE_MOTO_SERVER")
            .expect("MCP_SECURE_MOTO_SERVER names moto_server (.ci/run installs it)");
        // The port is free when chosen and may be taken before moto binds it (another test's
        // server): then moto exits, and another port is tried.
        'attempt: for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new(&program)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server");
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if child.try_wait().unwrap().is_some() {
                    continue 'attempt;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    // Still running a moment after the port answered: the port is its own
                    // (one that lost the port exits as soon as its bind fails).
                    std::thread::sleep(Duration::from_millis(200));
                    if child.try_wait().unwrap().is_none() {
                        return Moto {
                            child,
                            url: format!("http://127.0.0.1:{port}"),
                        };
                    }
                    continue 'attempt;
                }
                assert!(Instant::now() < deadline, "moto_server did not start");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("moto_server did not start on any of five free ports");
    }

    /// A Secrets Manager action as moto's unauthenticated API takes it (the test's setup, not
    /// the code under test).
    async fn secrets(&self, action: &str, body: Value) -> Value {
        let answer = self
            .admin("secretsmanager", &format!("secretsmanager.{action}"))
            .json(&body)
            .header("content-type", "application/x-amz-json-1.1")
            .send()
            .await
            .unwrap();
        assert!(
            answer.status().is_success(),
            "{action}: {}",
            answer.status()
        );
        answer.json().await.unwrap()
    }

    /// An IAM action (query protocol); the answer's XML.
    async fn iam(&self, params: &[(&str, &str)]) -> String {
        let answer = self
            .admin("iam", "")
            .form(&[params, &[("Version", "2010-05-08")]].concat())
            .send()
            .await
            .unwrap();
        assert!(
            answer.status().is_success(),
            "{params:?}: {}",
            answer.status()
        );
        answer.text().await.unwrap()
    }

    fn admin(&self, service: &str, target: &str) -> reqwest::RequestBuilder {
        let mut request = reqwest::Client::new().post(&self.url).header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00"),
        );
        if !target.is_empty() {
            request = request.header("x-amz-target", target);
        }
        request
    }

    /// A client of this server signing with `credentials`.
    fn client_with(&self, credentials: AwsCredentials) -> SecretsManager {
        SecretsManager::new("us-east-1", credentials)
            .unwrap()
            .endpoint(&self.url)
            .unwrap()
            .fetch_policy(&FetchPolicy::default().allow_loopback())
            .unwrap()
    }

    fn client(&self) -> SecretsManager {
        self.client_with(credentials("AKIAIOSFODNN7EXAMPLE", "any"))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn credentials(id: &str, secret: &str) -> AwsCredentials {
    AwsCredentials::new(id, SecretString::new(secret.into())).unwrap()
}

/// The text between `<tag>` and `</tag>` in `xml`.
fn xml_field<'x>(xml: &'x str, tag: &str) -> &'x str {
    let start = xml.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>")).unwrap();
    &xml[start..start + end]
}

/// The error's text and debug form, which must not show `MARKER`.
fn assert_unprinted(error: &impl std::fmt::Debug, text: String) {
    let shown = format!("{text} {error:?}");
    assert!(!shown.contains(MARKER), "{shown}");
}

#[tokio::test]
#[cfg_attr(
    skip_moto,
    ignore = "MCP_SECURE_MOTO_SERVER is not set: the path of moto_server (pip install 'moto[server]==5.2.5') runs it"
)]
async fn string_and_json_secrets_are_read() {
    let moto = Moto::start(&[]);
    moto.secrets(
        "CreateSecret",
        json!({"Name": "app/token", "SecretString": format!("token-{MARKER}")}),
    )
    .await;
    let db = json!({"username": "app", "password": format!("pw-{MARKER}"), "port": 5432, "note": MARKER});
    moto.secrets(
        "CreateSecret",
        json!({"Name": "app/db", "SecretString": db.to_string()}),
    )
    .await;
    let client = moto.client();

    let token = client.secret("app/token").get().await.unwrap();
    assert_eq!(token.expose_secret(), format!("token-{MARKER}"));
    assert_eq!(format!("{token:?}"), "[REDACTED]");
    let password = client.secret("app/db").json_key("password").get().await;
    assert_eq!(password.unwrap().expose_secret(), format!("pw-{MARKER}"));

    // A field that is missing or not a string, or a secret that is not JSON: named, not shown.
    for (id, key, kind) in [
        ("app/db", "passwd", AwsSecretErrorKind::MissingKey),
        ("app/db", "port", AwsSecretErrorKind::KeyNotString),
        ("app/token", "password", AwsSecretErrorKind::NotJson),
    ] {
        let error = client.secret(id).json_key(key).get().await.unwrap_err();
        assert_eq!(error.kind(), kind, "{id} {key}");
        assert!(error.to_string().contains(key), "{error}");
        assert_unprinted(&error, error.to_string());
    }

    // Uncached, the value as AWS holds it.
    let SecretValue::Text(text) = client.fetch("app/token").await.unwrap() else {
        panic!("a text secret");
    };
    assert_eq!(text.expose_secret(), format!("token-{MARKER}"));
}

#[tokio::test]
#[cfg_attr(
    skip_moto,
    ignore = "MCP_SECURE_MOTO_SERVER is not set: the path of moto_server (pip install 'moto[server]==5.2.5') runs it"
)]
async fn a_rotated_secret_is_read_after_the_ttl() {
    let moto = Moto::start(&[]);
    let db = |password: &str| json!({"username": "app", "password": password}).to_string();
    moto.secrets(
        "CreateSecret",
        json!({"Name": "rotating", "SecretString": db("v1")}),
    )
    .await;
    let ttl = Duration::from_secs(2);
    let secret = moto
        .client()
        .secret("rotating")
        .json_key("password")
        .ttl(ttl);
    let before = Instant::now();
    assert_eq!(secret.get().await.unwrap().expose_secret(), "v1");
    // The value was fetched between `before` and `after`, and expires a TTL later.
    let after = Instant::now();

    // Rotation: a new AWSCURRENT version.
    let put = moto
        .secrets(
            "PutSecretValue",
            json!({"SecretId": "rotating", "SecretString": db("v2")}),
        )
        .await;
    assert!(
        put["VersionStages"].to_string().contains("AWSCURRENT"),
        "{put}"
    );
    let SecretValue::Text(current) = moto.client().fetch("rotating").await.unwrap() else {
        panic!("a text secret");
    };
    assert!(
        current.expose_secret().contains("v2"),
        "AWS serves the new version"
    );

    // The cached value until its TTL ends …
    assert_eq!(secret.get().await.unwrap().expose_secret(), "v1");
    assert!(
        before.elapsed() < ttl,
        "the reads above took less than the TTL"
    );
    // … then the new one, for every reader at once.
    tokio::time::sleep(ttl.saturating_sub(after.elapsed())).await;
    let readers: Vec<_> = (0..20)
        .map(|_| {
            let secret = secret.clone();
            tokio::spawn(async move { secret.get().await.unwrap().expose_secret().to_owned() })
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.await.unwrap(), "v2");
    }
}

#[tokio::test]
#[cfg_attr(
    skip_moto,
    ignore = "MCP_SECURE_MOTO_SERVER is not set: the path of moto_server (pip install 'moto[server]==5.2.5') runs it"
)]
async fn missing_and_deleted_secrets_fail_and_are_not_served_from_the_cache() {
    let moto = Moto::start(&[]);
    let client = moto.client();
    let missing = client.secret("no/such/secret").get().await.unwrap_err();
    assert_eq!(missing.kind(), AwsSecretErrorKind::NotFound);
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
    assert!(missing.to_string().contains("no/such/secret"), "{missing}");

    moto.secrets(
        "CreateSecret",
        json!({"Name": "doomed", "SecretString": MARKER}),
    )
    .await;
    let ttl = Duration::from_secs(1);
    // Even with an hour of stale serving allowed, a deleted secret is not served.
    let secret = client
        .secret("doomed")
        .ttl(ttl)
        .serve_stale_for(Duration::from_secs(3600));
    assert_eq!(secret.get().await.unwrap().expose_secret(), MARKER);
    moto.secrets("DeleteSecret", json!({"SecretId": "doomed"}))
        .await;
    tokio::time::sleep(ttl).await;
    let deleted = secret.get().await.unwrap_err();
    assert_eq!(deleted.kind(), AwsSecretErrorKind::InvalidRequest);
    assert_eq!(deleted.code(), Some("InvalidRequestException"));
    assert!(
        deleted.to_string().contains("scheduled for deletion"),
        "{deleted}"
    );
    assert_unprinted(&deleted, deleted.to_string());
    // Restored, it is read again (once the one-second pause after a failure is over).
    moto.secrets("RestoreSecret", json!({"SecretId": "doomed"}))
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(secret.get().await.unwrap().expose_secret(), MARKER);
}

#[tokio::test]
#[cfg_attr(
    skip_moto,
    ignore = "MCP_SECURE_MOTO_SERVER is not set: the path of moto_server (pip install 'moto[server]==5.2.5') runs it"
)]
async fn binary_secrets_are_bytes_and_never_taken_for_text() {
    let moto = Moto::start(&[]);
    // The bytes 0x00 0x01 0x02 0xff: not UTF-8.
    moto.secrets(
        "CreateSecret",
        json!({"Name": "key.der", "SecretBinary": "AAEC/w=="}),
    )
    .await;
    let client = moto.client();
    let SecretValue::Binary(bytes) = client.fetch("key.der").await.unwrap() else {
        panic!("a binary secret");
    };
    assert_eq!(bytes.expose_secret(), &[0, 1, 2, 255]);
    assert_eq!(format!("{bytes:?}"), "[REDACTED]");
    let error = client.secret("key.der").get().await.unwrap_err();
    assert_eq!(error.kind(), AwsSecretErrorKind::Binary);
    assert!(
        error.to_string().contains("SecretsManager::fetch"),
        "{error}"
    );
}

/// A server that answers every request with `status`, `headers` and `body`.
async fn answering(status: &str, headers: &str, body: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = format!(
        "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = vec![0; 64 * 1024];
            let _ = stream.read(&mut request).await;
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    url
}

#[tokio::test]
async fn errors_print_neither_the_secret_nor_the_answer() {
    for (status, headers, body, kind) in [
        (
            "400 Bad Request",
            "",
            json!({"__type": "AccessDeniedException", "Message": MARKER, "SecretString": MARKER})
                .to_string(),
            AwsSecretErrorKind::AccessDenied,
        ),
        (
            "400 Bad Request",
            "x-amzn-errortype: ThrottlingException:http://internal.amazon.com/\r\n",
            json!({"message": MARKER}).to_string(),
            AwsSecretErrorKind::Throttled,
        ),
        (
            "400 Bad Request",
            "",
            json!({"__type": MARKER}).to_string(),
            AwsSecretErrorKind::Rejected,
        ),
        (
            "502 Bad Gateway",
            "content-type: text/html\r\n",
            format!("<html>{MARKER}</html>"),
            AwsSecretErrorKind::Unavailable,
        ),
        (
            "200 OK",
            "",
            json!({"SecretString": 5, "Name": MARKER}).to_string(),
            AwsSecretErrorKind::Malformed,
        ),
        (
            "200 OK",
            "",
            format!("{{\"SecretString\": \"{MARKER}"),
            AwsSecretErrorKind::Malformed,
        ),
    ] {
        let url = answering(status, headers, body).await;
        let client = SecretsManager::new("us-east-1", credentials("AKIAIOSFODNN7EXAMPLE", MARKER))
            .unwrap()
            .endpoint(&url)
            .unwrap()
            .fetch_policy(&FetchPolicy::default().allow_loopback())
            .unwrap();
        let error = client.secret("s").get().await.unwrap_err();
        assert_eq!(error.kind(), kind, "{status} {error}");
        assert_unprinted(&error, error.to_string());
        assert_unprinted(&client, String::new());
    }
}

#[tokio::test]
#[cfg_attr(
    skip_moto,
    ignore = "MCP_SECURE_MOTO_SERVER is not set: the path of moto_server (pip install 'moto[server]==5.2.5') runs it"
)]
async fn an_unreachable_store_serves_the_last_value_within_its_bound_only() {
    let mut moto = Moto::start(&[]);
    moto.secrets("CreateSecret", json!({"Name": "s", "SecretString": "v1"}))
        .await;
    let client = moto.client();
    let ttl = Duration::from_secs(1);
    let tolerant = client
        .secret("s")
        .ttl(ttl)
        .serve_stale_for(Duration::from_secs(3600));
    let strict = client.secret("s").ttl(ttl).serve_stale_for(Duration::ZERO);
    assert_eq!(tolerant.get().await.unwrap().expose_secret(), "v1");
    assert_eq!(strict.get().await.unwrap().expose_secret(), "v1");

    // The store goes away.
    let _ = moto.child.kill();
    let _ = moto.child.wait();
    tokio::time::sleep(ttl).await;
    assert_eq!(tolerant.get().await.unwrap().expose_secret(), "v1");
    let error = strict.get().await.unwrap_err();
    assert_eq!(error.kind(), AwsSecretErrorKind::Network, "{error}");

    // Without a fetch policy allowing loopback, nothing is sent there.
    let refused = SecretsManager::new("us-east-1", credentials("AKIAIOSFODNN7EXAMPLE", "k"))
        .unwrap()
        .endpoint(&moto.url)
        .unwrap();
    let error = refused.secret("s").get().await.unwrap_err();
    assert_eq!(error.kind(), AwsSecretErrorKind::Refused, "{error}");
}

#[tokio::test]
#[cfg_attr(
    skip_moto,
    ignore = "MCP_SECURE_MOTO_SERVER is not set: the path of moto_server (pip install 'moto[server]==5.2.5') runs it"
)]
async fn signatures_and_permissions_are_checked() {
    // moto checks signatures and IAM policies after its first 7 requests (the setup below).
    let moto = Moto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "7")]);
    let mut keys = Vec::new();
    for user in ["reader", "stranger"] {
        moto.iam(&[("Action", "CreateUser"), ("UserName", user)])
            .await;
        let key = moto
            .iam(&[("Action", "CreateAccessKey"), ("UserName", user)])
            .await;
        keys.push((
            xml_field(&key, "AccessKeyId").to_owned(),
            xml_field(&key, "SecretAccessKey").to_owned(),
        ));
    }
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]});
    moto.iam(&[
        ("Action", "PutUserPolicy"),
        ("UserName", "reader"),
        ("PolicyName", "read-secrets"),
        ("PolicyDocument", &policy.to_string()),
    ])
    .await;
    moto.secrets(
        "CreateSecret",
        json!({"Name": "guarded", "SecretString": MARKER}),
    )
    .await;
    // The 7th unauthenticated request: the store is up.
    moto.secrets("ListSecrets", json!({})).await;

    let (reader_id, reader_secret) = &keys[0];
    let reader = moto.client_with(credentials(reader_id, reader_secret));
    let value = reader.secret("guarded").get().await.unwrap();
    assert_eq!(value.expose_secret(), MARKER);

    // A wrong secret key: the signature does not match.
    let forged = moto.client_with(credentials(reader_id, &format!("{reader_secret}x")));
    let error = forged.secret("guarded").get().await.unwrap_err();
    assert_eq!(error.kind(), AwsSecretErrorKind::AccessDenied, "{error}");
    assert_eq!(error.code(), Some("SignatureDoesNotMatch"), "{error}");
    assert_unprinted(&error, error.to_string());
    assert!(!error.to_string().contains(reader_secret.as_str()));

    // Valid credentials without a policy allowing the read.
    let (stranger_id, stranger_secret) = &keys[1];
    let stranger = moto.client_with(credentials(stranger_id, stranger_secret));
    let error = stranger.secret("guarded").get().await.unwrap_err();
    assert_eq!(error.kind(), AwsSecretErrorKind::AccessDenied, "{error}");
    assert_eq!(error.code(), Some("AccessDenied"), "{error}");

    // A key moto never issued.
    let unknown = moto.client_with(credentials("AKIAUNKNOWNKEY000000", "k"));
    let error = unknown.secret("guarded").get().await.unwrap_err();
    assert_eq!(error.kind(), AwsSecretErrorKind::AccessDenied, "{error}");
    assert_eq!(error.code(), Some("InvalidClientTokenId"), "{error}");
}
