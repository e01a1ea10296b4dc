//! Object-level authorization: a value that belongs to one principal.

use super::Principal;
use crate::tool::ToolError;

/// A value together with the principal that owns it, by [`Principal::id`] (issuer and
/// subject: the same subject of another issuer is someone else). The only ways to the value check the caller:
/// [`Owned::for_caller`] hands it over to its owner and answers anyone else with the same
/// `not_found` a missing object gets, so a caller never learns that another caller's object
/// exists.
///
/// ```
/// use mcp_secure::auth::{Owned, Principal};
/// let alice = Principal::new("alice", ["notes:read"]);
/// let bob = Principal::new("bob", ["notes:read"]);
/// let note = Owned::new(alice.id(), "groceries");
/// // Another issuer's `alice` is not the owner.
/// let other_alice = alice.clone().with_issuer("https://auth.example.com").unwrap();
/// assert!(note.get_for(&other_alice).is_none());
/// assert_eq!(note.clone().for_caller(&alice, "note 7").unwrap(), "groceries");
/// let refused = note.for_caller(&bob, "note 7").unwrap_err();
/// assert_eq!(refused.to_string(), "not_found: note 7 was not found");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned<T> {
    owner: String,
    value: T,
}

impl<T> Owned<T> {
    /// `value`, owned by the principal whose [`Principal::id`] is `owner`.
    pub fn new(owner: impl Into<String>, value: T) -> Self {
        Self {
            owner: owner.into(),
            value,
        }
    }

    /// The value, created by `caller` and owned by them.
    pub fn created_by(caller: &Principal, value: T) -> Self {
        Self::new(caller.id(), value)
    }

    /// The owner's [`Principal::id`].
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Whether `caller` owns it.
    pub fn is_owned_by(&self, caller: &Principal) -> bool {
        self.owner == caller.id()
    }

    /// The value if `caller` owns it; otherwise `not_found` for `what` (the same answer as for
    /// an object that does not exist).
    pub fn for_caller(
        self,
        caller: &Principal,
        what: impl std::fmt::Display,
    ) -> Result<T, ToolError> {
        if self.is_owned_by(caller) {
            Ok(self.value)
        } else {
            Err(ToolError::not_found(what))
        }
    }

    /// A reference to the value if `caller` owns it.
    pub fn get_for(&self, caller: &Principal) -> Option<&T> {
        self.is_owned_by(caller).then_some(&self.value)
    }
}
