//! The one way around `sql!` left to a crate that depends on sqlx itself: sqlx's own query
//! functions, query builder and `Executor` methods, which take SQL as a string (a crate that
//! reads rows with `mcp_secure::sql::sqlx::FromRow` needs no sqlx dependency at all). `clippy-sqlx.toml` (the guide, docs/src/threat-model.md, "What does not compile")
//! makes clippy refuse them: run clippy on a sample crate that builds SQL by hand
//! (`tests/clippy-sqlx`), with that file as its clippy.toml and without it.

use std::{path::Path, process::Command};

/// Runs `cargo clippy` on the sample crate with `conf_dir` holding its clippy.toml (or no
/// clippy.toml); returns whether it passed and what it printed.
fn clippy(conf_dir: &Path) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["clippy", "--locked", "--quiet", "--"])
        .args(["-D", "clippy::disallowed_methods"])
        .current_dir(root.join("tests/clippy-sqlx"))
        .env("CARGO_TARGET_DIR", root.join("target/clippy-sqlx"))
        .env("CLIPPY_CONF_DIR", conf_dir)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo clippy");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn clippy_refuses_sql_built_by_hand_with_the_shipped_configuration() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let with = tempfile::tempdir().unwrap();
    std::fs::copy(
        root.join("clippy-sqlx.toml"),
        with.path().join("clippy.toml"),
    )
    .unwrap();
    let without = tempfile::tempdir().unwrap();

    let (passed, printed) = clippy(without.path());
    assert!(
        passed,
        "without the configuration, clippy lets it through: {printed}"
    );

    let (passed, printed) = clippy(with.path());
    assert!(!passed, "clippy refused nothing: {printed}");
    for method in [
        "sqlx::query",
        "sqlx::query_as",
        "sqlx::query_scalar",
        "sqlx::raw_sql",
        "sqlx::Executor::execute",
        "sqlx::Executor::fetch_optional",
        "sqlx::Executor::prepare",
        "sqlx::QueryBuilder::new",
        "sqlx::QueryBuilder::push",
        "sqlx::query_builder::Separated::push",
        "sqlx::Pool::begin_with",
        "sqlx::Connection::begin_with",
    ] {
        assert!(
            printed.contains(&format!("use of a disallowed method `{method}`")),
            "{method} was not refused: {printed}"
        );
    }
    assert!(
        printed.contains("build queries with mcp_secure::sql::sql!"),
        "{printed}"
    );
    // Every entry names something that exists: clippy says so of a path it cannot resolve.
    assert!(
        !printed.contains("does not refer to"),
        "an entry of clippy-sqlx.toml resolves to nothing: {printed}"
    );
}
