"""A seccomp deny-list for the jail, as a classic BPF program assembled here (no libseccomp).

bwrap loads it with ``--seccomp FD`` right before it starts the worker. Denied: debugging other
processes (ptrace, process_vm_*), mounting and new namespaces (mount family, unshare, setns,
clone with namespace flags; clone3 answers ENOSYS so glibc falls back to clone, whose flags we
can inspect), and kernel attack surface the code never needs (bpf, keyrings, kexec, modules,
perf events, userfaultfd, open_by_handle_at). Everything else is allowed: this is defence in
depth behind the namespaces and the uid drop, not the whole wall.
"""

from __future__ import annotations

import errno
import platform
import struct

# struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000

# struct seccomp_data offsets: nr, arch, instruction_pointer, args[6]
_OFF_NR = 0
_OFF_ARCH = 4
_OFF_ARG0_LOW = 16  # little-endian: the low 32 bits of args[0] (clone's flags)

_CLONE_NAMESPACE_FLAGS = (
    0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)

_X32_SYSCALL_BIT = 0x40000000

# arch: (AUDIT_ARCH value, clone, clone3, denied syscall numbers)
_ARCHES: dict[str, tuple[int, int, int, dict[str, int]]] = {
    "x86_64": (0xC000003E, 56, 435, {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
        "fspick": 433, "mount_setattr": 442, "unshare": 272, "setns": 308,
        "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
        "add_key": 248, "request_key": 249, "keyctl": 250,
        "kexec_load": 246, "kexec_file_load": 320,
        "init_module": 175, "finit_module": 313, "delete_module": 176,
        "open_by_handle_at": 304, "acct": 163, "swapon": 167, "swapoff": 168, "reboot": 169,
    }),
    "aarch64": (0xC00000B7, 220, 435, {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
        "fspick": 433, "mount_setattr": 442, "unshare": 97, "setns": 268,
        "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
        "add_key": 217, "request_key": 218, "keyctl": 219,
        "kexec_load": 104, "kexec_file_load": 294,
        "init_module": 105, "finit_module": 273, "delete_module": 106,
        "open_by_handle_at": 265, "acct": 89, "swapon": 224, "swapoff": 225, "reboot": 142,
    }),
}


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def supported() -> bool:
    return platform.machine() in _ARCHES


def deny_list_program(machine: str | None = None) -> bytes:
    """The BPF program bwrap expects on its ``--seccomp`` fd, for this machine's architecture."""
    arch, clone, clone3, denied = _ARCHES[machine or platform.machine()]
    numbers = sorted(set(denied.values()))
    x32_check = 1 if arch == 0xC000003E else 0
    # Layout: [ld arch, jeq arch, ret deny, ld nr, (x32 check), jeq denied..., jeq clone,
    #          jeq clone3, ret allow, ld arg0, jset ns-flags, ret allow, ret ENOSYS, ret EPERM]
    checks_start = 4 + x32_check
    clone_at = checks_start + len(numbers)
    allow_at = clone_at + 2
    clone_check_at = allow_at + 1
    enosys_at = clone_check_at + 3
    eperm_at = enosys_at + 1

    def to(target: int, index: int) -> int:
        offset = target - index - 1
        if not 0 <= offset <= 255:
            raise ValueError("seccomp program too long for a BPF jump")
        return offset

    prog = [
        _insn(_LD_W_ABS, 0, 0, _OFF_ARCH),
        _insn(_JEQ_K, 1, 0, arch),
        _insn(_RET_K, 0, 0, _RET_ERRNO | errno.EPERM),  # another ABI (e.g. 32-bit calls)
        _insn(_LD_W_ABS, 0, 0, _OFF_NR),
    ]
    if x32_check:
        prog.append(_insn(_JGE_K, to(eperm_at, len(prog)), 0, _X32_SYSCALL_BIT))
    for number in numbers:
        prog.append(_insn(_JEQ_K, to(eperm_at, len(prog)), 0, number))
    prog.append(_insn(_JEQ_K, to(clone_check_at, len(prog)), 0, clone))
    prog.append(_insn(_JEQ_K, to(enosys_at, len(prog)), 0, clone3))
    prog.append(_insn(_RET_K, 0, 0, _RET_ALLOW))
    prog.append(_insn(_LD_W_ABS, 0, 0, _OFF_ARG0_LOW))
    prog.append(_insn(_JSET_K, to(eperm_at, len(prog)), 0, _CLONE_NAMESPACE_FLAGS))
    prog.append(_insn(_RET_K, 0, 0, _RET_ALLOW))
    prog.append(_insn(_RET_K, 0, 0, _RET_ERRNO | errno.ENOSYS))
    prog.append(_insn(_RET_K, 0, 0, _RET_ERRNO | errno.EPERM))
    assert len(prog) == eperm_at + 1
    return b"".join(prog)
