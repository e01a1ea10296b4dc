//! Call hooks run last, only on calls the built-in checks admitted, in the order installed; a
//! refusal stops the call with the hook's code and is audited as `hook_denied`.

use std::sync::{Arc, Mutex};

use mcp_secure::{
    Security,
    audit::SecurityEvent,
    auth::{Principal, ScopeCatalog, ScopeDecl},
    rate::{RateLimit, RateSpec},
    tool::{Access, CallHook, HookCall, HookDenial, HookFuture, ToolPolicy, admit},
};
use serde_json::{Value, json};

#[derive(mcp_secure::SecureInput, Debug)]
struct Amount {
    #[mcp(range(min = 1, max = 100))]
    amount: i64,
}

static SCOPES: ScopeCatalog = ScopeCatalog::new(&[ScopeDecl {
    name: "pay",
    description: "Pay.",
    implies: &[],
}]);

static PAY: ToolPolicy = ToolPolicy::new(
    "pay",
    Access::Scope("pay", &SCOPES),
    RateLimit::Limited(RateSpec::per_minute(4)),
)
.with_destructive(true);

type Seen = Arc<Mutex<Vec<String>>>;

/// Records each call it sees; refuses amounts over `max` with `code`.
struct Quota {
    name: &'static str,
    max: i64,
    code: &'static str,
    seen: Seen,
}

impl CallHook for Quota {
    fn name(&self) -> &'static str {
        self.name
    }
    fn check<'a>(&'a self, call: &'a HookCall<'a>) -> HookFuture<'a> {
        Box::pin(async move {
            let amount = call.arguments["amount"].as_i64().unwrap_or_default();
            self.seen.lock().unwrap().push(format!(
                "{} {} {amount}",
                self.name,
                call.caller.subject()
            ));
            if amount > self.max {
                return Err(HookDenial::new(self.code, "over the quota kept elsewhere"));
            }
            Ok(())
        })
    }
}

fn args(v: Value) -> Option<serde_json::Map<String, Value>> {
    v.as_object().cloned()
}

#[tokio::test]
async fn hooks_run_last_in_order_and_only_refuse() {
    let seen = Seen::default();
    let events = Arc::new(Mutex::new(Vec::<Value>::new()));
    let sink = events.clone();
    let security = Security::builder()
        .hook(Quota {
            name: "first",
            max: 50,
            code: "quota_exceeded",
            seen: seen.clone(),
        })
        .hook(Quota {
            name: "second",
            max: 20,
            code: "Not A Code!",
            seen: seen.clone(),
        })
        .audit_sink(move |e: &SecurityEvent<'_>| sink.lock().unwrap().push(e.to_json()))
        .build()
        .unwrap();
    let alice = || Some(Principal::new("alice", ["pay"]));
    let pay = |who, v| admit::<Amount>(&security, &PAY, who, None, args(v));

    // Admitted by both.
    assert!(pay(alice(), json!({"amount": 10})).await.is_ok());
    // The first refuses: the second never runs.
    let refused = pay(alice(), json!({"amount": 60})).await.unwrap_err();
    assert_eq!(refused.code(), "quota_exceeded");
    // The second refuses; a code that is not a stable word becomes `hook_denied`.
    let refused = pay(alice(), json!({"amount": 30})).await.unwrap_err();
    assert_eq!(refused.code(), "hook_denied");
    // Refused by the built-in checks (scope, validation, the rate limit: 4 a minute): no hook
    // sees it.
    let bob = Some(Principal::new("bob", ["other"]));
    assert_eq!(
        pay(bob, json!({"amount": 1})).await.unwrap_err().code(),
        "insufficient_scope"
    );
    let invalid = pay(alice(), json!({"amount": 1000})).await.unwrap_err();
    assert_eq!(invalid.code(), "invalid_input");
    let limited = pay(alice(), json!({"amount": 1})).await.unwrap_err();
    assert_eq!(limited.code(), "rate_limited");
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "first alice 10",
            "second alice 10",
            "first alice 60",
            "first alice 30",
            "second alice 30",
        ]
    );
    let denied: Vec<(Value, Value)> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "hook_denied")
        .map(|e| (e["hook"].clone(), e["code"].clone()))
        .collect();
    assert_eq!(
        denied,
        [
            (json!("first"), json!("quota_exceeded")),
            (json!("second"), json!("hook_denied")),
        ]
    );
}
