//! Policies against the tools they govern: what does not fit is refused at build, naming the
//! policy and the rule; what fits decides each call, failing closed.

use mcp_secure::{
    auth::{Attribute, AttributeKind, Attributes, Principal},
    policy::{Policies, PolicyErrorKind, PolicyResource},
    prelude::*,
};
use serde_json::{Value, json};

mcp_secure::scopes! {
    /// Read files.
    "files:read",
    /// Move money.
    "payments:write",
}

#[derive(SecureInput)]
struct Transfer {
    #[mcp(range(min = 1, max = 1_000_000))]
    amount: i64,
    #[mcp(length(min = 1, max = 64))]
    to: String,
    #[mcp(items(max = 4), each(length(max = 16)))]
    tags: Option<Vec<String>>,
    /// A fraction: Cedar has none, so no policy can name it.
    #[mcp(range(min = 0.0, max = 1.0))]
    fee: Option<f64>,
    /// A secret: no policy sees it.
    #[mcp(length(min = 4, max = 64))]
    pin: SecretString,
}

#[derive(Clone)]
struct Server;

#[mcp_tools]
impl Server {
    /// Read a file.
    #[mcp_tool(scope = "files:read", rate = "unlimited")]
    async fn files_read(&self, #[mcp(path(within = "files"))] path: SafePath) -> String {
        path.as_str().to_owned()
    }

    /// Move money.
    #[mcp_tool(scope = "payments:write", rate = "unlimited")]
    async fn transfer(&self, input: Transfer) -> String {
        format!("{} to {}", input.amount, input.to)
    }
}

struct Note {
    id: i64,
    tenant: String,
}

impl PolicyResource for Note {
    const TYPE: &'static str = "Note";
    const SHAPE: &'static [(&'static str, AttributeKind)] = &[("tenant", AttributeKind::Text)];
    fn id(&self) -> String {
        self.id.to_string()
    }
    fn attributes(&self) -> Vec<(&'static str, Attribute)> {
        vec![("tenant", Attribute::Text(self.tenant.clone()))]
    }
}

fn attributes() -> Attributes {
    Attributes::new()
        .with("roles", AttributeKind::Texts)
        .unwrap()
        .with("limit", AttributeKind::Number)
        .unwrap()
        .with("home", AttributeKind::Text)
        .unwrap()
}

fn build(cedar: &str) -> Result<Policies, mcp_secure::policy::PolicyError> {
    Policies::builder(&Server::tools())
        .attributes(&attributes())
        .resource::<Note>()
        .build(cedar)
}

fn refused(cedar: &str) -> (PolicyErrorKind, String) {
    let error = build(cedar).expect_err("refused");
    (error.kind(), error.to_string())
}

fn args(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// Valid arguments of `transfer`.
fn transfer(amount: i64) -> serde_json::Map<String, Value> {
    args(json!({ "amount": amount, "to": "x", "pin": "1234" }))
}

const ALLOW_ALL: &str = r#"@id("all") permit (principal, action, resource);"#;

/// Every way a policy can fail to fit the tools is refused, each naming the policy.
#[test]
fn a_policy_that_does_not_fit_the_tools_is_refused_naming_it() {
    let cases = [
        // An argument the tool does not take.
        (
            r#"@id("no-such-arg") permit (principal, action == Action::"transfer", resource) when { context.amount_max > 1 };"#,
            "amount_max",
        ),
        // A string compared to a number.
        (
            r#"@id("string-to-number") permit (principal, action == Action::"transfer", resource) when { context.amount == "5" };"#,
            "string-to-number",
        ),
        // A number compared to a caller's text attribute.
        (
            r#"@id("number-to-text") permit (principal, action == Action::"transfer", resource) when { principal has home && context.amount < principal.home };"#,
            "number-to-text",
        ),
        // An argument of another tool.
        (
            r#"@id("other-tools-arg") permit (principal, action == Action::"files_read", resource) when { context.amount < 5 };"#,
            "amount",
        ),
        // A tool that does not exist.
        (
            r#"@id("no-such-tool") permit (principal, action == Action::"transfers", resource);"#,
            "transfers",
        ),
        // An attribute callers do not carry.
        (
            r#"@id("no-such-attribute") permit (principal, action, resource) when { principal.department == "x" };"#,
            "department",
        ),
        // A declared attribute used without `has`: it is optional.
        (
            r#"@id("unguarded") permit (principal, action == Action::"transfer", resource) when { context.amount <= principal.limit };"#,
            "unguarded",
        ),
        // An optional argument used without `has`.
        (
            r#"@id("optional-arg") permit (principal, action == Action::"transfer", resource) when { context.tags.contains("x") };"#,
            "optional-arg",
        ),
        // A fraction, which Cedar cannot hold.
        (
            r#"@id("fraction") permit (principal, action == Action::"transfer", resource) when { context.fee == 0 };"#,
            "fraction",
        ),
        // A secret argument.
        (
            r#"@id("secret") permit (principal, action == Action::"transfer", resource) when { context.pin == "1234" };"#,
            "pin",
        ),
        // A resource attribute that does not exist.
        (
            r#"@id("row-attr") permit (principal, action, resource is Note) when { resource.owner == principal.id };"#,
            "owner",
        ),
    ];
    let mut messages = String::new();
    for (cedar, named) in cases {
        let (kind, text) = refused(cedar);
        assert_eq!(kind, PolicyErrorKind::Validation, "{cedar}: {text}");
        assert!(text.contains(named), "{cedar}: {text}");
        let id = cedar.split('"').nth(1).unwrap();
        assert!(text.contains(&format!("policy `{id}`")), "{text}");
        messages += &format!("{cedar}\n{text}\n\n");
    }
    // What a server author reads, reviewed line by line like a ui test's `.stderr`.
    let golden = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/policy/refused.txt");
    if std::env::var_os("POLICY_ERRORS").is_some_and(|v| v == "overwrite") {
        std::fs::write(golden, &messages).unwrap();
    }
    assert_eq!(messages, std::fs::read_to_string(golden).unwrap());
}

#[test]
fn every_policy_has_an_id_of_its_own_and_the_text_is_cedar() {
    let (kind, text) = refused("permit (principal, action, resource);");
    assert_eq!(kind, PolicyErrorKind::Ids);
    assert!(text.contains("policy number 1"), "{text}");
    let (kind, text) = refused(&format!("{ALLOW_ALL}\n{ALLOW_ALL}"));
    assert_eq!(kind, PolicyErrorKind::Ids);
    assert!(text.contains("two policies have the @id `all`"), "{text}");
    // An id is named in errors and logs: no spaces, controls or escapes.
    let (kind, _) = refused(r#"@id("a b\u{1b}[31m") permit (principal, action, resource);"#);
    assert_eq!(kind, PolicyErrorKind::Ids);
    let (kind, _) = refused("permit (principal, action, resource)");
    assert_eq!(kind, PolicyErrorKind::Syntax);
    let (kind, _) = refused(r#"@id("t") permit (principal == ?principal, action, resource);"#);
    assert_ne!(kind, PolicyErrorKind::Validation);
}

#[test]
fn an_argument_rule_decides_on_the_validated_arguments() {
    let policies = build(&format!(
        r#"{ALLOW_ALL}
        @id("within-limit")
        forbid (principal, action == Action::"transfer", resource)
        unless {{ principal has limit && context.amount <= principal.limit }};"#
    ))
    .unwrap();
    let alice = Principal::new("alice", ["payments:write"])
        .with_attribute("limit", Attribute::Number(500))
        .unwrap();
    let bob = Principal::new("bob", ["payments:write"]);
    let call = |who: &Principal, amount: i64| policies.decide(who, "transfer", &transfer(amount));
    assert!(call(&alice, 500).is_ok());
    let denied = call(&alice, 501).unwrap_err();
    assert_eq!(denied.policies(), ["within-limit"]);
    let error = serde_json::to_string(&denied.to_tool_error().to_result()).unwrap();
    assert!(
        error.contains("forbidden") && error.contains("within-limit"),
        "{error}"
    );
    assert!(
        !error.contains("principal.limit"),
        "never the policy text: {error}"
    );
    assert_eq!(call(&bob, 1).unwrap_err().policies(), ["within-limit"]);
}

/// A path is decided as the open resolves it: no spelling (`./`, `//`, a trailing `/`) slips
/// past a rule on its text or its directories.
#[test]
fn a_path_rule_sees_the_path_as_opened() {
    let policies = build(&format!(
        r#"{ALLOW_ALL}
        @id("own-home")
        forbid (principal, action == Action::"files_read", resource)
        unless {{ principal has home && context.path_dirs.contains(principal.home) }};
        @id("no-secrets")
        forbid (principal, action == Action::"files_read", resource)
        when {{ context.path like "*secret*" || context.path_dirs.contains("home/alice/private") }};"#
    ))
    .unwrap();
    let alice = Principal::new("alice", ["files:read"])
        .with_attribute("home", Attribute::Text("home/alice".into()))
        .unwrap();
    let read = |path: &str| policies.decide(&alice, "files_read", &args(json!({ "path": path })));
    assert!(read("home/alice/notes.txt").is_ok());
    assert!(read("home/alice/deep/er/notes.txt").is_ok());
    for outside in [
        "home/bob/notes.txt",
        "home/alice",
        "home/alicex/n.txt",
        "notes.txt",
    ] {
        assert_eq!(
            read(outside).unwrap_err().policies(),
            ["own-home"],
            "{outside}"
        );
    }
    for spelled in ["./home/bob/n.txt", "home//bob/n.txt", "home/./bob/n.txt"] {
        assert_eq!(
            read(spelled).unwrap_err().policies(),
            ["own-home"],
            "{spelled}"
        );
    }
    for hidden in [
        "home/alice/private/n.txt",
        "home/alice//private/n.txt",
        "./home/alice/./private/n.txt",
        "home/alice/a.secret",
    ] {
        assert_eq!(
            read(hidden).unwrap_err().policies(),
            ["no-secrets"],
            "{hidden}"
        );
    }
}

/// A `forbid` that cannot be evaluated does not let the call through.
#[test]
fn a_policy_that_fails_to_evaluate_denies() {
    let policies = build(&format!(
        r#"{ALLOW_ALL}
        @id("overflow")
        forbid (principal, action == Action::"transfer", resource)
        when {{ context.amount * 9223372036854775807 > 0 }};"#
    ))
    .unwrap();
    let alice = Principal::new("alice", ["payments:write"]);
    let denied = policies
        .decide(&alice, "transfer", &transfer(2))
        .unwrap_err();
    assert!(denied.is_failure());
    assert_eq!(denied.policies(), ["overflow"]);
}

#[test]
fn without_a_permit_nothing_is_allowed() {
    let policies =
        build(r#"@id("reads") permit (principal, action == Action::"files_read", resource);"#)
            .unwrap();
    let alice = Principal::new("alice", ["payments:write"]);
    let denied = policies
        .decide(&alice, "transfer", &transfer(2))
        .unwrap_err();
    assert!(denied.policies().is_empty() && !denied.is_failure());
    let error = serde_json::to_string(&denied.to_tool_error().to_result()).unwrap();
    assert!(error.contains("no policy permits this call"), "{error}");
}

#[test]
fn the_schema_states_each_tools_arguments_and_the_callers_attributes() {
    let policies = build(ALLOW_ALL).unwrap();
    let schema = policies.schema();
    let transfer = &schema[""]["actions"]["transfer"]["appliesTo"]["context"]["attributes"];
    assert_eq!(
        transfer["amount"],
        json!({ "type": "Long", "required": true })
    );
    assert_eq!(
        transfer["to"],
        json!({ "type": "String", "required": true })
    );
    assert_eq!(
        transfer["tags"],
        json!({ "type": "Set", "element": { "type": "String" }, "required": false })
    );
    assert!(transfer.get("fee").is_none(), "Cedar has no fractions");
    assert!(
        transfer.get("pin").is_none(),
        "secrets never reach policies"
    );
    let read = &schema[""]["actions"]["files_read"]["appliesTo"]["context"]["attributes"];
    assert_eq!(read["path_dirs"]["type"], "Set");
    let caller = &schema[""]["entityTypes"]["Caller"]["shape"]["attributes"];
    assert_eq!(
        caller["limit"],
        json!({ "type": "Long", "required": false })
    );
    assert_eq!(
        caller["tenant"],
        json!({ "type": "String", "required": false })
    );
    assert_eq!(policies.ids().collect::<Vec<_>>(), ["all"]);
}

/// Attributes are checked as inputs are: names that would shadow the built-ins or Cedar's
/// words, texts with controls, lists without end.
#[test]
fn attributes_are_bounded_and_clean() {
    let p = || Principal::new("alice", ["x"]);
    for name in [
        "tenant",
        "scopes",
        "id",
        "in",
        "1x",
        "a-b",
        "",
        &"a".repeat(65),
    ] {
        assert!(
            p().with_attribute(name, Attribute::Flag(true)).is_err(),
            "{name:?}"
        );
    }
    assert!(
        p().with_attribute("team", Attribute::Text("a\u{200b}".into()))
            .is_err()
    );
    assert!(
        p().with_attribute("team", Attribute::Text(String::new()))
            .is_err()
    );
    assert!(
        p().with_attribute("team", Attribute::Text("x".repeat(257)))
            .is_err()
    );
    assert!(
        p().with_attribute("roles", Attribute::Texts(vec!["r".into(); 65]))
            .is_err()
    );
    assert!(
        p().with_attribute("roles", Attribute::Texts(vec!["r".into(); 64]))
            .is_ok()
    );
    for name in mcp_secure::auth::BUILT_IN_ATTRIBUTES {
        assert!(
            Attributes::new().with(name, AttributeKind::Text).is_err(),
            "{name}"
        );
    }
    let claim = |kind, v: Value| Attribute::from_claim(kind, &v);
    assert_eq!(claim(AttributeKind::Number, json!(1.5)), None);
    assert_eq!(claim(AttributeKind::Number, json!("5")), None);
    assert_eq!(claim(AttributeKind::Texts, json!(["a", 1])), None);
    assert_eq!(
        claim(AttributeKind::Texts, json!("admin")),
        Some(Attribute::Texts(vec!["admin".into()]))
    );
}

// The test `policy_test!` generates, on files of policies: it fails, naming the policy and the
// rule, for one that names a missing argument and one that compares a string to a number, and
// passes for one that fits.
mcp_secure::policy_test!(
    #[should_panic(expected = "policy `no-such-arg`: attribute `amount_max` in context")]
    the_generated_test_fails_on_a_missing_argument,
    Server::tools(),
    attributes(),
    "tests/policy/missing_argument.cedar",
    Note
);
mcp_secure::policy_test!(
    #[should_panic(
        expected = "policy `string-to-number`: the types Long and String are not compatible"
    )]
    the_generated_test_fails_on_a_string_compared_to_a_number,
    Server::tools(),
    attributes(),
    "tests/policy/wrong_type.cedar",
    Note
);
mcp_secure::policy_test!(
    the_generated_test_passes_policies_that_fit,
    Server::tools(),
    attributes(),
    "tests/policy/fits.cedar",
    Note
);
