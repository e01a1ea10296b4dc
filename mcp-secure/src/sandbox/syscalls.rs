//! The system calls an MCP server never makes, and the arguments it never passes: one table
//! ([`SyscallFilter::refusals`]), from which both the in-process seccomp filter and the container
//! runtimes' seccomp profile are made, so the two cannot drift.

use serde_json::{Value, json};

/// Refused with `EPERM` by the seccomp filter (and by [`seccomp_profile`]): debugging and
/// reading other processes, mounting and changing namespaces, loading kernel code (modules,
/// BPF, kexec), the kernel keyring, userfaultfd and perf events (common exploit aids),
/// `io_uring` (its operations open sockets and files without passing the filter's argument
/// checks), and changing the system (clock, swap, reboot, accounting).
pub const DENIED_SYSCALLS: &[&str] = &[
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    "process_madvise",
    "mount",
    "umount2",
    "pivot_root",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "setns",
    "unshare",
    "bpf",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "perf_event_open",
    "open_by_handle_at",
    "name_to_handle_at",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "syslog",
    "personality",
];

/// Refused too, unless the server declares that it runs programs
/// ([`Sandbox::allow_exec`](super::Sandbox::allow_exec)).
pub const EXEC_SYSCALLS: &[&str] = &["execve", "execveat"];

/// Changing a file's mode, owner, times or extended attributes: Landlock has no right for
/// these, so without this refusal confined code could `chmod` a file in a read-only root, or one
/// outside every rule. Refused unless the server declares that it changes them
/// ([`Sandbox::allow_file_metadata`](super::Sandbox::allow_file_metadata)). The calls of the
/// older system call table (`chmod`, `chown`, `utime`, …) exist on x86-64 only.
pub const METADATA_SYSCALLS: &[&str] = &[
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchownat",
    "utimensat",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
];

/// [`METADATA_SYSCALLS`] of the x86-64 table only.
const METADATA_SYSCALLS_X86_64: &[&str] =
    &["chmod", "chown", "lchown", "utime", "utimes", "futimesat"];

/// [`METADATA_SYSCALLS`] newer than `seccompiler`'s table, by number (the same on every
/// architecture since the table was unified at 424): `setxattrat`, `removexattrat` (Linux 6.13).
const METADATA_SYSCALLS_BY_NUMBER: &[(&str, u32)] = &[("setxattrat", 463), ("removexattrat", 466)];

/// The flags of `clone` that create namespaces: refused (`unshare` and `setns` are too), since a
/// new user namespace hands the process capabilities inside it and widens the kernel's attack
/// surface. `clone3` passes its flags in memory the filter cannot read, so it is refused with
/// `ENOSYS`, on which the C library falls back to `clone`.
const NAMESPACE_FLAGS: &[(&str, u32)] = &[
    ("CLONE_NEWNS", 0x0002_0000),
    ("CLONE_NEWCGROUP", 0x0200_0000),
    ("CLONE_NEWUTS", 0x0400_0000),
    ("CLONE_NEWIPC", 0x0800_0000),
    ("CLONE_NEWUSER", 0x1000_0000),
    ("CLONE_NEWPID", 0x2000_0000),
    ("CLONE_NEWNET", 0x4000_0000),
];

/// Calls that act on another process of the same user when given its id, where `0` means the
/// caller (and the argument that holds the id): they are refused for any other id. Landlock's
/// scopes cover signals only; with these a confined process could kill (`prlimit` of
/// `RLIMIT_CPU`), starve or slow its user's other processes.
const OWN_PROCESS_ONLY: &[(&str, u8)] = &[
    ("prlimit64", 0),
    ("sched_setaffinity", 0),
    ("sched_setscheduler", 0),
    ("sched_setparam", 0),
    ("sched_setattr", 0),
    ("migrate_pages", 0),
    ("move_pages", 0),
    // `which` (0: a process; a group or the whole user otherwise), then `who`.
    ("setpriority", 0),
    ("setpriority", 1),
];

/// `ioprio_set(which, who, …)`: `IOPRIO_WHO_PROCESS` (1) and `who` 0 only.
const IOPRIO_WHO_PROCESS: u32 = 1;

/// The `ioctl`s that change a file's flags (immutable, append-only, no-dump, …), extended
/// attributes of the XFS kind, or version: metadata Landlock has no right for, like `chmod`.
const METADATA_IOCTLS: &[(&str, u32)] = &[
    ("FS_IOC_SETFLAGS", 0x4008_6602),
    ("FS_IOC32_SETFLAGS", 0x4004_6602),
    ("FS_IOC_FSSETXATTR", 0x401c_5820),
    ("FS_IOC_SETVERSION", 0x4008_7602),
    ("FS_IOC32_SETVERSION", 0x4004_7602),
];

/// The set-user-ID and set-group-ID bits, refused in the mode of a file or directory being
/// created (`open`, `openat`, `creat`, `mkdir`, `mknod` and their `…at` forms; `openat2` passes
/// its mode in memory the filter cannot read): the `chmod` refusal would otherwise be had at
/// creation.
const SET_ID_BITS: &[u32] = &[0o4000, 0o2000];

/// The calls creating a file with a mode, and the argument holding it; `legacy`: of the x86-64
/// table only.
const CREATE_MODES: &[(&str, u8, bool)] = &[
    ("openat", 3, false),
    ("mkdirat", 2, false),
    ("mknodat", 2, false),
    ("open", 2, true),
    ("creat", 1, true),
    ("mkdir", 1, true),
    ("mknod", 1, true),
];

const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

const AF_INET: u32 = 2;
const AF_INET6: u32 = 10;
const SOCK_STREAM: u32 = 1;
const SOCK_DGRAM: u32 = 2;
/// The bits of `socket`'s type argument that name the type (the rest are `SOCK_NONBLOCK` and
/// `SOCK_CLOEXEC`).
const SOCK_TYPE_MASK: u32 = 0xf;
const IPPROTO_TCP: u32 = 6;
const IPPROTO_UDP: u32 = 17;

/// A comparison of one argument of a call, on its low 32 bits: every argument compared is an
/// `int`, or `clone`'s flags, of which the kernel reads 32 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq(u32),
    Ne(u32),
    Lt(u32),
    Gt(u32),
    /// `arg & mask == value`.
    MaskedEq {
        mask: u32,
        value: u32,
    },
}

/// One refusal: `call` fails with `errno` when every condition holds (with none: always).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub call: &'static str,
    /// The call's number, for calls newer than `seccompiler`'s table.
    pub number: Option<u32>,
    pub args: Vec<(u8, Cmp)>,
    pub errno: u32,
}

impl Refusal {
    fn always(call: &'static str, errno: u32) -> Self {
        Self {
            call,
            number: None,
            args: Vec::new(),
            errno,
        }
    }

    fn when(call: &'static str, args: Vec<(u8, Cmp)>) -> Self {
        Self {
            call,
            number: None,
            args,
            errno: EPERM,
        }
    }
}

/// What the seccomp filter lets a confined process do, beyond what every server may: derived by
/// [`Sandbox`](super::Sandbox) from what the server declares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyscallFilter {
    /// Run programs (`execve`).
    pub exec: bool,
    /// Create TCP sockets (IPv4 and IPv6 streams, protocol TCP): to listen or connect on the
    /// ports Landlock allows.
    pub tcp: bool,
    /// Create UDP sockets (IPv4 and IPv6 datagrams, protocol UDP): for the name resolver only.
    pub udp: bool,
    /// Call `listen`: only for a server that binds its listeners after confinement. `listen`
    /// on a socket that was not bound takes an ephemeral port, which Landlock's bind rules do
    /// not check, so a server that opens its listeners before confinement refuses it.
    pub listen: bool,
    /// Change files' modes, owners, times and extended attributes.
    pub file_metadata: bool,
}

impl SyscallFilter {
    /// Every refusal, in the order the filter and the profile list them; `legacy`: with the
    /// calls of the x86-64 table that newer architectures lack (the profile names them for
    /// every architecture, since runtimes skip the names an architecture lacks).
    pub(crate) fn refusals(&self, legacy: bool) -> Vec<Refusal> {
        let exec_calls = if self.exec { &[][..] } else { EXEC_SYSCALLS };
        let mut refusals: Vec<Refusal> = DENIED_SYSCALLS
            .iter()
            .chain(exec_calls)
            .map(|call| Refusal::always(call, EPERM))
            .collect();
        if !self.file_metadata {
            let legacy_calls = match legacy {
                true => METADATA_SYSCALLS_X86_64,
                false => &[][..],
            };
            refusals.extend(
                METADATA_SYSCALLS
                    .iter()
                    .chain(legacy_calls)
                    .map(|call| Refusal::always(call, EPERM)),
            );
            refusals.extend(
                METADATA_IOCTLS
                    .iter()
                    .map(|&(_, cmd)| Refusal::when("ioctl", vec![(1, Cmp::Eq(cmd))])),
            );
            for &(call, mode, legacy_only) in CREATE_MODES {
                if legacy_only && !legacy {
                    continue;
                }
                refusals.extend(SET_ID_BITS.iter().map(|&bit| {
                    Refusal::when(
                        call,
                        vec![(
                            mode,
                            Cmp::MaskedEq {
                                mask: bit,
                                value: bit,
                            },
                        )],
                    )
                }));
            }
            refusals.extend(
                METADATA_SYSCALLS_BY_NUMBER
                    .iter()
                    .map(|&(call, number)| Refusal {
                        number: Some(number),
                        ..Refusal::always(call, EPERM)
                    }),
            );
        }
        refusals.extend(NAMESPACE_FLAGS.iter().map(|&(_, flag)| {
            Refusal::when(
                "clone",
                vec![(
                    0,
                    Cmp::MaskedEq {
                        mask: flag,
                        value: flag,
                    },
                )],
            )
        }));
        refusals.push(Refusal::always("clone3", ENOSYS));
        refusals.extend(
            OWN_PROCESS_ONLY
                .iter()
                .map(|&(call, arg)| Refusal::when(call, vec![(arg, Cmp::Ne(0))])),
        );
        refusals.push(Refusal::when(
            "ioprio_set",
            vec![(0, Cmp::Ne(IOPRIO_WHO_PROCESS))],
        ));
        refusals.push(Refusal::when("ioprio_set", vec![(1, Cmp::Ne(0))]));
        if !self.listen {
            refusals.push(Refusal::always("listen", EPERM));
        }
        refusals.extend(self.socket_refusals());
        refusals
    }

    /// `socket` is refused unless it asks for what the server declared: an IPv4 or IPv6 TCP
    /// stream, or (for the resolver) a UDP datagram. Every other family (unix, netlink, packet,
    /// vsock, …), type (raw, seqpacket, …) and protocol (MPTCP, SCTP, …) is refused, which
    /// Landlock's TCP-only network rules cannot do. Each refusal compares each argument once,
    /// which is what container runtimes' profiles can state too.
    fn socket_refusals(&self) -> Vec<Refusal> {
        let socket = |args: Vec<(u8, Cmp)>| Refusal::when("socket", args);
        let mut allowed: Vec<(u32, u32)> = Vec::new();
        if self.tcp {
            allowed.push((SOCK_STREAM, IPPROTO_TCP));
        }
        if self.udp {
            allowed.push((SOCK_DGRAM, IPPROTO_UDP));
        }
        if allowed.is_empty() {
            return vec![socket(Vec::new())];
        }
        // Families other than AF_INET (2) and AF_INET6 (10): AF_UNIX (1) is below the first.
        let mut refusals = vec![socket(vec![(0, Cmp::Lt(AF_INET))])];
        refusals.extend((AF_INET + 1..AF_INET6).map(|f| socket(vec![(0, Cmp::Eq(f))])));
        refusals.push(socket(vec![(0, Cmp::Gt(AF_INET6))]));
        for family in [AF_INET, AF_INET6] {
            for kind in (0..=SOCK_TYPE_MASK).filter(|k| !allowed.iter().any(|(t, _)| t == k)) {
                refusals.push(socket(vec![(0, Cmp::Eq(family)), (1, masked_type(kind))]));
            }
            // Protocol 0 (the type's default) or the type's own.
            for &(kind, protocol) in &allowed {
                let with =
                    |cmp| socket(vec![(0, Cmp::Eq(family)), (1, masked_type(kind)), (2, cmp)]);
                refusals.extend((1..protocol).map(|p| with(Cmp::Eq(p))));
                refusals.push(with(Cmp::Gt(protocol)));
            }
        }
        refusals
    }
}

fn masked_type(kind: u32) -> Cmp {
    Cmp::MaskedEq {
        mask: SOCK_TYPE_MASK,
        value: kind,
    }
}

/// A seccomp profile for container runtimes (Docker's and Podman's `--security-opt
/// seccomp=…`, Kubernetes' `Localhost` profiles) refusing what the in-process `filter` refuses,
/// with the same errors, and allowing the rest.
pub fn seccomp_profile(filter: &SyscallFilter) -> Value {
    let op = |cmp: Cmp| match cmp {
        Cmp::Eq(v) => ("SCMP_CMP_EQ", u64::from(v), 0),
        Cmp::Ne(v) => ("SCMP_CMP_NE", u64::from(v), 0),
        Cmp::Lt(v) => ("SCMP_CMP_LT", u64::from(v), 0),
        Cmp::Gt(v) => ("SCMP_CMP_GT", u64::from(v), 0),
        Cmp::MaskedEq { mask, value } => ("SCMP_CMP_MASKED_EQ", u64::from(mask), u64::from(value)),
    };
    let refusals = filter.refusals(true);
    // The unconditional refusals in one entry per error, the rest one entry each.
    let mut syscalls: Vec<Value> = Vec::new();
    for errno in [EPERM, ENOSYS] {
        let names: Vec<&str> = refusals
            .iter()
            .filter(|r| r.args.is_empty() && r.errno == errno)
            .map(|r| r.call)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        syscalls.push(json!({
            "names": names,
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": errno,
        }));
    }
    for refusal in refusals.iter().filter(|r| !r.args.is_empty()) {
        let args: Vec<Value> = refusal
            .args
            .iter()
            .map(|&(index, cmp)| {
                let (op, value, value_two) = op(cmp);
                json!({ "index": index, "value": value, "valueTwo": value_two, "op": op })
            })
            .collect();
        syscalls.push(json!({
            "names": [refusal.call],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": refusal.errno,
            "args": args,
        }));
    }
    // Keys sorted whatever serde_json's `preserve_order` (a dependency may turn it on): the
    // committed profile is diffed.
    crate::manifest::sorted(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"],
        "syscalls": syscalls,
    }))
}

/// The in-process filter: one BPF program per error (a seccomp filter has one action for its
/// matches), and one for the calls named by number.
#[cfg(target_os = "linux")]
pub(crate) fn compile(
    filter: &SyscallFilter,
    arch: seccompiler::TargetArch,
) -> Result<Vec<seccompiler::BpfProgram>, String> {
    use seccompiler::{SeccompAction, SeccompRule};

    let refusals = filter.refusals(cfg!(target_arch = "x86_64"));
    let mut programs = Vec::new();
    for errno in [EPERM, ENOSYS] {
        let rules: Vec<Value> = refusals
            .iter()
            .filter(|r| r.errno == errno && r.number.is_none())
            .map(|r| {
                let args: Vec<Value> = r
                    .args
                    .iter()
                    .map(|&(index, cmp)| {
                        let (op, val) = match cmp {
                            Cmp::Eq(v) => (json!("eq"), v),
                            Cmp::Ne(v) => (json!("ne"), v),
                            Cmp::Lt(v) => (json!("lt"), v),
                            Cmp::Gt(v) => (json!("gt"), v),
                            Cmp::MaskedEq { mask, value } => (json!({ "masked_eq": mask }), value),
                        };
                        json!({ "index": index, "type": "dword", "op": op, "val": val })
                    })
                    .collect();
                match args.is_empty() {
                    true => json!({ "syscall": r.call }),
                    false => json!({ "syscall": r.call, "args": args }),
                }
            })
            .collect();
        let json = json!({
            "main": {
                "mismatch_action": "allow",
                "filter_action": { "errno": errno },
                "filter": rules,
            }
        });
        let mut map = seccompiler::compile_from_json(json.to_string().as_bytes(), arch)
            .map_err(|e| e.to_string())?;
        programs.push(map.remove("main").ok_or("the filter was not compiled")?);
    }
    // Unconditional (an empty chain matches every call).
    let by_number: std::collections::BTreeMap<i64, Vec<SeccompRule>> = refusals
        .iter()
        .filter_map(|r| r.number)
        .map(|number| (i64::from(number), Vec::new()))
        .collect();
    if !by_number.is_empty() {
        let filter = seccompiler::SeccompFilter::new(
            by_number,
            SeccompAction::Allow,
            SeccompAction::Errno(EPERM),
            arch,
        )
        .map_err(|e| e.to_string())?;
        programs.push(
            filter
                .try_into()
                .map_err(|e: seccompiler::BackendError| e.to_string())?,
        );
    }
    Ok(programs)
}

#[cfg(test)]
mod tests;
