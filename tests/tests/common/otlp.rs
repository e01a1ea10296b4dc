//! The OTLP receiver of the telemetry tests (`tests/python/otlp_receiver.py`, which decodes
//! with OpenTelemetry's own protobuf types), and readers of what it received.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use base64::Engine;
use serde_json::Value;

/// The Python interpreter with `opentelemetry-proto`, or `None` (outside CI) to skip.
pub fn python() -> Option<std::ffi::OsString> {
    let python = std::env::var_os("MCP_SECURE_PYTHON");
    if python.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "MCP_SECURE_PYTHON is not set; .ci/run sets it to a virtual environment with tests/python/requirements.txt"
        );
        eprintln!("SKIPPED: set MCP_SECURE_PYTHON to run the OTLP export tests");
    }
    python
}

/// The receiver, killed on drop; its exports arrive on `exports`.
pub struct Receiver {
    child: Child,
    pub url: String,
    pub exports: mpsc::Receiver<Value>,
}

impl Receiver {
    pub fn start(python: std::ffi::OsString) -> Receiver {
        let script = format!("{}/python/otlp_receiver.py", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new(python)
            .arg(script)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the OTLP receiver");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("the receiver's port").unwrap();
        let port = first.strip_prefix("listening ").expect("`listening PORT`");
        let (tx, exports) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                // The receiver's threads may interleave two long lines: skip what does not parse.
                let Ok(export) = serde_json::from_str(&line) else {
                    continue;
                };
                if tx.send(export).is_err() {
                    break;
                }
            }
        });
        Receiver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            exports,
        }
    }

    /// Exports received until `done` holds of all of them, or `None` after `within`.
    pub fn until_or_none(
        &self,
        within: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> (bool, Vec<Value>) {
        let deadline = Instant::now() + within;
        let mut got = Vec::new();
        while !done(&got) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.exports.recv_timeout(left) {
                Ok(export) => got.push(export),
                Err(_) => return (false, got),
            }
        }
        (true, got)
    }

    pub fn until(&self, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let (ok, got) = self.until_or_none(Duration::from_secs(30), done);
        assert!(
            ok,
            "the exports never held what was expected: {} exports",
            got.len()
        );
        got
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn spans(exports: &[Value]) -> Vec<&Value> {
    exports
        .iter()
        .filter(|e| e["signal"] == "traces")
        .flat_map(|e| e["message"]["resourceSpans"].as_array().unwrap())
        .flat_map(|r| r["scopeSpans"].as_array().unwrap())
        .flat_map(|s| s["spans"].as_array().unwrap())
        .collect()
}

pub fn logs(exports: &[Value]) -> Vec<&Value> {
    exports
        .iter()
        .filter(|e| e["signal"] == "logs")
        .flat_map(|e| e["message"]["resourceLogs"].as_array().unwrap())
        .flat_map(|r| r["scopeLogs"].as_array().unwrap())
        .flat_map(|s| s["logRecords"].as_array().unwrap())
        .collect()
}

/// Every string in `value`, keys included.
pub fn strings(value: &Value) -> Box<dyn Iterator<Item = &str> + '_> {
    match value {
        Value::String(s) => Box::new(std::iter::once(s.as_str())),
        Value::Array(items) => Box::new(items.iter().flat_map(strings)),
        Value::Object(map) => Box::new(
            map.iter()
                .flat_map(|(k, v)| std::iter::once(k.as_str()).chain(strings(v))),
        ),
        _ => Box::new(std::iter::empty()),
    }
}

pub fn attr(item: &Value, key: &str) -> Option<String> {
    let found = item["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)?;
    let value = found["value"].as_object()?.values().next()?;
    Some(match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The spans whose request id starts with `prefix` (ids may be cut, or escaped).
pub fn spans_with_id<'a>(spans: &[&'a Value], prefix: &str) -> Vec<&'a Value> {
    spans
        .iter()
        .copied()
        .filter(|s| attr(s, "jsonrpc.request.id").is_some_and(|id| id.starts_with(prefix)))
        .collect()
}

pub fn raw(export: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(export["raw"].as_str().unwrap())
        .unwrap()
}

pub fn hex_of_base64(b64: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
