"""The checks on by default fail none of the correct programs of the false-alarm corpus.

The corpus (benchmarks/false_alarms, requests that are not in benchmarks/tasks) is run in one
local sandbox session through the pre-flight and the judge with the default `Checks`; a
heuristic that fails a correct program there is one `benchmarks/false_alarms.py` must show
off by default. The measured rates are in docs/benchmarks.md ("False alarms").
"""

from __future__ import annotations

from pathlib import Path

from benchmark_modules import load_benchmark

from agentcode.generation.pipeline import DEFAULT_ON, Checks, Heuristic

ROOT = Path(__file__).resolve().parent.parent


alarms = load_benchmark("false_alarms")
CASES = alarms.load_cases()


def test_the_corpus_has_at_least_100_correct_programs_for_requests_not_in_the_task_benchmark(
) -> None:
    import tomllib

    assert len(CASES) >= 100
    assert len({case.name for case in CASES}) == len(CASES)
    tasks = [tomllib.loads(path.read_text(encoding="utf-8"))
             for path in (ROOT / "benchmarks" / "tasks").glob("*.toml")]
    prompts = {task["prompt"].strip().lower() for task in tasks}
    assert not prompts & {case.request.strip().lower() for case in CASES}
    # The cases are in it.
    requests = {case.request for case in CASES}
    assert {"print the CSV's header", "count the requests to index.html",
            "print the log's error lines", "print the path to config.json",
            "how big is data.csv compared to other.csv"} <= requests


def test_the_default_checks_fire_on_no_correct_program() -> None:
    from agentcode.config import load_settings
    from agentcode.sandbox import open_sandbox

    settings = load_settings(history=False)
    fired = []
    with open_sandbox("local", settings) as session:
        for case in CASES:
            failure = alarms.judge_case(case, session, settings, Checks())
            if failure is not None:
                fired.append(f"{case.name}: {failure.stage}/{failure.kind}: "
                             f"{failure.message.splitlines()[0]}")
    assert fired == []


def test_the_heuristics_off_by_default_are_the_ones_the_measurement_found_noisy() -> None:
    # benchmarks/results/false-alarms.json: these fired on some of the corpus (the first three
    # on more than 2%); output-review asks the model, which this corpus cannot measure.
    assert {Heuristic.OUTPUT_ECHO, Heuristic.OUTPUT_ERROR, Heuristic.OUTPUT_EMPTY,
            Heuristic.INPUT_LINES, Heuristic.OUTPUT_REVIEW} == set(Heuristic) - DEFAULT_ON
