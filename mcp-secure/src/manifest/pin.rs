//! A server's tools held to a committed manifest: it refuses to start when a tool's definition
//! differs from the one reviewed.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Manifest;

/// Why the tools do not match a committed manifest ([`Manifest::check_pinned`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinError {
    /// The committed text is not a manifest whose tools carry digests (not JSON, written
    /// before digests were, or naming a tool twice: write it again and review it).
    NotAManifest,
    /// Tools were added, removed or changed since the manifest was committed.
    Changed {
        /// Tools the server has and the manifest does not.
        added: Vec<String>,
        /// Tools the manifest has and the server does not.
        removed: Vec<String>,
        /// Tools whose definition (description, schemas, annotations, policy) differs.
        changed: Vec<String>,
    },
}

impl std::fmt::Display for PinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAManifest => f.write_str(
                "the committed manifest is not a manifest with tool digests: write it again (notes-server manifest, or Manifest::to_pretty_string) and review it",
            ),
            Self::Changed {
                added,
                removed,
                changed,
            } => {
                f.write_str("the tools differ from the committed manifest:")?;
                for (what, names) in [("changed", changed), ("added", added), ("removed", removed)] {
                    if !names.is_empty() {
                        write!(f, " {what}: {};", names.join(", "))?;
                    }
                }
                f.write_str(" review the change, then commit the new manifest")
            }
        }
    }
}

impl std::error::Error for PinError {}

/// Each tool's entry in a manifest's JSON, by name; `None` if one has no name or digest, or a
/// name comes twice.
fn entries(manifest: &Value) -> Option<BTreeMap<&str, &Value>> {
    let mut entries = BTreeMap::new();
    for tool in manifest["tools"].as_array()? {
        tool["digest"].as_str()?;
        if entries.insert(tool["name"].as_str()?, tool).is_some() {
            return None;
        }
    }
    Some(entries)
}

impl Manifest {
    /// Checks that the tools are exactly those of `committed` (the text of a manifest as
    /// committed): the same names, each with the same entry (its definition digest, and every
    /// part a reviewer reads, which cannot then say other than the server). Only the tools count;
    /// the server's version, its scopes' descriptions and a `"sandbox"` section may differ.
    /// Call it before serving, and refuse to start on an error: a tool whose description or
    /// schema changed behind the reviewer's back is then never listed.
    ///
    /// ```
    /// use mcp_secure::{manifest::{Manifest, PinError}, prelude::*};
    /// # mcp_secure::scopes! { "notes:read" }
    /// # #[derive(Clone)] struct Notes;
    /// # #[mcp_tools] impl Notes {
    /// #     /// Counts notes.
    /// #     #[mcp_tool(scope = "notes:read", rate = "10/s")] async fn notes_count(&self) -> String { "0".into() }
    /// # }
    /// # fn main() {
    /// let manifest = Manifest::new("notes", "1.0.0").with_tools(&Notes::tools());
    /// let committed = manifest.to_pretty_string();
    /// assert_eq!(manifest.check_pinned(&committed), Ok(()));
    ///
    /// // A manifest reviewed when `notes_count` was defined otherwise.
    /// let reviewed = committed.replace(r#""digest": "sha256:"#, r#""digest": "sha256:0"#);
    /// let refused = manifest.check_pinned(&reviewed).unwrap_err();
    /// assert!(matches!(&refused, PinError::Changed { changed, .. } if changed == &["notes_count"]));
    /// assert!(refused.to_string().contains("changed: notes_count;"));
    /// # }
    /// ```
    pub fn check_pinned(&self, committed: &str) -> Result<(), PinError> {
        let committed: Value =
            serde_json::from_str(committed).map_err(|_| PinError::NotAManifest)?;
        let pinned = entries(&committed).ok_or(PinError::NotAManifest)?;
        let ours = self.to_json();
        let current = entries(&ours).ok_or(PinError::NotAManifest)?;
        compare(&current, &pinned)
    }
}

/// The tools of `current` against those `pinned`, by name and by whole entry: the digest and
/// every part a reviewer reads (description, schemas, policy), which may not say other than
/// what the server has.
fn compare(
    current: &BTreeMap<&str, &Value>,
    pinned: &BTreeMap<&str, &Value>,
) -> Result<(), PinError> {
    let names =
        |from: &BTreeMap<&str, &Value>, keep: &dyn Fn(&str, &Value) -> bool| -> Vec<String> {
            from.iter()
                .filter(|(name, entry)| keep(name, entry))
                .map(|(name, _)| name.to_string())
                .collect()
        };
    let added = names(current, &|name, _| !pinned.contains_key(name));
    let removed = names(pinned, &|name, _| !current.contains_key(name));
    let changed = names(current, &|name, entry| {
        pinned.get(name).is_some_and(|p| *p != entry)
    });
    if added.is_empty() && removed.is_empty() && changed.is_empty() {
        Ok(())
    } else {
        Err(PinError::Changed {
            added,
            removed,
            changed,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn manifest(tools: &[(&str, &str)]) -> String {
        let tools: Vec<Value> = tools
            .iter()
            .map(|(name, digest)| json!({ "name": name, "digest": digest }))
            .collect();
        json!({ "tools": tools }).to_string()
    }

    #[test]
    fn added_removed_and_changed_tools_are_named() {
        let entry = |d: &str| json!({ "digest": d, "description": "x" });
        let (one, two, three, four, nine) = (
            entry("sha256:1"),
            entry("sha256:2"),
            entry("sha256:3"),
            entry("sha256:4"),
            entry("sha256:9"),
        );
        let current = BTreeMap::from([("a", &one), ("b", &two), ("c", &three)]);
        let pinned = BTreeMap::from([("a", &one), ("b", &nine), ("d", &four)]);
        assert_eq!(
            compare(&current, &pinned),
            Err(PinError::Changed {
                added: vec!["c".into()],
                removed: vec!["d".into()],
                changed: vec!["b".into()]
            })
        );
        assert_eq!(compare(&current, &current), Ok(()));
        // The same digest with another description: the entry says other than the server.
        let lying = json!({ "digest": "sha256:1", "description": "Harmless." });
        let misleading = BTreeMap::from([("a", &lying), ("b", &two), ("c", &three)]);
        assert!(
            matches!(compare(&current, &misleading), Err(PinError::Changed { changed, .. }) if changed == ["a"])
        );
        let text = compare(&current, &pinned).unwrap_err().to_string();
        assert_eq!(
            text,
            "the tools differ from the committed manifest: changed: b; added: c; removed: d; review the change, then commit the new manifest"
        );
    }

    #[test]
    fn a_manifest_without_digests_is_refused() {
        let empty = Manifest::new("s", "1");
        let twice = r#"{"tools": [{"name": "a", "digest": "sha256:1"}, {"name": "a", "digest": "sha256:0"}]}"#;
        for text in [
            "",
            "[]",
            r#"{"tools": [{"name": "a"}]}"#,
            r#"{"tools": 1}"#,
            twice,
        ] {
            assert_eq!(
                empty.check_pinned(text),
                Err(PinError::NotAManifest),
                "{text}"
            );
        }
        assert_eq!(empty.check_pinned(r#"{"tools": []}"#), Ok(()));
        assert_eq!(
            empty.check_pinned(&manifest(&[("gone", "sha256:1")])),
            Err(PinError::Changed {
                added: vec![],
                removed: vec!["gone".into()],
                changed: vec![]
            })
        );
    }
}
