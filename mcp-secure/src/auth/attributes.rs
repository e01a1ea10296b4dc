//! Typed attributes of a caller, from its token's claims (roles, groups, a spending limit):
//! what policies ([`crate::policy`]) decide on beyond scopes. Checked as inputs are.

use std::fmt;

/// The most entries of a list attribute.
pub const MAX_ATTRIBUTE_ENTRIES: usize = 64;

/// The longest text of an attribute (or of one entry of a list), in bytes.
pub const MAX_ATTRIBUTE_TEXT: usize = 256;

/// The kind of an attribute: what a claim must hold, and its type in a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeKind {
    /// A string (Cedar `String`).
    Text,
    /// A whole number (Cedar `Long`).
    Number,
    /// `true` or `false` (Cedar `Bool`).
    Flag,
    /// A list of strings, order and repeats ignored (Cedar `Set<String>`): roles, groups.
    Texts,
}

impl fmt::Display for AttributeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AttributeKind::Text => "text",
            AttributeKind::Number => "whole number",
            AttributeKind::Flag => "true or false",
            AttributeKind::Texts => "list of texts",
        })
    }
}

/// A caller's attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// [`AttributeKind::Text`].
    Text(String),
    /// [`AttributeKind::Number`].
    Number(i64),
    /// [`AttributeKind::Flag`].
    Flag(bool),
    /// [`AttributeKind::Texts`].
    Texts(Vec<String>),
}

impl Attribute {
    /// Its kind.
    pub fn kind(&self) -> AttributeKind {
        match self {
            Attribute::Text(_) => AttributeKind::Text,
            Attribute::Number(_) => AttributeKind::Number,
            Attribute::Flag(_) => AttributeKind::Flag,
            Attribute::Texts(_) => AttributeKind::Texts,
        }
    }

    /// The value a JSON claim holds, if it is of `kind` and passes [`check_attribute`]'s
    /// rules for values.
    pub fn from_claim(kind: AttributeKind, claim: &serde_json::Value) -> Option<Self> {
        use serde_json::Value;
        let value = match (kind, claim) {
            (AttributeKind::Text, Value::String(s)) => Attribute::Text(s.clone()),
            (AttributeKind::Number, Value::Number(n)) => Attribute::Number(n.as_i64()?),
            (AttributeKind::Flag, Value::Bool(b)) => Attribute::Flag(*b),
            // A single role is often sent as a string (OIDC allows either).
            (AttributeKind::Texts, Value::String(s)) => Attribute::Texts(vec![s.clone()]),
            (AttributeKind::Texts, Value::Array(items)) => Attribute::Texts(
                items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<_>>()?,
            ),
            _ => return None,
        };
        check_value(&value).ok()?;
        Some(value)
    }
}

/// Why an attribute was refused by [`check_attribute`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeError {
    message: &'static str,
}

impl fmt::Display for AttributeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for AttributeError {}

/// What a principal always has, under these names, in a policy: an attribute cannot take them.
pub const BUILT_IN_ATTRIBUTES: &[&str] = &[
    "id",
    "subject",
    "issuer",
    "tenant",
    "tenant_key",
    "scopes",
    "client_id",
];

/// Checks an attribute's name and value: a name of 1 to 64 ASCII letters, digits and `_`, not
/// starting with a digit, not one of [`BUILT_IN_ATTRIBUTES`] nor a word of Cedar's; a text of
/// 1 to [`MAX_ATTRIBUTE_TEXT`] bytes with no control or invisible characters; at most
/// [`MAX_ATTRIBUTE_ENTRIES`] texts in a list.
///
/// ```
/// use mcp_secure::auth::{Attribute, check_attribute};
/// assert!(check_attribute("roles", &Attribute::Texts(vec!["editor".into()])).is_ok());
/// assert!(check_attribute("limit", &Attribute::Number(500)).is_ok());
/// assert!(check_attribute("tenant", &Attribute::Text("acme".into())).is_err());
/// assert!(check_attribute("team", &Attribute::Text("a\u{202e}b".into())).is_err());
/// ```
pub fn check_attribute(name: &str, value: &Attribute) -> Result<(), AttributeError> {
    check_name(name)?;
    check_value(value)
}

/// The name rules of [`check_attribute`].
pub(crate) fn check_name(name: &str) -> Result<(), AttributeError> {
    let err = |message| Err(AttributeError { message });
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || name.len() > 64 || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return err(
            "an attribute name has 1 to 64 ASCII letters, digits and `_`, and starts with a letter or `_`",
        );
    }
    if BUILT_IN_ATTRIBUTES.contains(&name) {
        return err(
            "an attribute cannot take a built-in name (id, subject, issuer, tenant, tenant_key, scopes, client_id)",
        );
    }
    const CEDAR_WORDS: &[&str] = &[
        "true",
        "false",
        "if",
        "then",
        "else",
        "in",
        "like",
        "has",
        "is",
        "principal",
        "action",
        "resource",
        "context",
        "permit",
        "forbid",
        "when",
        "unless",
    ];
    if CEDAR_WORDS.contains(&name) || name.starts_with("__cedar") {
        return err("an attribute cannot take a word of Cedar's");
    }
    Ok(())
}

fn check_value(value: &Attribute) -> Result<(), AttributeError> {
    let err = |message| Err(AttributeError { message });
    let text_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= MAX_ATTRIBUTE_TEXT
            && !s
                .chars()
                .any(|c| c.is_control() || crate::sanitize::is_invisible(c))
    };
    match value {
        Attribute::Text(s) if !text_ok(s) => {
            err("an attribute's text has 1 to 256 bytes and no control or invisible characters")
        }
        Attribute::Texts(items) if items.len() > MAX_ATTRIBUTE_ENTRIES => {
            err("a list attribute has at most 64 entries")
        }
        Attribute::Texts(items) if !items.iter().all(|s| text_ok(s)) => err(
            "each entry of a list attribute has 1 to 256 bytes and no control or invisible characters",
        ),
        _ => Ok(()),
    }
}

/// The attributes callers may carry, by name and kind: read from the claims of the same name by
/// a verifier ([`JwtVerifier::attributes`](super::JwtVerifier::attributes)), and declared to
/// policies ([`crate::policy::Policies`]) as optional attributes of the principal.
///
/// ```
/// use mcp_secure::auth::{AttributeKind, Attributes};
/// let attributes = Attributes::new()
///     .with("roles", AttributeKind::Texts).unwrap()
///     .with("limit", AttributeKind::Number).unwrap();
/// assert_eq!(attributes.kind("limit"), Some(AttributeKind::Number));
/// assert!(Attributes::new().with("scopes", AttributeKind::Texts).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    declared: Vec<(String, AttributeKind)>,
}

impl Attributes {
    /// No attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// These, and `name` of `kind` (a name checked as [`check_attribute`] does; declared once).
    pub fn with(mut self, name: &str, kind: AttributeKind) -> Result<Self, AttributeError> {
        check_name(name)?;
        if self.kind(name).is_some() {
            return Err(AttributeError {
                message: "an attribute is declared once",
            });
        }
        self.declared.push((name.to_owned(), kind));
        Ok(self)
    }

    /// The kind of `name`, if declared.
    pub fn kind(&self, name: &str) -> Option<AttributeKind> {
        self.declared
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, kind)| *kind)
    }

    /// Each declared name and kind, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, AttributeKind)> {
        self.declared.iter().map(|(n, k)| (n.as_str(), *k))
    }
}
