//! The server's own messages in an HTTP response's event stream, cleaned where they leave.
//!
//! A tool sends log messages, progress and requests through its peer, and rmcp's streamable
//! HTTP service writes them into the response's `text/event-stream` (the call's own stream, or
//! a session's standalone one) without passing any handler; and rmcp refuses some requests
//! itself, quoting them, as a JSON body. [`layer`] puts [`CleanedEvents`] around every such
//! body: each `data:` line, or the JSON body, that holds a notification, a request or an error
//! has its strings cleaned ([`super::clean_value`]); answers pass as they were made (a tool's
//! cleaned by its guard, which knows `raw_output`; every other by [`super::Cleaned`]).

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use axum::body::Bytes;
use http::{Response, header};
use hyper::body::{Body, Frame, SizeHint};
use serde_json::Value;

/// What [`layer`] does to a response.
type Wrap<B> = fn(Response<B>) -> Response<CleanedEvents<B>>;

/// Wraps the body of every `text/event-stream` response in [`CleanedEvents`].
pub(crate) fn layer<B>() -> tower::util::MapResponseLayer<Wrap<B>> {
    tower::util::MapResponseLayer::new(wrap::<B>)
}

fn wrap<B>(response: Response<B>) -> Response<CleanedEvents<B>> {
    let media = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    let kind = match media {
        Some(t) if t.eq_ignore_ascii_case("text/event-stream") => Kind::Events,
        // A JSON-RPC message as the whole body: rmcp's own refusals (a header that disagrees
        // with the body, quoting it), which no handler made.
        Some(t) if t.eq_ignore_ascii_case("application/json") => Kind::Json,
        _ => Kind::Other,
    };
    response.map(|inner| CleanedEvents {
        inner,
        partial: Vec::new(),
        kind,
    })
}

/// What a body holds, as its content type says.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Server-sent events, cleaned line by line.
    Events,
    /// One JSON message, cleaned whole (gathered up to [`JSON_LIMIT`]).
    Json,
    /// Anything else, passed as it is.
    Other,
}

/// The most of a JSON body gathered to be cleaned: rmcp's refusals are a few hundred bytes.
/// A larger one (an answer, cleaned where it was made) passes as it is.
const JSON_LIMIT: usize = 64 * 1024;

pin_project_lite::pin_project! {
    /// An event stream whose server-started messages are cleaned, line by line; any other
    /// body passes as it is.
    pub(crate) struct CleanedEvents<B> {
        #[pin]
        inner: B,
        // The start of a line whose end has not arrived yet, or the JSON gathered so far.
        partial: Vec<u8>,
        kind: Kind,
    }
}

impl<B: Body<Data = Bytes>> Body for CleanedEvents<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        match *this.kind {
            Kind::Other => return this.inner.poll_frame(cx),
            Kind::Json => loop {
                match ready!(this.inner.as_mut().poll_frame(cx)) {
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) if this.partial.len() + data.len() <= JSON_LIMIT => {
                            this.partial.extend_from_slice(&data);
                        }
                        Ok(data) => {
                            // Too large to be a refusal: the rest passes as it is.
                            *this.kind = Kind::Other;
                            let mut all = std::mem::take(this.partial);
                            all.extend_from_slice(&data);
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(all)))));
                        }
                        Err(frame) => return Poll::Ready(Some(Ok(frame))),
                    },
                    Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                    None if this.partial.is_empty() => return Poll::Ready(None),
                    None => {
                        let body = std::mem::take(this.partial);
                        let body = clean_message(&body).unwrap_or(body);
                        return Poll::Ready(Some(Ok(Frame::data(Bytes::from(body)))));
                    }
                }
            },
            Kind::Events => {}
        }
        loop {
            match ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        if let Some(out) = clean_lines(this.partial, data) {
                            return Poll::Ready(Some(Ok(Frame::data(out))));
                        }
                    }
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                None if this.partial.is_empty() => return Poll::Ready(None),
                None => {
                    // A last line without its end: cleaned all the same.
                    let mut last = std::mem::take(this.partial);
                    if let Some(cleaned) = clean_line(&last) {
                        last = cleaned;
                    }
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from(last)))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream() && self.partial.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        match self.kind {
            // Cleaning changes lengths.
            Kind::Events | Kind::Json => SizeHint::default(),
            Kind::Other => self.inner.size_hint(),
        }
    }
}

/// The complete lines of `partial` followed by `data`, cleaned; what follows the last line end
/// stays in `partial`. `None` when no line is complete yet.
fn clean_lines(partial: &mut Vec<u8>, data: Bytes) -> Option<Bytes> {
    let Some(end) = data.iter().rposition(|&b| b == b'\n').map(|i| i + 1) else {
        partial.extend_from_slice(&data);
        return None;
    };
    // rmcp writes whole events per frame: then nothing is copied unless a line is cleaned.
    if partial.is_empty() && end == data.len() && !data.split(|&b| b == b'\n').any(needs_cleaning) {
        return Some(data);
    }
    let mut text = std::mem::take(partial);
    text.extend_from_slice(&data[..end]);
    partial.extend_from_slice(&data[end..]);
    let mut out = Vec::with_capacity(text.len());
    for line in text.split_inclusive(|&b| b == b'\n') {
        let (body, newline) = line.split_at(line.len() - usize::from(line.ends_with(b"\n")));
        match clean_line(body) {
            Some(cleaned) => out.extend_from_slice(&cleaned),
            None => out.extend_from_slice(body),
        }
        out.extend_from_slice(newline);
    }
    Some(Bytes::from(out))
}

fn needs_cleaning(line: &[u8]) -> bool {
    data_of(line).is_some_and(|data| !is_answer(data))
}

/// The JSON of a `data:` line, without the one space the field may begin with.
fn data_of(line: &[u8]) -> Option<&[u8]> {
    let data = line.strip_prefix(b"data:")?;
    let data = data.strip_suffix(b"\r").unwrap_or(data);
    Some(data.strip_prefix(b" ").unwrap_or(data))
}

/// Whether `data` is an answer to a request, as rmcp writes them (`jsonrpc`, `id`, `result`):
/// passed without parsing. Anything else is parsed to see what it is.
fn is_answer(data: &[u8]) -> bool {
    let Some(rest) = data.strip_prefix(br#"{"jsonrpc":"2.0","id":"#) else {
        return data.is_empty();
    };
    let after_id = match rest.first() {
        Some(b'"') => {
            let mut i = 1;
            loop {
                match rest.get(i) {
                    Some(b'\\') => i += 2,
                    Some(b'"') => break i + 1,
                    Some(_) => i += 1,
                    None => return false,
                }
            }
        }
        _ => rest
            .iter()
            .position(|b| !(b.is_ascii_digit() || *b == b'-'))
            .unwrap_or(rest.len()),
    };
    rest[after_id..].starts_with(br#","result":"#)
}

/// The line with the strings of the message it carries cleaned; `None` if it stays as it is.
fn clean_line(line: &[u8]) -> Option<Vec<u8>> {
    let mut out = b"data: ".to_vec();
    out.extend_from_slice(&clean_message(data_of(line)?)?);
    Some(out)
}

/// The JSON-RPC message `data` with its strings cleaned, unless it is an answer; `None` if it
/// stays as it is.
fn clean_message(data: &[u8]) -> Option<Vec<u8>> {
    if is_answer(data) {
        return None;
    }
    let mut message: Value = serde_json::from_slice(data).ok()?;
    let object = message.as_object_mut()?;
    let changed = if object.contains_key("method") {
        object.get_mut("params").is_some_and(super::clean_value)
    } else if object.contains_key("result") {
        false
    } else {
        object.get_mut("error").is_some_and(super::clean_value)
    };
    if !changed {
        return None;
    }
    serde_json::to_vec(&message).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaned(text: &str) -> String {
        let mut partial = Vec::new();
        let out = clean_lines(&mut partial, Bytes::from(text.to_owned())).unwrap();
        assert!(partial.is_empty());
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn a_log_message_loses_its_hidden_characters_and_their_escapes() {
        let event = "id: 3\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"a\u{E0041}b \\u001b[2J \\\\u001b \u{202E}c\"}}\n\n";
        let out = cleaned(event);
        assert!(out.starts_with("id: 3\ndata: "), "{out}");
        // The escape of ESC is gone with its sequence; the text of one is neutralized.
        assert!(out.contains(r#""data":"ab  \\ufffd c""#), "{out}");
        assert!(out.ends_with("}\n\n"), "{out}");
    }

    #[test]
    fn answers_pass_as_they_were_made() {
        for event in [
            "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"t\":\"raw\u{202E}\"}}\n\n",
            "data: {\"jsonrpc\":\"2.0\",\"id\":\"a\\\"b\",\"result\":{\"t\":\"\\u001b\"}}\n\n",
            ": keep-alive\n\n",
            "data:\nretry: 3000\n\n",
        ] {
            assert_eq!(cleaned(event), event);
        }
        // Out of rmcp's order, an answer is recognized by parsing it.
        let reordered = "data: {\"id\":1,\"result\":{\"t\":\"\u{202E}\"},\"jsonrpc\":\"2.0\"}\n\n";
        assert_eq!(cleaned(reordered), reordered);
    }

    #[test]
    fn requests_and_errors_are_cleaned() {
        let request = "data: {\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"elicitation/create\",\"params\":{\"message\":\"x\u{200B}y\"}}\n";
        assert!(cleaned(request).contains(r#""message":"xy""#));
        let error = "data: {\"jsonrpc\":\"2.0\",\"id\":0,\"error\":{\"code\":1,\"message\":\"x\u{FE0F}y\"}}\n";
        assert!(cleaned(error).contains(r#""message":"xy""#));
        // An id made to look like the start of an answer does not skip the cleaning.
        let sneaky = "data: {\"jsonrpc\":\"2.0\",\"id\":\"1\\\",\\\"result\\\":\",\"method\":\"m\",\"params\":{\"a\":\"\u{200B}\"}}\n";
        assert!(
            cleaned(sneaky).contains(r#""params":{"a":""}"#),
            "{}",
            cleaned(sneaky)
        );
    }

    #[test]
    fn a_json_refusal_is_cleaned() {
        let refusal = "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32020,\"message\":\"header `x\\u001b]8;;https://evil\\u0007` \u{202E}\"}}";
        let out = String::from_utf8(clean_message(refusal.as_bytes()).unwrap()).unwrap();
        // Compared as JSON: the key order is serde_json's (sorted, or as sent when a
        // dependency turns on its `preserve_order`).
        let out: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            out,
            serde_json::json!({"error":{"code":-32020,"message":"header `x` "},"id":1,"jsonrpc":"2.0"})
        );
    }

    #[test]
    fn a_line_split_across_frames_is_cleaned_whole() {
        let event =
            "data: {\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"a\":\"x\u{200B}\"}}\n\n";
        let (first, second) = event.split_at(30);
        let mut partial = Vec::new();
        assert!(clean_lines(&mut partial, Bytes::from(first.to_owned())).is_none());
        let out = clean_lines(&mut partial, Bytes::from(second.to_owned())).unwrap();
        assert_eq!(
            String::from_utf8(out.to_vec()).unwrap(),
            "data: {\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"a\":\"x\"}}\n\n"
        );
    }
}
