"""Mapping AgentCore results to agentcode types (pure functions, no client)."""

from __future__ import annotations

import base64

from agentcode.sandbox.agentcore.results import (
    ToolResult,
    cap_text,
    file_content,
    listed_entries,
    looks_like_timeout,
    parse_error,
    to_execution,
)


def _result(**fields: object) -> ToolResult:
    result = ToolResult()
    result.add(fields)
    return result


def _execution(result: ToolResult):  # type: ignore[no-untyped-def]
    return to_execution(result, output_cap=1 << 20, duration_ms=5.0)


def test_parse_error_reads_the_last_traceback_line() -> None:
    err = parse_error(
        'warning first\nTraceback (most recent call last):\n  File "x", line 2\n'
        "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n"
    )
    assert err.name == "JSONDecodeError"
    assert err.value == "Expecting value: line 1 column 1 (char 0)"
    assert err.traceback.startswith("Traceback") and "warning first" not in err.traceback


def test_parse_error_strips_terminal_colours_and_handles_bare_names() -> None:
    err = parse_error("\x1b[0;31mKeyboardInterrupt\x1b[0m\n")
    assert (err.name, err.value) == ("KeyboardInterrupt", "")


def test_parse_error_without_a_traceback_keeps_the_message() -> None:
    err = parse_error("something went badly wrong!\n")
    assert (err.name, err.value) == ("Error", "something went badly wrong!")
    assert parse_error("").value  # never an empty explanation


def test_cap_text_counts_dropped_bytes_not_characters() -> None:
    assert cap_text("héllo", 3) == ("hé", 3)  # é is two bytes
    assert cap_text("héllo", 2) == ("h", 4)  # never half a character
    assert cap_text("ok", 10) == ("ok", 0)


def test_results_split_over_events_are_merged() -> None:
    result = ToolResult()
    result.add({"content": [], "structuredContent": {"stdout": "a", "exitCode": 0}})
    result.add({"content": [], "structuredContent": {"stdout": "b", "exitCode": 3}})
    execution = _execution(result)
    assert (execution.stdout, execution.exit_code, execution.error) == ("ab", 3, None)


def test_text_blocks_are_the_output_when_there_is_no_structured_content() -> None:
    ok = _execution(_result(content=[{"type": "text", "text": "hello"}], isError=False))
    assert (ok.stdout, ok.stderr, ok.outputs) == ("hello", "", [])
    failed = _execution(_result(content=[{"type": "text", "text": "NameError: x"}], isError=True))
    assert failed.stderr == "NameError: x" and failed.exit_code == 1
    assert failed.error is not None and failed.error.name == "NameError"


def test_extra_text_and_html_become_outputs() -> None:
    execution = _execution(
        _result(
            content=[
                {"type": "text", "text": "printed\n"},
                {"type": "text", "text": "42"},
                {
                    "type": "resource",
                    "resource": {
                        "type": "text",
                        "uri": "file:///t.html",
                        "mimeType": "text/html",
                        "text": "<b>x</b>",
                    },
                },
            ],
            structuredContent={"stdout": "printed\n", "stderr": "", "exitCode": 0},
        )
    )
    assert [(o.text, o.html) for o in execution.outputs] == [("42", None), (None, "<b>x</b>")]
    assert execution.artifacts == ["file:///t.html"]
    assert execution.duration_ms == 5.0  # no executionTime: our own measurement


def test_error_without_exit_code_is_exit_1() -> None:
    execution = _execution(
        _result(
            content=[],
            structuredContent={"stderr": "ValueError: bad\n", "exitCode": 0},
            isError=True,
        )
    )
    assert execution.exit_code == 1 and not execution.ok


def test_service_timeout_is_told_apart_from_a_python_timeout_error() -> None:
    said = _result(content=[{"type": "text", "text": "Execution timed out"}], isError=True)
    assert looks_like_timeout(said)
    raised = _result(
        content=[],
        structuredContent={"stderr": "Traceback (most recent call last):\nTimeoutError: timed out"},
        isError=True,
    )
    assert not looks_like_timeout(raised)


def test_listing_uses_names_under_the_directory_or_the_uri() -> None:
    listing = _result(
        content=[
            {
                "type": "resource_link",
                "name": "a.csv",
                "uri": "file:///sub/a.csv",
                "description": "File",
            },
            {
                "type": "resource_link",
                "name": "deep",
                "uri": "file:///sub/deep",
                "description": "Directory",
            },
            {"type": "resource_link", "uri": "file:///sub/b.txt"},
            {"type": "text", "text": "ignored"},
        ]
    )
    entries = [(e.path, e.is_dir) for e in listed_entries("sub", listing)]
    assert entries == [("sub/a.csv", False), ("sub/deep", True), ("sub/b.txt", False)]


def test_file_content_picks_the_matching_resource() -> None:
    both = _result(
        content=[
            {
                "type": "resource",
                "resource": {"type": "text", "uri": "file:///x/a.txt", "text": "A"},
            },
            {
                "type": "resource",
                "resource": {
                    "type": "blob",
                    "uri": "file:///b.bin",
                    "blob": base64.b64encode(b"\x00B").decode(),
                },
            },
        ]
    )
    assert file_content("a.txt", both) == b"A"
    assert file_content("b.bin", both) == b"\x00B"  # base64 text is decoded too
    assert file_content("c.txt", both) is None


def test_system_exit_is_an_exit_status_not_an_error() -> None:
    def run(stderr: str) -> tuple[int, object]:
        structured = {"stderr": stderr, "exitCode": 1}
        execution = _execution(_result(content=[], structuredContent=structured, isError=True))
        return execution.exit_code, execution.error

    trace = "Traceback (most recent call last):\n  File ...\n"
    assert run(trace + "SystemExit: 3\n") == (3, None)
    assert run(trace + "SystemExit\n") == (0, None)
    assert run(trace + "SystemExit: bye\n") == (1, None)


def test_summary_is_one_short_line() -> None:
    result = _result(content=[], structuredContent={"stderr": "a\n  b\n" + "c" * 400})
    summary = result.summary()
    assert "\n" not in summary and summary.startswith("a b c") and len(summary) == 300
