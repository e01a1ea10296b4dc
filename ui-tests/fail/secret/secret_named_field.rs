use mcp_secure::SecureInput;

#[derive(SecureInput)]
pub struct Login {
    #[mcp(length(max = 64))]
    pub user: String,
    #[mcp(length(max = 64))]
    pub password: String,
    #[mcp(length(max = 64))]
    pub apiKey: Option<String>,
    #[mcp(length(max = 64), not_secret)]
    pub token_kind: String,
}

fn main() {}
