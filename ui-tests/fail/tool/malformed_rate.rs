use mcp_secure::prelude::*;

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(public, rate = "10/sec")]
    async fn unknown_unit(&self) -> String {
        String::new()
    }

    #[mcp_tool(public, rate = "0/s")]
    async fn zero(&self) -> String {
        String::new()
    }

    #[mcp_tool(public, rate = "ten/s")]
    async fn words(&self) -> String {
        String::new()
    }
}

fn main() {}
