use std::fmt;

use serde::Serialize;

use crate::Security;

/// Where a value sits in a tool's input: `title`, `tags[3]`, `address.city`.
///
/// Built on the stack while validating, so checking a valid input allocates nothing; it is
/// rendered only when a rule fails.
#[derive(Debug, Clone, Copy)]
pub enum FieldPath<'a> {
    /// The input itself.
    Root,
    /// A named field of the value at the parent path.
    Field(&'a FieldPath<'a>, &'static str),
    /// An element of the list at the parent path.
    Index(&'a FieldPath<'a>, usize),
}

impl<'a> FieldPath<'a> {
    /// The path of field `name` below this one.
    pub fn field(&'a self, name: &'static str) -> FieldPath<'a> {
        FieldPath::Field(self, name)
    }

    /// The path of element `index` below this one.
    pub fn index(&'a self, index: usize) -> FieldPath<'a> {
        FieldPath::Index(self, index)
    }
}

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldPath::Root => Ok(()),
            FieldPath::Field(FieldPath::Root, name) => f.write_str(name),
            FieldPath::Field(parent, name) => write!(f, "{parent}.{name}"),
            FieldPath::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// One failed rule: which field, which rule, and what a valid value looks like.
///
/// The message never repeats the submitted value, so a secret typed into the wrong field does
/// not travel back in an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The field's path, e.g. `tags[3]`; empty for the input as a whole.
    pub field: String,
    /// The rule's stable name: `length`, `range`, `regex`, `email`, `url`, `no_control`,
    /// `one_of`, `items`, `path`, `required`, `unknown_field`, `duplicate_field`, `type`; for a
    /// retried call's `requestState` ([`crate::tool::InputRound`]), `integrity`, `expired` and
    /// `arguments` (presented with other arguments than the call that asked).
    pub rule: &'static str,
    /// What the rule expects, in words a model can act on.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "input ({}): {}", self.rule, self.message)
        } else {
            write!(f, "`{}` ({}): {}", self.field, self.rule, self.message)
        }
    }
}

/// Every rule an input failed, in field order.
///
/// While an input is checked it also carries the server's [`Security`], whose path roots
/// `SafePath` fields are checked against; it is not part of the errors (not compared, not
/// serialized).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors {
    violations: Vec<Violation>,
    #[serde(skip)]
    security: Option<Security>,
}

impl PartialEq for ValidationErrors {
    fn eq(&self, other: &Self) -> bool {
        self.violations == other.violations
    }
}

impl Eq for ValidationErrors {}

impl ValidationErrors {
    /// No violations yet, and no server configuration: a `SafePath` field checked with these
    /// errors is refused (it has no root to be checked against).
    pub fn new() -> Self {
        Self::default()
    }

    /// No violations yet; `SafePath` fields are checked against `security`'s path roots.
    pub fn within(security: &Security) -> Self {
        Self {
            violations: Vec::new(),
            security: Some(security.clone()),
        }
    }

    /// The server configuration the input is checked in, if any.
    pub fn security(&self) -> Option<&Security> {
        self.security.as_ref()
    }

    /// Records that `rule` failed at `path`. Marked cold: a call to it is what a failing check
    /// does, so the compiler lays the failure out of the passing path's way.
    #[cold]
    pub fn push(&mut self, path: &FieldPath<'_>, rule: &'static str, message: impl Into<String>) {
        self.violations.push(Violation {
            field: path.to_string(),
            rule,
            message: message.into(),
        });
    }

    pub(crate) fn push_violation(&mut self, violation: Violation) {
        self.violations.push(violation);
    }

    /// The violations.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Whether nothing failed.
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// `Ok(())` when nothing failed, else these errors.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid input: ")?;
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}
