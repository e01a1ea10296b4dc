//! `IntrospectionVerifier` against an introspection endpoint run by the test: only answers that
//! describe an access token pass, and the endpoint is asked only where the policy allows.

#![cfg(feature = "introspection")]

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::{Router, routing::post};
use mcp_secure::{
    auth::{Attribute, AttributeKind, Attributes, IntrospectionVerifier, TokenVerifier},
    fetch::FetchPolicy,
    secret::SecretString,
};
use serde_json::{Value, json};

const ISS: &str = "https://idp.example";
const AUD: &str = "https://mcp.example/mcp";

/// An endpoint that answers each token with the `token_type` the token names (`type-<T>`; a
/// token `untyped` gets an answer without one), or with the members it names
/// (`members-<JSON object>`), active and otherwise valid. Counts requests.
async fn endpoint() -> (String, Arc<AtomicUsize>) {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let app = Router::new().route(
        "/introspect",
        post(move |body: String| {
            counter.fetch_add(1, Ordering::SeqCst);
            let token = url::form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let mut answer = json!({
                "active": true, "sub": "ann", "aud": AUD, "iss": ISS, "scope": "notes:read",
            });
            if let Some(kind) = token.strip_prefix("type-") {
                answer["token_type"] = Value::from(kind);
            }
            // `members-<JSON object>`: those members added to the answer.
            if let Some(members) = token.strip_prefix("members-") {
                let members: serde_json::Map<String, Value> =
                    serde_json::from_str(members).unwrap();
                answer.as_object_mut().unwrap().extend(members);
            }
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    answer.to_string(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, asked)
}

fn verifier(url: &str) -> IntrospectionVerifier {
    IntrospectionVerifier::new(url, ISS, "mcp", SecretString::new("s3cret".into()))
        .unwrap()
        .audience(AUD)
        .cache_for(std::time::Duration::ZERO)
}

#[tokio::test]
async fn only_access_tokens_pass() {
    let (url, _) = endpoint().await;
    let verifier = verifier(&url)
        .fetch_policy(&FetchPolicy::default().allow_loopback())
        .unwrap();
    for accepted in [
        "type-Bearer",
        "type-bearer",
        "type-access_token",
        "type-urn:ietf:params:oauth:token-type:access_token",
        "untyped",
    ] {
        let ann = verifier.verify(accepted).await;
        assert_eq!(ann.unwrap().subject(), "ann", "{accepted}");
    }
    for refused in [
        "type-refresh_token",
        "type-urn:ietf:params:oauth:token-type:refresh_token",
        "type-id_token",
        "type-DPoP",
        "type-N_A",
    ] {
        let e = verifier.verify(refused).await.unwrap_err();
        assert!(!e.is_unavailable(), "{refused}: {e}");
        assert!(e.reason().contains("not an access token"), "{refused}: {e}");
    }
    // Required: an answer that does not say is refused too.
    let strict = verifier.require_token_type(true);
    let e = strict.verify("untyped").await.unwrap_err();
    assert!(e.reason().contains("`token_type`"), "{e}");
    assert!(strict.verify("type-Bearer").await.is_ok());
}

#[tokio::test]
async fn an_endpoint_on_loopback_is_not_asked_unless_allowed() {
    let (url, asked) = endpoint().await;
    for url in [url.clone(), url.replace("127.0.0.1", "localhost")] {
        let e = verifier(&url).verify("type-Bearer").await.unwrap_err();
        assert!(e.is_unavailable(), "{e}");
        assert!(e.reason().contains("does not fetch from"), "{e}");
        assert!(!e.reason().contains("127.0.0.1"), "{e}");
    }
    assert_eq!(asked.load(Ordering::SeqCst), 0, "never connected to");
}

/// The tenant and attributes a server reads from claims, read from the introspection answer
/// the same way: checked as a JWT's claims are, a bad one refusing the token.
#[tokio::test]
async fn tenant_and_attributes_come_from_the_answer_checked_as_claims_are() {
    let (url, _) = endpoint().await;
    let attributes = Attributes::new()
        .with("roles", AttributeKind::Texts)
        .unwrap()
        .with("limit", AttributeKind::Number)
        .unwrap();
    let verifier = verifier(&url)
        .fetch_policy(&FetchPolicy::default().allow_loopback())
        .unwrap()
        .tenant_claim("tenant")
        .attributes(&attributes);
    let token = |members: Value| format!("members-{members}");

    let ann = verifier
        .verify(&token(json!({
            "tenant": "acme", "roles": ["editor", "cleared"], "limit": 500, "other": "ignored"
        })))
        .await
        .unwrap();
    assert_eq!(ann.tenant(), Some("acme"));
    assert_eq!(
        ann.attribute("roles"),
        Some(&Attribute::Texts(vec!["editor".into(), "cleared".into()]))
    );
    assert_eq!(ann.attribute("limit"), Some(&Attribute::Number(500)));
    assert_eq!(ann.attribute("other"), None, "only declared attributes");

    // Absent or null: no tenant, no attribute.
    let bare = verifier
        .verify(&token(json!({ "tenant": null, "roles": null })))
        .await
        .unwrap();
    assert_eq!(bare.tenant(), None);
    assert_eq!(bare.attribute("roles"), None);

    // Present and wrong: the token is refused, naming the member, never its value.
    for (members, names) in [
        (json!({ "tenant": 7 }), "tenant"),
        (json!({ "tenant": "ac\u{7}me" }), "tenant"),
        (json!({ "tenant": "" }), "tenant"),
        (json!({ "roles": 7 }), "`roles`"),
        (json!({ "roles": ["ok", "bad\u{202e}"] }), "`roles`"),
        (json!({ "roles": vec!["r"; 65] }), "`roles`"),
        (json!({ "limit": "500" }), "`limit`"),
        (json!({ "limit": 5.5 }), "`limit`"),
        (json!({ "roles": [""] }), "`roles`"),
    ] {
        let e = verifier.verify(&token(members.clone())).await.unwrap_err();
        assert!(!e.is_unavailable(), "{members}: {e}");
        assert!(e.reason().contains(names), "{members}: {e}");
        assert!(!e.reason().contains("bad"), "{members}: {e}");
    }
}
