//! The request body, read up to a limit.
//!
//! Read here rather than by tower-http's `RequestBodyLimitLayer`, which answers a declared
//! oversized body with a plain-text `413` and fails a streamed one midway as a body error: the
//! scope check needs the whole body anyway, the `413` must be the JSON-RPC error MCP clients
//! show, and a body still arriving is drained (up to four times the limit) so that the client
//! reads the answer instead of a reset connection.

use super::*;

/// The body, up to `limit` bytes. A larger body is read on and thrown away (up to four times
/// the limit), so that the `413` reaches a client still sending instead of a reset connection.
pub(super) async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, StatusCode> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut kept = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| StatusCode::BAD_REQUEST)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len();
        if total <= limit {
            kept.extend_from_slice(&data);
        } else if total > limit.saturating_mul(4) {
            break;
        }
    }
    if total > limit {
        Err(StatusCode::PAYLOAD_TOO_LARGE)
    } else {
        Ok(kept.into())
    }
}

/// The whole body if it is at most `limit` bytes; `None` (the rest left unread) if it is
/// larger or broken.
pub(super) async fn read_prefix(body: Body, limit: usize) -> Option<axum::body::Bytes> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut kept = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.ok()?.into_data() else {
            continue;
        };
        if kept.len() + data.len() > limit {
            return None;
        }
        kept.extend_from_slice(&data);
    }
    Some(kept.into())
}
