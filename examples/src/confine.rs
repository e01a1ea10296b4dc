//! What the demo declares it reaches, for the kernel's sandbox: derived from its command line,
//! so that the process can reach its files root, database, key file, audit log, listeners and
//! upstreams, and nothing else.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::Context;
use mcp_secure::sandbox::{NameResolution, ResourceLimits, Sandbox, SandboxMode, SandboxReport};

/// The sandbox being declared.
pub struct Confinement {
    sandbox: Sandbox,
    /// Whether an upstream is named by a host that only DNS resolves.
    resolves_names: bool,
    /// What the operator should know about the rules.
    notes: Vec<String>,
}

/// Whether connecting to `url` needs DNS: its host is a name that is not `localhost` (which the
/// hosts file names).
fn needs_dns(url: &url::Url) -> bool {
    matches!(url.host(), Some(url::Host::Domain(name)) if !name.eq_ignore_ascii_case("localhost"))
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
            resolves_names: false,
            notes: Vec::new(),
        }
    }

    /// The resource limits (core files are always off).
    pub fn limits(mut self, limits: ResourceLimits) -> Self {
        self.sandbox = self.sandbox.limits(limits);
        self
    }

    /// Host names resolved through DNS: for upstreams not known in advance (client metadata
    /// documents).
    pub fn resolve_names(mut self) -> Self {
        self.resolves_names = true;
        self
    }

    /// The files root, as the demo's tools use it: read only, since only `files_read`
    /// (`files:read`) names it; writable if a write-scoped tool ever does.
    pub fn files(mut self, dir: &Path) -> Self {
        let policies = crate::notes::NotesServer::tool_policies();
        self.sandbox = self.sandbox.path_root("files", dir, policies);
        self
    }

    /// The database: a SQLite file's directory (its journal and WAL files are created beside
    /// it) is writable, so it should be a directory of its own (the sandbox refuses, or
    /// reports, a read-only path inside it); a server's URL is an upstream.
    pub fn database(mut self, db: &str) -> anyhow::Result<Self> {
        if db.contains("://") {
            self = self.upstream(db)?;
        } else if db != ":memory:" {
            self.sandbox = self.sandbox.write(parent(Path::new(db)));
        }
        Ok(self)
    }

    /// A file read now and again later, and perhaps replaced by a rename (the API key file).
    /// In a directory of its own (nothing else there but the file, and the `..`-named entries
    /// of an atomic writer such as Kubernetes' secret volumes), the directory is readable, so
    /// that a replacement is too. Otherwise only the file is: its neighbours (a TLS key) stay
    /// unreadable, and since Landlock's rule follows the file, a replacement by a rename is
    /// not readable (the keys are then refused, fail closed): [`notes`](Self::notes) says so.
    pub fn reread(mut self, file: &Path) -> Self {
        let dir = parent(file);
        let alone = std::fs::read_dir(&dir).is_ok_and(|entries| {
            entries.flatten().all(|entry| {
                let name = entry.file_name();
                Some(name.as_os_str()) == file.file_name()
                    || name.as_encoded_bytes().starts_with(b"..")
            })
        });
        if alone {
            self.sandbox = self.sandbox.read(dir);
        } else {
            self.sandbox = self.sandbox.read(file);
            self.notes.push(format!(
                "{} shares its directory with other files, so only the file is readable: replace it in place (a file replaced by a rename is not readable, and its keys are refused), or give it a directory of its own",
                file.display()
            ));
        }
        self
    }

    /// What the operator should know about the rules declared (printed at start-up).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// A file read (a TLS certificate or key).
    pub fn read(mut self, file: &Path) -> Self {
        self.sandbox = self.sandbox.read(file);
        self
    }

    /// Servers on `port` at any host (Landlock's network rules name ports, not hosts).
    pub fn connect_port(mut self, port: u16) -> Self {
        self.sandbox = self.sandbox.connect_tcp(port);
        self
    }

    /// A server connected to (Redis, PostgreSQL, an authorization server); DNS too when it is
    /// named by host.
    pub fn upstream(mut self, url: &str) -> anyhow::Result<Self> {
        self.sandbox = self.sandbox.connect_tcp(port_of(url)?);
        let parsed = url::Url::parse(url).with_context(|| "an upstream URL")?;
        self.resolves_names |= needs_dns(&parsed);
        Ok(self)
    }

    /// Opens a listener on `addr` now, before confinement: the sandbox then refuses `listen`
    /// (which on an unbound socket would take a port Landlock does not check), and the
    /// listener needs no rule.
    pub fn listen(&self, addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
        let listener =
            std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
        listener
            .set_nonblocking(true)
            .with_context(|| format!("binding {addr}"))?;
        Ok(listener)
    }

    /// Confines the process: before the runtime's threads start. Names are resolved over
    /// `resolver` when an upstream needs it.
    pub fn apply(self, resolver: NameResolution) -> anyhow::Result<SandboxReport> {
        let sandbox = match self.resolves_names {
            true => self.sandbox.resolve_names(resolver),
            false => self.sandbox,
        };
        Ok(sandbox.apply()?)
    }
}
