use mcp_secure::prelude::*;

mcp_secure::scopes! {
    "notes:read",
    "notes:write" => implies ["notes:read"],
}

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(scope = "notes:raed", rate = "10/s")]
    async fn typo(&self) -> String {
        String::new()
    }
}

fn main() {}
