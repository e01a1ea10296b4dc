//! Cedar policies over the caller, the tool and its validated input (feature `policy`):
//! authorization past scopes, checked against the server's own tools before it serves.
//!
//! A server builds [`Policies`] from its tools and the policies' text, and gives them to
//! [`SecurityBuilder::policies`](crate::SecurityBuilder::policies). Building them generates the
//! Cedar schema from the tools (the principal `Caller` with its attributes, one action per
//! tool, each tool's validated input as the action's context) and validates the policies
//! against it in Cedar's strict mode: a policy naming an argument a tool does not take, an
//! attribute a caller does not have, or comparing a string to a number is refused, with the
//! policy's id and Cedar's reason. [`policy_test!`](crate::policy_test) turns that into a test
//! of the server's crate, so that `cargo test` fails before the server runs.
//!
//! Every guarded call is then decided after its scope and rate, on arguments of the types the
//! schema states, before the input's checks look anything up (a path's lookup would tell what
//! lies behind a path a policy refuses) and before the tool; the input is still validated
//! after. A denial is the tool error `forbidden`, naming the deciding policy ids, never their
//! text, and is audited as `policy_denied`. A policy that fails to evaluate denies.
//!
//! ```
//! use mcp_secure::{auth::{Attribute, AttributeKind, Attributes, Principal}, policy::Policies, prelude::*};
//!
//! mcp_secure::scopes! {
//!     /// Move money.
//!     "payments:write",
//! }
//!
//! #[derive(Clone)]
//! struct Bank { tools: Tools<Self> }
//!
//! #[mcp_tools]
//! impl Bank {
//!     /// Transfer an amount.
//!     #[mcp_tool(scope = "payments:write", rate = "unlimited")]
//!     async fn transfer(&self, #[mcp(range(min = 1, max = 1_000_000))] amount: i64) -> String {
//!         format!("sent {amount}")
//!     }
//! }
//!
//! fn attributes() -> Attributes {
//!     Attributes::new().with("limit", AttributeKind::Number).unwrap()
//! }
//!
//! const POLICIES: &str = r#"
//!     @id("transfers-within-limit")
//!     permit (principal, action == Action::"transfer", resource)
//!     when { principal has limit && context.amount <= principal.limit };
//! "#;
//!
//! fn main() {
//!     let policies = Policies::builder(&Bank::tools())
//!         .attributes(&attributes())
//!         .build(POLICIES)
//!         .unwrap();
//!     let alice = Principal::new("alice", ["payments:write"])
//!         .with_attribute("limit", Attribute::Number(500))
//!         .unwrap();
//!     let args = |amount: i64| serde_json::json!({ "amount": amount }).as_object().cloned().unwrap();
//!     assert!(policies.decide(&alice, "transfer", &args(400)).is_ok());
//!     let denied = policies.decide(&alice, "transfer", &args(600)).unwrap_err();
//!     assert!(denied.policies().is_empty(), "no policy permits it");
//!
//!     // Amounts are numbers: comparing one to a string does not build.
//!     let wrong = Policies::builder(&Bank::tools()).attributes(&attributes()).build(r#"
//!         @id("typo") permit (principal, action, resource) when { context.amount == "500" };
//!     "#);
//!     assert!(wrong.unwrap_err().to_string().contains("policy `typo`"));
//! }
//! ```
//!
//! In the server's crate, the same check as a test ([`policy_test!`](crate::policy_test)):
//!
//! ```
//! # use mcp_secure::{auth::Attributes, prelude::*};
//! # mcp_secure::scopes! { /// Move money.
//! # "payments:write", }
//! # #[derive(Clone)] struct Bank { tools: Tools<Self> }
//! # #[mcp_tools] impl Bank {
//! #     /// Transfer.
//! #     #[mcp_tool(scope = "payments:write", rate = "unlimited")]
//! #     async fn transfer(&self, #[mcp(range(min = 1, max = 10))] amount: i64) -> String { String::new() }
//! # }
//! # fn attributes() -> Attributes { Attributes::new() }
//! mcp_secure::policy_test!(policies_fit_the_tools, Bank::tools(), attributes(), "policies.cedar");
//! # fn main() {}
//! //! ```

mod build;
mod denied;
mod evaluate;
mod request;
mod schema;
#[cfg(test)]
mod tests;
mod value;

use std::{borrow::Cow, collections::HashMap, fmt, sync::Arc};

use cedar_policy::{
    Authorizer, Decision, Entities, EntityTypeName, EntityUid, PolicyId, PolicySet, Request,
};
use rmcp::model::JsonObject;
use serde_json::Value;

use crate::{
    auth::{Attribute, AttributeKind, Attributes, Principal},
    tool::{ToolError, Tools},
};
use evaluate::Outcome;
use value::{Uid, Val};

pub use build::{PoliciesBuilder, PolicyError, PolicyErrorKind};
pub use denied::Denied;
use denied::verdict;
pub use schema::{CALLER, TOOL};

/// A server's policies, validated against its tools; cheap to clone.
#[derive(Clone)]
pub struct Policies(Arc<Inner>);

struct Inner {
    set: PolicySet,
    /// The same policies for `evaluate.rs`, in the file's order; `None` when one has a node it
    /// does not evaluate (Cedar's authorizer decides then).
    compiled: Option<Vec<evaluate::Compiled>>,
    /// Each policy's `@id`, by Cedar's own id.
    ids: HashMap<PolicyId, String>,
    /// The policies as written, for the manifest.
    text: String,
    /// The generated schema, in Cedar's JSON format, for the manifest.
    schema: Value,
    actions: HashMap<String, Action>,
    action_type: EntityTypeName,
    caller_type: EntityTypeName,
    tool_type: EntityTypeName,
    resource_types: HashMap<&'static str, EntityTypeName>,
    authorizer: Authorizer,
}

struct Action {
    uid: EntityUid,
    fields: Vec<schema::Field>,
    /// The compiled policies that may apply to it, by index.
    policies: Vec<usize>,
}

/// A row a tool loaded, checked against the policies with [`authorize`]: an entity type of
/// the schema, with typed attributes.
///
/// ```
/// use mcp_secure::{auth::{Attribute, AttributeKind}, policy::PolicyResource};
/// struct Note { id: i64, tenant: String }
/// impl PolicyResource for Note {
///     const TYPE: &'static str = "Note";
///     const SHAPE: &'static [(&'static str, AttributeKind)] = &[("tenant", AttributeKind::Text)];
///     fn id(&self) -> String { self.id.to_string() }
///     fn attributes(&self) -> Vec<(&'static str, Attribute)> {
///         vec![("tenant", Attribute::Text(self.tenant.clone()))]
///     }
/// }
/// ```
pub trait PolicyResource {
    /// Its entity type in policies (`resource is Note`): a Cedar identifier.
    const TYPE: &'static str;
    /// Its attributes' names and kinds, each always present.
    const SHAPE: &'static [(&'static str, AttributeKind)];
    /// Its id (`Note::"42"`).
    fn id(&self) -> String;
    /// Its attributes, as [`SHAPE`](Self::SHAPE) declares them.
    fn attributes(&self) -> Vec<(&'static str, Attribute)>;
}

impl Policies {
    /// Policies for the tools of `tools` (each `#[mcp_tools]` impl's `Self::tools()`).
    pub fn builder<S: Send + Sync + 'static>(tools: &Tools<S>) -> PoliciesBuilder {
        let tools = tools
            .list_all()
            .into_iter()
            .map(|tool| (tool.name.to_string(), schema::fields(&tool.input_schema)))
            .collect();
        PoliciesBuilder {
            tools,
            attributes: Attributes::new(),
            resources: Vec::new(),
        }
    }

    /// The policies as written.
    pub fn text(&self) -> &str {
        &self.0.text
    }

    /// The schema generated from the tools, in Cedar's JSON schema format: what a gateway
    /// enforcing the same policies validates them against.
    pub fn schema(&self) -> &Value {
        &self.0.schema
    }

    /// The `@id`s of the policies.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.0.ids.values().map(String::as_str)
    }

    /// Decides a call of `tool` by `caller` with these `arguments`, as the guard does before
    /// the input's checks: `Err` names the policies that denied it (none: no policy permits),
    /// or says the arguments are not of the schema's types (`Denied::is_failure`).
    pub fn decide(
        &self,
        caller: &Principal,
        tool: &str,
        arguments: &JsonObject,
    ) -> Result<(), Denied> {
        let context = self.context(tool, arguments)?;
        self.decide_call(caller, tool, &context)
    }

    /// [`decide`](Self::decide) with the call's context built.
    pub(crate) fn decide_call(
        &self,
        caller: &Principal,
        tool: &str,
        context: &Context<'_>,
    ) -> Result<(), Denied> {
        verdict(self.outcome(caller, (tool, context.1), &context.0, None, Engine::Chosen)?)
    }

    /// Decides `tool`'s use of `row` for `caller`, with the call's context.
    pub(crate) fn decide_resource<R: PolicyResource>(
        &self,
        caller: &Principal,
        tool: &str,
        context: &Val<'_>,
        row: &R,
    ) -> Result<(), Denied> {
        let ty = self
            .0
            .resource_types
            .get(R::TYPE)
            .ok_or_else(Denied::failed)?;
        let action = self.0.actions.get(tool).ok_or_else(Denied::failed)?;
        let attributes = row.attributes();
        let row = Row {
            ty,
            id: row.id(),
            attributes: &attributes,
        };
        verdict(self.outcome(caller, (tool, action), context, Some(&row), Engine::Chosen)?)
    }

    /// The action context of a call of `tool` with `arguments`: each argument the schema types,
    /// as that type.
    pub(crate) fn context<'a>(
        &'a self,
        tool: &str,
        arguments: &'a JsonObject,
    ) -> Result<Context<'a>, Denied> {
        let action = self.0.actions.get(tool).ok_or_else(Denied::failed)?;
        value::context(&action.fields, arguments)
            .map(|record| Context(Val::Record(record), action))
            .ok_or_else(Denied::failed)
    }

    /// What the policies say of a call: by the evaluator of `evaluate.rs` when it takes every
    /// policy, else (or when `engine` asks) by Cedar's authorizer.
    fn outcome(
        &self,
        caller: &Principal,
        (tool, action): (&str, &Action),
        context: &Val<'_>,
        row: Option<&Row<'_>>,
        engine: Engine,
    ) -> Result<Outcome<'_>, Denied> {
        match (&self.0.compiled, engine) {
            (Some(compiled), Engine::Chosen) => {
                let record;
                let (resource_type, resource_id, row) = match row {
                    Some(row) => {
                        record = value::row(row.attributes).ok_or_else(Denied::failed)?;
                        (row.ty, Cow::Borrowed(row.id.as_str()), Some(&record))
                    }
                    None => (&self.0.tool_type, Cow::Borrowed(tool), None),
                };
                let request = evaluate::Request {
                    caller,
                    principal: Uid {
                        ty: self.0.caller_type.as_ref(),
                        id: Cow::Borrowed(caller.id()),
                    },
                    action: Uid {
                        ty: self.0.action_type.as_ref(),
                        id: Cow::Borrowed(tool),
                    },
                    resource: Uid {
                        ty: resource_type.as_ref(),
                        id: resource_id,
                    },
                    row,
                    context,
                };
                Ok(evaluate::decide(
                    action.policies.iter().map(|at| &compiled[*at]),
                    &request,
                ))
            }
            _ => self.cedar_outcome(caller, tool, action, context, row),
        }
    }

    /// [`outcome`](Self::outcome) by Cedar's authorizer.
    fn cedar_outcome(
        &self,
        caller: &Principal,
        tool: &str,
        action: &Action,
        context: &Val<'_>,
        row: Option<&Row<'_>>,
    ) -> Result<Outcome<'_>, Denied> {
        let context = request::context(context).ok_or_else(Denied::failed)?;
        let (resource, row) = match row {
            Some(row) => {
                let uid = EntityUid::from_type_name_and_id(
                    row.ty.clone(),
                    cedar_policy::EntityId::new(&row.id),
                );
                let entity = request::resource_entity(uid.clone(), row.attributes)
                    .ok_or_else(Denied::failed)?;
                (uid, Some(entity))
            }
            None => (
                EntityUid::from_type_name_and_id(
                    self.0.tool_type.clone(),
                    cedar_policy::EntityId::new(tool),
                ),
                None,
            ),
        };
        let principal =
            request::caller_entity(&self.0.caller_type, caller).ok_or_else(Denied::failed)?;
        let principal_uid = principal.uid();
        let entities = Entities::from_entities([principal].into_iter().chain(row), None)
            .map_err(|_| Denied::failed())?;
        let request = Request::new(principal_uid, action.uid.clone(), resource, context, None)
            .map_err(|_| Denied::failed())?;
        let response = self
            .0
            .authorizer
            .is_authorized(&request, &self.0.set, &entities);
        let diagnostics = response.diagnostics();
        let errors = diagnostics
            .errors()
            .map(|e| match e {
                cedar_policy::AuthorizationError::PolicyEvaluationError(e) => {
                    self.id_of(e.policy_id())
                }
            })
            .collect();
        Ok(match response.decision() {
            Decision::Allow => Outcome {
                errors,
                forbids: Vec::new(),
                permitted: true,
            },
            Decision::Deny => Outcome {
                errors,
                forbids: diagnostics.reason().map(|id| self.id_of(id)).collect(),
                permitted: false,
            },
        })
    }

    fn id_of(&self, id: &PolicyId) -> &str {
        // Every policy has an @id (`build` refuses one without).
        self.0.ids.get(id).map_or("", String::as_str)
    }
}

impl fmt::Debug for Policies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policies")
            .field("ids", &self.0.ids.values().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The context of a call (a record of its typed arguments), borrowed from them.
pub(crate) struct Context<'a>(Val<'a>, &'a Action);

/// A call's context kept past its arguments, for [`authorize`].
#[derive(Clone)]
pub(crate) struct CallContext(Val<'static>);

impl Context<'_> {
    /// The same context, owning its values; `Err` as [`Policies::context`] when it holds what
    /// no argument is (an entity).
    pub(crate) fn into_static(self) -> Result<CallContext, Denied> {
        self.0
            .into_static()
            .map(CallContext)
            .ok_or_else(Denied::failed)
    }
}

/// A row being decided on: its declared type, id and attributes.
struct Row<'a> {
    ty: &'a EntityTypeName,
    id: String,
    attributes: &'a [(&'static str, Attribute)],
}

/// Which evaluator decides.
#[derive(Clone, Copy)]
enum Engine {
    /// `evaluate.rs` when it takes every policy, else Cedar's authorizer.
    Chosen,
    /// Cedar's authorizer (the tests compare the two).
    #[cfg_attr(not(test), allow(dead_code))]
    Cedar,
}

/// What the guard leaves in the request context of a call decided by policies, for
/// [`authorize`]: the tool and the call's context.
#[derive(Clone)]
pub(crate) struct CallPolicy {
    pub tool: &'static str,
    /// The call's context, as the policies decided on it.
    pub context: CallContext,
    pub client: Option<std::net::IpAddr>,
}

/// Checks that the caller may use `row` in this call: the policies are asked with the tool's
/// action, `row` as the resource, and the call's input as the context. A tool calls it on the
/// rows it loads (`policy::authorize(&ctx, &caller, &note)?`), with the `Principal` it was
/// handed: any other (one made from input, one kept from an earlier call) is refused, as
/// `sql!` refuses it. Without policies, or outside a guarded call, it refuses too: a tool that
/// asks expects an answer. A refusal is audited as `policy_denied`, naming the row.
pub fn authorize<R: PolicyResource>(
    ctx: &rmcp::service::RequestContext<rmcp::RoleServer>,
    caller: &Principal,
    row: &R,
) -> Result<(), ToolError> {
    let security = crate::Security::from_request(ctx);
    let (Some(security), Some(call)) = (security, ctx.extensions.get::<CallPolicy>()) else {
        return Err(Denied::failed().to_tool_error());
    };
    let decided = match security.policies() {
        Some(policies) if caller.is_the_caller() => {
            policies.decide_resource(caller, call.tool, &call.context.0, row)
        }
        _ => Err(Denied::failed()),
    };
    decided.map_err(|denied| {
        let resource = format!("{}::{}", R::TYPE, row.id());
        security.emit(&crate::audit::SecurityEvent::PolicyDenied {
            tool: call.tool,
            issuer: caller.issuer(),
            subject: caller.subject(),
            policies: denied.policies(),
            resource: Some(&resource),
            client: call.client,
        });
        denied.to_tool_error()
    })
}

/// A test that the policies in the file `path` (relative to the crate's `Cargo.toml`) fit the
/// tools of `tools` and the callers' `attributes` (and the resource types after them):
/// `cargo test` fails, naming each policy and what is wrong, before a server with them runs.
/// Attributes before the name go on the test (`#[should_panic]` for a file meant to fail). See
/// [the module](crate::policy) for an example.
#[macro_export]
macro_rules! policy_test {
    ($(#[$meta:meta])* $name:ident, $tools:expr, $attributes:expr, $path:literal $(, $resource:ty)* $(,)?) => {
        #[test]
        $(#[$meta])*
        fn $name() {
            let text = ::core::include_str!(::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), "/", $path));
            let built = $crate::policy::Policies::builder(&$tools)
                .attributes(&$attributes)
                $(.resource::<$resource>())*
                .build(text);
            if let ::core::result::Result::Err(error) = built {
                ::core::panic!("{}: {}", $path, error);
            }
        }
    };
}
