//! Which tables a crate declares owned, and by which column: read from its `Cargo.toml`, so
//! that every `sql!` of the crate is checked against the same declaration and none can forget
//! it.
//!
//! ```toml
//! [package.metadata.mcp-secure.owned-tables]
//! notes = { owner = "owner" }            # the caller's Principal::id
//! projects = { tenant = "tenant" }       # the caller's Principal::tenant_key
//! ```

use std::{collections::BTreeMap, path::PathBuf};

/// The table where the declaration lives in `Cargo.toml`, as users write it.
pub const SECTION: &str = "[package.metadata.mcp-secure.owned-tables]";

/// What a key column of an owned table holds for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    /// `Principal::id`.
    Owner,
    /// `Principal::tenant_key`.
    Tenant,
}

impl Key {
    /// The declaration's word for it.
    pub fn word(self) -> &'static str {
        match self {
            Key::Owner => "owner",
            Key::Tenant => "tenant",
        }
    }
}

/// Owned tables by name (lower case: SQL folds unquoted names), each with its key columns.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OwnedTables {
    tables: BTreeMap<String, Vec<(Key, String)>>,
}

impl OwnedTables {
    /// `(table, key, column)` triples, as declared.
    pub fn from_keys<'a>(keys: impl IntoIterator<Item = (&'a str, Key, &'a str)>) -> Self {
        let mut tables: BTreeMap<String, Vec<(Key, String)>> = BTreeMap::new();
        for (table, key, column) in keys {
            tables
                .entry(table.to_ascii_lowercase())
                .or_default()
                .push((key, column.to_ascii_lowercase()));
        }
        OwnedTables { tables }
    }

    /// The key columns of `table` (already folded): empty if it is not owned.
    pub fn keys(&self, table: &str) -> &[(Key, String)] {
        self.tables.get(table).map_or(&[], Vec::as_slice)
    }

    /// Whether `table` (already folded) is owned.
    pub fn is_owned(&self, table: &str) -> bool {
        self.tables.contains_key(table)
    }

    /// Whether no table is owned.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

/// The declaration of the crate being compiled, and the manifest it came from (which the
/// expansion includes, so that editing it recompiles the queries).
pub fn of_this_crate() -> Result<(OwnedTables, Option<PathBuf>), String> {
    let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return Ok((OwnedTables::default(), None));
    };
    let path = PathBuf::from(dir).join("Cargo.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok((OwnedTables::default(), None));
    };
    let owned = parse(&text)?;
    Ok((owned, Some(path)))
}

/// The declaration in a `Cargo.toml`'s text.
pub fn parse(manifest: &str) -> Result<OwnedTables, String> {
    let table: toml::Table = manifest
        .parse()
        .map_err(|e| format!("Cargo.toml could not be read for {SECTION}: {e}"))?;
    let Some(section) = table
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("mcp-secure"))
        .and_then(|m| m.get("owned-tables"))
    else {
        return Ok(OwnedTables::default());
    };
    let Some(section) = section.as_table() else {
        return Err(format!(
            "Cargo.toml's {SECTION} is a table: `notes = {{ owner = \"owner\" }}`"
        ));
    };
    let mut keys = Vec::new();
    for (name, value) in section {
        let declared = value.as_table().filter(|t| {
            !t.is_empty()
                && t.iter()
                    .all(|(k, v)| (k == "owner" || k == "tenant") && v.is_str())
        });
        let Some(declared) = declared else {
            return Err(format!(
                "Cargo.toml's {SECTION}: write `{name} = {{ owner = \"column\" }}` (the column holds each row's `Principal::id`), `{{ tenant = \"column\" }}` (its `Principal::tenant_key`), or both"
            ));
        };
        for (key, column) in declared {
            let column = column.as_str().unwrap_or_default();
            for ident in [name.as_str(), column] {
                if !plain_identifier(ident) {
                    return Err(format!(
                        "Cargo.toml's {SECTION}: `{}` is not a plain SQL identifier (ASCII letters, digits and `_`, not starting with a digit)",
                        ident.escape_debug()
                    ));
                }
            }
            let key = if key == "owner" {
                Key::Owner
            } else {
                Key::Tenant
            };
            keys.push((name.as_str(), key, column));
        }
    }
    Ok(OwnedTables::from_keys(keys))
}

fn plain_identifier(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declaration_is_read_and_checked() {
        let owned = parse(
            "[package]\nname = \"x\"\n[package.metadata.mcp-secure.owned-tables]\nNotes = { owner = \"Owner\" }\n",
        )
        .unwrap();
        assert_eq!(owned.keys("notes"), [(Key::Owner, "owner".to_owned())]);
        assert!(owned.keys("other").is_empty());
        let both = parse(
            "[package.metadata.mcp-secure.owned-tables]\nteam = { owner = \"o\", tenant = \"t\" }\n",
        )
        .unwrap();
        assert_eq!(
            both.keys("team"),
            [(Key::Owner, "o".to_owned()), (Key::Tenant, "t".to_owned())]
        );
        assert!(parse("[package]\nname = \"x\"\n").unwrap().is_empty());
        for bad in [
            "notes = \"owner\"",
            "notes = { column = \"owner\" }",
            "notes = { owner = \"owner\", group = \"t\" }",
            "notes = {}",
            "notes = { owner = \"own er\" }",
            "\"no tes\" = { owner = \"owner\" }",
        ] {
            let manifest = format!("[package.metadata.mcp-secure.owned-tables]\n{bad}\n");
            assert!(parse(&manifest).is_err(), "{bad}");
        }
    }
}
