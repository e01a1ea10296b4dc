//! The library's guarantees tried as an attacker would, over real HTTP against the demo: links
//! out of the files directory in every spelling, hard links to a file outside it, FIFOs, hidden characters in every string that
//! comes back out (results, refusals, audit lines), subjects of different issuers, scope
//! separators and critical JWT header extensions.

mod common;

use std::{path::Path, time::Duration};

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// Twelve callers with every scope, so that per-caller rate limits (a correct refusal, not the
/// one under test) do not answer; and the API-key user `demo`.
fn keys() -> String {
    let mut keys: Vec<String> = (0..12)
        .map(|i| format!("adversary-key-{i:02}-0123456 user{i} notes:write files:read"))
        .collect();
    keys.push("demo-api-key-000000000 demo notes:write files:read".into());
    keys.join(";")
}

fn key(i: usize) -> String {
    format!("adversary-key-{:02}-0123456", i % 12)
}

/// The demo's JWT issuer (its URL's origin) and audience (its URL).
fn issuer_and_audience(url: &str) -> (String, String) {
    let parsed = url::Url::parse(url).unwrap();
    (parsed.origin().ascii_serialization(), url.to_owned())
}

/// A JWT the demo accepts, with `claims` over the usual ones and `header` as given.
fn jwt(url: &str, header: Header, claims: Value) -> String {
    let (iss, aud) = issuer_and_audience(url);
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let mut all = json!({"iss": iss, "aud": aud, "exp": exp, "client_id": "adversary"});
    all.as_object_mut()
        .unwrap()
        .extend(claims.as_object().unwrap().clone());
    encode(
        &header,
        &all,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

fn hs256() -> Header {
    Header::new(Algorithm::HS256)
}

/// The characters that must never reach a client or an audit line raw: escapes, OSC-8, C0 and
/// C1 controls, DEL, bidi controls and marks, zero-width and tag characters.
const HIDDEN: &[char] = &[
    '\u{1b}',
    '\u{0}',
    '\u{7}',
    '\u{8}',
    '\u{7f}',
    '\u{9b}',
    '\u{85}',
    '\u{200b}',
    '\u{200c}',
    '\u{200d}',
    '\u{200e}',
    '\u{200f}',
    '\u{61c}',
    '\u{202a}',
    '\u{202e}',
    '\u{2060}',
    '\u{2066}',
    '\u{feff}',
    '\u{e0001}',
    '\u{e0041}',
    '\u{e007f}',
];

/// A string holding every hidden class between visible words.
fn hostile(visible: &str) -> String {
    format!(
        "{visible}\u{1b}[31m\u{1b}]8;;https://evil.example\u{7}link\u{1b}]8;;\u{7}\u{9b}2J\u{202e}\u{200b}\u{200d}\u{2060}\u{feff}\u{e0001}\u{e0041}\u{e007f}\u{200e}\u{61c}\u{8}\u{7f}\u{0}lone\rcr\u{85}end"
    )
}

fn assert_no_raw_hidden(what: &str, text: &str) {
    let found: Vec<char> = text.chars().filter(|c| HIDDEN.contains(c)).collect();
    assert!(found.is_empty(), "{what}: {found:?} in {text:?}");
}

fn assert_no_hidden(what: &str, text: &str) {
    assert_no_raw_hidden(what, text);
    // Nor as JSON escapes a client would decode.
    for escaped in ["\\u001b", "\\u001B", "\\u0007", "\\u0000", "\\u0008"] {
        assert!(!text.contains(escaped), "{what}: {escaped} in {text:?}");
    }
    assert!(!text.contains("\rc"), "{what}: a lone CR in {text:?}");
}

#[cfg(unix)]
#[tokio::test]
async fn links_out_of_the_files_directory_are_refused_in_every_spelling() {
    let (files, outside) = files_dir();
    let server = HttpServer::start(Some(&keys()), files.path());
    let mut clients = Vec::new();
    for i in 0..12 {
        clients.push(server.client(&key(i)).await);
    }
    let mut n = 0;
    let mut read = async |path: &str| {
        n += 1;
        let args = json!({"path": path, "max_bytes": 100_000});
        // A FIFO must not hold the call (or a blocking thread) until a writer appears.
        tokio::time::timeout(
            Duration::from_secs(20),
            call(&clients[n % 12], "files_read", args),
        )
        .await
        .unwrap_or_else(|_| panic!("{path:?}: the call did not return"))
    };
    for link in [
        "out-file",
        "environ",
        "rel-out",
        "sub/chain",
        "dangling",
        "escape",
    ] {
        for spelling in [
            link.to_owned(),
            format!("{link}/"),
            format!("{link}/."),
            format!("{link}//"),
            format!("./{link}"),
            format!("{link}/./"),
        ] {
            let result = read(&spelling).await;
            let shown = format!("{result:?}");
            assert_eq!(
                result.is_error,
                Some(true),
                "{spelling:?} was served: {shown}"
            );
            assert!(!shown.contains("top secret"), "{spelling:?}: {shown}");
            assert!(!shown.contains(JWT_SECRET), "{spelling:?}: {shown}");
            assert!(!shown.contains("NOTES_"), "{spelling:?}: {shown}");
            assert!(
                !shown.contains(outside.path().to_str().unwrap()),
                "{spelling:?}: {shown}"
            );
        }
    }
    // The dangling link's target appears later: still refused.
    std::fs::write(outside.path().join("later.txt"), "top secret later").unwrap();
    for spelling in ["dangling", "dangling/", "dangling/."] {
        let result = read(spelling).await;
        assert_eq!(result.is_error, Some(true), "{spelling:?}");
        assert!(!format!("{result:?}").contains("top secret"));
    }
    // A hard link to a file outside is no link to follow: the same file, under a name inside
    // (both directories are in the same temporary file system). Refused by its link count.
    let secret = outside.path().join("secret.txt");
    std::fs::hard_link(&secret, files.path().join("hard-link")).unwrap();
    std::fs::hard_link(&secret, files.path().join("sub/hard-link")).unwrap();
    std::os::unix::fs::symlink("hard-link", files.path().join("to-hard-link")).unwrap();
    for spelling in ["hard-link", "./hard-link", "sub/hard-link", "to-hard-link"] {
        let result = read(spelling).await;
        assert_eq!(
            violations(&result),
            [("path".to_owned(), "path".to_owned())],
            "{spelling:?}"
        );
        let shown = format!("{result:?}");
        assert!(shown.contains("more than one hard link"), "{shown}");
        assert!(!shown.contains("top secret"), "{spelling:?}: {shown}");
        assert!(!shown.contains(outside.path().to_str().unwrap()), "{shown}");
        assert!(!shown.contains(files.path().to_str().unwrap()), "{shown}");
    }
    // FIFOs, and a link to one, are refused without blocking.
    let fifo = read("fifo").await;
    assert_eq!(violations(&fifo), [("path".to_owned(), "path".to_owned())]);
    // Links that stay inside still work.
    assert_eq!(ok_text(&read("inner").await), "hello, world\n");
    assert_eq!(ok_text(&read("sub/inner.txt").await), "inner");
    // And the server still serves.
    assert_eq!(ok_text(&read("hello.txt").await), "hello, world\n");
}

fn ok_text(result: &rmcp::model::CallToolResult) -> String {
    assert_ne!(result.is_error, Some(true), "{result:?}");
    text(result)
}

#[tokio::test]
async fn hidden_characters_never_come_back_out() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(&keys()), files.path());
    let client = server.client(&key(0)).await;
    let body = hostile("visible body ");
    let created = call(
        &client,
        "notes_create",
        json!({"title": "plain", "body": body, "tags": []}),
    )
    .await;
    let id = ok(&created)["id"].clone();
    for result in [
        created,
        call(&client, "notes_get", json!({"id": id})).await,
        call(
            &client,
            "notes_search",
            json!({"query": "visible", "sort": "title", "limit": 5}),
        )
        .await,
    ] {
        // Both forms: the structured content, and the text block every client can show.
        let structured = result.structured_content.clone().unwrap().to_string();
        let shown = serde_json::to_string(&result.structured_content).unwrap();
        assert_no_hidden("structured content", &structured);
        assert_no_hidden("structured content as sent", &shown);
        let block = text(&result);
        assert_no_hidden("text block", &block);
        let decoded: Value = serde_json::from_str(&block).expect("the text block is JSON");
        assert_no_hidden("text block decoded", &decoded.to_string());
        assert_eq!(
            decoded,
            result.structured_content.clone().unwrap(),
            "both forms say the same"
        );
        assert!(block.contains("visible body"), "{block}");
    }
    let stored = call(&client, "notes_get", json!({"id": id})).await;
    let body = ok(&stored)["body"].as_str().unwrap().to_owned();
    // Escape sequences and invisible characters removed; controls shown as U+FFFD.
    assert_eq!(
        body,
        "visible body link\u{fffd}\u{fffd}\u{fffd}lone\u{fffd}crend"
    );
}

#[tokio::test]
async fn refusals_echo_no_hidden_characters() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(&keys()), files.path());
    let client = server.client(&key(0)).await;
    let bad_key = "x\u{9b}2J\u{202e}\u{1b}[31m\u{e0041}\u{200b}";
    let mut args = json!({"query": "", "sort": "title", "limit": 5});
    args[bad_key] = json!(1);
    let refused = call(&client, "notes_search", args).await;
    assert_eq!(err(&refused)["code"], "invalid_input");
    assert_no_hidden("refusal text", &text(&refused));
    assert_no_hidden(
        "refusal structured",
        &serde_json::to_string(&refused).unwrap(),
    );
    // A caller's path quoted in a tool's own error.
    let missing = call(
        &client,
        "files_read",
        json!({"path": "nope\u{1b}[31m\u{202e}\u{e0041}\u{200b}\u{7}.txt", "max_bytes": 10}),
    )
    .await;
    assert_eq!(err(&missing)["code"], "not_found", "{missing:?}");
    assert_no_hidden("tool error text", &text(&missing));
    assert_no_hidden(
        "tool error structured",
        &serde_json::to_string(&missing).unwrap(),
    );
}

#[tokio::test]
async fn audit_lines_escape_every_hidden_character() {
    let (files, _outside) = files_dir();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let server = HttpServer::start_with(
        Some(&keys()),
        files.path(),
        &["--audit-log", audit.to_str().unwrap()],
    );
    // Line and paragraph separators too, which some log viewers break lines at.
    let sub = format!("{}\u{2028}x\u{2029}y", hostile("mallory"));
    let token = jwt(
        &server.url,
        hs256(),
        json!({"sub": sub, "scope": "notes:read", "client_id": hostile("client")}),
    );
    let client = connect(&server.url, &token).await;
    let who = call(&client, "whoami", json!({})).await;
    assert_no_hidden("whoami", &text(&who));
    let mut args = json!({"query": "", "sort": "title", "limit": 5});
    args[hostile("key")] = json!(1);
    let _ = call(&client, "notes_search", args).await;
    let _ = try_call(&client, "notes_create", json!({"title": "t", "body": ""})).await;
    drop(client);
    // Unauthenticated requests whose paths carry raw bytes of hidden characters and percent
    // escapes of a forged line (an outside tester's probe): their paths are audited escaped.
    let addr = server.url.trim_start_matches("http://");
    let addr = &addr[..addr.find('/').unwrap()];
    for path in [
        &b"/mcp%0a%7b%22event%22%3a%22x%22%7d%1b%5b2K"[..],
        b"/mcp\xe2\x80\xae\xe2\x80\xa8\xc2\x85x",
        b"/mcp?\x1b",
        b"/mcp/\xe2\x80\x8b",
    ] {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let mut request = b"POST ".to_vec();
        request.extend_from_slice(path);
        request.extend_from_slice(
            format!(" HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}").as_bytes(),
        );
        stream.write_all(&request).unwrap();
        let _ = stream.read_to_end(&mut Vec::new());
    }
    let mut lines = wait_for_lines(&audit, 3);
    for _ in 0..600 {
        if lines.iter().any(|l| l.contains("\"path\"")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        lines = wait_for_lines(&audit, 3);
    }
    assert!(
        lines.iter().any(|l| l.contains("\"path\"")),
        "no unauthenticated request was audited: {lines:?}"
    );
    let mut subjects = 0;
    for line in &lines {
        // Escaped (`\u001b`), as a log must keep them; never raw.
        assert_no_raw_hidden("audit line", line);
        assert!(
            !line.contains('\u{2028}') && !line.contains('\u{2029}'),
            "{line}"
        );
        let event: Value = serde_json::from_str(line).expect("each line is JSON");
        if event["subject"].is_string() {
            assert_eq!(event["subject"], sub, "the value survives, escaped");
            subjects += 1;
        }
    }
    assert!(subjects > 0, "no line named the caller: {lines:?}");
    assert!(
        lines.iter().any(|l| l.contains(r"\u2028x\u2029y")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains(r"\u009b2J\u202e")),
        "{lines:?}"
    );
}

/// The audit file's lines, once it has at least `n`.
fn wait_for_lines(path: &Path, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.len() >= n {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the audit file has fewer than {n} lines");
}

#[tokio::test]
async fn a_subject_of_another_issuer_is_another_caller() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(&keys()), files.path());
    let by_key = server.client("demo-api-key-000000000").await;
    let token = jwt(
        &server.url,
        hs256(),
        json!({"sub": "demo", "scope": "notes:write files:read"}),
    );
    let by_jwt = connect(&server.url, &token).await;
    let (iss, _) = issuer_and_audience(&server.url);

    let key_who = call(&by_key, "whoami", json!({})).await;
    let jwt_who = call(&by_jwt, "whoami", json!({})).await;
    assert_eq!(ok(&key_who)["issuer"], "api-key");
    assert_eq!(ok(&jwt_who)["issuer"], iss.as_str());
    assert_eq!(ok(&key_who)["subject"], ok(&jwt_who)["subject"]);

    // Objects: the JWT `demo` sees none of the API-key `demo`'s notes.
    let note = call(
        &by_key,
        "notes_create",
        json!({"title": "mine", "body": "api-key demo's", "tags": []}),
    )
    .await;
    let id = ok(&note)["id"].clone();
    let got = call(&by_jwt, "notes_get", json!({"id": id})).await;
    assert_eq!(err(&got)["code"], "not_found");
    let found = call(
        &by_jwt,
        "notes_search",
        json!({"query": "", "sort": "title", "limit": 100}),
    )
    .await;
    assert_eq!(ok(&found)["notes"], json!([]));
    let deleted = call(&by_jwt, "notes_delete", json!({"id": id})).await;
    assert_eq!(err(&deleted)["code"], "not_found");
    assert_eq!(
        ok(&call(&by_key, "notes_get", json!({"id": id})).await)["title"],
        "mine"
    );

    // Rate limits: files_read allows 5 a second per caller; the API-key `demo` spends them.
    let args = json!({"path": "hello.txt", "max_bytes": 100});
    let mut limited = false;
    for _ in 0..8 {
        let r = call(&by_key, "files_read", args.clone()).await;
        limited |= r.is_error == Some(true) && err(&r)["code"] == "rate_limited";
    }
    assert!(limited, "the API-key demo reached its limit");
    let r = call(&by_jwt, "files_read", args).await;
    assert_ne!(r.is_error, Some(true), "the JWT demo has its own: {r:?}");

    // Sessions: the API-key `demo`'s session is unknown to the JWT `demo`.
    let init = post_initialize(&server.url, Some("Bearer demo-api-key-000000000")).await;
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let hijack = rpc(
        &reqwest::Client::new(),
        &server.url,
        Some(&format!("Bearer {token}")),
    )
    .header("Mcp-Session-Id", &session)
    .json(&list)
    .send()
    .await
    .unwrap();
    assert_eq!(hijack.status(), 404);
}

/// The status of an `initialize` presenting `token`.
async fn status_with(url: &str, token: &str) -> u16 {
    post_initialize(url, Some(&format!("Bearer {token}")))
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn scopes_are_separated_by_spaces_only() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(&keys()), files.path());
    let url = &server.url;
    let good = jwt(
        url,
        hs256(),
        json!({"sub": "s", "scope": "notes:read notes:write"}),
    );
    assert_eq!(status_with(url, &good).await, 200);
    for scope in [
        "notes:read\u{a0}notes:write",
        "notes:read\tnotes:write",
        "notes:read\nnotes:write",
        "notes:read\u{2003}notes:write",
        "notes:read\u{3000}notes:write",
        "notes:read\u{200b}notes:write",
        "notes:read\u{0}notes:write",
        "notes:read\u{85}notes:write",
    ] {
        let token = jwt(url, hs256(), json!({"sub": "s", "scope": scope}));
        assert_eq!(status_with(url, &token).await, 401, "{scope:?}");
    }
    let array = jwt(
        url,
        hs256(),
        json!({"sub": "s", "scp": ["notes:read", "notes:read\u{a0}notes:write"]}),
    );
    assert_eq!(status_with(url, &array).await, 401, "scp");
}

#[tokio::test]
async fn critical_header_extensions_are_refused() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(&keys()), files.path());
    let url = &server.url;
    let claims = json!({"sub": "s", "scope": "notes:read"});
    assert_eq!(
        status_with(url, &jwt(url, hs256(), claims.clone())).await,
        200
    );
    for crit in [vec!["exp".to_owned()], vec!["b64".to_owned()], vec![]] {
        let mut header = hs256();
        header.crit = Some(crit.clone());
        let token = jwt(url, header, claims.clone());
        assert_eq!(status_with(url, &token).await, 401, "crit {crit:?}");
    }
}
