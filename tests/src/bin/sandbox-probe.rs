//! A server whose tools have deliberate bugs, for the sandbox tests: they read any path (from a
//! worker thread, or from a thread they start), run a shell, connect to any port, open any kind
//! of socket, change file modes, owners and attributes, and signal any process, which the type
//! system would have refused to let a real tool do (or which a buggy dependency could do
//! anyway). Run confined, the kernel must refuse each of them, and the server must keep
//! serving.
//!
//! `sandbox-probe <files> <out> <allowed-port> <mode> [<uid>:<gid>]` serves over stdio, with its
//! `Security`'s path roots `files` and `out` as its tools use them (`files` read by a
//! `files:read` tool: readable; `out` written by an `out:write` tool: writable), TCP
//! connections to `<allowed-port>` allowed, as `<uid>:<gid>` when started as root, and the file
//! `$SANDBOX_PROBE_READ` readable when set.

use mcp_secure::{
    Security,
    prelude::*,
    sandbox::{Sandbox, SandboxMode},
};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

mcp_secure::scopes! {
    /// Read the served files.
    "files:read",
    /// Write the output directory.
    "out:write",
}

/// The two errors a refusal comes as (Linux's numbers, which every architecture shares).
mod libc_errno {
    pub const EPERM: i32 = 1;
    pub const EACCES: i32 = 13;
}

#[derive(Clone)]
struct Probe {
    tools: Tools<Self>,
}

/// What happened, in the words of the test: `ok`, `denied` (the kernel refused with
/// `EACCES`: Landlock), `forbidden` (with `EPERM`: seccomp), or another error (`ECONNREFUSED`
/// for a socket no one listens on is `refused`: the kernel let the call through).
fn outcome<T>(result: std::io::Result<T>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) if e.raw_os_error() == Some(libc_errno::EACCES) => "denied".into(),
        Err(e) if e.raw_os_error() == Some(libc_errno::EPERM) => "forbidden".into(),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => format!("denied: {e}"),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => "refused".into(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "not found".into(),
        Err(e) => format!("error: {e}"),
    }
}

#[mcp_tools]
impl Probe {
    /// Reads a file at any path: the bug (a real tool takes a `SafePath`).
    #[mcp_tool(public, rate = "unlimited")]
    async fn read_any(
        &self,
        /// Any path.
        #[mcp(
            length(min = 1, max = 4096),
            not_a_path = "the deliberate bug the sandbox tests confine: opened anywhere"
        )]
        path: String,
    ) -> String {
        outcome(std::fs::read(&path))
    }

    /// Reads a file at any path from a thread it starts (after the confinement, as a
    /// dependency's would be).
    #[mcp_tool(public, rate = "unlimited")]
    async fn read_in_new_thread(
        &self,
        /// Any path.
        #[mcp(
            length(min = 1, max = 4096),
            not_a_path = "the deliberate bug the sandbox tests confine: opened anywhere"
        )]
        path: String,
    ) -> String {
        match std::thread::spawn(move || outcome(std::fs::read(&path))).join() {
            Ok(outcome) => outcome,
            Err(_) => "error: the thread panicked".into(),
        }
    }

    /// Opens a socket of any family, type and protocol (numbers, as `socket(2)` takes them).
    #[mcp_tool(public, rate = "unlimited")]
    async fn socket(
        &self,
        /// The address family.
        #[mcp(range(min = 0, max = 1024))]
        family: i32,
        /// The type.
        #[mcp(range(min = 0, max = 1024))]
        kind: i32,
        /// The protocol.
        #[mcp(range(min = 0, max = 1024))]
        protocol: i32,
    ) -> String {
        outcome(Socket::new(
            Domain::from(family),
            Type::from(kind),
            Some(Protocol::from(protocol)),
        ))
    }

    /// Sends a UDP datagram to a loopback port.
    #[mcp_tool(public, rate = "unlimited")]
    async fn udp_send(
        &self,
        /// The port.
        #[mcp(range(min = 1, max = 65535))]
        port: u16,
    ) -> String {
        outcome(
            std::net::UdpSocket::bind("127.0.0.1:0")
                .and_then(|s| s.send_to(b"leak", ("127.0.0.1", port))),
        )
    }

    /// Connects to a unix socket at a path, or (starting with `@`) in the abstract namespace.
    #[mcp_tool(public, rate = "unlimited")]
    async fn unix_connect(
        &self,
        /// The socket's path, or `@name`.
        #[mcp(length(min = 1, max = 100))]
        address: String,
    ) -> String {
        let address = match address.strip_prefix('@') {
            Some(name) => SockAddr::unix(format!("\0{name}")),
            None => SockAddr::unix(&address),
        };
        outcome(
            address.and_then(|address| {
                Socket::new(Domain::UNIX, Type::STREAM, None)?.connect(&address)
            }),
        )
    }

    /// Connects with MPTCP (which Landlock's TCP rules do not cover) to a loopback port.
    #[mcp_tool(public, rate = "unlimited")]
    async fn mptcp_connect(
        &self,
        /// The port.
        #[mcp(range(min = 1, max = 65535))]
        port: u16,
    ) -> String {
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        outcome(
            Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::MPTCP))
                .and_then(|s| s.connect(&address.into())),
        )
    }

    /// Changes a file's mode, owner or extended attributes (`chmod`, `chown`, `setxattr`).
    #[mcp_tool(public, rate = "unlimited")]
    async fn change_metadata(
        &self,
        /// Any path.
        #[mcp(
            length(min = 1, max = 4096),
            not_a_path = "the deliberate bug the sandbox tests confine: opened anywhere"
        )]
        path: String,
        /// `chmod`, `chown` or `setxattr`.
        #[mcp(regex = "^(chmod|chown|setxattr)$")]
        how: String,
    ) -> String {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let result = match how.as_str() {
            "chmod" => std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)),
            "chown" => std::fs::metadata(&path)
                .and_then(|m| std::os::unix::fs::chown(&path, Some(m.uid()), Some(m.gid()))),
            _ => rustix::fs::setxattr(
                path.as_str(),
                "user.probe",
                b"1",
                rustix::fs::XattrFlags::empty(),
            )
            .map_err(std::io::Error::from),
        };
        outcome(result)
    }

    /// Acts on another process without a signal: lowers its CPU-time limit to one second (the
    /// kernel then kills it), as `prlimit` does.
    #[mcp_tool(public, rate = "unlimited")]
    async fn limit_other(
        &self,
        /// The process.
        #[mcp(range(min = 2, max = 4_194_304))]
        pid: i32,
    ) -> String {
        use rustix::process::{Pid, Resource, Rlimit, prlimit};
        let pid = Pid::from_raw(pid).ok_or_else(|| std::io::Error::other("pid"));
        let one_second = Rlimit {
            current: Some(1),
            maximum: Some(1),
        };
        outcome(pid.and_then(|pid| {
            prlimit(Some(pid), Resource::Cpu, one_second).map_err(std::io::Error::from)
        }))
    }

    /// Listens on a TCP socket it never bound: the kernel picks a port, on every address.
    #[mcp_tool(public, rate = "unlimited")]
    async fn listen_unbound(&self) -> String {
        outcome(Socket::new(Domain::IPV4, Type::STREAM, None).and_then(|s| s.listen(16)))
    }

    /// Sets a file's flags (`FS_IOC_SETFLAGS`: no-dump, as `chattr +d` does).
    #[mcp_tool(public, rate = "unlimited")]
    async fn set_file_flags(
        &self,
        /// Any path.
        #[mcp(
            length(min = 1, max = 4096),
            not_a_path = "the deliberate bug the sandbox tests confine: opened anywhere"
        )]
        path: String,
    ) -> String {
        outcome(std::fs::File::open(&path).and_then(|file| {
            rustix::fs::ioctl_setflags(&file, rustix::fs::IFlags::NODUMP)
                .map_err(std::io::Error::from)
        }))
    }

    /// Creates a set-user-ID file (mode 4755) at any path.
    #[mcp_tool(public, rate = "unlimited")]
    async fn create_setuid(
        &self,
        /// Any path.
        #[mcp(
            length(min = 1, max = 4096),
            not_a_path = "the deliberate bug the sandbox tests confine: opened anywhere"
        )]
        path: String,
    ) -> String {
        use std::os::unix::fs::OpenOptionsExt;
        outcome(
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o4755)
                .open(&path),
        )
    }

    /// This process's id, as another process would name it.
    #[mcp_tool(public, rate = "unlimited")]
    async fn own_pid(&self) -> String {
        std::process::id().to_string()
    }

    /// Sends SIGTERM to any process.
    #[mcp_tool(public, rate = "unlimited")]
    async fn signal(
        &self,
        /// The process.
        #[mcp(range(min = 2, max = 4_194_304))]
        pid: i32,
    ) -> String {
        let pid = rustix::process::Pid::from_raw(pid).ok_or_else(|| std::io::Error::other("pid"));
        outcome(pid.and_then(|pid| {
            rustix::process::kill_process(pid, rustix::process::Signal::TERM)
                .map_err(std::io::Error::from)
        }))
    }

    /// Writes a file at any path: the bug again.
    #[mcp_tool(public, rate = "unlimited")]
    async fn write_any(
        &self,
        /// Any path.
        #[mcp(
            length(min = 1, max = 4096),
            not_a_path = "the deliberate bug the sandbox tests confine: opened anywhere"
        )]
        path: String,
    ) -> String {
        outcome(std::fs::write(&path, "written"))
    }

    /// A read-scoped tool naming the `files` root (never called: its policy is what counts).
    #[mcp_tool(scope = "files:read", rate = "unlimited")]
    async fn read_served(
        &self,
        /// The file.
        #[mcp(path(within = "files"))]
        path: SafePath,
    ) -> String {
        path.as_str().to_owned()
    }

    /// A write-scoped tool naming the `out` root (never called: its policy is what counts).
    #[mcp_tool(scope = "out:write", rate = "unlimited")]
    async fn save(
        &self,
        /// The file.
        #[mcp(path(within = "out"))]
        path: SafePath,
    ) -> String {
        path.as_str().to_owned()
    }

    /// Runs `/bin/sh -c true`.
    #[mcp_tool(public, rate = "unlimited")]
    async fn run_shell(&self) -> String {
        outcome(
            std::process::Command::new("/bin/sh")
                .args(["-c", "true"])
                .status(),
        )
    }

    /// Connects to a TCP port on loopback.
    #[mcp_tool(public, rate = "unlimited")]
    async fn connect(
        &self,
        /// The port.
        #[mcp(range(min = 1, max = 65535))]
        port: u16,
    ) -> String {
        outcome(std::net::TcpStream::connect(("127.0.0.1", port)))
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for Probe {}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(root), Some(out), Some(port), Some(mode)) =
        (args.next(), args.next(), args.next(), args.next())
    else {
        return Err(
            "usage: sandbox-probe <files> <out> <allowed-port> <off|best-effort|require>".into(),
        );
    };
    let mode: SandboxMode = mode.parse()?;
    // Before the runtime's threads exist: they inherit the confinement.
    // The server's configuration names the roots; the sandbox reads them from there, and
    // which may be written from the tools.
    let security = Security::builder()
        .path_root("files", &root)
        .path_root("out", &out)
        .build()?;
    let mut sandbox = Sandbox::new(mode)
        .roots_for(&security, Probe::tool_policies())?
        .connect_tcp(port.parse()?);
    // One file granted alone, as the demo grants its key file.
    if let Some(file) = std::env::var_os("SANDBOX_PROBE_READ") {
        sandbox = sandbox.read(file);
    }
    if let Some((uid, gid)) = args.next().as_deref().and_then(|u| u.split_once(':')) {
        sandbox = sandbox.run_as(uid.parse()?, gid.parse()?);
    }
    // Measured before the sandbox closes /proc.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let report = sandbox.apply()?;
    eprintln!("sandbox-probe: {report}");
    eprintln!(
        "sandbox-probe: report {}",
        serde_json::to_string(&report).unwrap_or_default()
    );
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?
        .block_on(async {
            let server = Probe {
                tools: Probe::tools(),
            };
            mcp_secure::serve::stdio(server, security)
                .await?
                .waiting()
                .await?;
            Ok(())
        })
}
