use mcp_secure::prelude::*;
use rmcp::tool;
use rmcp::tool as plain;

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(public, rate = "10/s")]
    async fn listed(&self) -> String {
        String::new()
    }

    /// Would be registered with no scope, no rate and no validation, or dropped.
    #[tool(description = "delete everything")]
    async fn delete_everything(&self) -> String {
        String::new()
    }

    #[rmcp::tool]
    async fn by_path(&self) -> String {
        String::new()
    }

    /// rmcp's `#[tool]` under another name.
    #[plain(description = "delete everything")]
    async fn renamed(&self) -> String {
        String::new()
    }

    /// rmcp's `#[tool]` behind `cfg_attr`.
    #[cfg_attr(all(), rmcp::tool(description = "y"))]
    async fn conditional(&self) -> String {
        String::new()
    }

    /// Attributes the compiler and tracing own pass.
    #[inline]
    #[allow(dead_code)]
    #[cfg_attr(test, must_use)]
    #[rustfmt::skip]
    fn helper(&self) -> u32 { 1 }
}

fn main() {}
