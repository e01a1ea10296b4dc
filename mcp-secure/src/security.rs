//! The security configuration of one server, a cheap handle its guarded tools consult.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
};

use crate::{
    audit::{AuditSink, SecurityEvent},
    auth::Principal,
    rate::{MemoryLimiter, RateLimiter},
    validate::{HardLinks, PathRoot},
};

/// What a server's guarded tools consult on every call: the rate limiter (and whether its
/// failure refuses calls), the audit sinks, the principal of a local (stdio) session, and the
/// directories `SafePath` fields are confined to.
///
/// A handle: cloning it shares one configuration (an `Arc`). Build it once per server and hand
/// it to the entry point that serves: [`http::Endpoint`](crate::http::Endpoint) (or the
/// [`AuthLayer`](crate::http::AuthLayer) in front of rmcp's streamable HTTP service),
/// [`serve::stdio`](crate::serve::stdio) (or [`serve::over`](crate::serve::over) for
/// another transport). It reaches every request of every session: a new session does not
/// reset a caller's limits, and two servers in one process, each with its own handle, share
/// nothing. A guarded tool called without a handle (a server served by rmcp directly) refuses
/// the call rather than run it unchecked.
///
/// ```
/// use mcp_secure::{Security, auth::Principal, rate::MemoryLimiter};
/// let dir = tempfile::tempdir().unwrap();
/// let security = Security::builder()
///     .limiter(MemoryLimiter::new())
///     .local_principal(Principal::new("local-user", ["files:read"]))
///     .path_root("files", dir.path())
///     .build()
///     .unwrap();
/// assert_eq!(security.local_principal().unwrap().subject(), "local-user");
/// let other = Security::builder().build().unwrap();
/// assert!(other.local_principal().is_none(), "each server has its own");
/// ```
#[derive(Clone)]
pub struct Security(Arc<Inner>);

struct Inner {
    limiter: Arc<dyn RateLimiter>,
    limiter_fail_open: bool,
    default_max_output: usize,
    audit_sinks: Vec<Arc<dyn AuditSink>>,
    local_principal: Option<Principal>,
    path_roots: Vec<(String, PathRoot)>,
    request_states: rmcp::model::RequestStateCodec,
    #[cfg(feature = "policy")]
    policies: Option<crate::policy::Policies>,
    hooks: crate::tool::Hooks,
    #[cfg(feature = "otel")]
    client_trace_context: crate::otel::ClientTraceContext,
}

/// The shortest `requestState` key [`SecurityBuilder::request_state_key`] takes, in bytes.
pub const MIN_REQUEST_STATE_KEY: usize = rmcp::model::RequestStateCodec::MIN_KEY_LENGTH;

/// The result size cap of tools that declare none: 1 MiB of JSON.
pub const DEFAULT_MAX_OUTPUT: usize = 1 << 20;

impl Security {
    /// A builder with the defaults.
    pub fn builder() -> SecurityBuilder {
        SecurityBuilder::default()
    }

    /// The configuration a guarded call found in its request: put there by the
    /// [`AuthLayer`](crate::http::AuthLayer) over HTTP, by
    /// [`serve::Secured`](crate::serve::Secured) otherwise.
    pub fn from_request(ctx: &rmcp::service::RequestContext<rmcp::RoleServer>) -> Option<&Self> {
        #[cfg(feature = "http")]
        if let Some(parts) = ctx.extensions.get::<http::request::Parts>() {
            return parts.extensions.get::<Security>();
        }
        ctx.extensions.get::<Security>()
    }

    /// Hands `event` to `tracing` (target `mcp_secure::audit`) and to every audit sink of this
    /// configuration.
    pub fn emit(&self, event: &SecurityEvent<'_>) {
        crate::audit::emit_to(self.audit_sinks(), event);
    }

    /// Whether a guarded call's `tool_called` event is recorded now: an audit sink is
    /// installed, or a `tracing` subscriber takes the audit target's `INFO` events. A call
    /// nobody records is neither timed (two clock reads) nor attributed.
    pub(crate) fn recording_calls(&self) -> bool {
        !self.0.audit_sinks.is_empty()
            || tracing::enabled!(target: "mcp_secure::audit", tracing::Level::INFO)
    }

    /// The rate limiter.
    pub fn limiter(&self) -> &dyn RateLimiter {
        &*self.0.limiter
    }

    /// Whether a call goes ahead when the limiter fails (default: no, it is refused).
    pub fn limiter_fail_open(&self) -> bool {
        self.0.limiter_fail_open
    }

    /// The sinks every security event is handed to.
    pub fn audit_sinks(&self) -> &[Arc<dyn AuditSink>] {
        &self.0.audit_sinks
    }

    /// The result size cap of tools that declare none.
    pub fn default_max_output(&self) -> usize {
        self.0.default_max_output
    }

    /// The caller of requests that did not come over HTTP (stdio).
    pub fn local_principal(&self) -> Option<&Principal> {
        self.0.local_principal.as_ref()
    }

    /// What a call's span does with its client's trace context.
    #[cfg(feature = "otel")]
    pub(crate) fn client_trace_context(&self) -> crate::otel::ClientTraceContext {
        self.0.client_trace_context
    }

    /// The hooks every admitted call passes, in order ([`SecurityBuilder::hook`]).
    pub(crate) fn hooks(&self) -> &crate::tool::Hooks {
        &self.0.hooks
    }

    /// The policies every guarded call is decided by, if any ([`SecurityBuilder::policies`]).
    #[cfg(feature = "policy")]
    pub fn policies(&self) -> Option<&crate::policy::Policies> {
        self.0.policies.as_ref()
    }

    /// What seals and opens the `requestState` of tools that ask for input
    /// ([`crate::tool::InputRound`]).
    pub(crate) fn request_states(&self) -> &rmcp::model::RequestStateCodec {
        &self.0.request_states
    }

    /// Every registered root, with its name.
    #[cfg(all(feature = "sandbox", target_os = "linux"))]
    pub(crate) fn path_roots(&self) -> impl Iterator<Item = (&str, &PathRoot)> {
        self.0.path_roots.iter().map(|(n, r)| (n.as_str(), r))
    }

    /// The directory registered as `name`, held open.
    pub fn path_root(&self, name: &str) -> Option<&PathRoot> {
        self.0
            .path_roots
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, root)| root)
    }
}

impl Default for Security {
    /// An in-memory limiter that fails closed, no audit sink, no local principal and no path
    /// roots, without the warning [`SecurityBuilder::build`] prints.
    fn default() -> Self {
        SecurityBuilder::default().build_unchecked(Vec::new())
    }
}

impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Security")
            .field("limiter_fail_open", &self.0.limiter_fail_open)
            .field("local_principal", &self.0.local_principal)
            .field("path_roots", &self.0.path_roots)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Security`].
#[derive(Default)]
pub struct SecurityBuilder {
    limiter: Option<Arc<dyn RateLimiter>>,
    limiter_fail_open: bool,
    default_max_output: Option<usize>,
    audit_sinks: Vec<Arc<dyn AuditSink>>,
    local_principal: Option<Principal>,
    path_roots: Vec<(String, PathBuf, HardLinks)>,
    request_state_key: Option<secrecy::SecretSlice<u8>>,
    #[cfg(feature = "policy")]
    policies: Option<crate::policy::Policies>,
    hooks: crate::tool::Hooks,
    #[cfg(feature = "otel")]
    client_trace_context: crate::otel::ClientTraceContext,
}

/// Why [`SecurityBuilder::build`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityError {
    /// The `requestState` key is shorter than [`MIN_REQUEST_STATE_KEY`] bytes.
    ShortRequestStateKey,
    /// A path root is not an accessible directory.
    BadPathRoot {
        /// The root's name.
        name: String,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for SecurityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecurityError::ShortRequestStateKey => write!(
                f,
                "the requestState key must be at least {MIN_REQUEST_STATE_KEY} random bytes"
            ),
            SecurityError::BadPathRoot { name, reason } => {
                write!(f, "path root `{name}`: {reason}")
            }
        }
    }
}

impl std::error::Error for SecurityError {}

impl SecurityBuilder {
    /// Uses this rate-limit backend instead of the in-memory one.
    pub fn limiter(mut self, limiter: impl RateLimiter) -> Self {
        self.limiter = Some(Arc::new(limiter));
        self
    }

    /// Lets calls through when the limiter cannot decide (its store is down). The default is to
    /// refuse them; either way the failure is audited.
    pub fn limiter_fail_open(mut self, fail_open: bool) -> Self {
        self.limiter_fail_open = fail_open;
        self
    }

    /// The result size cap, in bytes of JSON, of tools that declare no `max_output` (default
    /// [`DEFAULT_MAX_OUTPUT`]). A larger result becomes an `output_too_large` error, never a
    /// truncated answer.
    pub fn default_max_output(mut self, bytes: usize) -> Self {
        self.default_max_output = Some(bytes);
        self
    }

    /// Hands every security event to `sink` too (besides `tracing`); may be called again to add
    /// more sinks.
    pub fn audit_sink(mut self, sink: impl AuditSink) -> Self {
        self.audit_sinks.push(Arc::new(sink));
        self
    }

    /// Decides every guarded call by `policies` too, after its input is validated and before
    /// the tool runs ([`crate::policy`]). Feature `policy`.
    #[cfg(feature = "policy")]
    pub fn policies(mut self, policies: crate::policy::Policies) -> Self {
        self.policies = Some(policies);
        self
    }

    /// What a call's span does with the trace context (`traceparent` in `_meta`) its client
    /// sends: by default it links to it ([`ClientTraceContext`](crate::otel::ClientTraceContext)
    /// says why). Feature `otel`.
    #[cfg(feature = "otel")]
    pub fn client_trace_context(mut self, how: crate::otel::ClientTraceContext) -> Self {
        self.client_trace_context = how;
        self
    }

    /// Runs `hook` on every call the built-in checks (and the policies) admitted, before the
    /// tool, after the hooks installed before it ([`crate::tool::CallHook`]).
    pub fn hook(mut self, hook: impl crate::tool::CallHook) -> Self {
        self.hooks.push(std::sync::Arc::new(hook));
        self
    }

    /// The caller of local (stdio) sessions, authenticated from start-up credentials.
    pub fn local_principal(mut self, principal: Principal) -> Self {
        self.local_principal = Some(principal);
        self
    }

    /// Registers `dir` as the root named `name` for `#[mcp(path(within = "name"))]` fields.
    /// It refuses regular files with more than one hard link ([`HardLinks::Refuse`]), for
    /// reading and writing alike: another of their names may be a file outside `dir`.
    pub fn path_root(mut self, name: impl Into<String>, dir: impl AsRef<Path>) -> Self {
        let root = (name.into(), dir.as_ref().to_owned(), HardLinks::Refuse);
        self.path_roots.push(root);
        self
    }

    /// Registers `dir` like [`path_root`](Self::path_root), serving files with more than one
    /// hard link too ([`HardLinks::Allow`]): for a directory whose files are linked on purpose
    /// (a deduplicated mirror, `rsync --link-dest` snapshots) and where nobody who could plant
    /// a link to a file elsewhere can write.
    ///
    /// ```
    /// use mcp_secure::{Security, validate::HardLinks};
    /// let (files, mirror) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    /// let security = Security::builder()
    ///     .path_root("files", files.path())
    ///     .path_root_allowing_hard_links("mirror", mirror.path())
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(security.path_root("files").unwrap().hard_links(), HardLinks::Refuse);
    /// assert_eq!(security.path_root("mirror").unwrap().hard_links(), HardLinks::Allow);
    /// ```
    pub fn path_root_allowing_hard_links(
        mut self,
        name: impl Into<String>,
        dir: impl AsRef<Path>,
    ) -> Self {
        let root = (name.into(), dir.as_ref().to_owned(), HardLinks::Allow);
        self.path_roots.push(root);
        self
    }

    /// The key that seals the `requestState` of tools that ask the client for input
    /// ([`crate::tool::InputRound`]); at least [`MIN_REQUEST_STATE_KEY`] random bytes. Without
    /// one, each `build` draws a fresh key: states then survive neither a restart nor a hop to
    /// another replica, so replicas behind one load balancer need the same key.
    pub fn request_state_key(mut self, key: secrecy::SecretSlice<u8>) -> Self {
        self.request_state_key = Some(key);
        self
    }

    fn build_unchecked(self, path_roots: Vec<(String, PathRoot)>) -> Security {
        use secrecy::ExposeSecret;
        let request_states = match &self.request_state_key {
            Some(key) => {
                rmcp::model::RequestStateCodec::new_unchecked(key.expose_secret().to_vec())
            }
            None => crate::tool::random_codec(),
        };
        Security(Arc::new(Inner {
            limiter: self
                .limiter
                .unwrap_or_else(|| Arc::new(MemoryLimiter::new())),
            limiter_fail_open: self.limiter_fail_open,
            default_max_output: self.default_max_output.unwrap_or(DEFAULT_MAX_OUTPUT),
            audit_sinks: self.audit_sinks,
            local_principal: self.local_principal,
            path_roots,
            request_states,
            #[cfg(feature = "policy")]
            policies: self.policies,
            hooks: self.hooks,
            #[cfg(feature = "otel")]
            client_trace_context: self.client_trace_context,
        }))
    }

    /// Checks the configuration (each path root is opened now and held open). Warns on
    /// standard error when neither an audit sink nor a `tracing` subscriber (installed before
    /// this call) would record security events.
    pub fn build(mut self) -> Result<Security, SecurityError> {
        if let Some(key) = &self.request_state_key {
            use secrecy::ExposeSecret;
            if key.expose_secret().len() < MIN_REQUEST_STATE_KEY {
                return Err(SecurityError::ShortRequestStateKey);
            }
        }
        let mut roots = Vec::with_capacity(self.path_roots.len());
        for (name, dir, hard_links) in std::mem::take(&mut self.path_roots) {
            if !dir.is_dir() {
                return Err(SecurityError::BadPathRoot {
                    name,
                    reason: "not a directory".into(),
                });
            }
            match PathRoot::open(&dir) {
                Ok(root) => roots.push((name, root.with_hard_links(hard_links))),
                Err(e) => {
                    return Err(SecurityError::BadPathRoot {
                        name,
                        reason: e.kind().to_string(),
                    });
                }
            }
        }
        if self.audit_sinks.is_empty()
            && !tracing::enabled!(target: "mcp_secure", tracing::Level::ERROR)
        {
            // Nothing else would say it: without a sink or a subscriber the events are lost.
            eprintln!(
                "mcp-secure: no audit sink is installed and no tracing subscriber takes the `mcp_secure` targets, so security events and the causes behind incident ids will be lost; add `Security::builder().audit_sink(..)`, or install a subscriber before `build()`"
            );
        }
        Ok(self.build_unchecked(roots))
    }
}
