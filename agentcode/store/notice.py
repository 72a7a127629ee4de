"""The one warning per process when the history cannot be saved (recording.py, spool.py)."""

from __future__ import annotations

import sys

_warned = False


def warn_once(exc: Exception) -> None:
    global _warned
    if _warned:
        return
    _warned = True
    reason = str(exc) or type(exc).__name__
    sys.stderr.write(
        f"agentcode: warning: history not saved: {reason} (use --no-history to silence)\n"
    )


def reset_warning() -> None:
    """Allow the next failure to warn again (a long-lived process after the user fixed it)."""
    global _warned
    _warned = False
