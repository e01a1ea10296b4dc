//! An outside attack on DPoP (RFC 9449) as the demo serves it, and on the development
//! authorization server's side of it (bound tokens at `/token`, bound refresh, redirect URIs).
//! Each probe asserts the secure behaviour: a probe that fails found a break.

mod common;

use base64::Engine;
use common::{redis_server::RedisServer, *};
use mcp_secure::{
    auth::JwtAlgorithm,
    testing::{DpopKey, TokenMinter, token_hash},
};
use reqwest::{StatusCode, header::HeaderMap};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

fn key_path(file: &str) -> String {
    format!(
        "{}/../mcp-secure/tests/keys/{file}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn key(file: &str, alg: JwtAlgorithm) -> DpopKey {
    DpopKey::from_pem(alg, &std::fs::read(key_path(file)).unwrap()).unwrap()
}

/// `message` (the JWS signing input, as bytes we choose: duplicate members, odd numbers) signed
/// with the private key in `file`.
fn raw_sign(file: &str, alg: JwtAlgorithm, header: &str, claims: &str) -> String {
    let pem = std::fs::read(key_path(file)).unwrap();
    let key = match alg {
        JwtAlgorithm::ES256 | JwtAlgorithm::ES384 => {
            jsonwebtoken::EncodingKey::from_ec_pem(&pem).unwrap()
        }
        JwtAlgorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_pem(&pem).unwrap(),
        _ => jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap(),
    };
    let message = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    mcp_secure::auth::install_jwt_crypto();
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, alg).unwrap();
    format!("{message}.{signature}")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn fresh_jti() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("attack-{nanos}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// The claims of a good proof for a `POST` to `url`, carrying `token` if any.
fn claims(url: &str, token: Option<&str>) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("jti".into(), json!(fresh_jti()));
    claims.insert("htm".into(), json!("POST"));
    claims.insert("htu".into(), json!(url));
    claims.insert("iat".into(), json!(now()));
    if let Some(token) = token {
        claims.insert("ath".into(), json!(token_hash(token)));
    }
    claims
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

/// RFC 7638's SHA-256 thumbprint of `members` (the required members, in lexicographic order,
/// as written).
fn thumbprint(members: &[(&str, &str)]) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("\"{k}\":\"{v}\""))
        .collect();
    b64(&Sha256::digest(
        format!("{{{}}}", body.join(",")).as_bytes(),
    ))
}

/// What a request got: the status (or `None` when no answer came at all), the headers and the
/// JSON-RPC answer.
type Answer = (Option<StatusCode>, HeaderMap, Value);

/// A stateless `tools/call` of `whoami` to `url` with `authorization`s, `DPoP` headers, the
/// forwarded client address `client`, and a `Host` of our choosing if given.
async fn whoami_with(
    url: &str,
    authorizations: &[&str],
    proofs: &[&str],
    client: &str,
    host: Option<&str>,
) -> Answer {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "whoami", "arguments": {},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}}});
    let mut request = rpc(&reqwest::Client::new(), url, None)
        .header("Mcp-Name", "whoami")
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", "tools/call")
        .header("X-Forwarded-For", client);
    for authorization in authorizations {
        request = request.header("Authorization", *authorization);
    }
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    if let Some(host) = host {
        request = request.header("Host", host);
    }
    match request.json(&body).send().await {
        Ok(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            let text = response.text().await.unwrap_or_default();
            (Some(status), headers, rpc_answer(&text))
        }
        Err(_) => (None, HeaderMap::new(), Value::Null),
    }
}

async fn whoami(url: &str, authorization: &str, proofs: &[&str], client: &str) -> Answer {
    whoami_with(url, &[authorization], proofs, client, None).await
}

fn subject(answer: &Answer) -> Option<String> {
    if answer.0 != Some(StatusCode::OK) {
        return None;
    }
    let text = answer.2["result"]["content"][0]["text"].as_str()?;
    let me: Value = serde_json::from_str(text).ok()?;
    me["subject"].as_str().map(str::to_owned)
}

fn assert_refused(answer: &Answer, code: &str, what: &str) {
    assert_eq!(
        answer.0,
        Some(StatusCode::UNAUTHORIZED),
        "{what}: {}",
        answer.2
    );
    assert_eq!(
        answer.2["error"]["data"]["error"], code,
        "{what}: {}",
        answer.2
    );
    assert!(answer.2.get("result").is_none(), "{what}: the tool ran");
}

struct Demo {
    server: HttpServer,
    audit: std::path::PathBuf,
    _dir: tempfile::TempDir,
    _files: tempfile::TempDir,
}

fn demo(mode: &str, extra: &[&str]) -> Demo {
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

/// The audit log's events named `event`.
fn audited(audit: &std::path::Path, event: &str) -> Vec<Value> {
    std::fs::read_to_string(audit)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == event)
        .collect()
}

fn panicked(server: &HttpServer) -> Vec<String> {
    server
        .drain_stderr()
        .into_iter()
        .filter(|l| l.contains("panicked"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The proof's key: JWKs whose members do not fit the algorithm's key.
// ---------------------------------------------------------------------------------------------

/// An Ed25519 `jwk` whose `x` is shorter than 32 bytes is no Ed25519 key: the proof must be
/// refused with `invalid_dpop_proof` (and audited, and counted against the address), not
/// crash the request. Sent with any string as the token: the proof is checked before the
/// token, so this needs no credential at all.
#[tokio::test]
async fn an_ed25519_key_shorter_than_32_bytes_is_refused_not_a_crash() {
    let demo = demo("allowed", &[]);
    let url = demo.server.url.clone();
    let alice = key("ed_private.pem", JwtAlgorithm::EdDSA);
    demo.server.drain_stderr();
    for (i, len) in [0usize, 1, 16, 31].into_iter().enumerate() {
        let mut header = alice.header();
        header["jwk"]["x"] = json!(b64(&vec![9u8; len]));
        let proof = alice.sign(&header, &claims(&url, Some("not-a-token")));
        let answer = whoami(&url, "DPoP not-a-token", &[&proof], &format!("10.1.0.{i}")).await;
        assert!(
            answer.0.is_some(),
            "an x of {len} bytes: the server closed the connection without an answer \
             (a panic): {:?}",
            panicked(&demo.server)
        );
        assert_refused(&answer, "invalid_dpop_proof", &format!("x of {len} bytes"));
    }
    assert!(
        panicked(&demo.server).is_empty(),
        "a proof's key made the server panic"
    );
    let refused = audited(&demo.audit, "authentication_failed").len();
    assert!(refused >= 4, "each refusal is audited: {refused}");
}

/// An Ed25519 `x` longer than 32 bytes, or P-256 coordinates of 31 and 33 bytes, are no keys of
/// their curve; accepted, one key has endless thumbprints (`jwk` "fitting the alg" is the
/// promise). A token bound to such a thumbprint must not be accepted.
#[tokio::test]
async fn jwk_coordinates_of_the_wrong_length_are_refused() {
    let demo = demo("allowed", &[]);
    let url = demo.server.url.clone();
    let ed = key("ed_private.pem", JwtAlgorithm::EdDSA);
    let ec = key("ec_private.pem", JwtAlgorithm::ES256);

    // Ed25519: the real 32 bytes, then 32 more.
    let mut long = unb64(ed.jwk()["x"].as_str().unwrap());
    long.extend_from_slice(&[7u8; 32]);
    let long_x = b64(&long);
    let ed_jkt = thumbprint(&[("crv", "Ed25519"), ("kty", "OKP"), ("x", &long_x)]);
    let mut ed_header = ed.header();
    ed_header["jwk"]["x"] = json!(long_x);

    // P-256: x without its last byte, y with it in front (0x04 || x || y is the same point).
    let x = unb64(ec.jwk()["x"].as_str().unwrap());
    let y = unb64(ec.jwk()["y"].as_str().unwrap());
    let (short_x, mut long_y) = (x[..31].to_vec(), vec![x[31]]);
    long_y.extend_from_slice(&y);
    let (short_x, long_y) = (b64(&short_x), b64(&long_y));
    let ec_jkt = thumbprint(&[
        ("crv", "P-256"),
        ("kty", "EC"),
        ("x", &short_x),
        ("y", &long_y),
    ]);
    let mut ec_header = ec.header();
    ec_header["jwk"]["x"] = json!(short_x);
    ec_header["jwk"]["y"] = json!(long_y);

    let mut accepted = Vec::new();
    for (i, (what, jkt, signer, header)) in [
        ("Ed25519 x of 64 bytes", ed_jkt, &ed, ed_header),
        ("P-256 x of 31 bytes, y of 33", ec_jkt, &ec, ec_header),
    ]
    .into_iter()
    .enumerate()
    {
        let token = mint(&url, "alice", "notes:read", &["--dpop-jkt", &jkt]);
        let proof = signer.sign(&header, &claims(&url, Some(&token)));
        let answer = whoami(
            &url,
            &format!("DPoP {token}"),
            &[&proof],
            &format!("10.2.0.{i}"),
        )
        .await;
        if answer.0 != Some(StatusCode::UNAUTHORIZED) {
            accepted.push(format!("{what}: {:?} {}", answer.0, answer.2));
        }
    }
    assert!(accepted.is_empty(), "keys that fit no curve: {accepted:#?}");
}

// ---------------------------------------------------------------------------------------------
// `htu`: which URIs a proof may name.
// ---------------------------------------------------------------------------------------------

/// A proof made for another origin (the same host on another port: another service, possibly
/// a hostile one the client was talking to) must not be accepted here, whatever `Host` the
/// replaying attacker sends. The demo answers any port of its host names, and takes the
/// request's `Host` as a URI the proof may name.
#[tokio::test]
async fn a_proof_for_another_port_of_this_host_is_refused() {
    let demo = demo("allowed", &[]);
    let url = demo.server.url.clone();
    let port: u16 = url::Url::parse(&url).unwrap().port().unwrap();
    let other = if port == 65535 { port - 1 } else { port + 1 };
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let token = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let mut accepted = Vec::new();
    for (i, host) in [
        format!("127.0.0.1:{other}"),
        format!("localhost:{other}"),
        "127.0.0.1:8443".to_owned(),
        "localhost".to_owned(),
    ]
    .iter()
    .enumerate()
    {
        // The client made this proof for a request to http://{host}/mcp, a server that is not
        // this one; the attacker replays it here with that Host.
        let htu = format!("http://{host}/mcp");
        let proof = alice.proof("POST", &htu, Some(&token));
        let answer = whoami_with(
            &url,
            &[&format!("DPoP {token}")],
            &[&proof],
            &format!("10.3.0.{i}"),
            Some(host),
        )
        .await;
        if answer.0 == Some(StatusCode::OK) {
            accepted.push(format!("htu {htu}, Host {host}: {:?}", subject(&answer)));
        }
    }
    assert!(
        accepted.is_empty(),
        "proofs for another origin accepted: {accepted:#?}"
    );
}

/// `htu` spellings that name another resource stay another resource. (Not listed: a leading
/// space or a trailing NUL, which the WHATWG parser strips; they still name this resource.)
#[tokio::test]
async fn htu_tricks_that_name_another_uri_are_refused() {
    let demo = demo("allowed", &[]);
    let url = demo.server.url.clone();
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let token = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let origin = url.trim_end_matches("/mcp");
    let port = url::Url::parse(&url).unwrap().port().unwrap();
    let mut accepted = Vec::new();
    for (i, htu) in [
        format!("{origin}/mcp/"),
        format!("{origin}/MCP"),
        format!("{origin}/mcp;x"),
        format!("{origin}/mcp%00"),
        format!("{origin}/mcp%2F"),
        format!("{origin}//mcp"),
        format!("{origin}/mcp/.."),
        format!("{origin}/%2e%2e/other/../../mcpx"),
        format!("http://localhost.:{port}/mcp"),
        format!("http://127.0.0.1:{port}@evil.example/mcp"),
        format!("http://evil.example#@127.0.0.1:{port}/mcp"),
        format!("http://evil.example\\@127.0.0.1:{port}/mcp"),
        format!("ws://127.0.0.1:{port}/mcp"),
        format!("https://127.0.0.1:{port}/mcp"),
    ]
    .iter()
    .enumerate()
    {
        let mut c = claims(&url, Some(&token));
        c.insert("htu".into(), json!(htu));
        let proof = alice.sign(&alice.header(), &c);
        let answer = whoami(
            &url,
            &format!("DPoP {token}"),
            &[&proof],
            &format!("10.4.{}.{}", i / 200, i % 200),
        )
        .await;
        if answer.0 != Some(StatusCode::UNAUTHORIZED) {
            accepted.push(format!("{htu:?}: {:?}", answer.0));
        }
    }
    assert!(accepted.is_empty(), "{accepted:#?}");
}

// ---------------------------------------------------------------------------------------------
// The JWS itself: duplicate members, number forms, extra header members.
// ---------------------------------------------------------------------------------------------

/// Proofs whose JSON a lenient parser reads one way and a strict one another (duplicate
/// members), and `iat` in number forms other than an integer, are refused.
#[tokio::test]
async fn duplicate_members_and_odd_numbers_in_a_proof_are_refused() {
    let demo = demo("allowed", &[]);
    let url = demo.server.url.clone();
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let token = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let mallory = key("ec2_private.pem", JwtAlgorithm::ES256);
    let jwk = alice.jwk().to_string();
    let mallory_jwk = mallory.jwk().to_string();
    let ath = token_hash(&token);
    let header = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}}"#);
    let body = |iat: &str, extra: &str| {
        format!(
            r#"{{"jti":"{}","htm":"POST","htu":"{url}","iat":{iat},"ath":"{ath}"{extra}}}"#,
            fresh_jti()
        )
    };
    let t = now();
    let sign = |h: &str, c: &str| raw_sign("ec_private.pem", JwtAlgorithm::ES256, h, c);
    let cases: Vec<(&str, String)> = vec![
        (
            "htu twice, another first",
            sign(
                &header,
                &body(&t.to_string(), r#","htu":"http://evil.example/mcp""#),
            ),
        ),
        (
            "htm twice",
            sign(&header, &body(&t.to_string(), r#","htm":"GET""#)),
        ),
        (
            "ath twice",
            sign(&header, &body(&t.to_string(), r#","ath":"x""#)),
        ),
        (
            "jti twice",
            sign(&header, &body(&t.to_string(), r#","jti":"again""#)),
        ),
        (
            "iat twice",
            sign(&header, &body(&t.to_string(), r#","iat":1"#)),
        ),
        (
            "jwk twice, Mallory's last",
            sign(
                &format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"jwk":{mallory_jwk}}}"#),
                &body(&t.to_string(), ""),
            ),
        ),
        (
            "typ twice",
            sign(
                &format!(r#"{{"typ":"JWT","alg":"ES256","jwk":{jwk},"typ":"dpop+jwt"}}"#),
                &body(&t.to_string(), ""),
            ),
        ),
        (
            "alg twice",
            sign(
                &format!(r#"{{"typ":"dpop+jwt","alg":"HS256","jwk":{jwk},"alg":"ES256"}}"#),
                &body(&t.to_string(), ""),
            ),
        ),
        (
            "iat as a float",
            sign(&header, &body(&format!("{t}.0"), "")),
        ),
        (
            "iat with an exponent",
            sign(&header, &body(&format!("{t}e0"), "")),
        ),
        ("iat huge", sign(&header, &body("1e400", ""))),
        (
            "iat past i64",
            sign(&header, &body("9223372036854775808", "")),
        ),
        (
            "iat i64::MIN",
            sign(&header, &body("-9223372036854775808", "")),
        ),
        ("iat null", sign(&header, &body("null", ""))),
        (
            "a BOM before the header",
            sign(&format!("\u{feff}{header}"), &body(&t.to_string(), "")),
        ),
        (
            "crit empty",
            sign(
                &format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"crit":[]}}"#),
                &body(&t.to_string(), ""),
            ),
        ),
    ];
    let mut accepted = Vec::new();
    for (i, (what, proof)) in cases.iter().enumerate() {
        let answer = whoami(
            &url,
            &format!("DPoP {token}"),
            &[proof],
            &format!("10.5.0.{i}"),
        )
        .await;
        if answer.0 != Some(StatusCode::UNAUTHORIZED) {
            accepted.push(format!("{what}: {:?} {}", answer.0, answer.2));
        }
    }
    assert!(accepted.is_empty(), "{accepted:#?}");
}

/// Header members that name keys elsewhere (`jku`, `x5u`, `x5c`, `kid`) never displace the
/// `jwk`: a proof signed by Mallory that points at Alice's key by reference is refused.
#[tokio::test]
async fn key_references_in_the_header_never_stand_for_the_jwk() {
    let demo = demo("allowed", &[]);
    let url = demo.server.url.clone();
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let mallory = key("ec2_private.pem", JwtAlgorithm::ES256);
    let token = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let mut accepted = Vec::new();
    for (i, (name, value)) in [
        ("jku", json!("http://evil.example/jwks.json")),
        ("x5u", json!("http://evil.example/cert.pem")),
        ("kid", json!(alice.thumbprint())),
        ("x5t#S256", json!(alice.thumbprint())),
    ]
    .into_iter()
    .enumerate()
    {
        // With Mallory's jwk, and with none.
        for with_jwk in [true, false] {
            let mut header = mallory.header();
            header.insert(name.into(), value.clone());
            if !with_jwk {
                header.remove("jwk");
            }
            let proof = mallory.sign(&header, &claims(&url, Some(&token)));
            let answer = whoami(
                &url,
                &format!("DPoP {token}"),
                &[&proof],
                &format!("10.6.{}.{i}", u8::from(with_jwk)),
            )
            .await;
            if answer.0 != Some(StatusCode::UNAUTHORIZED) {
                accepted.push(format!("{name} (jwk: {with_jwk}): {:?}", answer.0));
            }
        }
    }
    assert!(accepted.is_empty(), "{accepted:#?}");
}

// ---------------------------------------------------------------------------------------------
// Tokens: `cnf` shapes, and how the token is presented.
// ---------------------------------------------------------------------------------------------

fn minter(url: &str) -> TokenMinter {
    let issuer = url::Url::parse(url).unwrap().origin().ascii_serialization();
    TokenMinter::hs256(
        &mcp_secure::secret::SecretString::new(JWT_SECRET.into()),
        &issuer,
        url,
    )
}

/// A token whose `cnf` binds it by any shape but `{"jkt": <thumbprint>}` is refused both as a
/// bearer token and under DPoP (a binding the server cannot check is never dropped).
#[tokio::test]
async fn odd_cnf_shapes_never_make_a_bearer_token() {
    let demo = demo("allowed", &[]);
    let url = demo.server.url.clone();
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let jkt = alice.thumbprint().to_owned();
    let mut accepted = Vec::new();
    for (i, cnf) in [
        json!({"jkt": jkt, "x": 1}),
        json!([{"jkt": jkt}]),
        json!({"JKT": jkt}),
        json!({"Jkt": jkt}),
        json!(jkt),
        json!({"jkt": format!("{jkt}=")}),
        json!({"jkt": jkt.to_lowercase()}),
        json!({"jkt": 1}),
        json!({"jkt": null}),
        json!({"jkt": [jkt]}),
        json!({}),
        json!(true),
        json!(0),
        json!({"jwk": alice.jwk()}),
        json!({"x5t#S256": jkt}),
        json!({"jkt": jkt, "jwk": alice.jwk()}),
    ]
    .into_iter()
    .enumerate()
    {
        let token = minter(&url)
            .claim("cnf", cnf.clone())
            .mint("alice", ["notes:read"])
            .unwrap();
        let bearer = whoami(
            &url,
            &format!("Bearer {token}"),
            &[],
            &format!("10.7.0.{i}"),
        )
        .await;
        if bearer.0 != Some(StatusCode::UNAUTHORIZED) {
            accepted.push(format!("cnf {cnf} as Bearer: {:?}", bearer.0));
        }
        let proof = alice.proof("POST", &url, Some(&token));
        let dpop = whoami(
            &url,
            &format!("DPoP {token}"),
            &[&proof],
            &format!("10.7.1.{i}"),
        )
        .await;
        if dpop.0 != Some(StatusCode::UNAUTHORIZED) {
            accepted.push(format!("cnf {cnf} as DPoP: {:?}", dpop.0));
        }
    }
    assert!(accepted.is_empty(), "{accepted:#?}");
}

/// A token whose JSON holds `cnf` twice (bound, then `null`) is refused as a bearer token: a
/// last-wins reading would drop the binding another reader sees.
#[tokio::test]
async fn a_token_with_cnf_twice_is_not_a_bearer_token() {
    let demo = demo("allowed", &[]);
    let url = demo.server.url.clone();
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let issuer = url::Url::parse(&url)
        .unwrap()
        .origin()
        .ascii_serialization();
    let t = now();
    let claims = format!(
        r#"{{"iss":"{issuer}","aud":"{url}","sub":"alice","scope":"notes:read","iat":{t},"exp":{},"cnf":{{"jkt":"{}"}},"cnf":null}}"#,
        t + 300,
        alice.thumbprint()
    );
    let header = r#"{"alg":"HS256","typ":"JWT"}"#;
    let message = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    mcp_secure::auth::install_jwt_crypto();
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        JwtAlgorithm::HS256,
    )
    .unwrap();
    let token = format!("{message}.{signature}");
    let answer = whoami(&url, &format!("Bearer {token}"), &[], "10.8.0.1").await;
    assert_eq!(answer.0, Some(StatusCode::UNAUTHORIZED), "{}", answer.2);
}

/// Two `Authorization` headers are ambiguous (RFC 9110 §5.3: not a list field; RFC 6750 §2:
/// one method per request): a server that reads the first while a proxy in front reads the
/// last authenticates one caller and logs another. The request must be refused.
#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let demo = demo("required", &[]);
    let url = demo.server.url.clone();
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let token = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let proof = alice.proof("POST", &url, Some(&token));
    let answer = whoami_with(
        &url,
        &[&format!("DPoP {token}"), "Bearer someone-elses-token"],
        &[&proof],
        "10.9.0.1",
        None,
    )
    .await;
    assert_ne!(
        answer.0,
        Some(StatusCode::OK),
        "two Authorization headers, the first taken: {:?}",
        subject(&answer)
    );
}

/// Scheme spellings the server must not mistake: the token is what follows one space after
/// `DPoP`/`Bearer`, case-insensitively; anything else is no credential (never another
/// scheme's).
#[tokio::test]
async fn authorization_spellings_do_not_change_the_scheme() {
    let demo = demo("allowed", &[]);
    let url = demo.server.url.clone();
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let token = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let mut wrong = Vec::new();
    // A bound token under any spelling of Bearer, or of no scheme, never works.
    for (i, authorization) in [
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("Bearer  {token}"),
        format!("Bearer\t{token}"),
        format!("DPoP\t{token}"),
        format!("DPoP,{token}"),
        format!("DPoP-{token}"),
        format!("DPoPBearer {token}"),
        format!("Bearer DPoP {token}"),
        format!("DPoP {token} x"),
        token.clone(),
    ]
    .iter()
    .enumerate()
    {
        let proof = alice.proof("POST", &url, Some(&token));
        let answer = whoami(&url, authorization, &[&proof], &format!("10.10.0.{i}")).await;
        if answer.0 == Some(StatusCode::OK) {
            wrong.push(format!("{:?} accepted", &authorization[..12]));
        }
    }
    // The DPoP scheme without case is still DPoP.
    for (i, scheme) in ["dpop", "DPOP", "dPoP"].into_iter().enumerate() {
        let proof = alice.proof("POST", &url, Some(&token));
        let answer = whoami(
            &url,
            &format!("{scheme} {token}"),
            &[&proof],
            &format!("10.10.1.{i}"),
        )
        .await;
        if subject(&answer).as_deref() != Some("alice") {
            wrong.push(format!("{scheme}: {:?}", answer.0));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// ---------------------------------------------------------------------------------------------
// Replay: concurrency, the throttle, the window's edge.
// ---------------------------------------------------------------------------------------------

/// One proof sent many times at once is accepted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copies_of_one_proof_sent_at_once_are_accepted_once() {
    let demo = demo("allowed", &[]);
    let url = demo.server.url.clone();
    let alice = key("ed_private.pem", JwtAlgorithm::EdDSA);
    let token = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let proof = alice.proof("POST", &url, Some(&token));
    let dpop = format!("DPoP {token}");
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let (url, dpop, proof) = (url.clone(), dpop.clone(), proof.clone());
            tokio::spawn(async move {
                whoami(&url, &dpop, &[&proof], &format!("10.11.0.{i}"))
                    .await
                    .0
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        if task.await.unwrap() == Some(StatusCode::OK) {
            ok += 1;
        }
    }
    assert_eq!(ok, 1, "accepted {ok} times");
}

/// Forged proofs spend the address's failed authentications like bad tokens do: past ten
/// the address is answered `429` before any proof is checked.
#[tokio::test]
async fn refused_proofs_spend_the_failed_authentication_budget() {
    let demo = demo("allowed", &[]);
    let url = demo.server.url.clone();
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let mallory = key("ec2_private.pem", JwtAlgorithm::ES256);
    let token = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let mut statuses = Vec::new();
    for _ in 0..14 {
        let proof = mallory.proof("POST", &url, Some(&token));
        statuses.push(
            whoami(&url, &format!("DPoP {token}"), &[&proof], "10.12.0.1")
                .await
                .0,
        );
    }
    assert!(
        statuses.contains(&Some(StatusCode::TOO_MANY_REQUESTS)),
        "{statuses:?}"
    );
    // And the key's own holder, from that address, waits too (the address is throttled).
    let proof = alice.proof("POST", &url, Some(&token));
    let answer = whoami(&url, &format!("DPoP {token}"), &[&proof], "10.12.0.1").await;
    assert_eq!(answer.0, Some(StatusCode::TOO_MANY_REQUESTS));
}

/// A server of this library in this process, DPoP allowed with a `window` for `iat`, in
/// front of a route that answers `200 ok`: its URL.
async fn in_process_server(window: std::time::Duration) -> String {
    use mcp_secure::{
        Security,
        auth::JwtVerifier,
        http::{AuthLayer, Dpop},
        secret::SecretString,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let issuer = url::Url::parse(&url)
        .unwrap()
        .origin()
        .ascii_serialization();
    let layer = AuthLayer::builder(url.clone(), &Security::default())
        .verifier(JwtVerifier::hs256(SecretString::new(JWT_SECRET.into()), &issuer, &*url).unwrap())
        .dpop(Dpop::allowed().window(window))
        .build()
        .unwrap();
    let app = axum::Router::new()
        .route("/mcp", axum::routing::post(|| async { "ok" }))
        .layer(layer);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A proof is accepted while its `iat` is within the window of the server's clock, in whole
/// seconds: for a proof dated at the window's far edge that is up to 2 × window + 1 s after
/// its first use. The replay cache remembers it for 2 × window from its first use, so in the
/// last second the same proof is accepted a second time. (A window of 1 s, so that the test
/// takes 3 s; the default 60 s has the same last second.)
#[tokio::test]
async fn a_proof_is_never_accepted_twice_even_at_the_edge_of_its_window() {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    let window = Duration::from_secs(1);
    let url = in_process_server(window).await;
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let token = minter(&url)
        .bound_to(&alice)
        .mint("alice", ["notes:read"])
        .unwrap();
    // A loaded machine may miss the timing the probe needs (the replay inside the proof's
    // last second): then it tries again with a fresh proof, up to five times.
    for _attempt in 0..5 {
        // Start just after a second begins: the first use is then early in its second.
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        tokio::time::sleep(Duration::from_nanos(
            1_000_000_000 - u64::from(since.subsec_nanos()) + 20_000_000,
        ))
        .await;
        let second = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        // The client's clock is a little ahead: iat at the window's future edge.
        let mut c = claims(&url, Some(&token));
        c.insert("iat".into(), json!(second + window.as_secs() as i64));
        let proof = alice.sign(&alice.header(), &c);
        let send = || async {
            reqwest::Client::new()
                .post(&url)
                .header("Authorization", format!("DPoP {token}"))
                .header("DPoP", &proof)
                .header("Content-Type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap()
                .status()
        };
        assert_eq!(send().await, StatusCode::OK, "the first use");
        assert_eq!(send().await, StatusCode::UNAUTHORIZED, "a replay at once");
        // 2 × window + a little after the first use; still within `iat` + window in whole
        // seconds.
        tokio::time::sleep(2 * window + Duration::from_millis(300)).await;
        let replay = send().await;
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        if at != second + 2 {
            continue;
        }
        assert_eq!(
            replay,
            StatusCode::UNAUTHORIZED,
            "the same proof, {} s after its first use",
            2 * window.as_secs()
        );
        return;
    }
    panic!("five attempts missed the timing this probe needs");
}

// ---------------------------------------------------------------------------------------------
// The development authorization server: proofs at /token, bound refresh, redirect URIs.
// ---------------------------------------------------------------------------------------------

const REDIRECT: &str = "http://127.0.0.1:33418/callback";

struct Dev {
    server: HttpServer,
    http: reqwest::Client,
    origin: String,
    token_endpoint: String,
    _files: tempfile::TempDir,
}

impl Dev {
    async fn start(extra: &[&str]) -> Dev {
        let (files, _outside) = files_dir();
        let mut args = vec![
            "--dev-auth",
            "--dev-auth-user",
            "alice",
            "--dev-auth-scopes",
            "notes:read notes:write",
        ];
        args.extend_from_slice(extra);
        let server = HttpServer::start_with(None, files.path(), &args);
        let origin = server.url.trim_end_matches("/mcp").to_owned();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let metadata: Value = http
            .get(format!("{origin}/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token_endpoint = metadata["token_endpoint"].as_str().unwrap().to_owned();
        Dev {
            server,
            http,
            origin,
            token_endpoint,
            _files: files,
        }
    }

    async fn public_client(&self) -> String {
        let client: Value = self
            .http
            .post(format!("{}/register", self.origin))
            .json(&json!({
                "client_name": "attack",
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        client["client_id"].as_str().unwrap().to_owned()
    }

    async fn authorize(
        &self,
        client: &str,
        redirect_uri: &str,
        challenge: &str,
    ) -> reqwest::Response {
        self.http
            .get(format!("{}/authorize", self.origin))
            .query(&[
                ("response_type", "code"),
                ("client_id", client),
                ("redirect_uri", redirect_uri),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
                ("scope", "notes:read"),
                ("resource", &self.server.url),
            ])
            .send()
            .await
            .unwrap()
    }

    /// A code for `client`, and its PKCE verifier.
    async fn code(&self, client: &str) -> (String, String) {
        let verifier = format!(
            "verifier-{}-0123456789abcdefghijklmnopqrstuvwxyz",
            fresh_jti()
        );
        let challenge = b64(&Sha256::digest(verifier.as_bytes()));
        let response = self.authorize(client, REDIRECT, &challenge).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{response:?}");
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let code = url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("a code");
        (code, verifier)
    }

    /// `POST /token` with `form` and `proofs` as `DPoP` headers: the status (`None` for no
    /// answer at all) and the body.
    async fn token(&self, form: &[(&str, &str)], proofs: &[&str]) -> (Option<StatusCode>, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = self
            .http
            .post(&self.token_endpoint)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        for proof in proofs {
            request = request.header("DPoP", *proof);
        }
        match request.send().await {
            Ok(response) => (
                Some(response.status()),
                response.json().await.unwrap_or(Value::Null),
            ),
            Err(_) => (None, Value::Null),
        }
    }

    fn exchange_form<'a>(
        &'a self,
        client: &'a str,
        code: &'a str,
        verifier: &'a str,
    ) -> Vec<(&'a str, &'a str)> {
        vec![
            ("grant_type", "authorization_code"),
            ("client_id", client),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", REDIRECT),
            ("resource", &self.server.url),
        ]
    }
}

/// The payload of a JWT, unverified.
fn payload(jwt: &str) -> Value {
    serde_json::from_slice(&unb64(jwt.split('.').nth(1).unwrap())).unwrap()
}

/// At `/token` a proof binds the tokens to its key only if it was made for `POST` to the token
/// endpoint, fresh, and never used before: proofs for another endpoint, a resource proof, a
/// replayed one, or a broken key are refused with `invalid_dpop_proof` (and never crash the
/// request); the proof used at `/token` is no proof at the resource.
#[tokio::test]
async fn token_endpoint_proofs_are_checked_like_resource_proofs() {
    let dev = Dev::start(&[]).await;
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let ed = key("ed_private.pem", JwtAlgorithm::EdDSA);
    let client = dev.public_client().await;

    // A first grant, bound: its /token proof is kept to replay.
    let (code, verifier) = dev.code(&client).await;
    let first_proof = alice.proof("POST", &dev.token_endpoint, None);
    let (status, tokens) = dev
        .token(
            &dev.exchange_form(&client, &code, &verifier),
            &[&first_proof],
        )
        .await;
    assert_eq!(status, Some(StatusCode::OK), "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(payload(&access)["cnf"]["jkt"], alice.thumbprint());

    // A second code; every refusal below is for the proof, before the code is looked at.
    let (code, verifier) = dev.code(&client).await;
    let form = dev.exchange_form(&client, &code, &verifier);
    let with = |name: &str, value: Value| {
        let mut c = claims(&dev.token_endpoint, None);
        c.insert(name.into(), value);
        alice.sign(&alice.header(), &c)
    };
    let mut short_ed = ed.header();
    short_ed["jwk"]["x"] = json!(b64(&[9u8; 16]));
    let short_ed = ed.sign(&short_ed, &claims(&dev.token_endpoint, None));
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("the first grant's proof again", vec![first_proof.clone()]),
        (
            "htu of /authorize",
            vec![with("htu", json!(format!("{}/authorize", dev.origin)))],
        ),
        (
            "htu of /register",
            vec![with("htu", json!(format!("{}/register", dev.origin)))],
        ),
        (
            "htu of the resource",
            vec![with("htu", json!(dev.server.url))],
        ),
        (
            "htu of /token/",
            vec![with("htu", json!(format!("{}/", dev.token_endpoint)))],
        ),
        ("htm GET", vec![with("htm", json!("GET"))]),
        ("iat 5 minutes old", vec![with("iat", json!(now() - 300))]),
        (
            "a resource proof (htu /mcp, ath of the bound token)",
            vec![alice.proof("POST", &dev.server.url, Some(&access))],
        ),
        (
            "two proofs",
            vec![
                alice.proof("POST", &dev.token_endpoint, None),
                alice.proof("POST", &dev.token_endpoint, None),
            ],
        ),
        ("an Ed25519 x of 16 bytes", vec![short_ed]),
    ];
    let mut wrong = Vec::new();
    for (what, proofs) in &cases {
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let (status, body) = dev.token(&form, &proofs).await;
        if status != Some(StatusCode::BAD_REQUEST) || body["error"] != "invalid_dpop_proof" {
            wrong.push(format!("{what}: {status:?} {body}"));
        }
    }
    // The code was never spent by those: a good proof still redeems it.
    let (status, tokens) = dev
        .token(&form, &[&alice.proof("POST", &dev.token_endpoint, None)])
        .await;
    if status != Some(StatusCode::OK) {
        wrong.push(format!(
            "the good proof after the refusals: {status:?} {tokens}"
        ));
    }
    // The /token proof is no resource proof.
    let answer = whoami(
        &dev.server.url,
        &format!("DPoP {access}"),
        &[&first_proof],
        "127.0.0.1",
    )
    .await;
    if answer.0 != Some(StatusCode::UNAUTHORIZED) {
        wrong.push(format!("the /token proof at the resource: {:?}", answer.0));
    }
    // And the bound token works with a fresh resource proof.
    let fresh = alice.proof("POST", &dev.server.url, Some(&access));
    let answer = whoami(
        &dev.server.url,
        &format!("DPoP {access}"),
        &[&fresh],
        "127.0.0.1",
    )
    .await;
    if subject(&answer).as_deref() != Some("alice") {
        wrong.push(format!(
            "the bound token with a fresh proof: {:?} {}",
            answer.0, answer.2
        ));
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// A bound grant's refresh token refreshes only with a proof of its key; refused without one,
/// with another key's, or with a replayed proof of the right key, it is not spent (the holder's
/// next refresh works, and its family is not revoked).
#[tokio::test]
async fn a_bound_refresh_token_needs_its_key_and_is_not_spent_by_refusals() {
    let dev = Dev::start(&[]).await;
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let mallory = key("ec2_private.pem", JwtAlgorithm::ES256);
    let client = dev.public_client().await;
    let (code, verifier) = dev.code(&client).await;
    let (status, tokens) = dev
        .token(
            &dev.exchange_form(&client, &code, &verifier),
            &[&alice.proof("POST", &dev.token_endpoint, None)],
        )
        .await;
    assert_eq!(status, Some(StatusCode::OK), "{tokens}");
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client.as_str()),
        ("refresh_token", refresh.as_str()),
    ];
    let used = alice.proof("POST", &dev.token_endpoint, None);
    // Spend `used` on a harmless request first (a refused grant), so that it is a replay below.
    let (status, _) = dev
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &client),
                ("refresh_token", "not-a-refresh-token"),
            ],
            &[&used],
        )
        .await;
    assert_eq!(status, Some(StatusCode::BAD_REQUEST));
    let mut wrong = Vec::new();
    for (what, proofs) in [
        ("no proof", vec![]),
        (
            "Mallory's proof",
            vec![mallory.proof("POST", &dev.token_endpoint, None)],
        ),
        ("Alice's proof, replayed", vec![used.clone()]),
    ] {
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let (status, body) = dev.token(&form, &proofs).await;
        if status == Some(StatusCode::OK) {
            wrong.push(format!(
                "{what}: refreshed, bound to {}",
                payload(body["access_token"].as_str().unwrap_or("a.e30.x"))["cnf"]
            ));
        }
    }
    let (status, body) = dev
        .token(&form, &[&alice.proof("POST", &dev.token_endpoint, None)])
        .await;
    if status != Some(StatusCode::OK) {
        wrong.push(format!(
            "Alice's fresh proof after the refusals: {status:?} {body}"
        ));
    } else {
        let access = body["access_token"].as_str().unwrap();
        if payload(access)["cnf"]["jkt"] != alice.thumbprint() || body["token_type"] != "DPoP" {
            wrong.push(format!(
                "the refreshed token is not bound to Alice's key: {body}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Redirect URIs match the registered text exactly but for a loopback port: spellings that a
/// browser or a URL parser would read as the same place (or as another) are other URIs.
#[tokio::test]
async fn redirect_uri_spellings_are_other_uris() {
    let dev = Dev::start(&[]).await;
    let client = dev.public_client().await;
    let challenge = b64(&Sha256::digest(
        b"verifier-0123456789abcdefghijklmnopqrstuvwxyz",
    ));
    let mut redirected = Vec::new();
    for other in [
        "http://127.0.0.1:33418/callback/../callback",
        "http://127.0.0.1:33418/./callback",
        "http://127.0.0.1:33418//callback",
        "http://127.0.0.1:33418/callback/",
        "http://127.0.0.1:33418/%63allback",
        "http://127.0.0.1:33418/callback%2F",
        "http://127.0.0.1:33418/callback?",
        "http://127.0.0.1:33418/callback#",
        "http://127.0.0.1:33418/callback;x",
        "http://127.0.0.1:33418\\@attacker.example/callback",
        "http://127.0.0.1:33418\\callback",
        "http://127.0.0.1:33418#@attacker.example/callback",
        "http://127.0.0.1:33418?@attacker.example/callback",
        "http://127.0.0.1.:33418/callback",
        "http://127.1:33418/callback",
        "http://0x7f.0.0.1:33418/callback",
        "http://2130706433:33418/callback",
        "http://[::ffff:127.0.0.1]:33418/callback",
        "HTTP://127.0.0.1:33418/callback",
        "http://127.0.0.1:+33418/callback",
        "http://127.0.0.1:-1/callback",
        "http://127.0.0.1:33418 /callback",
        "http://127.0.0.1:33418/callback ",
        " http://127.0.0.1:33418/callback",
        "http://127.0.0.1:33418/callback\t",
        "http:/127.0.0.1:33418/callback",
        "http:\\\\127.0.0.1:33418/callback",
    ] {
        let response = dev.authorize(&client, other, &challenge).await;
        if response.status() != StatusCode::BAD_REQUEST
            || response.headers().get("location").is_some()
        {
            redirected.push(format!(
                "{other:?}: {} {:?}",
                response.status(),
                response.headers().get("location")
            ));
        }
    }
    // The registered one on another port is the one allowance.
    let response = dev
        .authorize(&client, "http://127.0.0.1:1/callback", &challenge)
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(redirected.is_empty(), "{redirected:#?}");
}

// ---------------------------------------------------------------------------------------------
// The Redis replay cache: replicas at once, and Redis down.
// ---------------------------------------------------------------------------------------------

/// Two replicas on one Redis handed one proof at the same moment accept it once, round after
/// round.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    skip_redis,
    ignore = "redis-server is not installed: `apt-get install redis-server` runs it"
)]
async fn replicas_handed_one_proof_at_once_accept_it_once() {
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
        "--trusted-proxy",
        "127.0.0.1/32",
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
    let mut wrong = Vec::new();
    for round in 0..5 {
        let proof = alice.proof("POST", public, Some(&token));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let url = replicas[i % 2].url.clone();
                let (dpop, proof) = (dpop.clone(), proof.clone());
                tokio::spawn(async move {
                    whoami(&url, &dpop, &[&proof], &format!("10.20.{round}.{i}"))
                        .await
                        .0
                })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            if task.await.unwrap() == Some(StatusCode::OK) {
                ok += 1;
            }
        }
        if ok != 1 {
            wrong.push(format!("round {round}: accepted {ok} times"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:?}");
}

/// With Redis down a DPoP request cannot be checked for replay: refused with a `503` that says
/// to retry and nothing of Redis, the audit log says why; and the proof refused then is
/// accepted once Redis is back (it was not recorded), but only once.
#[tokio::test]
#[cfg_attr(
    skip_redis,
    ignore = "redis-server is not installed: `apt-get install redis-server` runs it"
)]
async fn with_redis_down_dpop_is_refused_without_leaking_and_recovers() {
    let mut redis = RedisServer::start();
    let demo = demo(
        "allowed",
        &["--rate-backend", "redis", "--redis-url", &redis.url()],
    );
    let url = demo.server.url.clone();
    let alice = key("ec_private.pem", JwtAlgorithm::ES256);
    let token = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let dpop = format!("DPoP {token}");
    let first = alice.proof("POST", &url, Some(&token));
    assert_eq!(
        subject(&whoami(&url, &dpop, &[&first], "10.21.0.1").await).as_deref(),
        Some("alice")
    );
    redis.stop();
    let proof = alice.proof("POST", &url, Some(&token));
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "whoami", "arguments": {},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}}});
    let response = rpc(&reqwest::Client::new(), &url, Some(&dpop))
        .header("Mcp-Name", "whoami")
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", "tools/call")
        .header("X-Forwarded-For", "10.21.0.2")
        .header("DPoP", &proof)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = format!("{:?}", response.headers());
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    for secret in [
        "redis",
        "Redis",
        "6379",
        "refused",
        "os error",
        "IoError",
        "mcp-secure:dpop",
    ] {
        assert!(
            !text.contains(secret) && !headers.contains(secret),
            "the 503 names {secret}: {text} {headers}"
        );
    }
    redis.restart();
    // The proof refused while Redis was down was not recorded: accepted now, once.
    let mut got = None;
    for _ in 0..40 {
        let answer = whoami(&url, &dpop, &[&proof], "10.21.0.3").await;
        if answer.0 != Some(StatusCode::SERVICE_UNAVAILABLE) {
            got = Some(answer);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let got = got.expect("the server reconnects to Redis");
    assert_eq!(subject(&got).as_deref(), Some("alice"), "{}", got.2);
    let again = whoami(&url, &dpop, &[&proof], "10.21.0.4").await;
    assert_eq!(again.0, Some(StatusCode::UNAUTHORIZED), "{}", again.2);
}
