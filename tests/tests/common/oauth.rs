//! A client's side of the demo's authorization servers (`--dev-auth`, the OAuth proxy), as the
//! tests drive them by hand: registration, the consent page, redirects, the token endpoint, and
//! proxy replicas on one Redis behind a balancer.

use std::{collections::HashMap, path::Path};

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use super::HttpServer;

/// A client that follows no redirect: the tests read each `Location` themselves.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// The query parameters of `location`.
pub fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The `Location` of a `302`.
pub fn location(response: &reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::FOUND, "{response:?}");
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Registers a public client named `name` with `redirect` at the server at `origin`: its id.
pub async fn register_public(
    http: &reqwest::Client,
    origin: &str,
    name: &str,
    redirect: &str,
) -> String {
    let response = http
        .post(format!("{origin}/register"))
        .json(&json!({
            "client_name": name,
            "redirect_uris": [redirect],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let client: Value = response.json().await.unwrap();
    client["client_id"].as_str().unwrap().to_owned()
}

/// A consent page's cookie (`name=value`, as a browser sends it back) and ticket; the page's
/// HTML too.
pub async fn consent_of(page: reqwest::Response) -> (String, String, String) {
    assert_eq!(page.status(), StatusCode::OK, "the server asks for consent");
    let cookie = page.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let ticket = html
        .split("name=\"ticket\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    (cookie, ticket, html)
}

/// A form posted to the token endpoint at `origin`: the status and the JSON answer.
pub async fn token(
    http: &reqwest::Client,
    origin: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let response = http
        .post(format!("{origin}/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Two replicas of the OAuth proxy: the MCP URL clients use, its origin, the replicas and
/// their directories.
pub struct Replicas {
    pub url: String,
    pub origin: String,
    pub servers: Vec<HttpServer>,
    pub dirs: Vec<tempfile::TempDir>,
}

/// Two replicas of the proxy in front of the provider at `issuer`, with the client secret
/// `secret`, on the Redis at `redis_url`, behind a balancer that sends each request to the
/// other replica than the one before.
pub async fn proxy_replicas(issuer: &str, secret: &str, redis_url: &str, files: &Path) -> Replicas {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let url = format!("{origin}/mcp");
    let args = [
        "--rate-backend",
        "redis",
        "--redis-url",
        redis_url,
        "--url",
        &url,
    ];
    let (a, dir_a) = super::idp::start_proxy_with(issuer, secret, files, &args);
    let (b, dir_b) = super::idp::start_proxy_with(issuer, secret, files, &args);
    let origins = [&a, &b]
        .iter()
        .map(|r| r.url.trim_end_matches("/mcp").to_owned())
        .collect();
    super::balancer::serve(listener, origins);
    Replicas {
        url,
        origin,
        servers: vec![a, b],
        dirs: vec![dir_a, dir_b],
    }
}
