// A server using every feature: declared scopes, an input type, inline parameters, special
// parameters, structured output, and a hand-written rmcp router combined with the generated one.
use mcp_secure::prelude::*;
use rmcp::{
    RoleServer, ServerHandler,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    service::RequestContext,
    tool, tool_handler, tool_router,
};

mcp_secure::scopes! {
    /// Read notes.
    "notes:read",
    /// Write notes.
    "notes:write" => implies ["notes:read"],
    "files:read",
}

#[derive(SecureInput)]
pub struct Address {
    #[mcp(length(min = 1, max = 100))]
    pub city: String,
}

/// Every rule at least once.
#[derive(SecureInput)]
pub struct Everything {
    #[mcp(length(min = 1, max = 200), no_control)]
    pub title: String,
    #[mcp(regex = r"^[a-z]{1,8}$")]
    pub code: String,
    #[mcp(email)]
    pub email: Option<String>,
    #[mcp(url(schemes = ["https", "http"], allow_private))]
    pub homepage: String,
    #[mcp(url)]
    pub hook: Option<String>,
    #[mcp(url(schemes = ["https", "data"], allow_dangerous_schemes))]
    pub avatar: Option<String>,
    #[mcp(one_of = ["a", "b"])]
    pub letter: String,
    #[mcp(range(min = -5, max = 5))]
    pub offset: i32,
    #[mcp(range(min = 0.0, max = 1.5))]
    pub ratio: f64,
    #[mcp(items(min = 1, max = 3), each(length(max = 10), no_control))]
    pub tags: Vec<String>,
    #[mcp(items(max = 2))]
    pub addresses: Vec<Address>,
    pub home: Address,
    pub flag: bool,
    #[mcp(unbounded)]
    pub anything: serde_json::Value,
    #[mcp(unbounded)]
    pub essay: String,
}

#[derive(SecureInput, Clone, Copy)]
pub enum Order {
    Newest,
    OldestFirst,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Out {
    pub ok: bool,
}

#[derive(Clone)]
pub struct Server {
    tool_router: ToolRouter<Self>,
}

#[mcp_tools]
impl Server {
    /// Takes an input type and the caller.
    #[mcp_tool(scope = "notes:write", rate = "30/min", title = "Everything", destructive)]
    async fn everything(&self, input: Everything, caller: Principal) -> Result<Json<Out>, ToolError> {
        let _ = (input.title, caller.subject());
        Ok(Json(Out { ok: true }))
    }

    #[mcp_tool(scope = "notes:read", rate = "10/s", name = "notes.find", description = "Find notes.")]
    async fn find(
        &self,
        /// What to look for.
        #[mcp(length(max = 50))]
        query: String,
        order: Order,
        #[mcp(range(min = 1, max = 100))] limit: u8,
        ctx: RequestContext<RoleServer>,
    ) -> String {
        let _ = (ctx.id, order.as_str());
        format!("{query} {limit}")
    }

    #[mcp_tool(scope = "files:read", rate = "5/s")]
    async fn read(&self, #[mcp(path(within = "files"))] path: SafePath) -> Result<String, ToolError> {
        let meta = path.metadata()?;
        Ok(format!("{} bytes", meta.len()))
    }

    #[mcp_tool(public, rate = "3/day, burst = 1", rate_key = "global", idempotent = false)]
    async fn ping() -> String {
        "pong".into()
    }
}

#[tool_router(router = plain_router)]
impl Server {
    #[tool(description = "A plain rmcp tool that takes the caller too.")]
    fn plain(&self, Parameters(_): Parameters<serde_json::Map<String, serde_json::Value>>, caller: Principal) -> String {
        caller.subject().to_owned()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Server {}

fn main() {
    let server = Server { tool_router: Server::tool_router() + Server::plain_router() };
    assert_eq!(server.tool_router.list_all().len(), 5);
    let _: NotesFindInput = serde_json::from_str(r#"{"query": "q", "order": "oldest_first", "limit": 3}"#).unwrap();
    assert_eq!(Server::tool_policies()[1].name(), "notes.find");
}
