"""A spare jail, started in the background, so a new session's first execution need not wait.

A long-lived front end (`agentcode serve`, `agentcode mcp`, the REPL) calls `keep(settings)`:
from then on one local jail is kept started, and the next `open_sandbox("local", ...)` with
the same limits and sandbox packages gets it instead of starting one (see `take`); the next
spare is then started on a thread. Rules that keep it safe:

- a spare belongs to no one until `take` hands it out, to exactly one caller (under a lock);
  nothing of a session reaches it before, since it has never run anything;
- it is never handed out twice and never comes back: the session that took it closes it like
  any sandbox it started, and the next session gets a new jail;
- one made for other settings (limits, packages, a sandbox environment changed since) or
  whose worker died is closed, not handed out;
- `stop` closes the spare; a front end calls it when it stops (it also goes at exit, with
  the process, as every jail does).

The spare is one jail beyond a server's ``--max-sessions``.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from typing import TYPE_CHECKING

from agentcode.config import Settings
from agentcode.errors import AgentcodeError

if TYPE_CHECKING:
    # Loaded by the thread that makes the jail: `agentcode run` imports this module before
    # its own imports, which then overlap the jail's (cli/entry.py).
    from agentcode.sandbox.local.session import LocalSandboxSession

# How long a new session waits for the spare being started before starting its own.
_WAIT_SECONDS = 10.0
# The next spare starts this long after one is handed out, so that its start (Python work and
# a fork in this process) does not compete with the new session's first execution; a session
# that asks meanwhile cuts the wait short.
_REFILL_DELAY = 0.3
# `keep_once` returns once the jail's bwrap is forked, or after this long at most.
_LAUNCH_WAIT = 2.0


class SpareJails:
    """Keeps one started `LocalSandboxSession` for ``settings`` ready (made on a thread)."""

    def __init__(self, settings: Settings, *, once: bool = False) -> None:
        self.settings = settings
        self.once = once  # hand out one jail, then keep none (a one-shot `agentcode run`)
        self._lock = threading.Lock()
        self._ready: LocalSandboxSession | None = None
        self._making: threading.Thread | None = None
        self._stopped = False
        self._hurry = threading.Event()  # a session waits for the spare, or stop: no delay
        self.launched = threading.Event()  # the first spare's bwrap is forked (or it failed)
        self.handed_out = 0  # spares taken (for tests and the benchmarks)
        self._refill()

    def _refill(self, delay: float = 0.0) -> None:
        with self._lock:
            if self._stopped or self._ready is not None or (
                    self._making is not None and self._making.is_alive()):
                return
            self._hurry.clear()
            self._making = threading.Thread(target=self._make, args=(delay,),
                                            name="agentcode-spare-jail", daemon=True)
            self._making.start()

    def _make(self, delay: float) -> None:
        if delay:
            self._hurry.wait(delay)
        with self._lock:
            if self._stopped:
                self.launched.set()
                return
        try:
            from agentcode.sandbox.local.session import LocalSandboxSession

            jail = LocalSandboxSession(self.settings, launched=self.launched)
        except (AgentcodeError, OSError):
            return  # the session that asks next starts its own and reports the error
        finally:
            self.launched.set()
        with self._lock:
            if self._stopped or self._ready is not None:
                keep = None
            else:
                self._ready, keep = jail, jail
        if keep is None:
            jail.close()

    def take(self, settings: Settings) -> LocalSandboxSession | None:
        """The ready spare, now the caller's alone, if it suits ``settings``; None otherwise.
        Starts the next spare either way."""
        with self._lock:
            making = self._making if self._ready is None else None
        if making is not None and making.is_alive():
            self._hurry.set()
            making.join(_WAIT_SECONDS)  # one half started beats a second one from scratch
        with self._lock:
            jail, self._ready = self._ready, None
        try:
            if jail is not None and not _suits(jail, settings):
                jail.close()
                jail = None
        finally:
            if self.once:
                self.stop()
            else:
                self._refill(_REFILL_DELAY)
        if jail is not None:
            self.handed_out += 1
            # Its limits and packages are the caller's (`_suits`); the rest (the default
            # timeout) must be too.
            jail.settings = settings
        return jail

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            jail, self._ready = self._ready, None
            making = self._making
        self._hurry.set()
        if making is not None:
            making.join()
        with self._lock:
            jail = jail or self._ready
            self._ready = None
        if jail is not None:
            jail.close()


def _suits(jail: LocalSandboxSession, settings: Settings) -> bool:
    worker = jail._worker
    if worker is None or not worker.alive or worker.proc.poll() is not None:
        return False
    if settings.limits != jail.settings.limits or settings.sandbox_env != jail.settings.sandbox_env:
        return False
    from agentcode.sandbox.local.packages import SandboxEnvironment

    try:  # `agentcode sandbox add` since the spare started: it mounts the old packages
        return SandboxEnvironment(settings.sandbox_env).mount_source() == jail._packages
    except AgentcodeError:
        return False


_spare: SpareJails | None = None
_spare_lock = threading.Lock()


def keep(settings: Settings) -> SpareJails:
    """From now on keep a spare jail for ``settings`` in this process (idempotent)."""
    global _spare
    with _spare_lock:
        if _spare is None or _spare.settings != settings:
            if _spare is not None:
                _spare.stop()
            _spare = SpareJails(settings)
        return _spare


def keep_once(settings: Settings) -> SpareJails:
    """Start one jail for ``settings`` now, for the next local session of this process only
    (`agentcode run` starts it before its imports); closed at exit if nobody took it."""
    global _spare
    with _spare_lock:
        if _spare is not None:
            _spare.stop()
        _spare = SpareJails(settings, once=True)
    atexit.register(stop)
    # The jail's set-up is Python on this process's GIL: done before the caller's imports
    # (which would only take turns with it), bwrap and the interpreter in the jail then start
    # while they run, in processes of their own.
    _spare.launched.wait(_LAUNCH_WAIT)
    return _spare


def take(settings: Settings) -> LocalSandboxSession | None:
    """The spare jail for a new local session, if one is kept and suits ``settings``."""
    spare = _spare
    return spare.take(settings) if spare is not None else None


def stop() -> None:
    """Keep no spare any more (a front end that stops)."""
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is not None:
        with contextlib.suppress(Exception):
            spare.stop()
