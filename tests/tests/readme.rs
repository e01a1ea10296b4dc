//! README's complete server is `examples/quickstart`, which the test command builds: the copy
//! a newcomer reads (its `[dependencies]` and `main.rs`) must be that crate, word for word.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The fenced block of `lang` that follows `after` in README.
fn block<'a>(readme: &'a str, after: &str, lang: &str) -> &'a str {
    let start = readme
        .find(after)
        .unwrap_or_else(|| panic!("README has no `{after}`"));
    let fence = format!("```{lang}\n");
    let open = start + readme[start..].find(&fence).expect("a fenced block") + fence.len();
    let close = open + readme[open..].find("```\n").expect("a closing fence");
    &readme[open..close]
}

#[test]
fn the_readme_server_is_the_quickstart_crate() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let main = std::fs::read_to_string(root().join("examples/quickstart/src/main.rs")).unwrap();
    assert_eq!(block(&readme, "`src/main.rs`:", "rust"), main);
    let manifest = std::fs::read_to_string(root().join("examples/quickstart/Cargo.toml")).unwrap();
    let dependencies = &manifest[manifest.find("[dependencies]\n").unwrap()..];
    // The crate names the library by path; a newcomer by its published version.
    let published = dependencies.replace(
        r#"mcp-secure = { path = "../../mcp-secure" }"#,
        &format!("mcp-secure = \"{}\"", &env!("CARGO_PKG_VERSION")[..3]),
    );
    assert_eq!(block(&readme, "## A complete server", "toml"), published);
}
