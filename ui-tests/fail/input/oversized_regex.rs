use mcp_secure::SecureInput;

#[derive(SecureInput)]
pub struct Input {
    // Portable syntax, but a program over the regex crate's size limit: it could never run.
    #[mcp(regex = "^(?:[a-z]{1000}){1000}$")]
    pub name: String,
}

fn main() {}
