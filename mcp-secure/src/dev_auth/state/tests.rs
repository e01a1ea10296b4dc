use std::time::Duration;

use super::*;
use crate::dev_auth::{Grant, User, now_ms};

fn grant() -> Grant {
    Grant {
        client_id: "dev-1".into(),
        redirect_uri: "http://127.0.0.1:9/cb".into(),
        state: None,
        challenge: "c".repeat(43),
        scopes: vec!["notes:read".into()],
        dpop_jkt: None,
    }
}

fn code(expires_in: u64) -> Code {
    Code {
        grant: grant(),
        user: User::named("ann"),
        expires: now_ms() + expires_in,
    }
}

#[tokio::test]
async fn a_code_is_spent_once_with_the_family_it_bought() {
    let store = StateStore::memory();
    let keep = Duration::from_secs(60);
    store.put_code("the-code", &code(60_000)).await.unwrap();
    let (read, spent) = store.code("the-code").await.unwrap().unwrap();
    assert!(
        read.user.subject == "ann" && !spent,
        "reading spends nothing"
    );
    assert!(matches!(
        store
            .spend_code("the-code", Some("family-1"), keep)
            .await
            .unwrap(),
        Some(Spent::First)
    ));
    // The second spend finds the first one's family, whatever it brings itself.
    assert!(matches!(
        store.spend_code("the-code", Some("family-2"), keep).await.unwrap(),
        Some(Spent::Again { link: Some(f) }) if f == "family-1"
    ));
    assert!(store.code("the-code").await.unwrap().unwrap().1);
    assert!(
        store
            .spend_code("another", None, keep)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_expired_record_is_gone() {
    let store = StateStore::memory();
    store.put_code("old", &code(0)).await.unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert!(store.code("old").await.unwrap().is_none());
    let keep = Duration::from_secs(60);
    assert!(store.spend_code("old", None, keep).await.unwrap().is_none());
}

#[tokio::test]
async fn a_consent_ticket_is_taken_once() {
    let store = StateStore::memory();
    let pending = Pending {
        grant: grant(),
        expires: now_ms() + 60_000,
        browser: [7; 32],
    };
    store.put_pending("ticket", &pending).await.unwrap();
    let taken = store.take_pending("ticket").await.unwrap().unwrap();
    assert_eq!(taken.browser, [7; 32]);
    assert!(store.take_pending("ticket").await.unwrap().is_none());
}

#[tokio::test]
async fn a_refresh_token_is_spent_once_and_a_family_revoked_for_good() {
    let store = StateStore::memory();
    let family = Family {
        client_id: "dev-1".into(),
        user: User::named("ann"),
        scopes: vec!["notes:read".into()],
        jkt: None,
        revoked: false,
    };
    let id = store
        .add_family(&family, Duration::from_secs(60))
        .await
        .unwrap();
    let record = Refresh {
        family: id.clone(),
        expires: now_ms() + 60_000,
        used: false,
    };
    store.put_refresh("rt", &record).await.unwrap();
    assert!(!store.refresh_token("rt").await.unwrap().unwrap().used);
    assert_eq!(store.spend_refresh("rt").await.unwrap(), Some(true));
    assert_eq!(store.spend_refresh("rt").await.unwrap(), Some(false));
    assert!(store.refresh_token("rt").await.unwrap().unwrap().used);
    assert!(!store.family(&id).await.unwrap().unwrap().revoked);
    store.revoke(&id).await.unwrap();
    store.revoke(&id).await.unwrap();
    assert!(store.family(&id).await.unwrap().unwrap().revoked);
}

#[tokio::test]
async fn registered_clients_are_counted_against_their_cap() {
    let store = StateStore::memory();
    let client = Client {
        expires: None,
        secret_hash: None,
        method: crate::dev_auth::AuthMethod::None,
        redirect_uris: vec!["http://127.0.0.1:9/cb".into()],
        refresh: true,
        name: None,
        scope: None,
    };
    assert!(store.register("dev-1", &client, 2).await.unwrap());
    assert!(store.register("dev-2", &client, 2).await.unwrap());
    assert!(!store.register("dev-3", &client, 2).await.unwrap());
    assert!(store.client("dev-2").await.unwrap().is_some());
    assert!(store.client("dev-3").await.unwrap().is_none());
}

#[tokio::test]
async fn memory_holds_live_records_only_and_caps_consent_pages() {
    let store = StateStore::memory();
    let Kv::Memory(kv) = &store.kv else {
        unreachable!()
    };
    store.put_code("old", &code(0)).await.unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let now = now_ms();
    for i in 0..=crate::dev_auth::MAX_PENDING {
        let pending = Pending {
            grant: grant(),
            // The first page expires soonest: it is the one dropped.
            expires: now + 60_000 + i as u64,
            browser: [0; 32],
        };
        store.put_pending(&format!("t{i}"), &pending).await.unwrap();
    }
    assert_eq!(kv.held(Kind::Code), 0, "pruned on insertion");
    assert_eq!(kv.held(Kind::Pending), crate::dev_auth::MAX_PENDING);
    assert!(store.take_pending("t0").await.unwrap().is_none());
    assert!(store.take_pending("t1").await.unwrap().is_some());
}
