use mcp_secure::prelude::*;

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(public, rate = "1/s")]
    async fn login(&self, #[mcp(length(max = 64))] password: String) -> String {
        password.len().to_string()
    }
}

fn main() {}
