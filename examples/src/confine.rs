//! What the demo declares it reaches, for the kernel's sandbox: derived from its command line,
//! so that the process can reach its files root, database, key file, audit log, listeners and
//! upstreams, and nothing else.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::Context;
use mcp_secure::sandbox::{Sandbox, SandboxMode, SandboxReport};

/// The sandbox being declared.
pub struct Confinement {
    sandbox: Sandbox,
}

/// The directory holding `file` (`.` for a bare name).
fn parent(file: &Path) -> PathBuf {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The TCP port of `url`, or its scheme's.
fn port_of(url: &str) -> anyhow::Result<u16> {
    let parsed = url::Url::parse(url).with_context(|| "an upstream URL")?;
    parsed
        .port_or_known_default()
        .or(match parsed.scheme() {
            "redis" => Some(6379),
            "rediss" => Some(6380),
            "postgres" | "postgresql" => Some(5432),
            _ => None,
        })
        .with_context(|| format!("the port of a {} URL", parsed.scheme()))
}

impl Confinement {
    /// Nothing declared yet, in `mode`; when started as root, the process becomes `user`
    /// (`(uid, gid)`).
    pub fn new(mode: SandboxMode, user: Option<(u32, u32)>) -> Self {
        let sandbox = Sandbox::new(mode);
        Self {
            sandbox: match user {
                Some((uid, gid)) => sandbox.run_as(uid, gid),
                None => sandbox,
            },
        }
    }

    /// The files root, as the demo's tools use it: read only, since only `files_read`
    /// (`files:read`) names it; writable if a write-scoped tool ever does.
    pub fn files(mut self, dir: &Path) -> Self {
        let policies = crate::notes::NotesServer::tool_policies();
        self.sandbox = self.sandbox.path_root("files", dir, policies);
        self
    }

    /// The database: a SQLite file's directory (its journal and WAL files live beside it) is
    /// writable; a server's URL is an upstream.
    pub fn database(mut self, db: &str) -> anyhow::Result<Self> {
        if db.contains("://") {
            self.sandbox = self.sandbox.connect_tcp(port_of(db)?);
        } else if db != ":memory:" {
            self.sandbox = self.sandbox.write(parent(Path::new(db)));
        }
        Ok(self)
    }

    /// A file read now and again later, and perhaps replaced by a rename (the API key file):
    /// its directory is readable.
    pub fn reread(mut self, file: &Path) -> Self {
        self.sandbox = self.sandbox.read(parent(file));
        self
    }

    /// A file read (a TLS certificate or key).
    pub fn read(mut self, file: &Path) -> Self {
        self.sandbox = self.sandbox.read(file);
        self
    }

    /// A file appended to, created if missing (the audit log): its directory is writable.
    pub fn append(mut self, file: &Path) -> Self {
        self.sandbox = self.sandbox.write(parent(file));
        self
    }

    /// Servers on `port` at any host (Landlock's network rules name ports, not hosts).
    pub fn connect_port(mut self, port: u16) -> Self {
        self.sandbox = self.sandbox.connect_tcp(port);
        self
    }

    /// A server connected to (Redis, an authorization server).
    pub fn upstream(mut self, url: &str) -> anyhow::Result<Self> {
        self.sandbox = self.sandbox.connect_tcp(port_of(url)?);
        Ok(self)
    }

    /// An address listened on.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.sandbox = self.sandbox.bind_tcp(addr.port());
        self
    }

    /// Confines the process: before the runtime's threads start.
    pub fn apply(self) -> anyhow::Result<SandboxReport> {
        Ok(self.sandbox.apply()?)
    }
}
