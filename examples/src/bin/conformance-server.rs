//! `conformance-server [ADDR]`: the server the official MCP conformance suite tests, built with
//! mcp-secure (default address `127.0.0.1:8801`; the MCP endpoint is `/mcp`).

use mcp_secure::Security;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr: std::net::SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:8801")
        .parse()?;
    let security = Security::builder().build()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    eprintln!("conformance-server: serving MCP at http://{addr}/mcp");
    mcp_secure_examples::conformance::endpoint(addr, security)
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
