//! Which external services this machine lacks, as cfgs the suites that need them turn into
//! `#[ignore = "<reason>"]`, so that `cargo test` lists each skipped test with the reason
//! instead of passing it in silence. Under CI (`CI` set) nothing is skipped: a missing service
//! fails its tests.

use std::{env, process::Command};

fn main() {
    for var in [
        "CI",
        "MCP_SECURE_PYTHON",
        "MCP_SECURE_PG_URL",
        "MCP_SECURE_NODE",
        "PATH",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    println!(
        "cargo::rustc-check-cfg=cfg(skip_python, skip_postgres, skip_redis, skip_node, skip_nginx)"
    );
    if env::var_os("CI").is_some() {
        return;
    }
    if env::var_os("MCP_SECURE_PYTHON").is_none() {
        println!("cargo::rustc-cfg=skip_python");
    }
    if env::var_os("MCP_SECURE_NODE").is_none() {
        println!("cargo::rustc-cfg=skip_node");
    }
    if env::var_os("MCP_SECURE_PG_URL").is_none() {
        println!("cargo::rustc-cfg=skip_postgres");
    }
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("cargo::rustc-cfg=skip_redis");
    }
    // Debian installs nginx in /usr/sbin, which a user's PATH may lack.
    if ["nginx", "/usr/sbin/nginx"]
        .iter()
        .all(|bin| Command::new(bin).arg("-v").output().is_err())
    {
        println!("cargo::rustc-cfg=skip_nginx");
    }
}
