"""The jail's seccomp filter, as a classic BPF program assembled here (no libseccomp).

bwrap loads it with ``--seccomp FD`` right before it starts the worker. The policy:

- Socket families are an allow-list: ``socket()`` may create AF_UNIX, AF_INET and AF_INET6
  sockets (the last two only ever see the jail's empty network namespace), ``socketpair()``
  AF_UNIX ones; anything else (AF_VSOCK, AF_NETLINK, AF_PACKET, AF_ALG, ...) fails with
  EAFNOSUPPORT. vsock's port space is the host's, and netlink reaches host device events.
- System calls added since the interface settled (numbers 424 and up, the same on every
  architecture) are denied by default with ENOSYS, so libraries fall back; only those a Python
  program uses are allowed (pidfd_open, close_range, openat2, faccessat2, epoll_pwait2, futex
  variants, fchmodat2, map_shadow_stack, mseal, ...). io_uring, memfd_secret, the new mount
  API, landlock, listmount/statmount and the LSM calls are therefore out.
- Older calls with no use to a Python program and a history of kernel bugs fail with EPERM:
  debugging other processes (ptrace, process_vm_*, kcmp), mounting and namespaces (mount
  family, unshare, setns, clone with namespace flags; clone3 answers ENOSYS so glibc falls
  back to clone, whose flags we can inspect), bpf, perf events, userfaultfd, keyrings, kexec,
  modules, modify_ldt, iopl/ioperm, handles (name_to_handle_at, open_by_handle_at), quotas,
  syslog, acct, swap, reboot, uselib, page migration of other processes, and ``personality``
  except its query and PER_LINUX (no turning address randomisation off).
- Any other architecture's calling convention (32-bit calls, x32) fails with EPERM.

This is defence in depth behind the namespaces and the uid drop, not the whole wall.
"""

from __future__ import annotations

import errno
import os
import struct
from dataclasses import dataclass

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
_OFF_ARG0_LOW = 16  # little-endian: the low 32 bits of args[0]

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
AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10
_PERSONALITY_QUERY = 0xFFFFFFFF
_PER_LINUX = 0

# Calls numbered 424 and up are shared by all architectures. The ones allowed:
NEW_SYSCALLS_ALLOWED = {
    "pidfd_send_signal": 424, "pidfd_open": 434, "close_range": 436, "openat2": 437,
    "faccessat2": 439, "epoll_pwait2": 441, "futex_waitv": 449, "fchmodat2": 452,
    "map_shadow_stack": 453, "futex_wake": 454, "futex_wait": 455, "futex_requeue": 456,
    "mseal": 462,
}
_NEW_SYSCALLS_START = 424
_CLONE3 = 435


@dataclass(frozen=True, slots=True)
class Arch:
    audit: int  # AUDIT_ARCH_* value
    legacy_end: int  # numbers from here on are denied unless allowed above
    clone: int
    socket: int
    socketpair: int
    personality: int
    denied: dict[str, int]


_ARCHES: dict[str, Arch] = {
    "x86_64": Arch(0xC000003E, 335, clone=56, socket=41, socketpair=53, personality=135, denied={
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
        "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
        "unshare": 272, "setns": 308,
        "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
        "add_key": 248, "request_key": 249, "keyctl": 250,
        "kexec_load": 246, "kexec_file_load": 320,
        "init_module": 175, "finit_module": 313, "delete_module": 176,
        "name_to_handle_at": 303, "open_by_handle_at": 304, "acct": 163, "swapon": 167,
        "swapoff": 168, "reboot": 169, "modify_ldt": 154, "iopl": 172, "ioperm": 173,
        "syslog": 103, "quotactl": 179, "uselib": 134, "ustat": 136, "sysfs": 139,
        "_sysctl": 156, "lookup_dcookie": 212, "vhangup": 153, "migrate_pages": 256,
        "move_pages": 279, "fanotify_init": 300,
    }),
    "aarch64": Arch(0xC00000B7, 294, clone=220, socket=198, socketpair=199, personality=92,
                    denied={
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272,
        "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
        "unshare": 97, "setns": 268,
        "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
        "add_key": 217, "request_key": 218, "keyctl": 219,
        "kexec_load": 104, "kexec_file_load": 294,
        "init_module": 105, "finit_module": 273, "delete_module": 106,
        "name_to_handle_at": 264, "open_by_handle_at": 265, "acct": 89, "swapon": 224,
        "swapoff": 225, "reboot": 142, "syslog": 116, "quotactl": 60,
        "lookup_dcookie": 18, "vhangup": 58, "migrate_pages": 238, "move_pages": 239,
        "fanotify_init": 262,
    }),
}


def supported() -> bool:
    return os.uname().machine in _ARCHES  # as the platform module says, without its import


class _Assembler:
    """Straight-line BPF with forward jumps to named labels."""

    def __init__(self) -> None:
        self.insns: list[tuple[int, int | str, int | str, int]] = []
        self.labels: dict[str, int] = {}

    def emit(self, code: int, k: int, jt: int | str = 0, jf: int | str = 0) -> None:
        self.insns.append((code, jt, jf, k))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.insns)

    def ret(self, value: int) -> None:
        self.emit(_RET_K, value)

    def assemble(self) -> bytes:
        out = []
        for index, (code, jt, jf, k) in enumerate(self.insns):
            offsets = []
            for target in (jt, jf):
                offset = target if isinstance(target, int) else self.labels[target] - index - 1
                if not 0 <= offset <= 255:
                    raise ValueError("seccomp program too long for a BPF jump")
                offsets.append(offset)
            out.append(struct.pack("=HBBI", code, offsets[0], offsets[1], k))
        return b"".join(out)


def filter_program(machine: str | None = None) -> bytes:
    """The BPF program bwrap expects on its ``--seccomp`` fd, for this machine's architecture."""
    arch = _ARCHES[machine or os.uname().machine]
    asm = _Assembler()
    asm.emit(_LD_W_ABS, _OFF_ARCH)
    asm.emit(_JEQ_K, arch.audit, 1, 0)
    asm.ret(_RET_ERRNO | errno.EPERM)  # another ABI (e.g. 32-bit calls)
    asm.emit(_LD_W_ABS, _OFF_NR)
    if arch.audit == 0xC000003E:
        asm.emit(_JGE_K, _X32_SYSCALL_BIT, "eperm", 0)
    asm.emit(_JEQ_K, arch.socket, "socket", 0)
    asm.emit(_JEQ_K, arch.socketpair, "socketpair", 0)
    asm.emit(_JEQ_K, arch.personality, "personality", 0)
    asm.emit(_JEQ_K, arch.clone, "clone", 0)
    for number in sorted(set(arch.denied.values())):
        asm.emit(_JEQ_K, number, "eperm", 0)
    asm.emit(_JGE_K, arch.legacy_end, "new", 0)
    asm.ret(_RET_ALLOW)

    asm.label("new")  # deny by default: only the listed newer calls
    asm.emit(_JEQ_K, _CLONE3, "enosys", 0)
    for number in sorted(NEW_SYSCALLS_ALLOWED.values()):
        asm.emit(_JEQ_K, number, "allow", 0)
    asm.ret(_RET_ERRNO | errno.ENOSYS)

    asm.label("socket")
    asm.emit(_LD_W_ABS, _OFF_ARG0_LOW)
    for family in (AF_UNIX, AF_INET, AF_INET6):
        asm.emit(_JEQ_K, family, "allow", 0)
    asm.ret(_RET_ERRNO | errno.EAFNOSUPPORT)

    asm.label("socketpair")
    asm.emit(_LD_W_ABS, _OFF_ARG0_LOW)
    asm.emit(_JEQ_K, AF_UNIX, "allow", 0)
    asm.ret(_RET_ERRNO | errno.EAFNOSUPPORT)

    asm.label("personality")
    asm.emit(_LD_W_ABS, _OFF_ARG0_LOW)
    asm.emit(_JEQ_K, _PERSONALITY_QUERY, "allow", 0)
    asm.emit(_JEQ_K, _PER_LINUX, "allow", 0)
    asm.ret(_RET_ERRNO | errno.EPERM)

    asm.label("clone")
    asm.emit(_LD_W_ABS, _OFF_ARG0_LOW)
    asm.emit(_JSET_K, _CLONE_NAMESPACE_FLAGS, "eperm", 0)

    asm.label("allow")
    asm.ret(_RET_ALLOW)
    asm.label("enosys")
    asm.ret(_RET_ERRNO | errno.ENOSYS)
    asm.label("eperm")
    asm.ret(_RET_ERRNO | errno.EPERM)
    return asm.assemble()
