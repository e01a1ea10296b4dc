//! Rate limits: [`RateSpec`] (parsed from `rate = "10/s"` at compile time), the [`RateLimiter`]
//! trait and the in-memory GCRA limiter used by default.
//!
//! Grammar (checked at compile time): `rate = "N/unit"` with unit `s`, `min`, `h` or `d`
//! (`sec`, `second`, `minute`, `hour`, `day` are accepted too), optionally `"N/unit, burst = B"`
//! with `1 <= B <= N`, or `rate = "unlimited"`. Every tool has a rate: its own, or the
//! `#[mcp_tools(default_rate = "...")]` of its impl; a tool with neither does not compile.
//!
//! Semantics (GCRA): a limit of `N/unit` with burst `B` (default `N`) admits `B` calls at once,
//! then one call every `unit / N`; in any window of length `T` a key is admitted at most
//! `B + T·N/unit` calls, so the sustained rate never exceeds `N` per `unit`. A refused call
//! does not count, and its refusal says when the next call would be admitted
//! (`retry_after_ms`). Limits are kept per tool and per [`RateKey`]: the caller (default), the
//! OAuth client, or everyone together.

mod gcra;
#[cfg(feature = "redis")]
mod redis;

use std::{fmt, future::Future, pin::Pin, time::Duration};

pub use gcra::MemoryLimiter;
#[cfg(feature = "redis")]
pub use redis::RedisLimiter;

/// A rate: `count` calls per `period`, at most `burst` at once.
///
/// ```
/// use mcp_secure::rate::RateSpec;
/// let r = RateSpec::per_second(10);
/// assert_eq!(r.to_string(), "10/s");
/// assert_eq!(r.interval().as_millis(), 100);
/// assert_eq!(r.tolerance().as_millis(), 900); // a burst of 10: nine intervals ahead
/// assert_eq!(RateSpec::per_minute(100).with_burst(20).tolerance().as_millis(), 19 * 600);
/// assert_eq!(RateSpec::per_minute(100).with_burst(20).to_string(), "100/min, burst = 20");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateSpec {
    count: u32,
    period_ms: u64,
    burst: u32,
}

impl RateSpec {
    /// `count` calls per `period_ms` milliseconds. Generated code calls this with values the
    /// macro checked; `count` and `period_ms` of zero are clamped to one.
    pub const fn new(count: u32, period_ms: u64) -> Self {
        let count = if count == 0 { 1 } else { count };
        Self {
            count,
            period_ms: if period_ms == 0 { 1 } else { period_ms },
            burst: count,
        }
    }

    /// The same rate admitting at most `burst` calls at once (clamped to `1..=count`).
    pub const fn with_burst(mut self, burst: u32) -> Self {
        self.burst = if burst == 0 {
            1
        } else if burst > self.count {
            self.count
        } else {
            burst
        };
        self
    }

    /// `count` calls per day.
    pub const fn per_day(count: u32) -> Self {
        Self::new(count, 86_400_000)
    }

    /// `count` calls per second.
    pub const fn per_second(count: u32) -> Self {
        Self::new(count, 1_000)
    }

    /// `count` calls per minute.
    pub const fn per_minute(count: u32) -> Self {
        Self::new(count, 60_000)
    }

    /// `count` calls per hour.
    pub const fn per_hour(count: u32) -> Self {
        Self::new(count, 3_600_000)
    }

    /// How many calls per period.
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// How many calls may be made at once.
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// How far ahead of the steady schedule a key may run: `interval × (burst − 1)`.
    pub fn tolerance(&self) -> Duration {
        Duration::from_nanos(self.interval_and_tolerance_nanos().1)
    }

    /// The period.
    pub const fn period(&self) -> Duration {
        Duration::from_millis(self.period_ms)
    }

    /// The steady-state spacing of calls: period / count.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_nanos())
    }

    /// [`RateSpec::interval`] and [`RateSpec::tolerance`] in nanoseconds. The tolerance is
    /// `period × (burst − 1) / count`, not `interval × (burst − 1)`: at rates above one call
    /// per nanosecond the interval truncates to 0, and the burst must not truncate with it.
    pub(crate) fn interval_and_tolerance_nanos(&self) -> (u64, u64) {
        let period = u128::from(self.period_ms) * 1_000_000;
        let tolerance = period * u128::from(self.burst - 1) / u128::from(self.count);
        (
            self.interval_nanos(),
            u64::try_from(tolerance).unwrap_or(u64::MAX),
        )
    }

    fn interval_nanos(&self) -> u64 {
        self.period_ms.saturating_mul(1_000_000) / u64::from(self.count)
    }
}

impl fmt::Display for RateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.period_ms {
            1_000 => write!(f, "{}/s", self.count)?,
            60_000 => write!(f, "{}/min", self.count)?,
            3_600_000 => write!(f, "{}/h", self.count)?,
            86_400_000 => write!(f, "{}/d", self.count)?,
            ms => write!(f, "{}/{ms}ms", self.count)?,
        }
        if self.burst != self.count {
            write!(f, ", burst = {}", self.burst)?;
        }
        Ok(())
    }
}

/// A tool's rate: limited, or explicitly `unlimited`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// At most this rate per key.
    Limited(RateSpec),
    /// No limit (`rate = "unlimited"`), an explicit opt-out.
    Unlimited,
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateLimit::Limited(spec) => spec.fmt(f),
            RateLimit::Unlimited => f.write_str("unlimited"),
        }
    }
}

/// Whose calls share one limit (`rate_key = "..."`). More may be added: match with a `_` arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RateKey {
    /// Each caller (the principal's subject) has its own limit: the default.
    #[default]
    Caller,
    /// Each OAuth client has its own limit, shared by its users; callers without a client id
    /// are keyed by subject.
    Client,
    /// One limit for everyone together.
    Global,
    /// Each client address has its own limit, shared by every caller at it (IPv6 addresses
    /// per /64): the address a trusted proxy forwarded, or the peer's
    /// ([`crate::http::ClientAddress`]). Calls without an address (stdio, or HTTP served
    /// without the peer's address) share one limit.
    Ip,
}

impl RateKey {
    /// The name used in `rate_key = "..."`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RateKey::Caller => "caller",
            RateKey::Client => "client",
            RateKey::Global => "global",
            RateKey::Ip => "ip",
        }
    }
}

/// The address a limit keyed by client address counts `ip` under: the address itself, or its
/// /64 for IPv6, the smallest block a client is usually given (one client could otherwise
/// take a fresh address for every call).
///
/// ```
/// use mcp_secure::rate::address_key;
/// assert_eq!(address_key("198.51.100.7".parse().unwrap()).to_string(), "198.51.100.7");
/// assert_eq!(address_key("2001:db8:0:1:abcd::9".parse().unwrap()).to_string(), "2001:db8:0:1::");
/// ```
pub fn address_key(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip.to_canonical() {
        std::net::IpAddr::V6(v6) => {
            std::net::IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into())
        }
        v4 => v4,
    }
}

/// The outcome of one rate-limit decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The call may go ahead.
    Allow,
    /// The call is refused; the next one would be allowed after this long.
    Deny {
        /// How long to wait before retrying.
        retry_after: Duration,
    },
}

/// A limiter backend failed to decide (e.g. its store is unreachable). Calls are then refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimiterError {
    /// What failed, for the server's log. Never shown to clients.
    pub detail: String,
}

impl fmt::Display for LimiterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rate limiter unavailable: {}", self.detail)
    }
}

impl std::error::Error for LimiterError {}

/// The future a [`RateLimiter`] returns: ready at once (an in-memory decision, no allocation)
/// or a boxed future (a decision that needs I/O).
pub enum DecisionFuture<'a> {
    /// Already decided.
    Ready(Option<Result<Decision, LimiterError>>),
    /// Deciding.
    Pending(Pin<Box<dyn Future<Output = Result<Decision, LimiterError>> + Send + 'a>>),
}

impl<'a> DecisionFuture<'a> {
    /// A decision already made.
    pub fn ready(result: Result<Decision, LimiterError>) -> Self {
        DecisionFuture::Ready(Some(result))
    }

    /// A decision still to be made by `future`.
    pub fn boxed(future: impl Future<Output = Result<Decision, LimiterError>> + Send + 'a) -> Self {
        DecisionFuture::Pending(Box::pin(future))
    }
}

impl Future for DecisionFuture<'_> {
    type Output = Result<Decision, LimiterError>;

    fn poll(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.get_mut() {
            DecisionFuture::Ready(result) => {
                std::task::Poll::Ready(result.take().unwrap_or_else(|| {
                    Err(LimiterError {
                        detail: "decision polled twice".into(),
                    })
                }))
            }
            DecisionFuture::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

/// A rate-limit backend: decides one call to `tool` by `key` under `spec`.
///
/// Implement it to keep limits elsewhere (a shared store for several replicas); install it with
/// [`crate::SecurityBuilder::limiter`]. A backend that cannot decide returns an error and the
/// call is refused (unless the server chose [`crate::SecurityBuilder::limiter_fail_open`]).
/// An allowed call must be recorded by the same decision, atomically: two concurrent calls
/// must never both take the last slot.
pub trait RateLimiter: Send + Sync + 'static {
    /// Records one call and says whether it is allowed.
    fn check<'a>(&'a self, tool: &'a str, key: &'a str, spec: RateSpec) -> DecisionFuture<'a>;

    /// How many keys the backend holds, if it knows (for the `mcp_secure_limiter_keys`
    /// gauge); a shared store does not say.
    fn keys(&self) -> Option<usize> {
        None
    }

    /// Whether the backend can decide now (its store answers): what a readiness probe asks
    /// (`/readyz`). An in-memory backend always can; the default says so.
    fn ready(&self) -> Pin<Box<dyn Future<Output = Result<(), LimiterError>> + Send + '_>> {
        Box::pin(std::future::ready(Ok(())))
    }
}
