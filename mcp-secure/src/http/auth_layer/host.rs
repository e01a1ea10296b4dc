//! `Host` names: a server whose resource is on a loopback address answers loopback names only
//! (DNS rebinding).

use axum::body::Body;
use http::{Response, StatusCode, header};

use super::{Config, error_response};
use crate::audit::SecurityEvent;

/// Refuses a request to a loopback server whose `Host` is not a loopback name (`403`).
// An answer, not an error value: it is sent as is, as `screen`'s are.
#[allow(clippy::result_large_err)]
pub(super) fn check(config: &Config, request: &http::request::Parts) -> Result<(), Response<Body>> {
    if !config.loopback {
        return Ok(());
    }
    let host = request
        .headers
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or("\u{0}"))
        .or(request.uri.host());
    if let Some(host) = host
        && !is_loopback_host(host_name(host))
    {
        config.emit(&SecurityEvent::HostRefused { host });
        return Err(error_response(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this server answers on loopback names only (localhost, 127.0.0.1, [::1])",
        ));
    }
    Ok(())
}

/// `localhost`, `127.0.0.1` (any `127.x`), `::1`/`[::1]`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The name part of a `Host` header (`name[:port]`, `[v6][:port]`).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}
