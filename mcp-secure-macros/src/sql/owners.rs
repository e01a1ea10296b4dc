//! Which tables a crate declares owned, and by which column: read from its `Cargo.toml`, so
//! that every `sql!` of the crate is checked against the same declaration and none can forget
//! it.
//!
//! ```toml
//! [package.metadata.mcp-secure.owned-tables]
//! notes = { owner = "owner" }
//! ```

use std::{collections::BTreeMap, path::PathBuf};

/// The table where the declaration lives in `Cargo.toml`, as users write it.
pub const SECTION: &str = "[package.metadata.mcp-secure.owned-tables]";

/// Owned tables by name (lower case: SQL folds unquoted names), each with its owner column.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OwnedTables {
    tables: BTreeMap<String, String>,
}

impl OwnedTables {
    /// `(table, owner column)` pairs, as declared.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        OwnedTables {
            tables: pairs
                .into_iter()
                .map(|(t, c)| (t.to_ascii_lowercase(), c.to_ascii_lowercase()))
                .collect(),
        }
    }

    /// The owner column of `table` (already folded), if it is owned.
    pub fn owner_column(&self, table: &str) -> Option<&str> {
        self.tables.get(table).map(String::as_str)
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
    let mut pairs = Vec::new();
    for (name, value) in section {
        let column = value
            .as_table()
            .filter(|t| t.len() == 1)
            .and_then(|t| t.get("owner"))
            .and_then(|c| c.as_str());
        let Some(column) = column else {
            return Err(format!(
                "Cargo.toml's {SECTION}: write `{name} = {{ owner = \"column\" }}`, naming the column that holds each row's owner (`Principal::id`)"
            ));
        };
        for ident in [name.as_str(), column] {
            if !plain_identifier(ident) {
                return Err(format!(
                    "Cargo.toml's {SECTION}: `{}` is not a plain SQL identifier (ASCII letters, digits and `_`, not starting with a digit)",
                    ident.escape_debug()
                ));
            }
        }
        pairs.push((name.as_str(), column));
    }
    Ok(OwnedTables::from_pairs(pairs))
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
        assert_eq!(owned.owner_column("notes"), Some("owner"));
        assert_eq!(owned.owner_column("other"), None);
        assert!(parse("[package]\nname = \"x\"\n").unwrap().is_empty());
        for bad in [
            "notes = \"owner\"",
            "notes = { column = \"owner\" }",
            "notes = { owner = \"owner\", tenant = \"t\" }",
            "notes = { owner = \"own er\" }",
            "\"no tes\" = { owner = \"owner\" }",
        ] {
            let manifest = format!("[package.metadata.mcp-secure.owned-tables]\n{bad}\n");
            assert!(parse(&manifest).is_err(), "{bad}");
        }
    }
}
