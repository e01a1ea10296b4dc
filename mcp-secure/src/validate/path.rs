//! [`SafePath`]: a caller's path, opened beneath its root by the kernel.

use std::{
    fmt, io,
    path::Path,
    sync::{Arc, OnceLock},
};

use cap_std::fs::{Dir, Metadata};
use serde::{Deserialize, Deserializer};

use super::{FieldPath, ValidationErrors};
use crate::tool::ToolError;

/// Longest path, in characters, a [`SafePath`] accepts.
pub const PATH_MAX_LENGTH: usize = 1024;

/// A directory that [`SafePath`] fields are confined to, held open for the life of the server.
///
/// Every path is opened relative to this handle and never leaves it: on Linux by one
/// `openat2` call with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`, elsewhere by a walk one
/// component at a time that refuses to leave it (both through `cap-std`). A link inside the
/// root that points inside it is followed; one that leads out, absolute or relative, at the
/// end of the path or in the middle, is refused by the open itself.
///
/// A hard link is not a link to follow: it is the file itself, under a second name. One
/// inside the root to a file elsewhere on the same file system passes every check above, so a
/// root refuses regular files with more than one link by default ([`HardLinks`]).
#[derive(Clone)]
pub struct PathRoot {
    dir: Arc<Dir>,
    hard_links: HardLinks,
}

/// What a [`PathRoot`] does with a regular file that has more than one hard link.
///
/// The default refuses it, for reading as for writing: nothing in the file says which of its
/// names is the original, so a link planted inside the root to a file outside it (a key, a
/// database, another user's file on the same file system) would be read, overwritten or
/// truncated through the root. The check is made on the opened file (`fstat` of the
/// descriptor the tool gets), so a link swapped in after validation is refused too; a
/// truncation asked for is made only after it.
///
/// Allow them ([`SecurityBuilder::path_root_allowing_hard_links`](crate::SecurityBuilder::path_root_allowing_hard_links),
/// [`PathRoot::with_hard_links`]) for a directory whose files are linked on purpose (a
/// deduplicated mirror, `cp -l` or `rsync --link-dest` snapshots) and that nobody else can
/// write to.
///
/// ```
/// use mcp_secure::validate::{HardLinks, PathErrorKind, PathRoot, SafePath};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("a.txt"), "a").unwrap();
/// std::fs::hard_link(dir.path().join("a.txt"), dir.path().join("b.txt")).unwrap();
///
/// let root = PathRoot::open(dir.path()).unwrap();
/// assert_eq!(root.hard_links(), HardLinks::Refuse);
/// let path: SafePath = serde_json::from_value("b.txt".into()).unwrap();
/// assert!(path.check_within(&root).is_err());
///
/// let mirror = root.with_hard_links(HardLinks::Allow);
/// assert!(path.check_within(&mirror).is_ok());
/// assert!(path.open().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HardLinks {
    /// Refuse a regular file with more than one link (`st_nlink > 1`): the default.
    #[default]
    Refuse,
    /// Serve it like any other file.
    Allow,
}

impl PathRoot {
    /// Opens `dir` as a root that refuses files with more than one hard link.
    pub fn open(dir: impl AsRef<Path>) -> io::Result<Self> {
        let dir = Dir::open_ambient_dir(dir, cap_std::ambient_authority())?;
        Ok(Self {
            dir: Arc::new(dir),
            hard_links: HardLinks::Refuse,
        })
    }

    /// This root, treating files with more than one hard link as `hard_links` says.
    pub fn with_hard_links(mut self, hard_links: HardLinks) -> Self {
        self.hard_links = hard_links;
        self
    }

    /// What this root does with files that have more than one hard link.
    pub fn hard_links(&self) -> HardLinks {
        self.hard_links
    }

    /// The open directory, for a rule on exactly it (the sandbox's).
    #[cfg(all(feature = "sandbox", target_os = "linux"))]
    pub(crate) fn try_clone_fd(&self) -> io::Result<std::os::fd::OwnedFd> {
        use std::os::fd::AsFd;
        self.dir.as_fd().try_clone_to_owned()
    }

    /// Whether a file with `links` names is refused here.
    fn refuses_links(&self, links: u64) -> bool {
        links > 1 && self.hard_links == HardLinks::Refuse
    }
}

impl fmt::Debug for PathRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PathRoot")
            .field("hard_links", &self.hard_links)
            .finish_non_exhaustive()
    }
}

/// How many names the file has; 1 where the platform does not say (the check is Unix's).
#[cfg(unix)]
fn links_std(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::nlink(meta)
}

#[cfg(not(unix))]
fn links_std(_: &std::fs::Metadata) -> u64 {
    1
}

#[cfg(unix)]
fn links_cap(meta: &Metadata) -> u64 {
    cap_std::fs::MetadataExt::nlink(meta)
}

#[cfg(not(unix))]
fn links_cap(_: &Metadata) -> u64 {
    1
}

/// A file path from a caller, confined to a root the server names at start-up.
///
/// Declare it with a root name, `#[mcp(path(within = "files"))] path: SafePath`, and register
/// the directory for that name with [`crate::SecurityBuilder::path_root`]. Validation refuses
/// empty, absolute (`/x`, `C:\x`, `C:/x`), backslash, NUL and `..` paths, then looks the path up
/// beneath the root and refuses it if it leads outside (through a link, with or without a
/// trailing `/`), or names something other than a regular file or a directory (a FIFO, a
/// socket, a device).
///
/// The tool never gets a path string to open again: it opens through the checked value
/// ([`open`](Self::open), [`create`](Self::create), [`open_dir`](Self::open_dir),
/// [`open_with`](Self::open_with)), and each of those is again one lookup beneath the root, so
/// a link swapped in after validation cannot lead out either. The opens check the file they
/// opened for hard links, by its descriptor.
///
/// ```
/// use std::io::Read;
/// use mcp_secure::validate::{PathRoot, SafePath};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("a.txt"), "hello").unwrap();
/// let root = PathRoot::open(dir.path()).unwrap();
///
/// let path: SafePath = serde_json::from_value("a.txt".into()).unwrap();
/// path.check_within(&root).unwrap();
/// let mut text = String::new();
/// path.open().unwrap().read_to_string(&mut text).unwrap();
/// assert_eq!(text, "hello");
///
/// let escape: SafePath = serde_json::from_value("../a.txt".into()).unwrap();
/// assert!(escape.check_within(&root).is_err());
/// ```
pub struct SafePath {
    raw: String,
    root: OnceLock<PathRoot>,
}

/// Why a [`SafePath`] could not be opened. Converts to the [`ToolError`] a caller gets, which
/// names the caller's own path and nothing of the server's.
#[derive(Debug)]
pub struct PathError {
    path: String,
    kind: PathErrorKind,
}

/// The kind of a [`PathError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathErrorKind {
    /// Nothing exists at the path.
    NotFound,
    /// A file was asked for and the path names a directory.
    IsDirectory,
    /// A directory was asked for, or a file name is followed by `/`.
    NotADirectory,
    /// The path names a FIFO, a socket or a device, which are never served.
    NotRegular,
    /// The path leads outside the root (through a link), or the server may not open it.
    Outside,
    /// The path names a regular file with more than one hard link, which the root refuses
    /// ([`HardLinks::Refuse`]): another of its names may be outside the root.
    HardLinked,
    /// Something already exists where the file was to be created.
    AlreadyExists,
    /// The value did not come through validation, so it has no root.
    Unchecked,
    /// Another I/O failure (logged with an incident id when turned into a [`ToolError`]).
    Io(io::ErrorKind),
}

impl PathError {
    /// What went wrong.
    pub fn kind(&self) -> PathErrorKind {
        self.kind
    }

    fn new(path: &str, kind: PathErrorKind) -> Self {
        Self {
            path: path.to_owned(),
            kind,
        }
    }

    fn from_io(path: &str, e: &io::Error) -> Self {
        Self::new(path, kind_of(e))
    }
}

fn kind_of(e: &io::Error) -> PathErrorKind {
    // ELOOP: a chain of links too long, or a link where none may be followed.
    #[cfg(unix)]
    if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        return PathErrorKind::Outside;
    }
    match e.kind() {
        io::ErrorKind::NotFound => PathErrorKind::NotFound,
        io::ErrorKind::IsADirectory => PathErrorKind::IsDirectory,
        io::ErrorKind::NotADirectory => PathErrorKind::NotADirectory,
        // `cap-std` reports an escape (openat2's EXDEV) as PermissionDenied, as is a file the
        // server may not read; a caller is told the same for both.
        io::ErrorKind::PermissionDenied => PathErrorKind::Outside,
        io::ErrorKind::AlreadyExists => PathErrorKind::AlreadyExists,
        other => PathErrorKind::Io(other),
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.path;
        match self.kind {
            PathErrorKind::NotFound => write!(f, "`{path}` was not found"),
            PathErrorKind::IsDirectory => write!(f, "`{path}` is a directory, not a file"),
            PathErrorKind::NotADirectory => write!(f, "`{path}` is not a directory"),
            PathErrorKind::NotRegular => write!(
                f,
                "`{path}` is not a regular file or a directory (FIFOs, sockets and devices are not served)"
            ),
            PathErrorKind::Outside => write!(
                f,
                "`{path}` leads outside the served directory, or may not be opened"
            ),
            PathErrorKind::HardLinked => write!(
                f,
                "`{path}` has more than one hard link, and this directory serves only files with one (another link may be a file outside it)"
            ),
            PathErrorKind::AlreadyExists => write!(f, "`{path}` already exists"),
            PathErrorKind::Unchecked => write!(f, "`{path}` was not validated"),
            PathErrorKind::Io(kind) => write!(f, "`{path}` could not be opened ({kind})"),
        }
    }
}

impl std::error::Error for PathError {}

impl From<PathError> for ToolError {
    fn from(e: PathError) -> Self {
        let code = match e.kind {
            PathErrorKind::NotFound => "not_found",
            PathErrorKind::IsDirectory | PathErrorKind::NotRegular => "not_a_file",
            PathErrorKind::NotADirectory => "not_a_directory",
            PathErrorKind::Outside | PathErrorKind::HardLinked => "forbidden",
            PathErrorKind::AlreadyExists => "conflict",
            PathErrorKind::Unchecked | PathErrorKind::Io(_) => {
                return ToolError::internal(&e);
            }
        };
        ToolError::new(code, e.to_string())
    }
}

impl SafePath {
    /// The path as the caller wrote it (relative to the root).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Checks the path's form, then looks it up beneath `root`: it must stay inside, and name a
    /// regular file, a directory or nothing yet; a regular file must have one link unless the
    /// root allows more. Remembers `root` for the opens that follow.
    pub fn check_within(&self, root: &PathRoot) -> Result<(), &'static str> {
        check_syntax(&self.raw)?;
        match root.dir.metadata(&self.raw) {
            Ok(meta) if meta.is_file() && root.refuses_links(links_cap(&meta)) => {
                return Err(
                    "must not name a file with more than one hard link (another link may be a file outside the root)",
                );
            }
            Ok(meta) if meta.is_file() || meta.is_dir() => {}
            Ok(_) => {
                return Err(
                    "must name a regular file or a directory, not a FIFO, socket or device",
                );
            }
            // Missing: it may be created; the create is confined the same way.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(match kind_of(&e) {
                    PathErrorKind::NotADirectory => {
                        "must not continue past a file name (a `/` after a file, or a file used as a directory)"
                    }
                    PathErrorKind::Outside => {
                        "must stay inside the root directory (it leads outside through a link, or may not be opened)"
                    }
                    _ => "cannot be looked up inside the root directory",
                });
            }
        }
        let _ = self.root.set(root.clone());
        Ok(())
    }

    fn root(&self) -> Result<&PathRoot, PathError> {
        self.root
            .get()
            .ok_or_else(|| PathError::new(&self.raw, PathErrorKind::Unchecked))
    }

    /// Opens the regular file at this path for reading. A directory, a FIFO, a socket or a
    /// device is refused without blocking, and so is a file with more than one hard link
    /// where the root refuses them.
    pub fn open(&self) -> Result<std::fs::File, PathError> {
        let mut options = cap_std::fs::OpenOptions::new();
        options.read(true);
        non_blocking(&mut options);
        let (file, meta) = self.open_checked(&options)?;
        if meta.is_dir() {
            return Err(PathError::new(&self.raw, PathErrorKind::IsDirectory));
        }
        if !meta.is_file() {
            return Err(PathError::new(&self.raw, PathErrorKind::NotRegular));
        }
        Ok(file)
    }

    /// Creates a new file at this path for writing; refuses if anything exists there. (A new
    /// file has one link, so there is no hard link to check.)
    pub fn create(&self) -> Result<std::fs::File, PathError> {
        let mut options = cap_std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        self.root()?
            .dir
            .open_with(&self.raw, &options)
            .map(cap_std::fs::File::into_std)
            .map_err(|e| PathError::from_io(&self.raw, &e))
    }

    /// Opens the file at this path with `options`, beneath the root. A regular file with more
    /// than one hard link is refused where the root refuses them, before anything is written
    /// to it: a truncation is made after that check. The opened file may be a FIFO or a device
    /// unless `options` rule them out: prefer [`open`](Self::open).
    ///
    /// ```
    /// use std::io::Write;
    /// use mcp_secure::validate::{OpenOptions, PathRoot, SafePath};
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("log.txt"), "old").unwrap();
    /// let root = PathRoot::open(dir.path()).unwrap();
    /// let path: SafePath = serde_json::from_value("log.txt".into()).unwrap();
    /// path.check_within(&root).unwrap();
    /// let mut file = path.open_with(OpenOptions::new().write(true).truncate(true)).unwrap();
    /// file.write_all(b"new").unwrap();
    /// assert_eq!(std::fs::read_to_string(dir.path().join("log.txt")).unwrap(), "new");
    /// ```
    pub fn open_with(&self, options: &OpenOptions) -> Result<std::fs::File, PathError> {
        if options.truncate && (!options.write || options.append) {
            // What std refuses too; checked here because the open itself is made without it.
            return Err(PathError::new(
                &self.raw,
                PathErrorKind::Io(io::ErrorKind::InvalidInput),
            ));
        }
        let (file, meta) = self.open_checked(&options.without_truncate())?;
        if options.truncate && meta.is_file() {
            file.set_len(0)
                .map_err(|e| PathError::from_io(&self.raw, &e))?;
        }
        Ok(file)
    }

    /// Opens beneath the root, then refuses what the descriptor shows to be a regular file with
    /// more links than the root takes: checked on the file opened, so a name swapped after
    /// validation is caught, and before anything is read or written through it.
    fn open_checked(
        &self,
        options: &cap_std::fs::OpenOptions,
    ) -> Result<(std::fs::File, std::fs::Metadata), PathError> {
        let root = self.root()?;
        let file = root
            .dir
            .open_with(&self.raw, options)
            .map(cap_std::fs::File::into_std)
            .map_err(|e| PathError::from_io(&self.raw, &e))?;
        let meta = file
            .metadata()
            .map_err(|e| PathError::from_io(&self.raw, &e))?;
        if meta.is_file() && root.refuses_links(links_std(&meta)) {
            return Err(PathError::new(&self.raw, PathErrorKind::HardLinked));
        }
        Ok((file, meta))
    }

    /// Opens the directory at this path. What is opened through the returned [`Dir`] stays
    /// beneath it in the same way, but is not checked for hard links: check
    /// `metadata()?.nlink()` of a file opened through it where that matters.
    pub fn open_dir(&self) -> Result<Dir, PathError> {
        self.root()?
            .dir
            .open_dir(&self.raw)
            .map_err(|e| PathError::from_io(&self.raw, &e))
    }

    /// The metadata of what is at this path (following links beneath the root). A regular
    /// file with more than one hard link is refused where the root refuses them: its metadata
    /// (size, times, owner) may be those of a file outside.
    pub fn metadata(&self) -> Result<Metadata, PathError> {
        let root = self.root()?;
        let meta = root
            .dir
            .metadata(&self.raw)
            .map_err(|e| PathError::from_io(&self.raw, &e))?;
        if meta.is_file() && root.refuses_links(links_cap(&meta)) {
            return Err(PathError::new(&self.raw, PathErrorKind::HardLinked));
        }
        Ok(meta)
    }
}

/// How [`SafePath::open_with`] opens a file: the options of [`std::fs::OpenOptions`], which
/// the open applies in an order that keeps the root's checks first (a truncation is made only
/// once the file is known to have one link).
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    #[cfg(unix)]
    mode: Option<u32>,
}

impl OpenOptions {
    /// No access yet: set at least one of `read`, `write`, `append`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Read access.
    pub fn read(&mut self, read: bool) -> &mut Self {
        self.read = read;
        self
    }

    /// Write access.
    pub fn write(&mut self, write: bool) -> &mut Self {
        self.write = write;
        self
    }

    /// Writes go to the end of the file.
    pub fn append(&mut self, append: bool) -> &mut Self {
        self.append = append;
        self
    }

    /// Empties an existing file (needs `write`, not `append`), once it passed the root's checks.
    pub fn truncate(&mut self, truncate: bool) -> &mut Self {
        self.truncate = truncate;
        self
    }

    /// Creates the file if nothing is there.
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.create = create;
        self
    }

    /// Creates the file, refusing if anything is there.
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.create_new = create_new;
        self
    }

    /// The permission bits of a file created (before the process's umask).
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = Some(mode);
        self
    }

    /// `cap-std`'s options for the open itself: these, without the truncation.
    fn without_truncate(&self) -> cap_std::fs::OpenOptions {
        let mut options = cap_std::fs::OpenOptions::new();
        options
            .read(self.read)
            .write(self.write)
            .append(self.append)
            .create(self.create)
            .create_new(self.create_new);
        #[cfg(unix)]
        if let Some(mode) = self.mode {
            use cap_std::fs::OpenOptionsExt;
            options.mode(mode);
        }
        options
    }
}

/// `O_NONBLOCK`, so that opening a FIFO does not wait for a writer (regular files ignore it).
fn non_blocking(options: &mut cap_std::fs::OpenOptions) {
    #[cfg(unix)]
    {
        use cap_std::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    #[cfg(not(unix))]
    let _ = options;
}

fn check_syntax(raw: &str) -> Result<(), &'static str> {
    if raw.is_empty() {
        return Err("must be a relative path, not empty");
    }
    if raw.chars().count() > PATH_MAX_LENGTH {
        return Err("must be at most 1024 characters");
    }
    if raw.contains('\0') {
        return Err("must not contain NUL");
    }
    if raw.contains('\\') {
        return Err("must use `/` as separator, not `\\`");
    }
    let b = raw.as_bytes();
    if raw.starts_with('/') || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':') {
        return Err("must be relative to the root, not absolute");
    }
    if raw.split('/').any(|segment| segment == "..") {
        return Err("must not contain `..`");
    }
    Ok(())
}

impl<'de> Deserialize<'de> for SafePath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(SafePath {
            raw: String::deserialize(deserializer)?,
            root: OnceLock::new(),
        })
    }
}

impl schemars::JsonSchema for SafePath {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SafePath".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "minLength": 1,
            "maxLength": PATH_MAX_LENGTH,
            "pattern": PATH_PATTERN,
            "description": "A path relative to the server's root, with `/` separators and no `..` segment.",
        })
    }
}

/// The schema `pattern` of a [`SafePath`]: not absolute (`/`, `C:`), no `..` segment, no NUL or
/// backslash. Where links lead is checked by the server only.
pub(crate) const PATH_PATTERN: &str = "^(?!/)(?![A-Za-z]:)(?!([^/]*/)*\\.\\.(/|$))[^\\u0000\\\\]*$";

impl fmt::Debug for SafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SafePath").field(&self.raw).finish()
    }
}

/// `path(within = "root")`: checks a [`SafePath`] against the root registered under that name.
pub fn check_path(
    errors: &mut ValidationErrors,
    path: &FieldPath<'_>,
    value: &SafePath,
    within: &str,
) {
    let Some(root) = errors.security().and_then(|s| s.path_root(within)) else {
        tracing::error!(target: "mcp_secure", root = within, "no directory registered for SafePath root; refusing the path");
        errors.push(
            path,
            "path",
            "cannot be checked now (the server is not configured for this field)",
        );
        return;
    };
    if let Err(message) = value.check_within(root) {
        errors.push(path, "path", message);
    }
}

#[cfg(test)]
mod tests;
