//! A server whose tools have deliberate bugs, for the sandbox tests: they read any path, run
//! a shell and connect to any port, which the type system would have refused to let a real tool
//! do. Run confined, the kernel must refuse each of them, and the server must keep serving.
//!
//! `sandbox-probe <files> <out> <allowed-port> <mode> [<uid>:<gid>]` serves over stdio, with its
//! `Security`'s path roots `files` and `out` as its tools use them (`files` read by a
//! `files:read` tool: readable; `out` written by an `out:write` tool: writable), TCP
//! connections to `<allowed-port>` allowed, as `<uid>:<gid>` when started as root.

use mcp_secure::{
    Security,
    prelude::*,
    sandbox::{Sandbox, SandboxMode},
};

mcp_secure::scopes! {
    /// Read the served files.
    "files:read",
    /// Write the output directory.
    "out:write",
}

#[derive(Clone)]
struct Probe {
    tools: Tools<Self>,
}

/// What happened, in the words of the test: `ok`, `denied` (the kernel refused:
/// `EACCES` or `EPERM`), or another error.
fn outcome<T>(result: std::io::Result<T>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => "denied".into(),
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
    if let Some((uid, gid)) = args.next().as_deref().and_then(|u| u.split_once(':')) {
        sandbox = sandbox.run_as(uid.parse()?, gid.parse()?);
    }
    let report = sandbox.apply()?;
    eprintln!("sandbox-probe: {report}");
    eprintln!(
        "sandbox-probe: report {}",
        serde_json::to_string(&report).unwrap_or_default()
    );
    tokio::runtime::Builder::new_multi_thread()
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
