//! Tenants over real HTTP against the demo: a token's `tenant` claim (`notes-server token
//! --tenant`) keeps the same subject's notes of two tenants apart, and a claim that is not a
//! tenant name refuses the token.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn a_tenants_notes_are_not_seen_from_another_tenant() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let acme = server
        .client(&mint(
            &server.url,
            "alice",
            "notes:write",
            &["--tenant", "acme"],
        ))
        .await;
    let globex = server
        .client(&mint(
            &server.url,
            "alice",
            "notes:write",
            &["--tenant", "globex"],
        ))
        .await;
    let no_tenant = server
        .client(&mint(&server.url, "alice", "notes:write", &[]))
        .await;
    let bob_at_acme = server
        .client(&mint(
            &server.url,
            "bob",
            "notes:write",
            &["--tenant", "acme"],
        ))
        .await;

    let created = call(
        &acme,
        "notes_create",
        json!({"title": "acme plans", "body": "secret"}),
    )
    .await;
    let id = ok(&created)["id"].as_i64().unwrap();
    assert_eq!(
        ok(&call(&acme, "notes_get", json!({"id": id})).await)["title"],
        "acme plans"
    );
    // The same subject in another tenant, without one, and another subject of the tenant: as
    // if the note did not exist, for every path to it.
    for (who, client) in [
        ("alice@globex", &globex),
        ("alice", &no_tenant),
        ("bob@acme", &bob_at_acme),
    ] {
        assert_notes_unseen(client, who, &[id]).await;
    }
    // Still there for its owner in its tenant.
    assert_eq!(
        ok(&call(&acme, "notes_get", json!({"id": id})).await)["title"],
        "acme plans"
    );
    for client in [acme, globex, no_tenant, bob_at_acme] {
        client.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn a_tenant_claim_that_is_not_a_tenant_name_refuses_the_token() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    // `token` refuses to mint one...
    let out = std::process::Command::new(bin())
        .args([
            "token",
            "--sub",
            "alice",
            "--tenant",
            "ac\u{202e}me",
            "--url",
            &server.url,
        ])
        .env("NOTES_JWT_SECRET", JWT_SECRET)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--tenant: a tenant has no control or invisible characters")
    );
    // ...and the server refuses one minted by hand, or a tenant that is not a string.
    let issuer = server.url.trim_end_matches("/mcp").to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for tenant in [json!("ac\u{202e}me"), json!(""), json!(42), json!(["acme"])] {
        let claims = json!({
            "iss": issuer, "aud": server.url, "sub": "alice", "scope": "notes:read",
            "iat": now, "exp": now + 300, "tenant": tenant,
        });
        let token = encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .unwrap();
        let response = post_initialize(&server.url, Some(&format!("Bearer {token}"))).await;
        assert_eq!(response.status(), 401, "tenant {tenant}");
    }
}
