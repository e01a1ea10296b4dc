use super::*;

#[test]
fn json_lines_cannot_be_forged() {
    let sink = JsonLinesSink::new(Vec::new());
    let subject = "mallory\n{\"event\":\"tool_called\",\"subject\":\"admin\"}\u{1b}[2K";
    sink.record(&SecurityEvent::RateLimited {
        tool: "t",
        issuer: "i",
        subject,
        key: subject,
        retry_after_ms: 5,
        client: None,
    });
    let out = String::from_utf8(sink.into_inner()).unwrap();
    assert_eq!(out.lines().count(), 1);
    let parsed: Value = serde_json::from_str(out.trim_end()).unwrap();
    assert_eq!(parsed["subject"], subject, "the value survives, escaped");
    assert!(!out.contains('\u{1b}'));
}

/// Formats every field of every event, as a text subscriber would.
struct Capture(std::sync::Arc<Mutex<String>>);

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Line<'a>(&'a mut String);
        impl tracing::field::Visit for Line<'_> {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
                use fmt::Write as _;
                let _ = write!(self.0, "{}={value:?} ", field.name());
            }
        }
        let mut out = self.0.lock().unwrap();
        event.record(&mut Line(&mut out));
        out.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Takes the events of `self.0` and more severe levels, and keeps nothing.
struct AtLeast(tracing::Level);

impl tracing::Subscriber for AtLeast {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= self.0
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(self.0.into())
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn calls_are_timed_and_attributed_when_their_event_is_taken() {
    // Without an audit sink, the subscriber decides.
    let security = crate::Security::default();
    assert!(!security.recording_calls(), "no subscriber");
    tracing::subscriber::with_default(AtLeast(tracing::Level::WARN), || {
        assert!(!security.recording_calls(), "tool_called is an INFO event");
    });
    tracing::subscriber::with_default(AtLeast(tracing::Level::INFO), || {
        assert!(security.recording_calls());
    });
    tracing::subscriber::with_default(Capture(Default::default()), || {
        assert!(security.recording_calls());
    });
    let sinked = crate::Security::builder()
        .audit_sink(|_: &SecurityEvent<'_>| {})
        .build()
        .unwrap();
    assert!(sinked.recording_calls(), "a sink takes every event");
}

#[test]
fn trace_events_escape_what_clients_control() {
    let out = std::sync::Arc::new(Mutex::new(String::new()));
    let hostile = "mallory\nevent=tool_called subject=admin\u{1b}[2K\u{202e}";
    tracing::subscriber::with_default(Capture(out.clone()), || {
        trace::trace(&SecurityEvent::ToolCalled {
            tool: "t",
            issuer: "i",
            subject: hostile,
            client_id: Some(hostile),
            outcome: "ok",
            duration_ms: 1,
            client: None,
        });
        trace::trace(&SecurityEvent::RateLimited {
            tool: "t",
            issuer: "i",
            subject: "plain",
            key: hostile,
            retry_after_ms: 5,
            client: None,
        });
    });
    let out = out.lock().unwrap();
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{202e}'),
        "{out}"
    );
    let escaped = "mallory\\u{a}event=tool_called subject=admin\\u{1b}[2K\\u{202e}";
    assert!(
        out.lines()
            .next()
            .unwrap()
            .contains(&format!("subject={escaped} ")),
        "{out}"
    );
    assert!(out.contains(&format!("client_id={escaped} ")), "{out}");
    assert!(out.contains(&format!("key={escaped} ")), "{out}");
    assert!(out.contains("subject=plain "), "{out}");
}

#[test]
fn json_lines_escape_every_invisible_character() {
    let sink = JsonLinesSink::new(Vec::new());
    let hostile = "x\u{9b}2J\u{202e}\u{1b}[31m\u{200b}\u{e0041}\u{7f}\u{2028}\u{feff}y";
    sink.record(&SecurityEvent::ToolCalled {
        tool: "t",
        issuer: "i",
        subject: hostile,
        client_id: Some(hostile),
        outcome: "ok",
        duration_ms: 1,
        client: None,
    });
    let out = String::from_utf8(sink.into_inner()).unwrap();
    assert!(out.is_ascii(), "{out:?}");
    assert!(out.contains(r"\u009b2J\u202e\u001b[31m\u200b\udb40\udc41\u007f\u2028\ufeff"));
    let parsed: Value = serde_json::from_str(out.trim_end()).unwrap();
    assert_eq!(parsed["subject"], hostile, "the value survives, escaped");
}

#[test]
fn escaping_covers_controls_and_bidi() {
    assert_eq!(escape("ok"), "ok");
    assert_eq!(escape("\r\n"), "\\u{d}\\u{a}");
    assert_eq!(escape("\u{202E}x"), "\\u{202e}x");
    assert_eq!(escape("tab\there"), "tab\\u{9}here");
}

#[test]
fn validation_events_carry_fields_and_rules_only() {
    let violations = [Violation {
        field: "password".into(),
        rule: "length",
        message: "must have at most 8 characters".into(),
    }];
    let json = SecurityEvent::ValidationFailed {
        tool: "t",
        issuer: "i",
        subject: "s",
        violations: &violations,
        client: None,
    }
    .to_json();
    assert_eq!(
        json["violations"],
        json!([{ "field": "password", "rule": "length" }])
    );
}

/// A request path (which `http` lets carry raw UTF-8) with characters hidden by property: the
/// audit line and the text escape write each as an escape, and the path parses back whole.
#[test]
fn hidden_characters_of_a_path_are_escaped() {
    let path =
        "/mcp\u{FE0F}\u{E0100}\u{AD}\u{2800}\u{3164}\u{E0041}\u{206A}\u{FFF9}\u{1D173}\u{378}";
    let sink = JsonLinesSink::new(Vec::new());
    sink.record(&SecurityEvent::AuthenticationFailed {
        reason: "no bearer token",
        path,
        client: None,
    });
    let out = String::from_utf8(sink.into_inner()).unwrap();
    for c in path.chars().skip(4) {
        assert!(!out.contains(c), "{c:?} in {out:?}");
        assert!(!escape(path).contains(c), "{c:?}");
    }
    let parsed: Value = serde_json::from_str(out.trim_end()).unwrap();
    assert_eq!(parsed["path"], path);
    let escaped = escape(path);
    assert!(escaped.starts_with("/mcp\\u{fe0f}"), "{escaped}");
}
