//! DPoP (RFC 9449) over real HTTP against the demo: tokens bound to a key (`token --dpop-jkt`)
//! are accepted only with a fresh proof of that key made for the request, whatever else an
//! attacker forges; `--dpop required|allowed|off`; and a proof accepted by one replica is a
//! replay at another on the same Redis. The development authorization server's side is in
//! dev_auth.rs, and a DPoP client nobody here wrote (oauth4webapi) in typescript_sdk.rs.

mod common;

use base64::Engine;
use common::{redis_server::RedisServer, *};
use mcp_secure::{
    auth::JwtAlgorithm,
    testing::{DpopKey, token_hash},
};
use reqwest::{StatusCode, header::HeaderMap};
use serde_json::{Map, Value, json};

fn key(file: &str, alg: JwtAlgorithm) -> DpopKey {
    let path = format!(
        "{}/../mcp-secure/tests/keys/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    DpopKey::from_pem(alg, &std::fs::read(path).unwrap()).unwrap()
}

/// The modulus of `mcp-secure/tests/keys/rsa1024_private.pem`, base64url
/// (`openssl rsa -noout -modulus`).
const RSA_1024_N: &str = "xq2Z2UjIdVoIF5t0GZqGB4l376Ki1YKBd86Neyf0aE7an0nFu1I4ViXUCy_3Ed5VYXseDLiVJTJejXop9WafPS_PN4ThpzomtPEQ2up-U9YMiUFiWbpj4lUZEDk5ret4HqSwxCL6m56yZ2gfVgXvdum6S23gBIt7IWqBx2txfYc";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The claims of a good proof for a `POST` to `url` carrying `token`.
fn claims(url: &str, token: &str) -> Map<String, Value> {
    let Value::Object(claims) = json!({
        "jti": format!("jti-{}-{}", now(), rand_u64()),
        "htm": "POST",
        "htu": url,
        "iat": now(),
        "ath": token_hash(token),
    }) else {
        unreachable!()
    };
    claims
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now() as u64);
    h.finish()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A `tools/call` of `whoami` as a stateless 2026-07-28 request, with `authorization` and the
/// `DPoP` headers given: the status, the headers and the JSON-RPC answer.
async fn whoami(url: &str, authorization: &str, proofs: &[&str]) -> (StatusCode, HeaderMap, Value) {
    whoami_from(url, authorization, proofs, "127.0.0.1").await
}

/// [`whoami`] from the client address `client`, as the demo's trusted proxy (loopback)
/// forwards it: each forged proof from its own address, so that the refused-token limit (10 at
/// once per address) does not answer for the checks under test.
async fn whoami_from(
    url: &str,
    authorization: &str,
    proofs: &[&str],
    client: &str,
) -> (StatusCode, HeaderMap, Value) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "whoami", "arguments": {},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}}});
    let mut request = rpc(&reqwest::Client::new(), url, Some(authorization))
        .header("Mcp-Name", "whoami")
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", "tools/call")
        .header("X-Forwarded-For", client);
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    let response = request.json(&body).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, rpc_answer(&response.text().await.unwrap()))
}

/// Every `WWW-Authenticate` value of a response.
fn challenges(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The `reason` of the audit log's `authentication_failed` events since `seen` lines.
fn refusal_reasons(audit: &std::path::Path, seen: &mut usize) -> Vec<String> {
    let text = std::fs::read_to_string(audit).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let new = lines[*seen..].to_vec();
    *seen = lines.len();
    new.iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "authentication_failed")
        .map(|e| e["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn assert_subject(answer: &(StatusCode, HeaderMap, Value), subject: &str, what: &str) {
    assert_eq!(answer.0, StatusCode::OK, "{what}: {}", answer.2);
    let text = answer.2["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    let me: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    assert_eq!(me["subject"], subject, "{what}: {}", answer.2);
}

struct Demo {
    server: HttpServer,
    audit: std::path::PathBuf,
    _dir: tempfile::TempDir,
    _files: tempfile::TempDir,
}

fn demo(mode: &str) -> Demo {
    demo_with(mode, &[])
}

fn demo_with(mode: &str, extra: &[&str]) -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let (files, _outside) = files_dir();
    let mut args = vec![
        "--dpop",
        mode,
        "--audit-log",
        audit.to_str().unwrap(),
        "--trusted-proxy",
        "127.0.0.1/32",
    ];
    args.extend_from_slice(extra);
    let server = HttpServer::start_with(None, files.path(), &args);
    Demo {
        server,
        audit,
        _dir: dir,
        _files: files,
    }
}

#[tokio::test]
async fn a_bound_token_is_accepted_only_as_dpop_with_a_fresh_proof_of_its_key() {
    let demo = demo("allowed");
    let url = demo.server.url.clone();
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let bound = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let proof = alice.proof("POST", &url, Some(&bound));
    let dpop = format!("DPoP {bound}");
    assert_subject(
        &whoami(&url, &dpop, &[&proof]).await,
        "alice",
        "a fresh proof",
    );
    let mut seen = 0;
    refusal_reasons(&demo.audit, &mut seen);

    let refused: [(&str, String, Vec<String>, &str, &str); 5] = [
        (
            "the same proof again",
            dpop.clone(),
            vec![proof.clone()],
            "invalid_dpop_proof",
            "was used before",
        ),
        (
            "no proof",
            dpop.clone(),
            vec![],
            "invalid_dpop_proof",
            "no DPoP proof",
        ),
        (
            "the bound token as Bearer",
            format!("Bearer {bound}"),
            vec![],
            "invalid_token",
            "sent as a bearer token",
        ),
        (
            "the bound token as Bearer, with a proof",
            format!("Bearer {bound}"),
            vec![alice.proof("POST", &url, Some(&bound))],
            "invalid_token",
            "sent as a bearer token",
        ),
        (
            "a proof for another token",
            dpop.clone(),
            vec![alice.proof("POST", &url, Some("another-token"))],
            "invalid_dpop_proof",
            "`ath`",
        ),
    ];
    for (what, authorization, proofs, code, reason) in refused {
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let (status, headers, answer) = whoami(&url, &authorization, &proofs).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        assert_eq!(answer["error"]["data"]["error"], code, "{what}: {answer}");
        assert!(answer.get("result").is_none(), "{what}: the tool ran");
        let challenges = challenges(&headers);
        assert!(
            challenges
                .iter()
                .any(|c| c.contains(&format!("error=\"{code}\""))),
            "{what}: {challenges:?}"
        );
        let reasons = refusal_reasons(&demo.audit, &mut seen);
        assert!(
            reasons.iter().any(|r| r.contains(reason)),
            "{what}: audited {reasons:?}, not {reason}"
        );
    }

    // An unbound token under DPoP with a proof made for it: its proof is good, the token is not
    // bound, so the scheme is refused.
    let unbound = mint(&url, "alice", "notes:read", &[]);
    let (status, _, answer) = whoami(
        &url,
        &format!("DPoP {unbound}"),
        &[&alice.proof("POST", &url, Some(&unbound))],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(
        answer["error"]["data"]["error"], "invalid_token",
        "{answer}"
    );
    assert!(
        refusal_reasons(&demo.audit, &mut seen)
            .iter()
            .any(|r| r.contains("not bound to a key"))
    );
    // And a bearer token that is not bound works, as `allowed` says.
    assert_subject(
        &whoami(&url, &format!("Bearer {unbound}"), &[]).await,
        "alice",
        "an unbound bearer token",
    );
    // A refusal offers both schemes, Bearer first (clients that read one find the metadata).
    let (_, headers, _) = whoami(&url, "Bearer not-a-token", &[]).await;
    let challenges = challenges(&headers);
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert!(
        challenges[0].starts_with("Bearer error=\"invalid_token\""),
        "{challenges:?}"
    );
    assert!(
        challenges[1].starts_with("DPoP algs=\"ES256 ES384 EdDSA PS256 RS256\""),
        "{challenges:?}"
    );
}

#[tokio::test]
async fn forged_proofs_are_refused_each_for_its_reason() {
    let demo = demo("allowed");
    let url = demo.server.url.clone();
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let mallory = key("ec2_private.pem", JwtAlgorithm::ES256);
    let token = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let good = || claims(&url, &token);
    let with = |name: &str, value: Value| {
        let mut c = good();
        c.insert(name.into(), value);
        alice.sign(&alice.header(), &c)
    };
    let without = |name: &str| {
        let mut c = good();
        c.remove(name);
        alice.sign(&alice.header(), &c)
    };
    let header_with = |name: &str, value: Value| {
        let mut h = alice.header();
        h.insert(name.into(), value);
        alice.sign(&h, &good())
    };
    let jwk_with = |name: &str, value: Value| {
        let mut h = alice.header();
        h["jwk"][name] = value;
        alice.sign(&h, &good())
    };
    let other = url.replace("/mcp", "/other");
    let https = url.replace("http://", "https://");
    let host = url.replace("127.0.0.1", "evil.example");
    // alg none: no signature at all.
    let mut none = alice.header();
    none.insert("alg".into(), json!("none"));
    let unsigned = format!(
        "{}.{}.",
        b64(&serde_json::to_vec(&none).unwrap()),
        b64(&serde_json::to_vec(&good()).unwrap())
    );
    // HS256 with the "public" key as a shared secret, which anyone could sign with.
    let secret = b"0123456789abcdef0123456789abcdef";
    let mut hs = Map::new();
    hs.insert("typ".into(), json!("dpop+jwt"));
    hs.insert("alg".into(), json!("HS256"));
    hs.insert("jwk".into(), json!({"kty": "oct", "k": b64(secret)}));
    let symmetric = encode(
        &jsonwebtoken::Header {
            typ: Some("dpop+jwt".into()),
            jwk: serde_json::from_value(json!({"kty": "oct", "k": b64(secret)})).ok(),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &good(),
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap();
    // Mallory's key in the header, Alice's signature: the signature does not verify.
    let mut swapped = alice.header();
    swapped.insert("jwk".into(), mallory.jwk().clone());
    let swapped = alice.sign(&swapped, &good());
    // The P-256 key under ES384.
    let mut es384 = alice.header();
    es384.insert("alg".into(), json!("ES384"));
    let es384 = alice.sign(&es384, &good());
    // The public key of rsa1024_private.pem under RS256. ring signs with no key under 2 048
    // bits, so the signature is Alice's: the key's size is refused before any signature check
    // (a server checking the signature first would answer "signature").
    let mut small = alice.header();
    small.insert("alg".into(), json!("RS256"));
    small.insert(
        "jwk".into(),
        json!({"kty": "RSA", "e": "AQAB", "n": RSA_1024_N}),
    );
    let small = alice.sign(&small, &good());
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "htu of another path",
            vec![with("htu", json!(other))],
            "`htu`",
        ),
        ("htu with https", vec![with("htu", json!(https))], "`htu`"),
        (
            "htu of another host",
            vec![with("htu", json!(host))],
            "`htu`",
        ),
        ("htu relative", vec![with("htu", json!("/mcp"))], "`htu`"),
        ("htm GET", vec![with("htm", json!("GET"))], "`htm`"),
        ("htm post", vec![with("htm", json!("post"))], "`htm`"),
        (
            "iat 2 minutes old",
            vec![with("iat", json!(now() - 120))],
            "`iat`",
        ),
        (
            "iat 2 minutes ahead",
            vec![with("iat", json!(now() + 120))],
            "`iat`",
        ),
        (
            "iat as text",
            vec![with("iat", json!(now().to_string()))],
            "well-formed",
        ),
        (
            "ath of another token",
            vec![with("ath", json!(token_hash("x")))],
            "`ath`",
        ),
        ("no ath", vec![without("ath")], "`ath`"),
        ("no jti", vec![without("jti")], "well-formed"),
        ("empty jti", vec![with("jti", json!(""))], "well-formed"),
        ("alg none", vec![unsigned], "`alg`"),
        ("HS256 with a symmetric jwk", vec![symmetric], "`alg`"),
        ("typ JWT", vec![header_with("typ", json!("JWT"))], "`typ`"),
        (
            "no typ",
            vec![{
                let mut h = alice.header();
                h.remove("typ");
                alice.sign(&h, &good())
            }],
            "`typ`",
        ),
        (
            "no jwk",
            vec![{
                let mut h = alice.header();
                h.remove("jwk");
                alice.sign(&h, &good())
            }],
            "`jwk`",
        ),
        (
            "a private key in jwk",
            vec![jwk_with("d", json!(b64(&[7; 32])))],
            "`jwk`",
        ),
        (
            "a symmetric member in jwk",
            vec![jwk_with("k", json!(b64(&[7; 32])))],
            "`jwk`",
        ),
        ("jwk of another curve for alg", vec![es384], "`jwk`"),
        (
            "jwk that is not a point",
            vec![jwk_with("x", json!(b64(&[1; 32])))],
            "`jwk`",
        ),
        ("RSA key of 1024 bits", vec![small], "`jwk`"),
        ("crit", vec![header_with("crit", json!(["exp"]))], "`crit`"),
        (
            "Mallory's key in the header, Alice's signature",
            vec![swapped],
            "signature",
        ),
        (
            "Mallory's own proof",
            vec![mallory.proof("POST", &url, Some(&token))],
            "not the one the token is bound to",
        ),
        (
            "two DPoP headers",
            vec![
                alice.proof("POST", &url, Some(&token)),
                alice.proof("POST", &url, Some(&token)),
            ],
            "more than one",
        ),
        ("not a JWT", vec!["a.b".into()], "well-formed"),
        (
            "a JWT of four parts",
            vec![format!("{}.x", alice.proof("POST", &url, Some(&token)))],
            "well-formed",
        ),
    ];
    let mut seen = 0;
    for (i, (what, proofs, reason)) in cases.into_iter().enumerate() {
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let client = format!("10.0.0.{i}");
        let (status, headers, answer) =
            whoami_from(&url, &format!("DPoP {token}"), &proofs, &client).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        assert_eq!(
            answer["error"]["data"]["error"], "invalid_dpop_proof",
            "{what}: {answer}"
        );
        assert!(
            challenges(&headers)
                .iter()
                .any(|c| c.starts_with("DPoP error=\"invalid_dpop_proof\"")),
            "{what}"
        );
        let reasons = refusal_reasons(&demo.audit, &mut seen);
        assert!(
            reasons.iter().any(|r| r.contains(reason)),
            "{what}: audited {reasons:?}, not {reason}"
        );
    }
    // Spellings of the same URI are the same URI (RFC 9449 §4.3: query and fragment ignored,
    // RFC 3986 normalization); each proof is fresh, and the token was not spent by the above.
    for (what, htu) in [
        ("with a query", format!("{url}?x=1")),
        ("upper-case scheme", url.replace("http://", "HTTP://")),
        ("a dot segment", url.replace("/mcp", "/x/../mcp")),
    ] {
        let proof = with("htu", json!(htu));
        assert_subject(
            &whoami(&url, &format!("DPoP {token}"), &[&proof]).await,
            "alice",
            what,
        );
    }
}

#[tokio::test]
async fn required_takes_only_bound_tokens_and_off_none() {
    let alice = key("ed_private.pem", JwtAlgorithm::EdDSA);
    let required = demo("required");
    let url = required.server.url.clone();
    let bearer = mint(&url, "alice", "notes:read", &[]);
    let (status, headers, _) = whoami(&url, &format!("Bearer {bearer}"), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let offered = challenges(&headers);
    assert_eq!(offered.len(), 1, "{offered:?}");
    assert!(
        offered[0].starts_with("DPoP error=\"invalid_token\""),
        "{offered:?}"
    );
    let bound = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    assert_subject(
        &whoami(
            &url,
            &format!("DPoP {bound}"),
            &[&alice.proof("POST", &url, Some(&bound))],
        )
        .await,
        "alice",
        "required: a bound token with its proof",
    );
    let origin = url.trim_end_matches("/mcp");
    let metadata: Value =
        reqwest::get(format!("{origin}/.well-known/oauth-protected-resource/mcp"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        metadata["dpop_bound_access_tokens_required"], true,
        "{metadata}"
    );
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"][2], "EdDSA",
        "{metadata}"
    );
    drop(required);

    let off = demo("off");
    let url = off.server.url.clone();
    let bound = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    for (what, authorization, proof) in [
        (
            "DPoP",
            format!("DPoP {bound}"),
            Some(alice.proof("POST", &url, Some(&bound))),
        ),
        ("Bearer", format!("Bearer {bound}"), None),
    ] {
        let proofs: Vec<&str> = proof.iter().map(String::as_str).collect();
        let (status, headers, answer) = whoami(&url, &authorization, &proofs).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "off, {what}: {answer}");
        assert!(
            challenges(&headers).iter().all(|c| c.starts_with("Bearer")),
            "off offers no DPoP"
        );
    }
    assert_subject(
        &whoami(
            &url,
            &format!("Bearer {}", mint(&url, "alice", "notes:read", &[])),
            &[],
        )
        .await,
        "alice",
        "off: an unbound bearer token",
    );
    let origin = url.trim_end_matches("/mcp");
    let metadata: Value =
        reqwest::get(format!("{origin}/.well-known/oauth-protected-resource/mcp"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert!(
        metadata.get("dpop_signing_alg_values_supported").is_none(),
        "{metadata}"
    );
}

/// A step-up challenge to a DPoP caller names the DPoP scheme it authenticated with.
#[tokio::test]
async fn a_dpop_callers_step_up_challenge_is_dpop() {
    let demo = demo("allowed");
    let url = demo.server.url.clone();
    let alice = key("ec384_private.pem", JwtAlgorithm::ES384);
    let token = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "notes_create", "arguments": {"title": "t", "body": ""},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}}});
    let response = rpc(
        &reqwest::Client::new(),
        &url,
        Some(&format!("DPoP {token}")),
    )
    .header("Mcp-Name", "notes_create")
    .header("MCP-Protocol-Version", "2026-07-28")
    .header("Mcp-Method", "tools/call")
    .header("DPoP", alice.proof("POST", &url, Some(&token)))
    .json(&body)
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("DPoP error=\"insufficient_scope\""),
        "{challenge}"
    );
}

#[tokio::test]
#[cfg_attr(
    skip_redis,
    ignore = "redis-server is not installed: `apt-get install redis-server` runs it"
)]
async fn a_proof_accepted_by_one_replica_is_a_replay_at_another() {
    let redis = RedisServer::start();
    let public = "http://mcp.test/mcp";
    let (files, _outside) = files_dir();
    let args = [
        "--rate-backend",
        "redis",
        "--redis-url",
        &redis.url(),
        "--url",
        public,
        "--allow-host",
        "127.0.0.1",
    ];
    let replicas = [
        HttpServer::start_with(None, files.path(), &args),
        HttpServer::start_with(None, files.path(), &args),
    ];
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let token = mint(
        public,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let dpop = format!("DPoP {token}");
    let proof = alice.proof("POST", public, Some(&token));
    assert_subject(
        &whoami(&replicas[0].url, &dpop, &[&proof]).await,
        "alice",
        "replica A",
    );
    let (status, _, answer) = whoami(&replicas[1].url, &dpop, &[&proof]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "replayed at replica B: {answer}"
    );
    assert_eq!(answer["error"]["data"]["error"], "invalid_dpop_proof");
    // Replica B takes a fresh proof: it refused the replay, not the token.
    let fresh = alice.proof("POST", public, Some(&token));
    assert_subject(
        &whoami(&replicas[1].url, &dpop, &[&fresh]).await,
        "alice",
        "replica B",
    );
}

/// `--dpop-nonces` at the resource (RFC 9449 §9): a proof must carry a nonce the server issued
/// lately. Without one, or with one it did not issue (made up, altered, empty), the call is
/// refused `401` with a `DPoP error="use_dpop_nonce"` challenge and the nonce to use in
/// `DPoP-Nonce`; with it, the call passes.
#[tokio::test]
async fn a_server_that_requires_nonces_takes_proofs_with_its_nonce_only() {
    let demo = demo_with("required", &["--dpop-nonces"]);
    let url = demo.server.url.clone();
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let bound = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let dpop = format!("DPoP {bound}");
    let with_nonce = |nonce: &str| {
        let mut claims = claims(&url, &bound);
        claims.insert("nonce".into(), json!(nonce));
        alice.sign(&alice.header(), &claims)
    };
    let (status, headers, _) =
        whoami(&url, &dpop, &[&alice.proof("POST", &url, Some(&bound))]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenges(&headers)
            .iter()
            .any(|c| c.starts_with(r#"DPoP error="use_dpop_nonce""#)),
        "{:?}",
        challenges(&headers)
    );
    let nonce = headers["dpop-nonce"].to_str().unwrap().to_owned();
    let mut altered = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&nonce)
        .unwrap();
    altered[0] ^= 1;
    for (i, (what, bad)) in [
        ("made up", b64(&[7u8; 40])),
        ("altered", b64(&altered)),
        ("empty", String::new()),
    ]
    .into_iter()
    .enumerate()
    {
        let answer = whoami_from(&url, &dpop, &[&with_nonce(&bad)], &format!("10.9.0.{i}")).await;
        assert_eq!(answer.0, StatusCode::UNAUTHORIZED, "{what}");
        assert!(
            challenges(&answer.1)
                .iter()
                .any(|c| c.contains("use_dpop_nonce")),
            "{what}: {:?}",
            challenges(&answer.1)
        );
    }
    let answer = whoami(&url, &dpop, &[&with_nonce(&nonce)]).await;
    assert_subject(&answer, "alice", "a proof with the server's nonce");
    // Every answer to a DPoP caller carries the current nonce: a client that keeps calling
    // never holds an expired one.
    assert_eq!(answer.1["dpop-nonce"].to_str().unwrap(), nonce);
    let mut seen = 0;
    let reasons = refusal_reasons(&demo.audit, &mut seen);
    assert_eq!(
        reasons.iter().filter(|r| r.contains("nonce")).count(),
        4,
        "{reasons:?}"
    );
}
