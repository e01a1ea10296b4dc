use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use mcp_secure::{
    ToolError,
    auth::{Owned, Principal},
    secret::SecretString,
};
use serde::Serialize;

/// A note.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Note {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its text.
    pub body: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// When it was created, in seconds since the Unix epoch.
    pub created_at: u64,
}

/// The notes of every caller, in memory, shared by all sessions. Each note belongs to the
/// subject that created it; other subjects cannot see that it exists.
#[derive(Clone, Default)]
pub struct NotesStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    next_id: i64,
    notes: BTreeMap<i64, Owned<Note>>,
    webhooks: Vec<StoredWebhook>,
}

struct StoredWebhook {
    id: i64,
    owner: String,
    url: String,
    /// Kept to sign deliveries; never returned.
    secret: SecretString,
}

impl NotesStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores a new note owned by `caller`.
    pub fn create(
        &self,
        caller: &Principal,
        title: String,
        body: String,
        tags: Vec<String>,
    ) -> Note {
        let mut inner = self.lock();
        inner.next_id += 1;
        let note = Note {
            id: inner.next_id,
            title,
            body,
            tags,
            created_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        inner
            .notes
            .insert(note.id, Owned::created_by(caller, note.clone()));
        note
    }

    /// Stores a webhook of `caller`; returns its id.
    pub fn add_webhook(&self, caller: &Principal, url: &str, secret: SecretString) -> i64 {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.webhooks.push(StoredWebhook {
            id,
            owner: caller.subject().to_owned(),
            url: url.to_owned(),
            secret,
        });
        id
    }

    /// The URL of `owner`'s webhook `id` and the signature header value of a delivery of
    /// `payload` to it: `sha256=<hex HMAC-SHA256 of the payload with the webhook's secret>`.
    /// `None` for a webhook that does not exist or is someone else's.
    pub fn sign_delivery(&self, owner: &str, id: i64, payload: &[u8]) -> Option<(String, String)> {
        use hmac::Mac;
        let inner = self.lock();
        let hook = inner
            .webhooks
            .iter()
            .find(|w| w.id == id && w.owner == owner)?;
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(hook.secret.expose_secret().as_bytes())
                .ok()?;
        mac.update(payload);
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Some((hook.url.clone(), format!("sha256={hex}")))
    }

    /// `caller`'s note `id`; anyone else's is `not_found`, like a missing one.
    pub fn get(&self, caller: &Principal, id: i64) -> Result<Note, ToolError> {
        let what = format!("note {id}");
        let note = self.lock().notes.get(&id).cloned();
        note.ok_or_else(|| ToolError::not_found(&what))?
            .for_caller(caller, &what)
    }

    /// Deletes `caller`'s note `id`; anyone else's is `not_found`, like a missing one.
    pub fn delete(&self, caller: &Principal, id: i64) -> Result<(), ToolError> {
        let mut inner = self.lock();
        match inner.notes.get(&id) {
            Some(note) if note.is_owned_by(caller) => {
                inner.notes.remove(&id);
                Ok(())
            }
            _ => Err(ToolError::not_found(format!("note {id}"))),
        }
    }

    /// `caller`'s notes whose title or body contains `query` (case-insensitive, literally).
    pub fn search(
        &self,
        caller: &Principal,
        query: &str,
        by_title: bool,
        limit: usize,
    ) -> Vec<Note> {
        let needle = query.to_lowercase();
        let mut found: Vec<Note> = self
            .lock()
            .notes
            .values()
            .filter_map(|n| n.get_for(caller))
            .filter(|n| {
                n.title.to_lowercase().contains(&needle) || n.body.to_lowercase().contains(&needle)
            })
            .cloned()
            .collect();
        if by_title {
            found.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id)));
        }
        found.truncate(limit);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_are_signed_with_the_stored_secret() {
        let store = NotesStore::default();
        let alice = Principal::new("alice", ["webhooks:write"]);
        let id = store.add_webhook(
            &alice,
            "https://hooks.example.com/in",
            SecretString::new("key".into()),
        );
        let (url, signature) = store
            .sign_delivery("alice", id, b"The quick brown fox jumps over the lazy dog")
            .unwrap();
        assert_eq!(url, "https://hooks.example.com/in");
        // RFC 4231-style known answer for HMAC-SHA256("key", "The quick brown fox ...").
        assert_eq!(
            signature,
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        assert!(store.sign_delivery("alice", id + 1, b"x").is_none());
        assert!(
            store.sign_delivery("bob", id, b"x").is_none(),
            "not bob's webhook"
        );
    }
}
