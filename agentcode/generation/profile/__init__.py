"""What the program's known input is: a cheap profile of the data, computed on the host.

The model used to see only the first lines of its input. On held-out tasks the embedded model
then failed on facts a sample shows poorly: a `KeyError` for a column the input has (the rows
were split by hand and a quoted field broke them, or a byte-order mark was glued to the first
name), a header counted as data, a date format guessed wrong. `profile_data` states those facts
(format, CSV dialect, header or not, column names and types, row count; JSON and JSON Lines
keys; a log's line pattern; INI/TOML/YAML sections) in a few lines that `describe` words for the
model; `generation.codegen.describe_input` adds them to every data context, so the CLI, the
library, the server and MCP all send them.

Pure functions of bytes: nothing here runs user code or imports a third-party parser. Bounded:
the structure is read from the first `PROFILE_BYTES` (counts of lines cover all the data) and at
most `MAX_ROWS` rows, so a profile costs milliseconds even for a large input.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentcode.generation.profile.facts import MAX_DESCRIPTION, PROFILE_BYTES, Column, Found
from agentcode.generation.profile.formats import (
    guess_dotenv,
    guess_ini,
    guess_json,
    guess_jsonl,
    guess_log,
    guess_markdown,
    guess_toml,
    guess_yaml,
)
from agentcode.generation.profile.tables import guess_csv, guess_numbers

__all__ = ["Column", "Profile", "profile_data"]


@dataclass(frozen=True, slots=True)
class Profile:
    """The facts about one input. ``format`` is one of: empty, binary, json, jsonl, csv, log,
    ini, toml, yaml, dotenv, markdown, numbers, text. ``facts`` are format-specific sentences;
    ``notes`` the pitfalls (encoding, line endings, quoted fields, ragged rows)."""

    format: str
    size: int
    lines: int
    blank_lines: int = 0
    encoding: str = "utf-8"
    crlf: bool = False
    complete: bool = True  # False: only the first PROFILE_BYTES were examined
    delimiter: str | None = None
    header: bool | None = None  # None: not a table, or undecided
    rows: int | None = None
    columns: tuple[Column, ...] = ()
    keys: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def describe(self, source: str = "the input", *, file: str | None = None) -> str:
        """The profile in words for the model, at most `MAX_DESCRIPTION` characters; ``file``:
        the input is that file in the work dir (else stdin), for the line saying how to read it.
        """
        lines = [f"Profile of {source}: {', '.join(self.facts) or self.format}."]
        if self.columns:
            lines.append("Columns: " + "; ".join(c.describe() for c in self.columns) + ".")
        how = self.reading(file)
        if how:
            lines.append(f"Read it with {how}.")
        lines += [f"Note: {note}." for note in self.notes]
        text = "\n".join(lines)
        return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 3] + "..."


    def reading(self, file: str | None = None) -> str | None:
        """The standard library's way to read this format from stdin or ``file``, or None.

        The embedded model, shown only a sample, passed a string to ``csv.DictReader`` (which
        then iterates its characters) or the one line ``input()`` returns (dev-split tasks).
        """
        encoding = {"latin-1": "latin-1", "utf-8 with BOM": "utf-8-sig"}.get(self.encoding)
        table = self.format == "csv"  # the csv module wants newline='' on what it reads
        options = "".join([", newline=''" if table else "",
                           f", encoding={encoding!r}" if encoding else ""])
        if file is not None:
            stream = f"open({file!r}{options})"
        elif encoding:
            stream = f"io.TextIOWrapper(sys.stdin.buffer{options})"
        else:
            stream = "sys.stdin"
        if table:
            dialect = "" if self.delimiter in (None, ",") else f", delimiter={self.delimiter!r}"
            if self.header:
                return (f"csv.DictReader({stream}{dialect}) (each row a dict keyed by the "
                        "header names)")
            return f"csv.reader({stream}{dialect}) (each row a list)"
        if self.format == "json":
            return f"json.load({stream})"
        if self.format == "jsonl":
            return f"json.loads(line) for each non-blank line of {stream}"
        if self.format == "toml":
            return (f"tomllib.load(open({file!r}, 'rb'))" if file is not None
                    else "tomllib.loads(sys.stdin.read())")
        if self.format == "ini":
            return ("configparser.ConfigParser() and its read("
                    f"{file!r})" if file is not None else
                    "configparser.ConfigParser() and its read_string(sys.stdin.read())")
        return None


def profile_data(data: bytes, *, complete: bool = True) -> Profile:
    """The profile of ``data`` (``complete`` False: it is only the head of a larger input)."""
    size = len(data)
    head = data[:PROFILE_BYTES]
    complete = complete and size <= PROFILE_BYTES
    lines = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    if not data.strip():
        return Profile("empty", size, lines, complete=complete,
                       facts=("empty" if not data else "only whitespace",))
    if b"\x00" in head[:8192]:
        return Profile("binary", size, lines, encoding="binary", complete=complete,
                       facts=(f"binary data, {size:,} bytes",))
    text, encoding, notes = _decode(head)
    if not complete:
        text = text[: text.rfind("\n") + 1] or text  # no half line at the cut
    crlf = "\r\n" in text
    if crlf:
        notes.append("Windows line endings (CRLF); text-mode reads turn them into \\n")
    all_lines = text.splitlines()
    blank = sum(1 for line in all_lines if not line.strip())
    if blank and lines > 2:
        notes.append(f"{blank} blank line{'s' if blank != 1 else ''} (not data)")
    body = [line for line in all_lines if line.strip()]
    found = next(filter(None, (guess(text, body, complete) for guess in _GUESSES)), None)
    if found is None:
        words = sum(len(line.split()) for line in body)
        scope = "" if complete else f" in the first {PROFILE_BYTES // 1024} KB"
        found = Found("text", (f"plain text, {len(body):,} non-blank lines, {words:,} words"
                               f"{scope}",))
    return Profile(found.format, size, lines, blank, encoding, crlf, complete, found.delimiter,
                   found.header, found.rows, found.columns, found.keys, found.facts,
                   (*found.notes, *notes))


def _decode(head: bytes) -> tuple[str, str, list[str]]:
    notes: list[str] = []
    if head.startswith(b"\xef\xbb\xbf"):
        notes.append("the data starts with a UTF-8 byte-order mark (\\ufeff): decode with "
                     "'utf-8-sig' or strip it, or the first name carries it")
        return head[3:].decode("utf-8", "replace"), "utf-8 with BOM", notes
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            notes.append("not valid UTF-8 (looks like Latin-1): read the bytes "
                         "(sys.stdin.buffer / open(..., 'rb')) and decode('latin-1')")
            return head.decode("latin-1"), "latin-1", notes
        text = head[: exc.start].decode("utf-8")
    return text, ("ascii" if text.isascii() else "utf-8"), notes



_GUESSES = (guess_json, guess_jsonl, guess_toml, guess_ini, guess_log, guess_csv, guess_dotenv,
            guess_markdown, guess_yaml, guess_numbers)

