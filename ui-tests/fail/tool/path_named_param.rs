use std::path::PathBuf;

use mcp_secure::prelude::*;

pub struct Server;

#[mcp_tools]
impl Server {
    /// Would open `filename` with `std::fs`, anywhere.
    #[mcp_tool(public, rate = "10/s")]
    async fn read(&self, #[mcp(length(max = 4096))] filename: String) -> String {
        filename
    }

    /// Without rules the parameter is not an inline field; still refused.
    #[mcp_tool(public, rate = "10/s")]
    async fn remove(&self, folder: PathBuf) -> String {
        folder.display().to_string()
    }
}

fn main() {}
