"""Every command block of README.md and docs/*.md is run here, or named below with the reason it
cannot be (AWS, a network endpoint, an install from the index, a long benchmark).

A block's commands run in order in one bash process (later commands use earlier files and
variables), in a work dir holding the files the docs name (access.log, sales.csv, ...), with the
real CLI and sandbox. Where a model answers, it is `docs`: a plugin model (installed for this test
only) that writes the program a good model would for the request, chosen by its words.
docs/cli.md is the `--help` text (tests/test_cli_docs.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli_runner import serve_url

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"sh", "bash", "console", "shell"}

# Commands that cannot run here, by a pattern of the command, with the reason.
SKIP = [
    (r"^\./dev\.sh ", "sets up .venv (about 1.1 GB); CI runs ./dev.sh test itself"),
    (r"^pip install ", "installs from a package index (network)"),
    (r"agentcode sandbox (add|remove|sync)\b", "installs from a package index (network); "
     "tests/cli/test_sandbox_cli.py covers it with a local wheel"),
    (r"-m bedrock|--sandbox agentcore", "needs AWS credentials (tests/sandbox and tests/models "
     "stub AWS with botocore's Stubber)"),
    (r"-m openai:", "needs an OpenAI-compatible endpoint (tests/models/test_openai_chat.py "
     "fakes one with respx)"),
    (r"^agentcode serve\b", "a server that runs until stopped: the docs/api.md block runs "
     "against one this test starts"),
    (r"^(export URL|agentcode: serving)", "shows agentcode serve's own output"),
    (r"history show 42\b", "42 is an example entry id"),
    (r"-m echo\b|-m echo:|--sandbox tiny|\(echo\|tiny\)", "needs the docs/extending.md "
     "plugin installed: tests/test_extending.py and tests/test_examples.py install and run it"),
    (r"benchmarks/", "a benchmark: hours with the embedded model"),
    (r"^websocat ", "websocat is not installed here (examples/api/client.py does the same)"),
]


@dataclass
class Command:
    line: int
    text: str
    output: list[str] = field(default_factory=list)  # shown after `$ ` in a console block

    @property
    def skip(self) -> str | None:
        for pattern, reason in SKIP:
            if re.search(pattern, self.text):
                return reason
        return None


@dataclass
class Block:
    path: Path
    line: int
    lang: str
    body: list[str]

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def commands(self) -> list[Command]:
        console = self.lang == "console" or any(line.startswith("$ ") for line in self.body)
        commands: list[Command] = []
        pending = ""
        for number, raw in enumerate(self.body, start=self.line + 1):
            line = raw.rstrip()
            if console and not line.startswith("$ ") and not pending:
                if commands:
                    commands[-1].output.append(line)
                continue
            line = line[2:] if console and line.startswith("$ ") else line
            text = _strip_comment(line)
            if not text.strip() and not pending:
                continue
            if pending and text.lstrip().startswith("|"):
                pending += " " + text.strip()
            else:
                pending += (" " if pending else "") + text.strip()
            if pending.endswith("\\"):
                pending = pending[:-1].rstrip()
                continue
            commands.append(Command(number, pending))
            pending = ""
        return commands


def _strip_comment(line: str) -> str:
    """The line without a trailing `# comment` (a # outside quotes, after a space)."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index].rstrip()
    return line


def blocks() -> Iterator[Block]:
    for path in DOCS:
        if path.name == "cli.md":
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        index = 0
        while index < len(lines):
            opening = re.match(r"^```(\w*)\s*$", lines[index])
            if opening is None:
                index += 1
                continue
            end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
            lang = opening.group(1)
            body = lines[index + 1:end]
            if lang in SHELL or (not lang and _looks_like_commands(body)):
                yield Block(path, index + 1, lang, body)
            index = end + 1


def _looks_like_commands(body: list[str]) -> bool:
    first = next((line for line in body if line.strip() and not line.startswith("#")), "")
    return bool(re.match(r"^(\$ |agentcode |python |curl |AGENTCODE_|[A-Z_]+=)", first))


BLOCKS = list(blocks())

# The programs the `docs` model writes, by words of the request (the first match wins).
PROGRAMS = {
    "top 5": (
        "from collections import Counter\n"
        "counts = Counter(line.split()[0] for line in open('access.log') if line.strip())\n"
        "for ip, n in counts.most_common(5):\n    print(ip, n)\n"),
    "total revenue per region": (
        "import csv, sys\nfrom collections import defaultdict\n"
        "totals = defaultdict(float)\n"
        "for row in csv.DictReader(sys.stdin):\n"
        "    totals[row['region']] += float(row['amount'])\n"
        "for region in sorted(totals):\n    print(f'{region:<8}{totals[region]:>10.2f}')\n"),
    "sum column 2": (
        "import csv, sys\nprint(sum(float(row[1]) for row in csv.reader(sys.stdin) if row))\n"),
    "slugify": (
        "import re\n\n\ndef slugify(title: str) -> str:\n"
        "    return re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')\n"),
    "bar chart": (
        "import pandas as pd\nimport matplotlib.pyplot as plt\n"
        "totals = pd.read_csv('sales.csv').groupby('region')['amount'].sum()\n"
        "print(totals.to_string())\ntotals.plot.bar()\nplt.savefig('chart.png')\n"),
    "load data.csv": "import csv\nprint(next(csv.reader(open('data.csv'))))\n",
    "plot column b": (
        "import csv\nrows = list(csv.DictReader(open('data.csv')))\n"
        "print([row['b'] for row in rows])\n"),
    "prime": (
        "primes = [n for n in range(2, 30) if all(n % d for d in range(2, n))]\n"
        "print('\\n'.join(map(str, primes)))\n"),
    "fibonacci": (
        "a, b, out = 0, 1, []\nwhile a < 100:\n    out.append(a)\n    a, b = b, a + b\n"
        "print(*out)\n"),
    "x squared": "print(f'{x} squared is {x ** 2}')\n",
    "cube": "print(x ** 3)\n",
}

PLUGIN = '''
from typing import Any
from strands.models.model import Model
from agentcode.models.provider import ModelProvider, ModelStatus, ProviderStatus

PROGRAMS = {programs}


class DocsModel(Model):
    def __init__(self) -> None:
        self.config = {{"model_id": "docs"}}

    def update_config(self, **config: Any) -> None:
        self.config.update(config)

    def get_config(self) -> dict[str, Any]:
        return self.config

    def structured_output(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def stream(self, messages: Any, tool_specs: Any = None, system_prompt: Any = None,
                     **kwargs: Any) -> Any:
        request = " ".join(block.get("text", "") for block in messages[-1]["content"]).lower()
        code = next((code for words, code in PROGRAMS.items() if words in request),
                    "print('ok')\\n")
        yield {{"messageStart": {{"role": "assistant"}}}}
        yield {{"contentBlockDelta": {{"delta": {{"text": "```python\\n" + code + "```\\n"}}}}}}
        yield {{"contentBlockStop": {{}}}}
        yield {{"messageStop": {{"stopReason": "end_turn"}}}}


PROVIDER = ModelProvider(
    name="docs", description="the docs test's model", factory=lambda spec, settings: DocsModel(),
    forms=("docs",), bare=True,
    status=lambda settings: ProviderStatus([ModelStatus("docs", True, "scripted")]))
'''

FILES = {
    "access.log": "".join(f"10.0.0.{n % 7} - - [06/Dec/2026] \"GET / HTTP/1.1\" 200 {n}\n"
                          for n in range(40)),
    "sales.csv": "date,region,amount\n2026-01-03,East,120.50\n2026-01-04,West,80.00\n"
                 "2026-02-11,North,45.25\n2026-03-02,East,60.00\n",
    "sample.csv": "a,1\nb,2\nc,3\n",
    "data.csv": "a,b\n1,2\n3,4\n",
    "tests/test_slugify.py": "from slugify import slugify\n\n\ndef test_basic():\n"
                             "    assert slugify('Hello, World!') == 'hello-world'\n",
    "analysis.py": "import os, sys\nprint(os.environ['REPORT_TITLE'], sys.argv[1:])\n"
                   "open('summary.txt', 'w').write(open('sales.csv').read().splitlines()[0])\n",
}


@pytest.fixture
def workspace(tmp_path: Path, agentcode_home: Path, data_sandbox_env: Path) -> dict[str, object]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "agentcode_docs_model.py").write_text(
        PLUGIN.format(programs=repr(PROGRAMS)), encoding="utf-8")
    info = site / "agentcode_docs_model-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: agentcode-docs-model\n"
                                   "Version: 0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "[agentcode.models]\ndocs = agentcode_docs_model:PROVIDER\n", encoding="utf-8")
    work = tmp_path / "work"
    for name, text in FILES.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text, encoding="utf-8")
    env = {**os.environ, "AGENTCODE_MODEL": "docs", "HOME": str(tmp_path / "user"),
           "SHELL": "/bin/bash", "AGENTCODE_SANDBOX_ENV": str(data_sandbox_env),
           "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    (tmp_path / "user").mkdir()
    return {"cwd": work, "env": env}


def _script(commands: list[Command]) -> str:
    # The status on a line of its own (curl's output has no final newline).
    return "".join(f"{c.text}\nstatus=$?; echo; echo \"@@{n} $status\"\n"
                   for n, c in enumerate(commands))


def run_block(block: Block, workspace: dict[str, object],
              extra_env: dict[str, str] | None = None) -> tuple[str, list[Command]]:
    runnable = [c for c in block.commands() if c.skip is None]
    env = dict(workspace["env"])  # type: ignore[call-overload]
    env.update(extra_env or {})
    done = subprocess.run(["bash", "-c", _script(runnable)], cwd=workspace["cwd"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    statuses = {int(n): int(s) for n, s in re.findall(r"^@@(\d+) (\d+)$", done.stdout, re.M)}
    failed = [(c.line, c.text, statuses.get(i)) for i, c in enumerate(runnable)
              if statuses.get(i) != 0]
    assert failed == [], f"{block.id}: {failed}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout, runnable


RUN_BLOCKS = [b for b in BLOCKS if any(c.skip is None for c in b.commands())]


@pytest.mark.parametrize("block", [b for b in RUN_BLOCKS if "api.md" not in b.id],
                         ids=lambda b: b.id)
def test_command_block_runs(block: Block, workspace: dict[str, object]) -> None:
    output, commands = run_block(block, workspace)
    for command in commands:  # a console block's shown output, up to a "..."
        shown = [line for line in command.output if line.strip()]
        shown = shown[:shown.index("...")] if "..." in shown else shown
        assert "\n".join(shown) in output, (command.text, shown)
    work: Path = workspace["cwd"]  # type: ignore[assignment]
    if "--out out/" in "".join(c.text for c in commands):
        assert (work / "out" / "chart.png").read_bytes().startswith(b"\x89PNG")


def test_the_api_block_runs_against_a_server(workspace: dict[str, object]) -> None:
    (block,) = [b for b in RUN_BLOCKS if b.id.startswith("docs/api.md")]
    env: dict[str, str] = workspace["env"]  # type: ignore[assignment]
    server = subprocess.Popen(["agentcode", "serve", "--port", "0", "--token", "doc-token",
                               "--no-warm"], cwd=workspace["cwd"], env=env,
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        url = serve_url(server)
        output, _ = run_block(block, workspace, {"URL": url, "TOKEN": "doc-token"})
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert '{"status":"ok"' in output and '"text":"42"' in output and "ABC" in output
    # The generated step was verified in the session, where x exists.
    assert "squared is" in output and re.search(r'"verified":\s*true', output)
    assert (Path(workspace["cwd"]) / "copy.csv").read_text() == FILES["sales.csv"]  # type: ignore[arg-type]


def test_readme_library_example_runs(workspace: dict[str, object]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(import agentcode\n.*?)```", readme, re.S)
    assert code is not None
    done = subprocess.run([sys.executable, "-c", code.group(1)], cwd=workspace["cwd"],
                          env=workspace["env"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # The first example prints what its program printed, and the exit code.
    assert done.stdout.startswith("0 1 1 2 3 5 8 13 21 34 55 89\n 0\n"), done.stdout


def test_every_command_is_run_or_skipped_with_a_reason() -> None:
    commands = [(b.id, c) for b in BLOCKS for c in b.commands()]
    ran = [c for _, c in commands if c.skip is None]
    benchmark = dict(SKIP)[r"benchmarks/"]
    skipped = {f"{block_id}:{c.line} {c.text}": c.skip for block_id, c in commands
               if c.skip and c.skip != benchmark}
    # Most of what the docs show runs: the rest is AWS, endpoints and installs. The benchmark
    # commands (docs/benchmarks.md records how each figure was made) are not counted, but each
    # must name a script that exists.
    assert len(ran) >= 35 and len(ran) > len(skipped), (len(ran), json.dumps(skipped, indent=1))
    scripts = {script for _, c in commands if c.skip == benchmark
               for script in re.findall(r"benchmarks/\w+\.py", c.text)}
    assert scripts and all((ROOT / script).is_file() for script in scripts), sorted(scripts)


def _config_blocks() -> Iterator[tuple[str, str]]:
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^```toml\n(.*?)^```", text, re.S | re.M):
            if not match.group(1).startswith("[project]"):  # a plugin's pyproject.toml
                yield f"{path.relative_to(ROOT)}:{text[:match.start()].count(chr(10)) + 1}", \
                    match.group(1)


@pytest.mark.parametrize(("where", "config"), list(_config_blocks()), ids=lambda v: str(v)[:40])
def test_config_file_examples_are_valid_configs(where: str, config: str, agentcode_home: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import tomllib

    from agentcode.config import load_settings

    for name in list(os.environ):  # the file alone (the suite's own AGENTCODE_* would win over it)
        if name.startswith("AGENTCODE_") and name != "AGENTCODE_HOME":
            monkeypatch.delenv(name)
    (agentcode_home / "config.toml").write_text(config, encoding="utf-8")
    settings = load_settings()  # a mistake would be a ConfigError naming the key
    seen = []
    for key, value in tomllib.loads(config).items():
        if key == "limits":
            seen += [(getattr(settings.limits, k), v) for k, v in value.items()]
        elif key == "sandbox" and isinstance(value, dict):
            names = {"backend": "sandbox", "packages": "packages", "env": "sandbox_env"}
            seen += [(getattr(settings, names[k]), v) for k, v in value.items()]
        elif key == "plugins":
            seen += [(settings.plugin(name), table) for name, table in value.items()]
        else:
            seen.append((getattr(settings, key), value))
    assert seen and all(got == want for got, want in seen), (where, seen)
