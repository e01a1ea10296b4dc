//! Scopes: the grammar, and the catalog that `scopes!` declares.

use std::fmt;

/// Why a scope string was refused by [`check_scope`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSyntaxError {
    message: &'static str,
}

impl fmt::Display for ScopeSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for ScopeSyntaxError {}

/// Checks a scope against the grammar `segment(:segment)+`, where a segment is one or more
/// lowercase ASCII letters, digits, `-`, `_` or `.`.
///
/// The same grammar is enforced at compile time by `scopes!` and `#[mcp_tool(scope = ...)]`.
///
/// ```
/// use mcp_secure::auth::check_scope;
/// assert!(check_scope("notes:read").is_ok());
/// assert!(check_scope("api.v2:notes:read").is_ok());
/// assert!(check_scope("Notes:Read").is_err());
/// assert!(check_scope("notes").is_err());
/// ```
pub fn check_scope(scope: &str) -> Result<(), ScopeSyntaxError> {
    let err = |message| Err(ScopeSyntaxError { message });
    if scope.is_empty() {
        return err("a scope cannot be empty; write it as `resource:action`, e.g. `notes:read`");
    }
    let mut segments = 0;
    for segment in scope.split(':') {
        segments += 1;
        if segment.is_empty() {
            return err(
                "a scope segment cannot be empty; write `resource:action`, e.g. `notes:read`",
            );
        }
        if !segment.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        }) {
            return err(
                "a scope uses only lowercase ASCII letters, digits, `-`, `_`, `.` and `:` between segments, e.g. `notes:read`",
            );
        }
    }
    if segments < 2 {
        return err(
            "a scope has at least two `:`-separated segments, `resource:action`, e.g. `notes:read`",
        );
    }
    Ok(())
}

/// One scope declared with `scopes!`.
#[derive(Debug)]
pub struct ScopeDecl {
    /// The scope, e.g. `notes:write`.
    pub name: &'static str,
    /// Its description, from the doc comment in `scopes!`.
    pub description: &'static str,
    /// Every scope this one grants, transitively (computed at compile time), not including itself.
    pub implies: &'static [&'static str],
}

/// The scopes a server declares, with their implications: what `scopes!` generates as
/// `MCP_SCOPES` at the crate root.
///
/// ```
/// mcp_secure::scopes! {
///     /// Read notes.
///     "notes:read",
///     /// Write notes.
///     "notes:write" => implies ["notes:read"],
/// }
/// fn main() {
///     assert!(MCP_SCOPES.grants("notes:write", "notes:read"));
///     assert!(!MCP_SCOPES.grants("notes:read", "notes:write"));
///     assert_eq!(MCP_SCOPES.get("notes:read").unwrap().description, "Read notes.");
/// }
/// ```
#[derive(Debug)]
pub struct ScopeCatalog {
    scopes: &'static [ScopeDecl],
}

impl ScopeCatalog {
    /// A catalog of the given declarations. `scopes!` calls this; the implication lists must
    /// already be transitively closed.
    pub const fn new(scopes: &'static [ScopeDecl]) -> Self {
        Self { scopes }
    }

    /// Every declared scope.
    pub fn scopes(&self) -> &'static [ScopeDecl] {
        self.scopes
    }

    /// The name of every declared scope, in declaration order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + Clone + use<> {
        self.scopes.iter().map(|d| d.name)
    }

    /// The declaration of `name`, if it was declared.
    pub fn get(&self, name: &str) -> Option<&'static ScopeDecl> {
        self.scopes.iter().find(|s| s.name == name)
    }

    /// Whether holding `held` grants `required`: the same scope, or one that implies it.
    pub fn grants(&self, held: &str, required: &str) -> bool {
        held == required
            || self
                .get(held)
                .is_some_and(|d| d.implies.contains(&required))
    }
}

/// RFC 6749 §3.3: `scope-token *( SP scope-token )`, a scope-token being printable ASCII but
/// `"` and `\\`. A claim with any other separator (a tab, U+00A0) or character is refused
/// whole, so that no spelling of a space can join or split scopes.
#[cfg(any(feature = "jwt", feature = "introspection"))]
pub(crate) fn split_scope(scope: &str) -> Result<Vec<String>, super::VerifyError> {
    if !scope.bytes().all(|b| b == b' ' || is_scope_char(b)) {
        return Err(super::VerifyError::new(
            "`scope` holds a character outside RFC 6749's scope-token and space",
        ));
    }
    Ok(scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

/// RFC 6749's NQCHAR: %x21 / %x23-5B / %x5D-7E.
#[cfg(any(feature = "jwt", feature = "introspection"))]
pub(crate) fn is_scope_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e)
}
