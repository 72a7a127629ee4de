"""numpy, pandas and matplotlib in the real jail: thread pools, headless plots, figures.

The packages come from the `data_sandbox_env` fixture (installed once per machine).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from jail_helpers import small_settings

from agentcode.config import Settings
from agentcode.sandbox.local.session import LocalSandboxSession

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _settings(env: Path, **limits: object) -> Settings:
    settings = small_settings(timeout=60.0, memory_mb=4096, **limits)
    settings.sandbox_env = str(env)
    return settings


@pytest.fixture
def data_jail(data_sandbox_env: Path) -> Iterator[LocalSandboxSession]:
    with LocalSandboxSession(_settings(data_sandbox_env)) as session:
        yield session


def test_numpy_imports_and_computes_under_a_one_process_limit(data_sandbox_env: Path) -> None:
    # OpenBLAS starts a thread per CPU unless told otherwise; each counts against RLIMIT_NPROC.
    with LocalSandboxSession(_settings(data_sandbox_env, processes=1)) as jail:
        result = jail.execute(
            "import os, numpy as np\n"
            "m = np.random.default_rng(0).random((200, 200))\n"
            "print(np.allclose(m @ np.linalg.inv(m), np.eye(200), atol=1e-6))\n"
            "print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'])"
        )
    assert result.ok, result.stderr
    assert result.stdout == "True\n1 1\n"


def test_pandas_and_matplotlib_run_headless_without_warnings(
        data_jail: LocalSandboxSession) -> None:
    result = data_jail.execute(
        "import pandas as pd, matplotlib.pyplot as plt\n"
        "df = pd.DataFrame({'region': ['n', 's', 'n'], 'sales': [1.0, 2.5, 3.0]})\n"
        "totals = df.groupby('region')['sales'].sum()\n"
        "print(totals.to_dict())\n"
        "ax = totals.plot.bar(title='Sales')\n"
        "ax.set_ylabel('total')\n"
        "plt.tight_layout()"
    )
    assert result.ok, result.stderr
    assert result.stdout == "{'n': 4.0, 's': 2.5}\n"
    assert result.stderr == ""  # no Fontconfig error, no font-cache or backend warnings
    [figure] = result.outputs
    assert base64.b64decode(figure.png or "").startswith(PNG_MAGIC)


def test_a_figure_the_code_saved_is_not_returned_again(data_jail: LocalSandboxSession) -> None:
    result = data_jail.execute(
        "import matplotlib.pyplot as plt\n"
        "plt.bar(['a', 'b'], [1, 2])\n"
        "plt.savefig('bar.png')\n"
        "fig = plt.figure()\n"
        "plt.plot([1, 2, 3])"
    )
    assert result.ok, result.stderr
    assert data_jail.read_file("bar.png").startswith(PNG_MAGIC)
    # The saved chart once, as its file (named), then the unsaved second figure: no copy.
    assert [o.name for o in result.outputs if o.png] == ["bar.png", None]
    assert base64.b64decode(result.outputs[0].png or "") == data_jail.read_file("bar.png")
    again = data_jail.execute("import matplotlib.pyplot as plt\nplt.get_fignums()")
    assert all(o.name is None for o in again.outputs)  # bar.png is shown once, when written
    assert again.text == "[]"  # all figures are closed after each run


def test_display_and_saved_images_show_in_the_order_they_came(
    data_jail: LocalSandboxSession,
) -> None:
    result = data_jail.execute(
        "import time\n"
        "class Note:\n"
        "    def _repr_markdown_(self):\n"
        "        return '**first**'\n"
        "display(Note())\n"
        "time.sleep(0.02)\n"
        "open('shape.svg', 'w').write('<svg xmlns=\"http://www.w3.org/2000/svg\"/>')\n"
        "time.sleep(0.02)\n"
        "display(42)\n"
        "'last'"
    )
    assert result.ok, result.stderr
    kinds = [(o.markdown, o.svg and o.name, o.text, o.main) for o in result.outputs]
    assert kinds[0][0] == "**first**" and kinds[1][1] == "shape.svg"
    assert kinds[2][2] == "42" and kinds[3] == (None, None, "'last'", True)
