//! Legacy sessions (`Mcp-Session-Id`) bound to the principal that opened them.

use super::*;

/// The header naming a streamable HTTP session.
pub(super) const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// The session a request names (`Mcp-Session-Id`), as [`admit`] found it.
pub(super) enum Session {
    /// None named, or one not bound (yet) to a principal.
    Unbound,
    /// Bound to the request's principal.
    Own,
}

pub(super) fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(MCP_SESSION_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Remembers which principal a new session belongs to; forgets it when the session is closed.
pub(super) fn bind_session(
    config: &Config,
    subject: Option<String>,
    asked: Option<String>,
    closing: bool,
    response: &HeaderMap,
) {
    const MAX_SESSIONS: usize = 100_000;
    let mut sessions = config.sessions.lock().unwrap_or_else(|p| p.into_inner());
    if closing {
        if let Some(id) = asked {
            sessions.remove(&id);
        }
        return;
    }
    if let (Some(subject), Some(id)) = (subject, session_id(response))
        && !sessions.contains_key(&id)
    {
        if sessions.len() >= MAX_SESSIONS {
            // Bounded: forget an arbitrary binding rather than grow without end (rmcp expires
            // idle sessions on its side too).
            if let Some(old) = sessions.keys().next().cloned() {
                sessions.remove(&old);
            }
        }
        sessions.insert(id, subject);
    }
}
