//! API keys kept in a file and reloaded without a restart: when the file is replaced or
//! rewritten ([`ApiKeyFile::watch`]), or when asked ([`ApiKeyFile::reload`], e.g. on SIGHUP).
//! A reload swaps the whole set at once: a revoked key stops working for the next request,
//! while calls already admitted finish. A file that does not parse leaves the keys as they
//! were. Both are audited as `keys_reloaded`, without the file's path or any key.
//!
//! A file that is gone revokes every key: deleting it is how an operator takes every key back
//! at once, so it must not leave the last keys working. So does a file that cannot be read
//! (a replacement the process may not read must not leave the replaced keys working). A reload that finds no file (on SIGHUP,
//! say) refuses every key at once; the watcher does so within [`MISSING_GRACE`] of the file's
//! going (a file replaced by delete-then-write is missing for a moment). Either
//! way the audit log gets a `keys_reloaded` event with `entries: 0` and a `refused` reason,
//! at error level, and [`ApiKeyFile::is_in_force`] turns false (a readiness check for
//! `/readyz`, with `Endpoint::readiness`). The keys come back when the file does.
//!
//! The file is watched by comparing its metadata (modification time, length, inode) every
//! [`WATCH_INTERVAL`]: that sees an editor's write-and-rename as well as an in-place write,
//! needs no watcher crate, and bounds the delay to well under a second.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime},
};

use super::{ApiKeyConfigError, ApiKeys, TokenVerifier, VerifyError, VerifyFuture};
use crate::{Security, audit::SecurityEvent};

/// How often [`ApiKeyFile::watch`] looks at the file.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// How long at most [`ApiKeyFile::watch`] lets the file be missing before it refuses every
/// key: it counts its looks at the file, so a file gone just before a look is refused one
/// [`WATCH_INTERVAL`] sooner.
pub const MISSING_GRACE: Duration = Duration::from_secs(1);

/// What the audit log is told when the file is gone.
const MISSING: &str = "the API key file is missing: every API key is refused until it is back";

/// What the audit log is told when the file is there but cannot be read (its permissions, or
/// a sandbox that does not let the process read a file replaced by a rename): the keys in force
/// are unknown, so none is kept.
const UNREADABLE: &str =
    "the API key file cannot be read: every API key is refused until it can be";

/// What a refused caller is told meanwhile.
const UNAVAILABLE: &str = "the API key file is missing or cannot be read: every API key is refused";

/// Why the key file could not be (re)loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiKeyFileError {
    /// The file could not be read.
    Read(std::io::ErrorKind),
    /// An entry is malformed.
    Config(ApiKeyConfigError),
    /// The file has no entries.
    Empty,
    /// The issuer is not a valid name.
    Issuer(super::IssuerError),
}

impl std::fmt::Display for ApiKeyFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiKeyFileError::Read(kind) => write!(f, "the API key file cannot be read ({kind})"),
            ApiKeyFileError::Config(e) => write!(f, "the API key file: {e}"),
            ApiKeyFileError::Empty => f.write_str("the API key file has no entries"),
            ApiKeyFileError::Issuer(e) => write!(f, "the API key file's issuer: {e}"),
        }
    }
}

impl std::error::Error for ApiKeyFileError {}

/// API keys read from a file (the [`ApiKeys::parse`] format), as a [`TokenVerifier`] whose
/// keys can be replaced while it serves. Clones share the keys.
#[derive(Clone)]
pub struct ApiKeyFile {
    path: Arc<PathBuf>,
    issuer: Arc<str>,
    keys: Arc<RwLock<Arc<ApiKeys>>>,
    /// The version of the file last read, taken before reading it (a change made while it
    /// is read is then seen by the next look).
    loaded: Arc<std::sync::Mutex<Option<Version>>>,
    /// Whether the keys were revoked because the file is gone.
    missing: Arc<AtomicBool>,
}

impl std::fmt::Debug for ApiKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyFile")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// What identifies a version of the file.
#[derive(PartialEq, Eq, Clone, Copy)]
struct Version {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn version(path: &Path) -> Option<Version> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Version {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode,
    })
}

fn read(path: &Path, issuer: &str) -> Result<ApiKeys, ApiKeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| ApiKeyFileError::Read(e.kind()))?;
    let keys = ApiKeys::parse(&text).map_err(ApiKeyFileError::Config)?;
    if keys.is_empty() {
        return Err(ApiKeyFileError::Empty);
    }
    // The issuer was checked when the file was first opened.
    Ok(keys
        .with_issuer(issuer)
        .unwrap_or_else(|_| unreachable!("checked at open")))
}

impl ApiKeyFile {
    /// The keys of the file at `path`, vouched for as `issuer` (e.g.
    /// [`API_KEY_ISSUER`](super::API_KEY_ISSUER)).
    pub fn open(path: impl Into<PathBuf>, issuer: &str) -> Result<Self, ApiKeyFileError> {
        ApiKeys::new()
            .with_issuer(issuer)
            .map_err(ApiKeyFileError::Issuer)?;
        let path = path.into();
        let loaded = version(&path);
        let keys = read(&path, issuer)?;
        Ok(Self {
            path: Arc::new(path),
            issuer: issuer.into(),
            keys: Arc::new(RwLock::new(Arc::new(keys))),
            loaded: Arc::new(std::sync::Mutex::new(loaded)),
            missing: Arc::new(AtomicBool::new(false)),
        })
    }

    /// How many keys are loaded now.
    pub fn len(&self) -> usize {
        self.current().len()
    }

    /// Whether no key is loaded: only after the file went missing (an empty file is
    /// refused).
    pub fn is_empty(&self) -> bool {
        self.current().is_empty()
    }

    /// Whether the file's keys are in force: false once the file was found missing (every
    /// key is then refused), until it is back. A readiness check for `/readyz`.
    pub fn is_in_force(&self) -> bool {
        !self.missing.load(Ordering::Acquire)
    }

    fn current(&self) -> Arc<ApiKeys> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads the file again and, if it parses, replaces the keys; audited in `security`.
    /// Returns how many keys are loaded. On an error in the file's content the keys stay as
    /// they were; a file that is missing or cannot be read refuses every key
    /// ([`ApiKeyFileError::Read`]).
    pub fn reload(&self, security: &Security) -> Result<usize, ApiKeyFileError> {
        *self.loaded.lock().unwrap_or_else(|p| p.into_inner()) = version(&self.path);
        match read(&self.path, &self.issuer) {
            Err(ApiKeyFileError::Read(kind)) => {
                *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(ApiKeys::new());
                self.missing.store(true, Ordering::Release);
                let reason = match kind {
                    std::io::ErrorKind::NotFound => MISSING,
                    _ => UNREADABLE,
                };
                security.emit(&SecurityEvent::KeysReloaded {
                    entries: 0,
                    refused: Some(reason),
                });
                Err(ApiKeyFileError::Read(kind))
            }
            Ok(keys) => {
                let entries = keys.len();
                *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
                self.missing.store(false, Ordering::Release);
                security.emit(&SecurityEvent::KeysReloaded {
                    entries,
                    refused: None,
                });
                Ok(entries)
            }
            Err(e) => {
                let reason = e.to_string();
                security.emit(&SecurityEvent::KeysReloaded {
                    entries: self.len(),
                    refused: Some(&reason),
                });
                Err(e)
            }
        }
    }

    /// Reloads the keys whenever the file changes, and refuses every key within
    /// [`MISSING_GRACE`] of its going missing, until the returned task is aborted (or the
    /// runtime ends).
    pub fn watch(&self, security: Security) -> tokio::task::JoinHandle<()> {
        let file = self.clone();
        let grace = MISSING_GRACE.as_millis() / WATCH_INTERVAL.as_millis();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(WATCH_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut missed = 0;
            loop {
                tick.tick().await;
                let now = version(&file.path);
                let loaded = *file.loaded.lock().unwrap_or_else(|p| p.into_inner());
                if now.is_none() {
                    // A file being replaced may be missing for a moment: wait for it, a while.
                    missed += 1;
                    if missed == grace && file.is_in_force() {
                        let _ = file.reload(&security);
                    }
                    continue;
                }
                missed = 0;
                if now != loaded {
                    let _ = file.reload(&security);
                }
            }
        })
    }
}

impl TokenVerifier for ApiKeyFile {
    fn issuer(&self) -> &str {
        &self.issuer
    }

    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        let result = match self.is_in_force() {
            true => self
                .current()
                .verify(token)
                .ok_or_else(|| VerifyError::new("unknown API key")),
            false => Err(VerifyError::new(UNAVAILABLE)),
        };
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test]
    async fn a_replaced_file_replaces_the_keys_and_a_broken_one_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, "old-key-0123456789 ann notes:read\n").unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let security = Security::builder()
            .audit_sink(move |e: &SecurityEvent<'_>| {
                seen.lock().unwrap().push(e.to_json());
            })
            .build()
            .unwrap();
        let file = ApiKeyFile::open(&path, "api-key").unwrap();
        assert!(file.verify("old-key-0123456789").await.is_ok());

        // Replaced by rename, as an editor or a deployment does.
        let next = dir.path().join("keys.new");
        std::fs::write(&next, "new-key-0123456789 bob notes:write\n").unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert_eq!(file.reload(&security).unwrap(), 1);
        assert!(file.verify("old-key-0123456789").await.is_err());
        let bob = file.verify("new-key-0123456789").await.unwrap();
        assert_eq!((bob.issuer(), bob.subject()), ("api-key", "bob"));

        std::fs::write(&path, "short bob\n").unwrap();
        assert!(matches!(
            file.reload(&security),
            Err(ApiKeyFileError::Config(_))
        ));
        assert!(file.verify("new-key-0123456789").await.is_ok(), "kept");

        let events = events.lock().unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["event"], "keys_reloaded");
        assert!(events[0]["refused"].is_null());
        assert!(events[1]["refused"].as_str().unwrap().contains("entry 1"));
        let text = serde_json::to_string(&*events).unwrap();
        for private in ["new-key", "old-key", "short", dir.path().to_str().unwrap()] {
            assert!(!text.contains(private), "{private} in {text}");
        }
    }

    #[tokio::test]
    async fn a_watched_file_is_reloaded_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, "old-key-0123456789 ann\n").unwrap();
        let file = ApiKeyFile::open(&path, "api-key").unwrap();
        let watching = file.watch(Security::default());
        std::fs::write(&path, "new-key-0123456789 ann\nmore-key-0123456789 cy\n").unwrap();
        let mut reloaded = false;
        for _ in 0..40 {
            if file.len() == 2 {
                reloaded = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        watching.abort();
        assert!(reloaded, "reloaded within two seconds");
        assert!(file.verify("old-key-0123456789").await.is_err());
    }

    /// SECURITY.md: a missing file refuses every key "under the watcher within
    /// `MISSING_GRACE` (1 s)", on tokio's paused clock. The watcher looks at 0, 250, 500, 750
    /// and 1000 ms; the file goes at 1 ms, just after the first look, so it is waited for
    /// until the look 1 s after the last one that saw it (gone just before a look, it would be
    /// refused a look sooner).
    #[tokio::test(start_paused = true)]
    async fn a_watched_file_missing_for_1_s_refuses_every_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, "a-key-0123456789 ann\n").unwrap();
        let file = ApiKeyFile::open(&path, "api-key").unwrap();
        let start = tokio::time::Instant::now();
        let watching = file.watch(Security::default());
        tokio::time::sleep_until(start + Duration::from_millis(1)).await;
        std::fs::remove_file(&path).unwrap();
        tokio::time::sleep_until(start + Duration::from_millis(999)).await;
        assert!(
            file.verify("a-key-0123456789").await.is_ok(),
            "in the grace"
        );
        tokio::time::sleep_until(start + Duration::from_millis(1001)).await;
        assert!(file.verify("a-key-0123456789").await.is_err(), "refused");
        assert!(!file.is_in_force());
        watching.abort();
    }
}
