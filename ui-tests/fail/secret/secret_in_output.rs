use mcp_secure::secret::SecretString;

#[derive(serde::Serialize)]
pub struct Created {
    pub id: i64,
    pub secret: SecretString,
}

fn main() {}
