//! The state of one process, in a map behind a mutex: each operation holds the lock once, so
//! each is atomic as Redis's scripts are.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use super::{Entry, Kind};
use crate::dev_auth::{MAX_DOCUMENTS, MAX_PENDING, now_ms};

struct Kept {
    entry: Entry,
    /// Milliseconds since the epoch; `None` for a registered client.
    expires: Option<u64>,
}

impl Kept {
    fn live(&self, now: u64) -> bool {
        self.expires.is_none_or(|e| e > now)
    }
}

#[derive(Default)]
struct Maps {
    records: HashMap<(Kind, String), Kept>,
    counts: HashMap<Kind, usize>,
}

#[derive(Default)]
pub(super) struct MemoryKv {
    maps: Mutex<Maps>,
}

/// How many records of `kind` memory keeps: beyond, the one nearest its expiry goes. Consent
/// pages and sign-ins are limited per client address too, so that a flood from one address
/// cannot push other users' out.
fn cap(kind: Kind) -> Option<usize> {
    match kind {
        Kind::Pending | Kind::Upstream => Some(MAX_PENDING),
        Kind::Document => Some(MAX_DOCUMENTS),
        _ => None,
    }
}

fn deadline(ttl: Duration) -> u64 {
    now_ms().saturating_add(ttl.as_millis() as u64)
}

impl MemoryKv {
    fn maps(&self) -> MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn live(&self, kind: Kind, id: &str) -> Option<(MutexGuard<'_, Maps>, (Kind, String))> {
        let maps = self.maps();
        let key = (kind, id.to_owned());
        maps.records
            .get(&key)
            .is_some_and(|k| k.live(now_ms()))
            .then_some((maps, key))
    }

    pub(super) fn put(&self, kind: Kind, id: &str, value: Vec<u8>, ttl: Option<Duration>) {
        let now = now_ms();
        let mut maps = self.maps();
        // Pruned on every insertion, so that the map holds live records only.
        maps.records.retain(|_, kept| kept.live(now));
        if let Some(cap) = cap(kind) {
            let held = maps.records.keys().filter(|(k, _)| *k == kind).count();
            if held >= cap
                && let Some(nearest) = maps
                    .records
                    .iter()
                    .filter(|((k, _), _)| *k == kind)
                    .min_by_key(|(_, kept)| kept.expires)
                    .map(|(key, _)| key.clone())
            {
                maps.records.remove(&nearest);
            }
        }
        let entry = Entry {
            value,
            ..Entry::default()
        };
        let expires = ttl.map(deadline);
        maps.records
            .insert((kind, id.to_owned()), Kept { entry, expires });
    }

    pub(super) fn get(&self, kind: Kind, id: &str) -> Option<Entry> {
        let (maps, key) = self.live(kind, id)?;
        maps.records.get(&key).map(|k| k.entry.clone())
    }

    pub(super) fn take(&self, kind: Kind, id: &str) -> Option<Entry> {
        let (mut maps, key) = self.live(kind, id)?;
        maps.records.remove(&key).map(|k| k.entry)
    }

    pub(super) fn flag(
        &self,
        kind: Kind,
        id: &str,
        link: Option<(&str, Duration)>,
    ) -> Option<Entry> {
        let (mut maps, key) = self.live(kind, id)?;
        let kept = maps.records.get_mut(&key)?;
        let before = kept.entry.clone();
        if !before.flag
            && let Some((link, keep)) = link
        {
            kept.entry.link = Some(link.to_owned());
            kept.expires = Some(deadline(keep));
        }
        kept.entry.flag = true;
        Some(before)
    }

    #[cfg(feature = "oauth-proxy")]
    pub(super) fn replace(&self, kind: Kind, id: &str, value: Vec<u8>) {
        if let Some((mut maps, key)) = self.live(kind, id)
            && let Some(kept) = maps.records.get_mut(&key)
        {
            kept.entry.value = value;
        }
    }

    pub(super) fn extend(&self, kind: Kind, id: &str, ttl: Duration) {
        if let Some((mut maps, key)) = self.live(kind, id)
            && let Some(kept) = maps.records.get_mut(&key)
            && let Some(expires) = kept.expires
        {
            kept.expires = Some(expires.max(deadline(ttl)));
        }
    }

    pub(super) fn count_up(&self, kind: Kind, max: usize) -> bool {
        let mut maps = self.maps();
        let count = maps.counts.entry(kind).or_default();
        if *count >= max {
            return false;
        }
        *count += 1;
        true
    }
}

#[cfg(test)]
impl MemoryKv {
    /// How many records of `kind` are held, expired or not.
    pub(super) fn held(&self, kind: Kind) -> usize {
        self.maps()
            .records
            .keys()
            .filter(|(k, _)| *k == kind)
            .count()
    }
}
