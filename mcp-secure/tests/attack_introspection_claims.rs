//! Attack probes (helper 27, session 24) on the promise that `IntrospectionVerifier` reads the caller's
//! tenant (`tenant_claim`) and attributes (`attributes`) from an introspection answer's members
//! "checked as a JWT's claims are", and that they reach Cedar policies as `principal.<name>`.
//!
//! Every test asserts the secure behaviour. The endpoint answers each token with a raw body the
//! test chose (so duplicate members, escapes and number spellings reach the verifier exactly as
//! written), and can be changed while the verifier caches.

#![cfg(all(
    feature = "introspection",
    feature = "policy",
    feature = "http",
    feature = "jwt"
))]

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{Router, routing::post};
use mcp_secure::{
    auth::{
        Attribute, AttributeKind, Attributes, IntrospectionVerifier, Principal, TokenVerifier,
        VerifyError,
    },
    fetch::FetchPolicy,
    policy::Policies,
    prelude::*,
    secret::SecretString,
};
use serde_json::json;

const ISS: &str = "https://idp.example";
const AUD: &str = "https://mcp.example/mcp";

/// The raw answer body for each token.
type Answers = Arc<Mutex<HashMap<String, String>>>;

/// An introspection endpoint on loopback answering each token with the body set for it (an
/// inactive answer for a token it does not know). Counts requests.
async fn endpoint() -> (String, Answers, Arc<AtomicUsize>) {
    let answers: Answers = Arc::default();
    let asked = Arc::new(AtomicUsize::new(0));
    let (store, counter) = (answers.clone(), asked.clone());
    let app = Router::new().route(
        "/introspect",
        post(move |body: String| {
            counter.fetch_add(1, Ordering::SeqCst);
            let token = url::form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let answer = store
                .lock()
                .unwrap()
                .get(&token)
                .cloned()
                .unwrap_or_else(|| r#"{"active":false}"#.to_owned());
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    answer,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, answers, asked)
}

fn attributes() -> Attributes {
    Attributes::new()
        .with("roles", AttributeKind::Texts)
        .unwrap()
        .with("limit", AttributeKind::Number)
        .unwrap()
        .with("blocked", AttributeKind::Flag)
        .unwrap()
        .with("team", AttributeKind::Text)
        .unwrap()
}

fn verifier(url: &str, issuer: &str) -> IntrospectionVerifier {
    IntrospectionVerifier::new(url, issuer, "mcp", SecretString::new("s3cret".into()))
        .unwrap()
        .audience(AUD)
        .fetch_policy(&FetchPolicy::default().allow_loopback())
        .unwrap()
        .cache_for(Duration::ZERO)
        .tenant_claim("tenant")
        .attributes(&attributes())
}

/// The body of an active, valid answer with `members` (raw JSON text, without braces) after
/// the standard ones.
fn body(members: &str) -> String {
    let sep = if members.is_empty() { "" } else { "," };
    format!(
        r#"{{"active":true,"sub":"ann","aud":"{AUD}","iss":"{ISS}","scope":"notes:read"{sep}{members}}}"#
    )
}

/// Sets `token`'s answer and verifies it.
async fn verify_with(
    verifier: &IntrospectionVerifier,
    answers: &Answers,
    token: &str,
    answer: String,
) -> Result<Principal, VerifyError> {
    answers.lock().unwrap().insert(token.to_owned(), answer);
    verifier.verify(token).await
}

/// Nothing in a refusal's reason is a raw control or invisible character, nor the value sent.
fn assert_clean_refusal(e: &VerifyError, value_marker: &str, case: &str) {
    let reason = e.reason();
    assert!(
        !reason
            .chars()
            .any(|c| c.is_control() || mcp_secure::sanitize::is_invisible(c) || c == '\u{2028}'),
        "{case}: raw control in {reason:?}"
    );
    assert!(
        value_marker.is_empty() || !reason.contains(value_marker),
        "{case}: the value is echoed: {reason:?}"
    );
    let shown = e.to_string();
    assert!(
        value_marker.is_empty() || !shown.contains(value_marker),
        "{case}: the value is echoed: {shown:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Class 1: attribute values of the wrong kind or failing the checks refuse the whole token.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_bad_spelling_of_a_declared_member_refuses_the_token_without_echoing_it() {
    let (url, answers, _) = endpoint().await;
    let verifier = verifier(&url, ISS);
    let long = "x".repeat(257);
    let long_list: Vec<String> = (0..65).map(|i| format!("\"r{i}\"")).collect();
    let long_list = long_list.join(",");
    let cases: Vec<(String, &str)> = vec![
        // Numbers that are not whole i64s, however JSON spells them.
        (r#""limit":1e2"#.into(), ""),
        (r#""limit":5.0"#.into(), ""),
        (r#""limit":-0"#.into(), ""),
        (r#""limit":-0.0"#.into(), ""),
        (r#""limit":18446744073709551615"#.into(), ""),
        (r#""limit":9223372036854775808"#.into(), ""),
        (r#""limit":"500""#.into(), ""),
        (r#""limit":true"#.into(), ""),
        (r#""limit":[500]"#.into(), ""),
        (r#""limit":{"value":500}"#.into(), ""),
        // Flags that are not JSON booleans.
        (r#""blocked":"false""#.into(), ""),
        (r#""blocked":0"#.into(), ""),
        (r#""blocked":[]"#.into(), ""),
        (r#""blocked":{}"#.into(), ""),
        // Texts with controls, bidi, zero-width, NUL, too long, empty, nested.
        (r#""team":"MARKER\u0000x""#.into(), "MARKER"),
        (r#""team":"MARKER\u202ex""#.into(), "MARKER"),
        (r#""team":"MARKER\u200bx""#.into(), "MARKER"),
        (r#""team":"MARKER\u2028x""#.into(), "MARKER"),
        (r#""team":"MARKER\u001b[31mx""#.into(), "MARKER"),
        (r#""team":"MARKER\ufeffx""#.into(), "MARKER"),
        (r#""team":"MARKER\u3164x""#.into(), "MARKER"),
        (r#""team":"MARKER\udb40\udc41x""#.into(), "MARKER"),
        (r#""team":"MARKER\u0085x""#.into(), "MARKER"),
        (r#""team":"MARKER\ue000x""#.into(), "MARKER"),
        ("\"team\":\"MARKER\u{7f}x\"".into(), "MARKER"),
        (format!(r#""team":"{long}""#), ""),
        (r#""team":"""#.into(), ""),
        (r#""team":["ops"]"#.into(), ""),
        (r#""team":{"name":"ops"}"#.into(), ""),
        (r#""team":5"#.into(), ""),
        // Lists.
        (format!(r#""roles":[{long_list}]"#), ""),
        (r#""roles":["editor",5]"#.into(), ""),
        (r#""roles":["editor",null]"#.into(), ""),
        (r#""roles":["editor",["admin"]]"#.into(), ""),
        (r#""roles":["editor",""]"#.into(), ""),
        (r#""roles":["editor","MARKER\u200dadmin"]"#.into(), "MARKER"),
        (r#""roles":{"0":"admin"}"#.into(), ""),
        (r#""roles":true"#.into(), ""),
        // The tenant.
        (r#""tenant":"MARKER\u0000""#.into(), "MARKER"),
        (r#""tenant":"MARKER\u202e""#.into(), "MARKER"),
        (r#""tenant":"MARKER\u2060""#.into(), "MARKER"),
        (r#""tenant":"""#.into(), ""),
        (format!(r#""tenant":"{long}""#), ""),
        (r#""tenant":5"#.into(), ""),
        (r#""tenant":["acme"]"#.into(), ""),
        (r#""tenant":{"id":"acme"}"#.into(), ""),
        (r#""tenant":true"#.into(), ""),
        // Escaped member names are the same member (JSON), and are checked the same.
        (r#""ten\u0061nt":"MARKER\u0007""#.into(), "MARKER"),
        (r#""lim\u0069t":1.5"#.into(), ""),
    ];
    for (i, (members, marker)) in cases.iter().enumerate() {
        let token = format!("bad-{i}");
        let refused = verify_with(&verifier, &answers, &token, body(members)).await;
        let e = refused
            .map(|p| format!("{:?} {:?}", p.tenant(), p.attributes().collect::<Vec<_>>()))
            .expect_err(members);
        assert!(!e.is_unavailable(), "{members}: {e}");
        assert_clean_refusal(&e, marker, members);
    }
}

#[tokio::test]
async fn the_edges_of_what_is_accepted_are_read_exactly() {
    let (url, answers, _) = endpoint().await;
    let verifier = verifier(&url, ISS);
    let longest = "é".repeat(128); // 256 bytes
    let list: Vec<String> = (0..64).map(|i| format!("\"r{i}\"")).collect();
    let p = verify_with(
        &verifier,
        &answers,
        "edges",
        body(&format!(
            r#""team":"{longest}","roles":[{}],"limit":-9223372036854775808,"blocked":false,"tenant":"acme""#,
            list.join(",")
        )),
    )
    .await
    .unwrap();
    assert_eq!(p.attribute("team"), Some(&Attribute::Text(longest.clone())));
    assert_eq!(p.attribute("limit"), Some(&Attribute::Number(i64::MIN)));
    assert_eq!(p.attribute("blocked"), Some(&Attribute::Flag(false)));
    assert!(matches!(p.attribute("roles"), Some(Attribute::Texts(t)) if t.len() == 64));
    assert_eq!(p.tenant(), Some("acme"));
    // Null and absent: no attribute, no tenant. Undeclared members are ignored.
    let p = verify_with(
        &verifier,
        &answers,
        "nulls",
        body(r#""team":null,"tenant":null,"roles":null,"admin":true,"tenant_key":"x#y""#),
    )
    .await
    .unwrap();
    assert_eq!(p.attributes().count(), 0);
    assert_eq!(p.tenant(), None);
    assert_eq!(p.tenant_key(), format!("{ISS}#"));
}

// ---------------------------------------------------------------------------------------------
// Class 2: duplicate members.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn duplicate_members_never_slip_an_unchecked_or_inactive_value_through() {
    let (url, answers, _) = endpoint().await;
    let verifier = verifier(&url, ISS);
    // The last copy is bad: whichever is taken, the token must not pass with a bad value.
    for (i, members) in [
        r#""tenant":"acme","tenant":"ev\u0000il""#,
        r#""team":"ops","team":"o\u202eps""#,
        r#""limit":5,"limit":5.5"#,
        r#""roles":["a"],"roles":[["admin"]]"#,
    ]
    .iter()
    .enumerate()
    {
        let r = verify_with(&verifier, &answers, &format!("dup-last-{i}"), body(members)).await;
        if let Ok(p) = r {
            for (name, value) in p.attributes() {
                mcp_secure::auth::check_attribute(name, value).unwrap();
            }
            if let Some(t) = p.tenant() {
                mcp_secure::auth::check_tenant(t).unwrap();
            }
        }
    }
    // An answer that says both inactive and active, or two subjects: never a pass for the
    // active copy or an arbitrary subject.
    let twice_active = format!(
        r#"{{"active":false,"sub":"ann","aud":"{AUD}","iss":"{ISS}","tenant":"acme","active":true}}"#
    );
    let r = verify_with(&verifier, &answers, "dup-active", twice_active).await;
    assert!(r.is_err(), "an answer inactive then active passed: {r:?}");
    let two_subjects = body(r#""sub":"root""#);
    let r = verify_with(&verifier, &answers, "dup-sub", two_subjects).await;
    assert!(r.is_err(), "an answer with two subjects passed: {r:?}");
    let two_issuers = body(r#""iss":"https://other.example""#);
    let r = verify_with(&verifier, &answers, "dup-iss", two_issuers).await;
    assert!(r.is_err(), "an answer with two issuers passed: {r:?}");
}

// ---------------------------------------------------------------------------------------------
// Class 3: the rest of the introspection checks hold, whatever members the answer carries.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn attributes_never_rescue_an_answer_the_other_checks_refuse() {
    let (url, answers, _) = endpoint().await;
    let verifier = verifier(&url, ISS);
    let rich = r#""tenant":"acme","roles":["admin"],"limit":1000000,"blocked":false"#;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (i, answer) in [
        format!(r#"{{"active":false,"sub":"ann","aud":"{AUD}","iss":"{ISS}",{rich}}}"#),
        format!(r#"{{"active":"true","sub":"ann","aud":"{AUD}","iss":"{ISS}",{rich}}}"#),
        format!(r#"{{"sub":"ann","aud":"{AUD}","iss":"{ISS}",{rich}}}"#),
        format!(r#"{{"active":true,"sub":"ann","aud":"https://other/mcp","iss":"{ISS}",{rich}}}"#),
        format!(r#"{{"active":true,"sub":"ann","iss":"{ISS}",{rich}}}"#),
        format!(r#"{{"active":true,"sub":"ann","aud":"{AUD}","iss":"https://evil.example",{rich}}}"#),
        format!(r#"{{"active":true,"aud":"{AUD}","iss":"{ISS}",{rich}}}"#),
        format!(r#"{{"active":true,"sub":"","aud":"{AUD}","iss":"{ISS}",{rich}}}"#),
        format!(
            r#"{{"active":true,"sub":"ann","aud":"{AUD}","iss":"{ISS}","token_type":"refresh_token",{rich}}}"#
        ),
        format!(
            r#"{{"active":true,"sub":"ann","aud":"{AUD}","iss":"{ISS}","exp":{},{rich}}}"#,
            now - 1
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let r = verify_with(&verifier, &answers, &format!("other-{i}"), answer.clone()).await;
        assert!(r.is_err(), "{answer} passed: {r:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Class 4: the cache keeps an answer no longer than `cache_for` and its `exp`.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_cached_answer_never_outlives_its_exp_nor_the_bound() {
    let (url, answers, asked) = endpoint().await;
    // Cached 60 s, but the answer's exp is 2 s away.
    let verifier = verifier(&url, ISS).cache_for(Duration::from_secs(60));
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    let p = verify_with(
        &verifier,
        &answers,
        "changing",
        body(&format!(r#""exp":{exp},"roles":["admin"],"tenant":"acme""#)),
    )
    .await
    .unwrap();
    assert_eq!(
        p.attribute("roles"),
        Some(&Attribute::Texts(vec!["admin".into()]))
    );
    // Revoked and demoted: within the exp, the cache answers (as documented)...
    answers.lock().unwrap().insert(
        "changing".into(),
        body(r#""roles":["viewer"],"tenant":"globex""#),
    );
    let before = asked.load(Ordering::SeqCst);
    let _ = verifier.verify("changing").await.unwrap();
    assert_eq!(asked.load(Ordering::SeqCst), before, "cached");
    // ...past it, the new answer is read.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let p = verifier.verify("changing").await.unwrap();
    assert_eq!(
        p.attribute("roles"),
        Some(&Attribute::Texts(vec!["viewer".into()]))
    );
    assert_eq!(p.tenant(), Some("globex"));

    // A bound of 1 s without exp: then inactive is seen.
    let short = verifier_with_bound(&url, Duration::from_secs(1));
    answers
        .lock()
        .unwrap()
        .insert("revoked".into(), body(r#""roles":["admin"]"#));
    short.verify("revoked").await.unwrap();
    answers.lock().unwrap().insert(
        "revoked".into(),
        r#"{"active":false,"roles":["admin"]}"#.into(),
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(short.verify("revoked").await.is_err());

    // A refused answer is not cached: fixed, it passes at once.
    answers
        .lock()
        .unwrap()
        .insert("fixed".into(), body(r#""team":"o\u0000ps""#));
    assert!(verifier.verify("fixed").await.is_err());
    answers
        .lock()
        .unwrap()
        .insert("fixed".into(), body(r#""team":"ops""#));
    assert!(verifier.verify("fixed").await.is_ok());
}

fn verifier_with_bound(url: &str, bound: Duration) -> IntrospectionVerifier {
    verifier(url, ISS).cache_for(bound)
}

// ---------------------------------------------------------------------------------------------
// Class 5: tenant vs tenant_key across two issuers.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_same_tenant_of_two_issuers_is_two_tenants() {
    let (url, answers, _) = endpoint().await;
    let a = verifier(&url, ISS);
    let b = verifier(&url, "https://idp-b.example");
    let answer_a = body(r#""tenant":"acme""#);
    let answer_b = format!(
        r#"{{"active":true,"sub":"ann","aud":"{AUD}","iss":"https://idp-b.example","tenant":"acme"}}"#
    );
    let pa = verify_with(&a, &answers, "ta", answer_a).await.unwrap();
    let pb = verify_with(&b, &answers, "tb", answer_b.clone())
        .await
        .unwrap();
    assert_eq!(pa.tenant(), pb.tenant());
    assert_ne!(pa.tenant_key(), pb.tenant_key());
    assert_ne!(pa.id(), pb.id());
    // B's answer presented to A: another issuer, refused.
    assert!(
        verify_with(&a, &answers, "tb-at-a", answer_b)
            .await
            .is_err()
    );
    // A tenant holding `#` cannot forge another issuer's key.
    let pc = verify_with(&a, &answers, "hash", body(r##""tenant":"x#acme""##))
        .await
        .unwrap();
    assert_ne!(pc.tenant_key(), pb.tenant_key());
    // A member named `tenant_key` is not the tenant key.
    let pd = verify_with(
        &a,
        &answers,
        "tk",
        body(r##""tenant_key":"https://idp-b.example#acme""##),
    )
    .await
    .unwrap();
    assert_eq!(pd.tenant_key(), format!("{ISS}#"));
}

// ---------------------------------------------------------------------------------------------
// Class 6: the promise "the tenant comes from the answer's member `name`" for every name, and
// "a member present but of another kind refuses the token" for every declared attribute.
// ---------------------------------------------------------------------------------------------

/// `tenant_claim("client_id")` (a tenant per OAuth client, common for machine callers) or
/// `tenant_claim("sub")` (a tenant per user): the member is in every answer, a string, but the
/// verifier never reads it, so every caller gets no tenant and one shared `tenant_key`
/// (`issuer#`): two tenants' callers share every tenant-owned row.
#[tokio::test]
async fn a_tenant_member_the_answer_also_uses_is_still_read_as_the_tenant() {
    let (url, answers, _) = endpoint().await;
    let mut unread = Vec::new();
    for claim in ["client_id", "sub", "iss", "aud", "scope"] {
        let verifier = verifier(&url, ISS).tenant_claim(claim);
        let acme = format!(
            r#"{{"active":true,"sub":"acme","aud":"{AUD}","iss":"{ISS}","client_id":"acme","scope":"acme"}}"#
        );
        let globex = format!(
            r#"{{"active":true,"sub":"globex","aud":"{AUD}","iss":"{ISS}","client_id":"globex","scope":"globex"}}"#
        );
        let acme = verify_with(&verifier, &answers, &format!("{claim}-acme"), acme)
            .await
            .unwrap();
        let globex = verify_with(&verifier, &answers, &format!("{claim}-globex"), globex)
            .await
            .unwrap();
        // `iss` and `aud` are the same in both answers: only that a tenant is read is asked.
        let distinct = matches!(claim, "iss" | "aud") || acme.tenant_key() != globex.tenant_key();
        if acme.tenant().is_none() || !distinct {
            unread.push(format!(
                "tenant_claim({claim:?}): tenant {:?}, tenant keys {:?} and {:?}",
                acme.tenant(),
                acme.tenant_key(),
                globex.tenant_key()
            ));
        }
    }
    assert!(
        unread.is_empty(),
        "the member is in the answer, a string, yet not read as the tenant:\n{}",
        unread.join("\n")
    );
}

/// An attribute declared under a name the answer's own checks consume (`aud`, `exp`,
/// `token_type`, `iss`): present, of another kind, so the token is refused, as a JWT's claim
/// would be; and `active`, a flag in every answer that passes, read as the attribute.
#[tokio::test]
async fn a_declared_member_of_another_kind_refuses_the_token_whatever_its_name() {
    let (url, answers, _) = endpoint().await;
    let mut passed = Vec::new();
    for name in ["aud", "exp", "token_type", "iss"] {
        let attrs = Attributes::new().with(name, AttributeKind::Flag).unwrap();
        let verifier = verifier(&url, ISS).attributes(&attrs);
        let exp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 600;
        let answer = body(&format!(r#""exp":{exp},"token_type":"Bearer""#));
        let r = verify_with(&verifier, &answers, &format!("kind-{name}"), answer).await;
        if let Ok(p) = r {
            passed.push(format!(
                "`{name}`: passed, attributes {:?}",
                p.attributes()
                    .map(|(n, _)| n.to_owned())
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        passed.is_empty(),
        "declared a flag, present as a non-flag, yet the token passed:\n{}",
        passed.join("\n")
    );
    let attrs = Attributes::new()
        .with("active", AttributeKind::Flag)
        .unwrap();
    let verifier = verifier(&url, ISS).attributes(&attrs);
    let answer = body(r#""token_type":"Bearer""#);
    let p = verify_with(&verifier, &answers, "kind-active", answer)
        .await
        .unwrap();
    assert_eq!(
        p.attribute("active"),
        Some(&mcp_secure::auth::Attribute::Flag(true))
    );
}

// ---------------------------------------------------------------------------------------------
// Class 7: built-in and Cedar names cannot be declared; attributes reach policies as checked.
// ---------------------------------------------------------------------------------------------

#[test]
fn built_in_and_cedar_names_cannot_be_declared() {
    for name in [
        "id",
        "subject",
        "issuer",
        "tenant",
        "tenant_key",
        "scopes",
        "client_id",
        "principal",
        "context",
        "resource",
        "action",
        "has",
        "like",
        "is",
        "in",
        "if",
        "true",
        "__cedar",
        "__cedar_x",
        "",
        "1a",
        "a-b",
        "a.b",
        "tenant\u{0}",
        "ten\u{200b}ant",
        "ｔenant",
    ] {
        assert!(
            Attributes::new().with(name, AttributeKind::Text).is_err(),
            "{name:?}"
        );
    }
}

mcp_secure::scopes! {
    /// Move money.
    "payments:write",
}

#[derive(SecureInput)]
struct Transfer {
    #[mcp(range(min = 1, max = 1_000_000))]
    amount: i64,
}

#[derive(Clone)]
struct Server;

#[mcp_tools]
impl Server {
    /// Move money.
    #[mcp_tool(scope = "payments:write", rate = "unlimited")]
    async fn transfer(&self, input: Transfer) -> String {
        format!("{}", input.amount)
    }
}

fn policies() -> Policies {
    Policies::builder(&Server::tools())
        .attributes(&attributes())
        .build(
            r#"
            @id("limit")
            permit (principal, action == Action::"transfer", resource)
            when { principal has limit && context.amount <= principal.limit
                   && principal has tenant && principal.tenant == "acme" };
            @id("blocked")
            forbid (principal, action, resource)
            when { principal has blocked && principal.blocked };
            @id("roles")
            forbid (principal, action, resource)
            when { principal has roles && principal.roles.contains("suspended") };
            @id("tenant-key")
            forbid (principal, action, resource)
            unless { principal.tenant_key == "https://idp.example#acme" };
            "#,
        )
        .unwrap()
}

#[tokio::test]
async fn no_answer_spelling_gets_a_policy_to_admit_what_it_refuses() {
    let (url, answers, _) = endpoint().await;
    let verifier = verifier(&url, ISS);
    let policies = policies();
    let args = |amount: i64| json!({ "amount": amount }).as_object().cloned().unwrap();
    // The baseline: admitted within the limit, refused past it.
    let ok = verify_with(
        &verifier,
        &answers,
        "base",
        body(r#""tenant":"acme","limit":500"#),
    )
    .await
    .unwrap();
    policies.decide(&ok, "transfer", &args(500)).unwrap();
    policies.decide(&ok, "transfer", &args(501)).unwrap_err();

    // Each of these must not be admitted for 1000: the token is refused, or the policy is.
    let attempts = [
        r#""tenant":"acme","limit":1e3"#,
        r#""tenant":"acme","limit":1000.0"#,
        r#""tenant":"acme","limit":"1000""#,
        r#""tenant":"acme","limit":500,"limit":1000.5"#,
        r#""tenant":"acme","limit":18446744073709551615"#,
        r#""tenant":"acme","limit":1000,"blocked":"true""#,
        r#""tenant":"acme","limit":1000,"blocked":1"#,
        r#""tenant":"acme","limit":1000,"blocked":[true]"#,
        r#""tenant":"acme","limit":1000,"roles":["editor","suspended\u200b"]"#,
        r#""tenant":"acme","limit":1000,"roles":"suspended\u0000""#,
        r#""tenant":"acme","limit":1000,"roles":["suspended",5]"#,
        r#""tenant":"acme\u200b","limit":1000"#,
        r#""tenant":"acme\u0000","limit":1000"#,
        r#""tenant":["acme"],"limit":1000"#,
        r#""tenant":"globex","limit":1000,"tenant_key":"https://idp.example#acme""#,
    ];
    for members in attempts {
        let token = format!("p-{members}");
        let Ok(caller) = verify_with(&verifier, &answers, &token, body(members)).await else {
            continue;
        };
        let decided = policies.decide(&caller, "transfer", &args(1000));
        assert!(decided.is_err(), "{members}: admitted 1000");
    }
    // A blocked or suspended caller, however well formed, is refused.
    for members in [
        r#""tenant":"acme","limit":1000,"blocked":true"#,
        r#""tenant":"acme","limit":1000,"roles":"suspended""#,
        r#""tenant":"acme","limit":1000,"roles":["editor","suspended","editor"]"#,
    ] {
        let caller = verify_with(&verifier, &answers, &format!("q-{members}"), body(members))
            .await
            .unwrap();
        assert!(
            policies.decide(&caller, "transfer", &args(10)).is_err(),
            "{members}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Class 8: over real HTTP, behind the AuthLayer with policies: a refused member's value never
// reaches the client's answer nor the audit lines, and policies decide on what was checked.
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct Bank {
    tools: Tools<Self>,
}

#[mcp_tools(default_rate = "1000/s")]
impl Bank {
    /// Move money.
    #[mcp_tool(scope = "payments:write")]
    async fn transfer(&self, input: Transfer) -> String {
        format!("{}", input.amount)
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for Bank {}

#[tokio::test]
async fn over_http_a_refused_member_is_named_never_echoed_and_policies_hold() {
    use mcp_secure::{
        audit::{AuditSink, JsonLinesSink, SecurityEvent},
        http::Endpoint,
    };
    let (idp, answers, _) = endpoint().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let audit: Arc<Mutex<Vec<String>>> = Arc::default();
    let lines = audit.clone();
    let sink = move |event: &SecurityEvent<'_>| {
        let one = JsonLinesSink::new(Vec::new());
        one.record(event);
        lines
            .lock()
            .unwrap()
            .push(String::from_utf8(one.into_inner()).unwrap());
    };
    let policies = Policies::builder(&Bank::tools())
        .attributes(&attributes())
        .build(
            r#"
            @id("limit")
            permit (principal, action == Action::"transfer", resource)
            when { principal has limit && context.amount <= principal.limit
                   && principal has tenant && principal.tenant == "acme" };
            @id("blocked")
            forbid (principal, action, resource)
            when { principal has blocked && principal.blocked };
            "#,
        )
        .unwrap();
    let security = Security::builder()
        .policies(policies)
        .audit_sink(sink)
        .build()
        .unwrap();
    let server = Bank {
        tools: Bank::tools(),
    };
    let verifier = IntrospectionVerifier::new(&idp, ISS, "mcp", SecretString::new("s".into()))
        .unwrap()
        .fetch_policy(&FetchPolicy::default().allow_loopback())
        .unwrap()
        .cache_for(Duration::ZERO)
        .tenant_claim("tenant")
        .attributes(&attributes());
    let endpoint =
        Endpoint::new(url.as_str(), server.clone(), &server.tools, security).verifier(verifier);
    tokio::spawn(endpoint.serve(listener, std::future::pending()));

    let answer = |members: &str| {
        format!(
            r#"{{"active":true,"sub":"ann","aud":"{url}","iss":"{ISS}","scope":"payments:write",{members}}}"#
        )
    };
    let http = reqwest::Client::new();
    let call = |token: &str, amount: i64| {
        http.post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2025-06-18")
            .bearer_auth(token)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "transfer", "arguments": {"amount": amount}}}))
    };

    // Refused members: 401, the member named at most, its value nowhere.
    for (i, members) in [
        r#""tenant":"MARKER\u001b[2J\r\nX-Forged: 1""#,
        r#""team":"MARKER\u202e\u0000""#,
        r#""roles":["MARKER\u2028{\"event\":\"forged\"}"]"#,
        r#""limit":"MARKER""#,
    ]
    .iter()
    .enumerate()
    {
        let token = format!("http-bad-{i}");
        answers
            .lock()
            .unwrap()
            .insert(token.clone(), answer(members));
        let response = call(&token, 1).send().await.unwrap();
        assert_eq!(response.status(), 401, "{members}");
        let headers = format!("{:?}", response.headers());
        let text = response.text().await.unwrap();
        for seen in [&headers, &text] {
            assert!(
                !seen.contains("MARKER"),
                "{members}: echoed to the client: {seen}"
            );
            assert!(!seen.contains("X-Forged"), "{members}: {seen}");
        }
    }
    // A well-formed caller within its limit is admitted; past it, or blocked, refused.
    answers
        .lock()
        .unwrap()
        .insert("http-ok".into(), answer(r#""tenant":"acme","limit":500"#));
    answers.lock().unwrap().insert(
        "http-blocked".into(),
        answer(r#""tenant":"acme","limit":500,"blocked":true"#),
    );
    answers.lock().unwrap().insert(
        "http-globex".into(),
        answer(r#""tenant":"globex","limit":500"#),
    );
    let result = |token: &'static str, amount: i64| {
        use rmcp::{
            ServiceExt,
            model::CallToolRequestParams,
            transport::{
                StreamableHttpClientTransport,
                streamable_http_client::StreamableHttpClientTransportConfig,
            },
        };
        let config = StreamableHttpClientTransportConfig::with_uri(url.as_str()).auth_header(token);
        async move {
            let client =
                ().serve(StreamableHttpClientTransport::from_config(config))
                    .await
                    .unwrap();
            let params = CallToolRequestParams::new("transfer")
                .with_arguments(json!({ "amount": amount }).as_object().cloned().unwrap());
            let answer = client.call_tool(params).await.unwrap();
            client.cancel().await.unwrap();
            answer.is_error == Some(true)
        }
    };
    assert!(!result("http-ok", 500).await, "admitted within the limit");
    assert!(result("http-ok", 501).await, "refused past the limit");
    assert!(
        result("http-blocked", 10).await,
        "a blocked caller is refused"
    );
    assert!(result("http-globex", 10).await, "another tenant is refused");

    let lines = audit.lock().unwrap().clone();
    assert!(!lines.is_empty());
    for line in &lines {
        assert!(!line.contains("MARKER"), "a value in the audit: {line}");
        assert!(
            !line
                .trim_end_matches('\n')
                .chars()
                .any(|c| c.is_control() || mcp_secure::sanitize::is_invisible(c)),
            "a raw control in the audit: {line:?}"
        );
    }
}

/// The sibling in the shared reading (`auth/claims.rs`): a JWT verifier's `tenant_claim` naming a
/// claim its own `Claims` consumes (`client_id`, `sub`, `scope`, `azp`) never reads it either,
/// while `iss` and `aud` (read by a JWT verifier) are not read by the introspection verifier:
/// one reading, two different sets of readable names.
#[tokio::test]
async fn a_jwt_tenant_claim_the_verifier_also_uses_is_still_read_as_the_tenant() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use mcp_secure::auth::JwtVerifier;
    const SECRET: &str = "test-hmac-secret-0123456789-abcdef";
    mcp_secure::auth::install_jwt_crypto();
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let mut unread = Vec::new();
    for claim in ["client_id", "sub", "scope", "azp", "iss"] {
        let verifier =
            JwtVerifier::hmac(Algorithm::HS256, SecretString::new(SECRET.into()), ISS, AUD)
                .unwrap()
                .tenant_claim(claim);
        let token = |who: &str| {
            let claims = json!({"sub": who, "iss": ISS, "aud": AUD, "exp": exp,
                "scope": who, "client_id": who, "azp": who});
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(SECRET.as_bytes()),
            )
            .unwrap()
        };
        let acme = verifier.verify(&token("acme")).await.unwrap();
        let globex = verifier.verify(&token("globex")).await.unwrap();
        let distinct = claim == "iss" || acme.tenant_key() != globex.tenant_key();
        if acme.tenant().is_none() || !distinct {
            unread.push(format!(
                "JwtVerifier::tenant_claim({claim:?}): tenant {:?}, tenant keys {:?} and {:?}",
                acme.tenant(),
                acme.tenant_key(),
                globex.tenant_key()
            ));
        }
    }
    assert!(
        unread.is_empty(),
        "the claim is in the token, a string, yet not read as the tenant:\n{}",
        unread.join("\n")
    );
}
