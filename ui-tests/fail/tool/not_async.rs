use mcp_secure::prelude::*;

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(public, rate = "10/s")]
    fn blocking(&self) -> String {
        String::new()
    }
}

fn main() {}
