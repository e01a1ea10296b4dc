use mcp_secure::prelude::*;

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(scope = "Notes:Read", rate = "10/s")]
    async fn upper(&self) -> String {
        String::new()
    }

    #[mcp_tool(scope = "notes", rate = "10/s")]
    async fn one_segment(&self) -> String {
        String::new()
    }
}

fn main() {}
