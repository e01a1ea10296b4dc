//! The development authorization server (`notes-server serve --dev-auth`) over real HTTP: the
//! happy path end to end, and every way a flow can be abused (PKCE, codes, redirect URIs,
//! resources, refresh token reuse, client secrets, registration).

mod common;

use std::collections::HashMap;

use base64::Engine;
use common::*;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://127.0.0.1:33418/callback";

struct Dev {
    server: HttpServer,
    http: reqwest::Client,
    origin: String,
}

/// The query of a redirect's `Location`.
fn redirected(response: &reqwest::Response) -> HashMap<String, String> {
    assert_eq!(response.status(), StatusCode::FOUND, "{response:?}");
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

impl Dev {
    fn start(extra: &[&str]) -> Dev {
        let (files, _outside) = files_dir();
        let mut args = vec!["--dev-auth", "--dev-auth-scopes", "notes:read notes:write"];
        args.extend_from_slice(extra);
        let server = HttpServer::start_with(None, files.path(), &args);
        let origin = server.url.trim_end_matches("/mcp").to_owned();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Dev {
            server,
            http,
            origin,
        }
    }

    /// Approving every request as alice.
    fn alice() -> Dev {
        Dev::start(&["--dev-auth-user", "alice"])
    }

    async fn register(&self, metadata: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/register", self.origin))
            .json(&metadata)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// A public client (PKCE only) that may refresh.
    async fn public_client(&self) -> String {
        let (status, client) = self
            .register(json!({
                "client_name": "test client",
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
            }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{client}");
        assert!(client.get("client_secret").is_none());
        client["client_id"].as_str().unwrap().to_owned()
    }

    /// The authorization server metadata, asked for from `origin` (a browser page) if given.
    async fn metadata(&self, origin: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(format!(
            "{}/.well-known/oauth-authorization-server",
            self.origin
        ));
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        request.send().await.unwrap()
    }

    /// `/authorize` for `client` and `redirect_uri`, well-formed otherwise (no scope, no state).
    async fn authorize_for(&self, client: &str, redirect_uri: &str) -> reqwest::Response {
        let (_, challenge) = pkce();
        self.authorize(&[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect_uri),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("resource", &self.server.url),
        ])
        .await
    }

    async fn authorize_owned(&self, params: &[(&str, String)]) -> reqwest::Response {
        self.http
            .get(format!("{}/authorize", self.origin))
            .query(params)
            .send()
            .await
            .unwrap()
    }

    /// `/authorize` with one more request header, as a browser sends it.
    async fn authorize_with(
        &self,
        params: &[(&str, &str)],
        header: &str,
        value: &str,
    ) -> reqwest::Response {
        self.http
            .get(format!("{}/authorize", self.origin))
            .query(params)
            .header(header, value)
            .send()
            .await
            .unwrap()
    }

    async fn authorize(&self, params: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .get(format!("{}/authorize", self.origin))
            .query(params)
            .send()
            .await
            .unwrap()
    }

    /// A valid authorization for `client` and `scope`: (code, verifier).
    async fn code(&self, client: &str, scope: &str) -> (String, String) {
        let (verifier, _) = pkce();
        let code = self.code_for_verifier(client, scope, &verifier).await;
        (code, verifier)
    }

    /// An authorization for `client` and `scope` whose S256 challenge is `verifier`'s.
    async fn code_for_verifier(&self, client: &str, scope: &str, verifier: &str) -> String {
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        let response = self
            .authorize(&[
                ("response_type", "code"),
                ("client_id", client),
                ("redirect_uri", REDIRECT),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("state", "st-1"),
                ("scope", scope),
                ("resource", &self.server.url),
            ])
            .await;
        let query = redirected(&response);
        assert_eq!(query.get("state").map(String::as_str), Some("st-1"));
        assert_eq!(query.get("iss"), Some(&self.origin), "RFC 9207 iss");
        query["code"].clone()
    }

    async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        self.token_with(self.http.post(format!("{}/token", self.origin)), form)
            .await
    }

    async fn token_with(
        &self,
        request: reqwest::RequestBuilder,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = request
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "no-store",
            "token responses are not cached"
        );
        (status, response.json().await.unwrap())
    }

    async fn exchange(&self, client: &str, code: &str, verifier: &str) -> (StatusCode, Value) {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", client),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", REDIRECT),
            ("resource", &self.server.url),
        ])
        .await
    }

    async fn refresh(
        &self,
        client: &str,
        refresh: &str,
        scope: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("client_id", client),
            ("refresh_token", refresh),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.token(&form).await
    }
}

fn error_of(answer: &(StatusCode, Value)) -> (StatusCode, &str) {
    (answer.0, answer.1["error"].as_str().unwrap_or("<none>"))
}

#[tokio::test]
async fn discovery_points_clients_at_the_development_server() {
    let dev = Dev::alice();
    let challenge = post_initialize(&dev.server.url, None).await;
    assert_eq!(challenge.status(), StatusCode::UNAUTHORIZED);
    let header = challenge.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(header.contains(r#"scope="notes:read""#), "{header}");
    let metadata_url = header.split('"').nth(1).unwrap();
    let prm: Value = dev
        .http
        .get(metadata_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["authorization_servers"], json!([dev.origin]));
    let response = dev
        .http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            dev.origin
        ))
        .send()
        .await
        .unwrap();
    // No `*`: browser-based clients are answered by origin
    // (`other_sites_cannot_use_the_authorization_server`).
    assert!(
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
    let meta: Value = response.json().await.unwrap();
    assert_eq!(meta["issuer"], dev.origin);
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        meta["registration_endpoint"],
        format!("{}/register", dev.origin)
    );
    assert_eq!(meta["token_endpoint"], format!("{}/token", dev.origin));
}

#[tokio::test]
async fn a_token_from_the_flow_works_within_its_scope_only() {
    let dev = Dev::alice();
    let client = dev.public_client().await;
    let (code, verifier) = dev.code(&client, "notes:read").await;
    let (status, tokens) = dev.exchange(&client, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "notes:read");
    let access = tokens["access_token"].as_str().unwrap();
    let c = jwt_claims(access);
    assert_eq!(
        (
            &c["iss"],
            &c["aud"],
            &c["sub"],
            &c["scope"],
            &c["client_id"]
        ),
        (
            &json!(dev.origin),
            &json!(dev.server.url),
            &json!("alice"),
            &json!("notes:read"),
            &json!(client)
        )
    );
    let mcp = connect(&dev.server.url, access).await;
    ok(&call(
        &mcp,
        "notes_search",
        json!({"query": "", "sort": "title", "limit": 5}),
    )
    .await);
    let refused = try_call(&mcp, "notes_create", json!({"title": "t", "body": "b"}))
        .await
        .unwrap_err();
    assert_eq!(
        challenge_scope(&refused).as_deref(),
        Some("notes:read notes:write")
    );
    mcp.cancel().await.unwrap();
}

#[tokio::test]
async fn pkce_is_required_s256_only_and_checked() {
    let dev = Dev::alice();
    let client = dev.public_client().await;
    let base = |method: &'static str, challenge: &'static str| {
        vec![
            ("response_type", "code"),
            ("client_id", client.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_challenge", challenge),
            ("code_challenge_method", method),
            ("state", "s"),
        ]
    };
    let mut plain = base("plain", "a-plain-challenge-that-is-long-enough-0123456789");
    plain.push(("resource", &dev.server.url));
    let refused = redirected(&dev.authorize(&plain).await);
    assert_eq!(refused["error"], "invalid_request");
    assert!(refused["error_description"].contains("S256"), "{refused:?}");
    assert_eq!(refused["state"], "s");
    let mut missing: Vec<_> = base("S256", "")
        .into_iter()
        .filter(|(k, _)| *k != "code_challenge")
        .collect();
    missing.push(("resource", &dev.server.url));
    assert_eq!(
        redirected(&dev.authorize(&missing).await)["error"],
        "invalid_request"
    );

    let (code, _verifier) = dev.code(&client, "notes:read").await;
    let (_, other_verifier) = pkce();
    let wrong = dev.exchange(&client, &code, &other_verifier).await;
    assert_eq!(error_of(&wrong), (StatusCode::BAD_REQUEST, "invalid_grant"));
    // A code that failed its PKCE check is spent.
    let (code2, verifier2) = dev.code(&client, "notes:read").await;
    assert_eq!(
        error_of(&dev.exchange(&client, &code2, "another-verifier").await),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert_eq!(
        error_of(&dev.exchange(&client, &code2, &verifier2).await),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    // A verifier shorter than RFC 7636's 43 characters is refused even when its challenge
    // matches: the length is checked, not only the hash.
    let short = "short-verifier-that-matches";
    let code3 = dev.code_for_verifier(&client, "notes:read", short).await;
    assert_eq!(
        error_of(&dev.exchange(&client, &code3, short).await),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn a_code_works_once_and_its_reuse_revokes_what_it_bought() {
    let dev = Dev::alice();
    let client = dev.public_client().await;
    let (code, verifier) = dev.code(&client, "notes:read").await;
    let (status, tokens) = dev.exchange(&client, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let again = dev.exchange(&client, &code, &verifier).await;
    assert_eq!(error_of(&again), (StatusCode::BAD_REQUEST, "invalid_grant"));
    assert_eq!(
        error_of(&dev.refresh(&client, refresh, None).await),
        (StatusCode::BAD_REQUEST, "invalid_grant"),
        "the refresh token the code bought is revoked"
    );
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let dev = Dev::alice();
    let alice_app = dev.public_client().await;
    let other_app = dev.public_client().await;
    let (code, verifier) = dev.code(&alice_app, "notes:read").await;
    let stolen = dev.exchange(&other_app, &code, &verifier).await;
    assert_eq!(
        error_of(&stolen),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert_eq!(
        error_of(&dev.exchange(&alice_app, &code, &verifier).await).1,
        "invalid_grant",
        "a code presented by another client is spent"
    );
    let (code, verifier) = dev.code(&alice_app, "notes:read").await;
    let elsewhere = dev
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &alice_app),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", "http://127.0.0.1:33418/other"),
        ])
        .await;
    assert_eq!(
        error_of(&elsewhere),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn unregistered_redirect_uris_and_clients_get_a_page_not_a_redirect() {
    let dev = Dev::alice();
    let client = dev.public_client().await;
    let (_, challenge) = pkce();
    for (client_id, redirect) in [
        (client.as_str(), "http://127.0.0.1:33418/evil"),
        (client.as_str(), "https://attacker.example/cb"),
        ("dev-unknown-client", REDIRECT),
        // Spellings a URL parser would make equal to the registered one: only a loopback
        // port may differ (issue 34).
        (
            client.as_str(),
            "http://127.0.0.1:33418/callback/../callback",
        ),
        (client.as_str(), "http://127.0.0.1:33418/evil/../callback"),
        (client.as_str(), "http://127.0.0.1:33418/./callback"),
        (client.as_str(), "http://127.0.0.1:33418/%63allback"),
        (client.as_str(), "HTTP://127.0.0.1:33418/callback"),
        (client.as_str(), "http://127.0.0.1:33418/callback?"),
        (client.as_str(), "http://127.0.0.1:33418/CALLBACK"),
        (client.as_str(), "http://localhost:33418/callback"),
    ] {
        let response = dev
            .authorize(&[
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", redirect),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("resource", &dev.server.url),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get(header::LOCATION).is_none());
        assert!(
            response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
}

#[tokio::test]
async fn tokens_are_for_this_resource_only() {
    let dev = Dev::alice();
    let client = dev.public_client().await;
    let (_, challenge) = pkce();
    let ask = |resource: Option<&'static str>| {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("state", "keep-me"),
        ];
        if let Some(resource) = resource {
            params.push(("resource", resource));
        }
        params
    };
    for resource in [Some("https://other.example/mcp"), None] {
        let refused = redirected(&dev.authorize(&ask(resource)).await);
        assert_eq!(refused["error"], "invalid_target", "{resource:?}");
        assert_eq!(refused["state"], "keep-me");
    }
    let (code, verifier) = dev.code(&client, "notes:read").await;
    let other = dev
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", REDIRECT),
            ("resource", "https://other.example/mcp"),
        ])
        .await;
    assert_eq!(
        error_of(&other),
        (StatusCode::BAD_REQUEST, "invalid_target")
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_its_family() {
    let dev = Dev::alice();
    let client = dev.public_client().await;
    let (code, verifier) = dev.code(&client, "notes:read notes:write").await;
    let (_, first) = dev.exchange(&client, &code, &verifier).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let (status, second) = dev.refresh(&client, r1, None).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2, "rotated");
    assert_eq!(second["scope"], "notes:read notes:write");
    // Someone replays r1: the whole family goes, r2 included.
    assert_eq!(
        error_of(&dev.refresh(&client, r1, None).await).1,
        "invalid_grant"
    );
    assert_eq!(
        error_of(&dev.refresh(&client, r2, None).await).1,
        "invalid_grant"
    );
    // Another client cannot use this client's refresh tokens.
    let (code, verifier) = dev.code(&client, "notes:read").await;
    let (_, tokens) = dev.exchange(&client, &code, &verifier).await;
    let other = dev.public_client().await;
    let theft = dev
        .refresh(&other, tokens["refresh_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(error_of(&theft).1, "invalid_grant");
}

#[tokio::test]
async fn refresh_narrows_scope_and_never_widens_it() {
    let dev = Dev::alice();
    let client = dev.public_client().await;
    let (code, verifier) = dev.code(&client, "notes:read notes:write").await;
    let (_, tokens) = dev.exchange(&client, &code, &verifier).await;
    let (status, narrowed) = dev
        .refresh(
            &client,
            tokens["refresh_token"].as_str().unwrap(),
            Some("notes:read"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    assert_eq!(narrowed["scope"], "notes:read");
    assert_eq!(
        jwt_claims(narrowed["access_token"].as_str().unwrap())["scope"],
        "notes:read"
    );
    let wider = dev
        .refresh(
            &client,
            narrowed["refresh_token"].as_str().unwrap(),
            Some("notes:read files:read"),
        )
        .await;
    assert_eq!(error_of(&wider), (StatusCode::BAD_REQUEST, "invalid_scope"));
}

#[tokio::test]
async fn requested_scopes_are_cut_to_what_may_be_granted() {
    let dev = Dev::alice();
    let client = dev.public_client().await;
    let (code, verifier) = dev.code(&client, "files:read notes:read").await;
    let (_, tokens) = dev.exchange(&client, &code, &verifier).await;
    assert_eq!(
        tokens["scope"], "notes:read",
        "files:read is not grantable here"
    );
    let (_, challenge) = pkce();
    let refused = redirected(
        &dev.authorize(&[
            ("response_type", "code"),
            ("client_id", &client),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("scope", "files:read"),
            ("resource", &dev.server.url),
        ])
        .await,
    );
    assert_eq!(refused["error"], "invalid_scope");
}

#[tokio::test]
async fn confidential_clients_authenticate_and_learn_nothing_from_failures() {
    let dev = Dev::alice();
    let (status, registered) = dev
        .register(json!({"redirect_uris": [REDIRECT], "client_name": "web app"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        registered["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    let id = registered["client_id"].as_str().unwrap();
    let secret = registered["client_secret"].as_str().unwrap();
    let token_url = format!("{}/token", dev.origin);

    let (code, verifier) = dev.code(id, "notes:read").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let wrong = dev
        .token_with(
            dev.http
                .post(&token_url)
                .basic_auth(id, Some("wrong-secret")),
            &form,
        )
        .await;
    let unknown = dev
        .token_with(
            dev.http
                .post(&token_url)
                .basic_auth("dev-nobody", Some(secret)),
            &form,
        )
        .await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.1, unknown.1, "the same answer whatever was wrong");
    assert_eq!(
        wrong.1,
        json!({"error": "invalid_client", "error_description": "client authentication failed"})
    );
    // The secret in the form, when the client registered Basic: refused as well.
    let mut posted = form.to_vec();
    posted.extend([("client_id", id), ("client_secret", secret)]);
    assert_eq!(error_of(&dev.token(&posted).await).1, "invalid_client");
    // No secret at all.
    let mut bare = form.to_vec();
    bare.push(("client_id", id));
    assert_eq!(error_of(&dev.token(&bare).await).1, "invalid_client");
    let (status, tokens) = dev
        .token_with(
            dev.http.post(&token_url).basic_auth(id, Some(secret)),
            &form,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

#[tokio::test]
async fn registration_is_validated_and_rate_limited() {
    let dev = Dev::alice();
    for (metadata, error) in [
        (
            json!({"redirect_uris": ["http://app.example.com/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://*.example.com/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example.com/cb#x"]}),
            "invalid_redirect_uri",
        ),
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (json!({"client_name": "no uris"}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "client_name": "bell\u{7}"}),
            "invalid_client_metadata",
        ),
        // Names that would read otherwise on the consent page than they are.
        (
            json!({"redirect_uris": [REDIRECT], "client_name": "evil\u{202e}elgoog"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "client_name": "trusted\u{200b}\u{e0041}"}),
            "invalid_client_metadata",
        ),
    ] {
        let (status, answer) = dev.register(metadata.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(error)),
            "{metadata}"
        );
    }
    // 20 a minute: with the refusals above, the burst runs out within the next dozen.
    let mut limited = None;
    for _ in 0..20 {
        let response = dev
            .http
            .post(format!("{}/register", dev.origin))
            .json(&json!({"redirect_uris": [REDIRECT]}))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let limited = limited.expect("registrations are rate limited");
    assert!(limited.headers().contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn the_consent_page_escapes_what_clients_send_and_answers_once() {
    let dev = Dev::start(&[]);
    let (status, registered) = dev
        .register(json!({
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "client_name": "<img src=x onerror=alert(1)>\"'",
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let client = registered["client_id"].as_str().unwrap();
    let (verifier, challenge) = pkce();
    let params = [
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", "s"),
        ("scope", "notes:read"),
        ("resource", dev.server.url.as_str()),
    ];
    let page = dev.authorize(&params).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[header::X_FRAME_OPTIONS], "DENY");
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:33418;"),
        "the answer's redirect is allowed: {csp}"
    );
    // The page binds its answer to this browser: a `__Host-` cookie, not for scripts, not
    // sent with another site's form.
    let set_cookie = page.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        set_cookie.starts_with("__Host-mcp-secure-consent="),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;"),
        "{html}"
    );
    let ticket = html
        .split(r#"name="ticket" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let answer_from = |cookie: Option<String>, decision: &'static str, ticket: String| {
        let http = dev.http.clone();
        let url = format!("{}/authorize", dev.origin);
        async move {
            let mut request = http
                .post(url)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(format!("ticket={ticket}&user=bob&decision={decision}"));
            if let Some(cookie) = cookie {
                request = request.header(header::COOKIE, cookie);
            }
            request.send().await.unwrap()
        }
    };
    // Another browser (a form another site submitted, with no cookie or its own) cannot
    // answer the page: the ticket it spent is gone too.
    for other in [
        None,
        Some("__Host-mcp-secure-consent=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned()),
    ] {
        let html = dev.authorize(&params).await.text().await.unwrap();
        let stolen = html
            .split(r#"name="ticket" value=""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_owned();
        let refused = answer_from(other.clone(), "approve", stolen).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{other:?}");
        assert!(refused.headers().get(header::LOCATION).is_none());
    }
    let answer = |decision: &'static str, ticket: String| {
        answer_from(Some(cookie.clone()), decision, ticket)
    };
    let approved = redirected(&answer("approve", ticket.clone()).await);
    let (status, tokens) = dev.exchange(client, &approved["code"], &verifier).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        jwt_claims(tokens["access_token"].as_str().unwrap())["sub"],
        "bob"
    );
    let replayed = answer("approve", ticket).await;
    assert_eq!(
        replayed.status(),
        StatusCode::BAD_REQUEST,
        "a ticket answers once"
    );

    // The same browser's next page keeps its cookie, and the page is answered with it.
    let html = dev
        .authorize_with(&params, "cookie", &cookie)
        .await
        .text()
        .await
        .unwrap();
    let ticket = html
        .split(r#"name="ticket" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let denied = redirected(&answer("deny", ticket).await);
    assert_eq!(denied["error"], "access_denied");
    assert_eq!(denied["state"], "s");
}

/// rmcp's own OAuth client (feature `auth`), driven headless: discovery from the 401,
/// dynamic registration, the code flow with PKCE, then a scope upgrade after the 403.
#[tokio::test]
async fn rmcp_oauth_client_signs_in_and_steps_up() {
    use rmcp::{
        ServiceExt,
        transport::{
            StreamableHttpClientTransport,
            auth::{AuthClient, AuthorizationRequest, OAuthState},
            streamable_http_client::StreamableHttpClientTransportConfig,
        },
    };
    let dev = Dev::alice();
    let challenge = post_initialize(&dev.server.url, None).await;
    let www_authenticate = challenge.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned();

    let mut state = OAuthState::new(dev.server.url.as_str(), None)
        .await
        .unwrap();
    state
        .start_authorization(
            AuthorizationRequest::new(REDIRECT)
                .with_client_name("rmcp-oauth-test")
                .with_challenge(www_authenticate)
                .with_initial_scope_selection(),
        )
        .await
        .unwrap();
    let url = state.get_authorization_url().await.unwrap();
    assert_eq!(
        url::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "scope")
            .map(|(_, v)| v.into_owned())
            .as_deref(),
        Some("notes:read"),
        "rmcp asks for the challenge's scope"
    );
    let browser = dev.http.get(&url).send().await.unwrap();
    let callback = browser.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    // Exchanges the code (PKCE verifier, state and `iss` checked by rmcp) and is authorized.
    state.handle_callback_url(&callback).await.unwrap();
    let manager = state.into_authorization_manager().unwrap();

    let client = AuthClient::new(rmcp_reqwest::Client::new(), manager);
    let manager = client.auth_manager.clone();
    let transport = StreamableHttpClientTransport::with_client(
        client,
        StreamableHttpClientTransportConfig::with_uri(dev.server.url.as_str()),
    );
    let mcp = ().serve(transport).await.unwrap();
    ok(&call(
        &mcp,
        "notes_search",
        json!({"query": "", "sort": "title", "limit": 5}),
    )
    .await);
    let refused = try_call(&mcp, "notes_create", json!({"title": "rmcp", "body": "b"}))
        .await
        .unwrap_err();
    let needed = challenge_scope(&refused).unwrap();
    assert_eq!(
        needed, "notes:read notes:write",
        "held and missing, in one challenge"
    );

    // The step-up: rmcp computes the union of scopes and a new authorization URL.
    let upgrade = manager
        .lock()
        .await
        .request_scope_upgrade(&needed)
        .await
        .unwrap();
    let scope: Vec<String> = url::Url::parse(&upgrade)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.split(' ').map(str::to_owned).collect())
        .unwrap();
    assert!(
        scope.contains(&"notes:read".to_owned()) && scope.contains(&"notes:write".to_owned()),
        "{scope:?}"
    );
    let browser = dev.http.get(&upgrade).send().await.unwrap();
    let query = redirected(&browser);
    manager
        .lock()
        .await
        .exchange_code_for_token_with_issuer(
            &query["code"],
            &query["state"],
            query.get("iss").map(String::as_str),
        )
        .await
        .unwrap();
    let created = call(&mcp, "notes_create", json!({"title": "rmcp", "body": "b"})).await;
    assert_eq!(ok(&created)["title"], "rmcp");
    mcp.cancel().await.unwrap();
}

/// The library directly: the number of clients is capped, and a non-loopback issuer refused.
#[tokio::test]
async fn registrations_are_capped_and_only_loopback_is_served() {
    use mcp_secure::{dev_auth::DevAuthServer, secret::SecretString};
    let secret = || SecretString::new(JWT_SECRET.to_owned());
    let refused = DevAuthServer::builder(
        "https://auth.example.com",
        "https://mcp.example.com/mcp",
        secret(),
    )
    .build()
    .err()
    .expect("a public issuer is refused");
    assert!(refused.to_string().contains("loopback"), "{refused}");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let auth = DevAuthServer::builder(origin.as_str(), format!("{origin}/mcp"), secret())
        .scopes(["notes:read"])
        .max_clients(2)
        .build()
        .unwrap();
    tokio::spawn(mcp_secure::http::serve(
        listener,
        auth.router(),
        Default::default(),
        std::future::pending(),
    ));
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = http
            .post(format!("{origin}/register"))
            .json(&json!({"redirect_uris": [REDIRECT]}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::FORBIDDEN
        ]
    );
}

/// A refresh refused for asking more than was granted is not a use: the same token then
/// refreshes without `scope` (a client's usual retry), and nothing is revoked.
#[tokio::test]
async fn a_refresh_refused_for_its_scope_is_not_spent() {
    let dev = Dev::alice();
    let client = dev.public_client().await;
    let (code, verifier) = dev.code(&client, "notes:read").await;
    let (_, tokens) = dev.exchange(&client, &code, &verifier).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    for wider in ["notes:read notes:write", "files:read", "notes:write"] {
        let refused = dev.refresh(&client, refresh, Some(wider)).await;
        assert_eq!(
            error_of(&refused),
            (StatusCode::BAD_REQUEST, "invalid_scope"),
            "{wider}"
        );
    }
    let (status, renewed) = dev.refresh(&client, refresh, None).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_eq!(renewed["scope"], "notes:read");
    // The rotated token still works: the family was not revoked.
    let (status, again) = dev
        .refresh(&client, renewed["refresh_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
}

/// `resource` is this server's URL however its scheme and host are cased (RFC 3986 §6.2.2.1);
/// its path is not case-folded, and another host or port is another resource.
#[tokio::test]
async fn the_resource_is_compared_after_normalizing_scheme_and_host_case() {
    let dev = Dev::alice();
    let client = dev.public_client().await;
    let url = url::Url::parse(&dev.server.url).unwrap();
    let port = url.port().unwrap();
    let shouted = format!("HTTP://127.0.0.1:{port}/mcp");
    let (_, challenge) = pkce();
    let ask = |resource: &str| {
        vec![
            ("response_type", "code".to_owned()),
            ("client_id", client.clone()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_challenge", challenge.clone()),
            ("code_challenge_method", "S256".to_owned()),
            ("resource", resource.to_owned()),
        ]
    };
    let accepted = redirected(&dev.authorize_owned(&ask(&shouted)).await);
    assert!(accepted.contains_key("code"), "{accepted:?}");
    for other in [
        format!("http://127.0.0.1:{port}/MCP"),
        format!("http://127.0.0.1:{}/mcp", port.wrapping_add(1)),
        format!("http://127.0.0.1:{port}/mcp/"),
        format!("http://127.0.0.2:{port}/mcp"),
        format!("http://user@127.0.0.1:{port}/mcp"),
        format!("http://127.0.0.1:{port}/mcp#frag"),
        "not a url".to_owned(),
    ] {
        let refused = redirected(&dev.authorize_owned(&ask(&other)).await);
        assert_eq!(refused["error"], "invalid_target", "{other}");
    }
    // The token endpoint normalizes the same way.
    let (code, verifier) = dev.code(&client, "notes:read").await;
    let (status, tokens) = dev
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", REDIRECT),
            ("resource", &shouted),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        jwt_claims(tokens["access_token"].as_str().unwrap())["aud"],
        dev.server.url
    );
}

/// A loopback redirect URI matches on any port (RFC 8252 §7.3: native apps listen on a port
/// the system gives them); nothing else about it may differ, and other URIs match exactly.
#[tokio::test]
async fn loopback_redirect_uris_accept_any_port_and_nothing_else() {
    let dev = Dev::alice();
    let client = dev.public_client().await;
    let (code, verifier) = {
        let (verifier, challenge) = pkce();
        let response = dev
            .authorize(&[
                ("response_type", "code"),
                ("client_id", &client),
                ("redirect_uri", "http://127.0.0.1:51234/callback"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("resource", &dev.server.url),
            ])
            .await;
        let location = response.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            location.starts_with("http://127.0.0.1:51234/callback?"),
            "{location}"
        );
        let code = url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("a code");
        (code, verifier)
    };
    // The code is bound to the port it was sent to.
    let (status, tokens) = dev
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", "http://127.0.0.1:51234/callback"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (_, challenge) = pkce();
    for other in [
        "http://127.0.0.1:51234/callback/other",
        "http://127.0.0.1:51234/Callback",
        "http://127.0.0.1:51234/callback?x=1",
        "http://127.0.0.1:51234/callback#f",
        "http://user@127.0.0.1:51234/callback",
        "https://127.0.0.1:51234/callback",
        "http://127.0.0.2:51234/callback",
        "http://localhost:51234/callback",
        "http://[::1]:51234/callback",
        "http://127.0.0.1:51234@attacker.example/callback",
        "http://127.0.0.1.attacker.example:51234/callback",
        "http://127.0.0.1:51234/x/../callback/../evil",
    ] {
        let response = dev
            .authorize(&[
                ("response_type", "code"),
                ("client_id", &client),
                ("redirect_uri", other),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("resource", &dev.server.url),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{other}");
        assert!(
            response.headers().get(header::LOCATION).is_none(),
            "{other}"
        );
    }
    // A registered https URI is matched exactly, port included.
    let (status, https_client) = dev
        .register(json!({
            "redirect_uris": ["https://app.example/cb"],
            "token_endpoint_auth_method": "none",
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let response = dev
        .authorize(&[
            ("response_type", "code"),
            ("client_id", https_client["client_id"].as_str().unwrap()),
            ("redirect_uri", "https://app.example:8443/cb"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("resource", &dev.server.url),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

/// The authorization server's endpoints follow the MCP endpoint's browser rules: another
/// site's page can neither read their answers (no `*`) nor call them, and a page of another
/// site that sends the browser to `/authorize` gets the consent page, not a code, even with
/// `--dev-auth-user`.
#[tokio::test]
async fn other_sites_cannot_use_the_authorization_server() {
    let dev = Dev::start(&[
        "--dev-auth-user",
        "alice",
        "--allow-origin",
        "http://localhost:6274",
    ]);
    let client = dev.public_client().await;
    let allowed = "http://localhost:6274";
    for path in [
        "/.well-known/oauth-authorization-server",
        "/register",
        "/token",
    ] {
        let url = format!("{}{path}", dev.origin);
        let foreign = dev
            .http
            .post(&url)
            .header(header::ORIGIN, "http://attacker.example")
            .json(&json!({"redirect_uris": ["https://attacker.example/cb"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            foreign
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none(),
            "{path}"
        );
        let preflight = dev
            .http
            .request(reqwest::Method::OPTIONS, &url)
            .header(header::ORIGIN, "http://attacker.example")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .send()
            .await
            .unwrap();
        assert!(
            preflight
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none(),
            "{path}"
        );
        let preflight = dev
            .http
            .request(reqwest::Method::OPTIONS, &url)
            .header(header::ORIGIN, allowed)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .send()
            .await
            .unwrap();
        assert_eq!(
            preflight.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            allowed,
            "{path}"
        );
    }
    let metadata = dev.metadata(Some(allowed)).await;
    assert_eq!(metadata.status(), StatusCode::OK);
    assert_eq!(
        metadata.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        allowed
    );
    // A request from no browser (no Origin) answers with no CORS header at all.
    let plain = dev.metadata(None).await;
    assert!(
        plain
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );

    // Sent to /authorize by another site, as a page the browser opens: consent, never an
    // automatic code. (Not as a page: refused, `outbound_fetch.rs`.)
    let (_, challenge) = pkce();
    let params = [
        ("response_type", "code"),
        ("client_id", client.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("resource", dev.server.url.as_str()),
    ];
    for (name, value) in [
        ("Referer", "https://attacker.example/page".to_owned()),
        ("Sec-Fetch-Site", "cross-site".to_owned()),
        ("Sec-Fetch-Site", "same-site".to_owned()),
        ("Referer", format!("{}.attacker.example/", dev.origin)),
    ] {
        let response = dev
            .http
            .get(format!("{}/authorize", dev.origin))
            .query(&params)
            .header(name, &value)
            .header("Sec-Fetch-Mode", "navigate")
            .header("Sec-Fetch-Dest", "document")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}: {value}");
        assert!(
            response.headers().get(header::LOCATION).is_none(),
            "{name}: {value}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains("<form"), "{name}: {value}: the consent page");
    }
    // From its own pages, from a typed URL, or from no browser: approved at once.
    for (name, value) in [
        ("Referer", format!("{}/somewhere", dev.origin)),
        ("Sec-Fetch-Site", "none".to_owned()),
        ("Sec-Fetch-Site", "same-origin".to_owned()),
    ] {
        let response = dev.authorize_with(&params, name, &value).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{name}: {value}");
    }
    let response = dev.authorize(&params).await;
    assert_eq!(response.status(), StatusCode::FOUND);
}

/// A client's metadata documents, served on loopback: `good.json` is a well-formed one; each of
/// the others breaks one rule. Returns the base URL.
async fn documents() -> String {
    use axum::{Router, response::IntoResponse, routing::get};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let doc = |name: &str, extra: Value| {
        let mut doc = json!({
            "client_id": format!("{base}/{name}"),
            "client_name": "Document Client",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
        });
        for (k, v) in extra.as_object().unwrap() {
            doc[k] = v.clone();
        }
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            doc.to_string(),
        )
    };
    let good = doc("good.json", json!({}));
    let mismatch = doc(
        "mismatch.json",
        json!({"client_id": format!("{base}/good.json")}),
    );
    let secret = doc("secret.json", json!({"client_secret": "s3cret"}));
    let basic = doc(
        "basic.json",
        json!({"token_endpoint_auth_method": "client_secret_basic"}),
    );
    let http_redirect = doc(
        "http-redirect.json",
        json!({"redirect_uris": ["http://app.example/cb"]}),
    );
    let big = doc("big.json", json!({"padding": "x".repeat(100 * 1024)}));
    let moved = format!("{base}/good.json");
    let app = Router::new()
        .route("/good.json", get(move || async move { good }))
        .route("/mismatch.json", get(move || async move { mismatch }))
        .route("/secret.json", get(move || async move { secret }))
        .route("/basic.json", get(move || async move { basic }))
        .route(
            "/http-redirect.json",
            get(move || async move { http_redirect }),
        )
        .route("/big.json", get(move || async move { big }))
        .route(
            "/moved.json",
            get(move || async move { axum::response::Redirect::temporary(&moved) }),
        )
        .route("/text.json", get(|| async { "not json" }))
        .route(
            "/missing.json",
            get(|| async { (StatusCode::NOT_FOUND, "no").into_response() }),
        )
        .route(
            "/slow.json",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(20)).await;
                "late"
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// The documents are served over loopback `http` on a port of their own, which the demo's
/// sandbox does not let it connect to (it allows `https`, port 443, for documents): these
/// servers run unconfined, and are allowed to fetch from loopback (by default they fetch from
/// public addresses only: `outbound_fetch.rs`).
fn unconfined() -> Dev {
    Dev::start(&[
        "--dev-auth-user",
        "alice",
        "--sandbox",
        "off",
        "--fetch-allow",
        "127.0.0.1",
    ])
}

#[tokio::test]
async fn a_client_id_metadata_document_stands_for_registration() {
    let dev = unconfined();
    let meta: Value = dev.metadata(None).await.json().await.unwrap();
    assert_eq!(meta["client_id_metadata_document_supported"], true);
    let base = documents().await;
    let client = format!("{base}/good.json");
    let (code, verifier) = dev.code(&client, "notes:read").await;
    let (status, tokens) = dev.exchange(&client, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        jwt_claims(tokens["access_token"].as_str().unwrap())["client_id"],
        client
    );
    let (status, refreshed) = dev
        .refresh(&client, tokens["refresh_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    // Its redirect URIs are the document's, matched like a registration's.
    let elsewhere = dev
        .authorize_for(&client, "https://attacker.example/cb")
        .await;
    assert_eq!(elsewhere.status(), StatusCode::BAD_REQUEST);
    assert!(elsewhere.headers().get(header::LOCATION).is_none());
}

#[tokio::test]
async fn a_metadata_document_that_breaks_a_rule_is_refused_before_any_redirect() {
    let dev = unconfined();
    let base = documents().await;
    for (client, why) in [
        (
            format!("{base}/mismatch.json"),
            "client_id is not its own URL",
        ),
        (format!("{base}/secret.json"), "holds a client secret"),
        (
            format!("{base}/basic.json"),
            "token_endpoint_auth_method must be none",
        ),
        (format!("{base}/http-redirect.json"), "loopback"),
        (format!("{base}/big.json"), "larger than 64 KiB"),
        (format!("{base}/moved.json"), "answered 307"),
        (format!("{base}/text.json"), "not a JSON object"),
        (format!("{base}/missing.json"), "answered 404"),
        (format!("{base}/slow.json"), "could not be fetched"),
        (format!("{base}/"), "needs a path"),
        (
            format!("{base}/good.json?x=1"),
            "needs a path, and no query",
        ),
        ("https://10.0.0.1/client.json".to_owned(), "private"),
        ("https://169.254.169.254/latest".to_owned(), "private"),
        ("http://app.example/client.json".to_owned(), "https"),
    ] {
        let response = dev.authorize_for(&client, REDIRECT).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{client}");
        assert!(
            response.headers().get(header::LOCATION).is_none(),
            "{client}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains(why), "{client}: {page}");
        // Nor does it get tokens.
        let (status, answer) = dev
            .token(&[
                ("grant_type", "authorization_code"),
                ("client_id", &client),
                ("code", "x"),
                ("code_verifier", &"v".repeat(43)),
                ("redirect_uri", REDIRECT),
            ])
            .await;
        assert_eq!(
            error_of(&(status, answer)),
            (StatusCode::UNAUTHORIZED, "invalid_client"),
            "{client}"
        );
    }
}

/// A DPoP key of `mcp-secure/tests/keys` (ES256).
fn dpop_key(file: &str) -> mcp_secure::testing::DpopKey {
    let keys = format!("{}/../mcp-secure/tests/keys", env!("CARGO_MANIFEST_DIR"));
    mcp_secure::testing::DpopKey::from_pem(
        mcp_secure::auth::JwtAlgorithm::ES256,
        &std::fs::read(format!("{keys}/{file}")).unwrap(),
    )
    .unwrap()
}

/// The development server's `/token` with DPoP (RFC 9449 §5): a proof binds the tokens to its
/// key; the grant's refresh tokens then refresh only with a proof of that key, and one refused
/// for its key is not spent; proofs made for another URI or method, or seen before, are
/// refused.
#[tokio::test]
async fn the_token_endpoint_binds_tokens_to_the_proof_key() {
    let (alice, mallory) = (dpop_key("ec_private.pem"), dpop_key("ec2_private.pem"));
    let dev = Dev::alice();
    let (status, metadata) = {
        let response = dev.metadata(None).await;
        (response.status(), response.json::<Value>().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        json!(["ES256", "ES384", "EdDSA", "PS256", "RS256"])
    );
    let token_url = format!("{}/token", dev.origin);
    let with_proof = |proof: String| dev.http.post(token_url.clone()).header("DPoP", proof);
    let client = dev.public_client().await;
    let (code, verifier) = dev.code(&client, "notes:read").await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("client_id", client.as_str()),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
        ("redirect_uri", REDIRECT),
        ("resource", dev.server.url.as_str()),
    ];
    // Proofs for another URI or method, or of a private key, are refused before the code is
    // spent.
    let mut private = alice.header();
    private["jwk"]["d"] = json!("AAAA");
    let mut forged_claims = serde_json::Map::new();
    for (name, value) in [
        ("jti", json!("one-jti")),
        ("htm", json!("POST")),
        ("htu", json!(token_url)),
        ("iat", json!(claims_now())),
    ] {
        forged_claims.insert(name.into(), value);
    }
    for (what, proof) in [
        (
            "the MCP endpoint's htu",
            alice.proof("POST", &dev.server.url, None),
        ),
        ("htm GET", alice.proof("GET", &token_url, None)),
        ("a private jwk", alice.sign(&private, &forged_claims)),
        ("not a JWT", "x.y".to_owned()),
    ] {
        let refused = dev.token_with(with_proof(proof), &exchange).await;
        assert_eq!(
            error_of(&refused),
            (StatusCode::BAD_REQUEST, "invalid_dpop_proof"),
            "{what}: {refused:?}"
        );
    }
    let proof = alice.proof("POST", &token_url, None);
    let (status, tokens) = dev.token_with(with_proof(proof.clone()), &exchange).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(access)["cnf"]["jkt"], alice.thumbprint());
    // The proof was spent: sending it again is a replay, even for another grant.
    let (code, verifier) = dev.code(&client, "notes:read").await;
    let again = [
        ("grant_type", "authorization_code"),
        ("client_id", client.as_str()),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
        ("redirect_uri", REDIRECT),
        ("resource", dev.server.url.as_str()),
    ];
    assert_eq!(
        error_of(&dev.token_with(with_proof(proof), &again).await).1,
        "invalid_dpop_proof"
    );
    // The MCP endpoint takes the token with a proof of alice's key only.
    let call = |authorization: String, proof: Option<String>| {
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
        let mut request = rpc(&dev.http, &dev.server.url, Some(&authorization)).json(&init);
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        async move { request.send().await.unwrap().status() }
    };
    let url = dev.server.url.clone();
    assert_eq!(
        call(
            format!("DPoP {access}"),
            Some(alice.proof("POST", &url, Some(access)))
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        call(format!("Bearer {access}"), None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(
            format!("DPoP {access}"),
            Some(mallory.proof("POST", &url, Some(access)))
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    // Refresh: without a proof, or with mallory's, refused and not spent; with alice's, rotated.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client.as_str()),
        ("refresh_token", refresh),
    ];
    assert_eq!(
        error_of(&dev.token(&form).await).1,
        "invalid_grant",
        "no proof"
    );
    let stolen = dev
        .token_with(with_proof(mallory.proof("POST", &token_url, None)), &form)
        .await;
    assert_eq!(error_of(&stolen).1, "invalid_grant", "another key");
    let (status, refreshed) = dev
        .token_with(with_proof(alice.proof("POST", &token_url, None)), &form)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the holder's refresh still works: {refreshed}"
    );
    assert_eq!(refreshed["token_type"], "DPoP");
    assert_eq!(
        jwt_claims(refreshed["access_token"].as_str().unwrap())["cnf"]["jkt"],
        alice.thumbprint()
    );
}

/// A code bound to a DPoP key at `/authorize` (`dpop_jkt`, RFC 9449 §10) is exchanged with a
/// proof of that key only: without a proof, or with another key's, it is refused (and spent, as
/// any refused exchange spends its code); a `dpop_jkt` that is not a thumbprint is refused at
/// `/authorize`.
#[tokio::test]
async fn a_code_bound_to_a_key_is_exchanged_with_a_proof_of_that_key_only() {
    let (alice, mallory) = (dpop_key("ec_private.pem"), dpop_key("ec2_private.pem"));
    let dev = Dev::alice();
    let token_url = format!("{}/token", dev.origin);
    let client = dev.public_client().await;
    let bound_code = |jkt: String| {
        let (verifier, challenge) = pkce();
        let dev = &dev;
        let client = client.clone();
        async move {
            let response = dev
                .authorize(&[
                    ("response_type", "code"),
                    ("client_id", client.as_str()),
                    ("redirect_uri", REDIRECT),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                    ("scope", "notes:read"),
                    ("resource", &dev.server.url),
                    ("dpop_jkt", &jkt),
                ])
                .await;
            (redirected(&response), verifier)
        }
    };
    for bad in ["not-a-thumbprint", &"A".repeat(44), &"*".repeat(43)] {
        let (query, _) = bound_code(bad.to_owned()).await;
        assert_eq!(
            query.get("error").map(String::as_str),
            Some("invalid_request"),
            "{bad}: {query:?}"
        );
        assert!(!query.contains_key("code"));
    }
    for proof in [None, Some(mallory.proof("POST", &token_url, None))] {
        let (query, verifier) = bound_code(alice.thumbprint().to_owned()).await;
        let exchange = [
            ("grant_type", "authorization_code"),
            ("client_id", client.as_str()),
            ("code", query["code"].as_str()),
            ("code_verifier", verifier.as_str()),
            ("redirect_uri", REDIRECT),
            ("resource", dev.server.url.as_str()),
        ];
        let mut request = dev.http.post(token_url.clone());
        if let Some(proof) = &proof {
            request = request.header("DPoP", proof);
        }
        let refused = dev.token_with(request, &exchange).await;
        assert_eq!(
            error_of(&refused),
            (StatusCode::BAD_REQUEST, "invalid_dpop_proof"),
            "{refused:?}"
        );
        // Spent: the holder of the key cannot use it after a refused exchange either.
        let again = dev
            .token_with(
                dev.http
                    .post(token_url.clone())
                    .header("DPoP", alice.proof("POST", &token_url, None)),
                &exchange,
            )
            .await;
        assert_eq!(error_of(&again).1, "invalid_grant");
    }
    let (query, verifier) = bound_code(alice.thumbprint().to_owned()).await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("client_id", client.as_str()),
        ("code", query["code"].as_str()),
        ("code_verifier", verifier.as_str()),
        ("redirect_uri", REDIRECT),
        ("resource", dev.server.url.as_str()),
    ];
    let (status, tokens) = dev
        .token_with(
            dev.http
                .post(token_url.clone())
                .header("DPoP", alice.proof("POST", &token_url, None)),
            &exchange,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        jwt_claims(tokens["access_token"].as_str().unwrap())["cnf"]["jkt"],
        alice.thumbprint()
    );
}

/// `--dpop-nonces` at the token endpoint (RFC 9449 §8): a proof without the server's nonce is
/// answered `400 use_dpop_nonce` with the nonce in `DPoP-Nonce`, and leaves the code unspent;
/// the same exchange with a proof carrying the nonce gets DPoP-bound tokens. A nonce the server
/// did not issue is refused the same way.
#[tokio::test]
async fn a_token_endpoint_that_requires_nonces_takes_proofs_with_its_nonce_only() {
    let alice = dpop_key("ec_private.pem");
    let dev = Dev::start(&["--dev-auth-user", "alice", "--dpop-nonces"]);
    let token_url = format!("{}/token", dev.origin);
    let client = dev.public_client().await;
    let (code, verifier) = dev.code(&client, "notes:read").await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("client_id", client.as_str()),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
        ("redirect_uri", REDIRECT),
        ("resource", dev.server.url.as_str()),
    ];
    let send = |proof: String| {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(exchange)
            .finish();
        let request = dev
            .http
            .post(token_url.clone())
            .header("DPoP", proof)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            let nonce = response
                .headers()
                .get("dpop-nonce")
                .map(|v| v.to_str().unwrap().to_owned());
            (
                response.status(),
                nonce,
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let with_nonce = |nonce: &str| {
        let mut claims = serde_json::Map::new();
        for (name, value) in [
            ("jti", json!(format!("jti-{nonce}-{}", claims_now()))),
            ("htm", json!("POST")),
            ("htu", json!(token_url)),
            ("iat", json!(claims_now())),
            ("nonce", json!(nonce)),
        ] {
            claims.insert(name.into(), value);
        }
        alice.sign(&alice.header(), &claims)
    };
    let (status, nonce, answer) = send(alice.proof("POST", &token_url, None)).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("use_dpop_nonce")),
        "{answer}"
    );
    let nonce = nonce.expect("the nonce to use, in DPoP-Nonce");
    let made_up = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 40]);
    let (status, _, answer) = send(with_nonce(&made_up)).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("use_dpop_nonce")),
        "a nonce it did not issue: {answer}"
    );
    let (status, _, tokens) = send(with_nonce(&nonce)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the code was left for the retry: {tokens}"
    );
    assert_eq!(tokens["token_type"], "DPoP");
}

fn claims_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
