//! Faults while the demo serves: a database that is locked or goes away, a client that hangs up
//! in the middle of a call, and clients too slow to send their request. Each time the caller
//! gets a clear, stable refusal without internals, no note is half-written, and the server
//! keeps serving the others. (Redis outages are in `redis.rs`, panicking tools in
//! `outputs.rs`.)

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use sqlx::{Connection, Row};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// The notes in the demo's database, read directly: `(title, body, tags)` in id order.
async fn stored_notes(db: &mut sqlx::AnyConnection) -> Vec<(String, String, String)> {
    sqlx::query("SELECT title, body, CAST(tags AS TEXT) AS tags FROM notes ORDER BY id")
        .fetch_all(db)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("title"), r.get("body"), r.get("tags")))
        .collect()
}

async fn any_connection(url: &str) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(url).await.unwrap()
}

fn note(title: &str) -> Value {
    json!({"title": title, "body": format!("body of {title}"), "tags": ["fault", "test"]})
}

/// A refusal the caller can act on: `unavailable`, with an incident id and nothing else.
fn assert_unavailable(result: &rmcp::model::CallToolResult, hidden: &[&str]) -> String {
    let error = err(result);
    assert_eq!(error["code"], "unavailable", "{error}");
    let message = text(result);
    assert!(
        message.starts_with(
            "unavailable: the database is unavailable right now; try again later (incident "
        ),
        "{message}"
    );
    for secret in hidden
        .iter()
        .chain(&["INSERT", "SELECT", "sqlite", "locked", "postgres"])
    {
        assert!(!message.contains(secret), "{secret} leaked: {message}");
    }
    error["incident"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_locked_database_refuses_writes_cleanly_and_nothing_is_half_written() {
    let (files, _outside) = files_dir();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    let path = path.to_str().unwrap();
    let server = HttpServer::start_with(Some(KEYS), files.path(), &["--db", path]);
    let client = server.client("alice-writer-key-000").await;
    ok(&call(&client, "notes_create", note("before")).await);

    // Another process holds the write lock for longer than the server's busy timeout (5 s).
    let url = format!("sqlite://{path}");
    let mut locker = any_connection(&url).await;
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut locker)
        .await
        .unwrap();
    let during = |i: u32| call(&client, "notes_create", note(&format!("during {i}")));
    let refused = tokio::join!(during(0), during(1), during(2), during(3));
    let mut incidents = Vec::new();
    for result in [&refused.0, &refused.1, &refused.2, &refused.3] {
        incidents.push(assert_unavailable(result, &[path, "notes.db"]));
    }
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();

    // The lock is gone: the same call works again, on the same session.
    ok(&call(&client, "notes_create", note("after")).await);
    let titles: Vec<_> = stored_notes(&mut locker)
        .await
        .into_iter()
        .map(|(title, body, tags)| {
            assert_eq!(body, format!("body of {title}"), "stored whole");
            assert_eq!(tags, r#"["fault","test"]"#, "stored whole");
            title
        })
        .collect();
    assert_eq!(
        titles,
        ["before", "after"],
        "the refused calls left nothing"
    );

    // The cause is in the server log, under the incident the caller was given.
    let log = server.drain_stderr().join("\n");
    for incident in &incidents {
        let line = log
            .lines()
            .find(|l| l.contains(incident.as_str()))
            .unwrap_or_else(|| panic!("incident {incident} logged: {log}"));
        assert!(line.contains("database is locked"), "{line}");
    }
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_client_hanging_up_mid_call_leaves_the_note_whole_or_absent() {
    let (files, _outside) = files_dir();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    let path = path.to_str().unwrap();
    let server = HttpServer::start_with(Some(KEYS), files.path(), &["--db", path]);
    let mut locker = any_connection(&format!("sqlite://{path}")).await;
    ok(&call(
        &server.client("alice-writer-key-000").await,
        "notes_create",
        note("before"),
    )
    .await);

    // The call blocks on the lock; the client goes away while it waits.
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut locker)
        .await
        .unwrap();
    let client = server.client("alice-writer-key-000").await;
    let hanging = tokio::spawn(async move {
        let _ = call(&client, "notes_create", note("hung up")).await;
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    hanging.abort();
    let _ = hanging.await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();

    // Other callers are served as before.
    let other = server.client("alice-writer-key-000").await;
    ok(&call(&other, "notes_create", note("after")).await);
    // The abandoned insert may still be retrying on the busy database: once it has landed or
    // given up, what is stored is what is served.
    let mut settled = None;
    for _ in 0..40 {
        let found = ok(&call(
            &other,
            "notes_search",
            json!({"query": "", "sort": "created", "limit": 10}),
        )
        .await)["notes"]
            .as_array()
            .unwrap()
            .len();
        let stored = stored_notes(&mut locker).await;
        if found == stored.len() {
            settled = Some(stored);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let stored = settled.expect("what is stored is what is served");
    let mut titles: Vec<_> = stored.iter().map(|(t, _, _)| t.as_str()).collect();
    titles.sort_unstable();
    // The insert either ran once the lock went (the client no longer waiting for the answer;
    // before or after the next caller's, as the busy handler's retries fall) or gave up; a
    // row is never there in part.
    assert!(
        titles == ["after", "before"] || titles == ["after", "before", "hung up"],
        "{titles:?}"
    );
    for (title, body, tags) in &stored {
        assert_eq!(body, &format!("body of {title}"));
        assert_eq!(tags, r#"["fault","test"]"#);
    }
    other.cancel().await.unwrap();
}

/// A PostgreSQL database of its own, dropped at the end; `None` without `MCP_SECURE_PG_URL`.
struct ScratchDatabase {
    admin: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    async fn create() -> Option<Self> {
        let Ok(admin) = std::env::var("MCP_SECURE_PG_URL") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "MCP_SECURE_PG_URL is not set; .ci/run sets it from .ci/postgres.sh"
            );
            eprintln!("SKIPPED: MCP_SECURE_PG_URL is not set: the PostgreSQL fault test");
            return None;
        };
        let name = format!("faults_{}", std::process::id());
        let mut conn = any_connection(&admin).await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let base = admin.rsplit_once('/').unwrap().0;
        let url = format!("{base}/{name}");
        Some(Self { admin, name, url })
    }

    /// Renames the database `from` → `to`, closing every connection to it first.
    async fn rename(&self, from: &str, to: &str) {
        let mut conn = any_connection(&self.admin).await;
        for _ in 0..50 {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            )
            .bind(from)
            .execute(&mut conn)
            .await
            .unwrap();
            let renamed = sqlx::query(&format!("ALTER DATABASE {from} RENAME TO {to}"))
                .execute(&mut conn)
                .await;
            if renamed.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("could not rename {from}");
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let mut conn = any_connection(&admin).await;
                for db in [name.clone(), format!("{name}_gone")] {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            })
        })
        .join()
        .unwrap();
    }
}

#[tokio::test]
#[cfg_attr(
    skip_postgres,
    ignore = "MCP_SECURE_PG_URL is not set: `export MCP_SECURE_PG_URL=$(.ci/postgres.sh)` runs it"
)]
async fn a_postgres_database_that_goes_away_is_refused_cleanly_then_served_again() {
    let Some(db) = ScratchDatabase::create().await else {
        return;
    };
    let (files, _outside) = files_dir();
    let server = HttpServer::start_with(Some(KEYS), files.path(), &["--db", &db.url]);
    let client = server.client("alice-writer-key-000").await;
    ok(&call(&client, "notes_create", note("before")).await);

    let gone = format!("{}_gone", db.name);
    db.rename(&db.name, &gone).await;
    let hidden = [db.name.as_str(), "127.0.0.1", "mcp_secure"];
    assert_unavailable(
        &call(&client, "notes_create", note("while gone")).await,
        &hidden,
    );
    assert_unavailable(
        &call(
            &client,
            "notes_search",
            json!({"query": "", "sort": "title", "limit": 5}),
        )
        .await,
        &hidden,
    );
    ok(&call(&client, "whoami", json!({})).await);

    db.rename(&gone, &db.name).await;
    ok(&call(&client, "notes_create", note("after")).await);
    let mut direct = any_connection(&db.url).await;
    let titles: Vec<_> = stored_notes(&mut direct)
        .await
        .into_iter()
        .map(|(title, _, _)| title)
        .collect();
    assert_eq!(titles, ["before", "after"]);
    direct.close().await.unwrap();
    client.cancel().await.unwrap();
    drop(server);
}

/// `host:port` of a server URL such as `http://127.0.0.1:4321/mcp`.
fn host_port(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned()
}

/// Reads what the server sends until it closes the connection (or 10 s pass: then `None`).
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut seen)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&seen).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn slow_and_silent_clients_are_cut_off_while_others_are_served() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start_with(Some(KEYS), files.path(), &["--request-timeout", "1"]);
    let addr = host_port(&server.url);

    // Silent connections, and connections trickling a request head that never ends.
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(TcpStream::connect(&addr).await.unwrap());
    }
    let mut trickling = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        trickling.push(s);
    }
    // A request whose body stops short of its Content-Length.
    let mut slow_body = TcpStream::connect(&addr).await.unwrap();
    slow_body
        .write_all(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer alice-writer-key-000\r\n\
              Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
              Content-Length: 1000\r\n\r\n{\"jsonrpc\":\"2.0\",",
        )
        .await
        .unwrap();

    // Meanwhile a well-behaved client connects and calls as usual.
    let client = server.client("alice-writer-key-000").await;
    ok(&call(&client, "whoami", json!({})).await);

    let answer = read_until_closed(&mut slow_body)
        .await
        .expect("the slow body is answered and the connection closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("request_timeout: the request body did not arrive within 1000 ms"),
        "{answer}"
    );
    for (i, stream) in silent.iter_mut().chain(trickling.iter_mut()).enumerate() {
        let seen = read_until_closed(stream)
            .await
            .unwrap_or_else(|| panic!("connection {i} is closed by the server"));
        assert!(
            seen.is_empty() || seen.starts_with("HTTP/1.1 408"),
            "nothing but a timeout answer: {seen}"
        );
    }
    // Keep-alive connections of real clients outlive the timeout between their requests:
    // the client reconnects when the server has closed an idle one.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ok(&call(&client, "whoami", json!({})).await);
    client.cancel().await.unwrap();
}

/// `head` with `Connection: close` among its headers (any case).
fn says_close(head: &str) -> bool {
    head.lines()
        .any(|line| line.eq_ignore_ascii_case("connection: close"))
}

/// Sends a request head that announces a body, never sends the body, and returns what the
/// server answers before it closes the connection.
async fn answer_to_unsent_body(addr: &str, head: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    read_until_closed(&mut stream)
        .await
        .expect("the server answers and closes the connection")
}

/// Reads one response whose length is its `Content-Length`; returns its head and body.
async fn read_response(stream: &mut TcpStream) -> (String, String) {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte))
            .await
            .expect("the server answers")
            .unwrap();
        assert_eq!(n, 1, "the connection closed mid-head: {seen:?}");
        seen.push(byte[0]);
    }
    let head = String::from_utf8(seen).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .expect("a Content-Length")
        .parse()
        .unwrap();
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.unwrap();
    (head, String::from_utf8(body).unwrap())
}

/// hyper closes a connection whose request body was not read to its end (it cannot tell where
/// the next request starts). An answer given before the body was read must say so, or the
/// client sends its next request into the closing connection ("server disconnected without
/// sending a response": the Python SDK's OAuth discovery after the first `401` did).
#[tokio::test]
async fn answers_given_before_the_body_is_read_end_the_connection_and_say_so() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let addr = host_port(&server.url);
    let post = |authorization: &str, length: usize| {
        format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n{authorization}Content-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nContent-Length: {length}\r\n\r\n"
        )
    };
    for (authorization, what) in [
        ("", "no token"),
        (
            "Authorization: Bearer not-a-key-000000000\r\n",
            "a wrong token",
        ),
    ] {
        let answer = answer_to_unsent_body(&addr, &post(authorization, 60)).await;
        assert!(answer.starts_with("HTTP/1.1 401"), "{what}: {answer}");
        assert!(says_close(&answer), "{what}: {answer}");
    }

    // A refusal made after reading the whole body keeps the connection for the next request.
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let call = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"notes_create","arguments":{"title":"t","body":"b"}}}"#;
    let request = post("Authorization: Bearer alice-reader-key-000\r\n", call.len()) + call;
    stream.write_all(request.as_bytes()).await.unwrap();
    let (head, body) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}{body}");
    assert!(!says_close(&head), "{head}");
    stream
        .write_all(
            b"GET /.well-known/oauth-protected-resource/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        )
        .await
        .unwrap();
    let (head, body) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}{body}");
    drop(server);

    // `serve` says so for any handler, not only the AuthLayer's refusals: the development
    // authorization server refuses a token request that is not a form before reading it.
    let dev = HttpServer::start_with(None, files.path(), &["--dev-auth"]);
    let addr = host_port(&dev.url);
    let answer = answer_to_unsent_body(
        &addr,
        "POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("x-www-form-urlencoded"), "{answer}");
    assert!(says_close(&answer), "{answer}");
}

/// The layer says so itself under a server other than `mcp_secure::http::serve`.
#[tokio::test]
async fn the_layer_ends_the_connection_of_an_unread_body_under_axum_serve() {
    use mcp_secure::{
        Security,
        auth::{ApiKeys, Principal},
        http::AuthLayer,
    };
    let keys = || ApiKeys::new().with_key("a-long-enough-key-0000", Principal::new("ann", ["x"]));
    let echo =
        || axum::Router::new().route("/mcp", axum::routing::post(|body: String| async { body }));
    let mut addrs = Vec::new();
    for app in [echo().layer(
        AuthLayer::builder("http://127.0.0.1/mcp", &Security::default())
            .verifier(keys())
            .build()
            .unwrap(),
    )] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(listener.local_addr().unwrap().to_string());
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
    for addr in &addrs {
        let answer = answer_to_unsent_body(
            addr,
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 401"), "{addr}: {answer}");
        assert!(says_close(&answer), "{addr}: {answer}");
        // With the body sent, the key accepted, the connection stays open for the next request.
        let mut stream = TcpStream::connect(addr).await.unwrap();
        for _ in 0..2 {
            stream
                .write_all(
                    b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                      Authorization: Bearer a-long-enough-key-0000\r\nContent-Length: 5\r\n\r\nhello",
                )
                .await
                .unwrap();
            let (head, body) = read_response(&mut stream).await;
            assert!(head.starts_with("HTTP/1.1 200"), "{addr}: {head}{body}");
            assert!(!says_close(&head), "{addr}: {head}");
            assert_eq!(body, "hello");
        }
    }
}
