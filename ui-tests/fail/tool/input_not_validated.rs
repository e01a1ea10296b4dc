use mcp_secure::prelude::*;

#[derive(serde::Deserialize)]
pub struct Raw {
    pub a: String,
}

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(public, rate = "10/s")]
    async fn raw(&self, input: Raw) -> String {
        input.a
    }
}

fn main() {}
