//! Each feature of mcp-secure pulls only what it names: a stdio-only server
//! (`default-features = false`) gets no HTTP, TLS, JWT or SQL crate, `http` no TLS, JWT or SQL
//! crate, `jwt` no HTTP client, and only `policy` the policy engine. Read from `cargo tree`, as the guide's crate counts are (docs/src/first-server.md).
//! (`.ci/run` also runs clippy on the library under each of these feature sets.)

use std::{collections::BTreeSet, path::Path, process::Command};

/// The crates (name, version) of mcp-secure's normal dependency tree with exactly `features`.
fn tree(features: &str) -> BTreeSet<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--locked", "-p", "mcp-secure", "-e", "normal"])
        .args(["--prefix", "none", "--no-default-features"])
        .args(["--features", features])
        .current_dir(root)
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((words.next()?.to_owned(), words.next()?.to_owned()))
        })
        .collect()
}

/// The crates (names only) of mcp-secure's normal dependency tree with exactly `features`.
fn crates(features: &str) -> BTreeSet<String> {
    tree(features).into_iter().map(|(name, _)| name).collect()
}

const HTTP: &[&str] = &["axum", "hyper", "hyper-util", "http", "http-body", "tower"];
const TLS: &[&str] = &["rustls", "tokio-rustls"];
const JWT: &[&str] = &["jsonwebtoken"];
const HTTP_CLIENT: &[&str] = &["reqwest"];
const SQL: &[&str] = &["sqlx", "sqlx-core", "libsqlite3-sys", "sqlx-postgres"];
const REDIS: &[&str] = &["redis"];
const POLICY: &[&str] = &["cedar-policy", "cedar-policy-core"];

fn assert_none(features: &str, tree: &BTreeSet<String>, groups: &[&[&str]]) {
    let found: Vec<&str> = groups
        .iter()
        .flat_map(|group| group.iter().copied())
        .filter(|name| tree.contains(*name))
        .collect();
    assert!(
        found.is_empty(),
        "with features [{features}], mcp-secure pulls {found:?}"
    );
}

#[test]
fn a_stdio_only_server_pulls_no_http_tls_jwt_or_sql_crate() {
    let tree = crates("");
    assert!(tree.contains("rmcp") && tree.contains("regex"), "{tree:?}");
    assert_none(
        "",
        &tree,
        &[HTTP, TLS, JWT, HTTP_CLIENT, SQL, REDIS, POLICY],
    );
}

#[test]
fn each_feature_pulls_only_what_it_names() {
    let http = crates("http");
    assert!(http.contains("axum") && http.contains("hyper"), "{http:?}");
    assert_none("http", &http, &[TLS, JWT, HTTP_CLIENT, SQL, REDIS, POLICY]);

    // JWT signatures are ring's (a provider of `jsonwebtoken`'s, auth/jwt_crypto.rs): none of
    // RustCrypto's or aws-lc's, nor `jsonwebtoken`'s PEM reader (pem, simple_asn1, time).
    let jwt = crates("jwt");
    assert!(
        jwt.contains("jsonwebtoken") && jwt.contains("ring"),
        "{jwt:?}"
    );
    assert_none("jwt", &jwt, &[HTTP, TLS, HTTP_CLIENT, SQL, REDIS, POLICY]);
    assert_none(
        "jwt",
        &jwt,
        &[&[
            "rsa",
            "p256",
            "p384",
            "ed25519-dalek",
            "aws-lc-rs",
            "simple_asn1",
            "pem",
            "time",
        ]],
    );

    let jwks = crates("jwks");
    assert!(jwks.contains("reqwest"), "{jwks:?}");
    assert_none("jwks", &jwks, &[SQL, REDIS, POLICY]);

    let introspection = crates("introspection");
    assert!(introspection.contains("reqwest"), "{introspection:?}");
    assert_none("introspection", &introspection, &[JWT, SQL, REDIS, POLICY]);

    // DPoP proofs' signatures are ring's too; `http` with `jwt` alone pulls no rustls.
    let dpop = crates("dpop");
    assert!(
        dpop.contains("ring") && dpop.contains("jsonwebtoken") && dpop.contains("axum"),
        "{dpop:?}"
    );
    assert_none("dpop", &dpop, &[HTTP_CLIENT, SQL, REDIS, POLICY]);
    assert_none("http,jwt", &crates("http,jwt"), &[TLS]);

    // The development authorization server fetches clients' metadata documents.
    let dev_auth = crates("dev-auth");
    assert!(
        dev_auth.contains("reqwest") && dev_auth.contains("axum"),
        "{dev_auth:?}"
    );
    assert_none("dev-auth", &dev_auth, &[SQL, REDIS, POLICY]);

    let sqlite = crates("sqlite");
    assert!(sqlite.contains("libsqlite3-sys"), "{sqlite:?}");
    assert_none(
        "sqlite",
        &sqlite,
        &[HTTP, TLS, JWT, HTTP_CLIENT, REDIS, POLICY],
    );

    let tls = crates("tls");
    assert!(
        tls.contains("tokio-rustls") && tls.contains("axum"),
        "{tls:?}"
    );
    assert_none("tls", &tls, &[JWT, HTTP_CLIENT, SQL, REDIS, POLICY]);

    let postgres = crates("postgres");
    assert!(postgres.contains("sqlx-postgres"), "{postgres:?}");
    assert!(!postgres.contains("libsqlite3-sys"), "{postgres:?}");
    assert_none(
        "postgres",
        &postgres,
        &[HTTP, TLS, JWT, HTTP_CLIENT, REDIS, POLICY],
    );

    let redis = crates("redis");
    assert!(redis.contains("redis"), "{redis:?}");
    assert_none("redis", &redis, &[HTTP, TLS, JWT, HTTP_CLIENT, SQL, POLICY]);

    let metrics = crates("metrics");
    assert!(
        metrics.contains("prometheus-client") && metrics.contains("axum"),
        "{metrics:?}"
    );
    assert_none(
        "metrics",
        &metrics,
        &[TLS, JWT, HTTP_CLIENT, SQL, REDIS, POLICY],
    );

    let sandbox = crates("sandbox");
    assert!(
        sandbox.contains("landlock") && sandbox.contains("seccompiler"),
        "{sandbox:?}"
    );
    assert_none(
        "sandbox",
        &sandbox,
        &[HTTP, TLS, JWT, HTTP_CLIENT, SQL, REDIS, POLICY],
    );

    // AWS Secrets Manager: reqwest, and AWS's signer (not the SDK, nor its HTTP stack).
    let aws = crates("aws-secrets");
    assert!(
        aws.contains("reqwest") && aws.contains("aws-sigv4"),
        "{aws:?}"
    );
    assert!(!aws.contains("aws-sdk-secretsmanager") && !aws.contains("aws-smithy-runtime"));
    assert_none("aws-secrets", &aws, &[JWT, SQL, REDIS, POLICY]);

    let vault = crates("vault-secrets");
    assert!(
        vault.contains("reqwest") && !vault.contains("aws-sigv4"),
        "{vault:?}"
    );
    assert_none("vault-secrets", &vault, &[JWT, SQL, REDIS, POLICY]);

    // The defaults are what most HTTP servers need: no database driver (a server names
    // `sqlite` or `postgres`), nothing of the policy engine.
    let defaults = crates(DEFAULTS);
    assert_none("the defaults", &defaults, &[SQL, REDIS, POLICY]);

    let policy = crates("policy");
    assert!(policy.contains("cedar-policy"), "{policy:?}");
    assert_none(
        "policy",
        &policy,
        &[HTTP, TLS, JWT, HTTP_CLIENT, SQL, REDIS],
    );
}

/// mcp-secure's default features, as its Cargo.toml names them.
const DEFAULTS: &str = "http,tls,jwt,jwks,introspection,dpop";

#[test]
fn the_defaults_above_are_the_manifests() {
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../mcp-secure/Cargo.toml"),
    )
    .unwrap();
    let line = manifest
        .lines()
        .find(|l| l.starts_with("default = "))
        .expect("a `default = [...]` line");
    let named: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
    assert_eq!(named.join(","), DEFAULTS, "{line}");
    let record =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("feature-counts.txt"))
            .unwrap();
    assert!(
        record
            .lines()
            .any(|l| l.rsplit_once(' ').map(|(f, _)| f) == Some(DEFAULTS)),
        "tests/feature-counts.txt records the defaults"
    );
}

/// How far a set may grow past its recorded count before the test asks for a decision.
const MARGIN: usize = 3;

/// Issue 35: each feature set's crate count is recorded in `tests/feature-counts.txt`; a set
/// that grows past it by more than [`MARGIN`] fails (a dependency added is a choice to record),
/// and one that shrinks by more asks for the record to follow, so the margin stays tight.
#[test]
fn no_feature_set_grows_past_its_recorded_count() {
    let record =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("feature-counts.txt"))
            .unwrap();
    let mut checked = 0;
    let mut off = Vec::new();
    for line in record.lines().filter(|l| !l.starts_with('#')) {
        let (features, recorded) = line.rsplit_once(' ').expect("<features> <count>");
        let recorded: usize = recorded.parse().expect("a count");
        let now = tree(features.trim()).len();
        if now > recorded + MARGIN || now + MARGIN < recorded {
            off.push(format!(
                "[{}]: recorded {recorded}, now {now}",
                features.trim()
            ));
        }
        checked += 1;
    }
    assert!(checked >= 10, "the record lists the feature sets");
    assert!(
        off.is_empty(),
        "feature sets off their recorded crate counts (tests/feature-counts.txt): {off:?}"
    );
}

/// Feature sets whose crates may need a newer Rust than mcp-secure's `rust-version`, and the
/// version they need (docs/src/secrets.md says so for AWS's crates).
const NEWER_RUST: &[(&str, &str)] = &[("aws-secrets", "1.94.1")];

/// Issue 35: `rust-version` holds for what each feature set builds. No older toolchain can be
/// installed on this machine, so this reads the `rust-version` every crate of the set declares
/// (`cargo metadata`) and fails when one asks for more than ours. A crate that declares none is
/// not checked (about one in six).
#[test]
fn every_crate_of_a_feature_set_builds_with_our_rust_version() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root)
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata failed");
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let declared = |name: &str, version: &str| -> Option<String> {
        packages
            .iter()
            .find(|p| p["name"] == name && p["version"] == version)
            .and_then(|p| p["rust_version"].as_str().map(str::to_owned))
    };
    let ours = declared("mcp-secure", env!("CARGO_PKG_VERSION")).expect("our rust-version");
    let parse = |v: &str| -> Vec<u32> { v.split('.').map(|n| n.parse().unwrap()).collect() };
    let record =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("feature-counts.txt"))
            .unwrap();
    let mut over = Vec::new();
    for line in record.lines().filter(|l| !l.starts_with('#')) {
        let features = line.rsplit_once(' ').expect("<features> <count>").0.trim();
        let allowed = NEWER_RUST
            .iter()
            .find(|(set, _)| *set == features)
            .map_or(ours.as_str(), |(_, rust)| rust);
        for (name, version) in tree(features) {
            let version = version.trim_start_matches('v');
            if let Some(needs) = declared(&name, version)
                && parse(&needs) > parse(allowed)
            {
                over.push(format!("[{features}] {name} {version} needs Rust {needs}"));
            }
        }
    }
    assert!(
        over.is_empty(),
        "crates above rust-version {ours} (raise it, or record the set in NEWER_RUST and the \
         guide): {over:?}"
    );
}
