//! Attacks on the OAuth proxy (`notes-server serve --upstream-issuer …`), from outside: what
//! `oauth_proxy.rs` does not try. Each probe asserts the secure behaviour, so a probe that finds
//! a break fails.
//!
//! The browser is modelled by the consent cookie it carries (`None`: a browser that never saw
//! the proxy's consent page). The upstream provider is `tests/node/rogue_idp.mjs`:
//! oauth2-mock-server whose answers to the proxy's code exchange are tampered with on demand
//! (ID tokens of another audience, expired, unsigned, signed with the client secret, …).

mod common;

use std::collections::HashMap;

use base64::Engine;
use common::{HttpServer, JWT_SECRET, encode, files_dir, idp::Idp, pkce};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1:33421/callback";
const COOKIE: &str = "__Host-mcp-secure-consent";

/// `tests/node/rogue_idp.mjs` on a free loopback port, stopped when dropped.
struct Rogue {
    idp: Idp,
    issuer: String,
}

impl Rogue {
    fn start(advertise_iss: bool) -> Rogue {
        let idp = Idp::run(
            "rogue_idp.mjs",
            &[("IDP_ADVERTISE_ISS", if advertise_iss { "1" } else { "0" })],
        );
        let issuer = idp.issuer.clone();
        Rogue { idp, issuer }
    }

    /// How the provider answers the proxy's code exchanges from now on.
    fn mode(&mut self, mode: &str) {
        let line = format!("mode {mode}");
        assert_eq!(self.idp.command(&line), line);
    }
}

struct Proxy {
    server: HttpServer,
    origin: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    _files: tempfile::TempDir,
}

/// The demo as the proxy in front of `issuer`, as its client `mcp-proxy` / `proxy-secret`.
fn start(issuer: &str) -> Proxy {
    start_with(issuer, &[])
}

/// [`start`], with further arguments.
fn start_with(issuer: &str, extra: &[&str]) -> Proxy {
    let (files, _outside) = files_dir();
    let (server, dir) = common::idp::start_proxy_with(issuer, "proxy-secret", files.path(), extra);
    let origin = server.url.trim_end_matches("/mcp").to_owned();
    Proxy {
        server,
        origin,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _dir: dir,
        _files: files,
    }
}

fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn location(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_owned())
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The `name=value` of the consent cookie a page set.
fn cookie_of(page: &reqwest::Response) -> String {
    page.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn ticket_of(html: &str) -> String {
    html.split("name=\"ticket\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no ticket in {html}"))
        .to_owned()
}

/// A sign-in the `browser` consented to: the browser is now at the provider.
struct SignIn {
    client: String,
    verifier: String,
    /// The consent cookie of the browser that consented.
    cookie: String,
    upstream: String,
}

/// Whether the proxy's answer to a callback gives the client a code (a redirect to `REDIRECT`
/// with `code`), and the redirect's parameters.
fn code_given(response: &reqwest::Response) -> (bool, HashMap<String, String>) {
    match location(response) {
        Some(l) if l.starts_with(REDIRECT) => {
            let q = query_of(&l);
            (q.contains_key("code"), q)
        }
        _ => (false, HashMap::new()),
    }
}

impl Proxy {
    async fn register_with(&self, metadata: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/register", self.origin))
            .json(&metadata)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    async fn register(&self) -> String {
        let client = self
            .register_with(json!({
                "client_name": "attack test client",
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
            }))
            .await;
        client["client_id"].as_str().unwrap().to_owned()
    }

    /// `GET /authorize` for `client` from a browser carrying `cookie`.
    async fn authorize(
        &self,
        client: &str,
        challenge: &str,
        redirect: &str,
        resource: &str,
        cookie: Option<&str>,
    ) -> reqwest::Response {
        let request = self.http.get(format!("{}/authorize", self.origin)).query(&[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("state", "client-state"),
            ("scope", "notes:read"),
            ("resource", resource),
        ]);
        match cookie {
            Some(c) => request.header(header::COOKIE, c),
            None => request,
        }
        .send()
        .await
        .unwrap()
    }

    async fn approve(&self, ticket: &str, cookie: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/authorize", self.origin))
            .header(header::COOKIE, cookie)
            .form(&[("ticket", ticket), ("decision", "approve")])
            .send()
            .await
            .unwrap()
    }

    /// A new client's sign-in, approved in a browser that had no consent cookie before.
    async fn sign_in(&self) -> SignIn {
        let client = self.register().await;
        self.sign_in_as(client).await
    }

    async fn sign_in_as(&self, client: String) -> SignIn {
        let (verifier, challenge) = pkce();
        let page = self
            .authorize(&client, &challenge, REDIRECT, &self.server.url, None)
            .await;
        assert_eq!(page.status(), StatusCode::OK, "the proxy asks for consent");
        let cookie = cookie_of(&page);
        let ticket = ticket_of(&page.text().await.unwrap());
        let approved = self.approve(&ticket, &cookie).await;
        let upstream = location(&approved).expect("the approval leads to the provider");
        SignIn {
            client,
            verifier,
            cookie,
            upstream,
        }
    }

    /// The provider's answer (it signs everyone in at once): the URL of the proxy's callback.
    async fn at_provider(&self, upstream: &str) -> String {
        let response = self.http.get(upstream).send().await.unwrap();
        location(&response).expect("the provider redirects to the callback")
    }

    /// The callback `url` opened in a browser carrying `cookie`.
    async fn callback(&self, url: &str, cookie: Option<&str>) -> reqwest::Response {
        let request = self.http.get(url);
        match cookie {
            Some(c) => request.header(header::COOKIE, c),
            None => request,
        }
        .send()
        .await
        .unwrap()
    }

    async fn exchange(&self, sign_in: &SignIn, code: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/token", self.origin))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", sign_in.client.as_str()),
                ("code", code),
                ("code_verifier", sign_in.verifier.as_str()),
                ("redirect_uri", REDIRECT),
                ("resource", self.server.url.as_str()),
            ])
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn refresh(&self, client: &str, refresh_token: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/token", self.origin))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", client),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// A whole sign-in by one browser: the tokens.
    async fn tokens(&self) -> (SignIn, Value) {
        let sign_in = self.sign_in().await;
        let callback = self.at_provider(&sign_in.upstream).await;
        let answered = self.callback(&callback, Some(&sign_in.cookie)).await;
        let (given, answer) = code_given(&answered);
        assert!(given, "the consenting browser gets its code: {answer:?}");
        let (status, tokens) = self.exchange(&sign_in, &answer["code"]).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        (sign_in, tokens)
    }

    /// `whoami` with `authorization`: the HTTP status and, on success, the principal.
    async fn whoami(&self, authorization: &str) -> (StatusCode, Value) {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "whoami", "arguments": {},
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}}}});
        let response = common::rpc(&self.http, &self.server.url, Some(authorization))
            .header("Mcp-Name", "whoami")
            .header("MCP-Protocol-Version", "2026-07-28")
            .header("Mcp-Method", "tools/call")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer = common::rpc_answer(&response.text().await.unwrap());
        let me = answer["result"]["content"][0]["text"]
            .as_str()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Value::Null);
        (status, me)
    }
}

/// The confused deputy through the callback (CVE-2026-27124, FastMCP's OAuth proxy): the
/// attacker registers a client of its own, approves its consent page in its own browser, and
/// captures the provider's authorization URL the proxy sends it to. It lures the victim, who
/// is signed in at the provider (which, like GitHub or Google for a client already allowed,
/// asks nothing), into opening that URL. The victim's browser lands on the proxy's callback
/// with a code for the victim's account and the attacker's `state`. The victim never saw a
/// consent page naming the attacker's client; the callback must refuse a browser that did not
/// consent to that sign-in, not send a code to the attacker's redirect URI.
#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn a_callback_in_a_browser_that_never_consented_gives_no_code() {
    let idp = Rogue::start(false);
    let proxy = start(&idp.issuer);

    // The victim's browser: once without the proxy's cookie, once with a cookie of its own
    // (it consented to something else at the proxy earlier).
    let victim_page = proxy
        .authorize(
            &proxy.register().await,
            &pkce().1,
            REDIRECT,
            &proxy.server.url,
            None,
        )
        .await;
    let victims_own_cookie = cookie_of(&victim_page);
    for victim in [None, Some(victims_own_cookie.as_str())] {
        let attackers = proxy.sign_in().await;
        // The victim opens the captured URL; the provider sends the victim's browser on.
        let callback = proxy.at_provider(&attackers.upstream).await;
        let answered = proxy.callback(&callback, victim).await;
        let (given, answer) = code_given(&answered);
        if given {
            // Shown end to end: the attacker redeems the code with its own PKCE verifier.
            let (status, tokens) = proxy.exchange(&attackers, &answer["code"]).await;
            panic!(
                "a browser that never consented (cookie {victim:?}) finished the attacker's sign-in: \
                 a code went to the attacker's redirect URI, and /token answered {status} {tokens}"
            );
        }
    }

    // The consenting browser still finishes its own sign-in.
    let (_, tokens) = proxy.tokens().await;
    assert!(tokens["access_token"].is_string());
}

/// The callback's parameters: an `iss` of another issuer (a mix-up, RFC 9207), the proxy's own
/// issuer, a repeated `code` or `state`, the provider's `error` (never quoted to the client),
/// and the same callback opened several times at once (one code at most).
#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn the_callbacks_parameters_are_checked() {
    let idp = Rogue::start(false);
    let proxy = start(&idp.issuer);

    for iss in [
        "http://127.0.0.1:9/another-issuer".to_owned(),
        proxy.origin.clone(),
        format!("{}/", idp.issuer),
        idp.issuer.to_uppercase(),
    ] {
        let sign_in = proxy.sign_in().await;
        let callback = proxy.at_provider(&sign_in.upstream).await;
        let mixed = format!("{callback}&iss={}", enc(&iss));
        let answered = proxy.callback(&mixed, Some(&sign_in.cookie)).await;
        let (given, answer) = code_given(&answered);
        assert!(!given, "iss={iss}: {answer:?}");
    }

    // Repeated parameters: refused on the proxy's page, never forwarded to the client.
    for repeat in ["code=x", "state=x", "iss=x"] {
        let sign_in = proxy.sign_in().await;
        let callback = proxy.at_provider(&sign_in.upstream).await;
        let answered = proxy
            .callback(&format!("{callback}&{repeat}"), Some(&sign_in.cookie))
            .await;
        let (given, answer) = code_given(&answered);
        assert!(!given, "{repeat} repeated: {answer:?}");
    }

    // The provider's error: the client learns that the sign-in failed, not the provider's words.
    let sign_in = proxy.sign_in().await;
    let state = query_of(&sign_in.upstream)["state"].clone();
    let error = format!(
        "{}/callback?error=access_denied&error_description={}&error_uri={}&state={}&code=x",
        proxy.origin,
        enc("PROVIDER-ANSWER-MARKER <script>"),
        enc("https://attacker.example/"),
        enc(&state)
    );
    let answered = proxy.callback(&error, Some(&sign_in.cookie)).await;
    let (given, answer) = code_given(&answered);
    assert!(!given, "{answer:?}");
    assert_eq!(
        answer.get("error").map(String::as_str),
        Some("access_denied")
    );
    let whole = location(&answered).unwrap_or_default();
    assert!(
        !whole.contains("PROVIDER-ANSWER-MARKER") && !whole.contains("attacker.example"),
        "{whole}"
    );

    // One callback opened five times at once: one code at most.
    let sign_in = proxy.sign_in().await;
    let callback = proxy.at_provider(&sign_in.upstream).await;
    let answers = futures_util::future::join_all(
        (0..5).map(|_| proxy.callback(&callback, Some(&sign_in.cookie))),
    )
    .await;
    let codes = answers.iter().filter(|a| code_given(a).0).count();
    assert!(codes <= 1, "{codes} codes for one callback");
}

/// The ID token the provider returns is checked before its `sub` is believed: every way of
/// getting it wrong gives the client `server_error` and no code; the control (the provider
/// behaving) gives a code. Neither the client nor the log sees the provider's answer or the
/// client secret.
#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn every_bad_id_token_is_refused() {
    let mut idp = Rogue::start(false);
    let proxy = start(&idp.issuer);
    let client = proxy.register().await;
    let mut accepted = Vec::new();
    for mode in [
        "aud-other",
        "aud-several-no-azp",
        "aud-several-azp-other",
        "expired",
        "not-yet-valid",
        "no-exp",
        "no-nonce",
        "wrong-nonce",
        "iss-other",
        "iss-trailing-slash",
        "no-sub",
        "sub-empty",
        "sub-control",
        "sub-not-string",
        "sub-long",
        "crit",
        "alg-none",
        "hs256-client-secret",
        "hs256-client-secret-no-kid",
        "other-key",
        "access-token-as-id-token",
        "no-id-token",
        "no-token-type",
        "token-error",
        "malformed-id-token",
    ] {
        idp.mode(mode);
        // One client for all (registrations are limited to 20 a minute).
        let sign_in = proxy.sign_in_as(client.clone()).await;
        let callback = proxy.at_provider(&sign_in.upstream).await;
        let answered = proxy.callback(&callback, Some(&sign_in.cookie)).await;
        let (given, answer) = code_given(&answered);
        if given {
            accepted.push(mode);
            continue;
        }
        assert_eq!(
            answer.get("error").map(String::as_str),
            Some("server_error"),
            "{mode}: {answer:?}"
        );
        let whole = location(&answered).unwrap_or_default();
        assert!(!whole.contains("PROVIDER-ANSWER-MARKER"), "{mode}: {whole}");
    }
    assert!(accepted.is_empty(), "ID tokens accepted: {accepted:?}");
    let log = proxy.server.drain_stderr().join("\n");
    for secret in ["PROVIDER-ANSWER-MARKER", "proxy-secret", "bXNwLXByb3h5"] {
        assert!(!log.contains(secret), "the log holds {secret}: {log}");
    }

    // The controls: the same flow with the provider behaving gives a code, and so does an ID
    // token re-signed the way `crit`'s was, without `crit`.
    for mode in ["normal", "resigned"] {
        idp.mode(mode);
        let (_, tokens) = proxy.tokens().await;
        assert!(tokens["access_token"].is_string(), "{mode}");
    }
}

/// A provider that says it sends `iss` with its answers (RFC 9207) must: an answer without it
/// (or with another) gives no code; with its own, the sign-in works.
#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn an_advertised_iss_is_required() {
    let idp = Rogue::start(true);
    let proxy = start(&idp.issuer);
    for iss in [None, Some("http://127.0.0.1:9/another-issuer")] {
        let sign_in = proxy.sign_in().await;
        let callback = proxy.at_provider(&sign_in.upstream).await;
        let callback = match iss {
            Some(iss) => format!("{callback}&iss={}", enc(iss)),
            None => callback,
        };
        let (given, answer) = code_given(&proxy.callback(&callback, Some(&sign_in.cookie)).await);
        assert!(!given, "iss {iss:?}: {answer:?}");
    }
    let sign_in = proxy.sign_in().await;
    let callback = proxy.at_provider(&sign_in.upstream).await;
    let callback = format!("{callback}&iss={}", enc(&idp.issuer));
    let (given, answer) = code_given(&proxy.callback(&callback, Some(&sign_in.cookie)).await);
    assert!(given, "the provider's own iss: {answer:?}");
}

fn hs256(secret: &[u8], claims: &Value) -> String {
    encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// Issuer confusion at the MCP endpoint: only the proxy's own tokens make the provider's
/// user. The demo's own tokens (`notes-server token`, signed with the secret the proxy's key
/// is derived from) for the provider's subject are principals of this server's issuer, not
/// the provider's; tokens signed with the upstream client secret, or the provider's own, are
/// refused; a proxy token with a claim changed is refused.
#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn only_the_proxys_tokens_are_the_providers_user() {
    let idp = Rogue::start(false);
    let proxy = start(&idp.issuer);
    let (_, tokens) = proxy.tokens().await;
    let access = tokens["access_token"].as_str().unwrap();
    let (status, me) = proxy.whoami(&format!("Bearer {access}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (me["issuer"].as_str(), me["subject"].as_str()),
        (Some(idp.issuer.as_str()), Some("johndoe")),
        "the control: the proxy's token is the provider's user"
    );

    let demo = common::mint(&proxy.server.url, "johndoe", "notes:read", &[]);
    let (status, me) = proxy.whoami(&format!("Bearer {demo}")).await;
    assert_eq!(status, StatusCode::OK, "the demo's token is the demo's");
    assert_ne!(
        me["issuer"].as_str(),
        Some(idp.issuer.as_str()),
        "a demo token taken for the provider's user: {me}"
    );

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let forged = json!({
        "iss": proxy.origin, "aud": proxy.server.url, "sub": "johndoe", "scope": "notes:read",
        "iat": now, "exp": now + 300, "jti": "forged", "client_id": "x",
    });
    // With the provider's issuer as `iss`, signed with the demo's secret.
    let as_provider = json!({
        "iss": idp.issuer, "aud": proxy.server.url, "sub": "johndoe", "scope": "notes:read",
        "iat": now, "exp": now + 300,
    });
    for (what, token) in [
        (
            "signed with the upstream client secret",
            hs256(b"proxy-secret", &forged),
        ),
        (
            "the provider's issuer, the demo's secret",
            hs256(JWT_SECRET.as_bytes(), &as_provider),
        ),
    ] {
        let (status, me) = proxy.whoami(&format!("Bearer {token}")).await;
        assert!(
            status == StatusCode::UNAUTHORIZED
                || me["issuer"].as_str() != Some(idp.issuer.as_str()),
            "{what}: {status} {me}"
        );
    }
    // The proxy's token with its subject changed (its signature no longer matches).
    let mut parts: Vec<String> = access.split('.').map(str::to_owned).collect();
    let mut claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&parts[1])
            .unwrap(),
    )
    .unwrap();
    claims["sub"] = json!("admin");
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&claims).unwrap());
    let (status, _) = proxy.whoami(&format!("Bearer {}", parts.join("."))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Codes and refresh tokens stay with their client: another client (registered by the
/// attacker) cannot redeem a code or refresh token issued to the first; rotation revokes a
/// reused refresh token's family; `resource` other than the served one is refused at
/// `/authorize` and `/token`.
#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn codes_refresh_tokens_and_resources_stay_bound() {
    let idp = Rogue::start(false);
    let proxy = start(&idp.issuer);
    let attacker = proxy.register().await;

    // A code for the victim's client, redeemed by the attacker's.
    let victim = proxy.sign_in().await;
    let callback = proxy.at_provider(&victim.upstream).await;
    let (given, answer) = code_given(&proxy.callback(&callback, Some(&victim.cookie)).await);
    assert!(given);
    let stolen = SignIn {
        client: attacker.clone(),
        verifier: victim.verifier.clone(),
        cookie: String::new(),
        upstream: String::new(),
    };
    let (status, body) = proxy.exchange(&stolen, &answer["code"]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // A refresh token of the victim's client, presented by the attacker's.
    let (_, tokens) = proxy.tokens().await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = proxy.refresh(&attacker, &refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Rotation: the old token again revokes the family (the new one stops working).
    let (owner, tokens) = proxy.tokens().await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, rotated) = proxy.refresh(&owner.client, &first).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    let (status, _) = proxy.refresh(&owner.client, &first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = proxy.refresh(&owner.client, &second).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the family is revoked: {body}"
    );

    // Resource confusion at /authorize: another resource never gets a consent page.
    let client = proxy.register().await;
    for resource in [
        idp.issuer.clone(),
        format!("{}/", proxy.server.url),
        format!("{}/other", proxy.origin),
        proxy.origin.clone(),
        format!("{}#x", proxy.server.url),
        format!("{}?x=1", proxy.server.url),
    ] {
        let page = proxy
            .authorize(&client, &pkce().1, REDIRECT, &resource, None)
            .await;
        let l = location(&page).unwrap_or_default();
        assert!(
            page.status() == StatusCode::FOUND && query_of(&l)["error"] == "invalid_target",
            "{resource}: {} {l}",
            page.status()
        );
    }
}

/// The consent page: the client's name and redirect URI are escaped, the page cannot be
/// framed, its form goes nowhere but the proxy (and the provider, the redirect URI's origin),
/// and its cookie is `__Host-`, Secure, HttpOnly, SameSite=Lax.
#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn the_consent_page_escapes_and_cannot_be_framed() {
    let idp = Rogue::start(false);
    let proxy = start(&idp.issuer);
    let redirect = "https://app.example/cb?x=<b>\"'&y=</code><img src=x>";
    let client = proxy
        .register_with(json!({
            "client_name": "<img src=x onerror=alert(1)></strong>\"'",
            "redirect_uris": [redirect],
            "token_endpoint_auth_method": "none",
        }))
        .await;
    let client = client["client_id"].as_str().unwrap();
    let page = proxy
        .authorize(client, &pkce().1, redirect, &proxy.server.url, None)
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("<img") && !html.contains("<b>") && !html.contains("</strong>\""),
        "{html}"
    );
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        !csp.contains('<') && csp.matches(';').count() == 2,
        "nothing of the client's lands in the policy: {csp}"
    );
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with(&format!("{COOKIE}=")), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            cookie.split("; ").any(|a| a == attribute),
            "{attribute}: {cookie}"
        );
    }
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
}

/// The `<strong>…</strong>` a consent page names its client with.
fn named(html: &str) -> String {
    html.split("<strong>")
        .nth(1)
        .and_then(|rest| rest.split("</strong>").next())
        .unwrap_or_else(|| panic!("no client named in {html}"))
        .to_owned()
}

/// Who the consent page says is asking: a client known by its metadata document is named with
/// its URL (who published the name); a client that merely registered, naming itself after a
/// document client (`"Claude (https://…/client.json)"`), must not be shown exactly as that
/// document client is, or the URL vouches for a stranger.
#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn a_registered_client_cannot_pass_for_a_document_client() {
    let idp = Rogue::start(false);
    // Unconfined: the sandbox lets the demo connect to its declared upstreams only, and the
    // document below is served on a port chosen now.
    let proxy = start_with(&idp.issuer, &["--sandbox", "off"]);
    // The genuine client's metadata document, served on loopback.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let document_url = format!("http://{}/client.json", listener.local_addr().unwrap());
    let document = json!({
        "client_id": document_url,
        "client_name": "Claude",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
    });
    let app = axum::Router::new().route(
        "/client.json",
        axum::routing::get(move || {
            let document = document.clone();
            async move {
                (
                    [(header::CONTENT_TYPE.as_str(), "application/json")],
                    document.to_string(),
                )
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let genuine = proxy
        .authorize(&document_url, &pkce().1, REDIRECT, &proxy.server.url, None)
        .await;
    let status = genuine.status();
    let genuine = genuine.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{genuine}");
    let genuine = named(&genuine);
    assert!(genuine.contains(&document_url), "{genuine}");

    let impostor = proxy
        .register_with(json!({
            "client_name": format!("Claude ({document_url})"),
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
        }))
        .await;
    let impostor = impostor["client_id"].as_str().unwrap();
    let page = proxy
        .authorize(impostor, &pkce().1, REDIRECT, &proxy.server.url, None)
        .await;
    let shown = named(&page.text().await.unwrap());
    assert_ne!(
        shown, genuine,
        "a registered client is named exactly as the document client it imitates"
    );
}

/// Memory bounds that evict: pending consent pages and pending sign-ins at the provider are
/// capped (1000 each), the oldest dropped. A stranger who floods `/authorize` (no client
/// secret) must not be able to throw out a victim's consent page or a victim's sign-in in
/// progress: one client address opens at most 60 consent pages a minute, far from the cap.
#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn a_flood_of_sign_ins_does_not_evict_a_victims() {
    let idp = Rogue::start(false);
    let proxy = start(&idp.issuer);
    let client = proxy.register().await;
    // The victim: a consent page shown, and a sign-in at the provider in progress.
    let (_, challenge) = pkce();
    let page = proxy
        .authorize(&client, &challenge, REDIRECT, &proxy.server.url, None)
        .await;
    let victims_cookie = cookie_of(&page);
    let victims_ticket = ticket_of(&page.text().await.unwrap());
    let victims_sign_in = proxy.sign_in_as(client.clone()).await;

    // The attacker: 1100 consent pages from its address, each approved.
    let flood = 1100;
    let mut opened = 0;
    let mut forwarded = 0;
    for _ in 0..flood {
        let page = proxy
            .authorize(&client, &challenge, REDIRECT, &proxy.server.url, None)
            .await;
        if page.status() != StatusCode::OK {
            continue;
        }
        opened += 1;
        let cookie = cookie_of(&page);
        let ticket = ticket_of(&page.text().await.unwrap());
        if proxy.approve(&ticket, &cookie).await.status() == StatusCode::FOUND {
            forwarded += 1;
        }
    }
    assert!(
        opened <= 60,
        "one address opened {opened} consent pages in a minute"
    );
    assert_eq!(forwarded, opened, "the pages it was given work");

    let mut evicted = Vec::new();
    let approved = proxy.approve(&victims_ticket, &victims_cookie).await;
    if approved.status() != StatusCode::FOUND {
        evicted.push("the victim's consent page");
    }
    let callback = proxy.at_provider(&victims_sign_in.upstream).await;
    let answered = proxy
        .callback(&callback, Some(&victims_sign_in.cookie))
        .await;
    if !code_given(&answered).0 {
        evicted.push("the victim's sign-in at the provider");
    }
    assert!(
        evicted.is_empty(),
        "{flood} unauthenticated requests threw out {evicted:?}"
    );
}
