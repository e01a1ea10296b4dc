//! A tool call over streamable HTTP behind the `AuthLayer` with a DPoP-bound access token and
//! its proof, against the same call with a bearer token, in the same run: what DPoP costs a
//! call. Both tokens are ES256 JWTs of one issuer key (an identity provider's tokens are signed
//! asymmetrically), both requests stateless 2026-07-28 `tools/call`s of the guarded tool, sent
//! by one `reqwest` client; the DPoP request carries a proof (ES256, made before the count: a
//! client's signing is not the server's cost), checked, and its `jti` recorded.
//!
//! `cargo bench -p mcp-secure --features testing --bench dpop`

mod common;
// The whole-call benches' servers; this one serves only the guarded one.
#[allow(dead_code)]
mod servers;

use std::{sync::Arc, time::Duration};

use mcp_secure::{
    Security,
    auth::{Audience, JwtAlgorithm, JwtVerifier},
    http::{AuthLayer, Dpop},
    testing::DpopKey,
};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use serde_json::{Value, json};
use servers::{Guarded, guarded};
use tokio::runtime::Runtime;

mcp_secure::scopes! {
    /// Write notes.
    "notes:write",
}

const ISSUER: &str = "https://auth.example.com";

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// An ES256 access token for `url`, bound to `dpop` when given.
fn access_token(url: &str, dpop: Option<&DpopKey>) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = json!({"iss": ISSUER, "aud": url, "sub": "bench", "scope": "notes:write",
        "iat": now, "exp": now + 3600});
    if let Some(key) = dpop {
        claims["cnf"] = json!({"jkt": key.thumbprint()});
    }
    let signer = jsonwebtoken::EncodingKey::from_ec_pem(&key_file("ec_private.pem")).unwrap();
    mcp_secure::auth::install_jwt_crypto();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(JwtAlgorithm::ES256),
        &claims,
        &signer,
    )
    .unwrap()
}

/// The guarded server behind the `AuthLayer` on loopback; its URL.
fn serve(rt: &Runtime) -> String {
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let server = guarded();
        let service = StreamableHttpService::new(
            move || Ok(server.clone()),
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default().disable_allowed_hosts(),
        );
        let verifier = JwtVerifier::public_key_pem(
            JwtAlgorithm::ES256,
            &key_file("ec_public.pem"),
            ISSUER,
            Audience::Resource,
        )
        .unwrap();
        let auth = AuthLayer::builder(url.as_str(), &Security::default())
            .verifier(verifier)
            .tools(&Guarded::tools())
            // Proofs are made before the count, which under callgrind may take minutes.
            .dpop(Dpop::allowed().window(Duration::from_secs(600)))
            .build()
            .unwrap();
        let app = axum::Router::new()
            .nest_service("/mcp", service)
            .layer(auth);
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    })
}

/// One stateless `tools/call` with `authorization` and `proof`; asserts it was admitted.
async fn call(http: &reqwest::Client, url: &str, authorization: &str, proof: Option<&str>) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "notes_create",
        "arguments": {"title": "Groceries for the week", "owner": "alice@example.com", "priority": 3},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}}});
    let mut request = http
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", "tools/call")
        .header("Mcp-Name", "notes_create")
        .header("Authorization", authorization);
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    let response = request.body(body.to_string()).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let answer: Value = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .find_map(|d| serde_json::from_str(d.trim()).ok())
        .or_else(|| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    assert_eq!(answer["result"]["isError"], false, "{text}");
}

/// `calls` calls of `variant` (`bearer`, or `dpop` with ES256 proofs, `dpop_eddsa` with
/// Ed25519 ones), the first outside the count.
fn run(variant: &str, calls: usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = serve(&rt);
    let http = reqwest::Client::new();
    let key = match variant {
        "dpop_eddsa" => DpopKey::from_pem(JwtAlgorithm::EdDSA, &key_file("ed_private.pem")),
        _ => DpopKey::from_pem(JwtAlgorithm::ES256, &key_file("ec2_private.pem")),
    }
    .unwrap();
    let (authorization, proofs) = match variant {
        "bearer" => (format!("Bearer {}", access_token(&url, None)), None),
        "dpop" | "dpop_eddsa" => {
            let token = access_token(&url, Some(&key));
            let proofs: Vec<String> = (0..=calls)
                .map(|_| key.proof("POST", &url, Some(&token)))
                .collect();
            (format!("DPoP {token}"), Some(proofs))
        }
        other => panic!("unknown variant {other}"),
    };
    let proof = |i: usize| proofs.as_ref().map(|p| p[i].as_str());
    rt.block_on(call(&http, &url, &authorization, proof(calls)));
    let mut i = 0;
    common::counted(calls, || {
        rt.block_on(call(&http, &url, &authorization, proof(i)));
        i += 1;
    });
}

fn main() {
    // `MCP_BENCH_RUN=<variant>:<calls>`, as the other benches (`benches/instructions.sh`).
    if let Ok(run_spec) = std::env::var("MCP_BENCH_RUN") {
        let (variant, calls) = run_spec.split_once(':').expect("variant:calls");
        run(variant, calls.parse().unwrap());
        return;
    }
    divan::main();
}

#[divan::bench(sample_size = 20, sample_count = 50)]
fn bearer() {
    run("bearer", 20);
}

#[divan::bench(sample_size = 20, sample_count = 50)]
fn dpop() {
    run("dpop", 20);
}

#[divan::bench(sample_size = 20, sample_count = 50)]
fn dpop_eddsa() {
    run("dpop_eddsa", 20);
}
