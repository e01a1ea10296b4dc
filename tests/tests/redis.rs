//! The Redis rate limiter against a real `redis-server`: shared limits across limiters and
//! across server processes, expiry, outages and concurrency.

mod common;

use std::{sync::Arc, time::Duration};

use common::{redis_server::RedisServer, *};
use mcp_secure::rate::{Decision, RateLimiter, RateSpec, RedisLimiter};
use serde_json::json;

/// Every key in the test's Redis.
async fn all_keys(conn: &mut redis::aio::MultiplexedConnection) -> Vec<String> {
    redis::cmd("KEYS").arg("*").query_async(conn).await.unwrap()
}

async fn admitted(limiter: &RedisLimiter, tool: &str, key: &str, spec: RateSpec) -> bool {
    limiter.check(tool, key, spec).await.expect("Redis answers") == Decision::Allow
}

#[tokio::test]
#[cfg_attr(
    skip_redis,
    ignore = "redis-server is not installed: `apt-get install redis-server` runs it"
)]
async fn two_limiters_sharing_redis_enforce_one_limit() {
    let redis = RedisServer::start();
    let a = RedisLimiter::connect(&redis.url()).await.unwrap();
    let b = RedisLimiter::connect(&redis.url()).await.unwrap();
    let spec = RateSpec::per_minute(20);
    let mut count = 0;
    let started = std::time::Instant::now();
    for i in 0..50 {
        let limiter = if i % 2 == 0 { &a } else { &b };
        count += usize::from(admitted(limiter, "notes_create", "alice", spec).await);
    }
    assert_eq!(count, 20, "20 of 50 admitted across both limiters");
    let Decision::Deny { retry_after } = a.check("notes_create", "alice", spec).await.unwrap()
    else {
        panic!("over the limit");
    };
    // The next token comes one interval (3 s) after the burst was spent: never more than that
    // away, and no nearer than that less the time the calls took, however long they took.
    let interval = Duration::from_secs(3);
    assert!(
        retry_after <= interval && retry_after + started.elapsed() >= interval,
        "{retry_after:?} after {:?}",
        started.elapsed()
    );
    assert!(
        admitted(&b, "notes_create", "bob", spec).await,
        "other keys are separate"
    );
    assert!(
        admitted(&b, "notes_get", "alice", spec).await,
        "other tools are separate"
    );
}

#[tokio::test]
#[cfg_attr(
    skip_redis,
    ignore = "redis-server is not installed: `apt-get install redis-server` runs it"
)]
async fn keys_expire_when_they_stop_mattering() {
    let redis = RedisServer::start();
    let limiter = RedisLimiter::connect(&redis.url()).await.unwrap();
    let spec = RateSpec::per_second(10);
    for _ in 0..3 {
        assert!(admitted(&limiter, "t", "k{1}", spec).await);
    }
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = limiter.redis_key("t", "k{1}");
    assert_eq!(key, "mcp-secure:rl:{t:k%7B1%7D}");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    // At most the three calls' 300 ms (plus 1 ms); it would read -2 only if the machine
    // stalled past them between the calls and this read.
    assert!(
        (1..=302).contains(&ttl),
        "TTL {ttl} ms: three calls at 100 ms each, plus 1 ms"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0, "the key is gone once its TAT has passed");
    let keys = all_keys(&mut conn).await;
    assert!(keys.is_empty(), "nothing left behind: {keys:?}");
}

#[tokio::test]
#[cfg_attr(
    skip_redis,
    ignore = "redis-server is not installed: `apt-get install redis-server` runs it"
)]
async fn an_outage_refuses_decisions_then_recovers() {
    let mut redis = RedisServer::start();
    let limiter = RedisLimiter::connect(&redis.url()).await.unwrap();
    let spec = RateSpec::per_second(100);
    assert!(admitted(&limiter, "t", "a", spec).await);
    redis.stop();
    let error = limiter
        .check("t", "a", spec)
        .await
        .expect_err("no decision without Redis");
    assert!(
        error.to_string().starts_with("rate limiter unavailable"),
        "{error}"
    );
    redis.restart();
    let mut recovered = false;
    for _ in 0..50 {
        if let Ok(Decision::Allow) = limiter.check("t", "a", spec).await {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "decisions resume when Redis is back");
}

#[tokio::test]
#[cfg_attr(
    skip_redis,
    ignore = "redis-server is not installed: `apt-get install redis-server` runs it"
)]
async fn concurrent_decisions_on_one_key_admit_exactly_the_limit() {
    let redis = RedisServer::start();
    let limiter = Arc::new(RedisLimiter::connect(&redis.url()).await.unwrap());
    let spec = RateSpec::per_minute(100);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let limiter = limiter.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            for _ in 0..10 {
                n += usize::from(admitted(&limiter, "t", "shared", spec).await);
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 100, "320 attempts, exactly 100 admitted");
}

#[tokio::test]
#[cfg_attr(
    skip_redis,
    ignore = "redis-server is not installed: `apt-get install redis-server` runs it"
)]
async fn two_server_processes_share_one_limit() {
    let redis = RedisServer::start();
    let (files, _outside) = files_dir();
    let args = ["--rate-backend", "redis", "--redis-url", &redis.url()];
    let first = HttpServer::start_with(Some(KEYS), files.path(), &args);
    let second = HttpServer::start_with(Some(KEYS), files.path(), &args);
    let a = first.client("alice-writer-key-000").await;
    let b = second.client("alice-writer-key-000").await;
    // notes_create allows 30/min per caller, across both replicas.
    let mut admitted = 0;
    for i in 0..40 {
        let client = if i % 2 == 0 { &a } else { &b };
        let result = call(
            client,
            "notes_create",
            json!({"title": format!("n{i}"), "body": ""}),
        )
        .await;
        if result.is_error == Some(true) {
            assert_eq!(err(&result)["code"], "rate_limited");
        } else {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 30);
    a.cancel().await.unwrap();
    b.cancel().await.unwrap();
}

#[tokio::test]
#[cfg_attr(
    skip_redis,
    ignore = "redis-server is not installed: `apt-get install redis-server` runs it"
)]
async fn a_server_refuses_calls_while_its_limiter_is_down() {
    let mut redis = RedisServer::start();
    let (files, _outside) = files_dir();
    let server = HttpServer::start_with(
        Some(KEYS),
        files.path(),
        &["--rate-backend", "redis", "--redis-url", &redis.url()],
    );
    let client = server.client("alice-writer-key-000").await;
    ok(&call(&client, "whoami", json!({})).await);
    // The probes a load balancer uses, reached by another name than the public one: alive and
    // ready while Redis and the database answer.
    let probe = |path: &'static str| {
        let url = server.url.replace("/mcp", path);
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .header("Host", "lb-health-check.internal")
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    assert_eq!(probe("/healthz").await, (200, json!({"status": "ok"})));
    assert_eq!(probe("/readyz").await, (200, json!({"status": "ready"})));
    redis.stop();
    // Not ready while its limiter cannot decide, and still alive.
    assert_eq!(
        probe("/readyz").await,
        (
            503,
            json!({"status": "not_ready", "failing": ["rate_limiter"]})
        )
    );
    assert_eq!(probe("/healthz").await.0, 200);
    let refused = call(
        &client,
        "notes_create",
        json!({"title": "during outage", "body": ""}),
    )
    .await;
    assert_eq!(err(&refused)["code"], "unavailable");
    assert!(
        !text(&refused).contains("127.0.0.1"),
        "no internals in the refusal"
    );
    redis.restart();
    let mut back = false;
    for _ in 0..50 {
        let r = call(&client, "whoami", json!({})).await;
        if r.is_error != Some(true) {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "the server recovers with Redis");
    assert_eq!(probe("/readyz").await.0, 200, "ready again");
    let search = call(
        &client,
        "notes_search",
        json!({"query": "during outage", "sort": "title", "limit": 5}),
    )
    .await;
    assert!(
        ok(&search)["notes"].as_array().unwrap().is_empty(),
        "the refused call did not run"
    );
    let said = server.drain_stderr();
    assert!(
        said.iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .any(|e| e["event"] == "backend_unavailable"
                && e["backend"] == "rate_limiter"
                && e["tool"] == "notes_create"
                && e["fail_open"] == false),
        "the outage is audited: {said:?}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
#[cfg_attr(
    skip_redis,
    ignore = "redis-server is not installed: `apt-get install redis-server` runs it"
)]
async fn fail_open_lets_calls_through_while_the_limiter_is_down() {
    let mut redis = RedisServer::start();
    let (files, _outside) = files_dir();
    let server = HttpServer::start_with(
        Some(KEYS),
        files.path(),
        &[
            "--rate-backend",
            "redis",
            "--redis-url",
            &redis.url(),
            "--rate-fail-open",
        ],
    );
    let client = server.client("alice-writer-key-000").await;
    redis.stop();
    let through = call(
        &client,
        "notes_create",
        json!({"title": "despite the outage", "body": ""}),
    )
    .await;
    ok(&through);
    let audit = server.drain_stderr().join("\n");
    assert!(
        audit.contains("fail_open"),
        "letting a call through is audited: {audit}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
#[cfg_attr(
    skip_redis,
    ignore = "redis-server is not installed: `apt-get install redis-server` runs it"
)]
async fn session_bindings_are_shared_bounded_and_expire() {
    use mcp_secure::http::{Checked, RedisSessions, SESSION_IDLE, SessionRegistry};
    use rmcp::{
        model::InitializeRequestParams,
        transport::streamable_http_server::session::store::{SessionState, SessionStore},
    };
    let redis = RedisServer::start();
    // Two replicas' registries on one Redis.
    let a = RedisSessions::sharing(&RedisLimiter::connect(&redis.url()).await.unwrap());
    let b = RedisSessions::sharing(&RedisLimiter::connect(&redis.url()).await.unwrap());
    let ticket = a.reserve("p:ann", 2).await.unwrap().expect("a place");
    let second = b
        .reserve("p:ann", 2)
        .await
        .unwrap()
        .expect("a second place");
    assert_eq!(
        a.reserve("p:ann", 2).await.unwrap(),
        None,
        "the bound holds across"
    );
    a.bind(&ticket, "p:ann", "s-1", "ann").await.unwrap();
    b.release(&second, "p:ann").await.unwrap();
    assert_eq!(
        b.check("s-1", "ann", "p:ann", 2).await.unwrap(),
        Checked::Own
    );
    assert_eq!(
        b.check("s-1", "bob", "p:bob", 2).await.unwrap(),
        Checked::Other
    );
    assert_eq!(
        b.check("s-1", "", "a:1.2.3.4", 2).await.unwrap(),
        Checked::Other
    );
    assert_eq!(
        b.check("s-9", "ann", "p:ann", 2).await.unwrap(),
        Checked::Unknown
    );
    // An anonymous session becomes the first principal's that signs in on it, within its bound.
    let anon = a.reserve("a:1.2.3.4", 2).await.unwrap().unwrap();
    a.bind(&anon, "a:1.2.3.4", "s-2", "").await.unwrap();
    let full = b.reserve("p:bob", 1).await.unwrap().unwrap();
    assert_eq!(
        b.check("s-2", "bob", "p:bob", 1).await.unwrap(),
        Checked::Full
    );
    b.release(&full, "p:bob").await.unwrap();
    assert_eq!(
        b.check("s-2", "bob", "p:bob", 1).await.unwrap(),
        Checked::Claimed
    );
    assert_eq!(
        a.check("s-2", "", "a:1.2.3.4", 2).await.unwrap(),
        Checked::Other
    );
    assert_eq!(
        a.check("s-2", "bob", "p:bob", 1).await.unwrap(),
        Checked::Own
    );
    // rmcp's state of the session, for the replica that restores it.
    let state = SessionState::new(InitializeRequestParams::default());
    a.store("s-1", &state).await.unwrap();
    let loaded = b.load("s-1").await.unwrap().expect("stored");
    assert_eq!(
        serde_json::to_value(&loaded).unwrap(),
        serde_json::to_value(&state).unwrap()
    );
    // Every key expires with the session's idle time.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys = all_keys(&mut conn).await;
    assert!(!keys.is_empty());
    for key in &keys {
        assert!(key.starts_with("mcp-secure:{sessions}:"), "{key}");
        let ttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(
            ttl > 0 && ttl <= SESSION_IDLE.as_millis() as i64,
            "{key} expires: {ttl} ms"
        );
    }
    // Closed: forgotten by both, its place freed, nothing left behind.
    a.close("s-1").await.unwrap();
    a.delete("s-1").await.unwrap();
    a.close("s-2").await.unwrap();
    assert_eq!(
        b.check("s-1", "ann", "p:ann", 2).await.unwrap(),
        Checked::Unknown
    );
    assert!(b.load("s-1").await.unwrap().is_none());
    let keys = all_keys(&mut conn).await;
    assert!(keys.is_empty(), "nothing left behind: {keys:?}");
}
