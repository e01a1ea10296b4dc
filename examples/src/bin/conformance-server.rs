//! `conformance-server [ADDR]`: the server the official MCP conformance suite tests, built with
//! mcp-secure (default address `127.0.0.1:8801`; the MCP endpoint is `/mcp`).

use mcp_secure::{
    Security,
    http::{ServeOptions, serve},
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr: std::net::SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:8801")
        .parse()?;
    Security::builder().install()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = mcp_secure_examples::conformance::router(addr)?;
    eprintln!("conformance-server: serving MCP at http://{addr}/mcp");
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve(listener, app, ServeOptions::default(), stop).await?;
    Ok(())
}
