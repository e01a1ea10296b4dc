//! The command line of `notes-server` (kept in the library so the end-to-end tests can build
//! the same program under another name).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use crate::{
    MCP_SCOPES,
    confine::Confinement,
    notes::{NotesServer, NotesStore},
};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use mcp_secure::{
    Security, SecurityBuilder,
    audit::JsonLinesSink,
    auth::{API_KEY_ISSUER, ApiKeyFile, ApiKeys, Audience, JwtVerifier, Principal, TokenVerifier},
    dev_auth::{DevAuthServer, OAuthProxy, Upstream},
    fetch::{FetchPolicy, IpNet},
    http::{
        DEFAULT_SESSIONS_PER_PRINCIPAL, Dpop, DpopMode, Endpoint, ForwardedHeader,
        RedisReplayCache, RedisSessions, TlsListener,
    },
    metrics::{Metrics, ScrapeAccess},
    rate::{MemoryLimiter, RedisLimiter},
    sandbox::{NameResolution, ResourceLimits, SandboxMode, SandboxReport},
    secret::{SecretError, SecretString},
    testing::TokenMinter,
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
        // Boxed: the HTTP settings are most of the command line.
        #[command(flatten)]
        http: Box<HttpArgs>,
        #[command(flatten)]
        common: Common,
    },
    /// Serve one client over stdin/stdout; the caller is the JWT in `NOTES_TOKEN` or the key in
    /// `NOTES_API_KEY`.
    Stdio {
        #[command(flatten)]
        common: Common,
        /// The server URL tokens are issued for (their `aud`; the issuer is its origin).
        #[arg(long, default_value = DEFAULT_URL)]
        url: String,
    },
    /// Print an HS256 token that `serve` accepts, signed with `NOTES_JWT_SECRET`.
    Token {
        /// The subject.
        #[arg(long)]
        sub: String,
        /// Space-separated scopes, e.g. "notes:read notes:write".
        #[arg(long, default_value = "")]
        scope: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// The tenant the caller acts for (claim `tenant`): notes are kept per tenant too.
        #[arg(long)]
        tenant: Option<String>,
        /// A role the caller holds (claim `roles`; repeat for several), for the policies:
        /// `cleared` reads confidential notes, `auditor` never changes or deletes one.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// The directory under the files root the caller owns (claim `home`, e.g.
        /// `home/alice`): the policies keep `home/` private to its owners.
        #[arg(long)]
        home: Option<String>,
        /// Bind the token to the DPoP key of this RFC 7638 thumbprint (claim `cnf.jkt`): the
        /// server then accepts it only with that key's DPoP proofs, never as a bearer token.
        #[arg(long)]
        dpop_jkt: Option<String>,
        /// The MCP URL of the server that will accept it (its `aud`; the issuer is its origin).
        #[arg(long, default_value = DEFAULT_URL)]
        url: String,
    },
    /// Print the policy manifest (every tool's scope, rate and schemas) as JSON.
    Manifest,
    /// Print the seccomp profile for container runtimes: the calls the in-process filter
    /// refuses, refused by the runtime too.
    SeccompProfile,
    /// Exit 0 if GET URL answers 200 (a container health check, in an image without a shell or
    /// curl), 1 otherwise.
    Health {
        /// The plain-HTTP URL to ask, e.g. http://127.0.0.1:8787/healthz.
        #[arg(long, default_value = "http://127.0.0.1:8787/healthz")]
        url: String,
    },
}

#[derive(clap::Args)]
struct Common {
    /// The SQLite database (created if missing), `:memory:`, or a PostgreSQL URL
    /// (`postgres://user:password@host/db`; tables created if missing).
    #[arg(long, default_value = "data/db/notes.db")]
    db: String,
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
    /// `--audit-log`, opened before the sandbox closes the filesystem (so that it needs no
    /// rule: the process holds the file, not a right to its directory).
    #[arg(skip)]
    opened_audit_log: Option<std::sync::Arc<std::fs::File>>,
    /// List to each caller only the tools its scopes allow (a hidden tool can still be called,
    /// and refused with the step-up challenge; but a client cannot discover it by listing).
    #[arg(long)]
    list_by_authorization: bool,
    /// Confine the process by the kernel (Linux: Landlock and seccomp) to what this command
    /// line declares: the files root (read), the database, key file, audit log and TLS files,
    /// the listening ports and the upstreams (Redis, PostgreSQL, --issuer). best-effort
    /// enforces what the kernel can and says what it cannot; require refuses to start unless
    /// everything is enforced.
    #[arg(long, default_value = "best-effort", value_parser = ["off", "best-effort", "require"])]
    sandbox: String,
    /// When started as root, switch to this unprivileged user (`UID:GID`, numeric) before
    /// serving; with --sandbox require, running as root without it is refused.
    #[arg(long, value_parser = parse_user)]
    user: Option<(u32, u32)>,
    /// Under the sandbox, how host names of upstreams are resolved: udp (the C library's
    /// default; on kernels before Landlock ABI 10 its sockets can send anywhere, which the
    /// sandbox reports) or tcp (to port 53 only; set `options use-vc` in /etc/resolv.conf).
    #[arg(long, value_enum, default_value_t = Resolver::Udp)]
    resolver: Resolver,
    /// Under the sandbox, cap the process's writable memory (heap and anonymous mappings) at
    /// this many MiB (RLIMIT_DATA); allocations past it fail.
    #[arg(long, value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
    memory_limit_mib: Option<u64>,
    /// Cedar policies every call is decided by, once its scope and input are checked (default:
    /// the committed `examples/policies/notes.cedar`). Policies that do not fit the tools (an
    /// argument a tool does not take, a string compared to a number) are refused at start.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// `--policy`, read and checked before the sandbox closes the filesystem.
    #[arg(skip)]
    policies: Option<mcp_secure::policy::Policies>,
    /// Write the policy manifest to this file at start-up, with the confinement obtained
    /// (`"sandbox"`: Landlock ABI, what is enforced, what is missing): what reviewers compare
    /// with the committed manifest.
    #[arg(long)]
    manifest_out: Option<PathBuf>,
    /// Refuse to start unless every tool's definition (description, schemas, annotations,
    /// policy) has the digest this committed manifest gives it: a tool cannot then change
    /// behind its reviewer's back.
    #[arg(long)]
    manifest_pin: Option<PathBuf>,
    /// Export each call's span and the audit events over OTLP/HTTP to the OpenTelemetry
    /// collector at this base URL (`http://127.0.0.1:4318`; https unless on a loopback host).
    #[arg(long)]
    otlp_endpoint: Option<String>,
}

fn parse_network(s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{s}` is not an address or a CIDR block"))
}

fn parse_user(s: &str) -> Result<(u32, u32), String> {
    let numeric = |part: &str| part.parse::<u32>().ok().filter(|&id| id != 0);
    match s.split_once(':') {
        Some((uid, gid)) => numeric(uid).zip(numeric(gid)),
        None => None,
    }
    .ok_or_else(|| format!("`{}` is not UID:GID (numeric, not 0)", s.escape_debug()))
}

const DEFAULT_URL: &str = "http://127.0.0.1:8787/mcp";
/// The claim the demo's tokens name their tenant in (`token --tenant`).
const TENANT_CLAIM: &str = "tenant";

#[derive(Clone, Copy, clap::ValueEnum)]
enum Resolver {
    Udp,
    Tcp,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RateBackend {
    Memory,
    Redis,
}

/// The notes server over `--db`, listing by authorization when asked.
async fn notes_server(common: &Common) -> anyhow::Result<NotesServer> {
    let server = NotesServer::new(open_store(&common.db).await?);
    Ok(match common.list_by_authorization {
        true => server.listed_by_authorization(),
        false => server,
    })
}

/// The security configuration every subcommand starts from: files root and rate limiter; and
/// the Redis limiter, when it is one, whose connection the HTTP sessions share.
/// The policies of `--policy FILE`, or the committed ones, checked against the tools.
fn load_policies(path: Option<&std::path::Path>) -> anyhow::Result<mcp_secure::policy::Policies> {
    let Some(path) = path else {
        return Ok(crate::notes::policies(crate::notes::DEFAULT_POLICIES)?);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading --policy {}", path.display()))?;
    crate::notes::policies(&text).with_context(|| format!("--policy {}", path.display()))
}

async fn security(common: &Common) -> anyhow::Result<(SecurityBuilder, Option<RedisLimiter>)> {
    prepare_files(&common.files)?;
    let policies = match &common.policies {
        Some(policies) => policies.clone(),
        None => load_policies(common.policy.as_deref())?,
    };
    let mut builder = Security::builder()
        .path_root("files", &common.files)
        .limiter_fail_open(common.rate_fail_open)
        .policies(policies);
    builder = match (&common.opened_audit_log, &common.audit_log) {
        (Some(file), _) => builder.audit_sink(JsonLinesSink::new(
            file.try_clone().context("the audit log's file")?,
        )),
        (None, Some(path)) => builder.audit_sink(
            JsonLinesSink::file(path)
                .with_context(|| format!("opening the audit log {}", path.display()))?,
        ),
        (None, None) => builder.audit_sink(JsonLinesSink::stderr()),
    };
    Ok(match common.rate_backend {
        RateBackend::Memory => (builder.limiter(MemoryLimiter::new()), None),
        RateBackend::Redis => {
            let limiter = RedisLimiter::connect(&common.redis_url)
                .await
                .with_context(|| {
                    format!("connecting to the rate limiter at {}", common.redis_url)
                })?;
            (builder.limiter(limiter.clone()), Some(limiter))
        }
    })
}

/// How `serve` listens.
#[derive(Args)]
struct HttpArgs {
    /// `--addr`, bound before the sandbox closes `listen`.
    #[arg(skip)]
    opened_listener: Option<std::net::TcpListener>,
    /// `--metrics-addr`, likewise.
    #[arg(skip)]
    opened_metrics_listener: Option<std::net::TcpListener>,
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8787")]
    addr: SocketAddr,
    /// A browser origin allowed to call the server (CORS), e.g. http://localhost:6274;
    /// repeat for more. Without one, requests carrying an Origin header are refused.
    #[arg(long = "allow-origin")]
    allow_origins: Vec<String>,
    /// The public URL of the MCP endpoint, e.g. https://mcp.example.com/mcp behind a load
    /// balancer (tokens' `aud`, the protected resource metadata). Default: the listening
    /// address.
    #[arg(long)]
    url: Option<String>,
    /// Also answer requests whose Host is this (`name` or `name:port`), besides the public
    /// URL's own, e.g. the replica's address for the load balancer's health checks; repeat
    /// for more.
    #[arg(long = "allow-host")]
    allow_hosts: Vec<String>,
    /// Believe the client address that this proxy (an address or a CIDR block, e.g.
    /// 10.0.0.0/8) appends to --forwarded-header; repeat for more. Without it forwarding
    /// headers are ignored. The client address keys the limit on failed authentications and
    /// is in the audit log.
    #[arg(long = "trusted-proxy")]
    trusted_proxies: Vec<String>,
    /// The one header the trusted proxies append the client's address to: x-forwarded-for
    /// (nginx, HAProxy, cloud load balancers) or forwarded (RFC 7239). Every other forwarding
    /// header is ignored: proxies pass a client's own through untouched.
    #[arg(long, default_value = "x-forwarded-for")]
    forwarded_header: ForwardedHeader,
    /// Serve Prometheus metrics (GET /metrics) on this address, e.g. 127.0.0.1:9090: counts
    /// of every decision by tool and outcome, tool latencies, sessions. Off by default; keep
    /// it where only the scraper reaches. It answers loopback Host names and
    /// --metrics-allow-host only (a DNS-rebinding page is refused).
    #[arg(long)]
    metrics_addr: Option<SocketAddr>,
    /// Also answer metrics scrapes whose Host is this (`name` or `name:port`), e.g. the
    /// address the scraper uses; repeat for more.
    #[arg(long = "metrics-allow-host", requires = "metrics_addr")]
    metrics_allow_hosts: Vec<String>,
    /// Require `Authorization: Bearer <token>` of scrapers, the token read from this file
    /// (mode 600, at least 16 characters), e.g. Prometheus' `authorization.credentials_file`.
    #[arg(long, requires = "metrics_addr")]
    metrics_token_file: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Seconds a client has to send a request head (or keep an idle connection) and, once the
    /// head is in, its body; slower clients are disconnected (head) or answered 408 (body).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    request_timeout: u64,
    /// Also serve a development OAuth authorization server at the server's origin
    /// (registration or client metadata documents, PKCE authorization code flow, refresh,
    /// step-up), so OAuth clients can sign in. Loopback only; for development and tests, never
    /// production.
    #[arg(long)]
    dev_auth: bool,
    /// With --dev-auth: approve every authorization at once as this user (no consent page).
    #[arg(long, requires = "dev_auth")]
    dev_auth_user: Option<String>,
    /// With --dev-auth: the scopes it may grant (space-separated; default every scope).
    #[arg(long, requires = "dev_auth")]
    dev_auth_scopes: Option<String>,
    /// Accept JWTs of this external authorization server, found from its metadata (RFC 8414
    /// or OpenID Connect discovery; its keys from its `jwks_uri`), and name it to OAuth
    /// clients in the protected resource metadata. Tokens must have this server's URL as
    /// their audience (RFC 8707 `resource`).
    #[arg(long, conflicts_with = "dev_auth")]
    issuer: Option<String>,
    /// Run an OAuth proxy at the server's origin in front of this identity provider (OpenID
    /// Connect discovery), for providers that do not register MCP clients (Entra ID, Google,
    /// GitHub, …): clients register here, approve a consent page, and sign in at the provider,
    /// where this server is the pre-registered client --upstream-client-id; they get this
    /// server's own tokens, never the provider's. Needs --upstream-client-id and
    /// --upstream-client-secret-file. With --rate-backend redis, replicas share the proxy's
    /// state (sign-ins, codes, refresh families), sealed with a key from NOTES_JWT_SECRET
    /// (which the replicas share).
    #[arg(long, conflicts_with_all = ["dev_auth", "issuer"], requires_all = ["upstream_client_id", "upstream_client_secret_file"])]
    upstream_issuer: Option<String>,
    /// With --upstream-issuer: this server's client id at the provider.
    #[arg(long, requires = "upstream_issuer")]
    upstream_client_id: Option<String>,
    /// With --upstream-issuer: the file holding this server's client secret at the provider
    /// (mode 600); its redirect URI there is this server's origin + /callback.
    #[arg(long, requires = "upstream_issuer")]
    upstream_client_secret_file: Option<PathBuf>,
    /// With --upstream-issuer: further scopes asked of the provider besides `openid`
    /// (space-separated, e.g. "email profile").
    #[arg(long, requires = "upstream_issuer", default_value = "")]
    upstream_scopes: String,
    /// Let the server's own fetches (--issuer's metadata and keys, --dev-auth's client
    /// metadata documents) connect to this network too: a CIDR block or an address, e.g.
    /// 10.20.0.0/16, or 127.0.0.1 for an identity provider or documents on this machine;
    /// repeat for more. Without it they connect to public addresses only, checked on the
    /// address each connection goes to.
    #[arg(long = "fetch-allow", value_parser = parse_network)]
    fetch_allow: Vec<IpNet>,
    /// How many legacy sessions one caller (a principal, or an anonymous client address) may
    /// have open at once; past it, opening another is refused with 429. With --rate-backend
    /// redis, sessions and this count are shared by every replica on that Redis.
    #[arg(long, default_value_t = DEFAULT_SESSIONS_PER_PRINCIPAL, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    sessions_per_principal: usize,
    /// DPoP (RFC 9449): `allowed` takes bearer tokens and key-bound tokens with their proofs,
    /// `required` only key-bound tokens with their proofs, `off` no key-bound token at all.
    /// With --rate-backend redis, replicas share the proofs already seen.
    #[arg(long, default_value = "allowed", value_parser = ["required", "allowed", "off"])]
    dpop: String,
    /// DPoP proofs must carry a nonce this server issued lately (RFC 9449 §8, §9), at the MCP
    /// endpoint and at the authorization server's token endpoint: a proof made in advance is
    /// useless once its nonce has expired. Clients learn the nonce from a `use_dpop_nonce`
    /// answer's DPoP-Nonce header. Keyed by NOTES_JWT_SECRET, which replicas share.
    #[arg(long)]
    dpop_nonces: bool,
}

/// Parses the command line and runs `notes-server`.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Measured before the sandbox closes /proc (where the cgroup's CPU quota is read).
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Before the runtime's threads exist, so that they are all confined.
    let mut cli = cli;
    let confined = confine(&mut cli.command)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?
        .block_on(run(cli, confined))
}

/// Confines the process to what `command` declares it reaches (serving commands only).
fn confine(command: &mut Command) -> anyhow::Result<Option<SandboxReport>> {
    let (common, http) = match command {
        Command::Serve { http, common } => (common, Some(http)),
        Command::Stdio { common, .. } => (common, None),
        Command::Token { .. }
        | Command::Manifest
        | Command::SeccompProfile
        | Command::Health { .. } => return Ok(None),
    };
    common.policies = Some(load_policies(common.policy.as_deref())?);
    if let Some(path) = &common.manifest_pin {
        let committed = std::fs::read_to_string(path)
            .with_context(|| format!("reading --manifest-pin {}", path.display()))?;
        crate::notes::manifest()
            .check_pinned(&committed)
            .with_context(|| format!("--manifest-pin {}", path.display()))?;
    }
    let mode: SandboxMode = common
        .sandbox
        .parse()
        .map_err(|e: String| anyhow::anyhow!(e))?;
    // What the rules name must exist now.
    prepare_files(&common.files)?;
    prepare_db_dir(&common.db)?;
    let limits = ResourceLimits {
        memory: common.memory_limit_mib.map(|mib| mib << 20),
        ..ResourceLimits::default()
    };
    let mut confinement = Confinement::new(mode, common.user)
        .limits(limits)
        .files(&common.files)
        .database(&common.db)?;
    if let Some(file) = &common.api_keys_file {
        confinement = confinement.reread(file);
    }
    if let Some(path) = &common.audit_log {
        let log = JsonLinesSink::file(path)
            .with_context(|| format!("opening the audit log {}", path.display()))?;
        common.opened_audit_log = Some(std::sync::Arc::new(log.into_inner()));
    }
    if let RateBackend::Redis = common.rate_backend {
        confinement = confinement.upstream(&common.redis_url)?;
    }
    if let Some(endpoint) = &common.otlp_endpoint {
        mcp_secure::otel::Otlp::http(endpoint).context("--otlp-endpoint")?;
        confinement = confinement.upstream(endpoint)?;
    }
    if let Some(http) = http {
        http.opened_listener = Some(confinement.listen(http.addr)?);
        if let Some(addr) = http.metrics_addr {
            http.opened_metrics_listener = Some(confinement.listen(addr)?);
        }
        for file in [
            &http.tls_cert,
            &http.tls_key,
            &http.metrics_token_file,
            &http.upstream_client_secret_file,
        ]
        .into_iter()
        .flatten()
        {
            confinement = confinement.read(file);
        }
        if let Some(issuer) = http.issuer.as_ref().or(http.upstream_issuer.as_ref()) {
            confinement = confinement.upstream(issuer)?;
        }
        // The development authorization server fetches clients' metadata documents (https),
        // at hosts it learns from the clients.
        if http.dev_auth {
            confinement = confinement.connect_port(443).resolve_names();
        }
    }
    // Created before the sandbox closes the filesystem, written once the report is known.
    let manifest_out = match &common.manifest_out {
        Some(path) => Some(
            std::fs::File::create(path)
                .with_context(|| format!("creating --manifest-out {}", path.display()))?,
        ),
        None => None,
    };
    let resolver = match common.resolver {
        Resolver::Udp => NameResolution::Udp,
        Resolver::Tcp => NameResolution::Tcp,
    };
    for note in confinement.notes() {
        eprintln!("notes-server: sandbox: {note}");
    }
    let report = confinement
        .apply(resolver)
        .context("confining the process (--sandbox)")?;
    if let Some(mut file) = manifest_out {
        let mut manifest = crate::notes::manifest().with_sandbox(&report);
        if let Some(policies) = &common.policies {
            manifest = manifest.with_policies(policies);
        }
        std::io::Write::write_all(&mut file, manifest.to_pretty_string().as_bytes())
            .context("writing --manifest-out")?;
    }
    Ok(Some(report))
}

async fn run(cli: Cli, confined: Option<SandboxReport>) -> anyhow::Result<()> {
    let telemetry = telemetry(&cli.command)?;
    {
        use tracing_subscriber::prelude::*;
        let filter = tracing_subscriber::EnvFilter::try_from_env("NOTES_LOG")
            .unwrap_or_else(|_| "warn,mcp_secure::audit=off".into());
        let stderr = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_filter(filter);
        tracing_subscriber::registry()
            .with(stderr)
            .with(telemetry.as_ref().map(|t| t.layer()))
            .init();
    }
    let result = command(cli, confined).await;
    if let Some(telemetry) = telemetry {
        // What is still buffered is sent before the process ends.
        if let Err(e) = telemetry.shutdown().await {
            eprintln!("notes-server: {e}");
        }
    }
    result
}

/// The OTLP export of `--otlp-endpoint`, if given.
fn telemetry(command: &Command) -> anyhow::Result<Option<mcp_secure::otel::Telemetry>> {
    let common = match command {
        Command::Serve { common, .. } | Command::Stdio { common, .. } => common,
        _ => return Ok(None),
    };
    let Some(endpoint) = &common.otlp_endpoint else {
        return Ok(None);
    };
    let telemetry = mcp_secure::otel::Otlp::http(endpoint)
        .and_then(|otlp| otlp.service_name("notes-server").start())
        .context("--otlp-endpoint")?;
    Ok(Some(telemetry))
}

async fn command(cli: Cli, confined: Option<SandboxReport>) -> anyhow::Result<()> {
    if let Some(report) = &confined {
        eprintln!("notes-server: {report}");
    }
    let confined = confined.as_ref();
    match cli.command {
        Command::Serve { http, common } => serve(*http, common, confined).await,
        Command::Stdio { common, url } => stdio(common, &url, confined).await,
        Command::Token {
            sub,
            scope,
            ttl,
            url,
            tenant,
            roles,
            home,
            dpop_jkt,
        } => {
            let claims = Claims {
                tenant: tenant.as_deref(),
                roles: &roles,
                home: home.as_deref(),
                dpop_jkt: dpop_jkt.as_deref(),
            };
            token(&sub, &scope, ttl, &url, claims)
        }
        Command::Manifest => {
            print!("{}", crate::notes::manifest().to_pretty_string());
            Ok(())
        }
        Command::SeccompProfile => {
            println!("{}", seccomp_profile_text());
            Ok(())
        }
        Command::Health { url } => health(&url).await,
    }
}

/// The demo's seccomp profile, as committed in `examples/seccomp-profile.json`.
pub fn seccomp_profile_text() -> String {
    // The widest filter the demo declares: TCP, and UDP for a resolver of upstreams named by
    // host. The in-process filter is narrower where the command line allows.
    let filter = mcp_secure::sandbox::SyscallFilter {
        tcp: true,
        udp: true,
        // The runtime's profile is in force from the start, when the listeners are opened.
        listen: true,
        ..Default::default()
    };
    serde_json::to_string_pretty(&mcp_secure::sandbox::seccomp_profile(&filter))
        .expect("a JSON value prints")
}

/// Asks `url` (plain HTTP) once, within 3 s: `Ok` on `200`.
async fn health(url: &str) -> anyhow::Result<()> {
    let url = url::Url::parse(url).context("--url")?;
    anyhow::ensure!(url.scheme() == "http", "--url: only http:// is asked");
    let host = url.host_str().context("--url: a host")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let ask = async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect((host, port)).await?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n",
            url.path()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        anyhow::Ok(head)
    };
    let head = tokio::time::timeout(Duration::from_secs(3), ask)
        .await
        .context("no answer within 3 s")??;
    anyhow::ensure!(
        head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200"),
        "{url} did not answer 200"
    );
    Ok(())
}

/// Reloads `file` on each SIGHUP.
#[cfg(unix)]
fn reload_on_hangup(file: ApiKeyFile, security: Security) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match file.reload(&security) {
                Ok(n) => eprintln!("notes-server: SIGHUP: {n} API keys loaded"),
                Err(e) if !file.is_in_force() => {
                    eprintln!("notes-server: SIGHUP: {e}; every API key is refused")
                }
                Err(e) => eprintln!("notes-server: SIGHUP: {e}; the keys stay as they were"),
            }
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn reload_on_hangup(_: ApiKeyFile, _: Security) -> anyhow::Result<()> {
    Ok(())
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

/// Creates the directory of a SQLite file `db`, if missing.
fn prepare_db_dir(db: &str) -> anyhow::Result<()> {
    if !db.contains("://")
        && db != ":memory:"
        && let Some(dir) = std::path::Path::new(db)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

async fn open_store(db: &str) -> anyhow::Result<NotesStore> {
    let is_url = db.contains("://");
    prepare_db_dir(db)?;
    // A database URL's password stays out of the message.
    let shown = match url::Url::parse(db) {
        Ok(mut url) if is_url => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        _ => db.to_owned(),
    };
    NotesStore::open(db)
        .await
        .with_context(|| format!("opening the database {shown}"))
}

/// The JWT secret from `NOTES_JWT_SECRET`, or a new one (printed once) when it is unset.
fn jwt_secret(print_new: bool) -> anyhow::Result<SecretString> {
    match SecretString::from_env("NOTES_JWT_SECRET") {
        Ok(secret) => Ok(secret),
        Err(SecretError::Missing { .. }) if print_new => {
            let secret = ApiKeys::generate_key();
            eprintln!(
                "notes-server: NOTES_JWT_SECRET is not set; tokens are signed with a new secret, shown once:\n"
            );
            eprintln!("    export NOTES_JWT_SECRET={secret}\n");
            Ok(SecretString::new(secret))
        }
        Err(e) => Err(e.into()),
    }
}

/// The issuer and audience of the demo's tokens, from the server's MCP URL.
fn issuer_of(url: &str) -> anyhow::Result<String> {
    Ok(url::Url::parse(url)
        .context("the server URL")?
        .origin()
        .ascii_serialization())
}

/// Over stdio there is no layer to take the audience from: the URL tokens were minted for.
fn jwt_verifier(secret: SecretString, url: &str) -> anyhow::Result<JwtVerifier> {
    Ok(JwtVerifier::hs256(secret, &issuer_of(url)?, url)?
        .tenant_claim(TENANT_CLAIM)
        .attributes(&crate::notes::attributes()))
}

async fn serve(
    http: HttpArgs,
    common: Common,
    confined: Option<&SandboxReport>,
) -> anyhow::Result<()> {
    let HttpArgs {
        opened_listener,
        opened_metrics_listener,
        addr,
        allow_origins,
        url: public_url,
        allow_hosts,
        trusted_proxies,
        forwarded_header,
        metrics_addr,
        metrics_allow_hosts,
        metrics_token_file,
        tls_cert,
        tls_key,
        request_timeout,
        dev_auth,
        dev_auth_user,
        dev_auth_scopes,
        issuer: external_issuer,
        upstream_issuer,
        upstream_client_id,
        upstream_client_secret_file,
        upstream_scopes,
        fetch_allow,
        sessions_per_principal,
        dpop,
        dpop_nonces,
    } = http;
    let dpop_mode: DpopMode = dpop.parse()?;
    let fetch_policy = fetch_allow
        .into_iter()
        .fold(FetchPolicy::default(), FetchPolicy::allow_network);
    let tls = tls_cert.zip(tls_key);
    let metrics = metrics_addr.map(|_| Metrics::new());
    let (mut security, redis) = security(&common).await?;
    if let Some(metrics) = &metrics {
        security = security.audit_sink(metrics.clone());
    }
    let security = security.build()?;
    if let Some(report) = confined {
        security.emit(&report.event());
    }
    let tcp = match opened_listener {
        Some(listener) => tokio::net::TcpListener::from_std(listener),
        None => tokio::net::TcpListener::bind(addr).await,
    }
    .with_context(|| format!("binding {addr}"))?;
    let listener = match &tls {
        Some((cert, key)) => Listener::Tls(
            TlsListener::from_listener(tcp, cert, key)
                .with_context(|| format!("serving TLS on {addr}"))?,
        ),
        None => Listener::Plain(tcp),
    };
    let local_url = match &listener {
        Listener::Tls(l) => format!("https://{}/mcp", axum::serve::Listener::local_addr(l)?),
        Listener::Plain(l) => format!("http://{}/mcp", l.local_addr()?),
    };
    let url = public_url.unwrap_or_else(|| local_url.clone());
    let secret = jwt_secret(true)?;
    // Replicas on one Redis remember the proofs together: one accepted by a replica is a
    // replay at every other. Nonces need nothing shared but the secret.
    let dpop = |dpop: Dpop| {
        let dpop = match &redis {
            Some(redis) => dpop.replay_cache(RedisReplayCache::sharing(redis)),
            None => dpop,
        };
        match dpop_nonces {
            true => dpop.nonces(&secret),
            false => dpop,
        }
    };
    // A key file is watched, and reloaded on SIGHUP: keys change without a restart.
    let key_file = match &common.api_keys_file {
        Some(path) => Some(
            ApiKeyFile::open(path, API_KEY_ISSUER)
                .with_context(|| format!("reading API keys from {}", path.display()))?,
        ),
        None => None,
    };
    let keys = match key_file {
        Some(_) => None,
        None => Some(load_keys(&common)?.unwrap_or_else(|| generated_key(&url))),
    };
    eprintln!(
        "notes-server: tokens: notes-server token --url {url} --sub alice --scope \"notes:read notes:write\""
    );
    let server = notes_server(&common).await?;
    let issuer = issuer_of(&url)?;
    let mut endpoint = Endpoint::new(url.as_str(), server.clone(), server.tools_of(), security)
        .verifier(
            JwtVerifier::hs256(secret.clone(), &issuer, Audience::Resource)?
                .tenant_claim(TENANT_CLAIM)
                .attributes(&crate::notes::attributes()),
        )
        .request_timeout(Duration::from_secs(request_timeout));
    if let Some(keys) = keys {
        endpoint = endpoint.verifier(keys);
    }
    if let Some(file) = &key_file {
        endpoint = endpoint.verifier(file.clone());
        file.watch(endpoint.security().clone());
        // A deleted key file refuses every key: the server is then not ready.
        let in_force = file.clone();
        endpoint = endpoint.readiness("api_key_file", move || {
            std::future::ready(in_force.is_in_force())
        });
        reload_on_hangup(file.clone(), endpoint.security().clone())?;
    }
    // Replicas on one Redis share sessions: a legacy client may be sent to any of them.
    if let Some(redis) = &redis {
        endpoint = endpoint.shared_sessions(RedisSessions::sharing(redis));
    }
    let store = server.store().clone();
    endpoint = endpoint.readiness("database", move || {
        let store = store.clone();
        async move { store.ping().await }
    });
    if let Some(external) = &external_issuer {
        let verifier = JwtVerifier::discover_with(external, Audience::Resource, &fetch_policy)
            .await
            .with_context(|| format!("the authorization server {external}"))?
            .tenant_claim(TENANT_CLAIM)
            .attributes(&crate::notes::attributes());
        endpoint = endpoint.verifier(verifier);
        eprintln!("notes-server: accepting tokens of the authorization server {external}");
    }
    // OAuth clients are told of an authorization server only when one answers: the external
    // issuer, or --dev-auth at this origin. The demo's own HS256 tokens (`notes-server token`)
    // are minted by hand, not by a server a client could sign in at.
    let authorization_server = match (&external_issuer, dev_auth || upstream_issuer.is_some()) {
        (Some(external), _) => Some(external.clone()),
        (None, true) => Some(issuer.clone()),
        (None, false) => None,
    };
    endpoint = endpoint.auth(|auth| {
        let auth = auth
            .hsts(tls.is_some())
            .sessions_per_principal(sessions_per_principal)
            // Least privilege: OAuth clients first ask for reading; writing is a step-up.
            .challenge_scopes(["notes:read"])
            .dpop(dpop(Dpop::with_mode(dpop_mode)));
        match authorization_server {
            Some(server) => auth.authorization_server(server),
            None => auth,
        }
    });
    for origin in allow_origins {
        endpoint = endpoint.allow_origin(origin);
    }
    for host in allow_hosts {
        endpoint = endpoint.allow_host(host);
    }
    for proxy in trusted_proxies {
        endpoint = endpoint.trusted_proxy(proxy);
    }
    endpoint = endpoint.forwarded_header(forwarded_header);
    if let (Some(metrics), Some(addr)) = (metrics, metrics_addr) {
        endpoint = endpoint.metrics(&metrics);
        let mut access = ScrapeAccess::builder().audit(endpoint.security());
        for host in metrics_allow_hosts {
            access = access.allow_host(host);
        }
        if let Some(path) = &metrics_token_file {
            let token = SecretString::from_file(path).context("--metrics-token-file")?;
            access = access.bearer_token(token);
        }
        let access = access.build()?;
        let listener = match opened_metrics_listener {
            Some(listener) => tokio::net::TcpListener::from_std(listener),
            None => tokio::net::TcpListener::bind(addr).await,
        }
        .with_context(|| format!("binding the metrics address {addr}"))?;
        eprintln!(
            "notes-server: metrics at http://{}/metrics",
            listener.local_addr()?
        );
        tokio::spawn(async move {
            metrics
                .serve(listener, &access, std::future::pending())
                .await
        });
    }
    if dev_auth {
        // The authorization server binds tokens to any client that sends a proof, whatever the
        // resource's mode: `required` refuses the unbound ones there.
        let server_dpop = match dpop_mode {
            DpopMode::Off => Dpop::off(),
            _ => Dpop::allowed(),
        };
        let mut builder = DevAuthServer::builder(issuer_of(&url)?, url.as_str(), secret.clone())
            .scopes(MCP_SCOPES.names())
            .dpop(dpop(server_dpop))
            .fetch_policy(fetch_policy.clone());
        if let Some(scopes) = &dev_auth_scopes {
            builder = builder.grantable(scopes.split_whitespace());
        }
        if let Some(user) = &dev_auth_user {
            builder = builder.auto_approve(user.as_str());
        }
        let dev_auth = builder.build()?;
        let who = match &dev_auth_user {
            Some(user) => format!("approving every request as `{user}`"),
            None => "with a consent page".to_owned(),
        };
        eprintln!(
            "notes-server: development authorization server at {} ({who}); for development only",
            dev_auth.issuer()
        );
        endpoint = endpoint.beside(dev_auth.router());
    }
    if let Some(upstream_issuer) = &upstream_issuer {
        let client_id = upstream_client_id.as_deref().unwrap_or_default();
        let path = upstream_client_secret_file
            .as_deref()
            .unwrap_or(std::path::Path::new(""));
        let client_secret =
            SecretString::from_file(path).context("--upstream-client-secret-file")?;
        let scopes: Vec<String> = upstream_scopes
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let upstream = Upstream::discover(
            upstream_issuer,
            client_id,
            client_secret,
            &scopes,
            &fetch_policy,
        )
        .await
        .with_context(|| format!("--upstream-issuer {upstream_issuer}"))?;
        let proxy = OAuthProxy::builder(issuer_of(&url)?, url.as_str(), secret.clone(), upstream);
        // Replicas on one Redis share the sign-ins, codes and refresh families: a sign-in
        // started at one finishes at another, and a code is spent once across them all.
        let proxy = match &redis {
            Some(redis) => proxy.redis(redis),
            None => proxy,
        };
        let proxy = proxy
            .scopes(MCP_SCOPES.names())
            .attributes(&crate::notes::attributes())
            .tenant_claim(TENANT_CLAIM)
            .fetch_policy(fetch_policy.clone())
            .dpop(dpop(match dpop_mode {
                DpopMode::Off => Dpop::off(),
                _ => Dpop::allowed(),
            }))
            .build()?;
        eprintln!(
            "notes-server: OAuth proxy at {} for the identity provider {upstream_issuer} (its redirect URI: {}/callback)",
            proxy.issuer(),
            proxy.issuer()
        );
        endpoint = endpoint.verifier(proxy.verifier()).beside(proxy.router());
    }
    if url == local_url {
        eprintln!("notes-server: serving MCP at {url}");
    } else {
        eprintln!("notes-server: serving MCP at {local_url} (public URL {url})");
    }
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match listener {
        Listener::Tls(l) => endpoint.serve(l, stop).await?,
        Listener::Plain(l) => endpoint.serve(l, stop).await?,
    }
    Ok(())
}

/// A new API key with every scope for the subject `demo`, printed once with a ready command.
fn generated_key(url: &str) -> ApiKeys {
    let key = ApiKeys::generate_key();
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
        MCP_SCOPES.names().collect::<Vec<_>>().join(" ")
    );
    ApiKeys::new().with_key(&key, Principal::new("demo", MCP_SCOPES.names()))
}

enum Listener {
    Plain(tokio::net::TcpListener),
    Tls(TlsListener),
}

/// The claims of `token` beyond subject and scopes.
struct Claims<'a> {
    tenant: Option<&'a str>,
    roles: &'a [String],
    home: Option<&'a str>,
    dpop_jkt: Option<&'a str>,
}

fn token(sub: &str, scope: &str, ttl: u64, url: &str, claims: Claims<'_>) -> anyhow::Result<()> {
    use mcp_secure::auth::{Attribute, check_attribute};
    let secret = jwt_secret(false)
        .context("`token` signs with NOTES_JWT_SECRET, the secret `serve` uses")?;
    if let Some(tenant) = claims.tenant {
        mcp_secure::auth::check_tenant(tenant).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
    }
    // Checked as the server will check them: a token it would refuse is not printed.
    check_attribute("roles", &Attribute::Texts(claims.roles.to_vec()))
        .map_err(|e| anyhow::anyhow!("--role: {e}"))?;
    if let Some(home) = claims.home {
        check_attribute("home", &Attribute::Text(home.to_owned()))
            .map_err(|e| anyhow::anyhow!("--home: {e}"))?;
    }
    let mut minter = TokenMinter::hs256(&secret, &issuer_of(url)?, url)
        .lifetime(Duration::from_secs(ttl))
        .client_id("notes-server-cli");
    if let Some(tenant) = claims.tenant {
        minter = minter.tenant(tenant);
    }
    if !claims.roles.is_empty() {
        minter = minter.claim("roles", serde_json::json!(claims.roles));
    }
    if let Some(home) = claims.home {
        minter = minter.claim("home", serde_json::json!(home));
    }
    if let Some(jkt) = claims.dpop_jkt {
        anyhow::ensure!(
            jkt.len() == 43
                && jkt
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')),
            "--dpop-jkt: a key's RFC 7638 SHA-256 thumbprint, 43 base64url characters"
        );
        minter = minter.claim("cnf", serde_json::json!({ "jkt": jkt }));
    }
    println!("{}", minter.mint(sub, scope.split_whitespace())?);
    Ok(())
}

async fn stdio(common: Common, url: &str, confined: Option<&SandboxReport>) -> anyhow::Result<()> {
    let (mut security, _) = security(&common).await?;
    if let Ok(token) = SecretString::from_env("NOTES_TOKEN") {
        let verifier = jwt_verifier(
            jwt_secret(false).context("NOTES_TOKEN is verified with NOTES_JWT_SECRET")?,
            url,
        )?;
        let principal = verifier
            .verify(token.expose_secret())
            .await
            .map_err(|e| anyhow::anyhow!("NOTES_TOKEN was refused: {}", e.reason()))?;
        security = security.local_principal(principal);
    } else {
        match (std::env::var("NOTES_API_KEY"), load_keys(&common)?) {
            (Ok(key), Some(keys)) => match keys.verify(&key) {
                Some(principal) => security = security.local_principal(principal),
                None => bail!("NOTES_API_KEY matches no configured key"),
            },
            (Ok(_), None) => bail!(
                "NOTES_API_KEY is set but no keys are configured (NOTES_API_KEYS or --api-keys-file)"
            ),
            (Err(_), _) => {
                tracing::warn!("no NOTES_TOKEN or NOTES_API_KEY: only public tools can be called")
            }
        }
    }
    let server = notes_server(&common).await?;
    let security = security.build()?;
    if let Some(report) = confined {
        security.emit(&report.event());
    }
    mcp_secure::serve::stdio(server, security)
        .await?
        .waiting()
        .await?;
    Ok(())
}
