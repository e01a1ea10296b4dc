use mcp_secure::SecureInput;

#[derive(SecureInput)]
pub struct Input {
    pub payload: serde_json::Value,
}

fn main() {}
