//! Building [`Policies`]: the schema generated from the tools, the policies parsed and
//! validated against it in Cedar's strict mode, each named by its `@id`.

use std::{collections::HashMap, fmt, str::FromStr, sync::Arc};

use cedar_policy::{
    Authorizer, EntityTypeName, EntityUid, PolicySet, Schema, ValidationMode, Validator,
};

use super::{Action, CALLER, Inner, Policies, PolicyResource, TOOL, evaluate, schema};
use crate::auth::{AttributeKind, Attributes};

/// Builds [`Policies`] for a server's tools.
pub struct PoliciesBuilder {
    pub(super) tools: Vec<(String, Vec<schema::Field>)>,
    pub(super) attributes: Attributes,
    pub(super) resources: Vec<(&'static str, &'static [(&'static str, AttributeKind)])>,
}

/// Why policies were refused by [`PoliciesBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    kind: PolicyErrorKind,
    problems: Vec<String>,
}

/// What kind of problem a [`PolicyError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// The text is not Cedar.
    Syntax,
    /// A policy has no `@id("...")`, or two have the same.
    Ids,
    /// A policy does not fit the server's tools and callers (Cedar's strict validation).
    Validation,
    /// The schema generated from the tools is not one Cedar takes (a tool or resource name).
    Schema,
}

impl PolicyError {
    fn new(kind: PolicyErrorKind, problems: Vec<String>) -> Self {
        Self { kind, problems }
    }

    /// What kind of problem it is.
    pub fn kind(&self) -> PolicyErrorKind {
        self.kind
    }

    /// Each problem found, one line each, naming the policy by its `@id`.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            PolicyErrorKind::Syntax => "the policies are not Cedar",
            PolicyErrorKind::Ids => {
                "every policy needs an @id(\"...\") of its own, of ASCII letters, digits, `_`, `-`, `.` and `:`"
            }
            PolicyErrorKind::Validation => "the policies do not fit this server's tools",
            PolicyErrorKind::Schema => "the tools make no Cedar schema",
        };
        write!(f, "{what}:")?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

impl PoliciesBuilder {
    /// The attributes callers may carry (the same [`Attributes`] the verifier reads:
    /// [`JwtVerifier::attributes`](crate::auth::JwtVerifier::attributes)); each is optional
    /// in policies (`principal has roles && ...`).
    pub fn attributes(mut self, attributes: &Attributes) -> Self {
        self.attributes = attributes.clone();
        self
    }

    /// Declares `R` as a resource type, for [`authorize`] of rows a tool loads.
    pub fn resource<R: PolicyResource>(mut self) -> Self {
        self.resources.push((R::TYPE, R::SHAPE));
        self
    }

    /// The policies in `cedar`, each with an `@id("...")` of its own, validated against the
    /// schema of the tools, attributes and resources (Cedar's strict mode).
    pub fn build(self, cedar: &str) -> Result<Policies, PolicyError> {
        // A resource type standing for the caller, a tool or an action would change what
        // policies about those mean.
        let mut seen = Vec::new();
        for (resource, _) in &self.resources {
            if [CALLER, TOOL, "Action"].contains(resource) || seen.contains(resource) {
                return Err(PolicyError::new(
                    PolicyErrorKind::Schema,
                    vec![format!(
                        "the resource type `{resource}` is declared twice, or is one of Caller, Tool and Action; name it for what it is (`Note`)"
                    )],
                ));
            }
            seen.push(resource);
        }
        let schema_json = schema::schema(&self.attributes, &self.tools, &self.resources);
        let schema = Schema::from_json_value(schema_json.clone())
            .map_err(|e| PolicyError::new(PolicyErrorKind::Schema, vec![one_line(&e)]))?;
        let set = PolicySet::from_str(cedar)
            .map_err(|e| PolicyError::new(PolicyErrorKind::Syntax, vec![one_line(&e)]))?;
        let mut ids = HashMap::new();
        let mut problems = Vec::new();
        for policy in set.policies() {
            match policy.annotation("id") {
                Some(id) if ids.values().any(|seen| seen == id) => {
                    problems.push(format!("two policies have the @id `{id}`"))
                }
                Some(id) if is_policy_id(id) => {
                    ids.insert(policy.id().clone(), id.to_owned());
                }
                Some(_) => problems.push(format!(
                    "the @id of {} is not 1 to 64 ASCII letters, digits, `_`, `-`, `.` or `:`",
                    ordinal(policy)
                )),
                None => problems.push(format!("{} has no @id(\"...\")", ordinal(policy))),
            }
        }
        if set.templates().next().is_some() {
            problems.push("templates (`?principal`, `?resource`) are not supported".into());
        }
        if !problems.is_empty() {
            return Err(PolicyError::new(PolicyErrorKind::Ids, problems));
        }
        let validation = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
        if !validation.validation_passed() {
            let problems = validation
                .validation_errors()
                .map(|e| {
                    let id = ids.get(e.policy_id()).cloned().unwrap_or_default();
                    // Cedar's own numbering (`policy0`) means nothing to the author.
                    let cedar_id = format!("for policy `{}`, ", e.policy_id());
                    let reason = one_line(e).replace(&cedar_id, "");
                    match miette::Diagnostic::help(e) {
                        Some(help) => {
                            let help = help.to_string().replace(&cedar_id, "");
                            format!("policy `{id}`: {reason} ({help})")
                        }
                        None => format!("policy `{id}`: {reason}"),
                    }
                })
                .collect();
            return Err(PolicyError::new(PolicyErrorKind::Validation, problems));
        }
        let name = |n: &str| {
            EntityTypeName::from_str(n)
                .map_err(|e| PolicyError::new(PolicyErrorKind::Schema, vec![one_line(&e)]))
        };
        let action_type = name("Action")?;
        let mut in_order: Vec<_> = set.policies().collect();
        // Cedar numbers policies in the file's order (`policy0`, `policy1`, ...).
        in_order.sort_by_key(|policy| (policy.id().to_string().len(), policy.id().to_string()));
        let compiled: Option<Vec<_>> = in_order
            .into_iter()
            .map(|policy| {
                let id = ids.get(policy.id())?.clone();
                evaluate::Compiled::new(policy, id, action_type.as_ref())
            })
            .collect();
        let actions = self
            .tools
            .into_iter()
            .map(|(tool, fields)| {
                let uid = EntityUid::from_type_name_and_id(
                    action_type.clone(),
                    cedar_policy::EntityId::new(&tool),
                );
                let policies = compiled
                    .iter()
                    .flatten()
                    .enumerate()
                    .filter(|(_, policy)| policy.may_apply_to(&tool))
                    .map(|(at, _)| at)
                    .collect();
                (
                    tool,
                    Action {
                        uid,
                        fields,
                        policies,
                    },
                )
            })
            .collect();
        let mut resource_types = HashMap::new();
        for (resource, _) in &self.resources {
            resource_types.insert(*resource, name(resource)?);
        }
        Ok(Policies(Arc::new(Inner {
            set,
            ids,
            text: cedar.to_owned(),
            schema: schema_json,
            compiled,
            actions,
            action_type,
            caller_type: name(CALLER)?,
            tool_type: name(TOOL)?,
            resource_types,
            authorizer: Authorizer::new(),
        })))
    }
}

/// Which policy `policy` is, for one without an `@id`: Cedar numbers them from 0 in order.
fn ordinal(policy: &cedar_policy::Policy) -> String {
    let id = policy.id().to_string();
    match id
        .strip_prefix("policy")
        .and_then(|n| n.parse::<usize>().ok())
    {
        Some(n) => format!("policy number {} (counting from 1)", n + 1),
        None => format!("policy `{id}`"),
    }
}

/// Whether `id` is a policy id this library names in errors and logs: 1 to 64 ASCII letters,
/// digits, `_`, `-`, `.` and `:`.
fn is_policy_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

/// An error's message with its causes, on one line.
fn one_line(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}
