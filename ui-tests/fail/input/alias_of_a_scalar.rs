use mcp_secure::SecureInput;
use std::string::String as Text;

/// A name, under another name: read as a nested input, not as a string with rules.
type Name = String;

#[derive(SecureInput)]
pub struct Input {
    /// Would otherwise be a string without a length limit.
    pub name: Name,
    /// The same, through a renamed import.
    pub text: Text,
}

fn main() {}
