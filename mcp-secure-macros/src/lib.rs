//! Procedural macros of [mcp-secure](https://docs.rs/mcp-secure). Depend on `mcp-secure`, which
//! re-exports them and everything the generated code needs; this crate is an implementation
//! detail.
//!
//! Each macro is a pipeline you can read in its folder: `syntax` (parse the tokens), `check`
//! (validate and build the model, collecting every error), `emit` (generate code).

#![forbid(unsafe_code)]

mod ctxt;
mod grammar;
mod handler;
mod html;
mod input;
mod lexical;
mod row;
pub(crate) mod scopes;
mod sql;
mod symbol;
mod template;
mod tool;

use proc_macro::TokenStream;

/// Declares the server's scopes and what each implies. Invoke it once, at the crate root.
///
/// ```text
/// mcp_secure::scopes! {
///     /// Read the caller's notes.
///     "notes:read",
///     /// Create and delete the caller's notes.
///     "notes:write" => implies ["notes:read"],
/// }
/// ```
///
/// (Runnable examples are in the `mcp-secure` crate docs.) Generates `MCP_SCOPES` (a `mcp_secure::auth::ScopeCatalog`) and a hidden macro through
/// which `#[mcp_tool(scope = "...")]` checks, at compile time, that its scope is declared.
#[proc_macro]
pub fn scopes(input: TokenStream) -> TokenStream {
    scopes::expand(input.into()).into()
}

/// Turns the `#[mcp_tool]` methods of an `impl` block into the server's tools.
///
/// Generates, on the impl's type:
///
/// | function | what |
/// |---|---|
/// | `tools()` | a `mcp_secure::tool::Tools<Self>`: the router and every policy, for `#[tool_handler(router = self.tools)]`, `http::Endpoint` and the manifest |
/// | `tool_router()` | the rmcp `ToolRouter<Self>`, each route guarded |
/// | `tool_policies()` | the `ToolPolicy` of each tool, in declaration order |
///
/// Options: `router = name` (the functions become `name()`, `name_policies()` and
/// `name_tools()`, for several impls combined with `+`), and `default_rate = "N/unit"` (the
/// rate of the impl's tools that state none). A tool's input is one `SecureInput` parameter
/// or its parameters declared inline (each with `#[mcp(...)]` rules); a parameter of type
/// `Principal` is the caller, one of type `RequestContext<RoleServer>` rmcp's context. See the
/// `mcp-secure` crate docs.
#[proc_macro_attribute]
pub fn mcp_tools(args: TokenStream, input: TokenStream) -> TokenStream {
    tool::expand(args.into(), input.into()).into()
}

/// rmcp's `#[tool_handler]` (the same arguments: `router = self.tools`, `meta`, `name`, ...),
/// with a `tools/list` that sees the request: for a router that is an `mcp_secure::tool::Tools`
/// listed by authorization, each caller sees the tools its scopes allow. Exported by
/// `mcp_secure::prelude` in place of rmcp's. A `list_tools` written in the impl is kept.
#[proc_macro_attribute]
pub fn tool_handler(args: TokenStream, input: TokenStream) -> TokenStream {
    handler::expand(args.into(), input.into()).into()
}

/// Declares one tool's policy. Only valid on a method inside an `#[mcp_tools]` impl block.
///
/// | option | value | default |
/// |---|---|---|
/// | `scope` | `"resource:action"`, declared in `scopes!`; the caller must hold it or a scope that implies it | required, unless `public` |
/// | `public` | no scope: anyone, anonymous callers included | |
/// | `rate` | `"N/s"`, `"N/min"`, `"N/h"`, `"N/d"`, optionally `", burst = B"` (1 ≤ B ≤ N); or `"unlimited"` | the impl's `default_rate`; one of the two is required |
/// | `rate_key` | `"caller"` (each caller), `"client"` (each OAuth client, shared by its users), `"ip"` (each client address, IPv6 per /64, as a trusted proxy forwarded it) or `"global"` (everyone) | `"caller"` |
/// | `name` | the tool's name | the method's name |
/// | `title` | a human-readable title (listing and annotations) | none |
/// | `description` | the listing's description | the method's doc comment |
/// | `destructive`, `idempotent` | `true` or `false`: the annotation hints | unset (a `…:read` scope is read-only) |
/// | `max_output` | the largest result, in bytes of JSON: `"64KiB"`, `"1MiB"`, `"4096"` | `Security`'s default, 1 MiB |
/// | `raw_output` | the result's text is not cleaned of escapes and invisible characters (errors still are) | off |
///
/// A tool's checks run in this order, and a denial never runs it: authenticate, authorize,
/// rate limit, parse and validate; its result is then cleaned, capped and audited.
#[proc_macro_attribute]
pub fn mcp_tool(args: TokenStream, input: TokenStream) -> TokenStream {
    tool::outside_impl(args.into(), input.into()).into()
}

/// Derives a validated input: `Deserialize` (unknown and duplicate fields refused),
/// `JsonSchema` (stating every rule), and `mcp_secure::SecureInput` (running every rule).
/// On an enum of unit variants, derives an allowlist of `snake_case` strings. (`serde` is
/// declared as a helper only so that a stray `#[serde(...)]` gets one clear error.)
///
/// Rules, in `#[mcp(...)]` on a field (several may be combined):
///
/// | rule | field type | checks | schema |
/// |---|---|---|---|
/// | `length(min = A, max = B)` | `String`, `SecretString` | Unicode scalar values | `minLength`, `maxLength` |
/// | `range(min = A, max = B)` | integers, floats | inclusive; NaN refused | `minimum`, `maximum` |
/// | `regex = "..."` | `String` | must match; checked at compile time to mean the same in Rust and ECMA-262 | `pattern` |
/// | `email` | `String` | ASCII `local@domain.tld`, at most 254 bytes | `format: email`, `maxLength` |
/// | `url(schemes = [..], allow_private, allow_dangerous_schemes)` | `String` | absolute, a listed scheme (default `https`), a host that is not loopback, private, link-local, `localhost`, `*.local`, `*.internal`, `*.home.arpa` or single-label, no credentials; `javascript`, `vbscript`, `data`, `file`, `blob` need `allow_dangerous_schemes` | `format: uri`, `pattern`, `maxLength` |
/// | `no_control` | `String` | no C0/C1 controls, bidi controls or invisible characters | `pattern` |
/// | `one_of = ["a", "b"]` | `String` | exact match | `enum` |
/// | `items(min = A, max = B)` | `Vec` | the list's length | `minItems`, `maxItems` |
/// | `each(...)` | `Vec` | these rules on every element | `items` |
/// | `path(within = "root")` | `SafePath` | relative, no `..`, no NUL or `\`; beneath the root registered under that name, through no link that leads out | `pattern` |
/// | `unbounded` | any | opts out of the bounds every other field must state | |
///
/// Every field must be bounded, or say `unbounded`: a `String` by a `length` with a `max`,
/// `one_of`, `email`, `url` or an anchored `regex` of bounded length; a `Vec` by `items` with a
/// `max`; a `SafePath` by `path`; a `serde_json::Value` cannot be. A field whose type is another `SecureInput` is validated in
/// turn (errors name `addresses[1].city`); `Option<T>` is optional, everything else required.
#[proc_macro_derive(SecureInput, attributes(mcp, serde))]
pub fn derive_secure_input(input: TokenStream) -> TokenStream {
    input::expand(input.into()).into()
}

/// Reports a scope that `scopes!` did not declare, at the span of the scope literal. Called by
/// the macro `scopes!` generates; not public API.
#[doc(hidden)]
#[proc_macro]
pub fn __undeclared_scope(input: TokenStream) -> TokenStream {
    scopes::undeclared(input.into()).into()
}

/// A parameterized SQL query from a template checked at compile time: each `{value}` is bound
/// as a parameter, `{col:ident}` takes an `SqlIdent`, `{ids:list}` a list of values. See
/// `mcp_secure::sql`.
#[proc_macro]
pub fn sql(input: TokenStream) -> TokenStream {
    sql::expand(input.into()).into()
}

/// Implements `mcp_secure::sql::SqlIdent` for an enum whose variants name columns or tables.
#[proc_macro_derive(SqlIdent, attributes(sql))]
pub fn derive_sql_ident(input: TokenStream) -> TokenStream {
    sql::derive_ident(input.into()).into()
}

/// sqlx's `FromRow` for a row struct (one field per column; a tuple struct reads columns by
/// position), generated against the sqlx mcp-secure runs queries with: no direct sqlx
/// dependency is needed. Field attributes: `#[sqlx(rename = "column")]`, `#[sqlx(default)]`
/// (a missing column is `Default`), `#[sqlx(skip)]`, `#[sqlx(flatten)]` (another `FromRow`
/// read from the same row), `#[sqlx(json)]` (decoded from JSON text). Re-exported as
/// `mcp_secure::sql::sqlx::FromRow`.
#[proc_macro_derive(FromRow, attributes(sqlx))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    row::derive(input.into()).into()
}

/// HTML from a template checked at compile time: each `{value}` is escaped for where it lands
/// (text, a quoted attribute, a URL attribute), and interpolation where escaping cannot help
/// (`<script>`, `<style>`, comments, event handlers, unquoted attributes) does not compile.
/// See `mcp_secure::html`.
#[proc_macro]
pub fn html(input: TokenStream) -> TokenStream {
    html::expand(input.into()).into()
}
