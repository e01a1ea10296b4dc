use mcp_secure::{SecureInput, secret::SecretString};

#[derive(SecureInput)]
pub struct Input {
    #[mcp(regex = "^[a-z]{1,8}$")]
    pub secret: SecretString,
}

fn main() {}
