//! JWT verification on arbitrary input, two ways: the bytes as a token (never accepted, never a
//! panic), and the bytes as claims signed with the right key (accepted only when `iss`, `aud`,
//! `exp`, `nbf` and `sub` say so; the principal is exactly what the claims say).

#![no_main]

use std::{
    sync::LazyLock,
    time::{SystemTime, UNIX_EPOCH},
};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use libfuzzer_sys::fuzz_target;
use mcp_secure::{
    auth::{JwtVerifier, TokenVerifier},
    secret::SecretString,
};
use serde_json::Value;

const SECRET: &str = "fuzz-secret-0123456789-abcdefghijklmnop";
const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://mcp.example.com/mcp";

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
});
static VERIFIER: LazyLock<JwtVerifier> = LazyLock::new(|| {
    JwtVerifier::hmac(
        Algorithm::HS256,
        SecretString::new(SECRET.to_owned()),
        ISSUER,
        AUDIENCE,
    )
    .unwrap()
});

fn has_audience(aud: &Value) -> bool {
    match aud {
        Value::String(a) => a == AUDIENCE,
        Value::Array(list) => list.iter().any(|a| a == AUDIENCE),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    assert!(
        RUNTIME.block_on(VERIFIER.verify(text)).is_err(),
        "an unsigned string was accepted as a token: {text:?}"
    );
    let Ok(claims) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let Ok(token) = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key) else {
        return;
    };
    let Ok(principal) = RUNTIME.block_on(VERIFIER.verify(&token)) else {
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64;
    assert_eq!(claims["iss"], ISSUER, "{claims}");
    assert!(has_audience(&claims["aud"]), "{claims}");
    let exp = claims["exp"].as_f64().expect("exp is a number");
    assert!(exp + 30.0 >= now, "expired token accepted: {claims}");
    if let Some(nbf) = claims.get("nbf") {
        assert!(
            nbf.as_f64().expect("nbf is a number") <= now + 30.0,
            "{claims}"
        );
    }
    assert_eq!(
        Some(principal.subject()),
        claims["sub"].as_str(),
        "{claims}"
    );
    if let Some(scope) = claims["scope"].as_str() {
        let expected: Vec<&str> = scope.split_whitespace().collect();
        let held: Vec<&str> = principal.scopes().iter().map(String::as_str).collect();
        assert_eq!(held, expected, "{claims}");
    }
});
