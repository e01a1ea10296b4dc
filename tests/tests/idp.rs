//! A third-party identity provider: `oauth2-mock-server` (from npm, run by `tests/node/idp.mjs`)
//! issues RS256 tokens; the demo, started with `--issuer`, finds its keys by discovery
//! (`JwtVerifier::discover`), names it to OAuth clients, and accepts its tokens for this
//! resource only.
//!
//! Node and the package come from `.ci/node.sh` (`MCP_SECURE_NODE`, `MCP_SECURE_NODE_MODULES`);
//! without them the tests are ignored with the reason, except in CI.

mod common;

use std::time::Duration;

use common::{HttpServer, KEYS, connect, files_dir, idp::Idp};
use mcp_secure::{
    auth::{Audience, IntrospectionVerifier, JwtConfigErrorKind, JwtVerifier, TokenVerifier},
    fetch::FetchPolicy,
    secret::SecretString,
};
use serde_json::{Value, json};

#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn the_demo_accepts_a_third_party_issuers_tokens_for_itself_only() {
    let idp = Idp::start();
    let (files, _outside) = files_dir();
    // The identity provider is on loopback, which the demo fetches from only when told.
    let server = HttpServer::start_with(
        Some(KEYS),
        files.path(),
        &["--issuer", &idp.issuer, "--fetch-allow", "127.0.0.1"],
    );

    // OAuth clients are sent to the issuer, which answers.
    let base = server.url.trim_end_matches("/mcp");
    let metadata: Value = reqwest::get(format!("{base}/.well-known/oauth-protected-resource/mcp"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["authorization_servers"], json!([idp.issuer]));

    let token = idp.token("dana", "notes:read", &server.url).await;
    let dana = connect(&server.url, &token).await;
    let me = common::call(&dana, "whoami", json!({})).await;
    let me = common::ok(&me);
    assert_eq!(me["issuer"], idp.issuer.as_str());
    assert_eq!(me["subject"], "dana");
    assert_eq!(me["scopes"], json!(["notes:read"]));
    dana.cancel().await.unwrap();

    // A token of the same issuer for another resource is refused before any MCP message.
    let elsewhere = idp
        .token("dana", "notes:read", "https://other.example/mcp")
        .await;
    let refused = common::rpc(
        &reqwest::Client::new(),
        &server.url,
        Some(&format!("Bearer {elsewhere}")),
    )
    .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
    .send()
    .await
    .unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn discovery_takes_only_the_issuer_it_was_told() {
    let idp = Idp::start();
    let resource = "http://127.0.0.1:9/mcp";
    // On loopback: refused unless the policy names it.
    let Err(e) = JwtVerifier::discover(&idp.issuer, Audience::from(resource)).await else {
        panic!("an issuer on loopback was fetched from without being allowed");
    };
    assert_eq!(e.kind(), JwtConfigErrorKind::Discovery, "{e}");
    assert!(e.to_string().contains("does not fetch from"), "{e}");
    let loopback = FetchPolicy::default().allow_loopback();
    let verifier = JwtVerifier::discover_with(&idp.issuer, Audience::from(resource), &loopback)
        .await
        .unwrap();
    let token = idp.token("erin", "notes:write", resource).await;
    let erin = verifier.verify(&token).await.unwrap();
    assert_eq!(
        (erin.issuer(), erin.subject()),
        (idp.issuer.as_str(), "erin")
    );

    // The metadata names the issuer without a trailing slash: one spelling only.
    let slashed = format!("{}/", idp.issuer);
    let Err(e) = JwtVerifier::discover_with(&slashed, Audience::Resource, &loopback).await else {
        panic!("another spelling of the issuer was accepted");
    };
    assert_eq!(e.kind(), JwtConfigErrorKind::IssuerMismatch, "{e}");
    // Nothing answers: no verifier.
    let Err(e) =
        JwtVerifier::discover_with("http://127.0.0.1:9", Audience::Resource, &loopback).await
    else {
        panic!("a verifier without metadata");
    };
    assert_eq!(e.kind(), JwtConfigErrorKind::Discovery, "{e}");
    let Err(e) = JwtVerifier::discover("http://idp.example", Audience::Resource).await else {
        panic!("plain http to a remote issuer");
    };
    assert_eq!(e.kind(), JwtConfigErrorKind::Issuer, "{e}");
}

fn introspection(idp: &Idp, secret: &str) -> IntrospectionVerifier {
    IntrospectionVerifier::new(
        &format!("{}/introspect", idp.issuer),
        &idp.issuer,
        "mcp-client",
        SecretString::new(secret.to_owned()),
    )
    .unwrap()
    .fetch_policy(&FetchPolicy::default().allow_loopback())
    .unwrap()
}

#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn introspection_asks_the_issuer_caches_within_bounds_and_fails_closed() {
    let mut idp = Idp::start();
    let resource = "http://127.0.0.1:9/mcp";
    let verifier = introspection(&idp, "mcp-secret").audience(resource);
    let token = idp.token("fay", "notes:read", resource).await;
    let fay = verifier.verify(&token).await.unwrap();
    assert_eq!((fay.issuer(), fay.subject()), (idp.issuer.as_str(), "fay"));
    assert_eq!(fay.scopes(), ["notes:read"]);
    assert_eq!(fay.client_id(), Some("a-client"));

    // Meant for another resource, or asked with the wrong client secret: refused, the second
    // as undecided (the server could not ask), never as accepted.
    let elsewhere = idp
        .token("fay", "notes:read", "https://other.example/mcp")
        .await;
    let e = verifier.verify(&elsewhere).await.unwrap_err();
    assert!(!e.is_unavailable(), "{e}");
    let wrong = introspection(&idp, "not-the-secret").audience(resource);
    let e = wrong.verify(&token).await.unwrap_err();
    assert!(e.is_unavailable(), "{e}");

    // Revoked: a verifier that caches nothing sees it at once; the caching one keeps its
    // answer for its bound only.
    let uncached = introspection(&idp, "mcp-secret")
        .audience(resource)
        .cache_for(Duration::ZERO);
    let briefly = introspection(&idp, "mcp-secret")
        .audience(resource)
        .cache_for(Duration::from_secs(2));
    assert!(uncached.verify(&token).await.is_ok());
    assert!(briefly.verify(&token).await.is_ok());
    idp.revoke_all();
    assert!(uncached.verify(&token).await.is_err(), "revoked");
    assert!(
        briefly.verify(&token).await.is_ok(),
        "cached within its bound"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(briefly.verify(&token).await.is_err(), "past its bound");

    // The endpoint down: a cached answer still holds; any other token is refused as undecided.
    let other = idp.token("gus", "notes:read", resource).await;
    idp.stop();
    assert!(verifier.verify(&token).await.is_ok(), "cached before");
    let e = verifier.verify(&other).await.unwrap_err();
    assert!(e.is_unavailable(), "{e}");
}
