//! Security events as `tracing` events (target `mcp_secure::audit`), each string a client
//! controls escaped as it is written. Each is named for its event (`name:`), which an
//! OpenTelemetry log record carries as its `eventName` (by default the source file and line).

use super::{SecurityEvent, Traced, escape};

pub(super) fn trace(event: &SecurityEvent<'_>) {
    let name = event.name();
    let client = event
        .client_address()
        .map(|c| c.to_string())
        .unwrap_or_default();
    let client = client.as_str();
    match *event {
        SecurityEvent::ToolCalled {
            tool,
            issuer,
            subject,
            client_id,
            outcome,
            duration_ms,
            ..
        } => {
            let client_id = Traced(client_id.unwrap_or_default());
            tracing::info!(name: "tool_called", target: "mcp_secure::audit", event = name, tool, issuer = %Traced(issuer), subject = %Traced(subject), client_id = %client_id, outcome, duration_ms, client_address = client);
        }
        SecurityEvent::AuthenticationFailed { reason, path, .. } => {
            tracing::warn!(name: "authentication_failed", target: "mcp_secure::audit", event = name, reason, path = %Traced(path), client_address = client);
        }
        SecurityEvent::AuthenticationThrottled {
            path,
            retry_after_ms,
            ..
        } => {
            tracing::warn!(name: "authentication_throttled", target: "mcp_secure::audit", event = name, client_address = client, path = %Traced(path), retry_after_ms);
        }
        SecurityEvent::Unauthenticated { tool, .. } => {
            tracing::warn!(name: "unauthenticated", target: "mcp_secure::audit", event = name, tool, client_address = client)
        }
        SecurityEvent::SessionRefused { reason, path, .. } => {
            tracing::warn!(name: "session_refused", target: "mcp_secure::audit", event = name, reason, path = %Traced(path), client_address = client);
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
            let missing = missing.join("; ");
            tracing::info!(name: "sandboxed", target: "mcp_secure::audit", event = name, mode, landlock_abi, filesystem, network, seccomp, signals_scoped, non_dumpable, missing = %Traced(&missing));
        }
        SecurityEvent::AuthorizationDenied {
            tool,
            issuer,
            subject,
            required_scope,
            held_scopes,
            ..
        } => {
            let held = held_scopes.join(" ");
            tracing::warn!(name: "authorization_denied", target: "mcp_secure::audit", event = name, tool, issuer = %Traced(issuer), subject = %Traced(subject), required_scope, held_scopes = %Traced(&held), client_address = client);
        }
        SecurityEvent::RateLimited {
            tool,
            issuer,
            subject,
            key,
            retry_after_ms,
            ..
        } => {
            tracing::warn!(name: "rate_limited", target: "mcp_secure::audit", event = name, tool, issuer = %Traced(issuer), subject = %Traced(subject), key = %Traced(key), retry_after_ms, client_address = client);
        }
        SecurityEvent::PolicyDenied {
            tool,
            issuer,
            subject,
            policies,
            resource,
            ..
        } => {
            // Policy ids are checked ASCII (`policy::Policies`): nothing to escape.
            let resource = Traced(resource.unwrap_or_default());
            tracing::warn!(name: "policy_denied", target: "mcp_secure::audit", event = name, tool, issuer = %Traced(issuer), subject = %Traced(subject), policies = %policies.join(","), resource = %resource, client_address = client);
        }
        SecurityEvent::HookDenied {
            tool,
            issuer,
            subject,
            hook,
            code,
            ..
        } => {
            tracing::warn!(name: "hook_denied", target: "mcp_secure::audit", event = name, tool, issuer = %Traced(issuer), subject = %Traced(subject), hook = %Traced(hook), code, client_address = client);
        }
        SecurityEvent::ValidationFailed {
            tool,
            issuer,
            subject,
            violations,
            ..
        } => {
            let failed: Vec<String> = violations
                .iter()
                .map(|v| format!("{}:{}", escape(&v.field), v.rule))
                .collect();
            tracing::warn!(name: "validation_failed", target: "mcp_secure::audit", event = name, tool, issuer = %Traced(issuer), subject = %Traced(subject), violations = %failed.join(","), client_address = client);
        }
        SecurityEvent::ToolFailed { tool, incident } => {
            tracing::error!(name: "tool_failed", target: "mcp_secure::audit", event = name, tool, incident)
        }
        SecurityEvent::Incident {
            code,
            incident,
            cause,
        } => {
            tracing::error!(target: "mcp_secure", incident, code, cause = %Traced(cause), "tool failed");
        }
        SecurityEvent::OriginRefused { origin, .. } => {
            tracing::warn!(name: "origin_refused", target: "mcp_secure::audit", event = name, origin = %Traced(origin), client_address = client)
        }
        SecurityEvent::HostRefused { host, .. } => {
            tracing::warn!(name: "host_refused", target: "mcp_secure::audit", event = name, host = %Traced(host), client_address = client)
        }
        SecurityEvent::BackendUnavailable {
            backend,
            tool,
            fail_open,
        } => {
            tracing::error!(name: "backend_unavailable", target: "mcp_secure::audit", event = name, backend, tool, fail_open);
        }
        SecurityEvent::KeysReloaded { entries, refused } => match refused {
            None => {
                tracing::info!(name: "keys_reloaded", target: "mcp_secure::audit", event = name, entries)
            }
            Some(refused) => {
                tracing::error!(name: "keys_reloaded", target: "mcp_secure::audit", event = name, entries, refused)
            }
        },
    }
}
