//! Tools: the [`ToolPolicy`] each `#[mcp_tool]` declares, the [`ToolError`] they return, the
//! guard that enforces the policy on every call, and the [`CallHook`]s it runs last.

pub mod digest;
mod error;
pub(crate) mod guard;
mod hook;
mod output;
mod policy;
mod round;
pub(crate) mod span;
pub(crate) mod tools;

pub use error::{ERROR_META_KEY, ToolError};
pub use guard::admit;
pub(crate) use hook::Hooks;
pub use hook::{CallHook, HookCall, HookDenial, HookFuture};
pub use policy::{Access, POLICY_META_KEY, ToolPolicy};
pub(crate) use round::random_codec;
pub use round::{InputRound, STATE_TTL};
pub use tools::Tools;
