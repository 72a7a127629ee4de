"""The jail must work wherever the Python lives: a checkout under /tmp (as in CI) included.

The jail mounts its own /tmp; a venv under the host's /tmp is shown at the neutral
/opt/agentcode/venv, so neither hides the other and the host path never shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_venv_under_tmp_runs_code_in_the_jail(tmp_path: Path) -> None:
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="agentcode-venv-") as where:
        venv = Path(where) / "venv"
        subprocess.run([sys.base_prefix + "/bin/python3", "-m", "venv", "--without-pip",
                        str(venv)], check=True)
        program = (
            "import sys; sys.path.insert(0, sys.argv[1])\n"
            "from agentcode import execute\n"
            "result = execute('import sys\\nprint(sys.prefix)\\n6 * 7')\n"
            "print(result.stdout, end=''); print(result.text)\n"
        )
        env = {**os.environ, "AGENTCODE_HOME": str(tmp_path), "AGENTCODE_NO_HISTORY": "1"}
        done = subprocess.run([str(venv / "bin" / "python"), "-c", program, str(ROOT)],
                              capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["/opt/agentcode/venv", "42"]
