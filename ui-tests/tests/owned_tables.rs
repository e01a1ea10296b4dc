//! The owned-table check of `sql!` in a crate that declares owned tables in its `Cargo.toml`
//! (`ui-tests/owned-tables`, which trybuild cannot stand in for: it writes a `Cargo.toml` of
//! its own for its cases). `src/bin/pass.rs` compiles; every query of `src/bin/refused.rs` is
//! refused, with the messages in `refused.stderr` (compared, as the trybuild suite's are, only
//! on the rustc that recorded them; `OWNED_TABLES=overwrite` records them again).

use std::{path::Path, process::Command};

/// `cargo check` of one binary of the sample: whether it compiled, and what it printed, with
/// the checkout's path made `$ROOT`.
fn check(bin: &str) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["check", "--locked", "--quiet", "--bin", bin])
        .current_dir(root.join("ui-tests/owned-tables"))
        .env("CARGO_TARGET_DIR", root.join("target/owned-tables"))
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo check");
    let printed = String::from_utf8_lossy(&out.stderr).replace(root.to_str().unwrap(), "$ROOT");
    (out.status.success(), printed)
}

fn same_rustc() -> bool {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let recorded = std::fs::read_to_string(dir.join("rustc-version.txt")).unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).arg("--version").output().unwrap();
    recorded.trim() == String::from_utf8_lossy(&out.stdout).trim()
}

#[test]
fn queries_that_forget_an_owner_do_not_compile() {
    let (passed, printed) = check("pass");
    assert!(passed, "the bound queries compile: {printed}");

    let (passed, printed) = check("refused");
    assert!(!passed, "refused.rs compiled");
    // Each refused query, one error each: none slips through.
    assert_eq!(
        printed.matches("\nerror").count() + usize::from(printed.starts_with("error")),
        28,
        "{printed}"
    );
    let expected = Path::new(env!("CARGO_MANIFEST_DIR")).join("owned-tables/refused.stderr");
    if std::env::var("OWNED_TABLES").as_deref() == Ok("overwrite") {
        std::fs::write(&expected, &printed).unwrap();
    } else if same_rustc() {
        assert_eq!(printed, std::fs::read_to_string(&expected).unwrap());
    } else {
        eprintln!("owned_tables: messages not compared on this rustc (see rustc-version.txt)");
    }
}
