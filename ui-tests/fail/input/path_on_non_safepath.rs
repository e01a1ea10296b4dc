use mcp_secure::SecureInput;
use mcp_secure::validate::SafePath;

#[derive(SecureInput)]
pub struct Input {
    #[mcp(length(max = 100), path(within = "files"))]
    pub file: String,
    pub rootless: SafePath,
}

fn main() {}
