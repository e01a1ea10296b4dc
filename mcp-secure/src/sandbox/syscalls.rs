//! The system calls an MCP server never needs: one list, from which both the in-process seccomp
//! filter and the container runtimes' seccomp profile are made, so the two cannot drift.

use serde_json::{Value, json};

/// Refused with `EPERM` by the seccomp filter (and by [`seccomp_profile`]): debugging and
/// reading other processes, mounting and changing namespaces, loading kernel code (modules,
/// BPF, kexec), the kernel keyring, userfaultfd and perf events (common exploit aids), and
/// changing the system (clock, swap, reboot, accounting).
pub const DENIED_SYSCALLS: &[&str] = &[
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
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

/// The calls refused, `exec` saying whether programs may run.
pub(crate) fn denied(exec: bool) -> impl Iterator<Item = &'static str> {
    let exec_calls = if exec { &[][..] } else { EXEC_SYSCALLS };
    DENIED_SYSCALLS.iter().chain(exec_calls).copied()
}

/// A seccomp profile for container runtimes (Docker's and Podman's `--security-opt
/// seccomp=…`, Kubernetes' `Localhost` profiles) refusing the same calls as the in-process
/// filter, with `EPERM`, and allowing the rest.
pub fn seccomp_profile(exec: bool) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"],
        "syscalls": [{
            "names": denied(exec).collect::<Vec<_>>(),
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": 1,
        }],
    })
}

/// The in-process filter in `seccompiler`'s JSON form: the same calls, `EPERM`, the rest
/// allowed.
#[cfg(target_os = "linux")]
pub(crate) fn seccompiler_json(exec: bool) -> String {
    let filter: Vec<Value> = denied(exec)
        .map(|name| json!({ "syscall": name }))
        .collect();
    json!({
        "main": {
            "mismatch_action": "allow",
            "filter_action": { "errno": 1 },
            "filter": filter,
        }
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_and_the_filter_refuse_the_same_calls() {
        let profile = seccomp_profile(false);
        let names: Vec<&str> = profile["syscalls"][0]["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert!(names.contains(&"execve") && names.contains(&"ptrace"));
        assert_eq!(names, denied(false).collect::<Vec<_>>());
        assert!(
            !seccomp_profile(true)["syscalls"][0]["names"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n == "execve")
        );
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "each call once");
    }

    /// Every name is one seccompiler knows on this architecture (it refuses unknown names).
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    #[test]
    fn every_refused_call_compiles() {
        let arch = std::env::consts::ARCH.try_into().unwrap();
        for exec in [false, true] {
            let filters =
                seccompiler::compile_from_json(seccompiler_json(exec).as_bytes(), arch).unwrap();
            assert!(filters.contains_key("main"));
        }
    }
}
