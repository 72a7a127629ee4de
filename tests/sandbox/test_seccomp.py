"""The hand-assembled seccomp program: well-formed for each architecture it supports.

Its effect is tested for real in test_attacks.py and test_kernel_surface.py (inside the jail).
"""

from __future__ import annotations

import struct

import pytest

from agentcode.sandbox.local.seccomp import filter_program


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_program_is_valid_bpf(machine: str) -> None:
    program = filter_program(machine)
    assert len(program) % 8 == 0
    insns = [struct.unpack("=HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]
    for index, (code, jt, jf, _) in enumerate(insns):
        if code & 0x07 == 0x05:  # a jump: both targets inside the program
            assert index + 1 + max(jt, jf) < len(insns)
        if code == 0x06:  # every return is ALLOW or an errno, never a kill
            assert insns[index][3] in (0x7FFF0000,) or insns[index][3] & 0xFFFF0000 == 0x00050000
    assert insns[-1][0] == 0x06 and insns[-1][3] == 0x00050001  # ends with ERRNO(EPERM)


def test_unknown_architecture_is_not_guessed() -> None:
    with pytest.raises(KeyError):
        filter_program("sparc64")
