"""The test suite's plugin: the ``fake`` model provider, for CLI tests in subprocesses.

``tests/plugins`` is on the path of the tests and of the agentcode processes they start
(tests/conftest.py); its dist-info declares `FAKE_PROVIDER` as an ``agentcode.models`` entry
point, exactly as an installed plugin would. agentcode itself never imports this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from agentcode.models.provider import ModelProvider, ModelStatus, ProviderStatus
from agentcode.testing import (
    FakeModel,
    Partial,
    ScriptItem,
    client_error,
    no_credentials,
    throttled,
)

_NAMED_ERRORS: dict[str, Callable[[], Exception]] = {
    "throttled": throttled,
    "server_error": lambda: client_error("InternalServerException", "internal error", 500),
    "access_denied": lambda: client_error("AccessDeniedException", "no access", 403),
    "not_found": lambda: client_error("ResourceNotFoundException", "no such model", 404),
    "no_credentials": no_credentials,
    "timeout": lambda: TimeoutError("read timed out"),
}


def fake_model_from_spec(spec: str | None) -> FakeModel:
    """The model behind ``-m fake:<file>`` (CLI tests in subprocesses; see `FAKE_PROVIDER`).

    The file is JSON: ``{"replies": [...], "delay": seconds per chunk}`` or just the list. Each
    item is a reply string, ``{"error": name}`` or ``{"partial": text, "error": name}``; names are
    throttled, server_error, access_denied, not_found, no_credentials, timeout.
    """
    if not spec:
        return FakeModel("```python\nprint('hello from fake')\n```\n")
    if spec in _FROM_SPEC:  # one script per process: later requests get the later replies
        return _FROM_SPEC[spec]
    data = json.loads(Path(spec).read_text(encoding="utf-8"))
    options = data if isinstance(data, dict) else {"replies": data}
    script: list[ScriptItem] = []
    for item in options["replies"]:
        if isinstance(item, str):
            script.append(item)
        elif "partial" in item:
            script.append(Partial(item["partial"], _NAMED_ERRORS[item["error"]]()))
        else:
            script.append(_NAMED_ERRORS[item["error"]]())
    model = FakeModel(script, model_id=f"fake:{Path(spec).name}",
                      delay=float(options.get("delay", 0.0)))
    _FROM_SPEC[spec] = model
    return model


_FROM_SPEC: dict[str, FakeModel] = {}


def _fake_model_factory(spec: str | None, settings: object) -> FakeModel:
    return fake_model_from_spec(spec)


def _fake_status(settings: object) -> ProviderStatus:
    return ProviderStatus([ModelStatus("fake", True, "scripted replies for tests")])


FAKE_PROVIDER = ModelProvider(
    name="fake",
    description="scripted replies for agentcode's own tests (tests/plugins)",
    factory=_fake_model_factory,
    forms=("fake", "fake:<script.json>"),
    status=_fake_status,
    spec="a script file",
    bare=True,
)
