//! Redis limiter decisions per second, against `redis-benchmark` running a trivial `EVALSHA`
//! on the same server in the same run: `benches/redis.sh` starts a redis-server and runs both.
//!
//! Run alone: `REDIS_URL=redis://127.0.0.1:6379 cargo bench -p mcp-secure --features redis --bench redis_limiter`

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use mcp_secure::rate::{RateLimiter, RateSpec, RedisLimiter};

fn main() {
    let Ok(url) = std::env::var("REDIS_URL") else {
        println!("redis_limiter: set REDIS_URL (or run benches/redis.sh) to measure");
        return;
    };
    let clients: usize = std::env::var("CLIENTS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(50);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let limiter = Arc::new(RedisLimiter::connect(&url).await.expect("connect"));
        let spec = RateSpec::per_second(1_000_000);
        let run_for = Duration::from_secs(5);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..clients {
            let limiter = limiter.clone();
            tasks.push(tokio::spawn(async move {
                let key = format!("bench-{c}");
                let mut n = 0u64;
                while start.elapsed() < run_for {
                    limiter.check("bench", &key, spec).await.expect("decision");
                    n += 1;
                }
                n
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "redis_limiter: {clients} clients, {:.0} decisions/s",
            total as f64 / secs
        );
    });
}
