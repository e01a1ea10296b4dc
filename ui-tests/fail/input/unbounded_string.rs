use mcp_secure::SecureInput;

#[derive(SecureInput)]
pub struct Input {
    #[mcp(no_control)]
    pub title: String,
    #[mcp(items(max = 5))]
    pub tags: Vec<String>,
    pub list: Vec<u32>,
    #[mcp(regex = "^[a-z]+$")]
    pub open_ended: Option<String>,
}

fn main() {}
