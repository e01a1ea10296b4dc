use super::*;
use crate::rate::RateSpec;

#[derive(crate::SecureInput)]
struct Nothing {
    #[mcp(unbounded)]
    _unused: Option<bool>,
}

static BY_ADDRESS: ToolPolicy = ToolPolicy::new(
    "lookup",
    Access::Public,
    RateLimit::Limited(RateSpec::per_minute(2)),
)
.with_rate_key(RateKey::Ip);

async fn admitted(security: &Security, who: &str, client: Option<&str>) -> bool {
    let caller = Principal::new(who, ["x"]);
    let client = client.map(|c| c.parse().unwrap());
    admit::<Nothing>(security, &BY_ADDRESS, Some(caller), client, None)
        .await
        .is_ok()
}

/// Keyed by address: callers at one address share its limit, whoever they are; another
/// address (IPv6: another /64) has its own; calls without an address share one.
#[tokio::test]
async fn a_limit_keyed_by_address_is_shared_by_everyone_at_it() {
    let security = Security::default();
    assert!(admitted(&security, "ann", Some("198.51.100.7")).await);
    assert!(admitted(&security, "bob", Some("198.51.100.7")).await);
    assert!(!admitted(&security, "cid", Some("198.51.100.7")).await);
    assert!(admitted(&security, "ann", Some("198.51.100.8")).await);
    assert!(admitted(&security, "ann", Some("2001:db8:0:1::1")).await);
    assert!(admitted(&security, "ann", Some("2001:db8:0:1::2")).await);
    assert!(!admitted(&security, "bob", Some("2001:db8:0:1:ffff::3")).await);
    assert!(admitted(&security, "bob", Some("2001:db8:0:2::1")).await);
    assert!(admitted(&security, "ann", None).await);
    assert!(admitted(&security, "bob", None).await);
    assert!(!admitted(&security, "cid", None).await);
}

static NO_CAP: ToolPolicy = ToolPolicy::new("dump", Access::Public, RateLimit::Unlimited);

/// The guide (docs/src/outputs.md): "A result larger than the tool's `max_output` (default
/// `Security::builder().default_max_output(..)`, 1 MiB) is replaced by an
/// `output_too_large` error": under `Security::default()`, a tool without a cap of its own
/// returns a result of exactly 1 MiB as JSON, and not one a byte larger.
#[test]
fn by_default_a_result_of_1_mib_is_sent_and_one_byte_more_is_refused() {
    let finished = |text: String| {
        let finish = Finish {
            policy: &NO_CAP,
            security: Security::default(),
            record: None,
            client: None,
            span: tracing::Span::none(),
        };
        let outcome = Returned(Some(Ok::<_, ToolError>(text))).outcome();
        match finish.finish(Ok(outcome)) {
            Ok(CallToolResponse::Complete(result)) => result,
            _ => panic!("a complete result"),
        }
    };
    let json_size = |result: &CallToolResult| serde_json::to_vec(result).unwrap().len();
    let framing = json_size(&CallToolResult::success(vec![
        rmcp::model::ContentBlock::text(""),
    ]));
    let one_mib = 1 << 20;
    let sent = finished("x".repeat(one_mib - framing));
    assert_eq!(json_size(&sent), one_mib);
    assert_ne!(sent.is_error, Some(true), "1 MiB is sent");
    let refused = finished("x".repeat(one_mib - framing + 1));
    assert_eq!(refused.is_error, Some(true));
    let text = serde_json::to_string(&refused).unwrap();
    assert!(text.contains("output_too_large"), "{text}");
}
