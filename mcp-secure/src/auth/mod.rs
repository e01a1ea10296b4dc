//! Who is calling and what they may do: [`Principal`], scopes and their implication, and the
//! API-key verifier.

mod api_key;
mod principal;
mod scope;

pub use api_key::{ApiKeyConfigError, ApiKeys};
pub use principal::Principal;
pub use scope::{ScopeCatalog, ScopeDecl, ScopeSyntaxError, check_scope};
