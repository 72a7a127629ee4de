"""Stopping `agentcode serve` (SIGTERM, Ctrl-C) during an execution leaves no jail behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from typing import Any

import httpx
import pytest

from server.conftest import TOKEN, alive, descendants, wait_until


def start_serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "agentcode", "serve", "--port", "0", "--no-warm",
         "--token", TOKEN, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stderr is not None
    # Warnings may come first (a machine whose memory holds fewer sessions says so).
    lines = [process.stderr.readline()]
    while lines[-1].startswith("agentcode: warning:"):
        lines.append(process.stderr.readline())
    found = re.search(r"serving on (http://127\.0\.0\.1:\d+)/\?token=(\S+)", lines[-1])
    assert found, "".join(lines)
    assert found.group(2) == TOKEN
    return process, found.group(1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stopping_during_an_execution_kills_its_jail(sig: signal.Signals) -> None:
    process, url = start_serve("--grace", "1")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    replies: list[Any] = []
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            session = http.post("/v1/sessions").json()["id"]

            def run_forever() -> None:
                try:
                    replies.append(http.post(f"/v1/sessions/{session}/execute", json={
                        "code": "import time\nwhile True: time.sleep(0.1)", "timeout": 300}))
                except httpx.HTTPError as exc:
                    replies.append(exc)

            runner = threading.Thread(target=run_forever)
            runner.start()
            assert wait_until(lambda: len(descendants(process.pid)) >= 2), "no jail started"
            jails = descendants(process.pid)
            process.send_signal(sig)
            status = process.wait(timeout=30)
            runner.join(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert status == (-signal.SIGTERM if sig == signal.SIGTERM else 130)
    assert wait_until(lambda: not any(alive(pid) for pid in jails), timeout=10), \
        "a jail process outlived the server"
    # The running request ended: with an error body, or a closed connection; never a hang.
    assert replies and not (isinstance(replies[0], httpx.Response) and replies[0].is_success)
    assert process.stderr is not None
    rest = process.stderr.read()
    assert "Traceback" not in rest


def test_a_finished_execution_is_not_cut_short_by_the_stop() -> None:
    process, url = start_serve("--grace", "10")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    replies: list[httpx.Response] = []
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            session = http.post("/v1/sessions").json()["id"]
            runner = threading.Thread(target=lambda: replies.append(http.post(
                f"/v1/sessions/{session}/execute",
                json={"code": "import time\nprint('start', flush=True)\ntime.sleep(1.5)\n'end'"})))
            runner.start()
            assert wait_until(lambda: len(descendants(process.pid)) >= 2)
            jails = descendants(process.pid)
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
            runner.join(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert replies and replies[0].status_code == 200
    assert replies[0].json()["outputs"][0]["text"] == "'end'"
    assert wait_until(lambda: not any(alive(pid) for pid in jails), timeout=10)
