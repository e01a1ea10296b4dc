//! Procedural macros of [mcp-secure](https://docs.rs/mcp-secure). Depend on `mcp-secure`, which
//! re-exports them and everything the generated code needs; this crate is an implementation
//! detail.
//!
//! Each macro is a pipeline you can read in its folder: `syntax` (parse the tokens), `check`
//! (validate and build the model, collecting every error), `emit` (generate code).

#![forbid(unsafe_code)]

mod ctxt;
mod grammar;
mod html;
mod input;
mod lexical;
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

/// Turns the `#[mcp_tool]` methods of an `impl` block into an rmcp `ToolRouter<Self>`
/// (`fn tool_router()`, or `#[mcp_tools(router = name)]`) and their policies
/// (`fn tool_policies()`, or `name_policies()`). See the `mcp-secure` crate docs.
#[proc_macro_attribute]
pub fn mcp_tools(args: TokenStream, input: TokenStream) -> TokenStream {
    tool::expand(args.into(), input.into()).into()
}

/// Declares one tool's policy: `scope = "resource:action"` or `public`, `rate = "N/s"`, and
/// optionally `name`, `title`, `description`, `destructive`, `idempotent`. Only valid on a
/// method inside an `#[mcp_tools]` impl block.
#[proc_macro_attribute]
pub fn mcp_tool(args: TokenStream, input: TokenStream) -> TokenStream {
    tool::outside_impl(args.into(), input.into()).into()
}

/// Derives a validated input: `Deserialize` (unknown and duplicate fields refused),
/// `JsonSchema` (stating every rule), and `mcp_secure::SecureInput` (running every rule).
/// On an enum of unit variants, derives an allowlist of `snake_case` strings. (`serde` is
/// declared as a helper only so that a stray `#[serde(...)]` gets one clear error.)
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

/// HTML from a template checked at compile time: each `{value}` is escaped for where it lands
/// (text, a quoted attribute, a URL attribute), and interpolation where escaping cannot help
/// (`<script>`, `<style>`, comments, event handlers, unquoted attributes) does not compile.
/// See `mcp_secure::html`.
#[proc_macro]
pub fn html(input: TokenStream) -> TokenStream {
    html::expand(input.into()).into()
}
