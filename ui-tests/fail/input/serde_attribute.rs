use mcp_secure::SecureInput;

#[derive(SecureInput)]
pub struct Input {
    #[serde(rename = "n")]
    #[mcp(length(max = 10))]
    pub name: String,
}

fn main() {}
