//! Opening a caller's file: what a tool does with a checked [`SafePath`] (one `openat2` beneath
//! the root, then `fstat` to refuse FIFOs and devices), and what a call does in all (the check
//! in validation, a `stat` beneath the root, then the open), against a plain
//! `std::fs::File::open` of the same file by its absolute path, which checks nothing.
//!
//! `bash mcp-secure/benches/alternate.sh path_open 10 std_file_open`

use std::hint::black_box;

use mcp_secure::validate::{PathRoot, SafePath};

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathRoot,
    absolute: std::path::PathBuf,
}

const RELATIVE: &str = "notes/2026/december.txt";

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("notes/2026")).unwrap();
    let absolute = dir.path().join(RELATIVE);
    std::fs::write(&absolute, "a note").unwrap();
    Fixture {
        root: PathRoot::open(dir.path()).unwrap(),
        absolute,
        _dir: dir,
    }
}

fn path() -> SafePath {
    serde_json::from_value(RELATIVE.into()).unwrap()
}

#[divan::bench]
fn std_file_open(bencher: divan::Bencher) {
    let f = fixture();
    bencher.bench(|| std::fs::File::open(black_box(&f.absolute)).unwrap());
}

#[divan::bench]
fn safe_path_open(bencher: divan::Bencher) {
    let f = fixture();
    let checked = path();
    checked.check_within(&f.root).unwrap();
    bencher.bench(|| black_box(&checked).open().unwrap());
}

#[divan::bench]
fn safe_path_check_and_open(bencher: divan::Bencher) {
    let f = fixture();
    bencher.with_inputs(path).bench_local_values(|p| {
        p.check_within(&f.root).unwrap();
        p.open().unwrap()
    });
}

fn main() {
    divan::main();
}
