//! The demo server over streamable HTTP, driven by rmcp's client.

mod common;

use common::*;
use serde_json::json;

fn tool<'a>(tools: &'a [rmcp::model::Tool], name: &str) -> &'a rmcp::model::Tool {
    tools
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("tool {name} listed"))
}

#[tokio::test]
async fn listed_schemas_state_the_checks() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let client = server.client("alice-writer-key-000").await;
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort();
    assert_eq!(names, common::DEMO_TOOLS);

    let create = serde_json::Value::Object((*tool(&tools, "notes_create").input_schema).clone());
    assert_eq!(create["additionalProperties"], false);
    assert_eq!(create["required"], json!(["title", "body"]));
    let title = &create["properties"]["title"];
    assert_eq!(
        (title["minLength"].as_u64(), title["maxLength"].as_u64()),
        (Some(1), Some(200))
    );
    assert_eq!(
        title["pattern"],
        mcp_secure::validate::rules::NO_CONTROL_PATTERN,
        "no_control is stated: {title}"
    );
    assert_eq!(create["properties"]["body"]["maxLength"], 10_000);
    let tags = &create["properties"]["tags"];
    assert_eq!(tags["maxItems"], 10);
    assert_eq!(tags["items"]["pattern"], "^[a-z0-9-]{1,32}$");

    let search = serde_json::Value::Object((*tool(&tools, "notes_search").input_schema).clone());
    assert_eq!(
        search["properties"]["sort"]["enum"],
        json!(["title", "created"])
    );
    assert_eq!(search["properties"]["limit"]["minimum"], 1);
    assert_eq!(search["properties"]["limit"]["maximum"], 100);
    assert_eq!(search["properties"]["query"]["maxLength"], 200);

    let files_read = tool(&tools, "files_read");
    let schema = serde_json::Value::Object((*files_read.input_schema).clone());
    assert_eq!(schema["properties"]["max_bytes"]["maximum"], 1_048_576);
    assert!(
        schema["properties"]["path"]["pattern"]
            .as_str()
            .unwrap()
            .starts_with("^(?!/)")
    );
    assert_eq!(
        files_read.annotations.as_ref().unwrap().read_only_hint,
        Some(true)
    );
    let meta = files_read.meta.as_ref().unwrap();
    assert_eq!(
        meta["io.github.mcp-secure/policy"],
        json!({"scope": "files:read", "rate": "5/s", "rate_key": "caller"})
    );

    let delete = tool(&tools, "notes_delete");
    assert_eq!(
        delete.annotations.as_ref().unwrap().destructive_hint,
        Some(true)
    );
    assert_eq!(
        tool(&tools, "whoami").meta.as_ref().unwrap()["io.github.mcp-secure/policy"]["public"],
        true
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn valid_calls_run_and_notes_belong_to_their_owner() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let alice = server.client("alice-writer-key-000").await;
    let me = call(&alice, "whoami", json!({})).await;
    assert_eq!(ok(&me)["subject"], "alice");

    let created = call(
        &alice,
        "notes_create",
        json!({"title": "Groceries", "body": "milk, eggs", "tags": ["home", "todo-1"]}),
    )
    .await;
    let id = ok(&created)["id"].as_i64().unwrap();
    let got = call(&alice, "notes_get", json!({"id": id})).await;
    assert_eq!(ok(&got)["title"], "Groceries");
    let found = call(
        &alice,
        "notes_search",
        json!({"query": "EGGS", "sort": "title", "limit": 10}),
    )
    .await;
    assert_eq!(ok(&found)["notes"].as_array().unwrap().len(), 1);
    let literal = call(
        &alice,
        "notes_search",
        json!({"query": "%", "sort": "created", "limit": 10}),
    )
    .await;
    assert_eq!(
        ok(&literal)["notes"].as_array().unwrap().len(),
        0,
        "query is matched literally"
    );

    let bob = server.client("bob-all-key-00000000").await;
    let theirs = call(&bob, "notes_get", json!({"id": id})).await;
    assert_eq!(err(&theirs)["code"], "not_found");
    let gone = call(&bob, "notes_delete", json!({"id": id})).await;
    assert_eq!(err(&gone)["code"], "not_found");
    let deleted = call(&alice, "notes_delete", json!({"id": id})).await;
    assert_eq!(ok(&deleted)["deleted"], id);

    let file = call(
        &alice,
        "files_read",
        json!({"path": "hello.txt", "max_bytes": 100}),
    )
    .await;
    assert_eq!(text(&file), "hello, world\n");
    let inner = call(
        &alice,
        "files_read",
        json!({"path": "sub/inner.txt", "max_bytes": 100}),
    )
    .await;
    assert_eq!(text(&inner), "inner");
    alice.cancel().await.unwrap();
    bob.cancel().await.unwrap();
}

#[tokio::test]
async fn invalid_input_reports_every_failing_field() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let alice = server.client("alice-writer-key-000").await;

    let bad = call(
        &alice,
        "notes_create",
        json!({"title": "bad\u{202E}title", "body": "x".repeat(10_001), "tags": ["ok", "Not OK", "x".repeat(33)]}),
    )
    .await;
    assert_eq!(
        violations(&bad),
        [
            ("title", "no_control"),
            ("body", "length"),
            ("tags[1]", "regex"),
            ("tags[2]", "regex")
        ]
        .map(|(f, r)| (f.to_owned(), r.to_owned()))
    );
    let many = call(
        &alice,
        "notes_create",
        json!({"title": "t", "body": "", "tags": vec!["a"; 11]}),
    )
    .await;
    assert_eq!(violations(&many), [("tags".to_owned(), "items".to_owned())]);
    let empty = call(&alice, "notes_create", json!({"title": "", "body": ""})).await;
    assert_eq!(
        violations(&empty),
        [("title".to_owned(), "length".to_owned())]
    );

    for (args, expected) in [
        (
            json!({"title": "t", "body": "b", "admin": true}),
            ("admin", "unknown_field"),
        ),
        (json!({"body": "b"}), ("title", "required")),
        (json!({"title": 5, "body": "b"}), ("title", "type")),
        (
            json!({"title": "t", "body": "b", "tags": ["ok", 7]}),
            ("tags[1]", "type"),
        ),
    ] {
        let result = call(&alice, "notes_create", args).await;
        assert_eq!(
            violations(&result),
            [(expected.0.to_owned(), expected.1.to_owned())]
        );
    }

    for (args, field, rule) in [
        (
            json!({"query": "q", "sort": "size", "limit": 5}),
            "sort",
            "one_of",
        ),
        (
            json!({"query": "q", "sort": "title", "limit": 0}),
            "limit",
            "range",
        ),
        (
            json!({"query": "q", "sort": "title", "limit": "5"}),
            "limit",
            "type",
        ),
        (
            json!({"query": "q".repeat(201), "sort": "title", "limit": 5}),
            "query",
            "length",
        ),
    ] {
        let result = call(&alice, "notes_search", args).await;
        assert_eq!(violations(&result), [(field.to_owned(), rule.to_owned())]);
    }

    // files_read allows 5 calls per second per caller: spread the cases over two callers.
    let bob = server.client("bob-all-key-00000000").await;
    let escapes = [
        "../hello.txt",
        "/etc/passwd",
        "sub/../../x",
        "C:\\Windows\\win.ini",
        "a\u{0}b",
        "escape/secret.txt",
    ];
    for (i, path) in escapes.into_iter().enumerate() {
        if path.starts_with("escape") && !cfg!(unix) {
            continue;
        }
        let caller = if i < 5 { &alice } else { &bob };
        let result = call(
            caller,
            "files_read",
            json!({"path": path, "max_bytes": 100}),
        )
        .await;
        assert_eq!(
            violations(&result),
            [("path".to_owned(), "path".to_owned())],
            "{path:?}"
        );
        assert!(!text(&result).contains("top secret"));
        assert!(
            !text(&result).contains(files.path().to_str().unwrap()),
            "no server paths in errors"
        );
    }
    let big = call(
        &bob,
        "files_read",
        json!({"path": "big.txt", "max_bytes": 100}),
    )
    .await;
    assert_eq!(err(&big)["code"], "too_large");
    let binary = call(
        &bob,
        "files_read",
        json!({"path": "binary.bin", "max_bytes": 100}),
    )
    .await;
    assert_eq!(err(&binary)["code"], "not_text");
    let missing = call(
        &bob,
        "files_read",
        json!({"path": "nope.txt", "max_bytes": 100}),
    )
    .await;
    assert_eq!(err(&missing)["code"], "not_found");
    assert!(!text(&missing).contains(files.path().to_str().unwrap()));
    alice.cancel().await.unwrap();
    bob.cancel().await.unwrap();
}

#[tokio::test]
async fn missing_or_wrong_credentials_get_401_before_rmcp() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let post = |auth: Option<&'static str>| post_initialize(&server.url, auth);
    let none = post(None).await;
    assert_eq!(none.status(), 401);
    let metadata = server
        .url
        .replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    assert_eq!(
        none.headers()["www-authenticate"],
        format!(r#"Bearer resource_metadata="{metadata}", scope="notes:read""#).as_str(),
        "the demo names the scope to ask for first (least privilege)"
    );
    let wrong = post(Some("Bearer not-a-real-key-at-all")).await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    let body = wrong.text().await.unwrap();
    assert!(
        !body.contains("not-a-real-key"),
        "the key is not echoed: {body}"
    );
    let basic = post(Some("Basic YWxpY2U6cHc=")).await;
    assert_eq!(basic.status(), 401);
    let good = post(Some("Bearer alice-writer-key-000")).await;
    assert_eq!(good.status(), 200);

    let config =
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
            server.url.as_str(),
        );
    let refused = rmcp::ServiceExt::serve(
        (),
        rmcp::transport::StreamableHttpClientTransport::from_config(config),
    )
    .await;
    assert!(
        refused.is_err(),
        "an rmcp client without a token cannot connect"
    );
}

#[tokio::test]
async fn a_missing_scope_is_refused_with_a_403_challenge_and_the_tool_does_not_run() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let reader = server.client("alice-reader-key-000").await;
    let denied = try_call(
        &reader,
        "notes_create",
        json!({"title": "sneaky", "body": ""}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        challenge_scope(&denied).as_deref(),
        Some("notes:read notes:write")
    );
    let search = call(
        &reader,
        "notes_search",
        json!({"query": "sneaky", "sort": "title", "limit": 10}),
    )
    .await;
    assert!(
        ok(&search)["notes"].as_array().unwrap().is_empty(),
        "the denied call created nothing"
    );
    let files_denied = try_call(
        &reader,
        "files_read",
        json!({"path": "hello.txt", "max_bytes": 100}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        challenge_scope(&files_denied).as_deref(),
        Some("notes:read files:read")
    );

    // The exact challenge, as any client sees it.
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "notes_create", "arguments": {}}});
    let raw = rpc(
        &reqwest::Client::new(),
        &server.url,
        Some("Bearer alice-reader-key-000"),
    )
    .json(&body)
    .send()
    .await
    .unwrap();
    assert_eq!(raw.status(), 403);
    let metadata = server
        .url
        .replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    assert_eq!(
        raw.headers()["www-authenticate"],
        format!(r#"Bearer error="insufficient_scope", scope="notes:read notes:write", resource_metadata="{metadata}""#).as_str()
    );
    // The body is the JSON-RPC error for that request, for clients without OAuth support.
    assert_eq!(
        raw.json::<serde_json::Value>().await.unwrap(),
        json!({"jsonrpc": "2.0", "id": 7, "error": {"code": -32003,
            "message": "insufficient_scope: this call needs the scope notes:write",
            "data": {"code": "insufficient_scope", "required_scope": "notes:write",
                "required_scopes": ["notes:write"], "scope": "notes:read notes:write"}}})
    );
    // An Mcp-Name header that disagrees with the body is refused with SEP-2243's -32020 and
    // the request's id; one that agrees, sent Base64-encoded, is decoded first.
    let with_name = |name: &'static str| {
        rpc(
            &reqwest::Client::new(),
            &server.url,
            Some("Bearer alice-writer-key-000"),
        )
        .header("Mcp-Name", name)
        .json(&body)
        .send()
    };
    let mismatch = with_name("whoami").await.unwrap();
    assert_eq!(mismatch.status(), 400);
    let refusal: serde_json::Value = mismatch.json().await.unwrap();
    assert_eq!(
        (refusal["id"].clone(), refusal["error"]["code"].clone()),
        (json!(7), json!(-32020))
    );
    // "notes_create" as =?base64?…?=: it matches, the request passes the layer, and the tool
    // answers it (a 2026-07-28 request, which needs no session; its arguments are refused).
    let current = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {
        "name": "notes_create", "arguments": {"title": "", "body": ""},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}}});
    let encoded = rpc(
        &reqwest::Client::new(),
        &server.url,
        Some("Bearer alice-writer-key-000"),
    )
    .header("Mcp-Name", "=?base64?bm90ZXNfY3JlYXRl?=")
    .header("MCP-Protocol-Version", "2026-07-28")
    .header("Mcp-Method", "tools/call")
    .json(&current)
    .send()
    .await
    .unwrap();
    let status = encoded.status();
    let text = encoded.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let answer = rpc_answer(&text);
    assert_eq!(answer["id"], 8, "{answer}");
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    assert_eq!(
        answer["result"]["_meta"]["io.github.mcp-secure/error"]["code"], "invalid_input",
        "the tool ran its checks: {answer}"
    );
    // rmcp refuses a method header that disagrees with the body itself, quoting the header:
    // the quote leaves cleaned (an outside tester's probe), escapes of hidden characters too.
    let quoted = rpc(
        &reqwest::Client::new(),
        &server.url,
        Some("Bearer alice-writer-key-000"),
    )
    .header("Mcp-Name", "notes_create")
    .header("MCP-Protocol-Version", "2026-07-28")
    .header(
        "Mcp-Method",
        r"tools/call\u001b]8;;https://evil.example\u0007click x\u202egnp.exe \ud83d",
    )
    .json(&current)
    .send()
    .await
    .unwrap();
    assert_eq!(quoted.status(), 400);
    let refusal = rpc_answer(&quoted.text().await.unwrap());
    assert_eq!(refusal["error"]["code"], -32020, "{refusal}");
    let message = refusal["error"]["message"]
        .as_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(message.contains("tools/call"), "{message}");
    for escape in [r"\u001b", r"\u0007", r"\u202e", r"\ud83d"] {
        assert!(!message.contains(escape), "{escape} in {message}");
    }
    let undecodable = with_name("=?base64?%%%?=").await.unwrap();
    assert!(undecodable.text().await.unwrap().contains("-32020"));

    // notes:write implies notes:read.
    let writer = server.client("alice-writer-key-000").await;
    let implied = call(
        &writer,
        "notes_search",
        json!({"query": "", "sort": "title", "limit": 10}),
    )
    .await;
    ok(&implied);

    let nobody = server.client("nobody-key-000000000").await;
    assert_eq!(
        ok(&call(&nobody, "whoami", json!({})).await)["subject"],
        "nobody"
    );
    let none = try_call(&nobody, "notes_get", json!({"id": 1}))
        .await
        .unwrap_err();
    assert_eq!(challenge_scope(&none).as_deref(), Some("notes:read"));

    let audit = server.drain_stderr().join("\n");
    assert!(
        audit.contains("\"authorization_denied\"")
            && audit.contains("\"required_scope\":\"notes:write\""),
        "denials are audited: {audit}"
    );
    for client in [reader, writer, nobody] {
        client.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn past_the_rate_calls_are_refused_with_a_retry_hint() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(Some(KEYS), files.path());
    let alice = server.client("alice-writer-key-000").await;
    // At least the burst of 30 is admitted, then a refusal (the calls decide, not a clock).
    let (admitted, limited) = create_until_refused(&alice).await;
    assert!(admitted >= 30, "the burst of 30 was cut at {admitted}");
    let error = err(&limited);
    assert_eq!(error["code"], "rate_limited");
    let retry = error["retry_after_ms"].as_u64().unwrap();
    assert!((1..=2_000).contains(&retry), "retry after {retry} ms");
    let search = call(
        &alice,
        "notes_search",
        json!({"query": format!("n{admitted}"), "sort": "title", "limit": 10}),
    )
    .await;
    assert!(
        ok(&search)["notes"].as_array().unwrap().is_empty(),
        "the refused call did not run"
    );

    // Limits are per caller: bob is unaffected, and a new session does not reset alice's: it
    // gets what refilled since (a token each 2 s), never a fresh burst of 30.
    let bob = server.client("bob-all-key-00000000").await;
    ok(&call(&bob, "notes_create", json!({"title": "bob's", "body": ""})).await);
    let alice_again = server.client("alice-writer-key-000").await;
    let (again, still) = create_until_refused(&alice_again).await;
    assert!(
        again < 30,
        "a new session was given a fresh burst ({again})"
    );
    assert_eq!(err(&still)["code"], "rate_limited");
    for client in [alice, bob, alice_again] {
        client.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn without_configured_keys_one_is_generated_and_printed_once() {
    let (files, _outside) = files_dir();
    let server = HttpServer::start(None, files.path());
    let key = server
        .banner
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("msk_"))
        .unwrap_or_else(|| panic!("a generated key in {:?}", server.banner))
        .to_owned();
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains("curl") && l.contains(&key)),
        "a ready client command"
    );
    let demo = server.client(&key).await;
    let me = call(&demo, "whoami", json!({})).await;
    assert_eq!(ok(&me)["subject"], "demo");
    assert_eq!(ok(&me)["scopes"].as_array().unwrap().len(), 4);
    ok(&call(&demo, "notes_create", json!({"title": "t", "body": ""})).await);
    let later = server.drain_stderr();
    assert!(!later.is_empty(), "calls are audited");
    assert!(
        later.iter().all(|l| !l.contains(&key)),
        "the key is never logged again: {later:?}"
    );
    demo.cancel().await.unwrap();
}

#[tokio::test]
async fn audit_events_go_to_the_audit_log_file_as_json_lines() {
    let (files, _outside) = files_dir();
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("audit.jsonl");
    let server = HttpServer::start_with(
        Some(KEYS),
        files.path(),
        &["--audit-log", log.to_str().unwrap()],
    );
    let reader = server.client("alice-reader-key-000").await;
    ok(&call(&reader, "whoami", json!({})).await);
    try_call(&reader, "notes_create", json!({"title": "t", "body": ""}))
        .await
        .unwrap_err();
    reader.cancel().await.unwrap();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert!(
        events.contains(&"tool_called") && events.contains(&"authorization_denied"),
        "{events:?}"
    );
    let denied = lines
        .iter()
        .find(|l| l["event"] == "authorization_denied")
        .unwrap();
    assert_eq!(denied["subject"], "alice");
    assert_eq!(denied["held_scopes"], json!(["notes:read"]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&log).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
