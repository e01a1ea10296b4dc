use mcp_secure::prelude::*;

mcp_secure::scopes! {
    "notes:read",
    "notes:write" => implies ["note:read"],
}

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(scope = "notes:read", rate = "10/s")]
    async fn read(&self) -> String {
        String::new()
    }

    #[mcp_tool(scope = "notes:write", rate = "10/s")]
    async fn write(&self) -> String {
        String::new()
    }
}

fn main() {}
