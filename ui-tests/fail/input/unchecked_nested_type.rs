use mcp_secure::SecureInput;

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct Plain {
    pub anything: String,
}

#[derive(SecureInput)]
pub struct Input {
    pub nested: Plain,
}

fn main() {}
