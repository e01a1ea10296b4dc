//! Call hooks: checks a declarative policy cannot state (a person's approval, a quota kept in
//! another system), run by the guard at one fixed place: after authentication, the scope, the
//! rate limit, the policies and input validation, before the tool. A hook can only refuse a
//! call the built-in checks admitted; it never sees a call they refused, and cannot admit
//! one. Several hooks run in the order they were installed, each only if the one before
//! admitted; a refusal or a hook's failure is audited as `hook_denied`, and the call refused.

use std::{borrow::Cow, fmt, future::Future, net::IpAddr, pin::Pin, sync::Arc};

use rmcp::model::JsonObject;

use super::{ToolError, ToolPolicy};
use crate::auth::Principal;

/// A call the built-in checks admitted, as a hook sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct HookCall<'a> {
    /// The tool's policy: its name, scope, rate and annotations (`read_only`, ...).
    pub tool: &'static ToolPolicy,
    /// The authenticated caller (anonymous only for public tools).
    pub caller: &'a Principal,
    /// The arguments, as validated.
    pub arguments: &'a JsonObject,
    /// The caller's address, when the call came over HTTP.
    pub client: Option<IpAddr>,
}

/// Why a hook refused a call: a stable code the client gets (`approval_required`,
/// `quota_exceeded`) and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookDenial {
    code: Cow<'static, str>,
    message: String,
}

impl HookDenial {
    /// A refusal with `code` (lowercase ASCII letters, digits and `_`, 1 to 64 of them; any
    /// other code becomes `hook_denied`, so that a client and a log always get a stable word)
    /// and `message`.
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        let code = code.into();
        let stable = (1..=64).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        Self {
            code: if stable {
                code
            } else {
                Cow::Borrowed("hook_denied")
            },
            message: message.into(),
        }
    }

    /// Its code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Its message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for HookDenial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for HookDenial {}

/// The future a hook answers with.
pub type HookFuture<'a> = Pin<Box<dyn Future<Output = Result<(), HookDenial>> + Send + 'a>>;

/// A check the guard runs on every admitted call, after the built-in checks and before the
/// tool ([`SecurityBuilder::hook`](crate::SecurityBuilder::hook)).
///
/// ```
/// use mcp_secure::tool::{CallHook, HookCall, HookDenial, HookFuture};
///
/// /// Destructive calls wait for a person's approval, kept in another system.
/// struct Approvals;
///
/// impl CallHook for Approvals {
///     fn name(&self) -> &'static str {
///         "approvals"
///     }
///     fn check<'a>(&'a self, call: &'a HookCall<'a>) -> HookFuture<'a> {
///         Box::pin(async move {
///             if call.tool.destructive() == Some(true) {
///                 return Err(HookDenial::new("approval_required", "ask an operator to approve this call"));
///             }
///             Ok(())
///         })
///     }
/// }
///
/// let security = mcp_secure::Security::builder().hook(Approvals).build().unwrap();
/// # let _ = security;
/// ```
pub trait CallHook: Send + Sync + 'static {
    /// Its name in audit events (`hook_denied`'s `hook`): ASCII, stable.
    fn name(&self) -> &'static str;

    /// Admits the call (`Ok`) or refuses it. A hook that cannot decide (its backend is down)
    /// refuses: the call is not made.
    fn check<'a>(&'a self, call: &'a HookCall<'a>) -> HookFuture<'a>;
}

/// The hooks of a server, in the order they run.
#[derive(Clone, Default)]
pub(crate) struct Hooks(Vec<Arc<dyn CallHook>>);

impl Hooks {
    pub(crate) fn push(&mut self, hook: Arc<dyn CallHook>) {
        self.0.push(hook);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Runs each hook in order; the first refusal stops the call: `(hook, refusal)`.
    pub(crate) async fn check(
        &self,
        call: &HookCall<'_>,
    ) -> Result<(), (&'static str, HookDenial)> {
        for hook in &self.0 {
            hook.check(call)
                .await
                .map_err(|denial| (hook.name(), denial))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|h| h.name()))
            .finish()
    }
}

impl HookDenial {
    /// The tool error a client gets, naming the hook's code.
    pub(crate) fn to_tool_error(&self) -> ToolError {
        ToolError::new(self.code.clone(), self.message.clone())
    }
}
