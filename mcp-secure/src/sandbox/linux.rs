//! Landlock, seccomp, dumpability and resource limits, on Linux.

use std::os::fd::{AsFd, OwnedFd};

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, LandlockStatus, NetPort, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};
use rustix::{
    fs::{FileType, Mode, OFlags, fstat, openat},
    process::{Resource, Rlimit, getrlimit, setrlimit},
};

use super::{
    NameResolution, ResourceLimits, SYSTEM_READ, SYSTEM_WRITE, Sandbox, SandboxError, SandboxMode,
    SandboxReport, syscalls,
};

/// The ABI the rules are written for: the newest the `landlock` crate knows. On an older
/// kernel the crate's best-effort compatibility drops what the kernel lacks, and
/// [`gaps`] says what that leaves open.
const TARGET: ABI = ABI::V10;

/// The resolver's port.
const DNS: u16 = 53;

fn kernel_error(e: impl std::fmt::Display) -> SandboxError {
    SandboxError::Kernel(e.to_string())
}

/// Opens `path` for a rule; a system path that this machine lacks is left out.
fn open(path: &std::path::Path, system: bool) -> Result<Option<PathFd>, SandboxError> {
    match PathFd::new(path) {
        Ok(fd) => Ok(Some(fd)),
        Err(_) if system => Ok(None),
        Err(_) => Err(SandboxError::Path {
            path: path.to_path_buf(),
            error: std::fs::metadata(path)
                .err()
                .unwrap_or_else(|| std::io::Error::other("cannot be opened")),
        }),
    }
}

fn is_dir(fd: impl AsFd) -> bool {
    fstat(fd).is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Directory)
}

/// The rights a path gets: on a file, only those that apply to files.
fn rights(fd: &PathFd, wanted: BitFlags<AccessFs>) -> BitFlags<AccessFs> {
    match is_dir(fd) {
        true => wanted,
        false => wanted & AccessFs::from_file(TARGET),
    }
}

/// A file's identity, as the kernel knows it (not its path's text).
fn identity(fd: impl AsFd) -> Option<(u64, u64)> {
    fstat(fd).ok().map(|s| (s.st_dev, s.st_ino))
}

/// Whether the directory `fd`, or a directory above it, is one of `writable`:
/// walked up through `..` as the kernel resolves it (mount points and links included), so a
/// second spelling of a path cannot hide it.
fn beneath_any(fd: OwnedFd, writable: &[(u64, u64)]) -> bool {
    let mut current = fd;
    for _ in 0..4096 {
        let Some(id) = identity(&current) else {
            return false;
        };
        if writable.contains(&id) {
            return true;
        }
        let Ok(parent) = openat(
            &current,
            "..",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            return false;
        };
        if identity(&parent) == Some(id) {
            return false;
        }
        current = parent;
    }
    false
}

/// Read-only paths (`read`, and roots held open) that lie inside a writable grant: Landlock's
/// rights add up along the path, so each of them would be writable.
fn writable_read_only(sandbox: &Sandbox) -> Vec<std::path::PathBuf> {
    let writable: Vec<(u64, u64)> = sandbox
        .write
        .iter()
        .filter_map(|p| PathFd::new(p).ok())
        .filter(|fd| is_dir(fd))
        .filter_map(|fd| identity(&fd))
        .chain(sandbox.open_write.iter().filter_map(|fd| identity(&**fd)))
        .collect();
    let open_path = |p: &std::path::Path| {
        // A file is checked through its directory, a directory through itself.
        let dir = match p.is_dir() {
            true => p.to_path_buf(),
            false => p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."))
                .to_path_buf(),
        };
        rustix::fs::open(
            &dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()
    };
    let mut found: Vec<std::path::PathBuf> = sandbox
        .read
        .iter()
        .filter(|p| open_path(p).is_some_and(|fd| beneath_any(fd, &writable)))
        .cloned()
        .collect();
    for (name, fd) in &sandbox.open_read {
        if let Ok(fd) = fd.try_clone()
            && beneath_any(fd, &writable)
        {
            found.push(std::path::PathBuf::from(format!("(path root `{name}`)")));
        }
    }
    found
}

/// Switches to `sandbox`'s user when running as root; what is missing otherwise.
fn drop_root(
    sandbox: &Sandbox,
    threads: usize,
    missing: &mut Vec<String>,
) -> Result<(), SandboxError> {
    use rustix::{
        process::{Gid, Uid, geteuid},
        thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid},
    };
    if !geteuid().is_root() {
        return Ok(());
    }
    let Some((uid, gid)) = sandbox.run_as else {
        missing
            .push("an unprivileged user: the process runs as root; name one to switch to".into());
        return Ok(());
    };
    if threads > 1 {
        // The calls below change the calling thread only.
        return Err(SandboxError::Kernel(
            "the user can be switched only before other threads start".into(),
        ));
    }
    let (uid, gid) = (Uid::from_raw(uid), Gid::from_raw(gid));
    set_thread_groups(&[]).map_err(kernel_error)?;
    set_thread_res_gid(gid, gid, gid).map_err(kernel_error)?;
    set_thread_res_uid(uid, uid, uid).map_err(kernel_error)?;
    if geteuid() != uid {
        return Err(SandboxError::Kernel("the user switch did not take".into()));
    }
    Ok(())
}

/// Sets `limits` (soft and hard), and no core files; what was set.
fn set_limits(limits: &ResourceLimits) -> Result<ResourceLimits, SandboxError> {
    let set = |resource, value: Option<u64>| {
        // Never above the hard limit in force: lowering is always allowed, raising is not.
        let value = match (value, getrlimit(resource).maximum) {
            (Some(v), Some(hard)) => Some(v.min(hard)),
            (None, hard) => hard,
            (v, None) => v,
        };
        setrlimit(
            resource,
            Rlimit {
                current: value,
                maximum: value,
            },
        )
        .map_err(kernel_error)?;
        Ok::<_, SandboxError>(value)
    };
    set(Resource::Core, Some(0))?;
    let open_files = set(Resource::Nofile, Some(limits.open_files))?;
    let processes = set(Resource::Nproc, Some(limits.processes))?;
    let memory = match limits.memory {
        Some(bytes) => set(Resource::Data, Some(bytes))?,
        None => None,
    };
    Ok(ResourceLimits {
        open_files: open_files.unwrap_or(limits.open_files),
        processes: processes.unwrap_or(limits.processes),
        memory,
    })
}

/// What an ABI below the newest leaves open, given the rest of the sandbox (the seccomp filter
/// refuses unix sockets, so the unix rules of ABI 6 and 9 close nothing more here).
fn gaps(abi: u32, sandbox: &Sandbox, missing: &mut Vec<String>) {
    if abi == 0 {
        missing.push(
            "filesystem rules: the kernel has no Landlock (Linux 5.13 or later, enabled at boot)"
                .to_owned(),
        );
        return;
    }
    if abi < 3 {
        missing.push(format!(
            "truncation rules: Landlock ABI {abi} (ABI 3, Linux 6.2, has them)"
        ));
    }
    if abi < 4 {
        missing.push(format!(
            "TCP bind and connect rules: Landlock ABI {abi} (ABI 4, Linux 6.7, has them)"
        ));
    }
    if abi < 6 {
        missing.push(format!(
            "signal scoping: the process can signal every process of its user; Landlock ABI {abi} (ABI 6, Linux 6.12, scopes signals)"
        ));
    }
    if !sandbox.bind.is_empty() {
        missing.push(
            "listening only on the declared ports: listen() on a socket that was not bound takes an ephemeral port, which Landlock does not check; open the listeners before confinement and declare no bind port".to_owned(),
        );
    }
    if abi < 10 && sandbox.resolver == Some(NameResolution::Udp) {
        missing.push(format!(
            "UDP destinations: the resolver's UDP sockets can send to any address; Landlock ABI {abi} (ABI 10, Linux 7.2, confines them to port 53), or resolve names over TCP"
        ));
    }
}

pub(super) fn enforce(sandbox: &Sandbox) -> Result<SandboxReport, SandboxError> {
    let mut missing = Vec::new();
    let threads = std::fs::read_dir("/proc/self/task").map_or(1, |d| d.count());
    if threads > 1 {
        missing.push(format!(
            "confinement of the {} threads already running: Landlock restricts the thread that applies it and those it starts; apply the sandbox before starting the runtime",
            threads - 1
        ));
    }
    for read in writable_read_only(sandbox) {
        match sandbox.mode {
            SandboxMode::Require => return Err(SandboxError::WritableReadOnly { read }),
            _ => missing.push(format!(
                "read-only {}: it lies inside a writable grant, so it is writable",
                read.display()
            )),
        }
    }
    drop_root(sandbox, threads, &mut missing)?;
    let limits = set_limits(&sandbox.limits)?;
    // After the user switch, which resets it: the process's /proc files now belong to root.
    let non_dumpable =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
            .is_ok();
    if !non_dumpable {
        missing.push("a non-dumpable process: prctl(PR_SET_DUMPABLE) was refused".into());
    }
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let write = read | AccessFs::from_write(TARGET);
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(TARGET))
        .map_err(kernel_error)?
        .handle_access(AccessNet::from_all(TARGET))
        .map_err(kernel_error)?
        .scope(Scope::from_all(TARGET))
        .map_err(kernel_error)?
        .create()
        .map_err(kernel_error)?;
    let paths = sandbox
        .read
        .iter()
        .map(|p| (p, read))
        .chain(sandbox.write.iter().map(|p| (p, write)));
    for (path, wanted) in paths {
        let system = SYSTEM_READ
            .iter()
            .chain(SYSTEM_WRITE)
            .any(|s| path == std::path::Path::new(s));
        if let Some(fd) = open(path, system)? {
            let access = rights(&fd, wanted);
            ruleset = ruleset
                .add_rule(PathBeneath::new(fd, access))
                .map_err(kernel_error)?;
        }
    }
    let open = (sandbox.open_read.iter().map(|(_, fd)| (fd, read)))
        .chain(sandbox.open_write.iter().map(|fd| (fd, write)));
    for (fd, wanted) in open {
        let fd = fd.try_clone().map_err(kernel_error)?;
        ruleset = ruleset
            .add_rule(PathBeneath::new(fd, wanted))
            .map_err(kernel_error)?;
    }
    let ports = (sandbox.bind.iter().map(|&p| (p, AccessNet::BindTcp)))
        .chain(sandbox.connect.iter().map(|&p| (p, AccessNet::ConnectTcp)));
    for (port, access) in ports {
        ruleset = ruleset
            .add_rule(NetPort::new(port, access))
            .map_err(kernel_error)?;
    }
    match sandbox.resolver {
        Some(NameResolution::Udp) => {
            // Sending binds the socket to an ephemeral port first.
            for (port, access) in [(DNS, AccessNet::ConnectSendUdp), (0, AccessNet::BindUdp)] {
                ruleset = ruleset
                    .add_rule(NetPort::new(port, access))
                    .map_err(kernel_error)?;
            }
        }
        Some(NameResolution::Tcp) => {
            ruleset = ruleset
                .add_rule(NetPort::new(DNS, AccessNet::ConnectTcp))
                .map_err(kernel_error)?;
        }
        None => {}
    }
    let status = ruleset.restrict_self().map_err(kernel_error)?;
    let abi = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => effective_abi as u32,
        _ => 0,
    };
    let enforced = status.ruleset != RulesetStatus::NotEnforced;
    let abi = if enforced { abi } else { 0 };
    gaps(abi, sandbox, &mut missing);
    let filter = sandbox.syscall_filter();
    let arch = std::env::consts::ARCH.try_into().map_err(kernel_error);
    let seccomp = match arch.and_then(|arch| syscalls::compile(&filter, arch).map_err(kernel_error))
    {
        Ok(programs) => {
            for program in &programs {
                seccompiler::apply_filter_all_threads(program).map_err(kernel_error)?;
            }
            true
        }
        Err(e) => {
            missing.push(format!("the seccomp filter: {e}"));
            false
        }
    };
    Ok(SandboxReport {
        mode: sandbox.mode,
        landlock_abi: abi,
        filesystem: abi >= 1,
        network: abi >= 4,
        seccomp,
        // seccompiler sets it before installing the filter; Landlock, when it applies.
        no_new_privs: seccomp || status.no_new_privs,
        signals_scoped: abi >= 6,
        non_dumpable,
        syscalls: filter,
        limits: Some(limits),
        uid: Some(rustix::process::geteuid().as_raw()),
        missing,
    })
}
