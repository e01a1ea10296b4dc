//! The OAuth proxy (`notes-server serve --upstream-issuer …`) in front of a third-party identity
//! provider that registers nobody, `oauth2-mock-server` (npm): a client registers at the
//! proxy, approves its consent page, signs in at the provider (where the proxy is the
//! confidential client `mcp-proxy`), and gets the proxy's own tokens, whose principal is the
//! provider's user. And the attacks on it: a code replayed, codes swapped between two
//! sign-ins, a callback replayed or made up, consent skipped, a redirect URI changed, the
//! provider's own token presented to the MCP endpoint.

mod common;

use common::{
    HttpServer, files_dir,
    idp::Idp,
    jwt_claims,
    oauth::{consent_of, location, no_redirects, proxy_replicas, query_of, register_public, token},
    pkce,
    redis_server::RedisServer,
};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1:33421/callback";

struct Proxy {
    /// The first replica (the only one, but in the replicas' test).
    server: HttpServer,
    /// The MCP endpoint's URL, as clients reach it.
    url: String,
    origin: String,
    http: reqwest::Client,
    _others: Vec<HttpServer>,
    _dirs: Vec<tempfile::TempDir>,
    _files: tempfile::TempDir,
}

fn start(idp: &Idp, secret: &str) -> Proxy {
    let (files, _outside) = files_dir();
    let (server, dir) = common::idp::start_proxy(idp, secret, files.path());
    let origin = server.url.trim_end_matches("/mcp").to_owned();
    Proxy {
        url: server.url.clone(),
        server,
        origin,
        http: no_redirects(),
        _others: Vec::new(),
        _dirs: vec![dir],
        _files: files,
    }
}

/// Two replicas of the proxy on `redis`, behind a balancer that sends each request to the
/// next replica: every step of a sign-in lands on the other replica than the step before.
async fn start_replicas(idp: &Idp, secret: &str, redis: &RedisServer) -> Proxy {
    let (files, _outside) = files_dir();
    let mut replicas = proxy_replicas(&idp.issuer, secret, &redis.url(), files.path()).await;
    let others = replicas.servers.split_off(1);
    Proxy {
        server: replicas.servers.remove(0),
        url: replicas.url,
        origin: replicas.origin,
        http: no_redirects(),
        _others: others,
        _dirs: replicas.dirs,
        _files: files,
    }
}

/// A sign-in in progress: the client, its PKCE verifier and where the browser is sent.
struct SignIn {
    client: String,
    verifier: String,
    /// The consent cookie of the browser that consented.
    cookie: String,
    /// The provider's authorization URL the proxy sent the browser to after consent.
    upstream: String,
}

impl Proxy {
    async fn register(&self) -> String {
        register_public(&self.http, &self.origin, "proxy test client", REDIRECT).await
    }

    /// `/authorize` for `client`: the consent page's ticket.
    async fn consent_page(
        &self,
        client: &str,
        challenge: &str,
        redirect: &str,
    ) -> reqwest::Response {
        self.http
            .get(format!("{}/authorize", self.origin))
            .query(&[
                ("response_type", "code"),
                ("client_id", client),
                ("redirect_uri", redirect),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
                ("state", "client-state"),
                ("scope", "notes:read"),
                ("resource", &self.url),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Registers a client, approves its consent page: the browser is then at the provider.
    async fn start_sign_in(&self) -> SignIn {
        let client = self.register().await;
        let (verifier, challenge) = pkce();
        let page = self.consent_page(&client, &challenge, REDIRECT).await;
        let (cookie, ticket, html) = consent_of(page).await;
        assert!(
            html.contains(REDIRECT),
            "the page names the redirect URI: {html}"
        );
        let approved = self
            .http
            .post(format!("{}/authorize", self.origin))
            .header(header::COOKIE, &cookie)
            .form(&[("ticket", ticket.as_str()), ("decision", "approve")])
            .send()
            .await
            .unwrap();
        SignIn {
            client,
            verifier,
            cookie,
            upstream: location(&approved),
        }
    }

    /// The provider's answer to `sign_in` (it signs everyone in at once): the proxy's callback.
    async fn at_provider(&self, sign_in: &SignIn) -> String {
        location(&self.http.get(&sign_in.upstream).send().await.unwrap())
    }

    /// The proxy's callback, opened in the browser that carries `cookie`.
    async fn callback(&self, callback: &str, cookie: &str) -> reqwest::Response {
        self.http
            .get(callback)
            .header(header::COOKIE, cookie)
            .send()
            .await
            .unwrap()
    }

    async fn exchange(&self, sign_in: &SignIn, code: &str) -> (StatusCode, Value) {
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", sign_in.client.as_str()),
            ("code", code),
            ("code_verifier", sign_in.verifier.as_str()),
            ("redirect_uri", REDIRECT),
            ("resource", self.url.as_str()),
        ];
        token(&self.http, &self.origin, &form).await
    }

    /// A stateless `tools/call` of `whoami` with `authorization`.
    async fn whoami(&self, authorization: &str) -> (StatusCode, Value) {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "whoami", "arguments": {},
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}}}});
        let response = common::rpc(&self.http, &self.url, Some(authorization))
            .header("Mcp-Name", "whoami")
            .header("MCP-Protocol-Version", "2026-07-28")
            .header("Mcp-Method", "tools/call")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, common::rpc_answer(&response.text().await.unwrap()))
    }
}

#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn a_client_signs_in_through_the_proxy_as_the_providers_user() {
    let idp = Idp::start();
    let proxy = start(&idp, "proxy-secret");
    let metadata: Value = reqwest::get(format!(
        "{}/.well-known/oauth-authorization-server",
        proxy.origin
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(metadata["issuer"], proxy.origin.as_str());
    let sign_in = proxy.start_sign_in().await;
    // The provider is asked with a state, a nonce and PKCE of the proxy's own, for the proxy's
    // client and callback.
    assert!(
        sign_in.upstream.starts_with(&idp.issuer),
        "{}",
        sign_in.upstream
    );
    let asked = query_of(&sign_in.upstream);
    assert_eq!(asked["client_id"], "mcp-proxy");
    assert_eq!(asked["redirect_uri"], format!("{}/callback", proxy.origin));
    assert_eq!(asked["code_challenge_method"], "S256");
    assert!(asked["scope"].split(' ').any(|s| s == "openid"));
    assert!(asked["state"].len() >= 43 && asked["nonce"].len() >= 43);
    assert_ne!(
        asked["state"], "client-state",
        "never the client's own state"
    );
    let callback = proxy.at_provider(&sign_in).await;
    let answered = proxy.callback(&callback, &sign_in.cookie).await;
    let to_client = location(&answered);
    assert!(to_client.starts_with(REDIRECT), "{to_client}");
    let answer = query_of(&to_client);
    assert_eq!(answer["state"], "client-state");
    assert_eq!(answer["iss"], proxy.origin.as_str(), "RFC 9207");
    let (status, tokens) = proxy.exchange(&sign_in, &answer["code"]).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let issued = jwt_claims(access);
    assert_eq!(
        issued["iss"],
        proxy.origin.as_str(),
        "the proxy's own token"
    );
    assert_eq!(issued["aud"], proxy.url.as_str());
    assert_eq!(issued["sub"], "johndoe", "the provider's user");
    assert!(issued["jti"].is_string());
    let (status, me) = proxy.whoami(&format!("Bearer {access}")).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let me: Value =
        serde_json::from_str(me["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(me["subject"], "johndoe");
    assert_eq!(
        me["issuer"],
        idp.issuer.as_str(),
        "the principal is the provider's"
    );

    // The code works once.
    let (status, replayed) = proxy.exchange(&sign_in, &answer["code"]).await;
    assert_eq!(
        (status, replayed["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // The callback works once: its state was spent.
    let again = proxy.callback(&callback, &sign_in.cookie).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.headers().get(header::LOCATION).is_none());
}

#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn the_proxys_rules_refuse_each_attack() {
    let idp = Idp::start();
    let proxy = start(&idp, "proxy-secret");

    // Codes swapped between two sign-ins: each callback carries the other's provider code,
    // which was issued for the other's PKCE challenge and nonce; neither yields a code.
    let (a, b) = (proxy.start_sign_in().await, proxy.start_sign_in().await);
    let (callback_a, callback_b) = (proxy.at_provider(&a).await, proxy.at_provider(&b).await);
    let (qa, qb) = (query_of(&callback_a), query_of(&callback_b));
    for (state, code, cookie) in [
        (&qa["state"], &qb["code"], &a.cookie),
        (&qb["state"], &qa["code"], &b.cookie),
    ] {
        let swapped = format!(
            "{}/callback?code={}&state={}",
            proxy.origin,
            url::form_urlencoded::byte_serialize(code.as_bytes()).collect::<String>(),
            url::form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()
        );
        let answer = query_of(&location(&proxy.callback(&swapped, cookie).await));
        assert!(!answer.contains_key("code"), "{answer:?}");
        assert_eq!(answer["error"], "server_error");
    }

    // A callback the proxy never started, or with the provider's state stripped.
    for made_up in [
        format!("{}/callback?code=x&state=made-up", proxy.origin),
        format!("{}/callback?code=x", proxy.origin),
    ] {
        let refused = proxy.callback(&made_up, &a.cookie).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{made_up}");
        assert!(refused.headers().get(header::LOCATION).is_none());
    }

    // Consent cannot be skipped: an approval needs the ticket of a page shown, once; and a
    // client that was approved before is asked again.
    for form in [
        vec![("decision", "approve")],
        vec![("ticket", "guessed"), ("decision", "approve")],
    ] {
        let refused = proxy
            .http
            .post(format!("{}/authorize", proxy.origin))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(refused.headers().get(header::LOCATION).is_none());
    }
    let (_, challenge) = pkce();
    let page = proxy.consent_page(&a.client, &challenge, REDIRECT).await;
    assert_eq!(page.status(), StatusCode::OK, "asked again, not forwarded");
    // The confused deputy: another site's page makes the victim's browser submit the
    // attacker's ticket (of a page the attacker loaded for its own client). The victim's
    // browser does not carry the attacker's consent cookie: refused, nothing forwarded.
    let attackers_page = proxy.consent_page(&b.client, &challenge, REDIRECT).await;
    let html = attackers_page.text().await.unwrap();
    let ticket = html
        .split("name=\"ticket\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let victims = proxy
        .http
        .post(format!("{}/authorize", proxy.origin))
        .header(
            header::COOKIE,
            "__Host-mcp-secure-consent=VictimVictimVictimVictimVictimVictimVictim",
        )
        .form(&[("ticket", ticket.as_str()), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(victims.status(), StatusCode::BAD_REQUEST);
    assert!(victims.headers().get(header::LOCATION).is_none());
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers()[header::X_FRAME_OPTIONS], "DENY");

    // A redirect URI other than the registered one, however spelled.
    for other in [
        "http://127.0.0.1:33421/callback/../callback",
        "http://127.0.0.1:33421/other",
        "https://attacker.example/callback",
    ] {
        let refused = proxy.consent_page(&a.client, &challenge, other).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{other}");
        assert!(refused.headers().get(header::LOCATION).is_none());
    }

    // The provider's own token, even one naming this resource, is not the proxy's.
    let upstream_token = idp.token("johndoe", "notes:read", &proxy.url).await;
    let (status, _) = proxy.whoami(&format!("Bearer {upstream_token}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn a_proxy_with_the_wrong_client_secret_signs_nobody_in() {
    let idp = Idp::start();
    let proxy = start(&idp, "not-the-secret");
    let sign_in = proxy.start_sign_in().await;
    let callback = proxy.at_provider(&sign_in).await;
    let answer = query_of(&location(&proxy.callback(&callback, &sign_in.cookie).await));
    assert!(!answer.contains_key("code"), "{answer:?}");
    assert_eq!(answer["error"], "server_error");
    // The log names the failure, never the secret.
    let log = proxy.server.drain_stderr().join("\n");
    assert!(log.contains("a sign-in failed"), "{log}");
    assert!(!log.contains("not-the-secret"), "{log}");
}

/// Through the proxy too, a token request with a DPoP proof gets tokens bound to its key, and
/// refresh tokens rotate: a used one revokes its family, and a bound one needs its key.
#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn proxy_tokens_bind_to_a_dpop_key_and_refresh_tokens_rotate() {
    use mcp_secure::{auth::JwtAlgorithm, testing::DpopKey};
    let key = DpopKey::from_pem(
        JwtAlgorithm::ES256,
        &std::fs::read(format!(
            "{}/../mcp-secure/tests/keys/ec_private.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let idp = Idp::start();
    let proxy = start(&idp, "proxy-secret");
    let sign_in = proxy.start_sign_in().await;
    let callback = proxy.at_provider(&sign_in).await;
    let answer = query_of(&location(&proxy.callback(&callback, &sign_in.cookie).await));
    let token_url = format!("{}/token", proxy.origin);
    let post = |form: Vec<(&'static str, String)>, proof: Option<String>| {
        let mut request = proxy.http.post(&token_url).form(&form);
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, tokens) = post(
        vec![
            ("grant_type", "authorization_code".into()),
            ("client_id", sign_in.client.clone()),
            ("code", answer["code"].clone()),
            ("code_verifier", sign_in.verifier.clone()),
            ("redirect_uri", REDIRECT.into()),
            ("resource", proxy.url.clone()),
        ],
        Some(key.proof("POST", &token_url, None)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(access)["cnf"]["jkt"], key.thumbprint());
    assert_eq!(
        proxy.whoami(&format!("Bearer {access}")).await.0,
        StatusCode::UNAUTHORIZED,
        "a bound token is not a bearer token"
    );
    let refresh = |token: String, proof: Option<String>| {
        post(
            vec![
                ("grant_type", "refresh_token".into()),
                ("client_id", sign_in.client.clone()),
                ("refresh_token", token),
            ],
            proof,
        )
    };
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, _) = refresh(first.clone(), None).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a bound refresh needs its key"
    );
    let (status, rotated) = refresh(first.clone(), Some(key.proof("POST", &token_url, None))).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    // The first, used again: its family goes, the second with it.
    let (status, _) = refresh(first, Some(key.proof("POST", &token_url, None))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, revoked) = refresh(second, Some(key.proof("POST", &token_url, None))).await;
    assert_eq!(
        (status, revoked["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

/// The proxy keeps the provider's refresh token (sealed) and asks the provider again at each
/// refresh: once the provider stops signing the user in, the grant's next refresh is refused
/// and its family revoked.
#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server (README, \"The two commands\")"
)]
async fn a_user_the_provider_no_longer_signs_in_loses_the_grant_at_refresh() {
    let mut idp = Idp::start();
    let proxy = start(&idp, "proxy-secret");
    let sign_in = proxy.start_sign_in().await;
    let callback = proxy.at_provider(&sign_in).await;
    let answer = query_of(&location(&proxy.callback(&callback, &sign_in.cookie).await));
    let (status, tokens) = proxy.exchange(&sign_in, &answer["code"]).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let refresh = |token: String| {
        let request = proxy.http.post(format!("{}/token", proxy.origin)).form(&[
            ("grant_type", "refresh_token"),
            ("client_id", sign_in.client.as_str()),
            ("refresh_token", token.as_str()),
        ]);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, renewed) = refresh(tokens["refresh_token"].as_str().unwrap().into()).await;
    assert_eq!(status, StatusCode::OK, "the provider renews it: {renewed}");
    idp.revoke_all();
    let next = renewed["refresh_token"].as_str().unwrap().to_owned();
    let (status, refused) = refresh(next.clone()).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{refused}"
    );
    // The family is gone: the same token is not asked about again, only refused.
    let (status, _) = refresh(next).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A refresh at the proxy's token endpoint: its status and answer.
async fn refresh_at(proxy: &Proxy, client: &str, refresh: &str) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client),
        ("refresh_token", refresh),
    ];
    token(&proxy.http, &proxy.origin, &form).await
}

/// The code the proxy sends the client at the end of `sign_in`.
async fn code_of(proxy: &Proxy, sign_in: &SignIn) -> String {
    let callback = proxy.at_provider(sign_in).await;
    let answered = proxy.callback(&callback, &sign_in.cookie).await;
    query_of(&location(&answered))["code"].clone()
}

#[tokio::test]
#[cfg_attr(
    any(skip_node, skip_redis),
    ignore = "MCP_SECURE_NODE is not set or redis-server is not installed: `.ci/node.sh` and `apt-get install redis-server` run it"
)]
async fn replicas_on_one_redis_share_sign_ins_and_spend_each_code_and_token_once() {
    let idp = Idp::start();
    let redis = RedisServer::start();
    let proxy = start_replicas(&idp, "proxy-secret", &redis).await;

    // Registration, consent page, consent, callback and exchange alternate between the
    // replicas: each finds what the other kept.
    let sign_in = proxy.start_sign_in().await;
    let code = code_of(&proxy, &sign_in).await;
    let (status, tokens) = proxy.exchange(&sign_in, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    for _ in 0..2 {
        let access = tokens["access_token"].as_str().unwrap();
        let (status, me) = proxy.whoami(&format!("Bearer {access}")).await;
        assert_eq!(status, StatusCode::OK, "either replica takes it: {me}");
    }
    // The code comes back at the other replica: refused there, and what it bought is revoked.
    let (status, replayed) = proxy.exchange(&sign_in, &code).await;
    assert_eq!(
        (status, replayed["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let first_refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, _) = refresh_at(&proxy, &sign_in.client, first_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the family was revoked");

    // Two exchanges of one code at once, one at each replica: one gets tokens.
    let sign_in = proxy.start_sign_in().await;
    let code = code_of(&proxy, &sign_in).await;
    let (x, y) = tokio::join!(
        proxy.exchange(&sign_in, &code),
        proxy.exchange(&sign_in, &code)
    );
    let granted = [&x, &y]
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .count();
    assert_eq!(granted, 1, "{x:?} {y:?}");

    // Refresh tokens rotate across the replicas; the spent one, back at the other replica,
    // revokes the family there too.
    let sign_in = proxy.start_sign_in().await;
    let code = code_of(&proxy, &sign_in).await;
    let (_, tokens) = proxy.exchange(&sign_in, &code).await;
    let spent = tokens["refresh_token"].as_str().unwrap();
    let (status, renewed) = refresh_at(&proxy, &sign_in.client, spent).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let (status, _) = refresh_at(&proxy, &sign_in.client, spent).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "spent at the other replica"
    );
    let next = renewed["refresh_token"].as_str().unwrap();
    let (status, _) = refresh_at(&proxy, &sign_in.client, next).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "its family is revoked");
}

#[tokio::test]
#[cfg_attr(
    any(skip_node, skip_redis),
    ignore = "MCP_SECURE_NODE is not set or redis-server is not installed: `.ci/node.sh` and `apt-get install redis-server` run it"
)]
async fn what_the_replicas_keep_in_redis_is_sealed_and_bound_to_its_key() {
    let idp = Idp::start();
    let redis = RedisServer::start();
    let proxy = start_replicas(&idp, "proxy-secret", &redis).await;
    let sign_in = proxy.start_sign_in().await;
    let code = code_of(&proxy, &sign_in).await;

    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("mcp-secure:oauth:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    let kinds = ["client", "code"];
    for kind in kinds {
        assert!(
            keys.iter()
                .any(|k| k.starts_with(&format!("mcp-secure:oauth:{kind}:"))),
            "{kind} in {keys:?}"
        );
    }
    // Nothing readable: not the user, the client's name or redirect URI, nor the code itself.
    for key in keys.iter().filter(|k| !k.contains(":count:")) {
        let value: Vec<u8> = redis::cmd("HGET")
            .arg(key)
            .arg("v")
            .query_async(&mut conn)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&value);
        for plain in ["johndoe", "proxy test client", REDIRECT, code.as_str()] {
            assert!(!text.contains(plain), "{key} holds {plain}");
        }
        assert!(!key.contains(&code), "the code is kept by its hash");
    }

    // A code's record moved onto another code's key is refused, as is an altered one; the
    // request is a 503 to retry, never tokens.
    let code_keys: Vec<&String> = keys.iter().filter(|k| k.contains(":code:")).collect();
    let original: Vec<u8> = redis::cmd("HGET")
        .arg(code_keys[0])
        .arg("v")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut altered = original.clone();
    *altered.last_mut().unwrap() ^= 1;
    let _: () = redis::cmd("HSET")
        .arg(code_keys[0])
        .arg("v")
        .arg(altered)
        .query_async(&mut conn)
        .await
        .unwrap();
    let (status, answer) = proxy.exchange(&sign_in, &code).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("temporarily_unavailable")
        ),
        "{answer}"
    );
    let other = proxy.start_sign_in().await;
    let other_code = code_of(&proxy, &other).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("mcp-secure:oauth:code:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    let other_key = keys.iter().find(|k| *k != code_keys[0]).unwrap();
    let _: () = redis::cmd("HSET")
        .arg(other_key)
        .arg("v")
        .arg(original)
        .query_async(&mut conn)
        .await
        .unwrap();
    let (status, answer) = proxy.exchange(&other, &other_code).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
}
