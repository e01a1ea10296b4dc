//! An outside attacker's probes of DPoP server nonces (RFC 9449 §8, §9: `--dpop-nonces`), of
//! `dpop_jkt` at `/authorize` (RFC 9449 §10) and of the CORS that lets browsers send `DPoP`
//! and read `DPoP-Nonce`, over real HTTP against the demo. Each probe asserts the promise
//! (docs/src/http.md, "Tokens a thief cannot use: DPoP"); a probe that fails found a break.
//!
//! The nonces are recomputed here from the demo's secret (HKDF-SHA256 and HMAC-SHA256 written
//! out with `sha2`), so that nonces the server would never issue can be made with a valid
//! HMAC: from the future, from two periods ago, at the ends of `u64`, for another window.

mod common;

use std::collections::HashMap;

use base64::Engine;
use common::*;
use mcp_secure::{
    auth::JwtAlgorithm,
    testing::{DpopKey, token_hash},
};
use reqwest::{StatusCode, header, header::HeaderMap};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://127.0.0.1:33418/callback";
const BROWSER: &str = "http://localhost:6274";
/// The demo's default DPoP window, which is the nonces' period.
const PERIOD: u64 = 60;

fn key(file: &str) -> DpopKey {
    let path = format!(
        "{}/../mcp-secure/tests/keys/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    DpopKey::from_pem(JwtAlgorithm::ES256, &std::fs::read(path).unwrap()).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// The nonce of period `number` under `secret`, as the library makes it (nonce.rs): the period
/// number, big-endian, and its HMAC under HKDF-SHA256(salt "mcp-secure", info "dpop nonces").
fn nonce_bytes(secret: &str, number: u64) -> Vec<u8> {
    let prk = hmac(b"mcp-secure", secret.as_bytes());
    let key = hmac(&prk, b"dpop nonces\x01");
    let number = number.to_be_bytes();
    [&number[..], &hmac(&key, &number)[..]].concat()
}

fn nonce_of(secret: &str, number: u64) -> String {
    b64(&nonce_bytes(secret, number))
}

/// The current period, waited for when it is about to end, so that "the next period" and "two
/// periods ago" mean the same at the server a moment later.
async fn steady_period() -> u64 {
    if now() % PERIOD >= PERIOD - 4 {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
    now() / PERIOD
}

fn object(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn jti() -> String {
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("attack-{}-{n}-{}", now(), std::process::id())
}

fn challenges(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn asks_for_nonce(headers: &HeaderMap) -> bool {
    challenges(headers)
        .iter()
        .any(|c| c.starts_with(r#"DPoP error="use_dpop_nonce""#))
}

/// A stateless `tools/call` of `whoami` from the client address `client` (the demo trusts the
/// loopback proxy's `X-Forwarded-For`), with `authorization` and the `DPoP` header `proof`.
async fn whoami(
    url: &str,
    authorization: &str,
    proof: Option<&str>,
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
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    let response = request.json(&body).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, rpc_answer(&response.text().await.unwrap()))
}

fn subject(answer: &(StatusCode, HeaderMap, Value)) -> Option<String> {
    let text = answer.2["result"]["content"][0]["text"].as_str()?;
    let me: Value = serde_json::from_str(text).ok()?;
    me["subject"].as_str().map(str::to_owned)
}

fn demo(mode: &str, extra: &[&str]) -> (HttpServer, tempfile::TempDir) {
    let (files, _outside) = files_dir();
    let mut args = vec![
        "--dpop",
        mode,
        "--dpop-nonces",
        "--trusted-proxy",
        "127.0.0.1/32",
    ];
    args.extend_from_slice(extra);
    (HttpServer::start_with(None, files.path(), &args), files)
}

/// Promise 1 at the MCP endpoint: only a nonce this server issued, in its period or the next,
/// passes; every other spelling of one (padded, another alphabet, non-canonical bits, spaces,
/// truncated, lengthened, another type), one from the future or from two periods ago, one at
/// the ends of `u64`, one for another window, one of a server with another secret, is answered
/// `use_dpop_nonce` (or refused as malformed), never accepted. A forged signature is not asked
/// for a nonce; a proof refused for its nonce does not spend its `jti`.
#[tokio::test]
async fn attack_resource_nonces_cannot_be_forged_or_bent() {
    let (server, _files) = demo("required", &[]);
    let url = server.url.clone();
    let alice = key("ec_private.pem");
    let bound = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let dpop = format!("DPoP {bound}");
    let proof_with = |jti: &str, nonce: Option<Value>| {
        let mut claims = object(&[
            ("jti", json!(jti)),
            ("htm", json!("POST")),
            ("htu", json!(url)),
            ("iat", json!(now())),
            ("ath", json!(token_hash(&bound))),
        ]);
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), nonce);
        }
        alice.sign(&alice.header(), &claims)
    };
    let mut address = 0u32;
    let mut next_address = || {
        address += 1;
        format!("10.77.{}.{}", address / 250, address % 250 + 1)
    };

    // The nonce the server hands out is the one recomputed here: what follows forges with the
    // server's own key.
    let period = steady_period().await;
    let first = whoami(
        &url,
        &dpop,
        Some(&proof_with(&jti(), None)),
        &next_address(),
    )
    .await;
    assert_eq!(first.0, StatusCode::UNAUTHORIZED);
    assert!(asks_for_nonce(&first.1), "{:?}", challenges(&first.1));
    let issued = first.1["dpop-nonce"].to_str().unwrap().to_owned();
    assert_eq!(
        issued,
        nonce_of(JWT_SECRET, period),
        "the nonce's construction"
    );

    let bytes = nonce_bytes(JWT_SECRET, period);
    let mut trailing = issued.clone().into_bytes();
    // 40 bytes are 54 characters, the last carrying 2 bits and 4 zero bits: set one of those.
    let last = trailing.pop().unwrap();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.iter().position(|&c| c == last).unwrap();
    trailing.push(alphabet[index | 1]);
    let trailing = String::from_utf8(trailing).unwrap();
    let mut short_tag = bytes.clone();
    short_tag.truncate(8 + 16);
    let mut longer = bytes.clone();
    longer.push(0);
    let other_secret = "another-demo-secret-0123456789-abcdefghij";
    let standard = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let forged: Vec<(&str, Value)> = vec![
        ("no nonce claim", Value::Null),
        ("padded", json!(format!("{issued}=="))),
        ("standard alphabet, padded", json!(standard)),
        ("non-canonical trailing bits", json!(trailing)),
        ("a trailing space", json!(format!("{issued} "))),
        ("a leading space", json!(format!(" {issued}"))),
        ("a trailing newline", json!(format!("{issued}\n"))),
        ("a 16-byte tag", json!(b64(&short_tag))),
        ("a byte more", json!(b64(&longer))),
        ("the tag alone", json!(b64(&bytes[8..]))),
        ("upper case", json!(issued.to_uppercase())),
        (
            "the next period (from the future)",
            json!(nonce_of(JWT_SECRET, period + 1)),
        ),
        ("ten periods on", json!(nonce_of(JWT_SECRET, period + 10))),
        ("two periods ago", json!(nonce_of(JWT_SECRET, period - 2))),
        ("period 0", json!(nonce_of(JWT_SECRET, 0))),
        ("period u64::MAX", json!(nonce_of(JWT_SECRET, u64::MAX))),
        (
            "period u64::MAX - 1",
            json!(nonce_of(JWT_SECRET, u64::MAX - 1)),
        ),
        (
            "a 30 s window's period",
            json!(nonce_of(JWT_SECRET, now() / 30)),
        ),
        (
            "a 600 s window's period",
            json!(nonce_of(JWT_SECRET, now() / 600)),
        ),
        ("the period in seconds", json!(nonce_of(JWT_SECRET, now()))),
        (
            "another secret's current nonce",
            json!(nonce_of(other_secret, period)),
        ),
        ("a number", json!(period)),
        ("an array", json!([issued])),
        ("an object", json!({"nonce": issued})),
        ("true", json!(true)),
        ("empty", json!("")),
    ];
    for (what, nonce) in forged {
        let nonce = (!nonce.is_null()).then_some(nonce);
        let answer = whoami(
            &url,
            &dpop,
            Some(&proof_with(&jti(), nonce)),
            &next_address(),
        )
        .await;
        assert_eq!(
            answer.0,
            StatusCode::UNAUTHORIZED,
            "{what}: accepted {:?}",
            answer.2
        );
        assert_eq!(subject(&answer), None, "{what}");
    }

    // A forged signature without a nonce is refused as forged, not asked for a nonce.
    let good = proof_with(&jti(), None);
    let (rest, signature) = good.rsplit_once('.').unwrap();
    let mut signature = signature.as_bytes().to_vec();
    signature[3] = if signature[3] == b'A' { b'B' } else { b'A' };
    let bad_signature = format!("{rest}.{}", String::from_utf8(signature).unwrap());
    let answer = whoami(&url, &dpop, Some(&bad_signature), &next_address()).await;
    assert_eq!(answer.0, StatusCode::UNAUTHORIZED);
    assert!(
        challenges(&answer.1)
            .iter()
            .any(|c| c.starts_with(r#"DPoP error="invalid_dpop_proof""#)),
        "a forged signature: {:?}",
        challenges(&answer.1)
    );

    // A proof refused for its nonce does not spend its `jti`: the client's retry with the nonce
    // may reuse it (only the accepted proof is recorded), and that one is then a replay.
    let kept = jti();
    let refused = whoami(&url, &dpop, Some(&proof_with(&kept, None)), &next_address()).await;
    assert!(asks_for_nonce(&refused.1));
    let stale = whoami(
        &url,
        &dpop,
        Some(&proof_with(
            &kept,
            Some(json!(nonce_of(JWT_SECRET, period + 1))),
        )),
        &next_address(),
    )
    .await;
    assert_eq!(stale.0, StatusCode::UNAUTHORIZED);
    let retry = proof_with(&kept, Some(json!(issued)));
    let answer = whoami(&url, &dpop, Some(&retry), &next_address()).await;
    assert_eq!(
        subject(&answer).as_deref(),
        Some("alice"),
        "the retry with the nonce, same jti: {:?}",
        answer.2
    );
    let replay = whoami(&url, &dpop, Some(&retry), &next_address()).await;
    assert_eq!(replay.0, StatusCode::UNAUTHORIZED, "a replay");
    assert!(
        !asks_for_nonce(&replay.1),
        "a replay is not a nonce problem"
    );

    // The previous period's nonce is still taken (its period and the next).
    let previous = whoami(
        &url,
        &dpop,
        Some(&proof_with(
            &jti(),
            Some(json!(nonce_of(JWT_SECRET, period - 1))),
        )),
        &next_address(),
    )
    .await;
    assert_eq!(subject(&previous).as_deref(), Some("alice"), "{previous:?}");
}

/// Promise 4 with nonces in `allowed` mode: a bound token as a bearer token is refused, an
/// unbound token with the `DPoP` scheme is refused even with a good nonce, a bound one without
/// a nonce is asked for one. Nonce refusals count as failed authentications of their address
/// only: an address that spent its failures on them is throttled (429) without a nonce, while
/// a client at another address is unaffected.
#[tokio::test]
async fn attack_allowed_mode_with_nonces_keeps_bindings_and_limits() {
    let (server, _files) = demo("allowed", &[]);
    let url = server.url.clone();
    let alice = key("ec_private.pem");
    let bound = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let unbound = mint(&url, "bob", "notes:read", &[]);
    let proof = |token: &str, nonce: Option<&str>| {
        let mut claims = object(&[
            ("jti", json!(jti())),
            ("htm", json!("POST")),
            ("htu", json!(url)),
            ("iat", json!(now())),
            ("ath", json!(token_hash(token))),
        ]);
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        alice.sign(&alice.header(), &claims)
    };
    let period = steady_period().await;
    let nonce = nonce_of(JWT_SECRET, period);

    let bearer = whoami(&url, &format!("Bearer {unbound}"), None, "10.78.0.1").await;
    assert_eq!(
        subject(&bearer).as_deref(),
        Some("bob"),
        "allowed takes bearer"
    );
    // A bound token as a bearer token, with or without a proof beside it.
    for (i, proof) in [None, Some(proof(&bound, Some(&nonce)))].iter().enumerate() {
        let answer = whoami(
            &url,
            &format!("Bearer {bound}"),
            proof.as_deref(),
            &format!("10.78.1.{i}"),
        )
        .await;
        assert_eq!(answer.0, StatusCode::UNAUTHORIZED, "bound as bearer {i}");
    }
    let answer = whoami(
        &url,
        &format!("DPoP {unbound}"),
        Some(&proof(&unbound, Some(&nonce))),
        "10.78.2.1",
    )
    .await;
    assert_eq!(
        answer.0,
        StatusCode::UNAUTHORIZED,
        "an unbound token as DPoP"
    );
    let answer = whoami(
        &url,
        &format!("DPoP {bound}"),
        Some(&proof(&bound, None)),
        "10.78.3.1",
    )
    .await;
    assert!(asks_for_nonce(&answer.1), "{:?}", challenges(&answer.1));

    // Spend one address's failures on nonce refusals.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let answer = whoami(
            &url,
            &format!("DPoP {bound}"),
            Some(&proof(&bound, None)),
            "10.78.4.1",
        )
        .await;
        statuses.push((answer.0, answer.1.contains_key("dpop-nonce")));
    }
    assert_eq!(
        statuses[..10],
        [(StatusCode::UNAUTHORIZED, true); 10],
        "{statuses:?}"
    );
    assert_eq!(
        statuses[10..],
        [(StatusCode::TOO_MANY_REQUESTS, false); 2],
        "{statuses:?}"
    );
    let answer = whoami(
        &url,
        &format!("DPoP {bound}"),
        Some(&proof(&bound, Some(&nonce))),
        "10.78.5.1",
    )
    .await;
    assert_eq!(subject(&answer).as_deref(), Some("alice"), "{:?}", answer.2);
}

/// CORS at the MCP endpoint: an allowed origin's preflight may send `DPoP`, and its page may
/// read the `DPoP-Nonce` of a `use_dpop_nonce` answer; another origin gets nothing.
#[tokio::test]
async fn attack_cors_lets_only_allowed_origins_send_dpop_and_read_nonces() {
    let (server, _files) = demo("required", &["--allow-origin", BROWSER]);
    let url = server.url.clone();
    let http = reqwest::Client::new();
    for (origin, allowed) in [(BROWSER, true), ("http://attacker.example", false)] {
        let preflight = http
            .request(reqwest::Method::OPTIONS, &url)
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization, dpop",
            )
            .send()
            .await
            .unwrap();
        let allow = preflight
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().unwrap().to_owned());
        let headers = preflight
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_HEADERS)
            .map(|v| v.to_str().unwrap().to_lowercase())
            .unwrap_or_default();
        match allowed {
            true => {
                assert_eq!(allow.as_deref(), Some(origin));
                assert!(headers.split(", ").any(|h| h == "dpop"), "{headers}");
            }
            false => assert_eq!(allow, None, "{origin}"),
        }
    }
    let alice = key("ec_private.pem");
    let bound = mint(
        &url,
        "alice",
        "notes:read",
        &["--dpop-jkt", alice.thumbprint()],
    );
    let response = rpc(&http, &url, Some(&format!("DPoP {bound}")))
        .header(header::ORIGIN, BROWSER)
        .header("DPoP", alice.proof("POST", &url, Some(&bound)))
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let expose = response.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(expose.contains("dpop-nonce"), "{expose}");
    assert!(response.headers().contains_key("dpop-nonce"));
    let foreign = rpc(&http, &url, Some(&format!("DPoP {bound}")))
        .header(header::ORIGIN, "http://attacker.example")
        .header("DPoP", alice.proof("POST", &url, Some(&bound)))
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert!(!foreign.headers().contains_key("dpop-nonce"));
}

/// The development authorization server with `--dpop-nonces`.
struct Dev {
    server: HttpServer,
    http: reqwest::Client,
    origin: String,
    _files: tempfile::TempDir,
}

impl Dev {
    fn start() -> Dev {
        let (files, _outside) = files_dir();
        let args = [
            "--dev-auth",
            "--dev-auth-scopes",
            "notes:read notes:write",
            "--dev-auth-user",
            "alice",
            "--dpop-nonces",
            "--allow-origin",
            BROWSER,
        ];
        let server = HttpServer::start_with(None, files.path(), &args);
        let origin = server.url.trim_end_matches("/mcp").to_owned();
        let http = oauth::no_redirects();
        Dev {
            server,
            http,
            origin,
            _files: files,
        }
    }

    fn token_url(&self) -> String {
        format!("{}/token", self.origin)
    }

    async fn public_client(&self) -> String {
        oauth::register_public(&self.http, &self.origin, "attack client", REDIRECT).await
    }

    /// `/authorize` for `client` with `extra` parameters (repeated ones too): the response.
    async fn authorize(&self, client: &str, extra: &[(&str, &str)]) -> (reqwest::Response, String) {
        let (verifier, challenge) = pkce();
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("scope", "notes:read"),
            ("resource", &self.server.url),
        ];
        params.extend_from_slice(extra);
        let response = self
            .http
            .get(format!("{}/authorize", self.origin))
            .query(&params)
            .send()
            .await
            .unwrap();
        (response, verifier)
    }

    /// A code for `client`, bound to `jkt` if given: (code, verifier).
    async fn code(&self, client: &str, jkt: Option<&str>) -> (String, String) {
        let extra: Vec<(&str, &str)> = jkt.map(|j| ("dpop_jkt", j)).into_iter().collect();
        let (response, verifier) = self.authorize(client, &extra).await;
        let query = redirected(&response);
        (
            query
                .get("code")
                .unwrap_or_else(|| panic!("no code: {query:?}"))
                .clone(),
            verifier,
        )
    }

    /// `POST /token` with `form` and the `DPoP` header `proof`: status, `DPoP-Nonce`, body.
    async fn token(
        &self,
        form: &[(&str, &str)],
        proof: Option<&str>,
        origin: Option<&str>,
    ) -> (StatusCode, HeaderMap, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = self
            .http
            .post(self.token_url())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (
            status,
            headers,
            response.json().await.unwrap_or(Value::Null),
        )
    }
}

fn as_refs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn redirected(response: &reqwest::Response) -> HashMap<String, String> {
    assert_eq!(response.status(), StatusCode::FOUND, "{response:?}");
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn error(answer: &(StatusCode, HeaderMap, Value)) -> (StatusCode, String) {
    (
        answer.0,
        answer.2["error"].as_str().unwrap_or("<none>").to_owned(),
    )
}

/// Promises 1 and 2 at the token endpoint: a `use_dpop_nonce` refusal spends neither a code
/// (bound by `dpop_jkt` or not) nor a refresh token nor the proof's `jti`; a forged signature
/// is not asked for a nonce; a nonce from the future is refused; the browser may read the
/// nonce. A `dpop_jkt` that is not a thumbprint, or is repeated, is refused at `/authorize`; a
/// code bound to a thumbprint (another key's, or alice's in upper case) is never exchanged with
/// a proof of alice's key that does not match it exactly; the binding survives refresh.
#[tokio::test]
async fn attack_token_endpoint_nonces_and_dpop_jkt() {
    let dev = Dev::start();
    let token_url = dev.token_url();
    let (alice, mallory) = (key("ec_private.pem"), key("ec2_private.pem"));
    let proof_of = |key: &DpopKey, jti: &str, nonce: Option<&str>| {
        let mut claims = object(&[
            ("jti", json!(jti)),
            ("htm", json!("POST")),
            ("htu", json!(token_url)),
            ("iat", json!(now())),
        ]);
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        key.sign(&key.header(), &claims)
    };
    let client = dev.public_client().await;
    let exchange = |code: &str, verifier: &str| -> Vec<(&'static str, String)> {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", client.clone()),
            ("code", code.to_owned()),
            ("code_verifier", verifier.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("resource", dev.server.url.clone()),
        ]
    };
    let borrow = |form: &[(&'static str, String)]| -> Vec<(&'static str, String)> { form.to_vec() };

    // A bound code, first asked for a nonce (from the browser's origin, which may read it),
    // then refused with a forged signature and a nonce from the future: still unspent, and
    // the refused proof's `jti` is still free.
    let period = steady_period().await;
    let (code, verifier) = dev.code(&client, Some(alice.thumbprint())).await;
    let form = borrow(&exchange(&code, &verifier));
    let kept = jti();
    let first = dev
        .token(
            &as_refs(&form),
            Some(&proof_of(&alice, &kept, None)),
            Some(BROWSER),
        )
        .await;
    assert_eq!(
        error(&first),
        (StatusCode::BAD_REQUEST, "use_dpop_nonce".into())
    );
    let nonce = first.1["dpop-nonce"].to_str().unwrap().to_owned();
    assert_eq!(nonce, nonce_of(JWT_SECRET, period));
    let expose = first
        .1
        .get(header::ACCESS_CONTROL_EXPOSE_HEADERS)
        .map(|v| v.to_str().unwrap().to_lowercase())
        .unwrap_or_default();
    assert!(
        expose.contains("dpop-nonce"),
        "a browser client cannot read the token endpoint's DPoP-Nonce: {:?}",
        first.1
    );
    let good = proof_of(&alice, &jti(), None);
    let (rest, signature) = good.rsplit_once('.').unwrap();
    let mut signature = signature.as_bytes().to_vec();
    signature[3] = if signature[3] == b'A' { b'B' } else { b'A' };
    let forged = format!("{rest}.{}", String::from_utf8(signature).unwrap());
    let answer = dev.token(&as_refs(&form), Some(&forged), None).await;
    assert_eq!(
        error(&answer),
        (StatusCode::BAD_REQUEST, "invalid_dpop_proof".into()),
        "a forged signature"
    );
    let future = nonce_of(JWT_SECRET, period + 1);
    let answer = dev
        .token(
            &as_refs(&form),
            Some(&proof_of(&alice, &jti(), Some(&future))),
            None,
        )
        .await;
    assert_eq!(
        error(&answer),
        (StatusCode::BAD_REQUEST, "use_dpop_nonce".into()),
        "a nonce from the future"
    );
    // Mallory, holding the code and the server's nonce, is refused (and that spends it: the
    // documented rule), so alice's code is tried before him.
    let (status, _, tokens) = dev
        .token(
            &as_refs(&form),
            Some(&proof_of(&alice, &kept, Some(&nonce))),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the code and the jti were left for the retry: {tokens}"
    );
    assert_eq!(
        common::jwt_claims(tokens["access_token"].as_str().unwrap())["cnf"]["jkt"],
        alice.thumbprint()
    );
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // The refresh token: a use_dpop_nonce and a thief's proof (with the nonce) leave it
    // unspent and its family alive; the holder's refresh keeps the binding.
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("client_id", client.as_str()),
        ("refresh_token", refresh.as_str()),
    ];
    let answer = dev
        .token(&refresh_form, Some(&proof_of(&alice, &jti(), None)), None)
        .await;
    assert_eq!(
        error(&answer),
        (StatusCode::BAD_REQUEST, "use_dpop_nonce".into())
    );
    let answer = dev
        .token(
            &refresh_form,
            Some(&proof_of(&mallory, &jti(), Some(&nonce))),
            None,
        )
        .await;
    assert_eq!(
        error(&answer).0,
        StatusCode::BAD_REQUEST,
        "a thief's refresh"
    );
    let answer = dev
        .token(
            &refresh_form,
            Some(&proof_of(&alice, &jti(), Some(&nonce))),
            None,
        )
        .await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.2);
    assert_eq!(
        common::jwt_claims(answer.2["access_token"].as_str().unwrap())["cnf"]["jkt"],
        alice.thumbprint(),
        "the binding survives refresh"
    );

    // Malformed or repeated dpop_jkt: refused at /authorize, no code.
    let jkt = alice.thumbprint().to_owned();
    let plus = format!("+{}", &jkt[1..]);
    let space = format!(" {}", &jkt[1..]);
    let padded = format!("{jkt}=");
    let short = jkt[..42].to_owned();
    let percent = format!("%41{}", &jkt[3..]);
    for bad in [&plus, &space, &padded, &short, &percent, &"=".repeat(43)] {
        let (response, _) = dev.authorize(&client, &[("dpop_jkt", bad)]).await;
        if response.status() == StatusCode::FOUND {
            let query = redirected(&response);
            assert_eq!(
                query.get("error").map(String::as_str),
                Some("invalid_request"),
                "{bad:?}: {query:?}"
            );
            assert!(!query.contains_key("code"), "{bad:?}");
        }
    }
    for pair in [
        [
            ("dpop_jkt", jkt.as_str()),
            ("dpop_jkt", mallory.thumbprint()),
        ],
        [("dpop_jkt", jkt.as_str()), ("dpop_jkt", jkt.as_str())],
    ] {
        let (response, _) = dev.authorize(&client, &pair).await;
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert!(
            !location.contains("code="),
            "a repeated dpop_jkt got a code: {location}"
        );
    }
    // Codes bound to a thumbprint that is not exactly alice's are not exchanged with her proof
    // (with the nonce), nor a code bound to alice with mallory's.
    let upper = jkt.to_uppercase();
    for (bound_to, signer) in [
        (mallory.thumbprint(), &alice),
        (upper.as_str(), &alice),
        (jkt.as_str(), &mallory),
    ] {
        let (code, verifier) = dev.code(&client, Some(bound_to)).await;
        let form = borrow(&exchange(&code, &verifier));
        let answer = dev
            .token(
                &as_refs(&form),
                Some(&proof_of(signer, &jti(), Some(&nonce))),
                None,
            )
            .await;
        assert_eq!(
            error(&answer),
            (StatusCode::BAD_REQUEST, "invalid_dpop_proof".into()),
            "bound to {bound_to}: {}",
            answer.2
        );
    }
    // A code bound to alice, and no proof at all (no nonce asked of it either): refused.
    let (code, verifier) = dev.code(&client, Some(&jkt)).await;
    let form = borrow(&exchange(&code, &verifier));
    let answer = dev.token(&as_refs(&form), None, None).await;
    assert_eq!(error(&answer).0, StatusCode::BAD_REQUEST, "{}", answer.2);
    assert!(answer.2.get("access_token").is_none());
}
