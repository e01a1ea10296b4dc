//! `notes-server`, built inside the test package so its tests can start it as a child process.

fn main() -> anyhow::Result<()> {
    mcp_secure_examples::cli::main()
}
