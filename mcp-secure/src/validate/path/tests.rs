use std::io::Read;

use super::*;

fn sp(raw: &str) -> SafePath {
    SafePath {
        raw: raw.into(),
        root: OnceLock::new(),
    }
}

#[test]
fn syntax_refuses_escapes() {
    for bad in [
        "",
        "/etc/passwd",
        "../x",
        "a/../../x",
        "a/..",
        "..",
        "C:\\x",
        "C:/x",
        "a\\..\\b",
        "a\0b",
        "a/b\0",
    ] {
        assert!(check_syntax(bad).is_err(), "{bad:?}");
    }
    for good in [
        "a.txt",
        "dir/a.txt",
        "./a",
        "a..b",
        "..a",
        "a/.../b",
        "ünïcode/名前.txt",
    ] {
        assert!(check_syntax(good).is_ok(), "{good:?}");
    }
}

fn read(path: &SafePath) -> Result<String, PathErrorKind> {
    let mut text = String::new();
    path.open()
        .map_err(|e| e.kind())?
        .read_to_string(&mut text)
        .unwrap();
    Ok(text)
}

#[test]
fn links_inside_are_followed_and_links_out_refused_in_every_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = PathRoot::open(dir.path()).unwrap();
    let r = dir.path();
    std::fs::write(r.join("a.txt"), "a").unwrap();
    std::fs::create_dir(r.join("sub")).unwrap();
    std::fs::write(outside.path().join("secret"), "s").unwrap();
    assert_eq!(read(&checked("a.txt", &root)), Ok("a".into()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        let secret = outside.path().join("secret");
        symlink(outside.path(), r.join("out-dir")).unwrap();
        symlink(&secret, r.join("out-file")).unwrap();
        symlink("/proc/self/environ", r.join("environ")).unwrap();
        // Relative, and in chains: sub/chain -> ../out-file -> outside.
        let up = "../".repeat(r.components().count());
        symlink(format!("{up}{}", secret.display()), r.join("rel-out")).unwrap();
        symlink("../out-file", r.join("sub/chain")).unwrap();
        symlink(outside.path().join("not-yet"), r.join("dangling")).unwrap();
        symlink("a.txt", r.join("inner")).unwrap();
        symlink("../a.txt", r.join("sub/inner-up")).unwrap();
        for link in [
            "out-dir/secret",
            "out-dir/not-yet",
            "out-dir",
            "out-dir/",
            "out-file",
            "environ",
            "rel-out",
            "sub/chain",
            "dangling",
        ] {
            for spelling in [
                link.to_owned(),
                format!("{link}/"),
                format!("{link}/."),
                format!("{link}//"),
                format!("./{link}"),
            ] {
                let path = sp(&spelling);
                assert!(path.check_within(&root).is_err(), "{spelling:?} validated");
                // The open itself refuses too, even when validation was skipped or raced.
                let _ = path.root.set(root.clone());
                assert!(read(&path).is_err(), "{spelling:?} opened");
            }
        }
        assert_eq!(read(&checked("inner", &root)), Ok("a".into()));
        assert_eq!(read(&checked("sub/inner-up", &root)), Ok("a".into()));
        // A link swapped in after validation is refused by the open.
        let raced = checked("later", &root);
        symlink(&secret, r.join("later")).unwrap();
        assert_eq!(read(&raced), Err(PathErrorKind::Outside));
    }
}

fn checked(raw: &str, root: &PathRoot) -> SafePath {
    let path = sp(raw);
    path.check_within(root)
        .unwrap_or_else(|e| panic!("{raw:?}: {e}"));
    path
}

#[test]
fn only_regular_files_and_directories_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let root = PathRoot::open(dir.path()).unwrap();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    std::fs::write(dir.path().join("f"), "x").unwrap();
    assert_eq!(read(&checked("d", &root)), Err(PathErrorKind::IsDirectory));
    assert!(checked("d", &root).open_dir().is_ok());
    assert_eq!(
        checked("f", &root).open_dir().unwrap_err().kind(),
        PathErrorKind::NotADirectory
    );
    assert!(sp("f/").check_within(&root).is_err());
    assert_eq!(read(&checked("nope", &root)), Err(PathErrorKind::NotFound));
    #[cfg(unix)]
    {
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert!(sp("fifo").check_within(&root).is_err());
        // Were it swapped in after validation, the open neither blocks nor serves it.
        let raced = sp("fifo");
        let _ = raced.root.set(root.clone());
        assert_eq!(read(&raced), Err(PathErrorKind::NotRegular));
    }
}

#[test]
fn create_is_confined_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let root = PathRoot::open(dir.path()).unwrap();
    std::fs::write(dir.path().join("f"), "x").unwrap();
    use std::io::Write;
    checked("new.txt", &root)
        .create()
        .unwrap()
        .write_all(b"n")
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("new.txt")).unwrap(),
        "n"
    );
    assert_eq!(
        checked("f", &root).create().unwrap_err().kind(),
        PathErrorKind::AlreadyExists
    );
    assert_eq!(
        sp("x").open().unwrap_err().kind(),
        PathErrorKind::Unchecked,
        "an unvalidated value has no root"
    );
}

/// A file inside the root that is a hard link to one outside: nothing about its name
/// leads out, so only its link count tells.
#[cfg(unix)]
#[test]
fn hard_links_to_files_outside_are_refused_for_reading_and_writing() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    // Beside the root, on the same file system (a hard link cannot cross one).
    let outside = tempfile::tempdir_in(dir.path().parent().unwrap()).unwrap();
    let root = PathRoot::open(dir.path()).unwrap();
    let secret = outside.path().join("secret");
    std::fs::write(&secret, "top secret").unwrap();
    std::fs::hard_link(&secret, dir.path().join("planted")).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::hard_link(&secret, dir.path().join("sub/deeper")).unwrap();
    std::os::unix::fs::symlink("planted", dir.path().join("to-planted")).unwrap();
    std::fs::write(dir.path().join("plain.txt"), "plain").unwrap();

    for name in ["planted", "./planted", "sub/deeper", "to-planted"] {
        let refused = sp(name).check_within(&root).unwrap_err();
        assert!(refused.contains("hard link"), "{name:?}: {refused}");
        // The opens refuse too, by the descriptor, when validation was skipped or raced.
        let path = sp(name);
        let _ = path.root.set(root.clone());
        assert_eq!(read(&path), Err(PathErrorKind::HardLinked), "{name:?}");
        assert_eq!(
            path.metadata().unwrap_err().kind(),
            PathErrorKind::HardLinked
        );
        for options in [
            OpenOptions::new().write(true).clone(),
            OpenOptions::new().write(true).truncate(true).clone(),
            OpenOptions::new().append(true).clone(),
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .clone(),
            OpenOptions::new().read(true).clone(),
        ] {
            let refused = path.open_with(&options).unwrap_err();
            assert_eq!(refused.kind(), PathErrorKind::HardLinked, "{options:?}");
        }
        assert_eq!(
            path.create().unwrap_err().kind(),
            PathErrorKind::AlreadyExists
        );
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "top secret");
    }
    // What the client is told names its own path and the rule, nothing of the server's.
    let planted = sp("planted");
    let _ = planted.root.set(root.clone());
    let error = ToolError::from(planted.open().unwrap_err());
    assert_eq!(error.code(), "forbidden");
    assert!(
        error
            .message()
            .contains("`planted` has more than one hard link")
    );
    assert!(!error.message().contains(dir.path().to_str().unwrap()));

    // A link made after validation is refused by the open, before the truncation.
    let raced = checked("later", &root);
    std::fs::hard_link(&secret, dir.path().join("later")).unwrap();
    let truncating = raced.open_with(OpenOptions::new().write(true).truncate(true));
    assert_eq!(truncating.unwrap_err().kind(), PathErrorKind::HardLinked);
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "top secret");

    // A file with one link, and a directory (which always has several), are served.
    assert_eq!(read(&checked("plain.txt", &root)), Ok("plain".into()));
    assert!(checked("sub", &root).open_dir().is_ok());
    assert!(checked("sub", &root).metadata().unwrap().is_dir());
    let mut file = checked("plain.txt", &root)
        .open_with(OpenOptions::new().write(true).truncate(true))
        .unwrap();
    file.write_all(b"new").unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("plain.txt")).unwrap(),
        "new"
    );
    let created = checked("made.txt", &root);
    created
        .open_with(OpenOptions::new().write(true).create(true).mode(0o600))
        .unwrap();
    assert_eq!(read(&created), Ok(String::new()));

    // A root that allows them serves the link, as the name it has inside.
    let mirror = root.with_hard_links(HardLinks::Allow);
    assert_eq!(read(&checked("planted", &mirror)), Ok("top secret".into()));
}

#[test]
fn a_truncation_needs_write_access() {
    let dir = tempfile::tempdir().unwrap();
    let root = PathRoot::open(dir.path()).unwrap();
    std::fs::write(dir.path().join("f"), "x").unwrap();
    for options in [
        OpenOptions::new().read(true).truncate(true).clone(),
        OpenOptions::new().append(true).truncate(true).clone(),
    ] {
        let refused = checked("f", &root).open_with(&options).unwrap_err();
        assert_eq!(
            refused.kind(),
            PathErrorKind::Io(io::ErrorKind::InvalidInput)
        );
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("f")).unwrap(), "x");
}
