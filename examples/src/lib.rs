//! The servers behind the example binaries, as a library so that tests can reach them.

pub mod cli;
pub mod confine;
pub mod conformance;
pub mod notes;

mcp_secure::scopes! {
    /// Read the caller's own notes.
    "notes:read",
    /// Create and delete the caller's own notes.
    "notes:write" => implies ["notes:read"],
    /// Read files under the server's files directory.
    "files:read",
    /// Register webhooks.
    "webhooks:write",
}
