//! Landlock and seccomp, on Linux.

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, LandlockStatus, NetPort, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
};

use super::{SYSTEM_READ, SYSTEM_WRITE, Sandbox, SandboxError, SandboxReport, syscalls};

/// The ABI the rules are written for: the filesystem rights of ABI 3 (truncation included) and
/// the TCP rules of ABI 4. On an older kernel the rest is enforced (best effort) and what is
/// not is reported.
const TARGET: ABI = ABI::V4;

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

/// The rights a path gets: on a file, only those that apply to files.
fn rights(fd: &PathFd, wanted: BitFlags<AccessFs>) -> BitFlags<AccessFs> {
    let is_dir = rustix::fs::fstat(fd).is_ok_and(|s| {
        rustix::fs::FileType::from_raw_mode(s.st_mode) == rustix::fs::FileType::Directory
    });
    match is_dir {
        true => wanted,
        false => wanted & AccessFs::from_file(TARGET),
    }
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

pub(super) fn enforce(sandbox: &Sandbox) -> Result<SandboxReport, SandboxError> {
    let mut missing = Vec::new();
    let threads = std::fs::read_dir("/proc/self/task").map_or(1, |d| d.count());
    if threads > 1 {
        missing.push(format!(
            "confinement of the {} threads already running: Landlock restricts the thread that applies it and those it starts; apply the sandbox before starting the runtime",
            threads - 1
        ));
    }
    drop_root(sandbox, threads, &mut missing)?;
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let write = read | AccessFs::from_write(TARGET);
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(TARGET))
        .map_err(kernel_error)?
        .handle_access(AccessNet::from_all(TARGET))
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
    let open = (sandbox.open_read.iter().map(|fd| (fd, read)))
        .chain(sandbox.open_write.iter().map(|fd| (fd, write)));
    for (fd, wanted) in open {
        let fd = fd.try_clone().map_err(kernel_error)?;
        ruleset = ruleset
            .add_rule(PathBeneath::new(fd, wanted))
            .map_err(kernel_error)?;
    }
    for &port in &sandbox.bind {
        ruleset = ruleset
            .add_rule(NetPort::new(port, AccessNet::BindTcp))
            .map_err(kernel_error)?;
    }
    for &port in &sandbox.connect {
        ruleset = ruleset
            .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
            .map_err(kernel_error)?;
    }
    let status = ruleset.restrict_self().map_err(kernel_error)?;
    let abi = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => effective_abi as u32,
        _ => 0,
    };
    let enforced = status.ruleset != RulesetStatus::NotEnforced;
    let filesystem = enforced && abi >= 1;
    let network = enforced && abi >= 4;
    if !filesystem {
        missing.push(
            "filesystem rules: the kernel has no Landlock (Linux 5.13 or later, enabled at boot)"
                .to_owned(),
        );
    } else if abi < 3 {
        missing.push(format!(
            "truncation rules: Landlock ABI {abi} (ABI 3, Linux 6.2, has them)"
        ));
    }
    if !network {
        missing.push(format!(
            "TCP bind and connect rules: Landlock ABI {abi} (ABI 4, Linux 6.7, has them)"
        ));
    }
    let json = syscalls::seccompiler_json(sandbox.exec);
    let arch = std::env::consts::ARCH.try_into().map_err(kernel_error);
    let seccomp = match arch.and_then(|arch| {
        seccompiler::compile_from_json(json.as_bytes(), arch).map_err(kernel_error)
    }) {
        Ok(filters) => {
            let program = &filters["main"];
            seccompiler::apply_filter_all_threads(program).map_err(kernel_error)?;
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
        filesystem,
        network,
        seccomp,
        // seccompiler sets it before installing the filter; Landlock, when it applies.
        no_new_privs: seccomp || status.no_new_privs,
        uid: Some(rustix::process::geteuid().as_raw()),
        missing,
    })
}
