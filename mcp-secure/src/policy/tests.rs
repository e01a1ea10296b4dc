//! The evaluator of `evaluate.rs` against Cedar's authorizer: generated policy sets, each
//! decided on generated calls by both, must get the same answer (the same policies erring,
//! the same `forbid`s holding, the same permit).

use serde_json::{Value, json};

use super::{Engine, Outcome, Policies, PoliciesBuilder, PolicyResource, Row, schema};
use crate::auth::{Attribute, AttributeKind, Attributes, Principal};

/// A deterministic generator (xorshift64*), so that a failure names its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

struct Note {
    id: &'static str,
    owner: String,
    level: i64,
}

impl PolicyResource for Note {
    const TYPE: &'static str = "Note";
    const SHAPE: &'static [(&'static str, AttributeKind)] = &[
        ("owner", AttributeKind::Text),
        ("level", AttributeKind::Number),
    ];
    fn id(&self) -> String {
        self.id.to_owned()
    }
    fn attributes(&self) -> Vec<(&'static str, Attribute)> {
        vec![
            ("owner", Attribute::Text(self.owner.clone())),
            ("level", Attribute::Number(self.level)),
        ]
    }
}

fn builder() -> PoliciesBuilder {
    let path = json!({ "type": "string", "pattern": crate::validate::path::PATH_PATTERN });
    let transfer = json!({
        "type": "object",
        "properties": {
            "amount": { "type": "integer" },
            "note": { "type": "string" },
            "tags": { "type": "array", "items": { "type": "string" } },
            "flag": { "type": "boolean" },
            "path": path,
            "meta": {
                "type": "object",
                "properties": { "level": { "type": "integer" }, "label": { "type": "string" } },
                "required": ["level", "label"],
            },
            "extra": { "type": ["integer", "null"] },
        },
        "required": ["amount", "note", "tags", "flag", "path", "meta"],
    });
    let read = json!({
        "type": "object",
        "properties": { "path": path, "paths": { "type": "array", "items": path } },
        "required": ["path", "paths"],
    });
    let fields = |v: Value| schema::fields(v.as_object().unwrap());
    PoliciesBuilder {
        tools: vec![
            ("transfer".to_owned(), fields(transfer)),
            ("read".to_owned(), fields(read)),
        ],
        attributes: Attributes::new()
            .with("limit", AttributeKind::Number)
            .unwrap()
            .with("roles", AttributeKind::Texts)
            .unwrap()
            .with("admin", AttributeKind::Flag)
            .unwrap()
            .with("dept", AttributeKind::Text)
            .unwrap(),
        resources: vec![(Note::TYPE, Note::SHAPE)],
    }
}

/// What a generated expression may name: the optional attributes its guards established, and
/// the resource's type when the scope fixed it.
#[derive(Clone, Copy, Default)]
struct Scope {
    transfer: bool,
    note: bool,
    limit: bool,
    roles: bool,
    dept: bool,
    tenant: bool,
    extra: bool,
}

const LONGS: &[&str] = &[
    "0",
    "1",
    "-1",
    "5",
    "1000",
    "9223372036854775807",
    "-9223372036854775807",
    "4611686018427387904",
];
const TEXTS: &[&str] = &[
    r#""""#,
    r#""a""#,
    r#""alice""#,
    r#""home/alice""#,
    r#""home""#,
    r#""*""#,
    r#""é""#,
    r#""acme""#,
    r#""admin""#,
    r#""a\*b""#,
];
const PATTERNS: &[&str] = &[
    "*", "a*", "*e", "home/*", "*alice*", r"a\*b", "", "é", "**", "h*e/*l*", r"\*",
];

struct Gen<'r>(&'r mut Rng);

impl Gen<'_> {
    fn boolean(&mut self, depth: usize, s: Scope) -> String {
        let leaf = depth == 0 || self.0.chance(3);
        if leaf {
            return match self.0.below(8) {
                0 => self.0.pick(&["true", "false"]).to_string(),
                1 => format!(
                    "principal {}",
                    self.0.pick(&[
                        r#"== Caller::"local#alice""#,
                        r#"in [Caller::"local#alice", Caller::"local#bob"]"#,
                        "is Caller",
                        r#"in Caller::"local#bob""#
                    ])
                ),
                2 => format!(
                    "action {}",
                    self.0.pick(&[
                        r#"== Action::"read""#,
                        r#"in [Action::"read", Action::"transfer"]"#,
                        r#"in Action::"transfer""#
                    ])
                ),
                3 => format!(
                    "resource {}",
                    self.0.pick(&[
                        r#"== Tool::"read""#,
                        "is Tool",
                        "is Note",
                        r#"== Note::"n1""#
                    ])
                ),
                4 if s.transfer => "context.flag".to_owned(),
                5 => format!("{}.isEmpty()", self.texts(0, s)),
                7 => self
                    .0
                    .pick(&[
                        r#"Note::"local#alice" has owner"#,
                        r#"Caller::"local#alice" has dept"#,
                        r#"Caller::"local#bob" has limit"#,
                        r#"Tool::"read" has owner"#,
                        r#"Tool::"n1" has owner"#,
                    ])
                    .to_string(),
                6 if s.limit || s.extra => format!("{} > {}", self.long(1, s), self.long(0, s)),
                _ => format!("{} == {}", self.text(0, s), self.text(0, s)),
            };
        }
        let d = depth - 1;
        match self.0.below(16) {
            0 => format!("!({})", self.boolean(d, s)),
            1 => format!("({} && {})", self.boolean(d, s), self.boolean(d, s)),
            2 => format!("({} || {})", self.boolean(d, s), self.boolean(d, s)),
            3 => format!(
                "(if {} then {} else {})",
                self.boolean(d, s),
                self.boolean(d, s),
                self.boolean(d, s)
            ),
            4 => {
                let op = self.0.pick(&["<", "<=", ">", ">=", "==", "!="]);
                format!("({} {op} {})", self.long(d, s), self.long(d, s))
            }
            5 => format!(
                "({} {} {})",
                self.text(d, s),
                self.0.pick(&["==", "!="]),
                self.text(d, s)
            ),
            6 => format!("({} like \"{}\")", self.text(d, s), self.0.pick(PATTERNS)),
            7 => format!("{}.contains({})", self.texts(d, s), self.text(d, s)),
            8 => format!(
                "{}.{}({})",
                self.texts(d, s),
                self.0.pick(&["containsAll", "containsAny"]),
                self.texts(d, s)
            ),
            9 => format!("({} == {})", self.texts(d, s), self.texts(d, s)),
            // Guards that open optional attributes to what they guard.
            10 => {
                let (name, mut inner) = match self.0.below(5) {
                    0 => ("limit", Scope { limit: true, ..s }),
                    1 => ("roles", Scope { roles: true, ..s }),
                    2 => ("dept", Scope { dept: true, ..s }),
                    3 => ("tenant", Scope { tenant: true, ..s }),
                    _ => ("admin", s),
                };
                if name == "admin" {
                    return "(principal has admin && principal.admin)".to_owned();
                }
                inner.note = s.note;
                format!("(principal has {name} && {})", self.boolean(d, inner))
            }
            11 if s.transfer => format!(
                "(context has extra && {})",
                self.boolean(d, Scope { extra: true, ..s })
            ),
            12 if s.transfer => self
                .0
                .pick(&[
                    "context has meta.level",
                    "context has meta.nope",
                    "context has extra",
                    "context has meta",
                    r#"{"a": {"b": 1}} has a.b"#,
                    r#"{"a": 1} has a.b"#,
                ])
                .to_string(),
            13 => format!(
                "({} in {})",
                self.0.pick(&["principal", "resource", "action"]),
                self.0.pick(&[
                    r#"[Caller::"local#alice", Tool::"read", Action::"transfer"]"#,
                    r#"Note::"n1""#,
                    r#"[]"#
                ])
            ),
            14 => format!("({} == {})", self.record(d, s), self.record(d, s)),
            _ => format!("{} == {}", self.text(d, s), self.text(d, s)),
        }
    }

    fn long(&mut self, depth: usize, s: Scope) -> String {
        let leaf = depth == 0 || self.0.chance(3);
        if leaf {
            return match self.0.below(6) {
                0 if s.transfer => "context.amount".to_owned(),
                1 if s.transfer => "context.meta.level".to_owned(),
                2 if s.limit => "principal.limit".to_owned(),
                3 if s.note => "resource.level".to_owned(),
                3 => r#"(Note::"n2".level * 2)"#.to_owned(),
                4 if s.extra => "context.extra".to_owned(),
                _ => self.0.pick(LONGS).to_string(),
            };
        }
        let d = depth - 1;
        match self.0.below(6) {
            0 => format!("({} + {})", self.long(d, s), self.long(d, s)),
            1 => format!("({} - {})", self.long(d, s), self.long(d, s)),
            2 => format!("({} * {})", self.long(d, s), self.long(d, s)),
            3 => format!("(-{})", self.long(d, s)),
            4 => format!(
                "(if {} then {} else {})",
                self.boolean(d, s),
                self.long(d, s),
                self.long(d, s)
            ),
            _ => format!("{}.n", self.record(d, s)),
        }
    }

    fn text(&mut self, depth: usize, s: Scope) -> String {
        let leaf = depth == 0 || self.0.chance(2);
        if leaf {
            return match self.0.below(9) {
                0 if s.transfer => "context.note".to_owned(),
                1 => "context.path".to_owned(),
                2 => "principal.id".to_owned(),
                3 => self
                    .0
                    .pick(&[
                        "principal.subject",
                        "principal.issuer",
                        "principal.tenant_key",
                    ])
                    .to_string(),
                4 if s.tenant => "principal.tenant".to_owned(),
                5 if s.dept => "principal.dept".to_owned(),
                6 if s.note => "resource.owner".to_owned(),
                // Not in the store unless it is the call's row: reading it fails.
                6 => self
                    .0
                    .pick(&[r#"Note::"n1".owner"#, r#"Note::"local#alice".owner"#])
                    .to_string(),
                7 if s.transfer => "context.meta.label".to_owned(),
                _ => self.0.pick(TEXTS).to_string(),
            };
        }
        let d = depth - 1;
        format!(
            "(if {} then {} else {})",
            self.boolean(d, s),
            self.text(d, s),
            self.text(d, s)
        )
    }

    fn texts(&mut self, depth: usize, s: Scope) -> String {
        match self.0.below(6) {
            0 if s.transfer => "context.tags".to_owned(),
            1 if s.roles => "principal.roles".to_owned(),
            2 => "principal.scopes".to_owned(),
            3 => "context.path_dirs".to_owned(),
            4 if !s.transfer => "context.paths".to_owned(),
            _ => {
                let n = 1 + self.0.below(3);
                let items: Vec<String> = (0..n)
                    .map(|_| self.text(depth.saturating_sub(1), s))
                    .collect();
                format!("[{}]", items.join(", "))
            }
        }
    }

    fn record(&mut self, depth: usize, s: Scope) -> String {
        if s.transfer && self.0.chance(3) {
            return "{\"n\": context.meta.level, \"t\": context.meta.label}".to_owned();
        }
        format!(
            "{{\"n\": {}, \"t\": {}}}",
            self.long(depth.saturating_sub(1), s),
            self.text(depth.saturating_sub(1), s)
        )
    }

    fn policy(&mut self, n: usize) -> String {
        let effect = self.0.pick(&["permit", "permit", "forbid"]);
        let principal = self.0.pick(&[
            "principal",
            r#"principal == Caller::"local#alice""#,
            "principal is Caller",
        ]);
        // Each action's context differs: a condition on `context` needs the action fixed.
        let (action, transfer) = *self.0.pick(&[
            (r#"action == Action::"transfer""#, true),
            (r#"action == Action::"read""#, false),
            (r#"action in [Action::"read"]"#, false),
        ]);
        let (resource, note) = *self.0.pick(&[
            ("resource", false),
            ("resource is Tool", false),
            ("resource is Note", true),
        ]);
        let scope = Scope {
            transfer,
            note,
            ..Scope::default()
        };
        let mut text = format!("@id(\"p{n}\") {effect} ({principal}, {action}, {resource})");
        for _ in 0..self.0.below(3) {
            let kind = self.0.pick(&["when", "unless"]);
            let depth = 1 + self.0.below(4);
            text.push_str(&format!(" {kind} {{ {} }}", self.boolean(depth, scope)));
        }
        text.push(';');
        text
    }
}

fn callers() -> Vec<Principal> {
    let alice = Principal::new("alice", ["notes:read", "a"]);
    vec![
        alice.clone(),
        alice
            .clone()
            .with_attribute("limit", Attribute::Number(5))
            .unwrap()
            .with_attribute(
                "roles",
                Attribute::Texts(vec!["admin".into(), "a".into(), "admin".into()]),
            )
            .unwrap()
            .with_attribute("dept", Attribute::Text("home".into()))
            .unwrap()
            .with_attribute("admin", Attribute::Flag(true))
            .unwrap(),
        Principal::new("bob", Vec::<String>::new())
            .with_attribute("limit", Attribute::Number(i64::MAX))
            .unwrap()
            .with_attribute("admin", Attribute::Flag(false))
            .unwrap(),
        Principal::new("é", ["*"]).with_tenant("acme").unwrap(),
    ]
}

fn transfer_arguments(rng: &mut Rng) -> Value {
    let amount: i64 = *rng.pick(&[0, 1, 5, 6, -1, i64::MAX, i64::MIN, 1000]);
    let text = |rng: &mut Rng| {
        rng.pick(&[
            "",
            "a",
            "alice",
            "home/alice",
            "a*b",
            "*",
            "é",
            "acme",
            "admin",
            "aXb",
        ])
        .to_string()
    };
    let mut arguments = json!({
        "amount": amount,
        "note": text(rng),
        "tags": (0..rng.below(4)).map(|_| text(rng)).collect::<Vec<_>>(),
        "flag": rng.chance(2),
        "path": rng.pick(&["home/alice/x", "./home//alice", "a", "home/bob/../alice", "é/*"]),
        "meta": { "level": amount.wrapping_sub(1), "label": text(rng) },
    });
    match rng.below(3) {
        0 => arguments["extra"] = json!(rng.pick(&[0, 7, i64::MIN])),
        1 => arguments["extra"] = Value::Null,
        _ => {}
    }
    arguments
}

fn read_arguments(rng: &mut Rng) -> Value {
    let path = |rng: &mut Rng| {
        rng.pick(&["home/alice/x", "./home//alice", "a", "home"])
            .to_string()
    };
    json!({ "path": path(rng), "paths": (0..rng.below(3)).map(|_| path(rng)).collect::<Vec<_>>() })
}

fn sorted(mut outcome: Outcome<'_>) -> Outcome<'_> {
    // Cedar does not say whether a permit held when a forbid did.
    outcome.permitted &= outcome.forbids.is_empty();
    outcome.errors.sort_unstable();
    outcome.forbids.sort_unstable();
    outcome
}

/// Both evaluators on one call; `row`: decide on a row, as `authorize` does.
fn both<'p>(
    policies: &'p Policies,
    caller: &Principal,
    tool: &str,
    arguments: &Value,
    row: Option<&Note>,
) -> (Outcome<'p>, Outcome<'p>) {
    let arguments = arguments.as_object().unwrap();
    let context = policies.context(tool, arguments).expect("typed arguments");
    let attributes = row.map(|row| row.attributes());
    let row = row.map(|note| Row {
        ty: &policies.0.resource_types[Note::TYPE],
        id: note.id(),
        attributes: attributes.as_deref().unwrap(),
    });
    let ours = policies
        .outcome(
            caller,
            (tool, context.1),
            &context.0,
            row.as_ref(),
            Engine::Chosen,
        )
        .unwrap();
    let cedar = policies
        .outcome(
            caller,
            (tool, context.1),
            &context.0,
            row.as_ref(),
            Engine::Cedar,
        )
        .unwrap();
    (sorted(ours), sorted(cedar))
}

#[test]
fn the_evaluator_answers_as_cedar_does() {
    // More for a longer search (`MCP_SECURE_POLICY_SETS=100000`, in release).
    let sets: u64 = std::env::var("MCP_SECURE_POLICY_SETS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1500);
    let callers = callers();
    let mut built = 0;
    let mut decided = [0usize; 4];
    for seed in 1..=sets {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let count = 1 + rng.below(3);
        let text: Vec<String> = (0..count).map(|n| Gen(&mut rng).policy(n)).collect();
        let text = text.join("\n");
        let Ok(policies) = builder().build(&text) else {
            continue;
        };
        built += 1;
        assert!(
            policies.0.compiled.is_some(),
            "seed {seed}: not compiled:\n{text}"
        );
        for _ in 0..6 {
            let caller = rng.pick(&callers);
            let (tool, arguments) = match rng.chance(2) {
                true => ("transfer", transfer_arguments(&mut rng)),
                false => ("read", read_arguments(&mut rng)),
            };
            let row = rng.chance(2).then(|| Note {
                id: ["n1", "n2", "local#alice"][rng.below(3)],
                owner: rng.pick(&["alice", "bob"]).to_string(),
                level: *rng.pick(&[0, 5, i64::MAX]),
            });
            let (ours, cedar) = both(&policies, caller, tool, &arguments, row.as_ref());
            assert_eq!(
                ours,
                cedar,
                "seed {seed}: {tool} by {} with {arguments}, row {:?}, policies:\n{text}",
                caller.id(),
                row.as_ref().map(|r| (&r.owner, r.level)),
            );
            let at = match (&ours.errors[..], &ours.forbids[..], ours.permitted) {
                ([_, ..], _, _) => 0,
                (_, [_, ..], _) => 1,
                (_, _, true) => 2,
                _ => 3,
            };
            decided[at] += 1;
        }
    }
    // The generator must keep making policies Cedar validates, and calls of every answer:
    // errors, forbids, permits and no permit.
    assert!(
        built >= sets / 2,
        "only {built} of {sets} generated sets validated"
    );
    assert!(
        decided.iter().all(|n| *n >= 100),
        "answers by kind (errors, forbids, permits, none): {decided:?}, {built} sets"
    );
}

#[test]
fn a_node_the_evaluator_does_not_walk_or_a_deep_condition_leaves_the_set_to_cedar() {
    use cedar_policy_core::ast::Expr;
    // An extension function (Cedar's `decimal`, `ip`, ...: not enabled by this library, but
    // another crate in a build may enable them).
    let call = Expr::call_extension_fn("decimal".parse().unwrap(), vec![Expr::val("1.0")]);
    assert!(!super::evaluate::supported(&Expr::and(
        Expr::val(true),
        call
    )));
    assert!(super::evaluate::supported(&Expr::and(
        Expr::val(true),
        Expr::val(false)
    )));
}
