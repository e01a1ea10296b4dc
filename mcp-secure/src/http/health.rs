//! Liveness and readiness, for load balancers and orchestrators: `/healthz` answers `200` while
//! the process serves; `/readyz` answers `200` only when the rate limiter's backend and every
//! readiness check the server registered answer, each within [`READINESS_TIMEOUT`], else `503`
//! naming the checks that failed (by the names the server gave them; no detail).

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use axum::{Router, body::Body, routing::get};
use http::{Response, StatusCode};
use serde_json::json;

use crate::Security;

/// How long `/readyz` waits for each check.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// The path of the liveness probe.
pub const HEALTHZ_PATH: &str = "/healthz";

/// The path of the readiness probe.
pub const READYZ_PATH: &str = "/readyz";

/// A readiness check: `true` when what it checks answers.
pub(crate) type Check = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// The two probes, as routes.
pub(crate) fn routes(security: Security, checks: Vec<(String, Check)>) -> Router {
    let checks = Arc::new(checks);
    Router::new()
        .route(
            HEALTHZ_PATH,
            get(|| async { answer(StatusCode::OK, json!({"status": "ok"})) }),
        )
        .route(
            READYZ_PATH,
            get(move || {
                let (security, checks) = (security.clone(), checks.clone());
                async move { readiness(&security, &checks).await }
            }),
        )
}

async fn readiness(security: &Security, checks: &[(String, Check)]) -> Response<Body> {
    let limiter = tokio::time::timeout(READINESS_TIMEOUT, security.limiter().ready());
    let mut failing: Vec<&str> = Vec::new();
    if !matches!(limiter.await, Ok(Ok(()))) {
        failing.push("rate_limiter");
    }
    for (name, check) in checks {
        if !matches!(
            tokio::time::timeout(READINESS_TIMEOUT, check()).await,
            Ok(true)
        ) {
            failing.push(name);
        }
    }
    if failing.is_empty() {
        answer(StatusCode::OK, json!({"status": "ready"}))
    } else {
        answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "not_ready", "failing": failing}),
        )
    }
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    super::json_response(status, &body)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;
    use crate::rate::{DecisionFuture, LimiterError, RateLimiter, RateSpec};

    /// A limiter whose store is up or down.
    struct Flaky(Arc<AtomicBool>);

    impl RateLimiter for Flaky {
        fn check<'a>(&'a self, _: &'a str, _: &'a str, _: RateSpec) -> DecisionFuture<'a> {
            unreachable!("not asked to decide")
        }

        fn ready(&self) -> Pin<Box<dyn Future<Output = Result<(), LimiterError>> + Send + '_>> {
            let up = self.0.load(Ordering::SeqCst);
            Box::pin(async move {
                if up {
                    Ok(())
                } else {
                    Err(LimiterError {
                        detail: "down".into(),
                    })
                }
            })
        }
    }

    async fn probe(router: &Router, path: &str) -> (StatusCode, serde_json::Value) {
        let response = router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn ready_only_when_the_limiter_and_every_check_answer() {
        let (limiter_up, database_up) = (
            Arc::new(AtomicBool::new(true)),
            Arc::new(AtomicBool::new(true)),
        );
        let security = Security::builder()
            .limiter(Flaky(limiter_up.clone()))
            .build()
            .unwrap();
        let db = database_up.clone();
        let database: Check = Arc::new(move || {
            let up = db.load(Ordering::SeqCst);
            Box::pin(async move { up })
        });
        let hangs: Check = Arc::new(|| Box::pin(std::future::pending()));
        let router = routes(
            security.clone(),
            vec![("database".into(), database.clone())],
        );
        assert_eq!(probe(&router, "/healthz").await.0, StatusCode::OK);
        assert_eq!(
            probe(&router, "/readyz").await,
            (StatusCode::OK, json!({"status": "ready"}))
        );
        database_up.store(false, Ordering::SeqCst);
        assert_eq!(
            probe(&router, "/readyz").await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "not_ready", "failing": ["database"]})
            )
        );
        limiter_up.store(false, Ordering::SeqCst);
        assert_eq!(
            probe(&router, "/readyz").await.1["failing"],
            json!(["rate_limiter", "database"])
        );
        // Alive all along.
        assert_eq!(probe(&router, "/healthz").await.0, StatusCode::OK);
        // A check that never answers is a failure after the timeout, not a hung probe.
        tokio::time::pause();
        let router = routes(Security::default(), vec![("upstream".into(), hangs)]);
        assert_eq!(
            probe(&router, "/readyz").await.1["failing"],
            json!(["upstream"])
        );
    }
}
