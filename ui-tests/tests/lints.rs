//! Generated code compiles without warnings under strict lints (checked by `cargo clippy
//! --all-targets -- -D warnings` in CI, and by rustc here).

#![deny(warnings, clippy::all, unused_qualifications, missing_docs)]

use mcp_secure::prelude::*;

mcp_secure::scopes! {
    /// Read things.
    "things:read",
    /// Write things.
    "things:write" => implies ["things:read"],
}

/// An input using most rules.
#[derive(SecureInput)]
pub struct Thing {
    /// A name.
    #[mcp(length(min = 1, max = 20), no_control, regex = "^[a-z]{1,20}$")]
    pub name: String,
    /// Tags.
    #[mcp(items(max = 3), each(one_of = ["a", "b"]))]
    pub tags: Option<Vec<String>>,
    /// A weight.
    #[mcp(range(min = 0.5, max = 2))]
    pub weight: f32,
    /// Contact.
    #[mcp(email)]
    pub contact: Option<String>,
    /// Any JSON, on purpose.
    #[mcp(unbounded)]
    pub extra: Option<serde_json::Value>,
}

/// Kinds.
#[derive(SecureInput)]
pub enum Kind {
    /// Big.
    Big,
    /// Small.
    Small,
}

/// A server.
#[derive(Clone)]
pub struct Server;

#[mcp_tools]
impl Server {
    /// Make a thing.
    #[mcp_tool(scope = "things:write", rate = "5/s")]
    async fn make(&self, input: Thing, caller: Principal) -> Result<String, ToolError> {
        Ok(format!("{} {}", input.name, caller.subject()))
    }

    /// Find things.
    #[mcp_tool(scope = "things:read", rate = "10/min, burst = 2", rate_key = "client")]
    async fn find(&self, kind: Kind, #[mcp(range(min = -3, max = 3))] offset: i8) -> String {
        format!("{} {offset}", kind.as_str())
    }

    /// Anyone.
    #[mcp_tool(public, rate = "unlimited")]
    async fn hello() -> String {
        "hi".to_owned()
    }
}

#[test]
fn generated_code_is_lint_clean() {
    assert_eq!(Server::tool_router().list_all().len(), 3);
    assert_eq!(Server::tool_policies()[0].scope(), Some("things:write"));
}
