"""The output review (`Heuristic.OUTPUT_REVIEW`, generation/review.py), with a scripted model and
the local sandbox: off by default; when on, the first clean run on known input is shown to the
model once, and a "no" is repaired."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cli_runner import run_cli

import agentcode
from agentcode.config import Settings, load_settings
from agentcode.generation.codegen import AskOptions
from agentcode.generation.pipeline import Checks, Heuristic
from agentcode.generation.review import REVIEW_SYSTEM, parse_review
from agentcode.generation.verify import VerifyOptions, generate_verified
from agentcode.testing import FakeModel

LOG = ("10.0.0.1 GET /a\n10.0.0.2 GET /b\n10.0.0.1 GET /c\n10.0.0.3 GET /d\n"
       "10.0.0.1 GET /e\n10.0.0.2 GET /f\n")
PROMPT = "print the top 2 client IPs by number of requests"
# The bug of issue 26: sorted by count, but the list keeps duplicates.
WRONG = ("import sys\nips = [line.split()[0] for line in sys.stdin]\n"
         "for ip in sorted(ips, key=ips.count, reverse=True)[:2]:\n    print(ip)\n")
RIGHT = ("import sys\nfrom collections import Counter\n"
         "counts = Counter(line.split()[0] for line in sys.stdin)\n"
         "for ip, _ in counts.most_common(2):\n    print(ip)\n")
ON = Checks.parse("output-review")


def fenced(code: str) -> str:
    return f"```python\n{code}```\n"


@pytest.fixture
def settings() -> Settings:
    return load_settings(timeout=10, history=False)


def verify(model: FakeModel, settings: Settings, **options: object) -> agentcode.Generation:
    chosen = {"stdin": LOG, "checks": ON, "max_repairs": 2, **options}
    return generate_verified(PROMPT, VerifyOptions(**chosen),  # type: ignore[arg-type]
                             ask=AskOptions(model=model), settings=settings)


def test_it_is_off_by_default() -> None:
    assert Heuristic.OUTPUT_REVIEW not in Checks()
    assert Heuristic.OUTPUT_REVIEW in Checks.parse("all")


@pytest.mark.parametrize(("answer", "verdict", "reason"), [
    ("yes", True, ""),
    ("Yes. It prints the two most frequent IPs.", True, "It prints the two most frequent IPs."),
    ("**No** - it prints 10.0.0.1 twice.", False, "it prints 10.0.0.1 twice."),
    ("NO\nThe output repeats one IP.", False, "The output repeats one IP."),
    ("The output looks right.", None, ""),
    ("", None, ""),
    ("nope", None, ""),
])
def test_parsing_the_answer(answer: str, verdict: bool | None, reason: str) -> None:
    assert parse_review(answer) == (verdict, reason)


def test_a_no_leads_to_a_repair_shown_the_reason_and_the_repaired_code_is_returned(
    settings: Settings,
) -> None:
    model = FakeModel([fenced(WRONG), "No. It prints 10.0.0.1 twice: the IPs are not unique.",
                       fenced(RIGHT)])
    generation = verify(model, settings)
    assert generation.code == RIGHT and generation.verified
    assert generation.checked == "ran cleanly on the given input"
    assert [(r.kind, r.passed, r.stage) for r in generation.rounds] == [
        ("first", False, "output"), ("repair", True, None)]
    review, repair = model.calls[1], model.calls[2]
    # The review sees the request, a sample of the input and the output, under its own prompt.
    assert review.system_prompt == REVIEW_SYSTEM
    assert PROMPT in review.prompt and "10.0.0.3 GET /d" in review.prompt
    assert "10.0.0.1\n10.0.0.1" in review.prompt
    # The repair is shown the reason, in the conversation of the candidate it repairs.
    assert "a review of its output says it does not do the task" in repair.prompt
    assert "the IPs are not unique" in repair.prompt
    assert len(model.calls) == 3  # the repaired program's clean run is not reviewed again


def test_a_yes_costs_exactly_one_extra_request(settings: Settings) -> None:
    model = FakeModel([fenced(RIGHT), "yes, the two IPs with the most requests"])
    generation = verify(model, settings)
    assert generation.code == RIGHT and generation.verified and len(model.calls) == 2
    assert [r.kind for r in generation.rounds] == ["first"]
    off = FakeModel([fenced(RIGHT)])
    assert verify(off, settings, checks=Checks()).verified and len(off.calls) == 1


@pytest.mark.parametrize("answer", ["The output looks plausible.", "", "maybe"])
def test_an_answer_that_is_neither_yes_nor_no_never_fails_a_correct_program(
    settings: Settings, answer: str,
) -> None:
    model = FakeModel([fenced(RIGHT), answer])
    generation = verify(model, settings)
    assert generation.code == RIGHT and generation.verified and len(model.calls) == 2


def test_a_no_that_no_repair_improves_on_keeps_the_clean_candidate(settings: Settings) -> None:
    crashes = "import sys\nprint(1 / 0)\n"
    model = FakeModel([fenced(RIGHT), "no, wrong", fenced(crashes), fenced(crashes)])
    generation = verify(model, settings)
    assert generation.code == RIGHT and generation.verified
    assert generation.label == "ran cleanly on the given input (3 rounds)"


def test_the_review_never_runs_without_known_input_or_with_tests(settings: Settings) -> None:
    uncalled = "def f():\n    return 1\n"
    no_input = FakeModel([fenced(uncalled), fenced("print(1)\n")])
    generated = generate_verified("print the number one", VerifyOptions(no_input=True,
                                                                        checks=ON),
                                  ask=AskOptions(model=no_input), settings=settings)
    assert generated.code == "print(1)\n" and len(no_input.calls) == 2  # no review request
    tested = FakeModel([fenced(RIGHT)])
    assert verify(tested, settings, check="True").verified and len(tested.calls) == 1
    # Nor when no repair round is left to act on a "no".
    last = FakeModel([fenced(RIGHT)])
    assert verify(last, settings, max_repairs=0).verified and len(last.calls) == 1


def test_it_is_switched_like_every_check(models: Callable[..., None],
                                         settings: Settings) -> None:
    model = FakeModel([fenced(WRONG), "no: 10.0.0.1 twice", fenced(RIGHT)])
    generation = agentcode.generate(PROMPT, model=model, stdin=LOG, checks="output-review",
                                    settings=settings)
    assert generation.code == RIGHT and len(model.calls) == 3
    models(a=FakeModel([fenced(WRONG), "no: 10.0.0.1 twice", fenced(RIGHT)]))
    result = run_cli(["gen", PROMPT, "-m", "t:a", "--checks", "output-review"], stdin=LOG)
    assert result.exit_code == 0 and result.stdout == RIGHT, result.stderr
    assert result.stderr.splitlines()[-1] == "agentcode: ran cleanly on the given input (2 rounds)"
    models(a=FakeModel([fenced(WRONG)]))
    plain = run_cli(["gen", PROMPT, "-m", "t:a"], stdin=LOG)  # off: one request, WRONG kept
    assert plain.exit_code == 0 and plain.stdout == WRONG


def test_the_review_is_shown_the_programs_arguments(settings: Settings) -> None:
    # Arguments are the program's input too: a run with only them is reviewed, and the review
    # is told them (42 is right only for the argument 21).
    code = "import sys\nprint(int(sys.argv[1]) * 2)\n"
    model = FakeModel([fenced(code), "yes"])
    generation = generate_verified("print twice the first argument",
                                   VerifyOptions(args=["21"], checks=ON, max_repairs=1),
                                   ask=AskOptions(model=model), settings=settings)
    assert generation.verified and len(model.calls) == 2
    assert "sys.argv[1:] == ['21']" in model.calls[1].prompt and "42" in model.calls[1].prompt
