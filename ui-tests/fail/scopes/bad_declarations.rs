mcp_secure::scopes! {
    "notes:read",
    "Notes:Write" => implies ["notes:read"],
    "files:read" => implies ["files:list"],
    "a:b" => implies ["c:d"],
    "c:d" => implies ["a:b"],
    "notes:read",
}

fn main() {}
