"""Every example in examples/ runs as it stands: the real CLI, the real sandbox, and a scripted
model (`fake:<replies.json>`, the suite's plugin) where a model answers; the library example
also once with the real embedded model (slow)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_runner import serve_url

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent  # the venv's `agentcode`, for the shell examples


def fence(code: str) -> str:
    return f"```python\n{code}```\n"


@pytest.fixture
def scripted(tmp_path: Path) -> Callable[..., dict[str, str]]:
    """``scripted(code, ...)``: an environment whose model answers with these programs, in
    order (each agentcode process starts the script again)."""

    def make(*codes: str, **extra: str) -> dict[str, str]:
        replies = tmp_path / f"replies-{len(list(tmp_path.glob('replies-*')))}.json"
        replies.write_text(json.dumps([fence(code) for code in codes]), encoding="utf-8")
        env = {**os.environ, "AGENTCODE_MODEL": f"fake:{replies}",
               "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.update(extra)
        return env

    return make


def run(args: list[str | Path], env: dict[str, str], cwd: Path,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def test_the_readme_lists_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for path in sorted(EXAMPLES.rglob("*")):
        if path.is_file() and path.name != "README.md" and "__pycache__" not in path.parts:
            relative = path.relative_to(EXAMPLES)
            named = str(relative) if relative.parts[0] != "plugin" else "plugin/"
            assert f"`{named}`" in readme or named in readme, f"{relative} is not described"


REPORT = """\
import csv
from collections import defaultdict

totals = defaultdict(float)
with open("sales.csv", newline="") as f:
    for row in csv.DictReader(f):
        totals[row["region"]] += float(row["amount"])
lines = [f"{region},{totals[region]:.2f}" for region in sorted(totals)]
print("\\n".join(lines))
with open("totals.csv", "w") as out:
    out.write("\\n".join(lines) + "\\n")
"""


def test_shell_csv_report(scripted: Callable[..., dict[str, str]], tmp_path: Path) -> None:
    done = run([EXAMPLES / "shell" / "csv_report.sh"], scripted(REPORT), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["East,280.49", "North,45.25", "West,230.00",
                                        "totals.csv"]
    assert (tmp_path / "out" / "totals.csv").read_text().splitlines()[0] == "East,280.49"
    assert (tmp_path / "report.py").read_text() == REPORT


SLUGIFY = """\
import re


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
"""


def test_shell_generate_and_test(scripted: Callable[..., dict[str, str]],
                                 tmp_path: Path) -> None:
    done = run([EXAMPLES / "shell" / "generate_and_test.sh"], scripted(SLUGIFY), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "slugify.py passes test_slugify.py\nhello-world\n"
    assert (tmp_path / "slugify.py").read_text() == SLUGIFY


FIZZBUZZ = """\
def fizzbuzz(n):
    if n % 15 == 0:
        return "FizzBuzz"
    if n % 3 == 0:
        return "Fizz"
    if n % 5 == 0:
        return "Buzz"
    return str(n)
"""


def test_ci_script_passes_and_fails_the_job_on_the_exit_code(
        scripted: Callable[..., dict[str, str]], tmp_path: Path) -> None:
    script, requests = EXAMPLES / "ci" / "check_generated.sh", EXAMPLES / "ci" / "requests.txt"
    done = run([script, requests], scripted(FIZZBUZZ), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ok: generated/fizzbuzz.py passes test_fizzbuzz.py" in done.stdout
    assert (tmp_path / "generated" / "fizzbuzz.py").read_text() == FIZZBUZZ
    wrong = "def fizzbuzz(n):\n    return str(n)\n"
    failed = run([script, requests], scripted(*[wrong] * 40,
                                              AGENTCODE_MODEL_RETRY_SECONDS="0"), tmp_path)
    assert failed.returncode == 1, failed.stderr
    assert "FAILED (exit 1)" in failed.stderr


def test_the_workflow_runs_the_ci_script() -> None:
    workflow = (EXAMPLES / "ci" / "github-workflow.yml").read_text(encoding="utf-8")
    assert "run: examples/ci/check_generated.sh examples/ci/requests.txt" in workflow
    assert "apt-get install -y -qq bubblewrap" in workflow


def test_library_generate_and_execute(scripted: Callable[..., dict[str, str]],
                                      tmp_path: Path) -> None:
    primes = "for n in range(2, 30):\n    if all(n % d for d in range(2, n)):\n        print(n)\n"
    done = run([sys.executable, EXAMPLES / "library" / "generate_and_execute.py"],
               scripted(primes), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "3", "5", "7", "11", "13", "17", "19", "23", "29"]
    assert "# written by fake:" in done.stderr and "all(n % d" in done.stderr


@pytest.mark.slow
def test_library_generate_and_execute_with_the_embedded_model(
        embedded_model_path: Path, tmp_path: Path) -> None:
    env = {**os.environ, "AGENTCODE_LOCAL_MODEL": str(embedded_model_path)}
    done = run([sys.executable, EXAMPLES / "library" / "generate_and_execute.py"], env, tmp_path,
               timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "3", "5", "7", "11", "13", "17", "19", "23", "29"]


def test_library_session_analysis(scripted: Callable[..., dict[str, str]],
                                  data_sandbox_env: Path, tmp_path: Path) -> None:
    env = scripted(
        "import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint(df.shape)\n",
        "print(df.groupby('region')['amount'].sum().sort_values(ascending=False))\n",
        "import matplotlib.pyplot as plt\n"
        "df.groupby('region')['amount'].sum().plot.bar()\nplt.savefig('chart.png')\n",
        AGENTCODE_SANDBOX_ENV=str(data_sandbox_env))
    done = run([sys.executable, EXAMPLES / "library" / "session_analysis.py", tmp_path / "out"],
               env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "(6, 3)" in done.stdout and re.search(r"East\s+280\.49", done.stdout)
    assert done.stdout.splitlines()[-1] == "saved: chart.png"
    assert (tmp_path / "out" / "chart.png").read_bytes().startswith(b"\x89PNG")


def test_library_streaming(scripted: Callable[..., dict[str, str]], tmp_path: Path) -> None:
    countdown = "import time\nfor n in (3, 2, 1):\n    print(n, flush=True)\n    time.sleep(0.2)\n"
    done = run([sys.executable, EXAMPLES / "library" / "streaming.py"], scripted(countdown),
               tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[live] 3\n[live] 2\n[live] 1\n"
    assert "```python\nimport time" in done.stderr  # the reply, streamed


def test_library_async(scripted: Callable[..., dict[str, str]], tmp_path: Path) -> None:
    env = scripted("print(2 ** 10)\n", "print(sum(range(1, 101)))\n")
    done = run([sys.executable, EXAMPLES / "library" / "async_generate.py"], env, tmp_path)
    assert (done.returncode, done.stdout) == (0, "1024\n5050\n"), done.stderr


def test_api_client_against_agentcode_serve(scripted: Callable[..., dict[str, str]],
                                            tmp_path: Path) -> None:
    env = scripted("print(sum(values) / len(values))\n")
    server = subprocess.Popen([sys.executable, "-m", "agentcode", "serve", "--port", "0",
                               "--token", "example", "--no-warm"], env=env, cwd=tmp_path,
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        url = serve_url(server)
        done = run([sys.executable, EXAMPLES / "api" / "client.py", url, "example"], env,
                   tmp_path)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["health: ok", "sum: 12", "generated by "
                                        + env["AGENTCODE_MODEL"], "live: 4.0", "result exit 0"]


@pytest.mark.parametrize(("name", "servers"), [("claude_desktop_config.json", "mcpServers"),
                                               ("vscode_mcp.json", "servers")])
def test_mcp_client_configs_start_a_working_server(name: str, servers: str,
                                                   tmp_path: Path) -> None:
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    entry = json.loads((EXAMPLES / "mcp" / name).read_text(encoding="utf-8"))[servers]["agentcode"]
    assert entry["command"].endswith("/.venv/bin/agentcode") and entry.get("type", "stdio") == (
        "stdio")
    # The config's command is the user's own path: here, this venv's agentcode.
    params = StdioServerParameters(command=str(BIN / "agentcode"), args=entry["args"],
                                   env=dict(os.environ), cwd=str(tmp_path))

    async def call() -> str:
        async with (stdio_client(params) as (read, write),
                    ClientSession(read, write) as client):
            await client.initialize()
            result = await client.call_tool("execute_python", {"code": "print(6 * 7)"})
            assert not result.is_error and result.structured_content is not None
            return str(result.structured_content["stdout"])

    assert anyio.run(call) == "42\n"


def test_strands_agent_with_the_interpreter() -> None:
    sys.path.insert(0, str(EXAMPLES / "strands"))
    try:
        import interpreter_agent
    finally:
        sys.path.remove(str(EXAMPLES / "strands"))
    from agentcode.testing import FakeModel, ToolCall

    model = FakeModel([
        ToolCall("execute_python", {"code": "a, b = 0, 1\nfor _ in range(30): a, b = b, a + b\n"
                                             "print(a)"}),
        "The 30th Fibonacci number is 832040.",
        ToolCall("execute_python", {"code": "print(b)"}),  # the session kept a and b
        "The 31st is 1346269.",
    ])
    answer = interpreter_agent.main(model)
    assert " ".join(answer.split()) == (
        "The 30th Fibonacci number is 832040. The 31st is 1346269.")
    results = [json.loads(block["toolResult"]["content"][0]["text"])
               for call in model.calls for message in call.messages
               for block in message["content"] if "toolResult" in block]
    assert [r["stdout"] for r in results][-2:] == ["832040\n", "1346269\n"]


def test_plugin_is_the_one_in_docs_and_installs_with_pip(tmp_path: Path) -> None:
    # pip builds the plugin with this venv's setuptools (--no-build-isolation: no download); the
    # dev group installs one with bdist_wheel (>= 77). Not imported here: another test may already
    # have loaded the standard library's distutils, which setuptools' import refuses to shadow.
    doc = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    plugin = EXAMPLES / "plugin"
    assert f"```python\n{(plugin / 'agentcode_echo.py').read_text()}```" in doc
    assert f"```toml\n{(plugin / 'pyproject.toml').read_text()}```" in doc
    assert tomllib.loads((plugin / "pyproject.toml").read_text())["project"]["name"] == (
        "agentcode-echo")
    site = tmp_path / "site"
    source = tmp_path / "plugin"
    shutil.copytree(plugin, source)  # pip builds in place: keep examples/ clean
    install = run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                   "--no-build-isolation", "--disable-pip-version-check", "--target", site,
                   source], dict(os.environ), tmp_path)
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{os.environ['PYTHONPATH']}"}
    gen = run([sys.executable, "-m", "agentcode", "gen", "-m", "echo:hello", "say hi"], env,
              tmp_path)
    assert gen.returncode == 0, gen.stderr
    ran = subprocess.run([sys.executable, "-m", "agentcode", "run", "--sandbox", "tiny", "-"],
                         input=gen.stdout, env=env, capture_output=True, text=True, timeout=120)
    assert (ran.returncode, ran.stdout) == (0, "hello say hi\n"), ran.stderr
