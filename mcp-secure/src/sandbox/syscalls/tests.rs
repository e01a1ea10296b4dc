use super::*;

#[test]
fn the_profile_and_the_filter_refuse_the_same_calls() {
    for filter in filters() {
        let profile = seccomp_profile(&filter);
        let entries = profile["syscalls"].as_array().unwrap();
        let unconditional: std::collections::BTreeSet<(&str, u64)> = entries
            .iter()
            .filter(|e| e.get("args").is_none())
            .flat_map(|e| {
                let errno = e["errnoRet"].as_u64().unwrap();
                e["names"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(move |n| (n.as_str().unwrap(), errno))
            })
            .collect();
        let refusals = filter.refusals(true);
        for r in refusals.iter().filter(|r| r.args.is_empty()) {
            assert!(
                unconditional.contains(&(r.call, u64::from(r.errno))),
                "{} in the profile",
                r.call
            );
        }
        let conditional = entries.iter().filter(|e| e.get("args").is_some()).count();
        assert_eq!(
            conditional,
            refusals.iter().filter(|r| !r.args.is_empty()).count()
        );
        assert_eq!(
            unconditional.contains(&("execve", 1)),
            !filter.exec,
            "{filter:?}"
        );
        assert_eq!(
            unconditional.contains(&("fchmodat", 1)),
            !filter.file_metadata
        );
        assert!(unconditional.contains(&("clone3", 38)));
        assert_eq!(unconditional.contains(&("listen", 1)), !filter.listen);
    }
}

/// Every combination a server may declare.
fn filters() -> Vec<SyscallFilter> {
    let mut all = Vec::new();
    for bits in 0..32u8 {
        all.push(SyscallFilter {
            exec: bits & 1 != 0,
            tcp: bits & 2 != 0,
            udp: bits & 4 != 0,
            file_metadata: bits & 8 != 0,
            listen: bits & 16 != 0,
        });
    }
    all
}

#[test]
fn each_call_is_refused_once() {
    let refusals = SyscallFilter::default().refusals(true);
    let mut unconditional: Vec<&str> = refusals
        .iter()
        .filter(|r| r.args.is_empty())
        .map(|r| r.call)
        .collect();
    let before = unconditional.len();
    unconditional.sort_unstable();
    unconditional.dedup();
    assert_eq!(unconditional.len(), before);
}

/// What the kernel runs: the compiled programs, interpreted as the kernel's classic BPF would
/// for one system call, so that the filter's meaning (not only its list) is what is tested.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod semantics {
    use super::super::*;
    use super::filters;
    use seccompiler::{BpfProgram, sock_filter};

    const ALLOW: u32 = 0x7fff_0000;
    const ERRNO: u32 = 0x0005_0000;
    #[cfg(target_arch = "x86_64")]
    const AUDIT_ARCH: u32 = 0xc000_003e;
    #[cfg(target_arch = "aarch64")]
    const AUDIT_ARCH: u32 = 0xc000_00b7;

    /// `struct seccomp_data`: the call's number, the architecture, and six arguments.
    fn data(nr: i64, args: [u64; 6]) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend((nr as i32).to_le_bytes());
        bytes.extend(AUDIT_ARCH.to_le_bytes());
        bytes.extend(0u64.to_le_bytes());
        for arg in args {
            bytes.extend(arg.to_le_bytes());
        }
        bytes
    }

    /// Runs one program on `data` as the kernel's interpreter does (the instructions
    /// seccompiler emits: absolute word loads, AND, jumps on constants, returns).
    fn run(program: &[sock_filter], data: &[u8]) -> u32 {
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let insn = &program[pc];
            let k = insn.k;
            match insn.code & 0x07 {
                0x00 => {
                    assert_eq!(insn.code, 0x20, "only absolute word loads");
                    let at = k as usize;
                    acc = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
                    pc += 1;
                }
                0x04 => {
                    assert_eq!(insn.code & 0xf0, 0x50, "only AND");
                    acc &= k;
                    pc += 1;
                }
                0x05 => {
                    let taken = match insn.code & 0xf0 {
                        0x00 => {
                            pc += 1 + k as usize;
                            continue;
                        }
                        0x10 => acc == k,
                        0x20 => acc > k,
                        0x30 => acc >= k,
                        0x40 => acc & k != 0,
                        op => panic!("jump {op:#x}"),
                    };
                    pc += 1 + usize::from(if taken { insn.jt } else { insn.jf });
                }
                0x06 => return k,
                class => panic!("class {class:#x}"),
            }
        }
    }

    /// The outcome of a call under every program (the kernel keeps the most restrictive).
    fn outcome(programs: &[BpfProgram], nr: i64, args: [u64; 6]) -> u32 {
        let data = data(nr, args);
        programs
            .iter()
            .map(|p| run(p, &data))
            .min_by_key(|&ret| (ret & 0xffff_0000) as i32)
            .unwrap()
    }

    fn compiled(filter: &SyscallFilter) -> Vec<BpfProgram> {
        compile(filter, std::env::consts::ARCH.try_into().unwrap()).unwrap()
    }

    fn socket(programs: &[BpfProgram], family: u64, kind: u64, protocol: u64) -> u32 {
        outcome(
            programs,
            libc::SYS_socket,
            [family, kind, protocol, 0, 0, 0],
        )
    }

    #[test]
    fn sockets_are_created_only_as_declared() {
        let families = (0..64).chain([128, 255, 0xffff, u32::MAX as u64]);
        let protocols: Vec<u64> = (0..=20)
            .chain([41, 58, 132, 136, 255, 256, 262, 0xffff, u32::MAX as u64])
            .collect();
        let flags = [0, 0x800, 0x80000, 0x80800];
        for filter in filters()
            .into_iter()
            .filter(|f| !f.exec && !f.file_metadata)
        {
            let programs = compiled(&filter);
            for family in families.clone() {
                for kind in 0..16 {
                    for &protocol in &protocols {
                        let inet = family == 2 || family == 10;
                        let allowed = inet
                            && ((filter.tcp && kind == 1 && (protocol == 0 || protocol == 6))
                                || (filter.udp && kind == 2 && (protocol == 0 || protocol == 17)));
                        let want = if allowed { ALLOW } else { ERRNO | 1 };
                        for flag in flags {
                            assert_eq!(
                                socket(&programs, family, kind | flag, protocol),
                                want,
                                "{filter:?}: socket({family}, {kind}|{flag:#x}, {protocol})"
                            );
                        }
                    }
                }
            }
        }
    }

    /// The kernel refuses a program over 4096 instructions (`BPF_MAXINSNS`).
    #[test]
    fn the_programs_fit_the_kernels_limit() {
        for filter in filters() {
            let lengths: Vec<usize> = compiled(&filter).iter().map(Vec::len).collect();
            println!("{filter:?}: {lengths:?} instructions");
            assert!(
                lengths.iter().all(|&n| n <= 4096),
                "{filter:?}: {lengths:?}"
            );
        }
    }

    #[test]
    fn clone_makes_threads_and_processes_but_no_namespaces() {
        let programs = compiled(&SyscallFilter::default());
        let clone = |flags: u64| outcome(&programs, libc::SYS_clone, [flags, 0, 0, 0, 0, 0]);
        // What the C library passes for a thread, and for fork.
        assert_eq!(clone(0x003d_0f00), ALLOW, "a thread");
        assert_eq!(clone(0x0120_0011), ALLOW, "fork");
        for &(name, flag) in NAMESPACE_FLAGS {
            assert_eq!(clone(flag as u64), ERRNO | 1, "{name}");
            assert_eq!(
                clone(0x003d_0f00 | flag as u64),
                ERRNO | 1,
                "a thread with {name}"
            );
        }
        assert_eq!(
            outcome(&programs, libc::SYS_clone3, [0; 6]),
            ERRNO | 38,
            "clone3 is ENOSYS, so the C library falls back to clone"
        );
    }

    #[test]
    fn metadata_changes_are_refused_unless_declared() {
        let calls = [
            libc::SYS_fchmod,
            libc::SYS_fchmodat,
            libc::SYS_fchown,
            libc::SYS_fchownat,
            libc::SYS_utimensat,
            libc::SYS_fsetxattr,
            libc::SYS_setxattr,
            libc::SYS_removexattr,
            463,
            466,
        ];
        let refused = compiled(&SyscallFilter::default());
        let declared = compiled(&SyscallFilter {
            file_metadata: true,
            ..Default::default()
        });
        for nr in calls {
            assert_eq!(outcome(&refused, nr, [0; 6]), ERRNO | 1, "call {nr}");
            assert_eq!(outcome(&declared, nr, [0; 6]), ALLOW, "call {nr}");
        }
        #[cfg(target_arch = "x86_64")]
        for nr in [libc::SYS_chmod, libc::SYS_chown, libc::SYS_lchown] {
            assert_eq!(outcome(&refused, nr, [0; 6]), ERRNO | 1, "call {nr}");
        }
    }

    #[test]
    fn other_processes_are_out_of_reach_and_the_process_itself_is_not() {
        let programs = compiled(&SyscallFilter::default());
        let call = |nr, args: [u64; 6]| outcome(&programs, nr, args);
        for nr in [
            libc::SYS_prlimit64,
            libc::SYS_sched_setaffinity,
            libc::SYS_sched_setscheduler,
            libc::SYS_sched_setparam,
            libc::SYS_sched_setattr,
            libc::SYS_migrate_pages,
            libc::SYS_move_pages,
        ] {
            assert_eq!(call(nr, [0, 1, 0, 0, 0, 0]), ALLOW, "call {nr} on itself");
            assert_eq!(
                call(nr, [4242, 1, 0, 0, 0, 0]),
                ERRNO | 1,
                "call {nr} on another"
            );
        }
        // setpriority(which, who, prio) and ioprio_set(which, who, prio).
        assert_eq!(call(libc::SYS_setpriority, [0, 0, 10, 0, 0, 0]), ALLOW);
        assert_eq!(
            call(libc::SYS_setpriority, [0, 4242, 10, 0, 0, 0]),
            ERRNO | 1
        );
        assert_eq!(
            call(libc::SYS_setpriority, [2, 0, 19, 0, 0, 0]),
            ERRNO | 1,
            "PRIO_USER"
        );
        assert_eq!(
            call(libc::SYS_setpriority, [1, 0, 19, 0, 0, 0]),
            ERRNO | 1,
            "PRIO_PGRP"
        );
        assert_eq!(call(libc::SYS_ioprio_set, [1, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(call(libc::SYS_ioprio_set, [1, 4242, 0, 0, 0, 0]), ERRNO | 1);
        assert_eq!(
            call(libc::SYS_ioprio_set, [3, 0, 0, 0, 0, 0]),
            ERRNO | 1,
            "a user"
        );
        for nr in [libc::SYS_pidfd_getfd, libc::SYS_process_madvise] {
            assert_eq!(call(nr, [3, 0, 0, 0, 0, 0]), ERRNO | 1, "call {nr}");
        }
    }

    #[test]
    fn file_flags_and_set_id_bits_are_refused_unless_declared() {
        let refused = compiled(&SyscallFilter::default());
        let declared = compiled(&SyscallFilter {
            file_metadata: true,
            ..Default::default()
        });
        for cmd in [0x4008_6602u64, 0x4004_6602, 0x401c_5820, 0x4008_7602] {
            let args = [3, cmd, 0, 0, 0, 0];
            assert_eq!(
                outcome(&refused, libc::SYS_ioctl, args),
                ERRNO | 1,
                "{cmd:#x}"
            );
            assert_eq!(outcome(&declared, libc::SYS_ioctl, args), ALLOW, "{cmd:#x}");
        }
        // FIONBIO, TCGETS, FS_IOC_GETFLAGS: what a process does with its own descriptors.
        for cmd in [0x5421u64, 0x5401, 0x8008_6601] {
            assert_eq!(
                outcome(&refused, libc::SYS_ioctl, [3, cmd, 0, 0, 0, 0]),
                ALLOW
            );
        }
        let create = 0o100 | 0o1; // O_CREAT | O_WRONLY
        let openat = |programs: &[BpfProgram], mode: u64| {
            outcome(programs, libc::SYS_openat, [3, 0, create, mode, 0, 0])
        };
        for mode in [0o4755, 0o2755, 0o6777, 0o4000] {
            assert_eq!(openat(&refused, mode), ERRNO | 1, "{mode:o}");
            assert_eq!(openat(&declared, mode), ALLOW, "{mode:o}");
        }
        for mode in [0o644, 0o600, 0o1777, 0o777] {
            assert_eq!(openat(&refused, mode), ALLOW, "{mode:o}");
        }
        let mkdirat = |mode| outcome(&refused, libc::SYS_mkdirat, [3, 0, mode, 0, 0, 0]);
        assert_eq!(mkdirat(0o2775), ERRNO | 1);
        assert_eq!(mkdirat(0o755), ALLOW);
    }

    #[test]
    fn listen_only_when_listeners_are_bound_after_confinement() {
        let opened_before = compiled(&SyscallFilter {
            tcp: true,
            ..Default::default()
        });
        let bound_after = compiled(&SyscallFilter {
            tcp: true,
            listen: true,
            ..Default::default()
        });
        assert_eq!(
            outcome(&opened_before, libc::SYS_listen, [3, 128, 0, 0, 0, 0]),
            ERRNO | 1
        );
        assert_eq!(
            outcome(&bound_after, libc::SYS_listen, [3, 128, 0, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(
            outcome(&opened_before, libc::SYS_accept4, [3, 0, 0, 0, 0, 0]),
            ALLOW
        );
    }

    #[test]
    fn what_a_server_does_is_allowed_and_what_it_never_does_is_refused() {
        let programs = compiled(&SyscallFilter {
            tcp: true,
            ..Default::default()
        });
        for nr in [
            libc::SYS_read,
            libc::SYS_write,
            libc::SYS_openat,
            libc::SYS_connect,
            libc::SYS_accept4,
            libc::SYS_futex,
            libc::SYS_epoll_pwait,
            libc::SYS_getrandom,
        ] {
            assert_eq!(outcome(&programs, nr, [0; 6]), ALLOW, "call {nr}");
        }
        for nr in [
            libc::SYS_listen,
            libc::SYS_ptrace,
            libc::SYS_execve,
            libc::SYS_unshare,
            libc::SYS_io_uring_setup,
            libc::SYS_bpf,
        ] {
            assert_eq!(outcome(&programs, nr, [0; 6]), ERRNO | 1, "call {nr}");
        }
    }
}
