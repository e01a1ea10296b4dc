//! `#[derive(SecureInput)]` on arbitrary JSON: every rule at once. Parsing never panics, and
//! whatever it accepts satisfies each rule when checked again here, independently.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mcp_secure::{
    SecureInput, Security,
    validate::{SafePath, parse_arguments_in},
};

#[derive(SecureInput, Debug)]
struct Inner {
    #[mcp(length(min = 1, max = 20), no_control)]
    city: String,
    #[mcp(regex = "^[0-9]{5}$")]
    zip: Option<String>,
}

#[derive(SecureInput, Debug)]
enum Mode {
    Read,
    Write,
}

#[derive(SecureInput, Debug)]
struct Everything {
    #[mcp(length(min = 2, max = 16), no_control)]
    name: String,
    #[mcp(regex = "^[a-z0-9_]{1,12}$")]
    handle: Option<String>,
    #[mcp(range(min = -5, max = 500))]
    count: Option<i32>,
    #[mcp(range(min = 0.0, max = 1.0))]
    ratio: Option<f64>,
    #[mcp(one_of = ["read", "write"])]
    access: Option<String>,
    mode: Option<Mode>,
    #[mcp(email)]
    email: Option<String>,
    #[mcp(url)]
    hook: Option<String>,
    #[mcp(url(schemes = ["https"]))]
    secure_hook: Option<String>,
    #[mcp(items(max = 4), each(length(max = 8), regex = "^[a-z]+$"))]
    tags: Option<Vec<String>>,
    #[mcp(items(max = 2))]
    places: Option<Vec<Inner>>,
    home: Option<Inner>,
    #[mcp(path(within = "files"))]
    path: Option<SafePath>,
}

static HANDLE: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new("^[a-z0-9_]{1,12}$").unwrap());
static ROOT: LazyLock<std::path::PathBuf> = LazyLock::new(|| {
    use std::os::unix::fs::symlink;
    let root = std::env::temp_dir().join(format!("mcp-secure-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("a.txt"), "a").unwrap();
    std::fs::write(root.join("sub/b.txt"), "b").unwrap();
    // Links out of the root in every form: to a directory, to a file, relative, chained,
    // dangling; and links that stay inside.
    let _ = symlink("/etc", root.join("escape"));
    let _ = symlink("/etc/passwd", root.join("passwd"));
    let _ = symlink("/proc/self/environ", root.join("environ"));
    let up = "../".repeat(root.components().count());
    let _ = symlink(format!("{up}etc/hostname"), root.join("relative"));
    let _ = symlink("../passwd", root.join("sub/chain"));
    let _ = symlink("/nonexistent-mcp-secure-fuzz", root.join("dangling"));
    let _ = symlink("a.txt", root.join("inner"));
    let _ = symlink("../a.txt", root.join("sub/inner-up"));
    root.canonicalize().unwrap()
});
/// The (device, inode) of every regular file in the root: all that an open may reach.
static INSIDE: LazyLock<Vec<(u64, u64)>> = LazyLock::new(|| {
    use std::os::unix::fs::MetadataExt;
    ["a.txt", "sub/b.txt"]
        .iter()
        .map(|f| {
            let m = std::fs::metadata(ROOT.join(f)).unwrap();
            (m.dev(), m.ino())
        })
        .collect()
});
/// The configuration inputs are checked in: `files` is the linked root.
static SECURITY: LazyLock<Security> = LazyLock::new(|| {
    Security::builder()
        .path_root("files", &*ROOT)
        .build()
        .unwrap()
});

fn check_inner(inner: &Inner) {
    let n = inner.city.chars().count();
    assert!((1..=20).contains(&n) && !inner.city.chars().any(char::is_control));
    if let Some(zip) = &inner.zip {
        assert!(
            zip.len() == 5 && zip.bytes().all(|b| b.is_ascii_digit()),
            "{zip:?}"
        );
    }
}

fn check_url(url: &str, schemes: &[&str]) {
    let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("accepted {url:?}: {e}"));
    assert!(schemes.contains(&parsed.scheme()), "{url:?}");
    let host = parsed
        .host_str()
        .unwrap_or_else(|| panic!("{url:?} has no host"));
    assert!(
        host.contains('.') || host.starts_with('['),
        "single-label host accepted: {url:?}"
    );
    assert!(!host.eq_ignore_ascii_case("localhost"), "{url:?}");
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        assert!(!ip.is_loopback() && !ip.is_unspecified(), "{url:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(serde_json::Value::Object(arguments)) = serde_json::from_slice(data) else {
        return;
    };
    let Ok(input) = parse_arguments_in::<Everything>(Some(arguments), &SECURITY) else {
        return;
    };
    let n = input.name.chars().count();
    assert!((2..=16).contains(&n) && !input.name.chars().any(char::is_control));
    if let Some(handle) = &input.handle {
        assert!(HANDLE.is_match(handle), "{handle:?}");
    }
    if let Some(count) = input.count {
        assert!((-5..=500).contains(&count));
    }
    if let Some(ratio) = input.ratio {
        assert!((0.0..=1.0).contains(&ratio), "{ratio}");
    }
    if let Some(access) = &input.access {
        assert!(access == "read" || access == "write");
    }
    if let Some(email) = &input.email {
        let (local, domain) = email.rsplit_once('@').expect("an email has an @");
        assert!(!local.is_empty() && domain.contains('.'), "{email:?}");
    }
    if let Some(hook) = &input.hook {
        check_url(hook, &["http", "https"]);
    }
    if let Some(hook) = &input.secure_hook {
        check_url(hook, &["https"]);
    }
    if let Some(tags) = &input.tags {
        assert!(tags.len() <= 4);
        for tag in tags {
            assert!(
                tag.len() <= 8 && !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_lowercase())
            );
        }
    }
    if let Some(places) = &input.places {
        assert!(places.len() <= 2);
        places.iter().for_each(check_inner);
    }
    if let Some(home) = &input.home {
        check_inner(home);
    }
    if let Some(path) = &input.path {
        // Whatever a validated path opens is one of the root's own files.
        if let Ok(file) = path.open() {
            use std::os::unix::fs::MetadataExt;
            let m = file.metadata().unwrap();
            assert!(
                INSIDE.contains(&(m.dev(), m.ino())),
                "{:?} opened a file outside the root",
                path.as_str()
            );
        }
    }
    let _ = input.mode;
});
