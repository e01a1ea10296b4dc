use mcp_secure::prelude::*;

#[derive(SecureInput)]
pub struct First {
    #[mcp(length(max = 10))]
    pub a: String,
}

#[derive(SecureInput)]
pub struct Second {
    #[mcp(length(max = 10))]
    pub b: String,
}

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(public, rate = "10/s")]
    async fn two(&self, first: First, second: Second) -> String {
        format!("{} {}", first.a, second.b)
    }
}

fn main() {}
