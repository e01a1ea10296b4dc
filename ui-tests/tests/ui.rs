//! The compile-fail and compile-pass suite of mcp-secure's macros.
//!
//! Messages (`.stderr`) are compared only on the rustc that recorded them (`rustc-version.txt`):
//! rustc's own wording changes between releases. On any other rustc every `fail/` case must
//! still fail to compile, but its messages are not compared, and the test says so.

use std::path::{Path, PathBuf};

fn recorded_rustc() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rustc-version.txt"))
        .expect("ui-tests/rustc-version.txt")
        .trim()
        .to_owned()
}

fn current_rustc() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .expect("run rustc --version");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn ui() {
    // The inner run of `ui_messages_not_compared` below.
    if let Ok(dir) = std::env::var("MCP_UI_UNCOMPARED_DIR") {
        trybuild::TestCases::new().compile_fail(PathBuf::from(dir).join("*/*.rs"));
        return;
    }
    let t = trybuild::TestCases::new();
    t.pass("pass/*.rs");
    let (recorded, current) = (recorded_rustc(), current_rustc());
    if recorded == current && std::env::var_os("MCP_UI_FORCE_UNCOMPARED").is_none() {
        t.compile_fail("fail/*/*.rs");
    } else {
        drop(t);
        ui_messages_not_compared(&recorded, &current);
    }
}

/// Copies the `fail/` cases without their `.stderr` files and has trybuild record fresh ones
/// (`TRYBUILD=overwrite`) in a child run: that run still fails if any case compiles.
fn ui_messages_not_compared(recorded: &str, current: &str) {
    eprintln!(
        "ui-tests: `.stderr` files were recorded with `{recorded}`, this is `{current}`: checking that every fail/ case fails to compile, NOT comparing messages"
    );
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fail");
    let dst = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-uncompared");
    let _ = std::fs::remove_dir_all(&dst);
    for category in std::fs::read_dir(&src).unwrap() {
        let category = category.unwrap().path();
        let target = dst.join(category.file_name().unwrap());
        std::fs::create_dir_all(&target).unwrap();
        for case in std::fs::read_dir(&category).unwrap() {
            let case = case.unwrap().path();
            if case.extension().is_some_and(|e| e == "rs") {
                std::fs::copy(&case, target.join(case.file_name().unwrap())).unwrap();
            }
        }
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["ui", "--exact", "--nocapture"])
        .env("MCP_UI_UNCOMPARED_DIR", &dst)
        .env("TRYBUILD", "overwrite")
        .status()
        .unwrap();
    assert!(
        status.success(),
        "a fail/ case compiled, or the suite could not run"
    );
}
