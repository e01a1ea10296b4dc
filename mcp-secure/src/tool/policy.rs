use serde_json::{Value, json};

use crate::{
    auth::ScopeCatalog,
    rate::{RateKey, RateLimit},
};

/// Who may call a tool.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    /// Anyone, authenticated or not (`#[mcp_tool(public)]`).
    Public,
    /// Callers granted this scope, directly or through an implying scope of the catalog.
    Scope(&'static str, &'static ScopeCatalog),
}

/// A tool's security policy, as declared in `#[mcp_tool(...)]`: what `tool_policies()` lists
/// and what the guard enforces on every call.
///
/// ```
/// use mcp_secure::{rate::{RateLimit, RateSpec}, tool::{Access, ToolPolicy}};
/// static P: ToolPolicy = ToolPolicy::new("whoami", Access::Public, RateLimit::Limited(RateSpec::per_second(5)))
///     .with_idempotent(true);
/// assert_eq!(P.name(), "whoami");
/// assert_eq!(P.scope(), None);
/// assert_eq!(P.meta()["rate"], "5/s");
/// assert_eq!(P.meta()["rate_key"], "caller");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ToolPolicy {
    name: &'static str,
    access: Access,
    rate: RateLimit,
    rate_key: RateKey,
    read_only: bool,
    destructive: Option<bool>,
    idempotent: Option<bool>,
    max_output: Option<usize>,
    raw_output: bool,
    all_owners: Option<&'static str>,
    output_schema: bool,
    input_rounds: bool,
    path_roots: fn(&mut Vec<&'static str>),
}

/// The path roots of a tool whose input names none.
fn no_roots(_: &mut Vec<&'static str>) {}

impl ToolPolicy {
    /// A policy for tool `name`. A tool whose scope's last segment is `read` is read-only.
    pub const fn new(name: &'static str, access: Access, rate: RateLimit) -> Self {
        let read_only = match access {
            Access::Scope(scope, _) => ends_with_read(scope),
            Access::Public => false,
        };
        Self {
            name,
            access,
            rate,
            rate_key: RateKey::Caller,
            read_only,
            destructive: None,
            idempotent: None,
            max_output: None,
            raw_output: false,
            all_owners: None,
            output_schema: false,
            input_rounds: false,
            path_roots: no_roots,
        }
    }

    /// Caps the size of its results, in bytes of JSON (default: the server's
    /// [`crate::SecurityBuilder::default_max_output`]).
    pub const fn with_max_output(mut self, bytes: usize) -> Self {
        self.max_output = Some(bytes);
        self
    }

    /// Leaves its text as it is: ANSI escapes and bidi overrides are not stripped.
    pub const fn with_raw_output(mut self, raw: bool) -> Self {
        self.raw_output = raw;
        self
    }

    /// Records why it queries every owner's rows of owned tables (set by the macro from
    /// `#[mcp_tool(all_owners = "...")]`, which grants the tool an
    /// [`AllOwners`](crate::sql::AllOwners)); the manifest shows it.
    pub const fn with_all_owners(mut self, why: &'static str) -> Self {
        self.all_owners = Some(why);
        self
    }

    /// Why it queries every owner's rows, if it does.
    pub const fn all_owners(&self) -> Option<&'static str> {
        self.all_owners
    }

    /// Declares an `outputSchema` (a tool returning `Json<T>`): its error results then carry
    /// no `structuredContent`, which would not conform to the schema, only the error in
    /// `_meta` ([`crate::tool::ERROR_META_KEY`]).
    pub const fn with_output_schema(mut self, declared: bool) -> Self {
        self.output_schema = declared;
        self
    }

    /// Whether it declares an `outputSchema`.
    pub const fn has_output_schema(&self) -> bool {
        self.output_schema
    }

    /// Takes an [`InputRound`](crate::tool::InputRound) (set by the macro): the guard then
    /// checks the call's `requestState` and `inputResponses` before the tool runs.
    pub const fn with_input_rounds(mut self, takes: bool) -> Self {
        self.input_rounds = takes;
        self
    }

    /// Whether it takes an [`InputRound`](crate::tool::InputRound).
    pub const fn takes_input_rounds(&self) -> bool {
        self.input_rounds
    }

    /// Names the path roots its input's `SafePath` fields are confined to (set by the macro:
    /// the input's [`SecureInput::path_roots`](crate::validate::SecureInput::path_roots)).
    pub const fn with_path_roots(mut self, roots: fn(&mut Vec<&'static str>)) -> Self {
        self.path_roots = roots;
        self
    }

    /// The path roots its input may name, sorted, each once.
    pub fn path_roots(&self) -> Vec<&'static str> {
        let mut roots = Vec::new();
        (self.path_roots)(&mut roots);
        roots.sort_unstable();
        roots.dedup();
        roots
    }

    /// Whether calling it may change what it reaches: it requires a scope that is not a
    /// `…read` one. A public tool never counts: whatever anyone may call is kept read-only
    /// unless the server says otherwise.
    pub const fn writes(&self) -> bool {
        matches!(self.access, Access::Scope(..)) && !self.read_only
    }

    /// Its own output cap, if it declared one.
    pub const fn max_output(&self) -> Option<usize> {
        self.max_output
    }

    /// Whether its text is passed through unstripped.
    pub const fn raw_output(&self) -> bool {
        self.raw_output
    }

    /// Whose calls share the limit (default: each caller).
    pub const fn with_rate_key(mut self, key: RateKey) -> Self {
        self.rate_key = key;
        self
    }

    /// Marked destructive (or explicitly not).
    pub const fn with_destructive(mut self, destructive: bool) -> Self {
        self.destructive = Some(destructive);
        self
    }

    /// Marked idempotent (or explicitly not).
    pub const fn with_idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = Some(idempotent);
        self
    }

    /// The tool's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Who may call it.
    pub const fn access(&self) -> Access {
        self.access
    }

    /// The scope it requires, `None` for a public tool.
    pub const fn scope(&self) -> Option<&'static str> {
        match self.access {
            Access::Scope(scope, _) => Some(scope),
            Access::Public => None,
        }
    }

    /// Its rate.
    pub const fn rate(&self) -> RateLimit {
        self.rate
    }

    /// Whose calls share its limit.
    pub const fn rate_key(&self) -> RateKey {
        self.rate_key
    }

    /// Whether it only reads (its scope's action is `read`).
    pub const fn read_only(&self) -> bool {
        self.read_only
    }

    /// Whether it was declared destructive, if it said.
    pub const fn destructive(&self) -> Option<bool> {
        self.destructive
    }

    /// Whether it was declared idempotent, if it said.
    pub const fn idempotent(&self) -> Option<bool> {
        self.idempotent
    }

    /// The policy as JSON, as published in the tool's `_meta` under [`POLICY_META_KEY`].
    pub fn meta(&self) -> Value {
        let mut meta = json!({ "rate": self.rate.to_string(), "rate_key": self.rate_key.as_str() });
        match self.access {
            Access::Public => meta["public"] = json!(true),
            Access::Scope(scope, _) => meta["scope"] = json!(scope),
        }
        meta
    }
}

/// The `_meta` key under which a tool's listing carries its policy.
pub const POLICY_META_KEY: &str = "io.github.mcp-secure/policy";

const fn ends_with_read(scope: &str) -> bool {
    let b = scope.as_bytes();
    let n = b.len();
    n >= 5
        && b[n - 5] == b':'
        && b[n - 4] == b'r'
        && b[n - 3] == b'e'
        && b[n - 2] == b'a'
        && b[n - 1] == b'd'
}
