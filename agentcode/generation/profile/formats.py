"""Guesses at structured text: JSON, JSON Lines, TOML, INI, dotenv, YAML, logs, Markdown.

Each ``guess_*`` takes the decoded text, its non-blank lines and whether that is all the data,
and returns what it found (`facts.Found`) or None when the text is not of its format.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence

from agentcode.generation.profile.facts import MAX_KEYS, MAX_ROWS, PROFILE_BYTES, Found, Guess

# --- JSON ------------------------------------------------------------------------------------

def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        inner = {_kind(v) for v in value[:50]}
        return f"list of {inner.pop()}s" if len(inner) == 1 else "list"
    return "object"


def _keys_summary(records: Sequence[dict[str, object]]) -> tuple[list[str], str]:
    """(keys in first-seen order, "id (integer), email (string, missing in 3), ...")."""
    seen: dict[str, Counter[str]] = {}
    for record in records:
        for key, value in record.items():
            seen.setdefault(str(key), Counter())[_kind(value)] += 1
    parts = []
    for key, kinds in list(seen.items())[:MAX_KEYS]:
        kind = "/".join(k for k, _ in kinds.most_common(2))
        absent = len(records) - sum(kinds.values())
        parts.append(f"{key} ({kind}{f', missing in {absent}' if absent else ''})")
    if len(seen) > MAX_KEYS:
        parts.append(f"... {len(seen) - MAX_KEYS} more keys")
    return list(seen), ", ".join(parts)


def _describe_json(value: object) -> tuple[list[str], str]:
    if isinstance(value, dict):
        keys = [str(k) for k in value]
        parts = []
        for key, item in list(value.items())[:MAX_KEYS]:
            if isinstance(item, list) and item and all(isinstance(i, dict) for i in item[:50]):
                _, inner = _keys_summary(item[:MAX_ROWS])
                parts.append(f"{key} (list of {len(item)} objects: {inner})")
            elif isinstance(item, dict):
                inner_keys = ", ".join(list(map(str, item))[:MAX_KEYS])
                parts.append(f"{key} (object with keys {inner_keys})")
            else:
                parts.append(f"{key} ({_kind(item)})")
        return keys, f"a JSON object with keys {', '.join(parts)}"
    if isinstance(value, list):
        if value and all(isinstance(i, dict) for i in value[:MAX_ROWS]):
            keys, summary = _keys_summary(value[:MAX_ROWS])  # type: ignore[arg-type]
            return keys, f"a JSON array of {len(value)} objects with keys {summary}"
        return [], f"a JSON array of {len(value)} {_kind(value).removeprefix('list of ')}"
    return [], f"a single JSON {_kind(value)}"


def guess_json(text: str, body: list[str], complete: bool) -> Guess:
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        if complete or _parses(body[0]):
            return None  # not JSON, or JSON Lines
        return _json_head(stripped)
    keys, fact = _describe_json(value)
    return Found("json", (fact,), keys=tuple(keys))


def _json_head(text: str) -> Found:
    """A JSON document cut at `PROFILE_BYTES`: the array's first items, when it is one."""
    decoder = json.JSONDecoder()
    items: list[object] = []
    index = 1
    while text.startswith("[") and len(items) < MAX_ROWS:
        while index < len(text) and text[index] in " \t\r\n,":
            index += 1
        try:
            item, index = decoder.raw_decode(text, index)
        except (ValueError, RecursionError):
            break
        items.append(item)
    if items and all(isinstance(i, dict) for i in items):
        _, summary = _keys_summary(items)  # type: ignore[arg-type]
        return Found("json", (f"a JSON array of more than {len(items):,} objects (the first "
                              f"{PROFILE_BYTES // 1024} KB examined) with keys {summary}",))
    return Found("json", (f"JSON, larger than the first {PROFILE_BYTES // 1024} KB examined",))


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


def guess_jsonl(text: str, body: list[str], complete: bool) -> Guess:
    if not body or not body[0].lstrip().startswith(("{", "[")):
        return None
    records: list[object] = []
    bad: list[int] = []
    for number, line in enumerate(body[:MAX_ROWS], 1):
        try:
            records.append(json.loads(line))
        except (ValueError, RecursionError):
            bad.append(number)
    if not records or len(bad) > max(1, len(body[:MAX_ROWS]) // 10):
        return None
    objects = [r for r in records if isinstance(r, dict)]
    count = f"{len(body):,}" if complete else f"more than {len(body):,}"
    notes = (f"{len(bad)} non-blank line(s) are not valid JSON (e.g. line {bad[0]}): skip "
             "them",) if bad else ()
    if len(objects) == len(records):
        keys, summary = _keys_summary(objects)
        fact = f"JSON Lines: {count} records, one object per line, with keys {summary}"
        return Found("jsonl", (fact,), notes, rows=len(body), keys=tuple(keys))
    return Found("jsonl", (f"JSON Lines: {count} JSON values, one per line",), notes,
                  rows=len(body))


# --- configuration files ---------------------------------------------------------------------

def _sections(pairs: Iterable[tuple[str, list[str]]]) -> str:
    shown = [f"[{name}] ({', '.join(keys[:MAX_KEYS]) or 'no keys'})" if name else
             f"before any section: {', '.join(keys[:MAX_KEYS])}"
             for name, keys in list(pairs)[:MAX_KEYS]]
    return "; ".join(shown)


def guess_toml(text: str, body: list[str], complete: bool) -> Guess:
    if not complete or not any("=" in line for line in body):
        return None
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return None
    if not data:
        return None
    tables = [(name, list(map(str, value)) if isinstance(value, dict) else [])
              for name, value in data.items() if isinstance(value, dict)]
    top = [name for name, value in data.items() if not isinstance(value, dict)]
    fact = "TOML" + (f" with top-level keys {', '.join(top[:MAX_KEYS])}" if top else "")
    if tables:
        fact += f"; tables {_sections(tables)}"
    return Found("toml", (fact,), keys=tuple(map(str, data)))


_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_INI_KEY = re.compile(r"^\s*([^=:#;\s\[][^=:]*?)\s*[=:]")


def guess_ini(text: str, body: list[str], complete: bool) -> Guess:
    sections: dict[str, list[str]] = {}
    current = ""
    for line in body:
        if line.lstrip().startswith(("#", ";")):
            continue
        header = _SECTION.match(line)
        if header:
            current = header.group(1).strip()
            sections.setdefault(current, [])
        elif (key := _INI_KEY.match(line)) is not None:
            sections.setdefault(current, []).append(key.group(1))
    named = [name for name in sections if name]
    if not named:
        return None
    fact = f"INI with {len(named)} section(s): {_sections(sections.items())}"
    return Found("ini", (fact,), keys=tuple(named))


_DOTENV = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(\S*|\"[^\"]*\"|'[^']*')\s*$")


def guess_dotenv(text: str, body: list[str], complete: bool) -> Guess:
    content = [line for line in body if not line.lstrip().startswith("#")]
    matches = [m for m in map(_DOTENV.match, content) if m]
    if not content or len(matches) < 0.8 * len(content):
        return None
    keys = [m.group(1) for m in matches]
    quoted = any(m.group(2)[:1] in "\"'" for m in matches)
    notes = ("some values are quoted: strip the quotes",) if quoted else ()
    fact = f"KEY=VALUE lines (dotenv): {', '.join(keys[:MAX_KEYS])}"
    return Found("dotenv", (fact,), notes, keys=tuple(keys))


_YAML_KEY = re.compile(r"^([^\s#\-][^:]*):(?:\s|$)")
_YAML_LINE = re.compile(r"^\s*(?:- |-$|[^\s#][^:,]*:(?:\s|$))")


def guess_yaml(text: str, body: list[str], complete: bool) -> Guess:
    content = [line for line in body if not line.lstrip().startswith("#")]
    if len(content) < 2 or sum(bool(_YAML_LINE.match(line)) for line in content) < \
            0.7 * len(content):
        return None
    keys = [m.group(1).strip() for m in map(_YAML_KEY.match, content) if m]
    if not keys:
        return None  # a bulleted list is text
    fact = f"YAML-like text with top-level keys {', '.join(keys[:MAX_KEYS])}"
    return Found("yaml", (fact,), ("a YAML parser may not be installed: check the imports "
                                    "you may use",), keys=tuple(keys))


# --- logs ------------------------------------------------------------------------------------

_ACCESS = re.compile(
    r'^(\S+) \S+ \S+ \[([^\]]+)\] "(?:[A-Z]+ \S+(?: [^"]*)?|-)" (\d{3}) (\d+|-)( "[^"]*" "[^"]*")?'
)
_LEVEL = re.compile(r"\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL|SEVERE)\b")
_STAMPS = (
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"),
     "YYYY-MM-DD HH:MM:SS"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "YYYY-MM-DD"),
    (re.compile(r"[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}"), "Mon DD HH:MM:SS (syslog)"),
    (re.compile(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}(?: [+-]\d{4})?"),
     "DD/Mon/YYYY:HH:MM:SS +ZZZZ"),
    (re.compile(r"\d{1,2}:\d{2}:\d{2}"), "HH:MM:SS"),
)
_LOGFMT = re.compile(r"\b[A-Za-z_][\w.]*=(?:\"[^\"]*\"|\S+)")


def _template(line: str) -> str:
    """The shape of a log line: its time stamp, level and numbers replaced by placeholders."""
    shape = line
    for pattern, _ in _STAMPS:
        shape = pattern.sub("<time>", shape, count=1)
        if "<time>" in shape:
            break
    shape = _LEVEL.sub("<LEVEL>", shape, count=1)
    shape = re.sub(r"\b\d+(?:\.\d+)*\b", "<n>", shape)
    return shape if len(shape) <= 120 else shape[:117] + "..."


def guess_log(text: str, body: list[str], complete: bool) -> Guess:
    sample = body[:MAX_ROWS]
    if len(sample) < 2:
        return None
    count = f"{len(body):,}" if complete else f"more than {len(body):,}"
    access = [m for m in map(_ACCESS.match, sample) if m]
    if len(access) >= 0.8 * len(sample):
        kind = "Combined" if all(m.group(5) for m in access) else "Common"
        fields = "client IP, ident, user, [time], \"request\", status, bytes"
        if kind == "Combined":
            fields += ", \"referer\", \"user agent\""
        facts = (f"a web server access log ({kind} Log Format), {count} lines",
                 f"fields: {fields}", f"example: {sample[0][:160]}")
        notes = (f"{len(sample) - len(access)} line(s) do not match the format",) \
            if len(access) < len(sample) else ()
        return Found("log", facts, notes, rows=len(body))
    levels = [m.group(1) for m in map(_LEVEL.search, sample) if m]
    stamped = [label for label in map(_stamp, sample) if label is not None]
    logfmt = sum(len(_LOGFMT.findall(line)) >= 2 for line in sample)
    if logfmt >= 0.8 * len(sample):
        keys = list(dict.fromkeys(k.split("=")[0] for line in sample[:50]
                                  for k in _LOGFMT.findall(line)))
        fact = f"key=value log lines (logfmt), {count} lines, keys {', '.join(keys[:MAX_KEYS])}"
        return Found("log", (fact, f"example: {sample[0][:160]}"), rows=len(body),
                      keys=tuple(keys))
    if len(levels) < 0.6 * len(sample) and len(stamped) < 0.8 * len(sample):
        return None
    facts_list = [f"a log, {count} lines, lines like: {_template(sample[0])}"]
    if stamped:
        facts_list.append(f"time stamps {Counter(stamped).most_common(1)[0][0]}")
    if levels:
        shown = ", ".join(f"{name} {n}" for name, n in Counter(levels).most_common())
        facts_list.append(f"levels in the first {len(sample):,} lines: {shown}")
    odd = len(sample) - max(len(levels), len(stamped))
    notes = (f"{odd} line(s) have no level or time stamp (continuations?)",) if odd > 0 else ()
    return Found("log", tuple(facts_list), notes, rows=len(body))


def _stamp(line: str) -> str | None:
    """The format of the time stamp that starts ``line`` (followed by a space), or None."""
    start = line.lstrip("[")
    for pattern, label in _STAMPS:
        match = pattern.match(start)
        if match is not None:
            rest = start[match.end():]
            return label if rest[:1] in (" ", "]", "\t") else None
    return None



# --- other text ------------------------------------------------------------------------------

def guess_markdown(text: str, body: list[str], complete: bool) -> Guess:
    headings = [line for line in body if re.match(r"^#{1,6} \S", line)]
    fences = sum(line.lstrip().startswith("```") for line in body) // 2
    if not headings and not fences:
        return None
    rest = [line for line in body if line not in headings]
    if not fences and rest and sum(bool(_YAML_LINE.match(line)) for line in rest) >= \
            0.7 * len(rest):
        return None  # YAML (or a config file) whose "# ..." lines are comments
    levels = Counter(len(line) - len(line.lstrip("#")) for line in headings)
    shown = ", ".join(f"{n} at level {level}" for level, n in sorted(levels.items()))
    fact = f"Markdown, {len(body):,} non-blank lines, headings: {shown or 'none'}"
    if fences:
        fact += f", {fences} fenced code block(s)"
    return Found("markdown", (fact,))


