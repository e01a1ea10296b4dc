//! The in-memory limiter against `governor`'s keyed limiter, in the same run: one decision at
//! 1, 10k and 1M keys, on 1 and 2 threads; and memory per key at 1M keys (printed first).
//!
//! `cargo bench -p mcp-secure --bench limiter`

use std::{
    num::NonZeroU32,
    sync::atomic::{AtomicUsize, Ordering},
    task::{Context, Poll, Waker},
};

use divan::Bencher;
use governor::{DefaultKeyedRateLimiter, Quota};
use mcp_secure::rate::{MemoryLimiter, RateLimiter, RateSpec};

const RATE: u32 = 1_000_000;
const SIZES: &[usize] = &[1, 10_000, 1_000_000];

fn spec() -> RateSpec {
    RateSpec::per_second(RATE)
}

fn governor_limiter() -> DefaultKeyedRateLimiter<String> {
    governor::RateLimiter::keyed(Quota::per_second(NonZeroU32::new(RATE).unwrap()))
}

fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("user-{i:08}")).collect()
}

/// Limiters pre-filled with `n` keys. Each benchmark builds its own and drops it, so that no
/// benchmark runs beside another's million keys.
struct Filled {
    keys: Vec<String>,
    ours: MemoryLimiter,
    governor: DefaultKeyedRateLimiter<String>,
}

fn fill(n: usize) -> Filled {
    let keys = keys(n);
    let ours = MemoryLimiter::new();
    let governor = governor_limiter();
    for k in &keys {
        let _ = ours.decide_at("notes_create", k, spec(), ours.now());
        let _ = governor.check_key(k);
    }
    Filled {
        keys,
        ours,
        governor,
    }
}

fn poll_once<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the in-memory limiter never waits"),
    }
}

#[divan::bench(args = SIZES, threads = [1, 2])]
fn ours(bencher: Bencher, n: usize) {
    let f = &fill(n);
    let next = AtomicUsize::new(0);
    bencher.bench(|| {
        let key = &f.keys[next.fetch_add(7919, Ordering::Relaxed) % f.keys.len()];
        poll_once(f.ours.check("notes_create", divan::black_box(key), spec()))
    });
}

#[divan::bench(args = SIZES, threads = [1, 2])]
fn governor_keyed(bencher: Bencher, n: usize) {
    let f = &fill(n);
    let next = AtomicUsize::new(0);
    bencher.bench(|| {
        let key = &f.keys[next.fetch_add(7919, Ordering::Relaxed) % f.keys.len()];
        f.governor.check_key(divan::black_box(key)).is_ok()
    });
}

/// Resident memory of this process, in bytes (Linux; 0 elsewhere).
fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<usize>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn memory_per_key() {
    const N: usize = 1_000_000;
    let names = keys(N);
    let base = rss();
    let ours = MemoryLimiter::new();
    for k in &names {
        let _ = ours.decide_at("notes_create", k, RateSpec::per_minute(10), 0);
    }
    let with_ours = rss();
    let governor = governor_limiter();
    for k in &names {
        let _ = governor.check_key(k);
    }
    let with_both = rss();
    let per_key = |bytes: usize| bytes as f64 / N as f64;
    println!(
        "memory at 1M keys (RSS delta, key strings of {} bytes): ours {:.0} B/key, governor {:.0} B/key",
        names[0].len(),
        per_key(with_ours - base),
        per_key(with_both - with_ours)
    );
    drop((ours, governor));
}

fn main() {
    memory_per_key();
    divan::main();
}

/// The algorithm alone (no clock read, no future), to see where the time goes.
#[divan::bench(args = SIZES)]
fn ours_decide_only(bencher: Bencher, n: usize) {
    let f = &fill(n);
    let now = f.ours.now();
    let next = AtomicUsize::new(0);
    bencher.bench(|| {
        let key = &f.keys[next.fetch_add(7919, Ordering::Relaxed) % f.keys.len()];
        f.ours
            .decide_at("notes_create", divan::black_box(key), spec(), now)
    });
}
