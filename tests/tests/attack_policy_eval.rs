//! An outside attacker's probes of `policy`'s own evaluator (helper 26, session 24): each call decided by
//! `Policies::decide` must get the answer Cedar's authorizer gives on the same policies, the
//! exported schema and entities and context built as the guide describes (the caller with its
//! built-in and carried attributes, the action from the schema, `Tool::"<tool>"` as resource),
//! except that a policy failing to evaluate refuses the call (the library fails closed where
//! Cedar skips the policy). A call the library admits and Cedar refuses is a bypass.

use std::{collections::HashMap, str::FromStr};

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression, Schema,
};
use mcp_secure::{
    auth::{Attribute, AttributeKind, Attributes, Principal},
    policy::Policies,
    prelude::*,
};
use serde_json::{Map, Value, json};

mcp_secure::scopes! {
    /// Move money.
    "payments:write",
    /// Read files.
    "files:read",
}

#[derive(SecureInput)]
struct Transfer {
    #[mcp(range(min = -1_000_000, max = 1_000_000))]
    amount: i64,
    #[mcp(length(min = 0, max = 64))]
    note: String,
    #[mcp(items(max = 8), each(length(max = 16)))]
    tags: Vec<String>,
    flag: Option<bool>,
    #[mcp(range(min = -10, max = 10))]
    extra: Option<i64>,
}

#[derive(Clone)]
struct Server;

#[mcp_tools]
impl Server {
    /// Move money.
    #[mcp_tool(scope = "payments:write", rate = "unlimited")]
    async fn transfer(&self, input: Transfer) -> String {
        format!("{} ({}, {:?})", input.amount, input.note, input.flag)
    }

    /// Read a file.
    #[mcp_tool(scope = "files:read", rate = "unlimited")]
    async fn files_read(&self, #[mcp(path(within = "files"))] path: SafePath) -> String {
        path.as_str().to_owned()
    }

    /// Move money, again.
    #[mcp_tool(scope = "payments:write", rate = "unlimited")]
    async fn refund(&self, input: Transfer) -> String {
        format!("{} ({})", input.amount, input.note)
    }
}

fn attributes() -> Attributes {
    Attributes::new()
        .with("limit", AttributeKind::Number)
        .unwrap()
        .with("roles", AttributeKind::Texts)
        .unwrap()
        .with("dept", AttributeKind::Text)
        .unwrap()
        .with("admin", AttributeKind::Flag)
        .unwrap()
        .with("home", AttributeKind::Text)
        .unwrap()
}

fn build(cedar: &str) -> Policies {
    Policies::builder(&Server::tools())
        .attributes(&attributes())
        .build(cedar)
        .unwrap_or_else(|e| panic!("{e}\n{cedar}"))
}

fn text(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

fn carried(value: &Attribute) -> RestrictedExpression {
    match value {
        Attribute::Text(s) => text(s),
        Attribute::Number(n) => RestrictedExpression::new_long(*n),
        Attribute::Flag(b) => RestrictedExpression::new_bool(*b),
        Attribute::Texts(items) => RestrictedExpression::new_set(items.iter().map(|s| text(s))),
    }
}

/// The caller as the guide describes it, built here rather than by the library.
fn caller_entity(caller: &Principal) -> Entity {
    let ty = EntityTypeName::from_str("Caller").unwrap();
    let uid = EntityUid::from_type_name_and_id(ty, EntityId::new(caller.id()));
    let mut attrs: HashMap<String, RestrictedExpression> = caller
        .attributes()
        .map(|(name, value)| (name.to_owned(), carried(value)))
        .collect();
    attrs.insert("id".into(), text(caller.id()));
    attrs.insert("subject".into(), text(caller.subject()));
    attrs.insert("issuer".into(), text(caller.issuer()));
    attrs.insert("tenant_key".into(), text(&caller.tenant_key()));
    attrs.insert(
        "scopes".into(),
        RestrictedExpression::new_set(caller.scopes().iter().map(|s| text(s))),
    );
    if let Some(tenant) = caller.tenant() {
        attrs.insert("tenant".into(), text(tenant));
    }
    if let Some(client) = caller.client_id() {
        attrs.insert("client_id".into(), text(client));
    }
    Entity::new(uid, attrs, Default::default()).unwrap()
}

/// Cedar's own answer, on the exported schema and text: `(allowed, errors)`.
fn cedar(policies: &Policies, caller: &Principal, tool: &str, arguments: &Value) -> (bool, usize) {
    let schema = Schema::from_json_value(policies.schema().clone()).unwrap();
    let set = PolicySet::from_str(policies.text()).unwrap();
    let principal = caller_entity(caller);
    let principal_uid = principal.uid();
    let entities = Entities::from_entities([principal], Some(&schema)).unwrap();
    let action = EntityUid::from_type_name_and_id(
        EntityTypeName::from_str("Action").unwrap(),
        EntityId::new(tool),
    );
    let resource = EntityUid::from_type_name_and_id(
        EntityTypeName::from_str("Tool").unwrap(),
        EntityId::new(tool),
    );
    // No paths or secrets here: the context is the arguments, nulls left out.
    let context: Map<String, Value> = arguments
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let context =
        Context::from_json_value(Value::Object(context), Some((&schema, &action))).unwrap();
    let request = Request::new(principal_uid, action, resource, context, Some(&schema)).unwrap();
    let response = Authorizer::new().is_authorized(&request, &set, &entities);
    (
        response.decision() == Decision::Allow,
        response.diagnostics().errors().count(),
    )
}

fn alice() -> Principal {
    Principal::new("alice", ["payments:write"])
}

fn bob() -> Principal {
    Principal::new("bob", ["payments:write"])
        .with_attribute("limit", Attribute::Number(i64::MAX))
        .unwrap()
        .with_attribute(
            "roles",
            Attribute::Texts(vec!["clerk".into(), "a".into(), "clerk".into()]),
        )
        .unwrap()
        .with_attribute("dept", Attribute::Text("é".into()))
        .unwrap()
        .with_attribute("admin", Attribute::Flag(false))
        .unwrap()
}

fn args(amount: i64, note: &str, tags: &[&str]) -> Value {
    json!({ "amount": amount, "note": note, "tags": tags, "flag": false })
}

/// The library's answer and Cedar's on one call: the library admits exactly when Cedar
/// admits with no policy failing.
#[track_caller]
fn same(policies: &Policies, caller: &Principal, tool: &str, arguments: &Value) -> bool {
    let ours = policies.decide(caller, tool, arguments.as_object().unwrap());
    let (allowed, errors) = cedar(policies, caller, tool, arguments);
    assert_eq!(
        ours.is_ok(),
        allowed && errors == 0,
        "{tool} by {} with {arguments}: library {ours:?}, Cedar allowed {allowed} with {errors} errors; policies:\n{}",
        caller.id(),
        policies.text()
    );
    ours.is_ok()
}

const PERMIT_ALL: &str = r#"@id("all") permit (principal, action, resource);"#;

/// A forbid naming the caller by entity inside a set, a record or a set of records: Cedar
/// compares entities by type and id, whatever the text they were parsed from.
#[test]
fn entities_in_sets_and_records_are_the_callers() {
    let conditions = [
        r#"[Caller::"local#alice"].contains(principal)"#,
        r#"[Caller::"local#alice", Caller::"local#zed"].contains(principal)"#,
        r#"[Caller::"local#zed", Caller::"local#alice"].contains(principal)"#,
        r#"[principal].contains(Caller::"local#alice")"#,
        r#"[Caller::"local#alice"].containsAll([principal])"#,
        r#"[Caller::"local#alice", Caller::"local#b"].containsAny([principal])"#,
        r#"[principal, Caller::"local#b"].containsAll([Caller::"local#alice"])"#,
        r#"[principal] == [Caller::"local#alice"]"#,
        r#"[Caller::"local#alice", principal] == [principal]"#,
        r#"principal in [Caller::"local#alice"]"#,
        r#"{"p": principal} == {"p": Caller::"local#alice"}"#,
        r#"[{"p": Caller::"local#alice"}].contains({"p": principal})"#,
        r#"[[Caller::"local#alice"]].contains([principal])"#,
        r#"[action].contains(Action::"transfer")"#,
        r#"[Action::"refund", Action::"transfer"].contains(action)"#,
        r#"[resource].contains(Tool::"transfer")"#,
        r#"[Tool::"transfer", Tool::"refund"].contains(resource)"#,
        r#"[{"a": action, "r": resource}].contains({"a": Action::"transfer", "r": Tool::"transfer"})"#,
    ];
    for condition in conditions {
        let policies = build(&format!(
            "{PERMIT_ALL}\n@id(\"deny\") forbid (principal, action, resource) when {{ {condition} }};"
        ));
        let admitted = same(&policies, &alice(), "transfer", &args(1, "x", &[]));
        assert!(
            !admitted,
            "`{condition}` holds for alice on transfer: refused"
        );
    }
}

/// Corners of Cedar's meaning, one forbid each beside a permit of everything: short-circuits
/// over overflows, `if` over errors, `like` with escapes and non-ASCII, `has` chains, sets
/// with duplicates, empty sets from the call, entities of other types with the caller's id,
/// `is`, `unless` after `when`.
#[test]
fn corners_of_cedars_meaning_decide_as_cedar_does() {
    let conditions = [
        "false && (9223372036854775807 + 1 == 0)",
        "true || (9223372036854775807 + 1 == 0)",
        "(9223372036854775807 + 1 == 0) || true",
        "(if true then 1 else 9223372036854775807 * 2) == 1",
        "(if false then 1 else 9223372036854775807 * 2) == 1",
        "-9223372036854775808 < context.amount",
        "(-9223372036854775807 - 1) < context.amount",
        "context.amount * 9223372036854775807 > 0 || true",
        "context.amount - (-9223372036854775807) > 0",
        r#"context.note like "a\*b""#,
        r#"context.note like "*\**""#,
        r#"context.note like "é*""#,
        r#"context.note like "e*""#,
        r#"context.note like "**""#,
        r#"context.note like """#,
        r#"context.note == "é""#,
        "context has extra && context.extra < 0",
        "!(context has extra)",
        "context has flag && context.flag",
        "context.tags.isEmpty()",
        r#"context.tags.contains("a")"#,
        r#"context.tags.containsAll(["a", "a"])"#,
        r#"context.tags.containsAny(["b", "a"])"#,
        r#"context.tags == ["a"]"#,
        r#"["a"].containsAll(context.tags)"#,
        r#"["a", "b"].containsAny(context.tags)"#,
        "principal.scopes.containsAll(context.tags)",
        r#"Caller::"local#alice" has subject"#,
        r#"Caller::"local#bob" has limit && Caller::"local#bob".limit > 0"#,
        r#"Tool::"local#alice" == Caller::"local#alice""#,
        r#"resource == Tool::"transfer""#,
        r#"resource is Tool && resource == Tool::"transfer""#,
        "principal is Caller",
        r#"principal in [Caller::"local#bob", Caller::"local#alice"]"#,
        r#"action in [Action::"refund", Action::"transfer"]"#,
        "principal has limit && principal.limit >= context.amount",
        "principal has roles && principal.roles.contains(context.note)",
        r#"principal has dept && principal.dept like "*é*""#,
        r#"principal has admin && !principal.admin"#,
        r#"principal has tenant || principal.tenant_key like "local#*""#,
        r#"{"a": {"b": context.amount}} has a.b"#,
        r#"{"a": {"b": context.amount}}.a.b == context.amount"#,
        r#"{"a": 1, "b": context.note} == {"b": context.note, "a": 1}"#,
        r#"[{"a": 1}, {"a": 1}] == [{"a": 1}]"#,
        r#"[[1, 2], [2, 1]] == [[1, 2]]"#,
        r#"[context.tags, context.tags].contains(context.tags)"#,
    ];
    let calls = [
        (alice(), args(1, "a*b", &["a", "a"])),
        (alice(), args(i64::MAX, "é", &[])),
        (bob(), args(-1, "a", &["a", "b"])),
        (bob(), args(i64::MIN, "", &["clerk"])),
        (
            bob(),
            json!({ "amount": 0, "note": "*", "tags": [], "flag": true, "extra": -3 }),
        ),
        (
            alice(),
            json!({ "amount": 2, "note": "x", "tags": ["a"], "flag": null, "extra": null }),
        ),
        (
            Principal::new("carol", ["a"]).with_tenant("acme").unwrap(),
            json!({ "amount": 2, "note": "e", "tags": ["a"], "extra": 9223372036854775807i64 }),
        ),
    ];
    let mut refused = 0;
    for condition in conditions {
        for (kind, after) in [("when", ""), ("unless", " when { true }")] {
            let policies = build(&format!(
                "{PERMIT_ALL}\n@id(\"deny\") forbid (principal, action == Action::\"transfer\", resource) {kind} {{ {condition} }}{after};"
            ));
            for (caller, arguments) in &calls {
                refused += usize::from(!same(&policies, caller, "transfer", arguments));
                // The forbid's scope does not hold: whatever its condition, refund is admitted.
                assert!(same(&policies, caller, "refund", arguments));
            }
        }
    }
    assert!(refused > 100, "{refused}");
}

/// The demo's rule on homes, over every spelling of a path made of a few segments (empty,
/// `.`, `..`, look-alikes, a home's names): whatever the validation admits for bob, the file
/// it opens is never alice's.
#[tokio::test]
async fn no_spelling_of_a_path_reaches_another_home() {
    use mcp_secure::{Security, tool::admit};
    let dir = tempfile::tempdir().unwrap();
    for home in ["alice", "bob"] {
        std::fs::create_dir_all(dir.path().join("home").join(home)).unwrap();
        std::fs::write(dir.path().join("home").join(home).join("x"), home).unwrap();
    }
    std::fs::write(dir.path().join("x"), "public").unwrap();
    let rules = include_str!("../../examples/policies/notes.cedar")
        .split("// A row rule")
        .next()
        .unwrap()
        .to_owned();
    let security = Security::builder()
        .path_root("files", dir.path())
        .policies(build(&rules))
        .build()
        .unwrap();
    let policy = Server::tool_policies()
        .iter()
        .find(|p| p.name() == "files_read")
        .unwrap();
    let bob = Principal::new("bob", ["files:read"])
        .with_attribute("home", Attribute::Text("home/bob".into()))
        .unwrap();
    let segments = [
        "",
        ".",
        "..",
        "home",
        "alice",
        "x",
        "bob",
        "home ",
        "Home",
        "home\u{200b}",
        "./home",
    ];
    let mut spellings = Vec::new();
    for a in segments {
        for b in segments {
            for c in segments {
                spellings.push(format!("{a}/{b}/{c}"));
                spellings.push(format!("{a}/{b}/{c}/x"));
                spellings.push(format!("./{a}//{b}/./{c}/x/"));
            }
        }
    }
    let (mut admitted, mut reached) = (0, Vec::new());
    for spelling in &spellings {
        let arguments = json!({ "path": spelling }).as_object().cloned();
        let Ok((_, input)) =
            admit::<FilesReadInput>(&security, policy, Some(bob.clone()), None, arguments).await
        else {
            continue;
        };
        admitted += 1;
        if let Ok(mut file) = input.path.open() {
            let mut text = String::new();
            if std::io::Read::read_to_string(&mut file, &mut text).is_ok() && text == "alice" {
                reached.push(spelling.clone());
            }
        }
    }
    assert!(admitted > 0);
    assert!(reached.is_empty(), "bob read alice's file as {reached:?}");
}

/// A deterministic generator (xorshift64*), so that a failure names its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Expressions the library's own generator does not make: entities of every kind in sets,
/// records and `if`s, `is` and `in` on them, attributes of entity literals that may or may
/// not be the caller, sets of sets and of records.
fn boolean(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.below(4) == 0 {
        return match rng.below(9) {
            0 => format!("{} == {}", entity(rng, 0), entity(rng, 0)),
            1 => format!(
                "{} is {}",
                entity(rng, 0),
                rng.pick(&["Caller", "Tool", "Action"])
            ),
            2 => format!("{} in {}", entity(rng, 0), entities(rng, 0)),
            3 => format!("{}.contains({})", entities(rng, 0), entity(rng, 0)),
            4 => format!(
                "{} has {}",
                rng.pick(&[
                    r#"Caller::"local#alice""#,
                    r#"Caller::"local#bob""#,
                    "principal"
                ]),
                rng.pick(&["limit", "roles", "dept", "tenant", "client_id", "admin"])
            ),
            5 => format!(
                "{} like \"{}\"",
                string(rng, 0),
                rng.pick(&["*", "local#*", r"*\*", "*é", "a*", ""])
            ),
            6 => format!("{} < {}", long(rng, 0), long(rng, 0)),
            7 => format!("{} == {}", record(rng, 0), record(rng, 0)),
            _ => rng
                .pick(&[
                    "true",
                    "false",
                    "context.tags.isEmpty()",
                    "context has extra",
                ])
                .to_owned(),
        };
    }
    let d = depth - 1;
    match rng.below(9) {
        0 => format!("!({})", boolean(rng, d)),
        1 => format!("({} && {})", boolean(rng, d), boolean(rng, d)),
        2 => format!("({} || {})", boolean(rng, d), boolean(rng, d)),
        3 => format!(
            "(if {} then {} else {})",
            boolean(rng, d),
            boolean(rng, d),
            boolean(rng, d)
        ),
        4 => format!(
            "{}.{}({})",
            entities(rng, d),
            rng.pick(&["containsAll", "containsAny"]),
            entities(rng, d)
        ),
        5 => format!(
            "[{}, {}].contains({})",
            entities(rng, d),
            entities(rng, d),
            entities(rng, d)
        ),
        6 => format!("[{}].contains({})", record(rng, d), record(rng, d)),
        7 => format!(
            "(if {} then {} else {}) == {}",
            boolean(rng, d),
            entity(rng, d),
            entity(rng, d),
            entity(rng, d)
        ),
        _ => format!(
            "(principal has limit && principal.limit > {})",
            long(rng, d)
        ),
    }
}

fn entity(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.below(2) == 0 {
        return rng
            .pick(&[
                "principal",
                r#"Caller::"local#alice""#,
                r#"Caller::"local#bob""#,
                r#"Caller::"transfer""#,
            ])
            .to_owned();
    }
    format!(
        "(if {} then {} else {})",
        boolean(rng, depth - 1),
        entity(rng, depth - 1),
        entity(rng, depth - 1)
    )
}

fn entities(rng: &mut Rng, depth: usize) -> String {
    let n = 1 + rng.below(3);
    let items: Vec<String> = (0..n)
        .map(|_| entity(rng, depth.saturating_sub(1)))
        .collect();
    format!("[{}]", items.join(", "))
}

fn long(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.below(2) == 0 {
        return rng
            .pick(&[
                "0",
                "-1",
                "context.amount",
                "9223372036854775807",
                "-9223372036854775808",
            ])
            .to_owned();
    }
    let op = rng.pick(&["+", "-", "*"]);
    format!("({} {op} {})", long(rng, depth - 1), long(rng, depth - 1))
}

fn string(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.below(2) == 0 {
        return rng
            .pick(&[
                "principal.id",
                "context.note",
                r#""a*b""#,
                r#""é""#,
                "principal.tenant_key",
            ])
            .to_owned();
    }
    format!(
        "(if {} then {} else {})",
        boolean(rng, depth - 1),
        string(rng, depth - 1),
        string(rng, depth - 1)
    )
}

fn record(rng: &mut Rng, depth: usize) -> String {
    format!(
        "{{\"e\": {}, \"n\": {}, \"s\": [{}]}}",
        entity(rng, depth),
        long(rng, depth),
        string(rng, depth)
    )
}

#[test]
fn generated_entity_expressions_decide_as_cedar_does() {
    let calls = [
        (alice(), args(1, "a*b", &["a", "a"])),
        (bob(), args(-1, "é", &[])),
        (
            bob(),
            json!({ "amount": i64::MAX, "note": "", "tags": ["x"], "extra": 1 }),
        ),
        (
            Principal::new("transfer", ["a"])
                .with_tenant("acme")
                .unwrap(),
            args(0, "local#x", &["b"]),
        ),
    ];
    let (mut built, mut decided) = (0, [0usize; 2]);
    for seed in 1..=1500u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let effect = rng.pick(&["permit", "forbid"]);
        let mut text = format!("{PERMIT_ALL}\n");
        if effect == "permit" {
            text.clear();
        }
        let depth = 1 + rng.below(4);
        let condition = boolean(&mut rng, depth);
        text.push_str(&format!(
            "@id(\"p\") {effect} (principal, action == Action::\"transfer\", resource) when {{ {condition} }};"
        ));
        let Ok(policies) = Policies::builder(&Server::tools())
            .attributes(&attributes())
            .build(&text)
        else {
            continue;
        };
        built += 1;
        for (caller, arguments) in &calls {
            decided[usize::from(same(&policies, caller, "transfer", arguments))] += 1;
        }
    }
    assert!(built >= 300, "only {built} generated policies validated");
    assert!(decided.iter().all(|n| *n >= 100), "{decided:?}");
}

/// The context is built before validation, from whatever the client sent: a list far past its
/// bound, and many arguments no tool takes, cost the walk time in their size, not its square.
#[test]
fn oversized_arguments_cost_no_more_than_their_size() {
    let policies = build(&format!(
        "{PERMIT_ALL}\n@id(\"deny\") forbid (principal, action == Action::\"transfer\", resource) when {{ context.tags.containsAll([\"x1\", \"x2\"]) && context.tags.contains(\"x3\") }};"
    ));
    let time = |n: usize| {
        let mut arguments = args(1, "a", &[]);
        arguments["tags"] = json!((0..n).map(|i| format!("t{}", n - i)).collect::<Vec<_>>());
        for i in 0..n {
            arguments[format!("k{i}")] = json!(i);
        }
        let arguments = arguments.as_object().cloned().unwrap();
        let started = std::time::Instant::now();
        assert!(policies.decide(&alice(), "transfer", &arguments).is_ok());
        started.elapsed()
    };
    let (small, large) = (time(20_000), time(160_000));
    assert!(
        large < small * 40 + std::time::Duration::from_millis(200),
        "8 times the arguments took {small:?} -> {large:?}"
    );
}
