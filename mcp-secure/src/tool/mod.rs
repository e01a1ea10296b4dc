//! Tools: the [`ToolPolicy`] each `#[mcp_tool]` declares, the [`ToolError`] they return, and
//! the guard that enforces the policy on every call.

mod error;
pub(crate) mod guard;
mod policy;

pub use error::ToolError;
pub use policy::{Access, POLICY_META_KEY, ToolPolicy};
