use mcp_secure::SecureInput;

#[derive(SecureInput)]
pub struct Input {
    #[mcp(regex = "^[a-z+$")]
    pub name: String,
}

fn main() {}
