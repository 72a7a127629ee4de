"""`generate(prompt)` / `agenerate(prompt)`: a sentence in, a runnable Python program out.

    >>> agentcode.generate("print the first 5 primes").code

The core (`generation.codegen`, `generation.verify`) writes and checks the code; this layer adds
the history: one entry per call, for the final result only (a verified generation's candidates
are on ``Generation.rounds``, not in the history).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Unpack

from agentcode.generation.request import GenerateOptions, Request
from agentcode.generation.rounds import file_map as _file_map
from agentcode.generation.rounds import stdin_bytes as _stdin_bytes

if TYPE_CHECKING:
    from agentcode.config import Settings
    from agentcode.inputs import Piped
    from agentcode.types import Generation


async def agenerate(prompt: str, *, settings: Settings | None = None,
                    **options: Unpack[GenerateOptions]) -> Generation:
    """The async form of `generate`: the same options, the same checks (the sandbox runs in
    a thread, off the event loop)."""
    from agentcode.config import load_settings

    settings = settings or load_settings()
    generation = await _prepare(prompt, settings, options).arun(settings)
    record_generation(generation, settings)
    return generation


def generate(prompt: str, *, settings: Settings | None = None,
             **options: Unpack[GenerateOptions]) -> Generation:
    """Write a Python program for ``prompt``.

    ``model``: a name (``"local"``, ``"bedrock"``, ``"bedrock:<id>"``, ``"local:<name or
    path>"``, comma-separated for a chain), a list of names, or a strands ``Model``; default:
    the configured chain (``settings.model``). ``system``: extra instructions appended to the
    built-in system prompt. ``context``: a description or sample of the input data (see
    `generation.codegen.describe_input`; default, when ``stdin``, ``files`` or ``args`` are
    given, their samples as ``gen`` shows them). ``history``: earlier turns (see
    `generation.codegen`). ``on_token`` gets the reply's text as it streams; ``on_restart`` is
    called when streamed text is void because that call failed and another starts. ``sampling``
    (`agentcode.models.sampling.Sampling`) sets the temperature and seed of this call only;
    default: each model's own (greedy locally).

    ``verify=True`` (implied by ``tests`` or ``check``) runs each candidate in the sandbox with
    ``stdin``, ``files`` and ``args`` (its ``sys.argv[1:]``), then the ``tests`` (a ``Path`` to
    a test file, or test source) and the ``check`` expression, and repairs failures up to
    ``max_repairs`` times (default `DEFAULT_MAX_REPAIRS`); see
    `generation.verify.generate_verified`. Left unset (None), the rule of ``gen``, the server
    and MCP applies (`known_input_options`): with ``stdin``, ``files`` or ``args`` the
    candidate runs once on them and is repaired at most `SMOKE_MAX_REPAIRS` times;
    with no input, a request that asks for output ("print ...", a question, "fibonacci numbers
    below 100") is run once with empty stdin the same way; where no sandbox can run it, the code
    comes back unrun. ``verify=False`` never runs it. The result's ``verified``, ``checked`` and
    ``rounds`` say how it went. ``checks`` chooses the heuristic checks
    (`agentcode.generation.pipeline.Checks`, or words such as ``"no-output-file,output-echo"``
    applied to the config file's ``checks``). The options are `GenerateOptions`.

    Raises `UsageError` for an empty prompt, `ConfigError` for an unknown model name, and
    `ModelError` (`ModelUnavailableError` when nothing is usable here) when no model answers.
    """
    from agentcode.config import load_settings

    settings = settings or load_settings()
    generation = _prepare(prompt, settings, options).run(settings)
    record_generation(generation, settings)
    return generation


def _prepare(prompt: str, settings: Settings, options: GenerateOptions) -> Request:
    """The request `generate` and `agenerate` run: the library's rule for known input
    (`known_input_options`) describes the input to the model and, with ``verify`` unset,
    decides the run; a caller's ``history`` or ``context`` is left as given."""
    from agentcode.generation.request import build_request

    options = GenerateOptions(**options)
    if options.get("history") is None:
        stdin, files = _stdin_bytes(options.get("stdin")), _file_map(options.get("files"))
        context, decided = known_input_options(
            {k: v for k, v in options.items() if k in ("verify", "tests", "check",
                                                      "max_repairs")},
            files=files, stdin=stdin, args=options.get("args") or (),
            prompt=prompt if options.get("context") is None else None)
        options.update(decided)  # type: ignore[typeddict-item]
        if options.get("context") is None and context is not None:
            options["context"] = context
    no_input = bool(options.pop("no_input", False))
    return build_request(prompt, options, settings=settings, no_input=no_input)


def known_input_options(options: Mapping[str, Any], *, files: Mapping[str, bytes],
                        stdin: bytes | str | None, prompt: str | None,
                        sample: Piped | None = None, args: Sequence[str] = (),
                        ) -> tuple[str | None, dict[str, Any]]:
    """The data context for a program whose input is known, and `generate`'s options for it.

    One rule for `generate`, ``gen`` (piped data, ``--stdin``, ``--file``), the server's
    sessions (whose ``files`` are `Session.input_files`; REST and WebSocket) and MCP: the model
    sees each input's name, size and first lines (`describe_input`, `describe_files`). Unless
    ``options`` say whether to verify (``verify``, or ``tests`` or a ``check``, which imply
    it), the candidate runs once on that input and is repaired at most `SMOKE_MAX_REPAIRS`
    times (the run on known input); ``verify=False`` leaves it unrun. With no input at all, a
    ``prompt`` that asks for output (`generation.checks.no_input.asks_for_output`) gets the
    same run with empty stdin (``no_input``: a candidate that reads input stays unrun).
    ``prompt`` is required so that no front end forgets that run; None only where the caller
    described the input itself. ``sample``: piped input too large to keep
    (`agentcode.inputs.Piped`): the model sees its first part and its size, and nothing runs
    on it (nor with empty stdin: the program has input, just not here). ``args``: the
    program's arguments (its ``sys.argv[1:]``), known input as stdin is: described, and given
    to every run.
    """
    from agentcode.generation.codegen import describe_args, describe_files, describe_input
    from agentcode.types import SMOKE_MAX_REPAIRS

    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    parts = ([describe_input(data)] if data is not None else []) + (
        [describe_files(files)] if files else []) + ([describe_args(args)] if args else [])
    options = dict(options)
    if options.get("verify") is None and (options.get("tests") is not None
                                          or options.get("check") is not None):
        options["verify"] = True  # the caller's tests decide, with the full budget
    known = bool(parts)
    if sample is not None:
        parts.insert(0, describe_input(sample.head, total_bytes=sample.total_bytes,
                                       total_lines=sample.total_lines,
                                       truncated=sample.truncated))
        prompt = None
    if known and options.get("verify") is None:
        # The run on known input is a bonus the caller did not ask for: optional.
        options.update(verify=True, optional_run=True)
        options.setdefault("max_repairs", SMOKE_MAX_REPAIRS)
    elif not known and options.get("verify") is None and prompt is not None:
        options.update(no_input_options(prompt, options))
    if options.get("verify") and known:
        options.update(stdin=data, files=dict(files))
        if args:
            options["args"] = [str(arg) for arg in args]
    elif options.get("verify") is None:
        options.pop("verify", None)
    if not options.get("verify"):
        options.pop("stdin", None)
    return "\n\n".join(parts) or None, options


def no_input_options(prompt: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The run with no input, as options for `generate`: when nothing says whether to verify
    (no tests, no check, no input) and ``prompt`` asks for output
    (`generation.checks.no_input.asks_for_output`), the candidate is run once with empty stdin
    and repaired at most `SMOKE_MAX_REPAIRS` times; else nothing. One rule for `generate`, `gen`
    and the server (`known_input_options`)."""
    from agentcode.generation.checks.no_input import asks_for_output
    from agentcode.types import SMOKE_MAX_REPAIRS

    if options.get("tests") is not None or options.get("check") is not None \
            or not asks_for_output(prompt):
        return {}
    return {"verify": True, "no_input": True, "optional_run": True,
            "max_repairs": options.get("max_repairs", SMOKE_MAX_REPAIRS)}


def generate_unrecorded(prompt: str, *, settings: Settings,
                        known_names: Collection[str] | None = (),
                        **options: Unpack[GenerateOptions]) -> Generation:
    """`generate` without the history entry and without its policy for ``verify=None`` (a
    `Session` records its own, tagged entry and decides for itself). ``known_names``: names
    that exist before the code runs (`generation.codegen.AskOptions.known_names`)."""
    from agentcode.generation.request import build_request

    options = GenerateOptions(**options)
    no_input = bool(options.pop("no_input", False))
    return build_request(prompt, options, settings=settings, known_names=known_names,
                         no_input=no_input).run(settings)


def record_generation(generation: Generation, settings: Settings) -> None:
    """One history entry for a one-shot generation (see agentcode.store); a broken store warns."""
    if settings.history:
        from agentcode.store.recording import record_generation_safely

        record_generation_safely(settings, generation)
