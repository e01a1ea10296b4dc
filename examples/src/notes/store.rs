use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use mcp_secure::secret::SecretString;
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
    notes: BTreeMap<i64, (String, Note)>,
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

    /// Stores a new note of `owner`.
    pub fn create(&self, owner: &str, title: String, body: String, tags: Vec<String>) -> Note {
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
            .insert(note.id, (owner.to_owned(), note.clone()));
        note
    }

    /// Stores a webhook of `owner`; returns its id.
    pub fn add_webhook(&self, owner: &str, url: &str, secret: SecretString) -> i64 {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.webhooks.push(StoredWebhook {
            id,
            owner: owner.to_owned(),
            url: url.to_owned(),
            secret,
        });
        id
    }

    /// How many webhooks `owner` has, and whether the one with `id` holds `secret` (for tests).
    pub fn webhook_secret_matches(&self, owner: &str, id: i64, secret: &str) -> bool {
        self.lock().webhooks.iter().any(|w| {
            w.id == id
                && w.owner == owner
                && !w.url.is_empty()
                && w.secret.expose_secret() == secret
        })
    }

    /// `owner`'s note `id`.
    pub fn get(&self, owner: &str, id: i64) -> Option<Note> {
        self.lock()
            .notes
            .get(&id)
            .filter(|(o, _)| o == owner)
            .map(|(_, n)| n.clone())
    }

    /// Deletes `owner`'s note `id`; false if there is none.
    pub fn delete(&self, owner: &str, id: i64) -> bool {
        let mut inner = self.lock();
        if inner.notes.get(&id).is_some_and(|(o, _)| o == owner) {
            inner.notes.remove(&id);
            true
        } else {
            false
        }
    }

    /// `owner`'s notes whose title or body contains `query` (case-insensitive, literally).
    pub fn search(&self, owner: &str, query: &str, by_title: bool, limit: usize) -> Vec<Note> {
        let needle = query.to_lowercase();
        let mut found: Vec<Note> = self
            .lock()
            .notes
            .values()
            .filter(|(o, n)| {
                o == owner
                    && (n.title.to_lowercase().contains(&needle)
                        || n.body.to_lowercase().contains(&needle))
            })
            .map(|(_, n)| n.clone())
            .collect();
        if by_title {
            found.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id)));
        }
        found.truncate(limit);
        found
    }
}
