//! Owned tables: what `sql!` binds to an owner column, and the capability of a query over every
//! owner's rows.
//!
//! A crate declares its owned tables in its `Cargo.toml`, each by an owner column (holding the
//! caller's [`Principal::id`]), a tenant column (its [`Principal::tenant_key`]), or both:
//!
//! ```toml
//! [package.metadata.mcp-secure.owned-tables]
//! notes = { owner = "owner", tenant = "tenant" }
//! projects = { tenant = "tenant" }
//! ```
//!
//! and every `sql!` of the crate is then checked at compile time: a statement that reads,
//! updates or deletes rows of `notes` must bind `owner` to the caller among the top-level
//! `AND`s of its `WHERE` (`WHERE id = {id} AND owner = {caller}`), an insert must store the
//! caller in it, and the value bound there must be a [`Principal`] (its [`Principal::id`]: the
//! same subject of another issuer is someone else). Rows read that way are the caller's: no
//! [`Owned`](crate::auth::Owned) check is left to write.

use crate::auth::Principal;

use super::{SqlValue, template::SqlArg};

/// What an owner or tenant column may be compared with or set to: the caller. Sealed: an id
/// written by hand (a `String`, another caller's subject) does not fit.
#[diagnostic::on_unimplemented(
    message = "an owner column is bound to `{Self}`: bind the caller, a `Principal`",
    label = "this placeholder is compared with, or stored in, an owned table's owner column",
    note = "write `owner = {{caller}}` with `caller: Principal` (or `&Principal`)"
)]
pub trait SqlOwner: sealed::Sealed {
    /// The value an owner column holds for it.
    fn owner_value(&self) -> SqlValue;
    /// The value a tenant column holds for it.
    fn tenant_value(&self) -> SqlValue;
    /// Whether it is the caller being served ([`Principal::is_the_caller`]).
    fn is_the_caller(&self) -> bool;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::auth::Principal {}
    impl<T: Sealed + ?Sized> Sealed for &T {}
}

impl SqlOwner for Principal {
    fn owner_value(&self) -> SqlValue {
        SqlValue::Text(self.id().to_owned())
    }

    fn tenant_value(&self) -> SqlValue {
        SqlValue::Text(self.tenant_key())
    }

    fn is_the_caller(&self) -> bool {
        Principal::is_the_caller(self)
    }
}

impl<T: SqlOwner + ?Sized> SqlOwner for &T {
    fn owner_value(&self) -> SqlValue {
        (**self).owner_value()
    }

    fn tenant_value(&self) -> SqlValue {
        (**self).tenant_value()
    }

    fn is_the_caller(&self) -> bool {
        (**self).is_the_caller()
    }
}

/// The value of an owner placeholder, in a template of values only.
#[doc(hidden)]
pub fn owner<T: SqlOwner + ?Sized>(value: &T, callers: &mut bool) -> SqlValue {
    *callers &= value.is_the_caller();
    value.owner_value()
}

/// The value of an owner placeholder, in a template with identifiers or lists.
#[doc(hidden)]
pub fn owner_arg<T: SqlOwner + ?Sized>(value: &T, callers: &mut bool) -> SqlArg {
    *callers &= value.is_the_caller();
    SqlArg::value(value.owner_value())
}

/// The value of a tenant placeholder, in a template of values only.
#[doc(hidden)]
pub fn tenant<T: SqlOwner + ?Sized>(value: &T, callers: &mut bool) -> SqlValue {
    *callers &= value.is_the_caller();
    value.tenant_value()
}

/// The value of a tenant placeholder, in a template with identifiers or lists.
#[doc(hidden)]
pub fn tenant_arg<T: SqlOwner + ?Sized>(value: &T, callers: &mut bool) -> SqlArg {
    *callers &= value.is_the_caller();
    SqlArg::value(value.tenant_value())
}

/// The capability of queries over every owner's rows of owned tables
/// (`sql!("...", all_owners = &every)`, then checked for nothing but being SQL): a tool
/// receives it as a parameter when its `#[mcp_tool(all_owners = "why")]` says why, and the
/// policy manifest shows the reason next to the tool. Nothing else makes one.
#[derive(Debug)]
pub struct AllOwners {
    why: &'static str,
}

impl AllOwners {
    /// Why the tool queries every owner's rows, as its attribute says.
    pub fn why(&self) -> &'static str {
        self.why
    }

    #[doc(hidden)]
    pub fn __granted(why: &'static str) -> Self {
        AllOwners { why }
    }
}

/// The `all_owners = ...` of a `sql!`: a reference to the capability.
#[doc(hidden)]
pub fn all_owners(grant: &AllOwners) -> &AllOwners {
    grant
}
