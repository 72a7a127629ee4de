"""The input profile (agentcode.generation.profile): messy real-world inputs, described right."""

from __future__ import annotations

import json
import time

import pytest

from agentcode.generation.profile import PROFILE_BYTES, profile_data


def _column(profile, name):  # type: ignore[no-untyped-def]
    return next(c for c in profile.columns if c.name == name)


def test_csv_with_quoted_fields_that_hold_commas_says_use_the_csv_module() -> None:
    data = (b'name,city,amount\n"Smith, J.","New York, NY",12.5\nAnn,Boston,3\n'
            b'"Lee ""Al""",Paris,\n')
    profile = profile_data(data)
    assert (profile.format, profile.delimiter, profile.header, profile.rows) == \
        ("csv", ",", True, 3)
    assert [c.name for c in profile.columns] == ["name", "city", "amount"]
    amount = _column(profile, "amount")
    assert (amount.kind, amount.missing) == ("decimal number", 1)
    assert "parse with the csv module" in profile.describe()


def test_semicolon_dialect_with_decimal_commas_and_day_first_dates() -> None:
    data = "produit;prix;date\ncafé;1,50;03/04/2024\nthé;2,25;25/12/2024\npain;0,90;01/01/2025\n"
    profile = profile_data(data.encode())
    assert (profile.delimiter, profile.header, profile.rows) == (";", True, 3)
    assert "comma for the point" in _column(profile, "prix").kind
    assert _column(profile, "date").kind == "date DD/MM/YYYY"
    assert "semicolon-separated" in profile.describe()


def test_month_first_dates_are_told_apart() -> None:
    profile = profile_data(b"when,amount\n12/25/2024,3\n01/02/2024,4\n")
    assert _column(profile, "when").kind == "date MM/DD/YYYY"


def test_no_header_when_the_first_row_is_data_like_the_rest() -> None:
    profile = profile_data(b"1,alice,30\n2,bob,25\n3,carol,41\n")
    assert (profile.header, profile.rows, profile.keys) == (False, 3, ())
    assert [c.name for c in profile.columns] == ["column 1", "column 2", "column 3"]
    assert "no header row" in profile.describe()


def test_all_text_columns_header_is_decided_only_when_it_names_columns() -> None:
    assert profile_data(b"name,city\nalice,london\nbob,paris\n").header is True
    undecided = profile_data(b"alice,london\nbob,paris\ncarol,rome\n")
    assert undecided.header is None
    assert "may be a header or data" in undecided.describe()


def test_crlf_line_endings_blank_lines_and_missing_values() -> None:
    profile = profile_data(b"id,score\r\n1,90\r\n2,NA\r\n3,75\r\n\r\n")
    assert profile.crlf and profile.blank_lines == 1 and profile.rows == 3
    score = _column(profile, "score")
    assert (score.kind, score.missing) == ("integer", 1)
    assert "CRLF" in profile.describe()


def test_a_byte_order_mark_is_named_and_kept_out_of_the_first_column_name() -> None:
    profile = profile_data(b"\xef\xbb\xbfdate,region\n2024-01-01,West\n2024-01-02,East\n")
    assert profile.encoding == "utf-8 with BOM"
    assert profile.keys == ("date", "region")
    assert "byte-order mark" in profile.describe()


def test_latin1_input_is_flagged_with_how_to_read_it() -> None:
    profile = profile_data("nom,ville\nJos\xe9,Montr\xe9al\nRen\xe9e,Qu\xe9bec\n".encode("latin-1"))
    assert profile.encoding == "latin-1"
    assert "decode('latin-1')" in profile.describe()


def test_unicode_text_counts_lines_words_and_blank_lines() -> None:
    profile = profile_data("Grüße aus Köln\n日本語のテキスト\n\nemoji 🎉 line\n".encode())
    assert (profile.format, profile.encoding, profile.lines, profile.blank_lines) == \
        ("text", "utf-8", 4, 1)


def test_money_percentages_and_thousands_separators_are_named() -> None:
    data = b'item,price,share,total\nA,"$1,200.00",12%,"1,234"\nB,$35.50,3.5%,"5,000.5"\n'
    profile = profile_data(data)
    assert "money" in _column(profile, "price").kind
    assert "percentage" in _column(profile, "share").kind
    assert "thousands" in _column(profile, "total").kind


def test_a_quoted_field_that_spans_lines_is_one_row() -> None:
    profile = profile_data(b'id,comment\n1,"first line\nsecond line"\n2,plain\n3,ok\n')
    assert profile.rows == 3
    assert "span several lines" in profile.describe()


def test_ragged_rows_and_odd_values_in_a_typed_column_are_reported() -> None:
    ragged = profile_data(b"a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11\n")
    assert "1 row(s) do not have 3 fields (e.g. data row 2)" in ragged.describe()
    mixed = profile_data(b"id,qty\n1,5\n2,7\n3,twelve\n4,9\n5,10\n6,11\n")
    qty = _column(mixed, "qty")
    assert qty.kind == "integer" and "'twelve'" in qty.note


def test_tsv_and_pipe_tables() -> None:
    tsv = profile_data(b"id\tname\tscore\n1\tGus\t90\n2\t\tn/a\n3\tAl\t77\n")
    assert (tsv.delimiter, tsv.header) == ("\t", True)
    assert (_column(tsv, "name").missing, _column(tsv, "score").missing) == (1, 1)
    assert tsv.describe().startswith("Profile of the input: TSV")
    pipe = profile_data(b"id|name|score\n1|a|3.5\n2|b|4\n3|c|\n")
    assert (pipe.delimiter, _column(pipe, "score").kind) == ("|", "decimal number")


def test_few_distinct_text_values_are_listed_and_commas_in_them_quoted() -> None:
    rows = "".join(f'{i},"Portland, OR"\n' if i % 2 else f"{i},Denver\n" for i in range(10))
    profile = profile_data(f"id,city\n{rows}".encode())
    assert _column(profile, "city").kind == "text, 2 values: Denver, 'Portland, OR'"


def test_prose_with_commas_is_text_not_a_table() -> None:
    data = (b"Hello, world. This is a sentence, with commas.\nAnother line, of prose here.\n"
            b"And a third, final line of it.\n")
    assert profile_data(data).format == "text"
    assert profile_data(b"Invoice 1 due 12/04/2019, amount $206\n"
                        b"Invoice 2 due 01/05/2019, amount $13\n"
                        b"Invoice 3 due 02/06/2019, amount $99\n").format == "text"


def test_json_array_object_and_nested_lists() -> None:
    users = [{"id": i, "name": f"u{i}", "email": None if i % 3 else f"u{i}@x"} for i in range(9)]
    array = profile_data(json.dumps(users).encode())
    assert (array.format, array.keys) == ("json", ("id", "name", "email"))
    assert "a JSON array of 9 objects" in array.describe()
    nested = profile_data(json.dumps({"orders": users, "meta": {"page": 1}}).encode())
    text = nested.describe()
    assert "orders (list of 9 objects" in text and "meta (object with keys page)" in text


def test_jsonl_keys_missing_counts_and_bad_lines() -> None:
    lines = [json.dumps({"a": i} if i != 4 else {"a": i, "b": "x"}) for i in range(10)]
    lines.insert(2, "not json")
    profile = profile_data("\n".join(lines).encode() + b"\n")
    assert (profile.format, profile.keys, profile.rows) == ("jsonl", ("a", "b"), 11)
    text = profile.describe()
    assert "b (string, missing in 9)" in text and "e.g. line 3" in text


def test_a_json_array_larger_than_the_profiled_part_shows_its_first_objects() -> None:
    data = b"[" + b",".join(b'{"id": %d, "name": "n%d"}' % (i, i) for i in range(30000)) + b"]"
    assert len(data) > PROFILE_BYTES
    profile = profile_data(data)
    assert profile.format == "json" and not profile.complete
    assert "more than 2,000 objects" in profile.describe() and "name (string)" in \
        profile.describe()


def test_configuration_formats() -> None:
    ini = profile_data(b"[server]\nhost = example.org\nport: 8080\n; comment\n[db]\nname = x\n")
    assert (ini.format, ini.keys) == ("ini", ("server", "db"))
    assert "[server] (host, port)" in ini.describe()
    toml = profile_data(b'title = "x"\n[owner]\nname = "Tom"\n[db]\nports = [1, 2]\n')
    assert (toml.format, toml.keys) == ("toml", ("title", "owner", "db"))
    dotenv = profile_data(b'# settings\nAPP=demo\nexport PORT=80\nGREETING="hi there"\n')
    assert (dotenv.format, dotenv.keys) == ("dotenv", ("APP", "PORT", "GREETING"))
    assert "quoted" in dotenv.describe()
    yaml = profile_data(b"# app\nserver:\n  host: localhost\n  port: 8080\ndebug: true\n"
                        b"users:\n  - alice\n  - bob\n")
    assert (yaml.format, yaml.keys) == ("yaml", ("server", "debug", "users"))


def test_logs_access_leveled_syslog_and_logfmt() -> None:
    access = profile_data(
        b'10.0.0.1 - - [12/Mar/2026:10:00:57 +0000] "GET /a HTTP/1.1" 200 5130 "-" "curl/8"\n'
        b'10.0.0.2 - - [12/Mar/2026:10:01:02 +0000] "POST /b HTTP/1.1" 500 12 "-" "curl/8"\n')
    assert access.format == "log" and "Combined Log Format" in access.describe()
    leveled = profile_data(b"2024-01-01 10:00:00,123 INFO app: started\n"
                           b"2024-01-01 10:00:01,456 ERROR db: timeout, retrying\n"
                           b"2024-01-01 10:00:02,789 WARNING app: slow, very slow\n")
    text = leveled.describe()
    assert leveled.format == "log"
    assert "<time> <LEVEL> app: started" in text and "ERROR 1" in text
    syslog = profile_data(b"Mar  1 10:00:01 host sshd[123]: Accepted password for bob\n"
                          b"Mar  1 10:00:05 host sshd[124]: Failed password for root\n")
    assert syslog.format == "log" and "syslog" in syslog.describe()
    logfmt = profile_data(b'time=2024-01-01T10:00:00Z level=info msg="started" port=80\n'
                          b'time=2024-01-01T10:00:01Z level=error msg="boom"\n')
    assert (logfmt.format, logfmt.keys) == ("log", ("time", "level", "msg", "port"))


def test_a_csv_whose_first_column_is_a_date_is_a_table_not_a_log() -> None:
    profile = profile_data(b"date,region,amount\n2026-01-01,West,3.5\n2026-01-02,East,4\n")
    assert profile.format == "csv"


def test_markdown_numbers_empty_and_binary() -> None:
    markdown = profile_data(b"# Title\n\nText.\n\n## Part\n\n```python\nprint(1)\n```\n")
    assert markdown.format == "markdown" and "1 fenced code block" in markdown.describe()
    numbers = profile_data(b"3\n1.5\n\n-2\n")
    assert (numbers.format, numbers.rows) == ("numbers", 3)
    assert profile_data(b"1,234\n5,678\n9,012\n").format == "numbers"
    assert profile_data(b"").format == "empty"
    assert profile_data(b" \n\n").format == "empty"
    assert profile_data(b"\x89PNG\r\n\x1a\n\x00\x00").format == "binary"


@pytest.mark.parametrize("data", [
    b'a,"unterminated\n1,2\n', b"[" * 100_000, b"{" * 50_000 + b"}" * 50_000,
    b"\xff\xfe" + "text".encode("utf-16-le"), b",,,\n,,,\n", b"\n" * 1000, b"x" * 300_000,
])
def test_malformed_input_never_raises_and_the_description_is_bounded(data: bytes) -> None:
    profile = profile_data(data)
    assert len(profile.describe()) <= 1500


def test_a_large_input_costs_little_and_is_counted_whole() -> None:
    rows = b"".join(b"%d,name %d,%d.5\n" % (i, i, i) for i in range(200_000))
    data = b"id,name,value\n" + rows
    started = time.perf_counter()
    profile = profile_data(data)
    assert time.perf_counter() - started < 2.0  # measured ~0.1 s; slack for a busy machine
    assert profile.lines == 200_001 and not profile.complete
    assert "more than" in profile.describe() and profile.header is True


def test_the_data_context_carries_the_profile_of_stdin_and_of_each_file() -> None:
    from agentcode.generation.codegen import describe_files, describe_input

    context = describe_input(b"id,name\n1,a\n2,b\n")
    assert "Profile of stdin: CSV (comma-separated), with a header row, 2 data rows" in context
    assert "Profile" not in describe_input(b"id,name\n1,a\n2,b\n", profile=False)
    files = describe_files({"a.json": b'{"k": 1}', "b.log": b"x INFO y\nz ERROR w\n"})
    assert "Profile of the file a.json: a JSON object with keys k (integer)" in files
    assert "Profile of the file b.log: a log" in files
    truncated = describe_input(b"1\n2\n3\n", total_bytes=10**9, truncated=True)
    assert "Profile of stdin: one number per line, more than 3 integers" in truncated


def test_a_failing_profiler_leaves_the_sample_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import agentcode.generation.profile as profile_module
    from agentcode.generation.codegen import describe_input

    def broken(data: bytes, *, complete: bool = True) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(profile_module, "profile_data", broken)
    context = describe_input(b"a\nb\n")
    assert "```text\na\nb\n```" in context and "Profile" not in context


def test_the_profile_says_how_to_read_the_format_from_stdin_or_the_file() -> None:
    from agentcode.generation.codegen import describe_files, describe_input

    assert "Read it with csv.DictReader(sys.stdin, delimiter=';')" in describe_input(
        b"id;name\n1;a\n2;b\n")
    assert "Read it with csv.reader(sys.stdin)" in describe_input(b"1,a\n2,b\n3,c\n")
    bom = describe_input(b"\xef\xbb\xbfid,name\n1,a\n2,b\n")
    assert ("csv.DictReader(io.TextIOWrapper(sys.stdin.buffer, newline='', "
            "encoding='utf-8-sig'))") in bom
    files = describe_files({"x.json": b'[{"a": 1}]', "c.ini": b"[s]\nk = v\n",
                            "t.csv": b"a,b\n1,2\n"})
    assert "Read it with json.load(open('x.json'))" in files
    assert "read('c.ini')" in files
    assert "csv.DictReader(open('t.csv', newline=''))" in files
    assert "Read it with json.loads(line) for each non-blank line of sys.stdin" in \
        describe_input(b'{"a": 1}\n{"a": 2}\n')
    assert "Read it with" not in describe_input(b"just some words\nmore words\n")
