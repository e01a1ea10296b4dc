//! Which external services this machine lacks, as cfgs the suites that need them turn into
//! `#[ignore = "<reason>"]`, so that `cargo test` lists each skipped test with the reason
//! instead of passing it in silence. Under CI (`CI` set) nothing is skipped: a missing service
//! fails its tests. A test that is not ignored never passes by returning early: a service its
//! build found and its run does not fails it.

use std::{env, path::PathBuf, process::Command};

fn main() {
    for var in [
        "CI",
        "MCP_SECURE_PYTHON",
        "MCP_SECURE_PG_URL",
        "MCP_SECURE_NODE",
        "MCP_SECURE_MOTO_SERVER",
        "MCP_SECURE_BAO",
        "PATH",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    println!(
        "cargo::rustc-check-cfg=cfg(skip_python, skip_postgres, skip_redis, skip_node, skip_nginx, skip_moto, skip_bao)"
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
    if env::var_os("MCP_SECURE_MOTO_SERVER").is_none() {
        println!("cargo::rustc-cfg=skip_moto");
    }
    if env::var_os("MCP_SECURE_BAO").is_none() {
        println!("cargo::rustc-cfg=skip_bao");
    }
    if env::var_os("MCP_SECURE_PG_URL").is_none() {
        println!("cargo::rustc-cfg=skip_postgres");
    }
    if !installed("redis-server", &[]) {
        println!("cargo::rustc-cfg=skip_redis");
    }
    // Debian installs nginx in /usr/sbin, which a user's PATH may lack.
    if !installed("nginx", &["/usr/sbin"]) {
        println!("cargo::rustc-cfg=skip_nginx");
    }
}

/// Whether `program` is in a directory of `PATH` or of `more`, and runs. Those directories are
/// watched (cargo reruns this script when a file in one appears, changes or goes), so that
/// installing or removing the program after a build is seen by the next `cargo test`, which
/// builds first.
fn installed(program: &str, more: &[&str]) -> bool {
    let path = env::var_os("PATH").unwrap_or_default();
    let mut found = None;
    for dir in env::split_paths(&path).chain(more.iter().map(PathBuf::from)) {
        if !dir.is_dir() {
            continue;
        }
        println!("cargo::rerun-if-changed={}", dir.display());
        let candidate = dir.join(program);
        if found.is_none() && candidate.is_file() {
            found = Some(candidate);
        }
    }
    found.is_some_and(|bin| Command::new(bin).arg("-v").output().is_ok())
}
