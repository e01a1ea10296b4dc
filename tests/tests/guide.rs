//! The guide (`docs/`, an mdBook) holds together: every chapter is in `SUMMARY.md`, compiled as
//! doctests (`tests/src/lib.rs`) and linked from README; every link between chapters, to README
//! and to the repository's files names a file that exists and, with `#anchor`, a heading in
//! it; README stays a landing page (at most 250 lines). mdBook builds the book in CI
//! (`.ci/run`, stage "guide"); this test needs no mdBook.

use std::{
    collections::{BTreeSet, HashMap},
    path::{Path, PathBuf},
};

/// Where links to the repository's own files point (the crate's `repository`, branch `main`).
const REPOSITORY: &str = "https://github.com/mcp-secure/mcp-secure/blob/main/";
const README_MAX_LINES: usize = 250;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The chapters: every `.md` file under `docs/src` but `SUMMARY.md`, by file name.
fn chapters() -> BTreeSet<String> {
    std::fs::read_dir(root().join("docs/src"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".md") && name != "SUMMARY.md")
        .collect()
}

/// The text outside fenced code blocks, each line with its number; inline code spans blanked,
/// so that a link-like text inside backticks is not read as a link.
fn prose(text: &str) -> Vec<(usize, String)> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut out = String::new();
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            }
            out.push(if in_code { ' ' } else { c });
        }
        lines.push((n + 1, out));
    }
    lines
}

/// The targets of the inline links `[text](target)` of `text`, with their line numbers.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in prose(text) {
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            found.push((n, after[..end].to_owned()));
            rest = &after[end..];
        }
    }
    found
}

/// A heading's anchor as mdBook (and GitHub) make it: the text without markup, lowercased,
/// spaces as `-`, and nothing but letters, digits, `-` and `_`; a repeated one gets `-1`, `-2`.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let id: String = heading
            .trim()
            .chars()
            .filter_map(|c| {
                if c.is_alphanumeric() || c == '_' || c == '-' {
                    Some(c.to_lowercase().next().unwrap())
                } else if c == ' ' {
                    Some('-')
                } else {
                    None
                }
            })
            .collect();
        let count = seen.entry(id.clone()).or_default();
        out.insert(if *count == 0 {
            id.clone()
        } else {
            format!("{id}-{count}")
        });
        *count += 1;
    }
    out
}

/// Checks one link of the file `from` (a path under the repository); returns what is wrong.
fn check_link(from: &Path, target: &str) -> Option<String> {
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (target, None),
    };
    let file: PathBuf = if let Some(in_repo) = path.strip_prefix(REPOSITORY) {
        root().join(in_repo)
    } else if path.contains("://") || path.starts_with("mailto:") {
        return None; // outside the repository: not checked here
    } else if path.is_empty() {
        root().join(from)
    } else {
        root().join(from).parent().unwrap().join(path)
    };
    if !file.exists() {
        return Some(format!("`{target}`: no file {}", file.display()));
    }
    let anchor = anchor?;
    if file.extension().is_none_or(|e| e != "md") {
        return Some(format!(
            "`{target}`: an anchor in a file that is not Markdown"
        ));
    }
    let ids = anchors(&read(&file));
    (!ids.contains(anchor)).then(|| format!("`{target}`: no heading `#{anchor}` (has {ids:?})"))
}

#[test]
fn every_link_of_the_guide_and_readme_resolves() {
    let mut files: Vec<PathBuf> = chapters()
        .iter()
        .map(|c| PathBuf::from("docs/src").join(c))
        .collect();
    files.push("docs/src/SUMMARY.md".into());
    files.push("README.md".into());
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        for (line, target) in links(&read(&root().join(file))) {
            checked += 1;
            if let Some(wrong) = check_link(file, &target) {
                broken.push(format!("{}:{line}: {wrong}", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(
        checked > 100,
        "only {checked} links found: is the parser reading the files?"
    );
}

#[test]
fn every_chapter_is_in_the_summary_the_doctests_and_readme() {
    let summary: BTreeSet<String> = links(&read(&root().join("docs/src/SUMMARY.md")))
        .into_iter()
        .map(|(_, target)| target)
        .collect();
    let lib = read(&root().join("tests/src/lib.rs"));
    let readme = read(&root().join("README.md"));
    let readme_links: BTreeSet<String> = links(&readme).into_iter().map(|(_, t)| t).collect();
    for chapter in chapters() {
        assert!(
            summary.contains(&chapter),
            "SUMMARY.md does not list {chapter}"
        );
        assert!(
            lib.contains(&format!("include_str!(\"../../docs/src/{chapter}\")")),
            "tests/src/lib.rs does not compile the Rust blocks of {chapter}"
        );
        assert!(
            readme_links.contains(&format!("docs/src/{chapter}")),
            "README does not link {chapter}"
        );
    }
    let lines = readme.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README has {lines} lines; it is the landing page (at most {README_MAX_LINES}): move reference text into the guide"
    );
}

/// rustdoc takes a fence without a language for Rust, and `ignore` would leave a block
/// unchecked: every block names its language, and no Rust block is ignored.
#[test]
fn every_code_block_names_its_language_and_none_is_ignored() {
    let mut wrong = Vec::new();
    for chapter in chapters() {
        let text = read(&root().join("docs/src").join(&chapter));
        let mut fenced = false;
        for (n, line) in text.lines().enumerate() {
            let Some(info) = line.trim_start().strip_prefix("```") else {
                continue;
            };
            if !fenced {
                let info = info.trim();
                if info.is_empty() {
                    wrong.push(format!("{chapter}:{}: a block without a language", n + 1));
                }
                if info.split(',').any(|attr| attr.trim() == "ignore") {
                    wrong.push(format!("{chapter}:{}: an ignored Rust block", n + 1));
                }
            }
            fenced = !fenced;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_anchors_are_the_ones_mdbook_makes() {
    let ids = anchors(
        "# Known limits\n## Signing in with OAuth: `--dev-auth`\n## Rates\n## Rates\n```sh\n# not a heading\n```\n",
    );
    let expected = [
        "known-limits",
        "signing-in-with-oauth---dev-auth",
        "rates",
        "rates-1",
    ];
    assert_eq!(ids, expected.iter().map(|s| s.to_string()).collect());
}
