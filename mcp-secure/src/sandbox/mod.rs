//! The kernel's confinement of the whole process (Linux), so that a bug in a tool, or in a
//! dependency, reaches only what the server declared: the type system keeps a tool inside its
//! roots; this keeps the process there.
//!
//! [`Sandbox`] applies, once, at start-up:
//!
//! - **Landlock** (the `landlock` crate, by Landlock's author), written for the newest ABI the
//!   crate knows and degraded to the kernel's as the crate's best-effort compatibility does:
//!   the declared directories and files are readable (and writable where declared; a path root
//!   is writable only where a write-scoped tool names it, [`Sandbox::roots_for`]), everything
//!   else on the filesystem is denied, `/proc` included and executing programs included; TCP
//!   `bind` and `connect` only to the declared ports (ABI 4); signals and abstract unix
//!   sockets scoped to the process (ABI 6); UDP only to the resolver's port (ABI 10);
//! - **seccomp** (`seccompiler`, from rust-vmm), [`SyscallFilter`]: calls an MCP server never
//!   needs ([`DENIED_SYSCALLS`]: `execve` unless declared, `ptrace`, `mount`, `bpf`,
//!   `io_uring`, module loading, `keyctl`, …), changes of file modes, owners and extended
//!   attributes ([`METADATA_SYSCALLS`]), `clone` with namespace flags (`clone3`: `ENOSYS`), and
//!   every socket but the TCP (and, for the resolver, UDP) ones the server declared: they fail
//!   with `EPERM`, so the tool gets an error and the server keeps serving;
//! - the process made non-dumpable (its `/proc/<pid>` files belong to root, no core dump, no
//!   `ptrace` by its own user), `no_new_privs`, and resource limits ([`ResourceLimits`]: no
//!   core files, bounded open files and processes, an optional memory cap).
//!
//! Landlock restricts the calling thread and the threads it creates afterwards: apply the
//! sandbox before starting other threads, i.e. before building the tokio runtime (measure what
//! the runtime needs from `/proc`, such as `std::thread::available_parallelism`, before: it is
//! not readable afterwards). The seccomp filter is synchronised to every thread.
//!
//! On other systems [`Sandbox::apply`] enforces nothing and says so in its [`SandboxReport`]
//! ([`SandboxMode::Require`] then refuses to start).

use std::{
    fmt,
    path::{Path, PathBuf},
};

#[cfg(target_os = "linux")]
mod linux;
mod syscalls;

pub use syscalls::{
    DENIED_SYSCALLS, EXEC_SYSCALLS, METADATA_SYSCALLS, SyscallFilter, seccomp_profile,
};

/// The path roots that `policies` may write: those named by the input of a tool that
/// [`writes`](crate::tool::ToolPolicy::writes). Sorted, each once.
pub fn writable_roots(policies: &[crate::tool::ToolPolicy]) -> Vec<&'static str> {
    let mut roots: Vec<&'static str> = policies
        .iter()
        .filter(|p| p.writes())
        .flat_map(|p| p.path_roots())
        .collect();
    roots.sort_unstable();
    roots.dedup();
    roots
}

/// How much confinement a server insists on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    /// Apply nothing.
    Off,
    /// Apply what the kernel can enforce, and report what it cannot.
    BestEffort,
    /// Refuse to start unless everything asked is enforced.
    Require,
}

impl SandboxMode {
    /// Its name on a command line and in the audit log: `off`, `best-effort`, `require`.
    pub fn name(self) -> &'static str {
        match self {
            SandboxMode::Off => "off",
            SandboxMode::BestEffort => "best-effort",
            SandboxMode::Require => "require",
        }
    }
}

impl std::str::FromStr for SandboxMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let modes = [
            SandboxMode::Off,
            SandboxMode::BestEffort,
            SandboxMode::Require,
        ];
        match modes.into_iter().find(|m| m.name() == s) {
            Some(mode) => Ok(mode),
            None => Err(format!(
                "`{}` is not a sandbox mode: write off, best-effort or require",
                s.escape_debug()
            )),
        }
    }
}

/// How a confined process resolves host names (DNS), for [`Sandbox::resolve_names`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameResolution {
    /// The C library's resolver over UDP, as it does by default. The seccomp filter then lets
    /// the process create UDP sockets; Landlock confines them to port 53 from ABI 10 (Linux
    /// 7.2). On an older kernel a UDP socket can send to any address and port, which the report
    /// lists as missing.
    Udp,
    /// The resolver over TCP to port 53 only (`options use-vc` in `/etc/resolv.conf` for the
    /// GNU C library, set by the operator): no UDP socket at all, on any kernel with Landlock's
    /// network rules (ABI 4).
    Tcp,
}

/// The resource limits a confined process runs under (soft and hard, so it cannot raise them).
/// Core files are always off: a core dump holds the process's secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ResourceLimits {
    /// Open files, sockets included (`RLIMIT_NOFILE`); lowered to the hard limit in force if
    /// that is lower.
    pub open_files: u64,
    /// Processes and threads of the process's user (`RLIMIT_NPROC`; not enforced for root):
    /// the runtime's worker and blocking threads count.
    pub processes: u64,
    /// Bytes of writable private memory (`RLIMIT_DATA`: heap and anonymous mappings), or no
    /// cap.
    pub memory: Option<u64>,
}

impl Default for ResourceLimits {
    /// 8192 open files, 1024 processes and threads, no memory cap.
    fn default() -> Self {
        Self {
            open_files: 8192,
            processes: 1024,
            memory: None,
        }
    }
}

/// What the process may reach once confined: build it from the server's configuration, then
/// [`apply`](Sandbox::apply) it.
///
/// ```no_run
/// use mcp_secure::sandbox::{Sandbox, SandboxMode};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let report = Sandbox::new(SandboxMode::Require)
///     .read("/srv/files")
///     .write("/var/lib/notes")
///     .bind_tcp(8080)
///     .connect_tcp(6379)
///     .apply()?;
/// eprintln!("{report}");
/// // Only now start the runtime: its threads inherit the confinement.
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Sandbox {
    mode: SandboxMode,
    read: Vec<PathBuf>,
    write: Vec<PathBuf>,
    bind: Vec<u16>,
    connect: Vec<u16>,
    exec: bool,
    file_metadata: bool,
    resolver: Option<NameResolution>,
    limits: ResourceLimits,
    run_as: Option<(u32, u32)>,
    /// Directories already open (the `Security`'s path roots, by name), readable.
    #[cfg(target_os = "linux")]
    open_read: Vec<(String, std::sync::Arc<std::os::fd::OwnedFd>)>,
    /// Directories already open, readable and writable.
    #[cfg(target_os = "linux")]
    open_write: Vec<std::sync::Arc<std::os::fd::OwnedFd>>,
}

/// What every process needs to read: the dynamic loader's libraries (loaded later, e.g. by
/// name resolution), name-service, TLS-root and time-zone files. Reading, never executing.
const SYSTEM_READ: &[&str] = &[
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/etc/ld.so.cache",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/host.conf",
    "/etc/services",
    "/etc/localtime",
    "/usr/share/zoneinfo",
    "/etc/ssl",
    "/etc/pki",
    "/usr/share/ca-certificates",
];

/// Devices every process may read and write.
const SYSTEM_WRITE: &[&str] = &["/dev/null", "/dev/urandom", "/dev/random"];

impl Sandbox {
    /// A sandbox that allows nothing but what every process needs, in `mode`.
    pub fn new(mode: SandboxMode) -> Self {
        Self {
            mode,
            read: SYSTEM_READ.iter().map(PathBuf::from).collect(),
            write: SYSTEM_WRITE.iter().map(PathBuf::from).collect(),
            bind: Vec::new(),
            connect: Vec::new(),
            exec: false,
            file_metadata: false,
            resolver: None,
            limits: ResourceLimits::default(),
            run_as: None,
            #[cfg(target_os = "linux")]
            open_read: Vec::new(),
            #[cfg(target_os = "linux")]
            open_write: Vec::new(),
        }
    }

    /// The mode it was made with.
    pub fn mode(&self) -> SandboxMode {
        self.mode
    }

    /// Allows reading `path` (a file, or a directory and everything beneath it).
    pub fn read(mut self, path: impl AsRef<Path>) -> Self {
        self.read.push(path.as_ref().to_path_buf());
        self
    }

    /// Allows reading and writing `path` (a file, or a directory and everything beneath it:
    /// creating, renaming and removing files there too).
    pub fn write(mut self, path: impl AsRef<Path>) -> Self {
        self.write.push(path.as_ref().to_path_buf());
        self
    }

    /// Allows reading the path roots of `security` (each directory a `SafePath` may name): the
    /// very directories it holds open, so a root replaced on disk afterwards is not readable.
    /// Writing there needs [`write`](Self::write) too; [`roots_for`](Self::roots_for) derives
    /// it from the tools.
    pub fn roots(self, security: &crate::Security) -> Result<Self, SandboxError> {
        self.roots_for(security, &[])
    }

    /// Allows the path roots of `security` as the server's tools (`policies`, e.g.
    /// `Server::tool_policies()`) use them: each root readable, and writable only where a tool
    /// that [`writes`](crate::tool::ToolPolicy::writes) (its scope is not a `…read` one) takes
    /// an input naming it ([`writable_roots`]). Held open like [`roots`](Self::roots).
    pub fn roots_for(
        mut self,
        security: &crate::Security,
        policies: &[crate::tool::ToolPolicy],
    ) -> Result<Self, SandboxError> {
        #[cfg(target_os = "linux")]
        {
            let writable = writable_roots(policies);
            for (name, root) in security.path_roots() {
                let fd = root.try_clone_fd().map_err(|error| SandboxError::Path {
                    path: PathBuf::from(format!("(path root `{name}`)")),
                    error,
                })?;
                let fd = std::sync::Arc::new(fd);
                match writable.contains(&name) {
                    true => self.open_write.push(fd),
                    false => self.open_read.push((name.to_owned(), fd)),
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (security, policies);
        Ok(self)
    }

    /// Allows `dir`, the path root `name`, as [`roots_for`](Self::roots_for) would: for a
    /// server that confines itself before it builds its `Security` (before its runtime starts).
    pub fn path_root(
        self,
        name: &str,
        dir: impl AsRef<Path>,
        policies: &[crate::tool::ToolPolicy],
    ) -> Self {
        match writable_roots(policies).contains(&name) {
            true => self.write(dir),
            false => self.read(dir),
        }
    }

    /// Allows binding TCP `port` (0: an ephemeral port) after confinement, and so `listen`.
    /// Prefer opening listeners before [`apply`](Self::apply) and declaring none: `listen` on
    /// a socket that was not bound takes an ephemeral port, which Landlock does not check, so
    /// with a port declared here the report lists listening as not confined.
    pub fn bind_tcp(mut self, port: u16) -> Self {
        self.bind.push(port);
        self
    }

    /// Allows connecting to TCP `port`, on any address (Landlock's rules name ports only).
    pub fn connect_tcp(mut self, port: u16) -> Self {
        self.connect.push(port);
        self
    }

    /// Allows running programs (`execve`): for a server whose tools do. Without it, the
    /// seccomp filter refuses `execve` and `execveat`.
    pub fn allow_exec(mut self) -> Self {
        self.exec = true;
        self
    }

    /// Allows changing files' modes, owners, times and extended attributes (in the roots
    /// Landlock lets the process write): for a server whose tools do. Without it, the seccomp
    /// filter refuses [`METADATA_SYSCALLS`], which Landlock has no right for.
    pub fn allow_file_metadata(mut self) -> Self {
        self.file_metadata = true;
        self
    }

    /// Allows resolving host names through DNS, for upstreams named by host: the resolver's
    /// sockets to port 53. See [`NameResolution`] for what each transport leaves open.
    pub fn resolve_names(mut self, transport: NameResolution) -> Self {
        self.resolver = Some(transport);
        self
    }

    /// The resource limits to set ([`ResourceLimits::default`] otherwise).
    pub fn limits(mut self, limits: ResourceLimits) -> Self {
        self.limits = limits;
        self
    }

    /// What the seccomp filter will allow, from what was declared: TCP sockets once a port is
    /// bound or connected to (or the resolver uses TCP), UDP ones for a UDP resolver.
    pub fn syscall_filter(&self) -> SyscallFilter {
        SyscallFilter {
            exec: self.exec,
            tcp: !self.bind.is_empty()
                || !self.connect.is_empty()
                || self.resolver == Some(NameResolution::Tcp),
            udp: self.resolver == Some(NameResolution::Udp),
            listen: !self.bind.is_empty(),
            file_metadata: self.file_metadata,
        }
    }

    /// When started as root, switches to user `uid` and group `gid` (supplementary groups
    /// dropped) before confining: a process left running as root is reported as not confined
    /// (and refused by [`SandboxMode::Require`]). Ignored when not started as root.
    pub fn run_as(mut self, uid: u32, gid: u32) -> Self {
        self.run_as = Some((uid, gid));
        self
    }

    /// Confines this process: call it once, before starting other threads. In
    /// [`SandboxMode::Require`], fails unless every rule is enforced; in
    /// [`SandboxMode::BestEffort`], enforces what the kernel can and lists the rest in the
    /// report's [`missing`](SandboxReport::missing).
    pub fn apply(self) -> Result<SandboxReport, SandboxError> {
        if self.mode == SandboxMode::Off {
            return Ok(SandboxReport::nothing(SandboxMode::Off));
        }
        let report = self.enforce()?;
        if self.mode == SandboxMode::Require && !report.missing.is_empty() {
            return Err(SandboxError::NotEnforced(report));
        }
        Ok(report)
    }

    #[cfg(target_os = "linux")]
    fn enforce(&self) -> Result<SandboxReport, SandboxError> {
        linux::enforce(self)
    }

    #[cfg(not(target_os = "linux"))]
    fn enforce(&self) -> Result<SandboxReport, SandboxError> {
        let mut report = SandboxReport::nothing(self.mode);
        report
            .missing
            .push("confinement: only Linux is supported; nothing is enforced".into());
        Ok(report)
    }
}

/// What [`Sandbox::apply`] obtained from the kernel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SandboxReport {
    /// The mode asked for.
    #[serde(serialize_with = "mode_name")]
    pub mode: SandboxMode,
    /// The Landlock ABI used (0: none).
    pub landlock_abi: u32,
    /// Whether filesystem access is confined to the declared paths.
    pub filesystem: bool,
    /// Whether TCP bind and connect are confined to the declared ports.
    pub network: bool,
    /// Whether the seccomp filter is in place.
    pub seccomp: bool,
    /// Whether `no_new_privs` is set.
    pub no_new_privs: bool,
    /// Whether signals and abstract unix sockets are scoped to the process (Landlock ABI 6).
    pub signals_scoped: bool,
    /// Whether the process is non-dumpable: its `/proc/<pid>` files belong to root, and its
    /// own user can neither `ptrace` it nor read its memory.
    pub non_dumpable: bool,
    /// What the seccomp filter allows beyond what every server may.
    pub syscalls: SyscallFilter,
    /// The resource limits set (none where they could not be).
    pub limits: Option<ResourceLimits>,
    /// The user the process runs as afterwards, where known.
    pub uid: Option<u32>,
    /// What was asked and is not enforced, in words.
    pub missing: Vec<String>,
}

fn mode_name<S: serde::Serializer>(mode: &SandboxMode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(mode.name())
}

impl SandboxReport {
    /// The audit event recording this level (`sandboxed`): emit it once the server's
    /// [`Security`](crate::Security) is built.
    pub fn event(&self) -> crate::audit::SecurityEvent<'_> {
        crate::audit::SecurityEvent::Sandboxed {
            mode: self.mode.name(),
            landlock_abi: self.landlock_abi,
            filesystem: self.filesystem,
            network: self.network,
            seccomp: self.seccomp,
            signals_scoped: self.signals_scoped,
            non_dumpable: self.non_dumpable,
            missing: &self.missing,
        }
    }

    /// Nothing enforced, in `mode`.
    fn nothing(mode: SandboxMode) -> Self {
        Self {
            mode,
            landlock_abi: 0,
            filesystem: false,
            network: false,
            seccomp: false,
            no_new_privs: false,
            signals_scoped: false,
            non_dumpable: false,
            syscalls: SyscallFilter::default(),
            limits: None,
            uid: None,
            missing: Vec::new(),
        }
    }
}

impl fmt::Display for SandboxReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mode == SandboxMode::Off {
            return f.write_str("sandbox: off");
        }
        let yes = |on: bool| if on { "enforced" } else { "not enforced" };
        write!(
            f,
            "sandbox: Landlock ABI {}, filesystem {}, network {}, signals {}, seccomp filter {}, no_new_privs {}, {}",
            self.landlock_abi,
            yes(self.filesystem),
            yes(self.network),
            if self.signals_scoped {
                "scoped"
            } else {
                "not scoped"
            },
            yes(self.seccomp),
            if self.no_new_privs { "set" } else { "not set" },
            if self.non_dumpable {
                "non-dumpable"
            } else {
                "dumpable"
            },
        )?;
        if let Some(limits) = &self.limits {
            write!(
                f,
                ", limits: no core files, {} open files, {} processes, memory {}",
                limits.open_files,
                limits.processes,
                limits
                    .memory
                    .map_or_else(|| "not capped".to_owned(), |m| format!("{m} bytes")),
            )?;
        }
        if let Some(uid) = self.uid {
            write!(f, ", uid {uid}")?;
        }
        for missing in &self.missing {
            write!(f, "; missing: {missing}")?;
        }
        Ok(())
    }
}

/// Why the sandbox was not applied.
#[derive(Debug)]
#[non_exhaustive]
pub enum SandboxError {
    /// [`SandboxMode::Require`] asked for rules the kernel cannot enforce (they are listed in
    /// the report's `missing`); what it could enforce is in place.
    NotEnforced(SandboxReport),
    /// A declared path could not be opened for its rule.
    Path {
        /// The path.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The kernel refused the rules (the detail is the kernel's, for the server's log).
    Kernel(String),
    /// [`SandboxMode::Require`], and a path declared read-only lies inside one declared
    /// writable: Landlock's rights add up, so it would be writable.
    WritableReadOnly {
        /// The path declared read-only.
        read: PathBuf,
    },
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SandboxError::NotEnforced(report) => write!(
                f,
                "the sandbox is required, but the kernel cannot enforce: {}; run on a kernel with Landlock (ABI 6 or later, Linux 6.12) and seccomp, or choose best-effort",
                report.missing.join("; ")
            ),
            SandboxError::Path { path, error } => write!(
                f,
                "the sandbox cannot open {} for its rule: {error}; create it first, or leave it out",
                path.display()
            ),
            SandboxError::Kernel(detail) => write!(f, "the kernel refused the sandbox: {detail}"),
            SandboxError::WritableReadOnly { read } => write!(
                f,
                "{} is declared read-only but lies inside a writable grant, which would make it writable; give the writable files (e.g. the database) a directory of their own",
                read.display()
            ),
        }
    }
}

impl std::error::Error for SandboxError {}
