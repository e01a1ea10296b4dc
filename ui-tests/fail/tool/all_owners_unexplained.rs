// Every owner's rows are a tool's only with a reason the manifest shows, and the reason grants
// nothing without the parameter that carries it.
use mcp_secure::{prelude::*, sql::AllOwners};

mcp_secure::scopes! {
    "notes:support",
}

#[derive(Clone)]
struct Support;

#[mcp_tools]
impl Support {
    #[mcp_tool(scope = "notes:support", rate = "1/s")]
    async fn no_reason(&self, every: AllOwners) -> String {
        every.why().to_owned()
    }

    #[mcp_tool(scope = "notes:support", rate = "1/s", all_owners = "support")]
    async fn no_parameter(&self) -> String {
        String::new()
    }

    #[mcp_tool(scope = "notes:support", rate = "1/s", all_owners = " ")]
    async fn empty_reason(&self, every: AllOwners) -> String {
        every.why().to_owned()
    }
}

fn main() {}
