"""Guesses at tables (CSV, TSV, semicolon- or pipe-separated) and columns of numbers.

The dialect comes from `csv.Sniffer`, confirmed by the share of rows that have the same number
of fields (the sniffer alone calls prose with commas a table); the header is decided by the
columns' types, not by `Sniffer.has_header`, which guesses from the cells' lengths.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter
from collections.abc import Iterable

from agentcode.generation.profile.facts import (
    MAX_COLUMNS,
    MAX_ROWS,
    SHOWN_VALUES,
    Column,
    Found,
    Guess,
)

# --- tables ----------------------------------------------------------------------------------

_THOUSANDS = "number with thousands separators (like '1,234.5')"
_MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "nil", "-", "--", "?"})
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("integer", re.compile(r"^[+-]?\d+$")),
    ("decimal number", re.compile(r"^[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?$")),
    (_THOUSANDS, re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")),
    ("decimal number with a comma for the point (like '1,50')",
     re.compile(r"^[+-]?\d+,\d+$")),
    ("money (a currency sign before the number)",
     re.compile(r"^[+-]?[$€£¥]\s?\d[\d,]*(?:\.\d+)?$")),
    ("percentage (like '12.5%')", re.compile(r"^[+-]?\d+(?:\.\d+)?\s?%$")),
    ("boolean", re.compile(r"^(?:true|false|yes|no)$", re.IGNORECASE)),
    ("date-time YYYY-MM-DD HH:MM[:SS]",
     re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$")),
    ("date YYYY-MM-DD", re.compile(r"^\d{4}-\d{2}-\d{2}$")),
    ("date with slashes", re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}$")),
    ("date with dots (DD.MM.YYYY)", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$")),
    ("time HH:MM[:SS]", re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")),
)
_NUMERIC = {"integer", "decimal number"}


def _cell_kind(value: str) -> str | None:
    """The kind of one non-missing cell, None for text."""
    for name, pattern in _KINDS:
        if pattern.match(value):
            return name
    return None


def _slash_order(values: Iterable[str]) -> str:
    firsts, seconds = [], []
    for value in values:
        parts = value.split("/")
        firsts.append(int(parts[0]))
        seconds.append(int(parts[1]))
    if any(n > 12 for n in firsts):
        return "date DD/MM/YYYY"
    if any(n > 12 for n in seconds):
        return "date MM/DD/YYYY"
    return "date with slashes (DD/MM or MM/DD: unclear)"


def _column(name: str, cells: list[str]) -> Column:
    present = [c.strip() for c in cells if c.strip().lower() not in _MISSING]
    missing = len(cells) - len(present)
    if not present:
        return Column(name, "always empty", 0)
    kinds = Counter(_cell_kind(value) for value in present)
    if kinds.get("integer") and kinds.get("decimal number"):  # 3 and 2.5 are one column
        kinds["decimal number"] += kinds.pop("integer")
    kind, count = kinds.most_common(1)[0]
    notes = []
    if kind is not None and count < len(present):
        odd = [v for v in present if _cell_kind(v) != kind
               and not (kind == "decimal number" and _cell_kind(v) == "integer")]
        shown = ", ".join(repr(v) for v in list(dict.fromkeys(odd))[:3])
        if count >= 0.8 * len(present):
            notes.append(f"{len(odd)} value(s) are not: {shown}")
        else:
            kind = None
    if kind is None:
        distinct = list(dict.fromkeys(present))
        if len(distinct) <= SHOWN_VALUES and len(present) >= 2 * len(distinct):
            shown = ", ".join(repr(v) if "," in v else v for v in distinct)
            label = f"text, {len(distinct)} values: {shown}"
        else:
            longest = max(present, key=len)
            label = f"text, e.g. {present[0][:40]!r}" + (
                f", up to {len(longest)} chars" if len(longest) > 40 else "")
    elif kind == "date with slashes":
        label = _slash_order(v for v in present if _cell_kind(v) == kind)
    else:
        label = kind
    if any(c != c.strip() for c in cells if c.strip()):
        notes.append("values have spaces around them")
    return Column(name, label, missing, "; ".join(notes))


def _has_header(rows: list[list[str]]) -> bool | None:
    """True when the first row names the columns (a typed column's first cell is not of its
    type), False when it is data like the rest, None when nothing says."""
    first, rest = rows[0], rows[1:]
    if not rest:
        return None
    width = len(first)
    votes = []
    for index in range(width):
        below = [row[index].strip() for row in rest if index < len(row)]
        below = [v for v in below if v.lower() not in _MISSING]
        kinds = Counter(_cell_kind(v) for v in below)
        if not below or kinds.most_common(1)[0][0] is None:
            continue
        top = first[index].strip()
        if top.lower() in _MISSING:
            continue
        kind = kinds.most_common(1)[0][0]
        same = _cell_kind(top) == kind or ({_cell_kind(top), kind} <= _NUMERIC)
        votes.append(not same)
    if votes:
        return sum(votes) > len(votes) / 2
    # Every column is text: a first row of short distinct names that never recur below.
    names = [cell.strip() for cell in first]
    recurs = any(names[i] in {row[i].strip() for row in rest if i < len(row)}
                 for i in range(width))
    looks = all(re.fullmatch(r"[A-Za-z_][\w .()/#-]{0,30}", n) for n in names)
    named = any(word in _HEADER_WORDS for n in names for word in re.split(r"[\W_]+", n.lower()))
    return True if looks and named and not recurs and len(set(names)) == width else None


# Words that name columns: an all-text first row with one of them is a header ("name,city").
_HEADER_WORDS = frozenset({
    "id", "name", "first", "last", "full", "email", "mail", "city", "country", "state", "region",
    "date", "time", "timestamp", "year", "month", "day", "age", "price", "amount", "total", "qty",
    "quantity", "count", "value", "score", "status", "type", "kind", "category", "product", "sku",
    "description", "title", "user", "username", "login", "code", "level", "message", "msg", "url",
    "path", "ip", "host", "port", "phone", "address", "zip", "salary", "department", "dept",
    "item", "units", "cost", "revenue", "sales", "rating", "grade", "key", "label", "note",
    "notes", "comment", "tags", "size", "weight", "height", "width", "length", "lat", "lon",
    "latitude", "longitude", "start", "end", "duration", "author", "company", "team", "role",
    "group", "event", "action", "source", "target", "subject", "text", "unit", "currency",
    "balance", "account", "order", "customer", "invoice", "number", "version", "word", "words",
    "line", "file", "language",
})


def _dialect(sample: str) -> tuple[str, bool] | None:
    """(delimiter, skipinitialspace) of a delimited table, or None."""
    try:
        sniffed = csv.Sniffer().sniff(sample[:16384], delimiters=",;\t|")
        candidates = [sniffed.delimiter, ",", "\t", ";", "|"]
        initial = bool(sniffed.skipinitialspace)
    except csv.Error:
        candidates, initial = [",", "\t", ";", "|"], False
    best: tuple[float, str] | None = None
    lines = [line for line in sample.splitlines() if line.strip()][:200]
    for delimiter in dict.fromkeys(candidates):
        widths = Counter(len(row) for row in csv.reader(lines, delimiter=delimiter))
        width, count = widths.most_common(1)[0]
        if width < 2:
            continue
        score = count / sum(widths.values())
        if score >= 0.8 and (best is None or score > best[0]):
            best = (score, delimiter)
    if best is None:
        return None
    return best[1], initial and best[1] == ","


def guess_csv(text: str, body: list[str], complete: bool) -> Guess:
    if len(body) < 2 or all(_cell_kind(line.strip()) == _THOUSANDS for line in body):
        return None
    found = _dialect(text)
    if found is None:
        return None
    delimiter, initial = found
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=initial)
    try:
        rows = [row for row in itertools.islice(reader, MAX_ROWS + 1)
                if any(cell.strip() for cell in row)]
    except csv.Error:  # a NUL or an unterminated quote: not a table we can describe
        return None
    if len(rows) < 2:
        return None
    width = Counter(len(row) for row in rows).most_common(1)[0][0]
    cells = [cell for row in rows[:50] for cell in row]
    # Prose with commas is not a table: its "fields" are long runs of words.
    if delimiter in ", " and sum(len(c.split()) for c in cells) > 4 * len(cells):
        return None
    header = _has_header(rows)
    # Lines of words with a comma in them are prose, not a table without a header.
    if not header and delimiter == "," and sum(" " in c.strip() for c in cells) > len(cells) / 2:
        return None
    data_rows = rows[1:] if header else rows
    names = ([cell.strip() or f"column {i + 1}" for i, cell in enumerate(rows[0])]
             if header else [f"column {i + 1}" for i in range(width)])
    columns = tuple(
        _column(names[i] if i < len(names) else f"column {i + 1}",
                [row[i] for row in data_rows if i < len(row)])
        for i in range(min(width, MAX_COLUMNS))
    )
    name = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}[delimiter]
    total = len(data_rows) if complete and len(rows) <= MAX_ROWS else None
    count = f"{total:,} data rows" if total is not None else f"more than {len(data_rows):,} rows"
    lead = {True: "with a header row", False: "with no header row (the first line is data)",
            None: "the first row may be a header or data"}[header]
    facts = [f"{'TSV' if delimiter == chr(9) else 'CSV'} ({name}-separated"
             f"{', a space after each comma' if initial else ''}), {lead}, {count}, "
             f"{width} columns"]
    notes: list[str] = []
    if header is not False and rows[0] and rows[0][0].strip() != rows[0][0].strip('"'):
        notes.append("the header names are quoted")
    if header and len(set(names)) < len(names):
        notes.append("some column names repeat")
    ragged = [i for i, row in enumerate(data_rows, 1) if len(row) != width]
    if ragged:
        notes.append(f"{len(ragged)} row(s) do not have {width} fields (e.g. data row "
                     f"{ragged[0]})")
    quoted = [line for line in body[:MAX_ROWS] if '"' in line]
    if any(delimiter in cell for row in rows for cell in row):
        notes.append(f"some quoted fields contain the {name}: parse with the csv module, "
                     f"not split('{delimiter if delimiter != chr(9) else chr(92) + 't'}')")
    elif quoted:
        notes.append("some fields are in double quotes: the csv module removes them")
    if len(rows) < len(body[: MAX_ROWS + 1]) and not ragged:
        notes.append("some quoted fields span several lines: use the csv module")
    return Found("csv", tuple(facts), tuple(notes), delimiter, header, total, columns,
                  tuple(names) if header else ())



def guess_numbers(text: str, body: list[str], complete: bool) -> Guess:
    values = [line.strip() for line in body]
    kinds = Counter(_cell_kind(v) for v in values)
    numeric = kinds["integer"] + kinds["decimal number"] + kinds[_THOUSANDS]
    if numeric < 0.9 * len(values):
        return None
    kind = "integers" if kinds["integer"] == len(values) else "numbers"
    if kinds[_THOUSANDS]:
        kind += " (some with thousands separators: remove the commas)"
    notes = (f"{len(values) - numeric} line(s) are not numbers",) if numeric < len(values) \
        else ()
    count = f"{len(values):,}" if complete else f"more than {len(values):,}"
    return Found("numbers", (f"one number per line, {count} {kind}",), notes,
                 rows=len(values) if complete else None)


