//! The command line of `notes-server` (kept in the library so the end-to-end tests can build
//! the same program under another name).

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use crate::notes::{ALL_SCOPES, NotesServer, NotesStore};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use mcp_secure::{
    Security, SecurityBuilder,
    audit::JsonLinesSink,
    auth::{ApiKeys, Principal},
    http::ApiKeyLayer,
    rate::{MemoryLimiter, RedisLimiter},
};
use rmcp::{
    ServiceExt,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};

/// The mcp-secure demo: a notes service with scoped, rate-limited, validated tools.
///
/// API keys come from `NOTES_API_KEYS` (entries `<key or sha256:HEX> <subject> [scope ...]`,
/// separated by `;` or newlines) or `--api-keys-file`. Without either, `serve` generates one key
/// with every scope and prints it once.
#[derive(Parser)]
#[command(name = "notes-server", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve streamable HTTP at http://ADDR/mcp.
    Serve {
        /// Address to listen on (loopback by default).
        #[arg(long, default_value = "127.0.0.1:8787")]
        addr: SocketAddr,
        #[command(flatten)]
        common: Common,
    },
    /// Serve one client over stdin/stdout; the caller is the key in `NOTES_API_KEY`.
    Stdio {
        #[command(flatten)]
        common: Common,
    },
    /// Print the policy manifest (every tool's scope, rate and schemas) as JSON.
    Manifest,
}

#[derive(clap::Args)]
struct Common {
    /// Directory `files_read` serves (created if missing).
    #[arg(long, default_value = "data/files")]
    files: PathBuf,
    /// File with API key entries, one per line: `<key or sha256:HEX> <subject> [scope ...]`.
    #[arg(long)]
    api_keys_file: Option<PathBuf>,
    /// Where rate limits are kept: in this process, or in Redis, shared by every replica.
    #[arg(long, value_enum, default_value_t = RateBackend::Memory)]
    rate_backend: RateBackend,
    /// The Redis of `--rate-backend redis`.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Let calls through when the rate limiter is unreachable (default: refuse them).
    #[arg(long)]
    rate_fail_open: bool,
    /// Append audit events as JSON lines to this file instead of standard error.
    #[arg(long)]
    audit_log: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RateBackend {
    Memory,
    Redis,
}

/// The security configuration every subcommand starts from: files root and rate limiter.
async fn security(common: &Common) -> anyhow::Result<SecurityBuilder> {
    prepare_files(&common.files)?;
    let mut builder = Security::builder()
        .path_root("files", &common.files)
        .limiter_fail_open(common.rate_fail_open);
    builder = match &common.audit_log {
        Some(path) => builder.audit_sink(
            JsonLinesSink::file(path)
                .with_context(|| format!("opening the audit log {}", path.display()))?,
        ),
        None => builder.audit_sink(JsonLinesSink::stderr()),
    };
    Ok(match common.rate_backend {
        RateBackend::Memory => builder.limiter(MemoryLimiter::new()),
        RateBackend::Redis => {
            let limiter = RedisLimiter::connect(&common.redis_url)
                .await
                .with_context(|| {
                    format!("connecting to the rate limiter at {}", common.redis_url)
                })?;
            builder.limiter(limiter)
        }
    })
}

/// Parses the command line and runs `notes-server`.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NOTES_LOG")
                .unwrap_or_else(|_| "warn,mcp_secure::audit=off".into()),
        )
        .init();
    match cli.command {
        Command::Serve { addr, common } => serve(addr, common).await,
        Command::Stdio { common } => stdio(common).await,
        Command::Manifest => {
            print!("{}", crate::notes::manifest().to_pretty_string());
            Ok(())
        }
    }
}

fn load_keys(common: &Common) -> anyhow::Result<Option<ApiKeys>> {
    let text = match (&common.api_keys_file, std::env::var("NOTES_API_KEYS")) {
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("reading API keys from {}", path.display()))?,
        (None, Ok(text)) => text,
        (None, Err(_)) => return Ok(None),
    };
    let keys = ApiKeys::parse(&text)?;
    if keys.is_empty() {
        bail!("the API key configuration has no entries");
    }
    Ok(Some(keys))
}

fn prepare_files(dir: &PathBuf) -> anyhow::Result<()> {
    if !dir.exists() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(
            dir.join("welcome.txt"),
            "Hello from notes-server. files_read can read this file.\n",
        )?;
    }
    Ok(())
}

async fn serve(addr: SocketAddr, common: Common) -> anyhow::Result<()> {
    security(&common).await?.install()?;
    let keys = match load_keys(&common)? {
        Some(keys) => keys,
        None => {
            let key = ApiKeys::generate_key();
            let url = format!("http://{addr}/mcp");
            eprintln!(
                "notes-server: no API keys configured; generated one for subject `demo` with every scope."
            );
            eprintln!("notes-server: it is shown once, now:\n\n    {key}\n");
            eprintln!(
                "Try it:\n    curl -s {url} -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\"
            );
            eprintln!("      -H 'Accept: application/json, text/event-stream' \\");
            eprintln!(
                "      -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{{}},\"clientInfo\":{{\"name\":\"curl\",\"version\":\"1\"}}}}}}'\n"
            );
            eprintln!(
                "Set NOTES_API_KEYS=\"sha256:{} demo {}\" to keep this key across restarts.\n",
                ApiKeys::hash_key(&key),
                ALL_SCOPES.join(" ")
            );
            ApiKeys::new().with_key(&key, Principal::new("demo", ALL_SCOPES.iter().copied()))
        }
    };
    let store = NotesStore::default();
    let service = StreamableHttpService::new(
        move || Ok(NotesServer::new(store.clone())),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let app = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(ApiKeyLayer::new(Arc::new(keys)));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    eprintln!(
        "notes-server: serving MCP at http://{}/mcp",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn stdio(common: Common) -> anyhow::Result<()> {
    let mut security = security(&common).await?;
    match (std::env::var("NOTES_API_KEY"), load_keys(&common)?) {
        (Ok(key), Some(keys)) => match keys.verify(&key) {
            Some(principal) => security = security.local_principal(principal),
            None => bail!("NOTES_API_KEY matches no configured key"),
        },
        (Ok(_), None) => bail!(
            "NOTES_API_KEY is set but no keys are configured (NOTES_API_KEYS or --api-keys-file)"
        ),
        (Err(_), _) => tracing::warn!("no NOTES_API_KEY: only public tools can be called"),
    }
    security.install()?;
    let server = NotesServer::new(NotesStore::default())
        .serve(rmcp::transport::stdio())
        .await?;
    server.waiting().await?;
    Ok(())
}
