//! A field named like a path that names no file says so, and the listing shows why.

use mcp_secure::SecureInput;
use mcp_secure::prelude::*;

#[derive(SecureInput)]
pub struct Route {
    /// The URL path to look up in the routing table; never opened.
    #[mcp(length(max = 200), not_a_path = "a URL path looked up in the routing table, never opened")]
    pub url_path: String,
}

pub struct Server;

#[mcp_tools]
impl Server {
    #[mcp_tool(public, rate = "10/s")]
    async fn route(&self, input: Route) -> String {
        input.url_path
    }

    #[mcp_tool(public, rate = "10/s")]
    async fn lookup(
        &self,
        #[mcp(length(max = 64), not_a_path = "a key in the catalogue, never opened")] file: String,
    ) -> String {
        file
    }
}

fn main() {
    let schema = serde_json::to_value(schemars::schema_for!(Route)).unwrap();
    assert_eq!(
        schema["properties"]["url_path"]["x-mcp-secure-not-a-path"],
        "a URL path looked up in the routing table, never opened"
    );
    let manifest = mcp_secure::manifest::Manifest::new("s", "1").with_tools(&Server::tools());
    let json = manifest.to_json();
    let tool = |name: &str| {
        json["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        tool("lookup")["input_schema"]["properties"]["file"]["x-mcp-secure-not-a-path"],
        "a key in the catalogue, never opened"
    );
    assert_eq!(
        tool("route")["input_schema"]["properties"]["url_path"]["x-mcp-secure-not-a-path"],
        "a URL path looked up in the routing table, never opened"
    );
}
