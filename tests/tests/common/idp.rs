//! oauth2-mock-server (from npm, run by `tests/node/idp.mjs`) as a third-party identity
//! provider: RS256 tokens, OpenID Connect discovery, introspection, and the authorization code
//! flow of the OAuth proxy's upstream (its client `mcp-proxy` must authenticate with
//! `proxy-secret`).

use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, ChildStdout, Command, Stdio},
};

use serde_json::Value;

/// oauth2-mock-server on a free loopback port, stopped when dropped.
pub struct Idp {
    child: Child,
    out: BufReader<ChildStdout>,
    pub issuer: String,
}

impl Idp {
    /// oauth2-mock-server, as `tests/node/idp.mjs` runs it.
    pub fn start() -> Idp {
        Self::run("idp.mjs", &[])
    }

    /// The Node script `script` under tests/node, with `env`, once it prints `issuer URL`: an
    /// identity provider that answers commands on its standard input ([`Self::command`]).
    pub fn run(script: &str, env: &[(&str, &str)]) -> Idp {
        let node = std::env::var("MCP_SECURE_NODE").expect("MCP_SECURE_NODE: run .ci/node.sh");
        let modules = std::env::var("MCP_SECURE_NODE_MODULES").expect("MCP_SECURE_NODE_MODULES");
        let mut child = Command::new(node)
            .arg(format!("{}/node/{script}", env!("CARGO_MANIFEST_DIR")))
            .env("NODE_MODULES", modules)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {script}: {e}"));
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let issuer = line
            .trim()
            .strip_prefix("issuer ")
            .unwrap_or_else(|| panic!("{script} did not start: {line:?}"))
            .to_owned();
        Idp { child, out, issuer }
    }

    /// Sends `line` to the provider's standard input; its acknowledgment, once it has taken
    /// it (before any later request).
    pub fn command(&mut self, line: &str) -> String {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        let mut answer = String::new();
        self.out.read_line(&mut answer).unwrap();
        answer.trim().to_owned()
    }

    /// A token for `user` with `scope`, for the resource `resource` (RFC 8707).
    pub async fn token(&self, user: &str, scope: &str, resource: &str) -> String {
        let response: Value = reqwest::Client::new()
            .post(format!("{}/token", self.issuer))
            .form(&[
                ("grant_type", "password"),
                ("username", user),
                ("password", "x"),
                ("scope", scope),
                ("resource", resource),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        response["access_token"].as_str().unwrap().to_owned()
    }
}

impl Idp {
    /// Every token issued so far is inactive from now on (its introspection says so).
    pub fn revoke_all(&mut self) {
        assert_eq!(self.command("revoke"), "revoked");
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo as an OAuth proxy in front of `idp`, as its client `mcp-proxy` with `secret`
/// (`proxy-secret` is the one `idp` takes), serving `files`; the directory of the secret file,
/// which must live as long as the server.
pub fn start_proxy(
    idp: &Idp,
    secret: &str,
    files: &std::path::Path,
) -> (super::HttpServer, tempfile::TempDir) {
    start_proxy_with(&idp.issuer, secret, files, &[])
}

/// [`start_proxy`] in front of the provider at `issuer`, with further arguments `extra`.
pub fn start_proxy_with(
    issuer: &str,
    secret: &str,
    files: &std::path::Path,
    extra: &[&str],
) -> (super::HttpServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("upstream-secret");
    std::fs::write(&secret_file, secret).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut args = vec![
        "--upstream-issuer",
        issuer,
        "--upstream-client-id",
        "mcp-proxy",
        "--upstream-client-secret-file",
        secret_file.to_str().unwrap(),
        "--fetch-allow",
        "127.0.0.1",
    ];
    args.extend_from_slice(extra);
    let server = super::HttpServer::start_with(None, files, &args);
    (server, dir)
}
