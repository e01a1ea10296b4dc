use mcp_secure::prelude::*;

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(rate = "10/s")]
    async fn forgot_policy(&self) -> String {
        String::new()
    }
}

fn main() {}
