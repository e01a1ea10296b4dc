//! The policy manifest: every tool of a server with its scope, rate, annotations and schemas,
//! the digest of its definition as listed ([`crate::tool::digest`]), and the server's scopes,
//! as JSON with a stable key order, so that a change of policy shows up as a diff in review and
//! can be checked in CI. A server can refuse to start when its tools differ from the manifest
//! committed ([`Manifest::check_pinned`]).
//!
//! ```
//! use mcp_secure::{manifest::Manifest, prelude::*};
//!
//! mcp_secure::scopes! {
//!     /// Read notes.
//!     "notes:read",
//!     "notes:write" => implies ["notes:read"],
//! }
//!
//! #[derive(Clone)]
//! struct Notes;
//!
//! #[mcp_tools]
//! impl Notes {
//!     /// Get a note.
//!     #[mcp_tool(scope = "notes:read", rate = "10/s")]
//!     async fn notes_get(&self, #[mcp(range(min = 1))] id: i64) -> String {
//!         format!("{id}")
//!     }
//! }
//!
//! fn main() {
//!     let manifest = Manifest::new("notes", "1.0.0")
//!         .with_tools(&Notes::tools());
//!     let json = manifest.to_json();
//!     assert_eq!(json["tools"][0]["policy"]["scope"], "notes:read");
//!     assert_eq!(json["tools"][0]["policy"]["granted_by"], serde_json::json!(["notes:read", "notes:write"]));
//!     assert_eq!(json["scopes"][1]["implies"], serde_json::json!(["notes:read"]));
//! }
//! ```

mod pin;

use serde_json::{Map, Value, json};

pub use pin::PinError;

use crate::{
    auth::ScopeCatalog,
    tool::{Access, Tools},
};

/// A server's policy, built from its [`Tools`].
#[derive(Debug, Clone)]
pub struct Manifest {
    name: String,
    version: String,
    scopes: Vec<Value>,
    tools: Vec<Value>,
    sandbox: Option<Value>,
    policies: Option<Value>,
}

impl Manifest {
    /// An empty manifest of server `name` at `version`.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            scopes: Vec::new(),
            tools: Vec::new(),
            sandbox: None,
            policies: None,
        }
    }

    /// Adds the declared scopes, each with its description and what it implies.
    pub fn with_scopes(mut self, catalog: &ScopeCatalog) -> Self {
        for decl in catalog.scopes() {
            self.scopes.push(json!({ "scope": decl.name, "description": decl.description, "implies": decl.implies }));
        }
        self
    }

    /// Adds every tool of `tools` (`Self::tools()` of `#[mcp_tools]`, possibly combined with
    /// plain rmcp routes) and the scopes they were declared against. A tool with a policy gets
    /// it (with the scopes that grant its scope); a tool without one (a plain rmcp tool) is
    /// marked `"guarded": false`, which a reviewer should see.
    pub fn with_tools<S: Send + Sync + 'static>(mut self, tools: &Tools<S>) -> Self {
        if self.scopes.is_empty()
            && let Some(catalog) = tools.scopes()
        {
            self = self.with_scopes(catalog);
        }
        for tool in tools.router().list_all() {
            let policy = tools.policy(&tool.name);
            let mut entry = json!({
                "name": tool.name,
                "title": tool.title,
                "description": tool.description,
                "annotations": tool.annotations,
                "input_schema": Value::Object((*tool.input_schema).clone()),
                "output_schema": tool.output_schema.as_ref().map(|s| Value::Object((**s).clone())),
                "guarded": policy.is_some(),
                "digest": crate::tool::digest::of(&tool),
            });
            if let Some(policy) = policy {
                let mut p = policy.meta();
                if let Access::Scope(scope, catalog) = policy.access() {
                    let granted_by: Vec<&str> = catalog
                        .scopes()
                        .iter()
                        .map(|d| d.name)
                        .filter(|held| catalog.grants(held, scope))
                        .collect();
                    p["granted_by"] = json!(granted_by);
                }
                p["read_only"] = json!(policy.read_only());
                p["max_output"] = json!(policy.max_output());
                p["raw_output"] = json!(policy.raw_output());
                if let Some(why) = policy.all_owners() {
                    p["all_owners"] = json!(why);
                }
                entry["policy"] = p;
            }
            self.tools.push(entry);
        }
        self.tools
            .sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        self
    }

    /// Records the confinement the process obtained ([`crate::sandbox::Sandbox::apply`]'s
    /// report: Landlock ABI, what is enforced and what is missing) under `"sandbox"`, for a
    /// manifest published by the running server.
    #[cfg(feature = "sandbox")]
    pub fn with_sandbox(mut self, report: &crate::sandbox::SandboxReport) -> Self {
        self.sandbox = serde_json::to_value(report).ok();
        self
    }

    /// Records the server's Cedar policies under `"policies"`: their `@id`s, their text and
    /// the schema generated from the tools, so that a gateway (ToolHive, say) can enforce the
    /// same rules, validated against the same schema. Feature `policy`.
    #[cfg(feature = "policy")]
    pub fn with_policies(mut self, policies: &crate::policy::Policies) -> Self {
        let mut ids: Vec<&str> = policies.ids().collect();
        ids.sort_unstable();
        self.policies = Some(json!({
            "language": "cedar",
            "ids": ids,
            "text": policies.text(),
            "schema": policies.schema(),
        }));
        self
    }

    /// The manifest as JSON, every object's keys sorted.
    pub fn to_json(&self) -> Value {
        let mut json = json!({
            "manifest_version": 1,
            "server": { "name": self.name, "version": self.version },
            "scopes": self.scopes,
            "tools": self.tools,
        });
        if let Some(sandbox) = &self.sandbox {
            json["sandbox"] = sandbox.clone();
        }
        if let Some(policies) = &self.policies {
            json["policies"] = policies.clone();
        }
        sorted(json)
    }

    /// The manifest as pretty-printed JSON with a final newline, for committing and diffing.
    pub fn to_pretty_string(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.to_json()).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// `value` with every object's keys in byte order, as serde_json writes them by default (and
/// not in insertion order, which its `preserve_order` feature, turned on by Cedar, keeps).
pub(crate) fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k, sorted(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        v => v,
    }
}

#[cfg(all(test, feature = "sandbox"))]
mod tests {
    use super::*;
    use crate::sandbox::{Sandbox, SandboxMode};

    #[test]
    fn the_sandbox_level_is_recorded_when_given() {
        assert!(Manifest::new("s", "1").to_json().get("sandbox").is_none());
        let report = Sandbox::new(SandboxMode::Off).apply().unwrap();
        let json = Manifest::new("s", "1").with_sandbox(&report).to_json();
        assert_eq!(json["sandbox"]["mode"], "off");
        assert_eq!(json["sandbox"]["landlock_abi"], 0);
        assert_eq!(json["sandbox"]["missing"], json!([]));
    }
}
