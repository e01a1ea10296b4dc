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
