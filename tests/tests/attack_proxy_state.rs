//! Attacks on the OAuth proxy's shared state (docs/src/http.md, "Replicas"; SECURITY.md): two
//! replicas of the demo behind a balancer that alternates every request, on one real
//! `redis-server`, with oauth2-mock-server as the provider. Races between the replicas (one
//! code, one consent ticket, one sign-in `state` spent at both at once), a Redis that is slow or
//! fails in the middle of an exchange (a TCP forwarder on loopback between the replicas and
//! Redis), and someone who can write Redis without the proxy's secret (records moved across
//! keys and kinds). And the same races in memory, without Redis.
//!
//! Each probe asserts the promise: one that fails found a break.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use common::{
    HttpServer, files_dir,
    idp::Idp,
    oauth::{consent_of, location, no_redirects, proxy_replicas, query_of, register_public, token},
    pkce,
    redis_server::RedisServer,
};
use reqwest::{StatusCode, header};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};

const REDIRECT: &str = "http://127.0.0.1:33421/callback";

/// The proxy's script `name` (FLAG spends a code or refresh token; PUT keeps a record, a family
/// or a refresh token, before the spend), read from its source: its SHA-1 is what the replicas
/// send with `EVALSHA`.
fn script(name: &str) -> String {
    let path = format!(
        "{}/../mcp-secure/src/dev_auth/state/redis.rs",
        env!("CARGO_MANIFEST_DIR")
    );
    let source = std::fs::read_to_string(path).unwrap();
    let start = format!("const {name}: &str = r\"");
    let body = &source[source.find(&start).unwrap() + start.len()..];
    body[..body.find("\";").unwrap()].to_owned()
}

// ---------------------------------------------------------------------------------------------
// A TCP forwarder between the replicas and Redis: it delays what the replicas send, or cuts
// every connection (and refuses new ones) right after Redis answered a spend.

struct Forwarder {
    port: u16,
    /// Each chunk a replica sends waits this long before Redis gets it.
    latency: Duration,
    /// When set, the chunk holding this script's SHA-1 is forwarded and answered, then the
    /// forwarder goes down.
    trip_on: std::sync::Mutex<Option<Vec<u8>>>,
    down: watch::Sender<bool>,
    refusing: AtomicBool,
}

impl Forwarder {
    async fn start(redis_port: u16, latency: Duration) -> Arc<Forwarder> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let forwarder = Arc::new(Forwarder {
            port: listener.local_addr().unwrap().port(),
            latency,
            trip_on: std::sync::Mutex::new(None),
            down: watch::channel(false).0,
            refusing: AtomicBool::new(false),
        });
        let f = forwarder.clone();
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if f.refusing.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", redis_port)).await else {
                    continue;
                };
                tokio::spawn(f.clone().pump(client, server));
            }
        });
        forwarder
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Goes down right after Redis answers the next call of `script`.
    fn trip_after(&self, script: &str) {
        let sha = redis::Script::new(script).get_hash().as_bytes().to_vec();
        *self.trip_on.lock().unwrap() = Some(sha);
    }

    fn up_again(&self) {
        *self.trip_on.lock().unwrap() = None;
        self.refusing.store(false, Ordering::SeqCst);
        self.down.send_replace(false);
    }

    async fn pump(self: Arc<Self>, client: TcpStream, server: TcpStream) {
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        let tripping = Arc::new(AtomicBool::new(false));
        let mut down = self.down.subscribe();
        let (delayed, mut to_send) =
            tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
        let latency = self.latency;
        let up = {
            let this = self.clone();
            let tripping = tripping.clone();
            async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match client_read.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let chunk = buf[..n].to_vec();
                    if let Some(sha) = this.trip_on.lock().unwrap().as_ref()
                        && chunk.windows(sha.len()).any(|w| w == sha.as_slice())
                    {
                        tripping.store(true, Ordering::SeqCst);
                    }
                    if delayed
                        .send((tokio::time::Instant::now() + latency, chunk))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        };
        let send = async move {
            while let Some((at, chunk)) = to_send.recv().await {
                tokio::time::sleep_until(at).await;
                if server_write.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        };
        let back = {
            let this = self.clone();
            async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match server_read.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if client_write.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                    if tripping.load(Ordering::SeqCst) {
                        // Redis answered the spend: now it is gone for everyone.
                        this.refusing.store(true, Ordering::SeqCst);
                        this.down.send_replace(true);
                        return;
                    }
                }
            }
        };
        tokio::select! {
            () = up => {}
            () = send => {}
            () = back => {}
            _ = down.wait_for(|d| *d) => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The proxy, its replicas, and a client signing in through them (as tests/tests/oauth_proxy.rs).

struct Proxy {
    url: String,
    origin: String,
    http: reqwest::Client,
    _servers: Vec<HttpServer>,
    _dirs: Vec<tempfile::TempDir>,
    _files: tempfile::TempDir,
}

/// One proxy, its state in memory.
fn start_memory(idp: &Idp) -> Proxy {
    let (files, _outside) = files_dir();
    let (server, dir) = common::idp::start_proxy(idp, "proxy-secret", files.path());
    let origin = server.url.trim_end_matches("/mcp").to_owned();
    Proxy {
        url: server.url.clone(),
        origin,
        http: no_redirects(),
        _servers: vec![server],
        _dirs: vec![dir],
        _files: files,
    }
}

/// Two replicas on the Redis at `redis_url`, behind a balancer that alternates every request.
async fn start_replicas(idp: &Idp, redis_url: &str) -> Proxy {
    let (files, _outside) = files_dir();
    let replicas = proxy_replicas(&idp.issuer, "proxy-secret", redis_url, files.path()).await;
    Proxy {
        url: replicas.url,
        origin: replicas.origin,
        http: no_redirects(),
        _servers: replicas.servers,
        _dirs: replicas.dirs,
        _files: files,
    }
}

struct SignIn {
    client: String,
    verifier: String,
    cookie: String,
}

/// A consent page shown and not yet answered.
struct Consent {
    sign_in: SignIn,
    ticket: String,
}

impl Proxy {
    async fn register(&self) -> String {
        register_public(&self.http, &self.origin, "attack client", REDIRECT).await
    }

    async fn consent(&self) -> Consent {
        let client = self.register().await;
        let (verifier, challenge) = pkce();
        let page = self
            .http
            .get(format!("{}/authorize", self.origin))
            .query(&[
                ("response_type", "code"),
                ("client_id", client.as_str()),
                ("redirect_uri", REDIRECT),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("state", "client-state"),
                ("scope", "notes:read"),
                ("resource", self.url.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let (cookie, ticket, _) = consent_of(page).await;
        Consent {
            sign_in: SignIn {
                client,
                verifier,
                cookie,
            },
            ticket,
        }
    }

    async fn approve(&self, consent: &Consent) -> reqwest::Response {
        self.http
            .post(format!("{}/authorize", self.origin))
            .header(header::COOKIE, &consent.sign_in.cookie)
            .form(&[("ticket", consent.ticket.as_str()), ("decision", "approve")])
            .send()
            .await
            .unwrap()
    }

    /// The proxy's callback URL the provider sends the browser to after `consent`.
    async fn approved_callback(&self, consent: &Consent) -> String {
        let upstream = location(&self.approve(consent).await);
        location(&self.http.get(&upstream).send().await.unwrap())
    }

    async fn callback(&self, callback: &str, cookie: &str) -> reqwest::Response {
        self.http
            .get(callback)
            .header(header::COOKIE, cookie)
            .send()
            .await
            .unwrap()
    }

    /// A full sign-in: the client's code.
    async fn sign_in(&self) -> (SignIn, String) {
        let consent = self.consent().await;
        let callback = self.approved_callback(&consent).await;
        let answered = self.callback(&callback, &consent.sign_in.cookie).await;
        let code = query_of(&location(&answered))["code"].clone();
        (consent.sign_in, code)
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

    async fn refresh(&self, client: &str, refresh: &str) -> (StatusCode, Value) {
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", client),
            ("refresh_token", refresh),
        ];
        token(&self.http, &self.origin, &form).await
    }
}

fn granted(answers: &[(StatusCode, Value)]) -> Vec<&Value> {
    answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .map(|(_, body)| body)
        .collect()
}

async fn redis_conn(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn keys(conn: &mut redis::aio::MultiplexedConnection, pattern: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(pattern)
        .query_async(conn)
        .await
        .unwrap()
}

async fn hget(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> Vec<u8> {
    redis::cmd("HGET")
        .arg(key)
        .arg("v")
        .query_async(conn)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Races between the replicas.

/// Two exchanges of one code, one at each replica, on a Redis 20 ms away (a slow network, a
/// busy Redis): the promise is that one gets tokens and the other revokes what it bought.
// Multi-threaded: the forwarder must run while the replicas start (which blocks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(skip_node, skip_redis),
    ignore = "MCP_SECURE_NODE is not set or redis-server is not installed: `.ci/node.sh` and `apt-get install redis-server` run it"
)]
async fn a_code_spent_at_two_replicas_at_once_revokes_what_it_bought_on_a_slow_redis() {
    let idp = Idp::start();
    let redis = RedisServer::start();
    let slow = Forwarder::start(redis.port, Duration::from_millis(20)).await;
    let proxy = start_replicas(&idp, &slow.url()).await;
    let (sign_in, code) = proxy.sign_in().await;
    let (x, y) = tokio::join!(
        proxy.exchange(&sign_in, &code),
        proxy.exchange(&sign_in, &code)
    );
    let answers = [x, y];
    let winners = granted(&answers);
    assert_eq!(winners.len(), 1, "one gets tokens: {answers:?}");
    let refresh = winners[0]["refresh_token"].as_str().unwrap();
    let (status, renewed) = proxy.refresh(&sign_in.client, refresh).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the code came twice, so what it bought is revoked; yet its refresh token still \
         refreshes: {renewed}"
    );
}

/// The same race on a Redis on loopback, without any delay: twenty pairs of exchanges.
#[tokio::test]
#[cfg_attr(
    any(skip_node, skip_redis),
    ignore = "MCP_SECURE_NODE is not set or redis-server is not installed: `.ci/node.sh` and `apt-get install redis-server` run it"
)]
async fn a_code_spent_at_two_replicas_at_once_revokes_what_it_bought() {
    let idp = Idp::start();
    let redis = RedisServer::start();
    let proxy = start_replicas(&idp, &redis.url()).await;
    let mut survived = 0;
    const TRIES: usize = 20;
    for _ in 0..TRIES {
        let (sign_in, code) = proxy.sign_in().await;
        let (x, y) = tokio::join!(
            proxy.exchange(&sign_in, &code),
            proxy.exchange(&sign_in, &code)
        );
        let answers = [x, y];
        let winners = granted(&answers);
        assert_eq!(winners.len(), 1, "one gets tokens: {answers:?}");
        let refresh = winners[0]["refresh_token"].as_str().unwrap();
        let (status, _) = proxy.refresh(&sign_in.client, refresh).await;
        if status == StatusCode::OK {
            survived += 1;
        }
    }
    assert_eq!(
        survived, 0,
        "of {TRIES} codes each exchanged twice at once, {survived} left what they bought alive"
    );
}

/// Eight exchanges of one code at once, alternating replicas: tokens once.
#[tokio::test]
#[cfg_attr(
    any(skip_node, skip_redis),
    ignore = "MCP_SECURE_NODE is not set or redis-server is not installed: `.ci/node.sh` and `apt-get install redis-server` run it"
)]
async fn many_exchanges_of_one_code_at_once_get_tokens_once() {
    let idp = Idp::start();
    let redis = RedisServer::start();
    let proxy = start_replicas(&idp, &redis.url()).await;
    let (sign_in, code) = proxy.sign_in().await;
    let answers =
        futures_util::future::join_all((0..8).map(|_| proxy.exchange(&sign_in, &code))).await;
    assert_eq!(granted(&answers).len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(
            (*status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
    }
}

/// One refresh token presented at both replicas at once, eight times: at most one rotation,
/// and the family is revoked (the rotated token refreshes no more).
#[tokio::test]
#[cfg_attr(
    any(skip_node, skip_redis),
    ignore = "MCP_SECURE_NODE is not set or redis-server is not installed: `.ci/node.sh` and `apt-get install redis-server` run it"
)]
async fn a_refresh_token_spent_at_two_replicas_at_once_revokes_its_family() {
    let idp = Idp::start();
    let redis = RedisServer::start();
    let proxy = start_replicas(&idp, &redis.url()).await;
    let (sign_in, code) = proxy.sign_in().await;
    let (status, tokens) = proxy.exchange(&sign_in, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let answers =
        futures_util::future::join_all((0..8).map(|_| proxy.refresh(&sign_in.client, refresh)))
            .await;
    let winners = granted(&answers);
    assert!(winners.len() <= 1, "one rotation at most: {answers:?}");
    for rotated in winners {
        let next = rotated["refresh_token"].as_str().unwrap();
        let (status, body) = proxy.refresh(&sign_in.client, next).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "family revoked: {body}");
    }
}

/// One consent ticket approved at both replicas at once (four times): one sign-in goes to the
/// provider; and one sign-in's callback opened four times at once: one code.
#[tokio::test]
#[cfg_attr(
    any(skip_node, skip_redis),
    ignore = "MCP_SECURE_NODE is not set or redis-server is not installed: `.ci/node.sh` and `apt-get install redis-server` run it"
)]
async fn a_consent_ticket_and_a_sign_in_state_are_taken_once_across_replicas() {
    let idp = Idp::start();
    let redis = RedisServer::start();
    let proxy = start_replicas(&idp, &redis.url()).await;
    let consent = proxy.consent().await;
    let answers = futures_util::future::join_all((0..4).map(|_| proxy.approve(&consent))).await;
    let to_provider: Vec<String> = answers
        .iter()
        .filter(|r| r.status() == StatusCode::FOUND)
        .map(location)
        .collect();
    assert_eq!(to_provider.len(), 1, "one approval: {answers:?}");

    let callback = location(&proxy.http.get(&to_provider[0]).send().await.unwrap());
    let answers = futures_util::future::join_all(
        (0..4).map(|_| proxy.callback(&callback, &consent.sign_in.cookie)),
    )
    .await;
    let codes: Vec<String> = answers
        .iter()
        .filter(|r| r.status() == StatusCode::FOUND)
        .filter_map(|r| query_of(&location(r)).get("code").cloned())
        .collect();
    assert_eq!(codes.len(), 1, "one code: {answers:?}");
}

// ---------------------------------------------------------------------------------------------
// Redis failing in the middle of an exchange.

/// Redis goes away in the middle of an exchange, right after it kept the family the code is
/// to buy: the exchange is refused with `503` ("retry shortly") and nothing is spent (the
/// store's promise, state/mod.rs `StoreError`): once Redis is back, the retry gets the tokens.
/// And Redis going away right after it answered the spend itself costs the exchange nothing:
/// the spend is the last step that needs it. Nothing fails open either way.
// Multi-threaded: the forwarder must run while the replicas start (which blocks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(skip_node, skip_redis),
    ignore = "MCP_SECURE_NODE is not set or redis-server is not installed: `.ci/node.sh` and `apt-get install redis-server` run it"
)]
async fn a_redis_outage_in_the_middle_of_an_exchange_leaves_the_code_for_the_retry() {
    let idp = Idp::start();
    let redis = RedisServer::start();
    let forwarder = Forwarder::start(redis.port, Duration::ZERO).await;
    let proxy = start_replicas(&idp, &forwarder.url()).await;
    // A first exchange loads the scripts into Redis.
    let (sign_in, code) = proxy.sign_in().await;
    assert_eq!(proxy.exchange(&sign_in, &code).await.0, StatusCode::OK);

    let (sign_in, code) = proxy.sign_in().await;
    forwarder.trip_after(&script("PUT"));
    let (status, answer) = proxy.exchange(&sign_in, &code).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("temporarily_unavailable")
        ),
        "never tokens while Redis is gone: {answer}"
    );
    forwarder.up_again();
    // The client retries, as it was told to, until Redis is reachable again.
    let retried = retry(|| proxy.exchange(&sign_in, &code)).await;
    assert_eq!(
        retried.0,
        StatusCode::OK,
        "the 503 said nothing was spent and to retry; the retry: {}",
        retried.1
    );

    let (sign_in, code) = proxy.sign_in().await;
    forwarder.trip_after(&script("FLAG"));
    let (status, answer) = proxy.exchange(&sign_in, &code).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "spent, then nothing needs Redis: {answer}"
    );
    forwarder.up_again();
}

/// Repeats `request` while it answers `503`, up to 10 s: what a client told to retry does.
async fn retry<F, Fut>(request: F) -> (StatusCode, Value)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (StatusCode, Value)>,
{
    let mut answer = (StatusCode::SERVICE_UNAVAILABLE, Value::Null);
    for _ in 0..50 {
        answer = request().await;
        if answer.0 != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    answer
}

/// The same outage in the middle of a refresh, right after Redis kept the next refresh token:
/// `503`, and the retry, as told, refreshes (the presented token was not spent, so the retry
/// is no reuse and does not revoke the grant).
// Multi-threaded: the forwarder must run while the replicas start (which blocks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(skip_node, skip_redis),
    ignore = "MCP_SECURE_NODE is not set or redis-server is not installed: `.ci/node.sh` and `apt-get install redis-server` run it"
)]
async fn a_redis_outage_in_the_middle_of_a_refresh_leaves_the_grant_for_the_retry() {
    let idp = Idp::start();
    let redis = RedisServer::start();
    let forwarder = Forwarder::start(redis.port, Duration::ZERO).await;
    let proxy = start_replicas(&idp, &forwarder.url()).await;
    let (sign_in, code) = proxy.sign_in().await;
    let (status, tokens) = proxy.exchange(&sign_in, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    forwarder.trip_after(&script("PUT"));
    let (status, answer) = proxy.refresh(&sign_in.client, refresh).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    forwarder.up_again();
    let retried = retry(|| proxy.refresh(&sign_in.client, refresh)).await;
    assert_eq!(
        retried.0,
        StatusCode::OK,
        "the 503 said to retry; the retry: {}",
        retried.1
    );
    // The rotated token works too: the family was not revoked.
    let next = retried.1["refresh_token"].as_str().unwrap();
    let (status, answer) = proxy.refresh(&sign_in.client, next).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

// ---------------------------------------------------------------------------------------------
// Someone who reads and writes Redis, without the proxy's secret.

/// Records moved across keys and kinds: a refresh record onto another refresh token's key, a
/// family onto another family, a code's record onto a refresh key, a consent page onto a
/// sign-in's key. Each is refused (`503` or the flow's own refusal), never tokens or a sign-in.
#[tokio::test]
#[cfg_attr(
    any(skip_node, skip_redis),
    ignore = "MCP_SECURE_NODE is not set or redis-server is not installed: `.ci/node.sh` and `apt-get install redis-server` run it"
)]
async fn records_moved_across_keys_and_kinds_are_refused() {
    let idp = Idp::start();
    let redis = RedisServer::start();
    let proxy = start_replicas(&idp, &redis.url()).await;
    let mut conn = redis_conn(&redis.url()).await;
    // Two grants, each with a refresh token and a family.
    let (a, code_a) = proxy.sign_in().await;
    let (_, tokens_a) = proxy.exchange(&a, &code_a).await;
    let before = keys(&mut conn, "mcp-secure:oauth:refresh:*").await;
    let (b, code_b) = proxy.sign_in().await;
    let (_, tokens_b) = proxy.exchange(&b, &code_b).await;
    let refresh_keys = keys(&mut conn, "mcp-secure:oauth:refresh:*").await;
    let key_a = before[0].clone();
    let key_b = refresh_keys
        .iter()
        .find(|k| !before.contains(k))
        .unwrap()
        .clone();
    // A's refresh record (naming A's family) onto B's refresh token: B's client refreshing
    // would ride on A's grant.
    let a_record = hget(&mut conn, &key_a).await;
    let _: () = redis::cmd("HSET")
        .arg(&key_b)
        .arg("v")
        .arg(&a_record)
        .query_async(&mut conn)
        .await
        .unwrap();
    let (status, answer) = proxy
        .refresh(&b.client, tokens_b["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");

    // A code record onto A's refresh key: refused.
    let code_key = keys(&mut conn, "mcp-secure:oauth:code:*").await[0].clone();
    let code_record = hget(&mut conn, &code_key).await;
    let _: () = redis::cmd("HSET")
        .arg(&key_a)
        .arg("v")
        .arg(&code_record)
        .query_async(&mut conn)
        .await
        .unwrap();
    let (status, answer) = proxy
        .refresh(&a.client, tokens_a["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");

    // One family's record onto the other's key.
    let families = keys(&mut conn, "mcp-secure:oauth:family:*").await;
    assert_eq!(families.len(), 2, "{families:?}");
    let family_a = hget(&mut conn, &families[0]).await;
    let _: () = redis::cmd("HSET")
        .arg(&families[1])
        .arg("v")
        .arg(&family_a)
        .query_async(&mut conn)
        .await
        .unwrap();
    // A fresh grant C, whose family is overwritten with one of the others'.
    let (c, code_c) = proxy.sign_in().await;
    let (_, tokens_c) = proxy.exchange(&c, &code_c).await;
    let families_c = keys(&mut conn, "mcp-secure:oauth:family:*").await;
    let family_c = families_c.iter().find(|k| !families.contains(k)).unwrap();
    let _: () = redis::cmd("HSET")
        .arg(family_c)
        .arg("v")
        .arg(&family_a)
        .query_async(&mut conn)
        .await
        .unwrap();
    let (status, answer) = proxy
        .refresh(&c.client, tokens_c["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");

    // A consent page onto a sign-in's key: the callback is refused, no code.
    let consent = proxy.consent().await;
    let pending = keys(&mut conn, "mcp-secure:oauth:consent:*").await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    let pending_record = hget(&mut conn, &pending[0]).await;
    let other = proxy.consent().await;
    let callback = proxy.approved_callback(&other).await;
    let sign_ins = keys(&mut conn, "mcp-secure:oauth:sign-in:*").await;
    assert_eq!(sign_ins.len(), 1, "{sign_ins:?}");
    let _: () = redis::cmd("HSET")
        .arg(&sign_ins[0])
        .arg("v")
        .arg(&pending_record)
        .query_async(&mut conn)
        .await
        .unwrap();
    let answered = proxy.callback(&callback, &other.sign_in.cookie).await;
    assert_ne!(
        answered.status(),
        StatusCode::FOUND,
        "no code: {answered:?}"
    );
    drop(consent);

    // Nothing readable anywhere under the proxy's prefix, and nothing of the proxy's outside it.
    let all = keys(&mut conn, "*").await;
    for key in &all {
        assert!(
            key.starts_with("mcp-secure:oauth:")
                || key.starts_with("mcp-secure:rl")
                || key.starts_with("mcp-secure:dpop")
                || key.starts_with("mcp-secure:{sessions}"),
            "{key}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The same flows in memory, without Redis.

/// In memory: four exchanges of one code at once give tokens once; four approvals of one
/// ticket one sign-in; the callback in another browser is refused.
#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server"
)]
async fn in_memory_each_spend_happens_once_and_the_consenting_browser_finishes() {
    let idp = Idp::start();
    let proxy = start_memory(&idp);
    let (sign_in, code) = proxy.sign_in().await;
    let answers =
        futures_util::future::join_all((0..4).map(|_| proxy.exchange(&sign_in, &code))).await;
    let winners = granted(&answers);
    assert_eq!(winners.len(), 1, "{answers:?}");
    let refresh = winners[0]["refresh_token"].as_str().unwrap().to_owned();
    let (status, _) = proxy.refresh(&sign_in.client, &refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the code's replay revoked");

    let consent = proxy.consent().await;
    let answers = futures_util::future::join_all((0..4).map(|_| proxy.approve(&consent))).await;
    let to_provider: Vec<String> = answers
        .iter()
        .filter(|r| r.status() == StatusCode::FOUND)
        .map(location)
        .collect();
    assert_eq!(to_provider.len(), 1, "{answers:?}");
    let callback = location(&proxy.http.get(&to_provider[0]).send().await.unwrap());
    // Another browser (another consent cookie) opening the callback: refused, and the state
    // is gone for the consenting browser too.
    let other = proxy.consent().await;
    let stolen = proxy.callback(&callback, &other.sign_in.cookie).await;
    assert_ne!(stolen.status(), StatusCode::FOUND, "{stolen:?}");
    let late = proxy.callback(&callback, &consent.sign_in.cookie).await;
    assert_ne!(late.status(), StatusCode::FOUND, "{late:?}");
}

/// In memory, the race of two exchanges of one code at once, twenty times: what the code
/// bought is revoked each time.
#[tokio::test]
#[cfg_attr(
    skip_node,
    ignore = "MCP_SECURE_NODE is not set: `.ci/node.sh` installs Node 22 and oauth2-mock-server"
)]
async fn in_memory_a_code_spent_twice_at_once_revokes_what_it_bought() {
    let idp = Idp::start();
    let proxy = start_memory(&idp);
    let mut survived = 0;
    const TRIES: usize = 20;
    for _ in 0..TRIES {
        let (sign_in, code) = proxy.sign_in().await;
        let (x, y) = tokio::join!(
            proxy.exchange(&sign_in, &code),
            proxy.exchange(&sign_in, &code)
        );
        let answers = [x, y];
        let winners = granted(&answers);
        assert_eq!(winners.len(), 1, "one gets tokens: {answers:?}");
        let refresh = winners[0]["refresh_token"].as_str().unwrap();
        if proxy.refresh(&sign_in.client, refresh).await.0 == StatusCode::OK {
            survived += 1;
        }
    }
    assert_eq!(
        survived, 0,
        "{survived} of {TRIES} left what they bought alive"
    );
}
