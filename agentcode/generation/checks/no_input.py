"""A program that needs no input, for a request that asks for output: run it once, empty stdin.

Without a known input nothing ran a generated program, so the README's own example,
``generate("fibonacci numbers below 100")``, returned a function that was never called: the
program printed nothing and nothing noticed. When the request asks for output (``print``,
``list``, ``show``, a question, or just names what it wants: "fibonacci numbers below 100") and
the program reads nothing (no stdin, no files, no arguments, no network, no endless loop), one
run with empty stdin is cheap (tens of milliseconds locally) and settles it: a crash is a fact,
and so is a clean run that printed nothing and wrote nothing.

Two narrow gates keep it from failing a correct program:

- `asks_for_output`: not for a request for a function, class or module (their code is meant to
  be imported; printing nothing is right), nor for one that keeps its result in a variable (a
  session's next step), nor for one that acts on the machine (rename files, download, serve)
  where an empty sandbox proves nothing;
- `needs_input`: not for a program that reads stdin, files, arguments or the environment, talks
  to the network, opens a window or loops forever: run with nothing, it would fail or hang
  while being right. In a session (the server's, MCP's) the variables of earlier code are
  input too (`generation.verify`).
"""

from __future__ import annotations

import ast
import re

# A request for code to import, not to run: "a function that ...", "class Stack", "a module".
_DEFINITION = re.compile(
    r"\b(?:functions?|class(?:es)?|modules?|library|decorators?|methods?|helpers?|"
    r"dataclass(?:es)?|interfaces?|protocol|context manager|generators? function|"
    r"def|lambda|api|endpoints?|unit tests?|tests? for|pytest)\b",
    re.IGNORECASE,
)
# Requests that act on the machine or the world: an empty sandbox cannot show them working.
_ACTION = re.compile(
    r"\b(?:rename|delete|remove|move|copy|backup|back up|download|upload|fetch|scrape|crawl|"
    r"send|email|post|serve|server|listen|watch|monitor|schedule|daemon|install|connect|"
    r"database|sql|gui|window|tkinter|turtle|pygame|game|play|click|browser|open the|"
    r"read|reads|parse|parses|load|from stdin|stdin|input|file|files|folder|directory|"
    r"argv|arguments?|command[- ]line|environment|env var|interactive|ask the user|prompt the)\b"
    r"|\b[\w-]+\.[A-Za-z]{2,5}\b",  # a file or host name: notes.txt, example.org
    re.IGNORECASE,
)
# A request that leaves its result in a variable (a session's next step uses it): printing
# nothing is right.
_STATE = re.compile(r"\b(?:store|stores|stored|assign|assigns|variables?|keep it|keep them)\b",
                    re.IGNORECASE)
_OUTPUT = re.compile(
    r"\b(?:print|prints|list|lists|show|shows|display|displays|output|outputs|count|compute|"
    r"calculate|generate|find|tell|sum|what|which|how many|how much|who|when|is there|are there)"
    r"\b|\?",
    re.IGNORECASE,
)
_NOUN_PHRASE_WORDS = 10


def asks_for_output(prompt: str) -> bool:
    """Whether ``prompt`` asks for something printed: an output verb or a question, or a short
    phrase that names what it wants ("fibonacci numbers below 100"); never a request for a
    function, class or module, nor one that acts on files, input, the network or a screen, nor
    one that keeps its result in a variable ("compute the mean and store it in m")."""
    text = prompt.strip()
    if not text or _DEFINITION.search(text) or _ACTION.search(text) or _STATE.search(text):
        return False
    if _OUTPUT.search(text):
        return True
    words = re.findall(r"[A-Za-z]{3,}", text)
    return len(words) >= 2 and len(text.split()) <= _NOUN_PHRASE_WORDS


# What a program may not touch to be run with nothing: its input, its environment, the outside.
_INPUT_CALLS = frozenset({"input", "open", "exec", "eval", "breakpoint"})
_INPUT_ATTRIBUTES = frozenset({
    "stdin", "argv", "environ", "getenv", "read_csv", "read_json", "read_excel", "read_table",
    "read_parquet", "read_text", "read_bytes", "loadtxt", "genfromtxt", "fromfile", "load",
    "imread", "listdir", "scandir", "walk", "glob", "iterdir", "sleep", "system", "popen",
    "urlopen", "serve_forever", "mainloop", "getpass",
})
_OUTSIDE_MODULES = frozenset({
    "socket", "http", "urllib", "requests", "httpx", "aiohttp", "ftplib", "smtplib", "imaplib",
    "telnetlib", "ssl", "subprocess", "multiprocessing", "threading", "asyncio", "selectors",
    "signal", "tkinter", "turtle", "pygame", "curses", "flask", "fastapi", "django", "uvicorn",
    "argparse", "getopt", "click", "typer", "fileinput", "sqlite3", "shutil", "glob", "webbrowser",
    "sched", "readline", "getpass", "msvcrt", "termios", "tty",
})


def needs_input(code: str) -> str | None:
    """Why ``code`` cannot be judged by one run with nothing (it reads input, files, arguments
    or the environment, uses the network or a screen, loops forever), or None when it can."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return "it does not parse"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) \
                else [node.module or ""]
            for name in names:
                if name.split(".")[0] in _OUTSIDE_MODULES:
                    return f"it imports {name}"
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in _INPUT_CALLS:
                return f"it calls {func.id}()"
            if isinstance(func, ast.Attribute) and func.attr in _INPUT_ATTRIBUTES:
                return f"it calls .{func.attr}()"
        elif isinstance(node, ast.Attribute) and node.attr in _INPUT_ATTRIBUTES:
            return f"it uses .{node.attr}"
        elif isinstance(node, ast.While) and _always_true(node.test) and not _breaks(node):
            return "it loops forever"
    return None


def _always_true(test: ast.expr) -> bool:
    return isinstance(test, ast.Constant) and bool(test.value)


def _breaks(loop: ast.While) -> bool:
    """Whether a ``while True`` loop has a way out of its own (a break or a return)."""
    return any(isinstance(node, ast.Break | ast.Return) for node in ast.walk(loop))
