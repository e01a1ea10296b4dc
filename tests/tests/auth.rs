//! Authorization over real HTTP against the demo: JWTs minted by `notes-server token`, a matrix
//! of bad tokens, challenges, protected resource metadata, Origin, body limit, security headers
//! and sessions bound to their principal.

mod common;

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign(claims: &Value, alg: Algorithm, key: &[u8]) -> String {
    encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).unwrap()
}

const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
];

fn assert_security_headers(response: &reqwest::Response, what: &str) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(
            response.headers().get(name).map(|v| v.to_str().unwrap()),
            Some(value),
            "{name} on {what}"
        );
    }
}

#[tokio::test]
async fn tokens_from_the_token_command_are_accepted() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let token = mint(&server.url, "carol", "notes:write files:read", &[]);
    let carol = server.client(&token).await;
    let me = call(&carol, "whoami", json!({})).await;
    assert_eq!(ok(&me)["subject"], "carol");
    assert_eq!(ok(&me)["scopes"], json!(["notes:write", "files:read"]));
    let created = call(
        &carol,
        "notes_create",
        json!({"title": "from a JWT", "body": ""}),
    )
    .await;
    ok(&created);
    let denied = try_call(
        &carol,
        "webhook_register",
        json!({"url": "https://x.example.com", "secret": "0123456789abcdef"}),
    )
    .await
    .unwrap_err();
    // The challenge names what carol holds with what she lacks, so that a client replacing its
    // token with what the challenge names keeps what it had.
    assert_eq!(
        challenge_scope(&denied).as_deref(),
        Some("notes:write files:read webhooks:write")
    );
    carol.cancel().await.unwrap();
}

#[tokio::test]
async fn bad_tokens_get_401_invalid_token_and_reach_nothing() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let issuer = server.url.trim_end_matches("/mcp").to_owned();
    let good = json!({"iss": issuer, "aud": server.url, "sub": "mallory", "scope": "notes:write", "exp": now() + 600});
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v;
        }
        c
    };
    let secret = JWT_SECRET.as_bytes();
    let bad = [
        (
            "expired",
            sign(&with("exp", json!(now() - 3600)), Algorithm::HS256, secret),
        ),
        (
            "not yet valid",
            sign(&with("nbf", json!(now() + 3600)), Algorithm::HS256, secret),
        ),
        (
            "wrong aud",
            sign(
                &with("aud", json!("http://127.0.0.1:1/mcp")),
                Algorithm::HS256,
                secret,
            ),
        ),
        (
            "wrong iss",
            sign(
                &with("iss", json!("https://evil.example")),
                Algorithm::HS256,
                secret,
            ),
        ),
        (
            "missing exp",
            sign(&with("exp", Value::Null), Algorithm::HS256, secret),
        ),
        (
            "bad signature",
            sign(
                &good,
                Algorithm::HS256,
                b"not-the-server-secret-0123456789abc",
            ),
        ),
        (
            "HS512 instead of HS256",
            sign(&good, Algorithm::HS512, secret),
        ),
        (
            "alg none",
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJtYWxsb3J5In0.".to_owned(),
        ),
        ("malformed", "a.b.c".to_owned()),
        ("huge", "x".repeat(64 * 1024)),
    ];
    for (what, token) in bad {
        let response = post_initialize(&server.url, Some(&format!("Bearer {token}"))).await;
        assert_eq!(response.status(), 401, "{what}");
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with(r#"Bearer error="invalid_token""#)
                && challenge.contains("resource_metadata="),
            "{what}: {challenge}"
        );
        assert_security_headers(&response, what);
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("expired") && !body.contains("signature"),
            "{what}: the client learns no reason: {body}"
        );
    }
    let empty = post_initialize(&server.url, Some("Bearer ")).await;
    assert_eq!(empty.status(), 401);
    let audit = server.drain_stderr().join("\n");
    for reason in [
        "expired",
        "not valid yet (nbf)",
        "wrong audience",
        "wrong issuer",
        "missing claim `exp`",
        "bad signature",
        "algorithm not allowed",
    ] {
        assert!(
            audit.contains(reason),
            "the audit log says why ({reason}): {audit}"
        );
    }
    assert!(
        !audit.contains("mallory"),
        "refused tokens' claims are not logged"
    );
}

#[tokio::test]
async fn protected_resource_metadata_is_served() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let base = server.url.trim_end_matches("/mcp").to_owned();
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let response = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_security_headers(&response, path);
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["resource"], server.url);
        // No --dev-auth or --issuer: no authorization server answers, so none is named.
        assert!(doc.get("authorization_servers").is_none(), "{doc}");
        assert_eq!(
            doc["scopes_supported"],
            json!(["notes:read", "notes:write", "files:read", "webhooks:write"])
        );
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }
}

#[tokio::test]
async fn origin_body_limit_headers_and_sessions() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let http = reqwest::Client::new();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let post = |key: &str| rpc(&http, &server.url, Some(&format!("Bearer {key}")));

    let evil = post("alice-writer-key-000")
        .header("Origin", "https://evil.example")
        .json(&init)
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);
    assert_security_headers(&evil, "403 Origin");

    // Its own client: the server answers 413 without reading the rest, and that connection is
    // not reused.
    let huge = rpc(
        &reqwest::Client::new(),
        &server.url,
        Some("Bearer alice-writer-key-000"),
    )
    .body(vec![b' '; 5 << 20])
    .send()
    .await
    .unwrap();
    assert_eq!(huge.status(), 413);

    let ok_response = post("alice-writer-key-000")
        .json(&init)
        .send()
        .await
        .unwrap();
    assert_eq!(ok_response.status(), 200);
    assert_security_headers(&ok_response, "200");
    let session = ok_response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let missing = http
        .get(server.url.replace("/mcp", "/nope"))
        .header("Authorization", "Bearer alice-writer-key-000")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_security_headers(&missing, "404");

    // Another principal presenting alice's session gets nothing.
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let hijack = post("bob-all-key-00000000")
        .header("Mcp-Session-Id", &session)
        .header("MCP-Protocol-Version", "2025-06-18")
        .json(&list)
        .send()
        .await
        .unwrap();
    assert_eq!(hijack.status(), 404);
    let own = post("alice-writer-key-000")
        .header("Mcp-Session-Id", &session)
        .header("MCP-Protocol-Version", "2025-06-18")
        .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await
        .unwrap();
    assert!(
        own.status().is_success(),
        "the owner keeps using it: {}",
        own.status()
    );

    let audit = server.drain_stderr().join("\n");
    assert!(
        audit.contains("\"event\":\"origin_refused\"") && audit.contains("https://evil.example"),
        "{audit}"
    );
    assert!(
        audit.contains("session belongs to another principal"),
        "{audit}"
    );
}

#[tokio::test]
async fn cors_is_for_configured_origins_only_and_hosts_are_checked() {
    let (files, _outside) = files_dir();
    let allowed = "http://localhost:6274";
    let server = HttpServer::start_with(Some(KEYS), files.path(), &["--allow-origin", allowed]);
    let http = reqwest::Client::new();
    let preflight = http
        .request(reqwest::Method::OPTIONS, &server.url)
        .header("Origin", allowed)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], allowed);
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );

    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let post = |origin: &'static str| {
        rpc(&http, &server.url, Some("Bearer alice-writer-key-000"))
            .header("Origin", origin)
            .json(&init)
            .send()
    };
    let from_allowed = post("http://localhost:6274").await.unwrap();
    assert_eq!(from_allowed.status(), 200);
    assert_eq!(
        from_allowed.headers()["access-control-allow-origin"],
        allowed
    );
    let from_other = post("http://localhost:6275").await.unwrap();
    assert_eq!(from_other.status(), 403);
    assert!(
        from_other
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // DNS rebinding: a request whose Host is not this server's is refused.
    let rebound = rpc(&http, &server.url, Some("Bearer alice-writer-key-000"))
        .header("Host", "evil.example")
        .json(&init)
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);
    assert_security_headers(&rebound, "403 Host");
}

#[tokio::test]
async fn behind_a_load_balancer_tokens_are_for_the_public_url() {
    let (files, _outside) = files_dir();
    let public = "https://mcp.example.com/mcp";
    // The test reaches the replica at its own address, as a health check would: allowed by
    // name.
    let server = HttpServer::start_with(
        Some(KEYS),
        files.path(),
        &["--url", public, "--allow-host", "127.0.0.1"],
    );
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains("(public URL https://mcp.example.com/mcp)")),
        "{:?}",
        server.banner
    );
    let metadata: Value = reqwest::get(
        server
            .url
            .replace("/mcp", "/.well-known/oauth-protected-resource/mcp"),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(metadata["resource"], public);
    // A token for the public URL is accepted; one for the replica's own address is not (`aud`).
    let good = server
        .client(&mint(public, "dora", "notes:read", &[]))
        .await;
    assert_eq!(
        ok(&call(&good, "whoami", json!({})).await)["subject"],
        "dora"
    );
    good.cancel().await.unwrap();
    let wrong = rpc(
        &reqwest::Client::new(),
        &server.url,
        Some(&format!(
            "Bearer {}",
            mint(&server.url, "dora", "notes:read", &[])
        )),
    )
    .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
    .send()
    .await
    .unwrap();
    assert_eq!(wrong.status(), 401);
    // The public URL's host (what the load balancer forwards) and the listed one are served;
    // any other is refused, before a session is opened.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let token = format!("Bearer {}", mint(public, "dora", "notes:read", &[]));
    for (host, status) in [
        ("mcp.example.com", 200),
        ("MCP.EXAMPLE.COM", 200),
        ("127.0.0.1", 200),
        ("evil.example.com", 403),
        ("mcp.example.com.evil.example", 403),
    ] {
        let answer = rpc(&reqwest::Client::new(), &server.url, Some(&token))
            .header("Host", host)
            .json(&init)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "Host: {host}");
    }
}

#[tokio::test]
async fn a_token_in_the_environment_is_the_stdio_caller() {
    let (files, _outside) = files_dir();
    let token = mint("http://127.0.0.1:8787/mcp", "dave", "files:read", &[]);
    let client = stdio_client_with(&[("NOTES_TOKEN", &token)], files.path()).await;
    assert_eq!(
        ok(&call(&client, "whoami", json!({})).await)["subject"],
        "dave"
    );
    assert_eq!(
        text(
            &call(
                &client,
                "files_read",
                json!({"path": "hello.txt", "max_bytes": 64})
            )
            .await
        ),
        "hello, world\n"
    );
    assert_eq!(
        err(&call(&client, "notes_get", json!({"id": 1})).await)["code"],
        "insufficient_scope"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn tls_with_hsts() {
    let (files, _outside) = files_dir();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");
    let (cert, key) = (format!("{dir}/cert.pem"), format!("{dir}/key.pem"));
    let server = HttpServer::start_with(
        Some(KEYS),
        files.path(),
        &["--tls-cert", &cert, "--tls-key", &key],
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let ca = format!("{dir}/ca.pem");
    let trusted = reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(trusted)
        .build()
        .unwrap();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let response = rpc(&http, &server.url, Some("Bearer alice-writer-key-000"))
        .json(&init)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
    assert_security_headers(&response, "TLS 200");
    let body = response.text().await.unwrap();
    assert!(body.contains("\"serverInfo\""), "{body}");
    let metadata: Value = http
        .get(
            server
                .url
                .replace("/mcp", "/.well-known/oauth-protected-resource/mcp"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resource"], server.url);
    // Plain HTTP to the TLS port gets no answer from the MCP server.
    let plain = reqwest::Client::new()
        .post(server.url.replace("https://", "http://"))
        .json(&init)
        .send()
        .await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
}
