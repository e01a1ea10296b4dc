//! What policies see of a tool's input, against what the tool gets: every spelling of a path
//! (alone, optional or in a list) as opened, no secret (alone or in a list), nothing a type
//! of its own parses. The probes of an outside attacker's second round, kept.

use mcp_secure::{
    Security,
    auth::{Attribute, AttributeKind, Attributes, Principal},
    policy::{Policies, PolicyResource, authorize},
    prelude::*,
    tool::{ToolPolicy, admit},
};
use serde_json::{Value, json};

mcp_secure::scopes! {
    /// Read files.
    "files:read",
    /// Deploy.
    "deploy:write",
}

/// Several files at once.
#[derive(SecureInput)]
struct Many {
    /// The files.
    #[mcp(items(max = 4), each(path(within = "files")))]
    paths: Vec<SafePath>,
}

/// One optional file.
#[derive(SecureInput)]
struct MaybeOne {
    /// The file.
    #[mcp(path(within = "files"))]
    path: Option<SafePath>,
}

/// Keys (secrets) in a list.
#[derive(SecureInput)]
struct Keys {
    /// Secrets.
    #[mcp(items(max = 4), each(length(min = 4, max = 64)))]
    keys: Vec<SecretString>,
}

/// Deploy options, parsed by serde (an unbounded field).
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Opts {
    /// Where to.
    #[serde(alias = "env")]
    target: Option<String>,
}

#[derive(Clone)]
struct Server;

#[mcp_tools(default_rate = "unlimited")]
impl Server {
    /// Read several files.
    #[mcp_tool(scope = "files:read")]
    async fn files_read_many(&self, input: Many) -> String {
        input
            .paths
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Read one optional file.
    #[mcp_tool(scope = "files:read")]
    async fn files_read_maybe(&self, input: MaybeOne) -> String {
        input
            .path
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default()
    }

    /// Takes secrets.
    #[mcp_tool(scope = "files:read")]
    async fn unlock(&self, input: Keys) -> String {
        input.keys.len().to_string()
    }

    /// Deploy.
    #[mcp_tool(scope = "deploy:write")]
    async fn deploy(&self, #[mcp(unbounded)] opts: Opts) -> String {
        opts.target.unwrap_or_default()
    }

    /// Asks about a row with the caller it was handed, then with the same identity made by
    /// hand: `[caller's answer, made one's answer]`.
    #[mcp_tool(scope = "files:read")]
    async fn row_check(
        &self,
        caller: Principal,
        ctx: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> String {
        let made = Principal::new(caller.subject(), ["files:read"]);
        let code = |r: Result<(), ToolError>| r.err().map(|e| e.code().to_owned());
        let answers = [
            code(authorize(&ctx, &caller, &Row)),
            code(authorize(&ctx, &made, &Row)),
        ];
        json!(answers).to_string()
    }
}

/// A row any caller may read.
struct Row;

impl PolicyResource for Row {
    const TYPE: &'static str = "Row";
    const SHAPE: &'static [(&'static str, AttributeKind)] = &[];
    fn id(&self) -> String {
        "1".into()
    }
    fn attributes(&self) -> Vec<(&'static str, Attribute)> {
        Vec::new()
    }
}

#[tool_handler(router = Self::tools())]
impl ServerHandler for Server {}

fn policies(cedar: &str) -> Result<Policies, mcp_secure::policy::PolicyError> {
    Policies::builder(&Server::tools())
        .attributes(&Attributes::new().with("home", AttributeKind::Text).unwrap())
        .resource::<Row>()
        .build(cedar)
}

fn args(v: Value) -> Option<serde_json::Map<String, Value>> {
    v.as_object().cloned()
}

fn security(cedar: &str, dir: &std::path::Path) -> Security {
    Security::builder()
        .path_root("files", dir)
        .policies(policies(cedar).unwrap())
        .build()
        .unwrap()
}

fn files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("secret")).unwrap();
    std::fs::write(dir.path().join("secret/key.txt"), "k").unwrap();
    dir
}

fn policy(name: &str) -> &'static ToolPolicy {
    Server::tool_policies()
        .iter()
        .find(|p| p.name() == name)
        .unwrap()
}

fn alice() -> Option<Principal> {
    Some(Principal::new("alice", ["files:read", "deploy:write"]))
}

/// Held baseline: one `SafePath` is normalized (`./secret//key.txt` is `secret/key.txt`).
#[tokio::test]
async fn one_path_is_normalized() {
    let dir = files();
    let sec = security(
        r#"@id("all") permit (principal, action, resource);
        @id("no-secret") forbid (principal, action == Action::"files_read_maybe", resource)
        when { context has path && context.path == "secret/key.txt" };"#,
        dir.path(),
    );
    for spelling in ["secret/key.txt", "./secret/key.txt", "secret//key.txt"] {
        let r = admit::<MaybeOne>(
            &sec,
            policy("files_read_maybe"),
            alice(),
            None,
            args(json!({ "path": spelling })),
        )
        .await;
        assert_eq!(
            r.err().map(|e| e.code().to_owned()).as_deref(),
            Some("forbidden"),
            "{spelling}"
        );
    }
}

/// Probe: a list of `SafePath`s reaches the policy as the client spelled each path, with no
/// `paths_dirs`: a rule on a path is passed by another spelling of the same file.
#[tokio::test]
async fn a_list_of_paths_is_normalized_too() {
    let dir = files();
    let sec = security(
        r#"@id("all") permit (principal, action, resource);
        @id("no-secret") forbid (principal, action == Action::"files_read_many", resource)
        when { context.paths.contains("secret/key.txt") };"#,
        dir.path(),
    );
    let mut admitted = Vec::new();
    for spelling in [
        "secret/key.txt",
        "./secret/key.txt",
        "secret//key.txt",
        "secret/./key.txt",
    ] {
        let r = admit::<Many>(
            &sec,
            policy("files_read_many"),
            alice(),
            None,
            args(json!({ "paths": [spelling] })),
        )
        .await;
        if let Ok((_, input)) = r {
            // The tool opens it: the same file.
            let mut text = String::new();
            std::io::Read::read_to_string(&mut input.paths[0].open().unwrap(), &mut text).unwrap();
            admitted.push(format!("{spelling} -> read {text:?}"));
        }
    }
    // No `paths_dirs` for a list: Cedar cannot say "each of", and the union of the paths'
    // directories would let one permitted path carry another (`unless` rules).
    let dirs = policies(
        r#"@id("d") forbid (principal, action == Action::"files_read_many", resource)
        when { context.paths_dirs.contains("secret") };"#,
    );
    assert!(
        admitted.is_empty(),
        "forbidden file admitted under other spellings: {admitted:?}"
    );
    assert!(dirs.is_err());
}

/// Probe: a list of secrets reaches the policy context (the promise: secrets are left out,
/// a policy cannot name them).
#[test]
fn a_list_of_secrets_is_left_out() {
    let named = policies(
        r#"@id("sees-secret") forbid (principal, action == Action::"unlock", resource)
        when { context.keys.contains("hunter22") };"#,
    );
    assert!(
        named.is_err(),
        "a policy names a list of secrets; the schema: {}",
        policies(r#"@id("all") permit (principal, action, resource);"#)
            .unwrap()
            .schema()[""]["actions"]["unlock"]
    );
}

/// The JSON a client sends for a field a type of its own parses (`#[mcp(unbounded)]` serde
/// types: aliases, defaults) is not what the tool gets: `{"env": "prod"}` deploys to prod.
/// No policy can name such a field, so none decides on what it does not see.
#[tokio::test]
async fn a_field_parsed_by_its_own_type_is_not_in_the_context() {
    let named = policies(
        r#"@id("all") permit (principal, action, resource);
        @id("no-prod") forbid (principal, action == Action::"deploy", resource)
        when { context.opts has target && context.opts.target == "prod" };"#,
    );
    let error = named.expect_err("`opts` is parsed by `Opts`, not by the derive");
    assert!(error.to_string().contains("policy `no-prod`"), "{error}");
    // The tool still runs, decided by the other policies.
    let dir = files();
    let sec = security(
        r#"@id("all") permit (principal, action, resource);"#,
        dir.path(),
    );
    let sent = args(json!({ "opts": {"env": "prod"} }));
    let admitted = admit::<DeployInput>(&sec, policy("deploy"), alice(), None, sent).await;
    assert!(admitted.is_ok());
}

/// Held baseline for attributes: numbers that are not whole, lists of lists.
#[test]
fn attribute_claims_of_other_shapes_are_refused() {
    for (kind, claim) in [
        (AttributeKind::Number, json!(1e3)),
        (AttributeKind::Number, json!(1.0)),
        (AttributeKind::Number, json!(u64::MAX)),
        (AttributeKind::Texts, json!([["a"]])),
        (AttributeKind::Texts, json!(["a\u{200b}"])),
        (AttributeKind::Text, json!("")),
        (AttributeKind::Text, json!("x".repeat(257))),
        (AttributeKind::Flag, json!("true")),
    ] {
        assert_eq!(
            Attribute::from_claim(kind, &claim),
            None,
            "{kind:?} {claim}"
        );
    }
}

/// A policy refuses a path before the input's checks look it up: what lies behind a refused
/// path (a file, nothing, a link, a FIFO) makes no difference to the answer (found by an
/// outside attacker: the lookup's errors named what was there).
#[tokio::test]
async fn a_refused_path_is_refused_before_it_is_looked_up() {
    let dir = files();
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("secret/link")).unwrap();
    let sec = security(
        r#"@id("all") permit (principal, action, resource);
        @id("no-secret") forbid (principal, action == Action::"files_read_maybe", resource)
        when { context has path_dirs && context.path_dirs.contains("secret") };"#,
        dir.path(),
    );
    for path in [
        "secret/key.txt",
        "secret/key.txt/more",
        "secret/nothing.txt",
        "secret/link",
        "./secret//nothing/",
    ] {
        let r = admit::<MaybeOne>(
            &sec,
            policy("files_read_maybe"),
            alice(),
            None,
            args(json!({ "path": path })),
        )
        .await;
        let code = r.err().map(|e| e.code().to_owned());
        assert_eq!(code.as_deref(), Some("forbidden"), "{path}");
    }
}

/// A row is checked for the caller the tool was handed, not for a principal made by hand with
/// the same identity (as `sql!` binds only the caller), over a real transport.
#[tokio::test]
async fn a_row_is_checked_only_for_the_caller() {
    use rmcp::{ServiceExt, model::CallToolRequestParams};
    let security = Security::builder()
        .local_principal(Principal::new("alice", ["files:read"]))
        .policies(policies(r#"@id("all") permit (principal, action, resource);"#).unwrap())
        .build()
        .unwrap();
    let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let running = mcp_secure::serve::Secured::new(Server, security)
            .serve(server_end)
            .await
            .unwrap();
        let _ = running.waiting().await;
    });
    let client = ().serve(client_end).await.unwrap();
    let result = client
        .call_tool(CallToolRequestParams::new("row_check"))
        .await
        .unwrap();
    let text = &result.content[0].as_text().unwrap().text;
    assert_eq!(text, r#"[null,"forbidden"]"#);
}

#[test]
fn a_resource_type_cannot_stand_for_the_caller_a_tool_or_an_action() {
    struct Caller;
    impl PolicyResource for Caller {
        const TYPE: &'static str = "Caller";
        const SHAPE: &'static [(&'static str, AttributeKind)] = &[];
        fn id(&self) -> String {
            String::new()
        }
        fn attributes(&self) -> Vec<(&'static str, Attribute)> {
            Vec::new()
        }
    }
    let all = r#"@id("all") permit (principal, action, resource);"#;
    let shadowed = Policies::builder(&Server::tools())
        .resource::<Caller>()
        .build(all);
    assert!(shadowed.unwrap_err().to_string().contains("`Caller`"));
    let twice = Policies::builder(&Server::tools())
        .resource::<Row>()
        .resource::<Row>()
        .build(all);
    assert!(twice.is_err());
}
