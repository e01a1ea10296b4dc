//! The state's bounds.

use super::*;

fn grant() -> Grant {
    Grant {
        client_id: "c".into(),
        redirect_uri: "http://127.0.0.1/cb".into(),
        state: None,
        challenge: String::new(),
        scopes: vec!["a:b".into()],
    }
}

#[test]
fn pruning_keeps_the_state_bounded() {
    let mut store = Store::default();
    let family = |store: &mut Store, id| {
        store.families.insert(
            id,
            Family {
                client_id: "c".into(),
                user: User::named("u"),
                scopes: vec![],
                revoked: false,
                jkt: None,
            },
        );
    };
    family(&mut store, 1);
    family(&mut store, 2);
    // An expired code that bought family 1, kept while its tokens may be refreshed.
    store.codes.insert(
        [1; 32],
        Code {
            grant: grant(),
            user: User::named("u"),
            expires: 100,
            used: true,
            family: Some(1),
        },
    );
    store.codes.insert(
        [2; 32],
        Code {
            grant: grant(),
            user: User::named("u"),
            expires: 100,
            used: false,
            family: None,
        },
    );
    store.pending.insert(
        [3; 32],
        Pending {
            grant: grant(),
            expires: 100,
            browser: [0; 32],
        },
    );
    store.refresh.insert(
        [4; 32],
        Refresh {
            family: 2,
            used: false,
            expires: 100,
        },
    );
    store.prune(200, 1_000);
    assert_eq!(store.codes.len(), 1, "the code that bought tokens stays");
    assert!(store.pending.is_empty() && store.refresh.is_empty());
    assert_eq!(store.families.keys().collect::<Vec<_>>(), [&1]);
    store.prune(2_000, 1_000);
    assert!(store.codes.is_empty() && store.families.is_empty());
}
