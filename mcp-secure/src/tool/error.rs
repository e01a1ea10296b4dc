use std::{borrow::Cow, fmt};

use rmcp::{
    handler::server::tool::IntoCallToolResult,
    model::{CallToolResponse, CallToolResult, ContentBlock, MetaObject},
};
use serde_json::{Value, json};

use crate::validate::ValidationErrors;

/// The `_meta` key of a tool result that carries its [`ToolError`] (code, message and fields),
/// on every error result the guard or a tool sends.
pub const ERROR_META_KEY: &str = "io.github.mcp-secure/error";

/// An error a tool returns to its caller, with a stable code.
///
/// It reaches the client as a tool result with `isError: true`, a text block
/// `"<code>: <message>"` and the error object `{"code", "message", ...}` in
/// `_meta["io.github.mcp-secure/error"]` ([`ERROR_META_KEY`]), on every tool; a tool without an
/// `outputSchema` also has it as `structuredContent: {"error": {...}}` (a tool with one does
/// not: its structured content must conform to its schema). The guard uses the same shape for
/// its denials, so a client tells them apart by `code`:
///
/// | code | meaning | extra fields |
/// |---|---|---|
/// | `unauthenticated` | no valid credentials | |
/// | `insufficient_scope` | the caller lacks the tool's scope | `required_scope` |
/// | `rate_limited` | too many calls; retry later | `retry_after_ms` |
/// | `invalid_input` | the arguments failed validation | `violations: [{field, rule, message}]` |
/// | `unavailable` | a security backend (e.g. the limiter) could not decide | |
/// | `not_found`, `forbidden`, `conflict` | returned by tools | |
/// | `internal` | the tool failed; details are only in the server log | `incident` |
///
/// ```
/// use mcp_secure::ToolError;
/// let e = ToolError::not_found("note 7");
/// assert_eq!(e.code(), "not_found");
/// assert_eq!(e.to_string(), "not_found: note 7 was not found");
///
/// let e = ToolError::invalid("due", "after_start", "must be after `start`");
/// assert_eq!(e.code(), "invalid_input");
/// assert_eq!(e.detail("violations").unwrap()[0]["field"], "due");
/// ```
#[derive(Debug, Clone)]
pub struct ToolError {
    code: Cow<'static, str>,
    message: String,
    /// Boxed: a `Map` is an `IndexMap` when a dependency turns on serde_json's
    /// `preserve_order` (Cedar's does), which would make every `Result<_, ToolError>` large.
    details: Option<Box<serde_json::Map<String, Value>>>,
    /// The cause of an `internal` or `unavailable` error, for the server's records only: the
    /// guard hands it to the server's audit sinks; anywhere else it is traced when the error
    /// becomes a result.
    incident: Option<Box<Incident>>,
}

/// The server-side record of an incident: never sent to the client.
#[derive(Debug, Clone)]
pub(crate) struct Incident {
    pub(crate) code: &'static str,
    pub(crate) id: String,
    pub(crate) cause: String,
}

impl Incident {
    pub(crate) fn event(&self) -> crate::audit::SecurityEvent<'_> {
        crate::audit::SecurityEvent::Incident {
            code: self.code,
            incident: &self.id,
            cause: &self.cause,
        }
    }
}

impl ToolError {
    /// An error with a code of your own (lowercase `snake_case` by convention).
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            details: None,
            incident: None,
        }
    }

    /// `not_found`: `what` does not exist, or the caller may not know that it does.
    pub fn not_found(what: impl fmt::Display) -> Self {
        Self::new("not_found", format!("{what} was not found"))
    }

    /// `forbidden`: the caller may not do this to this object.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new("forbidden", message)
    }

    /// `conflict`: the request clashes with the current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new("conflict", message)
    }

    /// `invalid_input` for one field, for checks only the tool can make.
    pub fn invalid(field: &str, rule: &'static str, message: impl Into<String>) -> Self {
        let mut errors = ValidationErrors::new();
        errors.push_violation(crate::validate::Violation {
            field: field.to_owned(),
            rule,
            message: message.into(),
        });
        Self::from_validation(&errors)
    }

    /// `internal`: the tool failed. `cause` goes to the server log with an incident id; the
    /// client sees only the id, never the cause.
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self::incident("internal", "internal error", &cause)
    }

    /// `unavailable`: something the tool depends on (`what`: "the database", say) is down or
    /// busy, and the same call may succeed later. As for [`internal`](Self::internal), `cause`
    /// goes to the server log with an incident id and the client sees only `what` and the id.
    ///
    /// ```
    /// use mcp_secure::ToolError;
    /// let e = ToolError::unavailable("the database", "database is locked: /srv/notes.db");
    /// assert_eq!(e.code(), "unavailable");
    /// assert!(e.message().starts_with("the database is unavailable right now; try again later"));
    /// assert!(!e.message().contains("/srv"));
    /// ```
    pub fn unavailable(what: &str, cause: impl fmt::Display) -> Self {
        let message = format!("{what} is unavailable right now; try again later");
        Self::incident("unavailable", &message, &cause)
    }

    /// An error whose cause is recorded under a new incident id that the message names.
    fn incident(code: &'static str, message: &str, cause: &dyn fmt::Display) -> Self {
        let mut id = [0u8; 6];
        let incident = match getrandom::fill(&mut id) {
            Ok(()) => id.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            Err(_) => "unknown".to_owned(),
        };
        let mut error = Self::new(code, format!("{message} (incident {incident})"))
            .with_detail("incident", json!(incident));
        error.incident = Some(Box::new(Incident {
            code,
            id: incident,
            cause: cause.to_string(),
        }));
        error
    }

    /// The incident's record, taken out so that it is recorded once.
    pub(crate) fn take_incident(&mut self) -> Option<Box<Incident>> {
        self.incident.take()
    }

    /// Adds a field to the structured error.
    pub fn with_detail(mut self, key: &str, value: Value) -> Self {
        self.details
            .get_or_insert_with(Default::default)
            .insert(key.to_owned(), value);
        self
    }

    /// A field of the structured error, e.g. `incident` or `retry_after_ms`.
    pub fn detail(&self, key: &str) -> Option<&Value> {
        self.details.as_ref().and_then(|d| d.get(key))
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.code
    }

    pub(crate) fn code_cow(&self) -> Cow<'static, str> {
        self.code.clone()
    }

    /// The message for the caller.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn from_validation(errors: &ValidationErrors) -> Self {
        let n = errors.violations().len();
        let list = errors
            .violations()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        let message = format!(
            "{n} field{} failed validation: {list}",
            if n == 1 { "" } else { "s" }
        );
        Self::new("invalid_input", message).with_detail(
            "violations",
            serde_json::to_value(errors).unwrap_or_default(),
        )
    }

    /// The tool result this error becomes, cleaned ([`crate::sanitize`]): a message or detail
    /// may quote what a caller sent.
    pub fn to_result(&self) -> CallToolResult {
        let mut error = serde_json::Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        if let Some(details) = &self.details {
            error.extend((**details).clone());
        }
        let mut result = CallToolResult::error(vec![ContentBlock::text(self.to_string())]);
        let mut meta = serde_json::Map::new();
        meta.insert(ERROR_META_KEY.into(), Value::Object(error.clone()));
        result.meta = Some(MetaObject(meta));
        result.structured_content = Some(json!({ "error": error }));
        crate::sanitize::clean_result(&mut result);
        result
    }

    /// [`to_result`](Self::to_result) for a tool that declares an `outputSchema`: the error
    /// only in `_meta`, since `structuredContent` must conform to the schema (clients such as
    /// the TypeScript SDK check it even on an error result, and throw).
    pub fn to_result_for_schema(&self) -> CallToolResult {
        let mut result = self.to_result();
        result.structured_content = None;
        result
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ToolError {}

/// Outside a guarded tool (a plain rmcp `#[tool]`), an incident's cause goes to `tracing` only:
/// no server configuration is at hand to name its audit sinks.
impl IntoCallToolResult for ToolError {
    fn into_call_tool_result(mut self) -> Result<CallToolResponse, rmcp::ErrorData> {
        if let Some(incident) = self.take_incident() {
            crate::audit::emit_to(&[], &incident.event());
        }
        Ok(self.to_result().into())
    }
}

impl From<ValidationErrors> for ToolError {
    fn from(errors: ValidationErrors) -> Self {
        Self::from_validation(&errors)
    }
}
