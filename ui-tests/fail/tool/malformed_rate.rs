use mcp_secure::prelude::*;

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(public, rate = "10/secs")]
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

    #[mcp_tool(public, rate = "99999999999/s")]
    async fn overflow(&self) -> String {
        String::new()
    }

    #[mcp_tool(public, rate = "10/min, burst = 50")]
    async fn burst_too_large(&self) -> String {
        String::new()
    }

    #[mcp_tool(public, rate = "10/min, brust = 5")]
    async fn unknown_option(&self) -> String {
        String::new()
    }

    #[mcp_tool(public, rate = "10/s", rate_key = "tenant")]
    async fn unknown_key(&self) -> String {
        String::new()
    }
}

fn main() {}
