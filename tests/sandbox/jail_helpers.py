"""Helpers for real local jails in tests: small settings, and code a freeze must stop."""

from __future__ import annotations

from agentcode.config import Limits, Settings


def small_settings(*, timeout: float = 20.0, **limits: object) -> Settings:
    base: dict[str, object] = {"tmp_mb": 16, "shm_mb": 8, "workdir_mb": 32,
                               "kill_grace_seconds": 1.0}
    base.update(limits)
    return Settings(timeout=timeout, limits=Limits(**base))  # type: ignore[arg-type]


# A child that keeps running through SIGSTOP: a no-op SIGCONT handler and a POSIX timer whose
# signal is SIGCONT (every 10 ms); and a chain of processes that each fork a successor and exit.
# Each writes the time to a file while it runs (the freeze tests: test_session_limits.py,
# test_cgroup_v2_freeze.py).
UNSTOPPABLE = r"""
import ctypes, os, signal, struct, time

def stamp(path):
    with open(path, 'a') as f:
        f.write(f'{time.monotonic()}\n')

if os.fork() == 0:
    signal.signal(signal.SIGCONT, lambda *a: None)
    libc = ctypes.CDLL(None, use_errno=True)
    event = struct.pack('qii', 0, signal.SIGCONT, 0) + bytes(48)  # SIGEV_SIGNAL
    timer = ctypes.c_void_p()
    assert libc.timer_create(1, ctypes.c_char_p(event), ctypes.byref(timer)) == 0
    every = struct.pack('qqqq', 0, 10_000_000, 0, 10_000_000)
    assert libc.timer_settime(timer, 0, ctypes.c_char_p(every), None) == 0
    while True:
        stamp('/tmp/timer'); time.sleep(0.05)
if os.fork() == 0:
    while True:
        end = time.monotonic() + 0.05
        while time.monotonic() < end:
            pass
        stamp('/tmp/chain')
        if os.fork() != 0:
            os._exit(0)
time.sleep(0.3)
"""


def longest_gap(text: str) -> float:
    times = [float(line) for line in text.split()]
    return max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)
