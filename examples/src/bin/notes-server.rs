//! `notes-server`: the mcp-secure demo, a notes service whose every tool states its scope, rate
//! and input rules, served over streamable HTTP or stdio. `notes-server --help` for usage.

fn main() -> anyhow::Result<()> {
    mcp_secure_examples::cli::main()
}
