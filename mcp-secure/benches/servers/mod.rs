//! The servers the whole-call benches compare (`tool_call`, `throughput`): one tool, guarded
//! by mcp-secure (scope, rate, three validated fields) and the same tool with plain rmcp
//! `#[tool]` and no checks. A bench that includes this declares `notes:write` in its
//! `scopes!`.

use mcp_secure::prelude::*;
use rmcp::{
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{CallToolRequestParams, ServerCapabilities, ServerConfig},
    tool, tool_router,
};
use serde::Deserialize;
use serde_json::json;

/// The API key the benches' callers present.
pub const KEY: &str = "bench-key-0123456789abcdef";

/// The guarded tool's input.
#[derive(SecureInput)]
pub struct NewNote {
    /// 1 to 200 characters.
    #[mcp(length(min = 1, max = 200))]
    pub title: String,
    /// An email address.
    #[mcp(email)]
    pub owner: String,
    /// 1 to 5.
    #[mcp(range(min = 1, max = 5))]
    pub priority: u8,
}

/// The plain tool's input: the same fields, no rules.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct PlainNote {
    /// The title.
    pub title: String,
    /// The owner.
    pub owner: String,
    /// The priority.
    pub priority: u8,
}

#[derive(Clone)]
pub struct Guarded {
    pub tools: Tools<Self>,
}

#[mcp_tools]
impl Guarded {
    /// Create a note.
    #[mcp_tool(scope = "notes:write", rate = "4000000000/s")]
    async fn notes_create(&self, input: NewNote) -> String {
        format!("{} ({}, {})", input.title, input.owner, input.priority)
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for Guarded {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

#[derive(Clone)]
pub struct Plain {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Plain {
    /// Create a note.
    #[tool(description = "Create a note.")]
    async fn notes_create(&self, Parameters(input): Parameters<PlainNote>) -> String {
        format!("{} ({}, {})", input.title, input.owner, input.priority)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Plain {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// The guarded server.
pub fn guarded() -> Guarded {
    Guarded {
        tools: Guarded::tools(),
    }
}

/// The plain server.
pub fn plain() -> Plain {
    Plain {
        tool_router: Plain::tool_router(),
    }
}

/// The call every bench makes: three fields that pass validation.
pub fn call() -> CallToolRequestParams {
    CallToolRequestParams::new("notes_create").with_arguments(
        json!({"title": "Groceries for the week", "owner": "alice@example.com", "priority": 3})
            .as_object()
            .unwrap()
            .clone(),
    )
}
