//! Security events: every authentication failure, denial and call.
//!
//! Each [`SecurityEvent`] is emitted as a `tracing` event with target `mcp_secure::audit` and
//! stable field names (so any subscriber, JSON lines or OpenTelemetry, can take it), and handed
//! to every [`AuditSink`] installed with [`crate::SecurityBuilder::audit_sink`], such as
//! [`JsonLinesSink`].
//!
//! Events name principals (issuer, subject, client id) but never carry tokens, keys, arguments or
//! secrets; validation failures list fields and rules, not values. Strings a client controls
//! are escaped ([`escape`]) so that a newline or an ANSI escape cannot forge a log line.
//!
//! The cause behind an `internal` or `unavailable` incident id is an [`SecurityEvent::Incident`]:
//! handed to the sinks, and traced with target `mcp_secure` (not the audit target), so that
//! silencing the duplicated audit target does not hide it. Other operational errors (a limiter
//! or JWK Set failure, a sink that cannot write) are `tracing` errors with target `mcp_secure`.
//! [`crate::SecurityBuilder::build`] warns on standard error when neither a sink nor a
//! subscriber would record any of it.
//!
//! ```
//! use mcp_secure::audit::{AuditSink, SecurityEvent};
//! let event = SecurityEvent::RateLimited { tool: "notes_create", issuer: "api-key", subject: "alice", key: "api-key#alice", retry_after_ms: 1500, client: None };
//! let json = event.to_json();
//! assert_eq!(json["event"], "rate_limited");
//! assert_eq!(json["retry_after_ms"], 1500);
//! ```

use std::{
    borrow::Cow,
    fmt,
    io::Write,
    net::IpAddr,
    sync::Mutex,
    time::{SystemTime, UNIX_EPOCH},
};

use serde_json::{Value, json};

use crate::validate::Violation;

/// One security decision or call. More kinds may be added: match with a `_` arm.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SecurityEvent<'a> {
    /// A request's credentials were missing or refused (HTTP layer).
    AuthenticationFailed {
        /// Why, in the server's words: `no bearer token`, `unknown key`, `expired`, ...
        reason: &'a str,
        /// The request path.
        path: &'a str,
        /// The client's address, when known ([`crate::http::ClientAddress`]).
        client: Option<IpAddr>,
    },
    /// A client address spent its failed authentications: its requests are refused (`429`)
    /// before any verifier runs, until `retry_after_ms` has passed (HTTP layer).
    AuthenticationThrottled {
        /// The client's address.
        client: IpAddr,
        /// The request path.
        path: &'a str,
        /// How long until it may try again.
        retry_after_ms: u64,
    },
    /// A tool that needs a scope was called without any principal (e.g. stdio without a key).
    Unauthenticated {
        /// The tool.
        tool: &'a str,
        /// The caller's address, when the call came over HTTP ([`crate::http::ClientAddress`]).
        client: Option<IpAddr>,
    },
    /// The caller lacks the tool's scope.
    AuthorizationDenied {
        /// The tool.
        tool: &'a str,
        /// The caller's issuer ([`crate::auth::Principal::issuer`]).
        issuer: &'a str,
        /// The caller.
        subject: &'a str,
        /// The scope the tool needs.
        required_scope: &'a str,
        /// The scopes the caller holds.
        held_scopes: &'a [String],
        /// The caller's address, when the call came over HTTP ([`crate::http::ClientAddress`]).
        client: Option<IpAddr>,
    },
    /// The call was over its rate.
    RateLimited {
        /// The tool.
        tool: &'a str,
        /// The caller's issuer ([`crate::auth::Principal::issuer`]).
        issuer: &'a str,
        /// The caller.
        subject: &'a str,
        /// The rate key the limit applied to (the caller's id, its client, or empty for global).
        key: &'a str,
        /// When the next call would be admitted.
        retry_after_ms: u64,
        /// The caller's address, when the call came over HTTP ([`crate::http::ClientAddress`]).
        client: Option<IpAddr>,
    },
    /// A policy refused the call, or a row the tool asked about ([`crate::policy`]).
    PolicyDenied {
        /// The tool.
        tool: &'a str,
        /// The caller's issuer ([`crate::auth::Principal::issuer`]).
        issuer: &'a str,
        /// The caller.
        subject: &'a str,
        /// The `@id`s of the policies that decided (empty: none permits).
        policies: &'a [String],
        /// The row refused (`Note::42`), when a tool asked about one
        /// ([`crate::policy::authorize`]); none for the call itself.
        resource: Option<&'a str>,
        /// The caller's address, when the call came over HTTP ([`crate::http::ClientAddress`]).
        client: Option<IpAddr>,
    },
    /// A call hook refused a call the built-in checks admitted ([`crate::tool::CallHook`]).
    HookDenied {
        /// The tool.
        tool: &'a str,
        /// The caller's issuer ([`crate::auth::Principal::issuer`]).
        issuer: &'a str,
        /// The caller.
        subject: &'a str,
        /// The hook's name.
        hook: &'a str,
        /// The refusal's code (what the client got).
        code: &'a str,
        /// The caller's address, when the call came over HTTP ([`crate::http::ClientAddress`]).
        client: Option<IpAddr>,
    },
    /// The input failed validation.
    ValidationFailed {
        /// The tool.
        tool: &'a str,
        /// The caller's issuer ([`crate::auth::Principal::issuer`]).
        issuer: &'a str,
        /// The caller.
        subject: &'a str,
        /// What failed (fields and rules are logged, values never).
        violations: &'a [Violation],
        /// The caller's address, when the call came over HTTP ([`crate::http::ClientAddress`]).
        client: Option<IpAddr>,
    },
    /// The tool ran.
    ToolCalled {
        /// The tool.
        tool: &'a str,
        /// The caller's issuer ([`crate::auth::Principal::issuer`]).
        issuer: &'a str,
        /// The caller.
        subject: &'a str,
        /// The caller's OAuth client, if any.
        client_id: Option<&'a str>,
        /// `ok`, or the error code the tool returned.
        outcome: &'a str,
        /// How long it ran.
        duration_ms: u64,
        /// The caller's address, when the call came over HTTP ([`crate::http::ClientAddress`]).
        client: Option<IpAddr>,
    },
    /// The tool panicked or failed internally; the details are under `incident` in the log.
    ToolFailed {
        /// The tool.
        tool: &'a str,
        /// The incident id the client was given.
        incident: &'a str,
    },
    /// A request's `Origin` was not allowed.
    OriginRefused {
        /// The refused origin.
        origin: &'a str,
        /// The client's address, when known.
        client: Option<IpAddr>,
    },
    /// A request's `Host` was not one the server answers to (DNS rebinding, or a request for
    /// another virtual host), or was missing or ambiguous (`""`).
    HostRefused {
        /// The refused host.
        host: &'a str,
        /// The client's address, when known.
        client: Option<IpAddr>,
    },
    /// An `internal` or `unavailable` error was given to a client under an incident id: the
    /// cause, for the operator (the client sees only the id). Traced with target `mcp_secure`,
    /// so that silencing the audit target does not hide it.
    Incident {
        /// The error code the client got (`internal`, `unavailable`).
        code: &'a str,
        /// The incident id the client was given.
        incident: &'a str,
        /// What happened, in the server's words.
        cause: &'a str,
    },
    /// API keys were reloaded ([`crate::auth::ApiKeyFile`]), or a reload was refused and the
    /// keys were kept.
    KeysReloaded {
        /// How many keys are loaded now.
        entries: usize,
        /// Why the reload was refused (the entry at fault, never a key), if it was.
        refused: Option<&'a str>,
    },
    /// A legacy session was not opened, or not served: its caller holds as many as allowed
    /// (`too many sessions`), or the session registry could not answer (HTTP layer).
    SessionRefused {
        /// Why, in the server's words.
        reason: &'a str,
        /// The request path.
        path: &'a str,
        /// The client's address, when known ([`crate::http::ClientAddress`]).
        client: Option<IpAddr>,
    },
    /// The process was confined by the kernel at start-up, to this level
    /// ([`crate::sandbox`]): recorded once, so the log says what a tool's bug could reach.
    Sandboxed {
        /// `off`, `best-effort` or `require`.
        mode: &'a str,
        /// The Landlock ABI used (0: none).
        landlock_abi: u32,
        /// Whether files are confined to the declared paths.
        filesystem: bool,
        /// Whether TCP bind and connect are confined to the declared ports.
        network: bool,
        /// Whether the seccomp filter is in place.
        seccomp: bool,
        /// Whether signals and abstract unix sockets are scoped to the process.
        signals_scoped: bool,
        /// Whether the process is non-dumpable (its `/proc` files belong to root).
        non_dumpable: bool,
        /// What was asked and is not enforced.
        missing: &'a [String],
    },
    /// A security backend (rate limiter, database) could not decide.
    BackendUnavailable {
        /// Which backend.
        backend: &'a str,
        /// The tool being called.
        tool: &'a str,
        /// Whether the call was let through anyway (`fail_open`).
        fail_open: bool,
    },
}

impl<'a> SecurityEvent<'a> {
    /// The event's stable name (its `event` field).
    pub fn name(&self) -> &'static str {
        match self {
            SecurityEvent::AuthenticationFailed { .. } => "authentication_failed",
            SecurityEvent::AuthenticationThrottled { .. } => "authentication_throttled",
            SecurityEvent::Unauthenticated { .. } => "unauthenticated",
            SecurityEvent::AuthorizationDenied { .. } => "authorization_denied",
            SecurityEvent::RateLimited { .. } => "rate_limited",
            SecurityEvent::ValidationFailed { .. } => "validation_failed",
            SecurityEvent::PolicyDenied { .. } => "policy_denied",
            SecurityEvent::HookDenied { .. } => "hook_denied",
            SecurityEvent::ToolCalled { .. } => "tool_called",
            SecurityEvent::ToolFailed { .. } => "tool_failed",
            SecurityEvent::OriginRefused { .. } => "origin_refused",
            SecurityEvent::HostRefused { .. } => "host_refused",
            SecurityEvent::SessionRefused { .. } => "session_refused",
            SecurityEvent::Sandboxed { .. } => "sandboxed",
            SecurityEvent::BackendUnavailable { .. } => "backend_unavailable",
            SecurityEvent::KeysReloaded { .. } => "keys_reloaded",
            SecurityEvent::Incident { .. } => "incident",
        }
    }

    /// The event as a JSON object with stable keys, `ts` (Unix milliseconds) and `event` first.
    pub fn to_json(&self) -> Value {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut v = json!({ "ts": ts, "event": self.name() });
        let fields = match self {
            SecurityEvent::AuthenticationFailed { reason, path, .. } => {
                json!({ "reason": reason, "path": path })
            }
            SecurityEvent::AuthenticationThrottled {
                path,
                retry_after_ms,
                ..
            } => {
                json!({ "path": path, "retry_after_ms": retry_after_ms })
            }
            SecurityEvent::Unauthenticated { tool, .. } => json!({ "tool": tool }),
            SecurityEvent::AuthorizationDenied {
                tool,
                issuer,
                subject,
                required_scope,
                held_scopes,
                ..
            } => {
                json!({ "tool": tool, "issuer": issuer, "subject": subject, "required_scope": required_scope, "held_scopes": held_scopes })
            }
            SecurityEvent::RateLimited {
                tool,
                issuer,
                subject,
                key,
                retry_after_ms,
                ..
            } => {
                json!({ "tool": tool, "issuer": issuer, "subject": subject, "key": key, "retry_after_ms": retry_after_ms })
            }
            SecurityEvent::ValidationFailed {
                tool,
                issuer,
                subject,
                violations,
                ..
            } => {
                let failed: Vec<Value> = violations
                    .iter()
                    .map(|v| json!({ "field": v.field, "rule": v.rule }))
                    .collect();
                json!({ "tool": tool, "issuer": issuer, "subject": subject, "violations": failed })
            }
            SecurityEvent::PolicyDenied {
                tool,
                issuer,
                subject,
                policies,
                resource,
                ..
            } => {
                json!({ "tool": tool, "issuer": issuer, "subject": subject, "policies": policies, "resource": resource })
            }
            SecurityEvent::HookDenied {
                tool,
                issuer,
                subject,
                hook,
                code,
                ..
            } => {
                json!({ "tool": tool, "issuer": issuer, "subject": subject, "hook": hook, "code": code })
            }
            SecurityEvent::ToolCalled {
                tool,
                issuer,
                subject,
                client_id,
                outcome,
                duration_ms,
                ..
            } => {
                json!({ "tool": tool, "issuer": issuer, "subject": subject, "client_id": client_id, "outcome": outcome, "duration_ms": duration_ms })
            }
            SecurityEvent::ToolFailed { tool, incident } => {
                json!({ "tool": tool, "incident": incident })
            }
            SecurityEvent::Incident {
                code,
                incident,
                cause,
            } => json!({ "code": code, "incident": incident, "cause": cause }),
            SecurityEvent::OriginRefused { origin, .. } => json!({ "origin": origin }),
            SecurityEvent::HostRefused { host, .. } => json!({ "host": host }),
            SecurityEvent::SessionRefused { reason, path, .. } => {
                json!({ "reason": reason, "path": path })
            }
            SecurityEvent::Sandboxed {
                mode,
                landlock_abi,
                filesystem,
                network,
                seccomp,
                signals_scoped,
                non_dumpable,
                missing,
            } => {
                json!({ "mode": mode, "landlock_abi": landlock_abi, "filesystem": filesystem, "network": network, "seccomp": seccomp, "signals_scoped": signals_scoped, "non_dumpable": non_dumpable, "missing": missing })
            }
            SecurityEvent::BackendUnavailable {
                backend,
                tool,
                fail_open,
            } => {
                json!({ "backend": backend, "tool": tool, "fail_open": fail_open })
            }
            SecurityEvent::KeysReloaded { entries, refused } => {
                json!({ "entries": entries, "refused": refused })
            }
        };
        if let (Value::Object(out), Value::Object(fields)) = (&mut v, fields) {
            out.extend(fields);
            if let Some(client) = self.client_address() {
                out.insert("client_address".into(), json!(client));
            }
        }
        v
    }

    /// The `authorization_denied` event of `principal` calling `tool` without `scope`: what the
    /// HTTP layer's scope pre-check and the tool guard both record.
    pub fn authorization_denied(
        tool: &'a str,
        principal: &'a crate::auth::Principal,
        scope: &'a str,
        client: Option<IpAddr>,
    ) -> Self {
        SecurityEvent::AuthorizationDenied {
            tool,
            issuer: principal.issuer(),
            subject: principal.subject(),
            required_scope: scope,
            held_scopes: principal.scopes(),
            client,
        }
    }

    /// The address of the client the event is about, when it is known.
    pub fn client_address(&self) -> Option<IpAddr> {
        match *self {
            SecurityEvent::AuthenticationThrottled { client, .. } => Some(client),
            SecurityEvent::AuthenticationFailed { client, .. }
            | SecurityEvent::OriginRefused { client, .. }
            | SecurityEvent::HostRefused { client, .. }
            | SecurityEvent::SessionRefused { client, .. }
            | SecurityEvent::Unauthenticated { client, .. }
            | SecurityEvent::AuthorizationDenied { client, .. }
            | SecurityEvent::RateLimited { client, .. }
            | SecurityEvent::ValidationFailed { client, .. }
            | SecurityEvent::PolicyDenied { client, .. }
            | SecurityEvent::HookDenied { client, .. }
            | SecurityEvent::ToolCalled { client, .. } => client,
            _ => None,
        }
    }
}

/// A destination for security events, installed with [`crate::SecurityBuilder::audit_sink`].
pub trait AuditSink: Send + Sync + 'static {
    /// Records one event. Called on the request's task: keep it quick (buffer, or hand off).
    fn record(&self, event: &SecurityEvent<'_>);
}

/// A closure is a sink: `Security::builder().audit_sink(|e: &SecurityEvent<'_>| ...)`.
impl<F: Fn(&SecurityEvent<'_>) + Send + Sync + 'static> AuditSink for F {
    fn record(&self, event: &SecurityEvent<'_>) {
        self(event)
    }
}

/// Writes each event as one line of JSON. Every character that is not printable (controls,
/// C1, bidi and invisible characters, tag characters, line and paragraph separators) is written
/// as a JSON `\u` escape, so a value can neither start a new line nor hide or reorder text in
/// a viewer; the line parses back to the same values.
///
/// ```
/// use mcp_secure::audit::{AuditSink, JsonLinesSink, SecurityEvent};
/// let sink = JsonLinesSink::new(Vec::new());
/// sink.record(&SecurityEvent::OriginRefused { origin: "https://evil.example\n{\"event\":\"forged\"}", client: None });
/// let out = String::from_utf8(sink.into_inner()).unwrap();
/// assert_eq!(out.lines().count(), 1);
/// ```
pub struct JsonLinesSink<W: Write + Send + 'static> {
    writer: Mutex<W>,
}

impl<W: Write + Send + 'static> JsonLinesSink<W> {
    /// A sink writing to `writer`.
    pub fn new(writer: W) -> Self {
        Self {
            writer: Mutex::new(writer),
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.writer.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

impl JsonLinesSink<std::io::Stderr> {
    /// A sink writing to standard error.
    pub fn stderr() -> Self {
        Self::new(std::io::stderr())
    }
}

impl JsonLinesSink<std::fs::File> {
    /// A sink appending to the file at `path` (created with mode 0600 on Unix).
    pub fn file(path: impl AsRef<std::path::Path>) -> std::io::Result<Self> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        Ok(Self::new(options.open(path)?))
    }
}

impl<W: Write + Send + 'static> AuditSink for JsonLinesSink<W> {
    fn record(&self, event: &SecurityEvent<'_>) {
        let mut line = json_line(&event.to_json());
        line.push('\n');
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        // An audit line that cannot be written is reported once to tracing; the call goes on.
        if let Err(e) = writer
            .write_all(line.as_bytes())
            .and_then(|()| writer.flush())
        {
            tracing::error!(target: "mcp_secure", error = %e, "audit sink write failed");
        }
    }
}

/// `s` with control characters (newlines, ESC, bidi controls, ...) written as `\u{..}`, for
/// strings a client controls that go into a text log.
///
/// ```
/// use mcp_secure::audit::escape;
/// assert_eq!(escape("alice"), "alice");
/// assert_eq!(escape("a\nb\u{1b}[31m"), "a\\u{a}b\\u{1b}[31m");
/// ```
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(Escaped(s).to_string())
}

fn needs_escape(c: char) -> bool {
    c.is_control() || crate::sanitize::is_invisible(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `value` as JSON text in which every character [`escape`] would escape is a `\u` escape
/// (serde_json escapes only C0 controls, quotes and backslashes).
fn json_line(value: &Value) -> String {
    let json = value.to_string();
    // Printable ASCII needs nothing (serde_json has escaped the C0 controls): one byte loop
    // decides most lines.
    if json.bytes().all(|b| (0x20..0x7f).contains(&b)) || !json.chars().any(needs_escape) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if needs_escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The most characters of one client-chosen string a `tracing` event or span carries, once
/// escaped: the OTLP export and text logs are not the place for a client's kilobytes.
pub(crate) const MAX_TRACED_CHARS: usize = 256;

/// A client-chosen string as `tracing` events and spans carry it: [`escape`]d, a backslash
/// doubled (so that an escape cannot be forged by writing one), and cut, escapes included, at
/// [`MAX_TRACED_CHARS`] characters with `…`.
pub(crate) struct Traced<'a>(pub(crate) &'a str);

impl fmt::Display for Traced<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut written = 0;
        let mut piece = String::new();
        for c in self.0.chars() {
            piece.clear();
            if needs_escape(c) {
                fmt::Write::write_fmt(&mut piece, format_args!("\\u{{{:x}}}", c as u32))?;
            } else if c == '\\' {
                piece.push_str("\\\\");
            } else {
                piece.push(c);
            }
            let len = piece.chars().count();
            if written + len > MAX_TRACED_CHARS {
                return f.write_str("…");
            }
            f.write_str(&piece)?;
            written += len;
        }
        Ok(())
    }
}

/// [`escape`] as it is written out: the `tracing` events below carry this, so a string is
/// escaped only if a subscriber records the event, and without an intermediate `String`.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some((at, c)) = rest.char_indices().find(|&(_, c)| needs_escape(c)) {
            f.write_str(&rest[..at])?;
            write!(f, "\\u{{{:x}}}", c as u32)?;
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// Emits `event` to `tracing` (target `mcp_secure::audit`) and to each of `sinks`; what
/// [`Security::emit`](crate::Security::emit) does with its sinks.
pub fn emit_to(sinks: &[std::sync::Arc<dyn AuditSink>], event: &SecurityEvent<'_>) {
    trace::trace(event);
    for sink in sinks {
        sink.record(event);
    }
}

#[cfg(test)]
mod tests;
mod trace;
