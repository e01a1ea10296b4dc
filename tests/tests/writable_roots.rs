//! Which path roots a server's tools may write, as the sandbox derives it from their policies
//! (`sandbox::writable_roots`): a root named by a tool whose scope is not a `…read` one,
//! through a `SafePath` field, a list of them, or a nested input; never one named only by read
//! or public tools. The kernel's side is `tests/tests/sandbox.rs`.

use mcp_secure::{prelude::*, sandbox::writable_roots};

mcp_secure::scopes! {
    /// Read.
    "docs:read",
    /// Write.
    "docs:write",
}

/// Where a copy goes.
#[derive(SecureInput)]
pub struct Target {
    /// Where.
    #[mcp(items(max = 4), each(path(within = "nested")))]
    pub paths: Option<Vec<SafePath>>,
}

/// A copy.
#[derive(SecureInput)]
pub struct Copy {
    /// From.
    #[mcp(path(within = "docs"))]
    pub from: SafePath,
    /// To.
    pub to: Option<Target>,
}

#[derive(Clone)]
struct Server;

#[mcp_tools(default_rate = "unlimited")]
impl Server {
    /// Reads.
    #[mcp_tool(scope = "docs:read")]
    async fn read(
        &self,
        /// The file.
        #[mcp(path(within = "read-only"))]
        path: SafePath,
    ) -> String {
        path.as_str().to_owned()
    }

    /// Copies.
    #[mcp_tool(scope = "docs:write")]
    async fn copy(&self, input: Copy) -> String {
        input.from.as_str().to_owned()
    }

    /// Anyone.
    #[mcp_tool(public)]
    async fn public(
        &self,
        /// The file.
        #[mcp(path(within = "public"))]
        path: SafePath,
    ) -> String {
        path.as_str().to_owned()
    }

    /// Writes without a path.
    #[mcp_tool(scope = "docs:write")]
    async fn note(&self) -> String {
        String::new()
    }
}

#[test]
fn a_root_is_writable_only_where_a_write_tool_names_it() {
    assert_eq!(Server::tools().policies().len(), 4);
    let policies = Server::tool_policies();
    let roots: Vec<_> = policies.iter().map(|p| p.path_roots()).collect();
    assert_eq!(
        roots,
        [
            vec!["read-only"],
            vec!["docs", "nested"],
            vec!["public"],
            vec![]
        ]
    );
    assert_eq!(writable_roots(policies), ["docs", "nested"]);
    assert!(
        !policies[2].writes(),
        "a public tool never makes a root writable"
    );
}
