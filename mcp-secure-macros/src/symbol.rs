//! Every keyword the macros accept, in one place.

pub const MCP: &str = "mcp";
pub const MCP_TOOL: &str = "mcp_tool";
/// The last path segment of rmcp's tool attribute, refused inside `#[mcp_tools]`.
pub const TOOL: &str = "tool";

pub const ROUTER: &str = "router";
pub const DEFAULT_RATE: &str = "default_rate";

pub const SCOPE: &str = "scope";
pub const PUBLIC: &str = "public";
pub const RATE: &str = "rate";
pub const RATE_KEY: &str = "rate_key";
pub const NAME: &str = "name";
pub const TITLE: &str = "title";
pub const DESCRIPTION: &str = "description";
pub const DESTRUCTIVE: &str = "destructive";
pub const IDEMPOTENT: &str = "idempotent";
pub const MAX_OUTPUT: &str = "max_output";
pub const RAW_OUTPUT: &str = "raw_output";
pub const ALL_OWNERS: &str = "all_owners";
/// Every `#[mcp_tool]` option, in the order the unknown-option error lists them.
pub const TOOL_OPTIONS: &[&str] = &[
    SCOPE,
    PUBLIC,
    RATE,
    RATE_KEY,
    NAME,
    TITLE,
    DESCRIPTION,
    DESTRUCTIVE,
    IDEMPOTENT,
    MAX_OUTPUT,
    RAW_OUTPUT,
    ALL_OWNERS,
];

pub const IMPLIES: &str = "implies";
/// The module `scopes!` generates at the crate root; its name is the hint rustc shows when it
/// is missing.
pub const SCOPES_MODULE: &str = "__mcp_scopes__invoke_mcp_secure_scopes_at_crate_root";

pub const LENGTH: &str = "length";
pub const RANGE: &str = "range";
pub const REGEX: &str = "regex";
pub const EMAIL: &str = "email";
pub const URL: &str = "url";
pub const NO_CONTROL: &str = "no_control";
pub const ONE_OF: &str = "one_of";
pub const ITEMS: &str = "items";
pub const EACH: &str = "each";
pub const PATH: &str = "path";
pub const UNBOUNDED: &str = "unbounded";
pub const NOT_SECRET: &str = "not_secret";
pub const NOT_A_PATH: &str = "not_a_path";
pub const RULES: &str = "length, range, regex, email, url, no_control, one_of, items, each, path, unbounded, not_secret, not_a_path";

pub const MIN: &str = "min";
pub const MAX: &str = "max";
pub const SCHEMES: &str = "schemes";
pub const ALLOW_PRIVATE: &str = "allow_private";
pub const ALLOW_DANGEROUS_SCHEMES: &str = "allow_dangerous_schemes";
/// URL schemes refused in `url(schemes = [...])` unless `allow_dangerous_schemes` is given,
/// each with what it does to whoever follows or renders the URL.
pub const DANGEROUS_SCHEMES: &[(&str, &str)] = &[
    (
        "javascript",
        "run script in the page or client that opens them",
    ),
    ("vbscript", "run script in the client that opens them"),
    (
        "data",
        "carry their own content inline (HTML, script), which the reader renders as the caller wrote it",
    ),
    ("file", "read local files on the machine that follows them"),
    ("blob", "name in-memory content of the reader's own origin"),
];
pub const WITHIN: &str = "within";

pub const PRINCIPAL: &str = "Principal";
pub const REQUEST_CONTEXT: &str = "RequestContext";
pub const INPUT_ROUND: &str = "InputRound";
/// The last path segment of the capability of queries over every owner's rows.
pub const ALL_OWNERS_TYPE: &str = "AllOwners";
pub const JSON: &str = "Json";
