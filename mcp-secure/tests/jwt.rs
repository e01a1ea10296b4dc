//! `JwtVerifier` against a matrix of good and bad tokens.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_secure::{
    auth::{JwtConfigErrorKind, JwtVerifier, TokenVerifier},
    fetch::FetchPolicy,
    secret::SecretString,
};
use serde_json::{Value, json};

/// `jsonwebtoken::encode`, with the library's cryptography (ring) registered first.
fn encode<T: serde::Serialize>(
    header: &Header,
    claims: &T,
    key: &EncodingKey,
) -> jsonwebtoken::errors::Result<String> {
    mcp_secure::auth::install_jwt_crypto();
    jsonwebtoken::encode(header, claims, key)
}

const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://mcp.example.com/mcp";
const SECRET: &str = "test-hmac-secret-0123456789-abcdef";

fn keys(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims() -> Value {
    json!({"sub": "alice", "iss": ISS, "aud": AUD, "exp": now() + 600, "scope": "notes:read notes:write", "client_id": "cli"})
}

fn with(overrides: Value) -> Value {
    let mut c = claims();
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn hs256(claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn hmac_verifier() -> JwtVerifier {
    JwtVerifier::hmac(Algorithm::HS256, SecretString::new(SECRET.into()), ISS, AUD).unwrap()
}

async fn reason(v: &JwtVerifier, token: &str) -> String {
    v.verify(token)
        .await
        .expect_err("refused")
        .reason()
        .to_owned()
}

fn b64(v: &Value) -> String {
    b64_bytes(v.to_string().as_bytes())
}

#[tokio::test]
async fn a_good_token_gives_its_principal() {
    let v = hmac_verifier();
    let p = v.verify(&hs256(&claims())).await.unwrap();
    assert_eq!(p.subject(), "alice");
    assert_eq!(p.scopes(), ["notes:read", "notes:write"]);
    assert_eq!(p.client_id(), Some("cli"));
    let scp = with(json!({"scope": null, "scp": ["files:read"], "client_id": null, "azp": "web"}));
    let p = v.verify(&hs256(&scp)).await.unwrap();
    assert_eq!(
        (p.scopes(), p.client_id()),
        (&["files:read".to_owned()][..], Some("web"))
    );
    let aud_list = with(json!({"aud": ["https://other.example", AUD]}));
    assert!(
        v.verify(&hs256(&aud_list)).await.is_ok(),
        "aud may be a list containing us"
    );
}

#[tokio::test]
async fn bad_tokens_are_refused_with_a_reason() {
    let v = hmac_verifier();
    let cases = [
        (hs256(&with(json!({"exp": now() - 3600}))), "expired"),
        (
            hs256(&with(json!({"nbf": now() + 3600}))),
            "not valid yet (nbf)",
        ),
        (
            hs256(&with(json!({"aud": "https://other.example/mcp"}))),
            "wrong audience",
        ),
        (
            hs256(&with(json!({"iss": "https://evil.example"}))),
            "wrong issuer",
        ),
        (hs256(&with(json!({"exp": null}))), "missing claim `exp`"),
        (hs256(&with(json!({"aud": null}))), "missing claim `aud`"),
        (hs256(&with(json!({"iss": null}))), "missing claim `iss`"),
        (hs256(&with(json!({"sub": null}))), "token has no `sub`"),
        (
            encode(
                &Header::new(Algorithm::HS256),
                &claims(),
                &EncodingKey::from_secret(b"another-secret-0123456789-abcdefgh"),
            )
            .unwrap(),
            "bad signature",
        ),
        (
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&claims())
            ),
            "malformed token",
        ),
        ("not.a.jwt".to_owned(), "malformed token"),
        (String::new(), "malformed token"),
        ("x".repeat(20_000), "token longer than 16 KiB"),
    ];
    for (token, expected) in cases {
        assert_eq!(
            reason(&v, &token).await,
            expected,
            "token {}",
            &token[..token.len().min(40)]
        );
    }
}

#[tokio::test]
async fn the_algorithm_comes_from_configuration_not_the_token() {
    let rs =
        JwtVerifier::public_key_pem(Algorithm::RS256, &keys("rsa_public.pem"), ISS, AUD).unwrap();
    let good = encode(
        &Header::new(Algorithm::RS256),
        &claims(),
        &EncodingKey::from_rsa_pem(&keys("rsa_private.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(rs.verify(&good).await.unwrap().subject(), "alice");
    // HS256 "signed" with the RSA public key as the HMAC secret: the classic confusion.
    let confused = encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(&keys("rsa_public.pem")),
    )
    .unwrap();
    assert_eq!(reason(&rs, &confused).await, "algorithm not allowed");
    let none = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims()));
    assert!(rs.verify(&none).await.is_err());

    let ed =
        JwtVerifier::public_key_pem(Algorithm::EdDSA, &keys("ed_public.pem"), ISS, AUD).unwrap();
    let token = encode(
        &Header::new(Algorithm::EdDSA),
        &claims(),
        &EncodingKey::from_ed_pem(&keys("ed_private.pem")).unwrap(),
    )
    .unwrap();
    assert!(ed.verify(&token).await.is_ok());
    assert_eq!(reason(&ed, &good).await, "algorithm not allowed");
}

#[tokio::test]
async fn jwk_sets_select_keys_by_kid() {
    let v = JwtVerifier::jwk_set_file(
        format!("{}/tests/keys/jwks.json", env!("CARGO_MANIFEST_DIR")),
        ISS,
        AUD,
    )
    .unwrap();
    assert!(JwtVerifier::jwk_set_file("/nonexistent/jwks.json", ISS, AUD).is_err());
    let private = EncodingKey::from_rsa_pem(&keys("rsa_private.pem")).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-rsa-1".into());
    assert!(
        v.verify(&encode(&header, &claims(), &private).unwrap())
            .await
            .is_ok()
    );
    header.kid = Some("unknown".into());
    assert_eq!(
        reason(&v, &encode(&header, &claims(), &private).unwrap()).await,
        "token names an unknown key"
    );
    header.kid = None;
    assert_eq!(
        reason(&v, &encode(&header, &claims(), &private).unwrap()).await,
        "token names no key (`kid`)"
    );
    let mut ps = Header::new(Algorithm::PS256);
    ps.kid = Some("test-rsa-1".into());
    assert_eq!(
        reason(&v, &encode(&ps, &claims(), &private).unwrap()).await,
        "token's algorithm does not match its key's"
    );
}

#[test]
fn configuration_mistakes_are_refused() {
    assert!(
        JwtVerifier::hmac(
            Algorithm::HS256,
            SecretString::new("short".into()),
            ISS,
            AUD
        )
        .is_err()
    );
    assert!(
        JwtVerifier::hmac(Algorithm::RS256, SecretString::new(SECRET.into()), ISS, AUD).is_err()
    );
    assert!(JwtVerifier::public_key_pem(Algorithm::RS256, b"not a pem", ISS, AUD).is_err());
    assert!(
        JwtVerifier::public_key_pem(Algorithm::HS256, &keys("rsa_public.pem"), ISS, AUD).is_err()
    );
    assert!(JwtVerifier::jwk_set("{\"keys\": []}", ISS, AUD).is_err());
    let symmetric = r#"{"keys": [{"kty": "oct", "kid": "k", "alg": "HS256", "k": "c2VjcmV0"}]}"#;
    assert!(JwtVerifier::jwk_set(symmetric, ISS, AUD).is_err());
}

/// A JWKS endpoint on loopback that counts its hits and can be switched to the rotated set.
async fn jwks_server() -> (
    String,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    };
    let hits = Arc::new(AtomicUsize::new(0));
    let rotated = Arc::new(AtomicBool::new(false));
    let (h, r) = (hits.clone(), rotated.clone());
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let (h, r) = (h.clone(), r.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                String::from_utf8(keys(if r.load(Ordering::SeqCst) {
                    "jwks_rotated.json"
                } else {
                    "jwks.json"
                }))
                .unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits, rotated)
}

#[tokio::test]
async fn jwks_urls_are_cached_refreshed_on_unknown_keys_and_rate_capped() {
    use std::{sync::atomic::Ordering, time::Duration};
    let (url, hits, rotated) = jwks_server().await;
    let sign = |kid: &str, pem: &str| {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        encode(
            &header,
            &claims(),
            &EncodingKey::from_rsa_pem(&keys(pem)).unwrap(),
        )
        .unwrap()
    };
    let (old_key, new_key, made_up) = (
        sign("test-rsa-1", "rsa_private.pem"),
        sign("test-rsa-2", "rsa2_private.pem"),
        sign("made-up", "rsa_private.pem"),
    );

    // On loopback: not fetched from unless the policy names loopback.
    let Err(e) = JwtVerifier::jwks_url(&url, ISS, AUD).await else {
        panic!("a JWKS URL on loopback was fetched without being allowed");
    };
    assert_eq!(e.kind(), JwtConfigErrorKind::Fetch, "{e}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "not even connected to");
    let loopback = FetchPolicy::default().allow_loopback();

    // A cap of an hour: no refresh can happen during this phase.
    let v = JwtVerifier::jwks_url_with(&url, ISS, AUD, &loopback)
        .await
        .unwrap()
        .with_refresh(Duration::from_secs(3600), Duration::from_secs(7200));
    assert_eq!(hits.load(Ordering::SeqCst), 1, "fetched once at start");
    for _ in 0..5 {
        assert!(v.verify(&old_key).await.is_ok());
    }
    rotated.store(true, Ordering::SeqCst);
    assert_eq!(
        reason(&v, &new_key).await,
        "token names an unknown key",
        "inside the cap"
    );
    for _ in 0..10 {
        assert!(v.verify(&made_up).await.is_err());
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "known keys come from the cache; made-up kids cannot make us refetch"
    );

    // No cap: the first token naming an unknown key refreshes the set.
    let v = v.with_refresh(Duration::ZERO, Duration::from_secs(7200));
    assert_eq!(
        v.verify(&new_key).await.unwrap().subject(),
        "alice",
        "refreshed on the unknown kid"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(
        v.verify(&old_key).await.is_ok(),
        "the rotated set still has the old key"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    assert!(
        JwtVerifier::jwks_url("http://example.com/jwks", ISS, AUD)
            .await
            .is_err(),
        "plain http only on loopback"
    );
    assert!(
        JwtVerifier::jwks_url_with("http://127.0.0.1:1/jwks", ISS, AUD, &loopback)
            .await
            .is_err(),
        "unreachable at start"
    );
}

#[tokio::test]
async fn a_verifier_requiring_at_jwt_refuses_other_jwts_of_its_issuer() {
    let typed = |typ: Option<&str>| {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = typ.map(str::to_owned);
        encode(
            &header,
            &claims(),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    };
    let strict = hmac_verifier().require_at_jwt();
    for typ in ["at+jwt", "application/at+jwt", "AT+JWT"] {
        assert!(strict.verify(&typed(Some(typ))).await.is_ok(), "{typ}");
    }
    // An ID token, or any JWT the issuer signs for this audience that is not an access token.
    for typ in [Some("JWT"), Some("id_token+jwt"), None] {
        assert!(
            reason(&strict, &typed(typ)).await.contains("`at+jwt`"),
            "{typ:?}"
        );
    }
    // Not required: the header's type does not matter.
    assert!(hmac_verifier().verify(&typed(Some("JWT"))).await.is_ok());
}

/// A token whose payload is `payload` as written (a member may be given twice), signed.
fn hs256_raw(payload: &str) -> String {
    mcp_secure::auth::install_jwt_crypto();
    let header = b64(&json!({"alg": "HS256", "typ": "JWT"}));
    let payload = b64_bytes(payload.as_bytes());
    let message = format!("{header}.{payload}");
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).unwrap();
    format!("{message}.{signature}")
}

/// base64url without padding, by hand, so the test needs no extra crate.
fn b64_bytes(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A claim given twice has two values, and the verifier's readers of it could take different
/// ones (its `sub` and a tenant claim named `sub`, jsonwebtoken's `aud` check and ours): any
/// member given twice refuses the token, whichever it is.
#[tokio::test]
async fn a_claim_given_twice_refuses_the_token() {
    let v = hmac_verifier().tenant_claim("tenant");
    let exp = now() + 600;
    let base = format!(r#""iss":"{ISS}","aud":"{AUD}","exp":{exp},"scope":"notes:read""#);
    let fine = hs256_raw(&format!(r#"{{"sub":"alice",{base},"tenant":"acme"}}"#));
    assert_eq!(v.verify(&fine).await.unwrap().tenant(), Some("acme"));
    for twice in [
        format!(r#"{{"sub":"alice","sub":"bob",{base}}}"#),
        format!(r#"{{"sub":"alice",{base},"tenant":"acme","tenant":"globex"}}"#),
        format!(r#"{{"sub":"alice",{base},"scope":"admin"}}"#),
        format!(r#"{{"sub":"alice",{base},"x":1,"x":1}}"#),
        format!(r#"{{"sub":"alice",{base},"aud":"https://elsewhere.example"}}"#),
    ] {
        let token = hs256_raw(&twice);
        assert_eq!(reason(&v, &token).await, "malformed token", "{twice}");
    }
}
