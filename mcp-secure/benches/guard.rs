//! The guard alone — scope check, limiter decision, parsing and validation of a three-field
//! input — against the same checks written by hand, in the same run.
//!
//! `cargo bench -p mcp-secure --bench guard`
//!
//! Both sides get the caller and a fresh copy of the arguments (as rmcp hands them over), use
//! the same in-memory limiter and return the caller and the checked input (what the tool
//! gets); the hand-written side parses with serde (`deny_unknown_fields`) and checks the same
//! rules with plain code. Three hand-written baselines: a plain function with
//! `serde_json::from_value`, whose type errors do not say which field is wrong; the same as an
//! `async fn`, as checks must be to await a limiter that waits on I/O (the guard is one, for
//! the Redis limiter); and a plain function with `serde_path_to_error`, whose errors name the
//! field, as the guard's do.
//!
//! Each sample times 1 000 calls: left to choose, divan timed single calls here (its first,
//! cold sample is long enough to pass its minimum), and the timer's own cost then weighed on
//! both sides.

mod common;

use std::{
    sync::LazyLock,
    task::{Context, Poll, Waker},
};

use mcp_secure::{
    Security,
    auth::Principal,
    prelude::*,
    rate::{MemoryLimiter, RateLimiter, RateSpec},
    tool::admit,
};
use rmcp::{ServerHandler, handler::server::router::tool::ToolRouter, tool_handler};
use serde::Deserialize;
use serde_json::{Map, Value, json};

mcp_secure::scopes! {
    /// Write notes.
    "notes:write",
}

/// The input: three validated fields.
#[derive(SecureInput)]
pub struct NewNote {
    /// 1 to 200 characters.
    #[mcp(length(min = 1, max = 200))]
    pub title: String,
    /// An email address.
    #[mcp(email)]
    pub owner: String,
    /// 1 to 5.
    #[mcp(range(min = 1, max = 5))]
    pub priority: u8,
}

#[derive(Clone)]
struct Server {
    tool_router: ToolRouter<Self>,
}

#[mcp_tools]
impl Server {
    /// Create a note.
    #[mcp_tool(scope = "notes:write", rate = "4000000000/s")]
    async fn notes_create(&self, input: NewNote) -> String {
        input.title
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Server {}

/// The same input for the hand-written side.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainNote {
    title: String,
    owner: String,
    priority: u8,
}

fn arguments() -> Map<String, Value> {
    json!({"title": "Groceries for the week", "owner": "alice@example.com", "priority": 3})
        .as_object()
        .unwrap()
        .clone()
}

fn poll_once<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("in-memory decisions never wait"),
    }
}

static CALLER: LazyLock<Principal> = LazyLock::new(|| Principal::new("alice", ["notes:write"]));
/// The server's configuration: an in-memory limiter, as the hand-written baseline's.
static SECURITY: LazyLock<Security> = LazyLock::new(Security::default);

/// The guard's checks on one call: the caller and the input, what the tool gets.
fn guarded(
    policy: &'static mcp_secure::tool::ToolPolicy,
    caller: Principal,
    arguments: Map<String, Value>,
) -> Result<(Principal, NewNote), Box<mcp_secure::ToolError>> {
    poll_once(admit::<NewNote>(
        &SECURITY,
        policy,
        Some(caller),
        None,
        Some(arguments),
    ))
}

/// What a careful author writes without mcp-secure: the checks, then the caller and the input
/// for the tool, as the guard returns them.
fn hand_written(
    limiter: &MemoryLimiter,
    caller: Principal,
    arguments: Map<String, Value>,
) -> Result<(Principal, PlainNote), &'static str> {
    authorize_by_hand(limiter, &caller)?;
    let note: PlainNote =
        serde_json::from_value(Value::Object(arguments)).map_err(|_| "invalid_input")?;
    Ok((caller, check_by_hand(note)?))
}

/// The same, its parse errors naming the field at fault (`serde_path_to_error`), as the
/// guard's do.
fn hand_written_naming_field(
    limiter: &MemoryLimiter,
    caller: Principal,
    arguments: Map<String, Value>,
) -> Result<(Principal, PlainNote), String> {
    authorize_by_hand(limiter, &caller)?;
    let note: PlainNote = serde_path_to_error::deserialize(Value::Object(arguments))
        .map_err(|e| format!("{}: {}", e.path(), e.inner()))?;
    Ok((caller, check_by_hand(note)?))
}

/// The same as an `async fn`, awaiting the limiter's decision.
async fn hand_written_async(
    limiter: &MemoryLimiter,
    caller: Principal,
    arguments: Map<String, Value>,
) -> Result<(Principal, PlainNote), &'static str> {
    if !caller.scopes().iter().any(|s| s == "notes:write") {
        return Err("insufficient_scope");
    }
    let rate = RateSpec::per_second(4_000_000_000);
    if !matches!(
        limiter.check("notes_create", caller.subject(), rate).await,
        Ok(mcp_secure::rate::Decision::Allow)
    ) {
        return Err("rate_limited");
    }
    let note: PlainNote =
        serde_json::from_value(Value::Object(arguments)).map_err(|_| "invalid_input")?;
    Ok((caller, check_by_hand(note)?))
}

/// A result of the checks, asserted to have passed and returned whole: divan drops what a
/// timed function returns after the sample, so each side is timed on the work of its checks,
/// not on how its result is unpacked (until session 7 the guard's side unpacked the input from
/// the result and dropped the caller inside the timing, 8-12 ns that the hand-written side did
/// not spend).
fn checked<T, E: std::fmt::Debug>(result: Result<T, E>) -> Result<T, E> {
    assert!(result.is_ok(), "{:?}", result.as_ref().err());
    result
}

/// The scope check and the rate decision, by hand.
fn authorize_by_hand(limiter: &MemoryLimiter, caller: &Principal) -> Result<(), &'static str> {
    if !caller.scopes().iter().any(|s| s == "notes:write") {
        return Err("insufficient_scope");
    }
    let rate = RateSpec::per_second(4_000_000_000);
    if !matches!(
        poll_once(limiter.check("notes_create", caller.subject(), rate)),
        Ok(mcp_secure::rate::Decision::Allow)
    ) {
        return Err("rate_limited");
    }
    Ok(())
}

/// The field rules, by hand.
fn check_by_hand(note: PlainNote) -> Result<PlainNote, &'static str> {
    let chars = note.title.chars().count();
    if !(1..=200).contains(&chars) {
        return Err("invalid_input");
    }
    if !is_email(&note.owner) || !(1..=5).contains(&note.priority) {
        return Err("invalid_input");
    }
    Ok(note)
}

/// The same email rule as `#[mcp(email)]`: dot-atoms of RFC 5322 `atext` (at most 64 bytes)
/// at a DNS name of two or more labels whose last is not numeric, at most 254 bytes; written
/// as fast as the library's (one pass, byte tables), so that the ratio is the guard's overhead
/// and not a difference of email algorithms.
fn is_email(value: &str) -> bool {
    const fn table(extra: &[u8]) -> [bool; 256] {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 128 {
            t[b] = (b as u8).is_ascii_alphanumeric();
            b += 1;
        }
        let mut i = 0;
        while i < extra.len() {
            t[extra[i] as usize] = true;
            i += 1;
        }
        t
    }
    const ATEXT: [bool; 256] = table(b"!#$%&'*+-/=?^_`{|}~.");
    const LABEL: [bool; 256] = table(b"-");
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let local_ok = (1..=64).contains(&local.len())
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.bytes().all(|b| ATEXT[usize::from(b)]);
    if value.len() > 254 || !local_ok || domain.len() > 253 {
        return false;
    }
    let (mut labels, mut len, mut digits, mut prev) = (0, 0, true, b'.');
    for b in domain.bytes() {
        if b == b'.' {
            if len == 0 || prev == b'-' {
                return false;
            }
            (labels, len, digits) = (labels + 1, 0, true);
        } else {
            if !LABEL[usize::from(b)] || (len == 0 && b == b'-') || len == 63 {
                return false;
            }
            len += 1;
            digits &= b.is_ascii_digit();
        }
        prev = b;
    }
    len > 0 && prev != b'-' && labels >= 1 && !digits
}

fn main() {
    let server = Server {
        tool_router: Server::tool_router(),
    };
    assert_eq!(server.tool_router.list_all().len(), 1);
    // `MCP_BENCH_RUN=<variant>:<calls>` for instruction counts (`benches/instructions.sh`);
    // the variants are `guard`, `hand_written`, `hand_written_async` and
    // `hand_written_naming_field`.
    if let Ok(run) = std::env::var("MCP_BENCH_RUN") {
        let (variant, calls) = run.split_once(':').expect("variant:calls");
        let calls: usize = calls.parse().unwrap();
        let policy = &Server::tool_policies()[0];
        let limiter = MemoryLimiter::new();
        let op = || {
            let (caller, args) = (CALLER.clone(), arguments());
            match variant {
                "guard" => {
                    let _ = divan::black_box(checked(guarded(policy, caller, args)));
                }
                "hand_written" => {
                    let _ = divan::black_box(checked(hand_written(&limiter, caller, args)));
                }
                "hand_written_async" => {
                    let r = poll_once(hand_written_async(&limiter, caller, args));
                    let _ = divan::black_box(checked(r));
                }
                "hand_written_naming_field" => {
                    let r = hand_written_naming_field(&limiter, caller, args);
                    let _ = divan::black_box(checked(r));
                }
                other => panic!("unknown variant {other}"),
            }
        };
        // One call before counting starts, so that lazy set-up is not counted.
        op();
        common::counted(calls, op);
        return;
    }
    divan::main();
}

#[divan::bench(sample_size = 1000, sample_count = 200)]
fn guard(bencher: divan::Bencher) {
    let policy = &Server::tool_policies()[0];
    bencher
        .with_inputs(|| (CALLER.clone(), arguments()))
        .bench_local_values(|(caller, args)| checked(guarded(policy, caller, args)));
}

#[divan::bench(sample_size = 1000, sample_count = 200)]
fn hand_written_checks(bencher: divan::Bencher) {
    let limiter = MemoryLimiter::new();
    bencher
        .with_inputs(|| (CALLER.clone(), arguments()))
        .bench_local_values(|(caller, args)| checked(hand_written(&limiter, caller, args)));
}

#[divan::bench(sample_size = 1000, sample_count = 200)]
fn hand_written_async_checks(bencher: divan::Bencher) {
    let limiter = MemoryLimiter::new();
    bencher
        .with_inputs(|| (CALLER.clone(), arguments()))
        .bench_local_values(|(caller, args)| {
            checked(poll_once(hand_written_async(&limiter, caller, args)))
        });
}

#[divan::bench(sample_size = 1000, sample_count = 200)]
fn hand_written_checks_naming_field(bencher: divan::Bencher) {
    let limiter = MemoryLimiter::new();
    bencher
        .with_inputs(|| (CALLER.clone(), arguments()))
        .bench_local_values(|(caller, args)| {
            checked(hand_written_naming_field(&limiter, caller, args))
        });
}

/// The guard's parts, to see where its time goes.
#[divan::bench_group(sample_size = 1000, sample_count = 200)]
mod parts {
    use super::*;

    #[divan::bench]
    fn parse_and_validate(bencher: divan::Bencher) {
        bencher.with_inputs(arguments).bench_local_values(|args| {
            mcp_secure::validate::parse_arguments::<NewNote>(Some(args)).unwrap()
        });
    }

    /// The parse `#[derive(SecureInput)]` generates, without validation: against
    /// `serde_only`.
    #[divan::bench]
    fn parse_only(bencher: divan::Bencher) {
        bencher.with_inputs(arguments).bench_local_values(|args| {
            <NewNote as mcp_secure::validate::SecureInput>::from_arguments(args).unwrap()
        });
    }

    #[divan::bench]
    fn validate_only(bencher: divan::Bencher) {
        let note: NewNote = serde_json::from_value(Value::Object(arguments())).unwrap();
        bencher.bench_local(|| divan::black_box(&note).validate().is_ok());
    }

    /// serde_json's parse of the same fields, by serde's derive (`NewNote`'s `Deserialize` is
    /// the library's own, see `BENCHMARKS.md`).
    #[divan::bench]
    fn serde_only(bencher: divan::Bencher) {
        bencher.with_inputs(arguments).bench_local_values(|args| {
            serde_json::from_value::<PlainNote>(Value::Object(args)).unwrap()
        });
    }

    /// What `parse_and_validate` does, with serde_json's parse, which cannot name the field.
    #[divan::bench]
    fn serde_then_validate(bencher: divan::Bencher) {
        bencher.with_inputs(arguments).bench_local_values(|args| {
            let plain = serde_json::from_value::<PlainNote>(Value::Object(args)).unwrap();
            let note = NewNote {
                title: plain.title,
                owner: plain.owner,
                priority: plain.priority,
            };
            note.validate().unwrap();
            note
        });
    }

    #[divan::bench]
    fn scope_check(bencher: divan::Bencher) {
        let policy = &Server::tool_policies()[0];
        let mcp_secure::tool::Access::Scope(scope, catalog) = policy.access() else {
            unreachable!()
        };
        bencher.bench_local(|| divan::black_box(&*CALLER).is_granted(scope, catalog));
    }

    #[divan::bench]
    fn limiter_decision(bencher: divan::Bencher) {
        let security = &*SECURITY;
        let rate = RateSpec::per_second(4_000_000_000);
        bencher.bench_local(|| poll_once(security.limiter().check("notes_create", "alice", rate)));
    }
}
