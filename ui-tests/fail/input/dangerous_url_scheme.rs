use mcp_secure::SecureInput;

#[derive(SecureInput)]
pub struct Input {
    #[mcp(url(schemes = ["https", "javascript"]))]
    pub link: String,
    #[mcp(url(schemes = ["data", "file", "blob", "vbscript"]))]
    pub embed: String,
    #[mcp(url(schemes = ["https"], allow_dangerous_schemes))]
    pub needless: String,
}

fn main() {}
