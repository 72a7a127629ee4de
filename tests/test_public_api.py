"""The public names stay callable: `agentcode.generate` and `execute` are never module objects."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_public_names_survive_a_session_that_imports_their_modules() -> None:
    # The snippet, in a fresh interpreter: Session.generate and Session.execute import
    # the modules behind the names first, which once turned agentcode.generate into a module.
    snippet = textwrap.dedent(
        """
        import agentcode
        from agentcode.testing import FakeModel
        with agentcode.Session(model=FakeModel(["```python\\nprint(1)\\n```"] * 3)) as s:
            s.generate("print one")
            s.execute("print(0)")
        print(agentcode.generate("y", model=FakeModel(["```python\\nprint(2)\\n```"])).code,
              end="")
        print(agentcode.execute("print(3)").stdout, end="")
        """
    )
    result = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "print(2)\n3\n"


def test_the_public_names_are_functions_and_a_class() -> None:
    import agentcode.api.execution  # noqa: F401 - the modules loaded first, as a Session does
    import agentcode.api.generation  # noqa: F401

    assert callable(agentcode.generate) and callable(agentcode.execute)
    assert callable(agentcode.agenerate) and isinstance(agentcode.Session, type)
    assert {"generate", "agenerate", "execute", "Session"} <= set(agentcode.__all__)


def test_session_generate_sorts_its_options_into_the_typed_ones() -> None:
    import pytest

    import agentcode
    from agentcode.testing import FakeModel

    settings = agentcode.Settings(history=False, sandbox="unsafe")
    block = "```python\nprint(1)\n```"
    with agentcode.Session(model=FakeModel([block] * 2), settings=settings) as session:
        with pytest.raises(TypeError, match="unexpected keyword arguments: bogus"):
            session.generate("one", bogus=1)
        tokens: list[str] = []
        verified = session.generate("one", check="True", max_repairs=0, on_token=tokens.append)
    assert verified.verified and len(verified.rounds) == 1 and "".join(tokens) == block
