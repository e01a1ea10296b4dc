use mcp_secure::SecureInput;

#[derive(SecureInput)]
pub struct Input {
    #[mcp(length(max = 10))]
    pub count: u32,
    #[mcp(length(max = 10), range(min = 1, max = 5))]
    pub name: String,
    #[mcp(items(max = 3), length(max = 5))]
    pub tags: Vec<String>,
    #[mcp(range(min = 1, max = 300))]
    pub small: u8,
}

fn main() {}
