"""Static pre-flight of generated code: undefined names found without running anything.

Small models ship programs that use ``sys`` or ``json`` without importing them, or a name
before it was created; such a program fails on its first run. pyflakes finds undefined names in
a few milliseconds. A name that can only mean one import is fixed here, without asking the model
again: a standard-library module used as ``name.attribute`` (``sys.argv``: ``import sys``), a
well-known class or function used bare (``defaultdict``: ``from collections import
defaultdict``), and the usual aliases of packages the sandbox has (``pd``, ``np``, ``plt``).
Everything else is a `problem` the caller shows the model in one repair round.

What the program reads is never changed here: where it reads one ``input()`` line of a
many-line input, or opens the path ``'-'``, the pre-flight offers a ``rewrite`` that reads all
of stdin, a second candidate the caller judges only when the original fails
(`Heuristic.STDIN_REWRITE`). A silent rewrite turned the correct ``header = input()`` of "print
the CSV's header" into ``sys.stdin.read()``, which printed the whole file.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Collection
from dataclasses import dataclass, field

from agentcode.generation.pipeline import Checks, Failure, Heuristic, Kind, Stage

# Bare names with one obvious home in the standard library.
STDLIB_NAMES: dict[str, str] = {
    **dict.fromkeys(
        ("Counter", "defaultdict", "OrderedDict", "deque", "namedtuple", "ChainMap"), "collections"
    ),
    # `for line in stdin:` (2 of 51 benchmark answers, 2026-12-01): only sys has these.
    **dict.fromkeys(("stdin", "stdout", "stderr", "argv"), "sys"),
    **dict.fromkeys(("Path", "PurePath"), "pathlib"),
    **dict.fromkeys(("dataclass", "field", "asdict"), "dataclasses"),
    **dict.fromkeys(("reduce", "partial", "lru_cache", "cache", "wraps"), "functools"),
    **dict.fromkeys(("timedelta", "timezone", "date"), "datetime"),
    **dict.fromkeys(
        ("Any", "Optional", "List", "Dict", "Tuple", "Set", "Iterable", "Iterator", "Callable",
         "Union"), "typing"
    ),
    **dict.fromkeys(("StringIO", "BytesIO"), "io"),
    **dict.fromkeys(("Decimal",), "decimal"),
    **dict.fromkeys(("Fraction",), "fractions"),
    **dict.fromkeys(("pprint",), "pprint"),
    **dict.fromkeys(("dedent",), "textwrap"),
    **dict.fromkeys(("groupby", "chain", "islice"), "itertools"),
    **dict.fromkeys(("itemgetter", "attrgetter"), "operator"),
}
# Conventional aliases: (import statement, the top-level package it needs).
PACKAGE_ALIASES: dict[str, tuple[str, str]] = {
    "np": ("import numpy as np", "numpy"),
    "pd": ("import pandas as pd", "pandas"),
    "plt": ("import matplotlib.pyplot as plt", "matplotlib"),
}


# Names a small model passes as a path when it means standard input ("-" is the CLI convention).
# Measured 2026-12-01: with pandas in the sandbox the 1.5B model wrote pd.read_csv('stdin') or
# pd.read_csv('-') in 8 of 32 benchmark tasks (FileNotFoundError every time).
STDIN_PATHS = frozenset({"stdin", "-", "<stdin>", "sys.stdin", "STDIN"})
# Calls whose first argument is the input to read: open() and the readers of pandas/numpy/polars.
_READERS = frozenset({"read_csv", "read_table", "read_json", "read_fwf", "loadtxt", "genfromtxt",
                      "read_ndjson"})


@dataclass(frozen=True, slots=True)
class Preflight:
    """The code (with any imports added), the imports added, and what is still wrong.

    ``stage`` and ``kind`` say what the first problem is (`Stage.SYNTAX` or `Stage.NAMES`);
    ``rewrite`` is the second candidate that reads all of stdin, when there is one.
    """

    code: str
    added: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    stage: Stage | None = None
    kind: Kind | None = None
    rewrite: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def failure(self) -> Failure | None:
        """The problems as the pipeline's failure, or None."""
        if not self.problems:
            return None
        heuristic = Heuristic.INPUT_LINES if self.kind is Kind.INPUT_LINES else None
        return Failure(self.stage or Stage.NAMES, self.kind or Kind.UNDEFINED_NAME,
                       describe_problems(self.problems), heuristic=heuristic)


def _undefined(tree: ast.Module, defined: Collection[str]) -> list[tuple[str, int]]:
    from pyflakes import checker, messages

    found = checker.Checker(tree, "<generated>", builtins=set(defined))
    return [
        (str(message.message_args[0]), message.lineno)
        for message in sorted(found.messages, key=lambda m: (m.lineno, m.col))
        if isinstance(message, messages.UndefinedName | messages.UndefinedLocal)
    ]


def _attributes_of(tree: ast.Module, name: str) -> tuple[set[str], bool]:
    """(attributes read from ``name``, whether ``name`` is also used bare)."""
    attributes: set[str] = set()
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    bare = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == name:
            parent = parents.get(id(node))
            if isinstance(parent, ast.Attribute) and parent.value is node:
                attributes.add(parent.attr)
            else:
                bare = True
    return attributes, bare


def _import_for(name: str, tree: ast.Module, packages: Collection[str]) -> str | None:
    """The one import that defines ``name`` as this code uses it, or None if unsure."""
    import importlib

    attributes, bare = _attributes_of(tree, name)
    if name in sys.stdlib_module_names and attributes and not bare:
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that cannot load here is no answer
            module = None
        if module is not None and all(hasattr(module, attr) for attr in attributes):
            return f"import {name}"
        owner = getattr(module, name, None)  # datetime.now(): the class datetime was meant
        if name == "datetime" and all(hasattr(owner, attr) for attr in attributes):
            return "from datetime import datetime"
        return None
    if name in STDLIB_NAMES:
        return f"from {STDLIB_NAMES[name]} import {name}"
    if name in PACKAGE_ALIASES and PACKAGE_ALIASES[name][1] in packages:
        return PACKAGE_ALIASES[name][0]
    if name in packages and attributes and not bare:
        return f"import {name}"
    return None


def _stdin_path_arguments(tree: ast.Module) -> list[ast.expr]:
    """What to replace by ``sys.stdin``: ``open('stdin')`` (for reading) whole, and a literal
    like ``'-'`` passed as the path of a reader (``pd.read_csv``); nothing else can be meant."""
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)
                and first.value.strip() in STDIN_PATHS and first.lineno == first.end_lineno):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id == "open":
            mode = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "mode"), None)
            if node.lineno == node.end_lineno and (mode is None or (
                    isinstance(mode, ast.Constant) and isinstance(mode.value, str)
                    and not set(mode.value) & set("wax+"))):
                found.append(node)
        elif isinstance(function, ast.Attribute) and function.attr in _READERS:
            found.append(first)
    return found


def _read_stdin_instead(code: str, replacements: list[tuple[ast.expr, str]]) -> str:
    """``code`` with each node (on one line) replaced by its text (UTF-8 columns)."""
    lines = code.splitlines(keepends=True)
    for node, text in sorted(replacements, key=lambda r: (r[0].lineno, r[0].col_offset),
                             reverse=True):
        raw = lines[node.lineno - 1].encode("utf-8")
        start, end = node.col_offset, node.end_col_offset or node.col_offset
        lines[node.lineno - 1] = (raw[:start] + text.encode("utf-8") + raw[end:]).decode("utf-8")
    return "".join(lines)


def _imports_sys(tree: ast.Module) -> bool:
    return any(isinstance(node, ast.Import) and any(a.name == "sys" and a.asname is None
                                                    for a in node.names)
               for node in tree.body)


def _insert_at(tree: ast.Module) -> int:
    """The line (0-based) where imports go: after the docstring and ``from __future__``."""
    line = 0
    for node in tree.body:
        is_docstring = (
            node is tree.body[0]
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        )
        if is_docstring or (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            line = node.end_lineno or node.lineno
            continue
        break
    return line


def _reads_one_line_of_many(tree: ast.Module, stdin: bytes | None) -> list[ast.Call]:
    """The ``input()`` calls, outside any loop, fewer than the known input's lines.

    Measured with the embedded model: told "never call input()", it still wrote
    ``csv.reader(input().splitlines())`` for "sum the second column of the CSV on stdin"; the
    run on the two-line sample printed a plausible number, and the 1,000-line input gave the
    first row only. A program that reads stdin some other way, binds ``input`` itself, or calls
    ``input()`` in a loop is left alone.
    """
    lines = sum(1 for line in stdin.splitlines() if line.strip()) if stdin else 0
    if lines < 2:
        return []
    calls: list[ast.Call] = []
    looped = False

    def visit(node: ast.AST, in_loop: bool) -> None:
        nonlocal looped
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "input":
            calls.append(node)
            looped = looped or in_loop
        # A comprehension repeats its element too: sum(int(input()) for _ in range(n)).
        loop = isinstance(node, ast.For | ast.AsyncFor | ast.While | ast.ListComp
                          | ast.SetComp | ast.DictComp | ast.GeneratorExp)
        for child in ast.iter_child_nodes(node):
            visit(child, in_loop or loop)

    visit(tree, False)
    other_reader = any(
        (isinstance(node, ast.Attribute) and node.attr == "stdin")
        or (isinstance(node, ast.Name) and node.id == "fileinput")
        or (isinstance(node, ast.Name) and node.id == "input" and isinstance(node.ctx, ast.Store))
        or (isinstance(node, ast.FunctionDef) and node.name == "input")
        for node in ast.walk(tree)
    )
    if not calls or looped or other_reader or len(calls) >= lines:
        return []
    return calls


def _one_line_problem(call: ast.Call, stdin: bytes) -> str:
    lines = sum(1 for line in stdin.splitlines() if line.strip())
    return (f"line {call.lineno}: input() reads one line, but the input has {lines} lines:"
            " read all of it from sys.stdin (sys.stdin.read(), or for line in sys.stdin)")


def _whole_input_instead(call: ast.Call, tree: ast.Module) -> str | None:
    """What replaces the one ``input()`` of a program given many lines: ``sys.stdin`` as a
    reader's source (``pd.read_csv(input())``), else ``sys.stdin.read()``. None when the call
    spans lines or has a prompt argument (the program talks to a person: a repair decides)."""
    if call.args or call.keywords or call.lineno != call.end_lineno:
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and node.args and node.args[0] is call
                and isinstance(node.func, ast.Attribute) and node.func.attr in _READERS):
            return "sys.stdin"
    return "sys.stdin.read()"


def preflight(
    code: str, *, packages: Collection[str] = (), defined: Collection[str] | None = (),
    stdin: bytes | None = None, checks: Checks | None = None,
) -> Preflight:
    """Check ``code`` for syntax errors and undefined names; add imports that are certain.

    ``packages``: top-level modules the sandbox has beyond the standard library. ``defined``:
    names that exist before the code runs (a stateful session's variables); None when they are
    unknown (code run in a sandbox session someone else filled): then names are neither
    fixed nor reported, only the syntax is checked. Returns the
    code (unchanged when nothing was added) and one line per problem left, e.g.
    ``line 4: name 'total' is used but never defined``. ``stdin``: the input the code will
    read, when known. With `Heuristic.STDIN_REWRITE` on, the one ``input()`` of a program given
    several lines becomes ``sys.stdin.read()`` (``sys.stdin`` as a reader's source) and a path
    ``'-'`` becomes ``sys.stdin`` in ``rewrite``, never in ``code``; with
    `Heuristic.INPUT_LINES` on, several such calls, or one with a prompt, are a problem.
    """
    checks = checks or Checks()
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return Preflight(code, problems=[f"line {exc.lineno}: syntax error: {exc.msg}"],
                         stage=Stage.SYNTAX, kind=Kind.SYNTAX_ERROR)
    except ValueError as exc:
        return Preflight(code, problems=[f"the code does not parse: {exc}"],
                         stage=Stage.SYNTAX, kind=Kind.SYNTAX_ERROR)
    calls = _reads_one_line_of_many(tree, stdin)
    instead = _whole_input_instead(calls[0], tree) if len(calls) == 1 else None
    reads = ([_one_line_problem(calls[0], stdin)]
             if calls and stdin and instead is None and Heuristic.INPUT_LINES in checks else [])
    if defined is None:
        return Preflight(code, problems=reads, stage=Stage.NAMES if reads else None,
                         kind=Kind.INPUT_LINES if reads else None)
    replacements = [(node, "sys.stdin") for node in _stdin_path_arguments(tree)]
    if instead is not None:
        # Measured 2026-12-01: the first repair of all 6 such programs on the task benchmark
        # did exactly this, a model round each; as a second candidate it costs no round.
        replacements.append((calls[0], instead))
    rewrite = None
    if replacements and Heuristic.STDIN_REWRITE in checks:
        rewritten = _read_stdin_instead(code, replacements)
        rewrite = _with_imports(rewritten, ast.parse(rewritten), packages, defined,
                                extra=["sys"]).code
    fixed = _with_imports(code, tree, packages, defined)
    problems = [*reads, *fixed.problems]
    if not problems:
        return Preflight(fixed.code, added=fixed.added, rewrite=rewrite)
    return Preflight(fixed.code, added=fixed.added, problems=problems, stage=Stage.NAMES,
                     kind=Kind.INPUT_LINES if reads else Kind.UNDEFINED_NAME, rewrite=rewrite)


def _with_imports(code: str, tree: ast.Module, packages: Collection[str],
                  defined: Collection[str], *, extra: Collection[str] = ()) -> Preflight:
    """``code`` with the imports that are certain added, and the names left undefined.
    ``extra``: modules the code now uses (``sys`` for a rewrite), imported unless present."""
    added = [f"import {name}" for name in extra
             if not (name == "sys" and _imports_sys(tree)) and name not in defined]
    defined = {*defined, *extra}  # not reported undefined below: it is being added
    problems: list[str] = []
    seen: set[str] = set()
    for name, line in _undefined(tree, defined):
        if name in seen:
            continue
        seen.add(name)
        statement = _import_for(name, tree, packages)
        if statement is not None:
            added.append(statement)
        else:
            problems.append(f"line {line}: name '{name}' is used but never defined")
    if not added:
        return Preflight(code, problems=problems)
    lines = code.splitlines(keepends=True)
    at = _insert_at(tree)
    while at < len(lines) and lines[at].startswith(("#!", "# -*-")):  # shebang, coding line
        at += 1
    block = "".join(f"{statement}\n" for statement in added)
    fixed = "".join(lines[:at]) + block + "".join(lines[at:])
    return Preflight(fixed, added=added, problems=problems)


def defined_names(code: str) -> set[str]:
    """Every name ``code`` binds anywhere (assignments, defs, classes, imports): what a later
    program in the same namespace may use. Over-generous on purpose: a name bound only inside a
    function is included, so the pre-flight never calls a session's variable undefined."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.update(node.names)
    return names


def names_used(code: str, names: Collection[str]) -> set[str]:
    """Which of ``names`` (a session's variables) ``code`` reads without binding them first."""
    if not names:
        return set()
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set()
    return {name for name, _ in _undefined(tree, ())} & set(names)


def describe_problems(problems: list[str]) -> str:
    """The problems as the model is shown them."""
    return "checked before running, the code has problems:\n" + "\n".join(
        f"- {problem}" for problem in problems
    )
