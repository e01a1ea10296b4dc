use mcp_secure::SecureInput;

#[derive(SecureInput)]
pub struct Input {
    #[mcp(length(max = 10), regex = r"^\d+$")]
    pub digits: String,
    #[mcp(length(max = 10), regex = "^.{1,5}$")]
    pub dot: String,
    #[mcp(length(max = 10), regex = "(?i)^abc$")]
    pub flags: String,
    #[mcp(length(max = 10), regex = r"^\p{L}+$")]
    pub unicode: String,
}

fn main() {}
