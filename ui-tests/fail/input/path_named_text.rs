use std::path::PathBuf;

use mcp_secure::SecureInput;

#[derive(SecureInput)]
pub struct Export {
    #[mcp(length(max = 4096))]
    pub path: String,
    #[mcp(length(max = 4096))]
    pub log_file: Option<String>,
    #[mcp(items(max = 8), each(length(max = 4096)))]
    pub outDir: Vec<String>,
    #[mcp(unbounded)]
    pub src_path: PathBuf,
    /// Fine: named like a path, but a number.
    #[mcp(range(max = 10))]
    pub file_count: u32,
    /// Fine: a path opened beneath its root.
    #[mcp(path(within = "files"))]
    pub directory: mcp_secure::validate::SafePath,
    /// Not named like a path: the opt-out has nothing to opt out of.
    #[mcp(length(max = 10), not_a_path = "a title")]
    pub title: String,
}

fn main() {}
