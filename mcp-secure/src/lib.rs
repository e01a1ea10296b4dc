//! # mcp-secure
//!
//! Security policy for [rmcp](https://docs.rs/rmcp) MCP servers, stated next to each tool and
//! enforced on every call: who may call it (scope), how often (rate), and what input it takes
//! (validated, with a JSON Schema that states exactly the checks that run).
//!
//! ```
//! use mcp_secure::prelude::*;
//!
//! mcp_secure::scopes! {
//!     /// Read the caller's notes.
//!     "notes:read",
//!     /// Create and delete the caller's notes.
//!     "notes:write" => implies ["notes:read"],
//! }
//!
//! #[derive(SecureInput)]
//! pub struct CreateNote {
//!     #[mcp(length(min = 1, max = 200), no_control)]
//!     pub title: String,
//! }
//!
//! #[derive(Clone)]
//! pub struct Notes {
//!     tools: Tools<Self>,
//! }
//!
//! #[mcp_tools]
//! impl Notes {
//!     /// Create a note owned by the caller.
//!     #[mcp_tool(scope = "notes:write", rate = "30/min")]
//!     async fn notes_create(&self, input: CreateNote, caller: Principal) -> Result<String, ToolError> {
//!         Ok(format!("{} created {}", caller.subject(), input.title))
//!     }
//!
//!     /// Fetch a note by id; parameters can be declared inline.
//!     #[mcp_tool(scope = "notes:read", rate = "10/s")]
//!     async fn notes_get(&self, #[mcp(range(min = 1))] id: i64) -> String {
//!         format!("note {id}")
//!     }
//! }
//!
//! #[tool_handler(router = self.tools)]
//! impl ServerHandler for Notes {}
//!
//! fn main() {
//!     let server = Notes { tools: Notes::tools() };
//!     let names: Vec<_> = server.tools.policies().iter().map(|p| p.name()).collect();
//!     assert_eq!(names, ["notes_create", "notes_get"]);
//!     assert!(server.tools.policy("notes_get").unwrap().read_only());
//!     assert_eq!(server.tools.list_all().len(), 2);
//! }
//! ```
//!
//! `scopes!` must be invoked at the crate root: the tool macros find the declared scopes
//! there (`crate::MCP_SCOPES`), and a scope that is not declared is a compile error.
//!
//! Every call runs, in order: authenticate ([`Principal`](auth::Principal) from the HTTP
//! request or the stdio start-up credentials), authorize (the tool's scope, with implication),
//! rate limit (per caller per tool, see [`rate`]), parse and validate the input, run the tool, record an
//! [audit] event. Denials come back as tool results with `isError: true` and a stable
//! code ([`ToolError`]); the tool does not run.
//!
//! | part | what it gives |
//! |---|---|
//! | [`validate`] | `#[derive(SecureInput)]` rules, [`SafePath`](validate::SafePath), violations with field paths |
//! | [`auth`] | [`Principal`](auth::Principal), scopes, API keys, [`JwtVerifier`](auth::JwtVerifier), [`Owned`](auth::Owned) |
//! | [`http`] | [`AuthLayer`](http::AuthLayer) (401/403 challenges, resource metadata, Origin, body limit), TLS |
//! | [`rate`] | GCRA limits in memory or Redis |
//! | [`sql`] | `sql!` queries bound by construction, run on SQLite or PostgreSQL |
//! | [`html`] | `html!` markup escaped by context |
//! | [`secret`] | [`SecretString`](secret::SecretString): redacted, zeroed, never serialized |
//! | [`sanitize`] | the one cleaner of every outgoing string: escapes, controls, bidi, invisible and tag characters |
//! | [`audit`], [`manifest`] | security events as JSON lines; the policy manifest |
//!
//! Features, each named for what a server does with it (defaults: `http`, `tls`, `jwt`, `jwks`,
//! `introspection`, `sqlite`): `http` (serving over streamable HTTP), `tls` (HTTPS without a
//! proxy), `jwt` (verifying JWTs with configured keys), `jwks` (fetching an issuer's keys),
//! `introspection` (asking an issuer about opaque tokens), `sqlite` and
//! `postgres` (running `sql!` queries), `redis` (one rate limit across replicas), `dev-auth` (a
//! development authorization server), `aws-secrets` and `vault-secrets` (secrets from AWS
//! Secrets Manager, and from Vault or OpenBao). With `default-features = false` a stdio server
//! pulls no HTTP, TLS, JWT or SQL crate.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// docs.rs (nightly, `--cfg docsrs`) marks each item with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Generated code names `::mcp_secure`; this makes that path work inside this crate too.
extern crate self as mcp_secure;

pub mod audit;
pub mod auth;
#[cfg(feature = "dev-auth")]
pub mod dev_auth;
#[cfg(any(
    feature = "jwks",
    feature = "introspection",
    feature = "dev-auth",
    feature = "aws-secrets",
    feature = "vault-secrets"
))]
pub mod fetch;
pub mod html;
#[cfg(feature = "http")]
pub mod http;
pub mod manifest;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "otel")]
pub mod otel;
#[cfg(feature = "policy")]
pub mod policy;
pub mod rate;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod sanitize;
pub mod secret;
mod security;
pub mod serve;
pub mod sql;
#[cfg(feature = "jwt")]
pub mod testing;
pub mod tool;
pub mod validate;

#[doc(hidden)]
#[path = "__private.rs"]
pub mod __private;

pub use mcp_secure_macros::{SecureInput, mcp_tool, mcp_tools, scopes, tool_handler};
pub use security::{
    DEFAULT_MAX_OUTPUT, MIN_REQUEST_STATE_KEY, Security, SecurityBuilder, SecurityError,
};
pub use tool::ToolError;
pub use validate::SecureInput;

/// What every server file needs: the macros, the types tools take and return, the server's
/// [`Tools`](tool::Tools) and [`Security`], and rmcp's `ServerHandler` and `#[tool_handler]`
/// to finish the server with.
pub mod prelude {
    pub use crate::{
        SecureInput, Security, ToolError,
        auth::{Owned, Principal},
        html::html,
        mcp_tool, mcp_tools, scopes,
        secret::SecretString,
        sql::{SqlIdent, sql},
        tool::Tools,
        tool_handler,
        validate::SafePath,
    };
    pub use rmcp::{ServerHandler, handler::server::wrapper::Json};
}
