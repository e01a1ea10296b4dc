use mcp_secure::SecureInput;

#[derive(SecureInput)]
pub struct Input {
    #[mcp(lenght(max = 10))]
    pub name: String,
    #[mcp(length(max = 10), trim)]
    pub other: String,
}

fn main() {}
