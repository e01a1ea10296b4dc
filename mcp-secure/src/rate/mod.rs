//! Rate limits: [`RateSpec`] (parsed from `rate = "10/s"` at compile time), the [`RateLimiter`]
//! trait and the in-memory GCRA limiter used by default.
//!
//! Semantics: a limit of `N/unit` lets a caller make `N` calls at once, then one call every
//! `unit / N`; over any long window a caller never exceeds `N` per `unit` plus that initial
//! burst. Limits are kept per caller (the principal's subject) per tool. A refusal carries how
//! long to wait before the next call would be allowed.

mod gcra;

use std::{fmt, future::Future, pin::Pin, time::Duration};

pub use gcra::MemoryLimiter;

/// A rate: `count` calls per `period`.
///
/// ```
/// use mcp_secure::rate::RateSpec;
/// let r = RateSpec::per_second(10);
/// assert_eq!(r.to_string(), "10/s");
/// assert_eq!(r.interval().as_millis(), 100);
/// assert_eq!(RateSpec::per_minute(30).to_string(), "30/min");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateSpec {
    count: u32,
    period_ms: u64,
}

impl RateSpec {
    /// `count` calls per `period_ms` milliseconds. Generated code calls this with values the
    /// macro checked; `count` and `period_ms` of zero are clamped to one.
    pub const fn new(count: u32, period_ms: u64) -> Self {
        Self {
            count: if count == 0 { 1 } else { count },
            period_ms: if period_ms == 0 { 1 } else { period_ms },
        }
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

    /// How many calls may be made at once, and per period.
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// The period.
    pub const fn period(&self) -> Duration {
        Duration::from_millis(self.period_ms)
    }

    /// The steady-state spacing of calls: period / count.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.period_ms.saturating_mul(1_000_000) / u64::from(self.count))
    }
}

impl fmt::Display for RateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.period_ms {
            1_000 => write!(f, "{}/s", self.count),
            60_000 => write!(f, "{}/min", self.count),
            3_600_000 => write!(f, "{}/h", self.count),
            86_400_000 => write!(f, "{}/d", self.count),
            ms => write!(f, "{}/{ms}ms", self.count),
        }
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

/// The future a [`RateLimiter`] returns.
pub type DecisionFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Decision, LimiterError>> + Send + 'a>>;

/// A rate-limit backend: decides one call of `caller` to `tool` under `spec`.
///
/// Implement it to keep limits elsewhere (a shared store for several replicas); install it with
/// [`crate::SecurityBuilder::limiter`]. A backend that cannot decide returns an error and the
/// call is refused.
pub trait RateLimiter: Send + Sync + 'static {
    /// Records one call and says whether it is allowed.
    fn check<'a>(&'a self, tool: &'a str, caller: &'a str, spec: RateSpec) -> DecisionFuture<'a>;
}
