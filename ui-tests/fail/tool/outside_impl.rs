use mcp_secure::prelude::*;

pub struct Server;

impl Server {
    #[mcp_tool(public, rate = "10/s")]
    async fn lonely(&self) -> String {
        String::new()
    }
}

fn main() {}
