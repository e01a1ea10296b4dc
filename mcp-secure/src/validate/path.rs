use std::{
    fmt,
    path::{Component, Path, PathBuf},
    sync::OnceLock,
};

use serde::{Deserialize, Deserializer};

use super::{FieldPath, ValidationErrors};
use crate::{security::Security, tool::ToolError};

/// Longest path, in characters, a [`SafePath`] accepts.
pub const PATH_MAX_LENGTH: usize = 1024;

/// A file path from a caller, confined to a root the server names at start-up.
///
/// Declare it with a root name, `#[mcp(path(within = "files"))] path: SafePath`, and register
/// the directory for that name with [`crate::SecurityBuilder::path_root`]. Validation refuses
/// empty, absolute (`/x`, `C:\x`, `C:/x`), backslash, NUL and `..` paths, then resolves the path
/// against the root, following symlinks, and refuses it if it ends up outside. The tool reads
/// the checked location with [`resolved`](Self::resolved).
///
/// A symlink changed between the check and the tool's `open` is not caught; keep the root out
/// of reach of untrusted writers.
pub struct SafePath {
    raw: String,
    resolved: OnceLock<PathBuf>,
}

impl SafePath {
    /// The path as the caller wrote it (relative to the root).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The checked absolute location inside the root. Errors only if this value did not come
    /// through validation (a tool's validated input always has it).
    pub fn resolved(&self) -> Result<&Path, ToolError> {
        self.resolved
            .get()
            .map(PathBuf::as_path)
            .ok_or_else(|| ToolError::internal("SafePath used without validation"))
    }

    /// Checks the path's form and resolves it inside `root` (an absolute, canonical directory).
    pub fn check_within(&self, root: &Path) -> Result<&Path, &'static str> {
        check_syntax(&self.raw)?;
        let resolved = resolve_within(root, Path::new(&self.raw))?;
        Ok(self.resolved.get_or_init(|| resolved))
    }
}

fn check_syntax(raw: &str) -> Result<(), &'static str> {
    if raw.is_empty() {
        return Err("must be a relative path, not empty");
    }
    if raw.chars().count() > PATH_MAX_LENGTH {
        return Err("must be at most 1024 characters");
    }
    if raw.contains('\0') {
        return Err("must not contain NUL");
    }
    if raw.contains('\\') {
        return Err("must use `/` as separator, not `\\`");
    }
    let b = raw.as_bytes();
    if raw.starts_with('/') || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':') {
        return Err("must be relative to the root, not absolute");
    }
    if raw.split('/').any(|segment| segment == "..") {
        return Err("must not contain `..`");
    }
    Ok(())
}

fn resolve_within(root: &Path, relative: &Path) -> Result<PathBuf, &'static str> {
    let escaped = "must stay inside the root directory (it leads outside through a link)";
    let joined = root.join(relative);
    // The deepest existing ancestor is canonicalized (following every link); what does not exist
    // yet cannot be a link, and has no `..` (checked above).
    let mut existing = joined.as_path();
    let mut missing = Vec::new();
    let canonical = loop {
        match existing.canonicalize() {
            Ok(c) => break c,
            Err(_) => {
                let Some(parent) = existing.parent() else {
                    return Err(escaped);
                };
                if let Some(name) = existing.file_name() {
                    missing.push(name.to_owned());
                }
                existing = parent;
            }
        }
    };
    if !canonical.starts_with(root) {
        return Err(escaped);
    }
    let mut out = canonical;
    for name in missing.into_iter().rev() {
        out.push(name);
    }
    debug_assert!(out.components().all(|c| !matches!(c, Component::ParentDir)));
    Ok(out)
}

impl<'de> Deserialize<'de> for SafePath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(SafePath {
            raw: String::deserialize(deserializer)?,
            resolved: OnceLock::new(),
        })
    }
}

impl schemars::JsonSchema for SafePath {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SafePath".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "minLength": 1,
            "maxLength": PATH_MAX_LENGTH,
            "pattern": PATH_PATTERN,
            "description": "A path relative to the server's root, with `/` separators and no `..` segment.",
        })
    }
}

/// The schema `pattern` of a [`SafePath`]: not absolute (`/`, `C:`), no `..` segment, no NUL or
/// backslash. Resolution through links is checked by the server only.
pub(crate) const PATH_PATTERN: &str = "^(?!/)(?![A-Za-z]:)(?!([^/]*/)*\\.\\.(/|$))[^\\u0000\\\\]*$";

impl fmt::Debug for SafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SafePath").field(&self.raw).finish()
    }
}

/// `path(within = "root")`: checks a [`SafePath`] against the root registered under that name.
pub fn check_path(
    errors: &mut ValidationErrors,
    path: &FieldPath<'_>,
    value: &SafePath,
    within: &str,
) {
    let Some(root) = Security::global().path_root(within) else {
        tracing::error!(target: "mcp_secure::audit", root = within, "no directory registered for SafePath root; refusing the path");
        errors.push(
            path,
            "path",
            "cannot be checked now (the server is not configured for this field)",
        );
        return;
    };
    if let Err(message) = value.check_within(root) {
        errors.push(path, "path", message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(raw: &str) -> SafePath {
        SafePath {
            raw: raw.into(),
            resolved: OnceLock::new(),
        }
    }

    #[test]
    fn syntax_refuses_escapes() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/..",
            "..",
            "C:\\x",
            "C:/x",
            "a\\..\\b",
            "a\0b",
            "a/b\0",
        ] {
            assert!(check_syntax(bad).is_err(), "{bad:?}");
        }
        for good in [
            "a.txt",
            "dir/a.txt",
            "./a",
            "a..b",
            "..a",
            "a/.../b",
            "ünïcode/名前.txt",
        ] {
            assert!(check_syntax(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn resolution_follows_links_and_stays_inside() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("a.txt"), "a").unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
            std::os::unix::fs::symlink(root.join("a.txt"), root.join("inner-link")).unwrap();
            assert!(sp("link/secret").check_within(&root).is_err());
            assert!(sp("link/not-yet").check_within(&root).is_err());
            assert_eq!(
                sp("inner-link").check_within(&root).unwrap(),
                root.join("a.txt")
            );
        }
        assert_eq!(sp("a.txt").check_within(&root).unwrap(), root.join("a.txt"));
        assert_eq!(
            sp("new/file.txt").check_within(&root).unwrap(),
            root.join("new/file.txt")
        );
        let checked = sp("a.txt");
        assert!(checked.resolved().is_err());
        checked.check_within(&root).unwrap();
        assert_eq!(checked.resolved().unwrap(), root.join("a.txt"));
    }
}
