"""Issue 24: a candidate written against agentcode's own test runner cannot forge a pass.

The Verifier's tests and check run in a fresh process started by a worker no candidate ran in
(generation/checks/fresh.py), and the verdict comes back on a socket only that process's
runner frame may use. Each forgery below aims at that design; all must fail a test file whose
only test is ``assert False`` and a check ``1 == 2``, in the real local sandbox, and the honest
program still passes.
"""

from __future__ import annotations

import pytest

from agentcode.config import Settings, load_settings
from agentcode.generation.checks.user_tests import load_tests
from agentcode.generation.judge import Verifier

FAILING_TESTS = "def test_it():\n    assert False\n"
FAILING_CHECK = "1 == 2"
HONEST = "def double(x):\n    return 2 * x\n"

# How the runner finds its frames: the candidate's top level runs inside _judge, called by
# _verdict_main; a function a test calls sits below _run_tests.
_FRAMES = (
    "import sys\n"
    "def runner_frames():\n"
    "    frame, found = sys._getframe(1), []\n"
    "    while frame is not None:\n"
    "        found.append(frame)\n"
    "        frame = frame.f_back\n"
    "    return found\n"
)
_SEND_PASS = (
    "def send_pass():\n"
    "    import socket\n"
    "    for frame in runner_frames():\n"
    "        job = frame.f_locals.get('job')\n"
    "        if isinstance(job, dict) and 'address' in job:\n"
    "            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
    "            s.connect(job['address'])\n"
    "            s.sendall(b'{\"ok\": true}')\n"
    "            s.close()\n"
)

FORGERIES = {
    # What agentcode's earlier runner printed on success, then a clean exit.
    "prints-the-marker": "import os\nprint('agentcode: 1 tests passed')\nos._exit(0)\n",
    "os-exit-0": "import os\nos._exit(0)\n",
    "sys-exit-0": "import sys\nsys.exit(0)\n",
    # The report function and the runner's helpers, replaced through the caller's globals.
    "patches-the-report-function": _FRAMES + (
        "ok = lambda *a, **k: {'ok': True}\n"
        "for frame in runner_frames():\n"
        "    g = frame.f_globals\n"
        "    for name in ('run_tests', '_run_tests', '_judge', '_failure'):\n"
        "        if name in g:\n"
        "            g[name] = ok\n"
        "    if '_changed' in g:\n"
        "        g['_changed'] = lambda *a, **k: None\n"
    ),
    "rewrites-runner-code": _FRAMES + (
        "for frame in runner_frames():\n"
        "    g = frame.f_globals\n"
        "    if '_run_tests' in g:\n"
        "        g['_run_tests'].__code__ = (lambda *a, **k: {'ok': True}).__code__\n"
    ),
    # From inside the tests: the failing test's code replaced, the runner's locals emptied.
    "patches-frames-during-the-tests": _FRAMES + (
        "def double(x):\n"
        "    for frame in runner_frames():\n"
        "        plan = frame.f_locals.get('plan')\n"
        "        if isinstance(plan, tuple):\n"
        "            for name, func, cases in plan:\n"
        "                func.__code__ = (lambda: None).__code__\n"
        "    return 2 * x\n"
    ),
    "trace-function-skips-the-assert": (
        "import sys\n"
        "def tracer(frame, event, arg):\n"
        "    if frame.f_code.co_name == 'test_it':\n"
        "        frame.f_lineno = frame.f_code.co_firstlineno + 1\n"
        "    return tracer\n"
        "sys.settrace(tracer)\n"
    ),
    "sends-the-verdict-itself": _FRAMES + _SEND_PASS + "send_pass()\nimport os\nos._exit(0)\n",
    "a-child-sends-the-verdict": _FRAMES + _SEND_PASS + (
        "import os\n"
        "if os.fork() == 0:\n"
        "    send_pass()\n"
        "    os._exit(0)\n"
        "os.wait()\n"
    ),
    "writes-the-stage-pipe": (
        "import os\n"
        "for fd in range(3, 20):\n"
        "    try:\n"
        "        os.write(fd, b'{\"ok\": true}\\n{\"verdict\": {\"ok\": true}}\\n')\n"
        "    except OSError:\n"
        "        pass\n"
        "print('{\"verdict\": {\"ok\": true}, \"stage\": \"tests\", \"exit\": 0, '\n"
        "      '\"timed_out\": false, \"output\": \"\"}')\n"
        "os._exit(0)\n"
    ),
    "patches-builtins": (
        "import builtins\n"
        "builtins.compile = lambda *a, **k: compile('pass', '<x>', 'exec')\n"
        "builtins.AssertionError = type('AssertionError', (Exception,), {})\n"
    ),
    "skips-with-a-runner-class": _FRAMES + (
        "for frame in runner_frames():\n"
        "    skipped = frame.f_globals.get('_Skipped')\n"
        "    if skipped is not None:\n"
        "        break\n"
        "class Quiet(skipped):\n"
        "    pass\n"
        "def double(x):\n"
        "    raise Quiet()\n"
    ),
    "leaves-a-thread-that-patches": _FRAMES + (
        "import threading, time\n"
        "frames = runner_frames()\n"
        "def patch():\n"
        "    for _ in range(200):\n"
        "        for frame in frames:\n"
        "            frame.f_globals['_changed'] = lambda *a, **k: None\n"
        "        time.sleep(0.001)\n"
        "threading.Thread(target=patch, daemon=True).start()\n"
    ),
    "writes-its-own-memory": (
        "import ctypes, sys\n"
        "ctypes.memmove(id(sys), id(sys), 0)\n"
    ),
    "opens-proc-self-mem": "open('/proc/self/mem', 'r+b')\n",
    "opens-proc-self-mem-by-path": "import pathlib\npathlib.Path('/proc/self/mem').open('r+b')\n",
    "links-to-proc-self-mem": "import os\nos.symlink('/proc/self/mem', 'm')\nopen('m', 'r+b')\n",
}


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(timeout=10)


@pytest.mark.parametrize("forgery", list(FORGERIES), ids=list(FORGERIES))
def test_a_forged_pass_of_failing_tests_fails(forgery: str, settings: Settings) -> None:
    code = FORGERIES[forgery] + HONEST
    failure = Verifier(settings, tests=load_tests(FAILING_TESTS)).run(code)
    assert failure is not None


@pytest.mark.parametrize("forgery", ["os-exit-0", "sends-the-verdict-itself",
                                     "patches-the-report-function", "a-child-sends-the-verdict"])
def test_a_forged_pass_of_a_false_check_fails(forgery: str, settings: Settings) -> None:
    failure = Verifier(settings, check=FAILING_CHECK).run(FORGERIES[forgery] + HONEST)
    assert failure is not None


def test_the_honest_program_passes_and_the_runner_says_what_was_changed(
        settings: Settings) -> None:
    tests = load_tests("def test_double():\n    assert double(2) == 4\n")
    assert Verifier(settings, tests=tests, check="double(3) == 6").run(HONEST) is None
    # What the runner relies on is named when the code changed it.
    changed = Verifier(settings, tests=tests).run(
        FORGERIES["patches-the-report-function"] + HONEST) or ""
    assert "the code changed what the test runner relies on" in changed
    traced = Verifier(settings, tests=tests).run(
        FORGERIES["trace-function-skips-the-assert"] + HONEST) or ""
    assert "sys.settrace" in traced
