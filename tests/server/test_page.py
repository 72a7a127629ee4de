"""The page at / in a real headless browser: Debian's chromium driven by playwright.

An analyst's loop against the real server and real jails, with a scripted model: upload a CSV,
ask for a per-group total and a bar chart, see the table, the chart and the file the code
wrote, stop a long run, reload and find the session, export the notebook. Nothing is fetched
from anywhere but the server. Screenshots at 390 px and 1280 px, light and dark, are kept in
pytest's temporary directory (``page-screenshots``; pytest keeps the last three runs').
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from agentcode.testing import FakeCall, FunctionModel
from server.conftest import TOKEN, RunningServer, StartServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]

SALES = b"region,amount\nnorth,120\nsouth,80\nnorth,30\neast,55\nsouth,20\n"

TOTALS = '''Here is the code:
```python
import pandas as pd
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

sales = pd.read_csv("sales.csv")
totals = sales.groupby("region", as_index=False)["amount"].sum()
totals.to_csv("totals.csv", index=False)
totals.plot.bar(x="region", y="amount", legend=False)
plt.savefig("totals.png")
print(totals.to_string(index=False))
totals
```'''

SQUARES = '''```python
class Squares:
    def _repr_html_(self):
        rows = "".join(f"<tr><td>{n}</td><td>{n * n}</td></tr>" for n in range(1, 4))
        return f"<table><tr><th>n</th><th>square</th></tr>{rows}</table>"

print("three squares")
Squares()
```'''


def reply(call: FakeCall) -> str:
    return TOTALS if "region" in call.prompt.lower() else SQUARES


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "page-screenshots"


def open_page(browser: Browser, running: RunningServer, requests: list[str],
              **context: Any) -> Page:
    page = browser.new_context(accept_downloads=True, **context).new_page()
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{running.base_url}/?token={TOKEN}")
    expect(page.locator("#status")).to_contain_text("ready", timeout=20_000)
    return page


def run(page: Page) -> None:
    page.click("#run")
    expect(page.locator("#duration")).to_contain_text("exit", timeout=30_000)
    expect(page.locator("#run")).to_be_enabled(timeout=30_000)


def screenshots(page: Page, where: Path, name: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.screenshot(path=str(where / f"{name}-{scheme}.png"), full_page=True)
    page.emulate_media(color_scheme="light")


def test_the_analysts_loop(start_server: StartServer, browser: Browser, shots: Path,
                           data_sandbox_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTCODE_SANDBOX_ENV", str(data_sandbox_env))
    model = FunctionModel(reply, model_id="page-model")
    running = start_server(model)
    requests: list[str] = []
    page = open_page(browser, running, requests, viewport={"width": 1280, "height": 900})
    assert page.url.startswith(f"{running.base_url}/#session=")  # no token in the address

    page.set_input_files("#upload", files=[{"name": "sales.csv", "mimeType": "text/csv",
                                            "buffer": SALES}])
    expect(page.locator("#inputs")).to_contain_text("sales.csv")
    page.fill("#prompt", "the total amount per region of the uploaded data, and a bar chart")
    page.click("#generate")
    expect(page.locator("#stop")).to_be_visible()
    expect(page.locator("#generate")).to_be_enabled(timeout=60_000)
    # Generate ran the code on the upload, and says so; the fence never reached the editor.
    expect(page.locator("#answered-by")).to_contain_text("ran cleanly on the uploaded data")
    expect(page.locator(".cm-content")).to_contain_text("groupby")
    assert "```" not in page.locator(".cm-content").inner_text()
    asked = model.calls[0].prompt
    assert "the file sales.csv" in asked and "north,120" in asked  # as `gen --file` shows it

    run(page)
    expect(page.locator("#stdout")).to_contain_text("north     150")
    table = page.frame_locator("#outputs iframe.html-output")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tbody tr").nth(1)).to_contain_text("150")
    chart = page.locator("#outputs figure img")
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.naturalWidth") > 100
    expect(page.locator("#outputs figcaption")).to_have_text("totals.png")
    written = page.locator("#files")
    expect(written.locator(".preview-table tr")).to_have_count(4)  # totals.csv's preview
    expect(written.locator("a", has_text="totals.csv")).to_have_attribute("download", "totals.csv")
    screenshots(page, shots, "1280")

    # Stop a long run: the code is interrupted, the session keeps its variables.
    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.type("import time\nprint('working', flush=True)\ntime.sleep(60)\n")
    page.click("#run")
    expect(page.locator("#stdout")).to_have_text("working\n", timeout=30_000)
    expect(page.locator("#status")).to_contain_text(" s")  # the elapsed time
    expect(page.locator("#stop")).to_be_visible()
    page.screenshot(path=str(shots / "1280-running-light.png"))
    page.keyboard.press("Escape")
    expect(page.locator("#error")).to_contain_text("KeyboardInterrupt", timeout=10_000)
    expect(page.locator("#run")).to_be_enabled()

    # A reload finds the session: its data file, code, results and history.
    address = page.url
    page.reload()
    expect(page.locator("#status")).to_contain_text("ready", timeout=20_000)
    assert page.url == address
    expect(page.locator("#inputs")).to_contain_text("sales.csv")
    expect(page.locator(".cm-content")).to_contain_text("time.sleep(60)")
    expect(page.locator("#answered-by")).to_contain_text("ran cleanly on the uploaded data")
    expect(page.locator("#history li")).to_have_count(3)  # 1 generation, 2 runs
    expect(page.locator("#history .badge.mine")).to_have_count(3)
    page.fill("#history-search", "per region")  # the history of every session, searched
    expect(page.locator("#history li")).to_have_count(1)
    page.locator("#history li", has_text="per region").get_by_role(
        "button", name="Run again").click()
    expect(page.locator("#outputs figure img")).to_be_visible(timeout=30_000)

    with page.expect_download() as download:
        page.click("#notebook")
    book = json.loads(Path(download.value.path()).read_text())
    code = [cell for cell in book["cells"] if cell["cell_type"] == "code"]
    assert len(code) == 3 and "groupby" in "".join(code[0]["source"])
    kinds = [set(out.get("data", {})) for out in code[0]["outputs"]]
    assert {"image/png", "text/plain"} in kinds and {"text/html", "text/plain"} in kinds

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#tabs")).to_be_visible()
    page.click("#tab-results")
    expect(page.locator("#outputs figure img")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing clipped
    expect(page.locator("#status")).to_be_visible()
    screenshots(page, shots, "390-results")
    page.click("#tab-ask")
    screenshots(page, shots, "390-ask")
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.close()
    others = [url for url in requests if not url.startswith((running.base_url, "data:", "blob:"))]
    assert others == []


def test_code_streams_into_the_editor_and_errors_show(
    start_server: StartServer, browser: Browser,
) -> None:
    def slow(call: FakeCall) -> Any:
        # Long enough (3 s) that the page is seen mid-answer even on a loaded machine.
        return "```python\nraise ValueError('no such thing')\n" + "# waiting\n" * 24 + "```"

    model = FunctionModel(slow)
    model.chunk_size, model.delay = 4, 0.05
    running = start_server(model)
    page = open_page(browser, running, [])
    page.fill("#prompt", "fail please")
    page.click("#generate")
    # Part of the code is in the editor while the model is still answering.
    expect(page.locator("#generate")).to_be_disabled()
    expect(page.locator(".cm-content")).to_contain_text("raise", timeout=10_000)
    assert page.locator("#generate").is_disabled()
    expect(page.locator("#status")).to_contain_text("generating · scripted")
    expect(page.locator("#generate")).to_be_enabled(timeout=30_000)
    expect(page.locator("#answered-by")).to_contain_text("not run")
    # Another model for the next request, in the same session.
    page.select_option("#model-choice", "local")
    expect(page.locator("#status")).to_contain_text("next requests ask local")
    assert running.pool.get(page.url.split("#session=")[1]).session.model == "local"
    run(page)
    expect(page.locator("#error")).to_contain_text("ValueError: no such thing")
    expect(page.locator("#duration")).to_contain_text("exit 1")
    # display() shows rich reprs in order; Markdown becomes elements, never markup.
    page.evaluate("code => editor.setCode(code)",  # typing would meet the auto-indent
                  "class Note:\n    def _repr_markdown_(self):\n        return "
                  "'# Done\\n- **bold** <img src=x>'\n\ndisplay(Note())\ndisplay(7)\n")
    run(page)
    note = page.locator("#outputs .markdown-output")
    expect(note.locator("h3")).to_have_text("Done")
    expect(note.locator("li strong")).to_have_text("bold")
    expect(note.locator("li")).to_contain_text("<img src=x>")
    assert note.locator("img").count() == 0
    expect(page.locator("#outputs pre.text-output")).to_have_text("7")
    page.close()


def test_stop_ends_a_generation_and_keeps_the_code(
    start_server: StartServer, browser: Browser,
) -> None:
    model = FunctionModel(lambda call: "```python\n" + "print(1)\n" * 300 + "```")
    model.chunk_size, model.delay = 4, 0.02
    running = start_server(model)
    page = open_page(browser, running, [])
    page.locator(".cm-content").click()
    page.keyboard.type("x = 'mine'")
    page.fill("#prompt", "print many ones")
    page.click("#generate")
    expect(page.locator(".cm-content")).to_contain_text("print(1)", timeout=10_000)
    page.click("#stop")
    expect(page.locator("#error")).to_contain_text("stopped", timeout=10_000)
    expect(page.locator(".cm-content")).to_have_text("x = 'mine'")
    page.close()


def test_a_model_error_keeps_the_code_and_speaks_of_the_page(
    start_server: StartServer, browser: Browser,
) -> None:
    from agentcode.errors import ModelUnavailableError
    from agentcode.testing import FailingModel

    running = start_server(FailingModel(ModelUnavailableError(
        "no credentials here: use the embedded model with -m local")))
    page = open_page(browser, running, [])
    page.locator(".cm-content").click()
    page.keyboard.type("x = 'mine'")
    page.fill("#prompt", "anything")
    page.click("#generate")
    expect(page.locator("#error")).to_contain_text("-m local", timeout=20_000)
    expect(page.locator("#error")).to_contain_text("chosen in the Model list")
    expect(page.locator(".cm-content")).to_have_text("x = 'mine'")
    page.close()


def test_the_page_needs_the_token(start_server: StartServer, browser: Browser) -> None:
    running = start_server()
    page = browser.new_page()
    response = page.goto(f"{running.base_url}/")
    assert response is not None and response.status == 401
    expect(page.locator("body")).to_contain_text("?token=")
    page.close()


@pytest.mark.slow
def test_the_embedded_model_answers_the_per_region_question_first_time(
    start_server: StartServer, browser: Browser, embedded_model_path: Path,
    data_sandbox_env: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTCODE_SANDBOX_ENV", str(data_sandbox_env))
    monkeypatch.setenv("AGENTCODE_MODEL", "local")
    monkeypatch.setenv("AGENTCODE_LOCAL_MODEL", str(embedded_model_path))
    running = start_server()
    page = open_page(browser, running, [])
    page.set_input_files("#upload", files=[{"name": "sales.csv", "mimeType": "text/csv",
                                            "buffer": SALES}])
    expect(page.locator("#inputs")).to_contain_text("sales.csv")
    page.fill("#prompt", "print the total amount per region of the uploaded data")
    page.click("#generate")
    expect(page.locator("#generate")).to_be_enabled(timeout=600_000)
    # The first candidate ran cleanly on the upload: no repair was needed.
    expect(page.locator("#answered-by")).to_contain_text(
        "ran cleanly on the uploaded data, 1 round")
    run(page)
    printed = page.locator("#stdout").inner_text()
    for region, total in (("north", "150"), ("south", "100"), ("east", "55")):
        line = next(line for line in printed.splitlines() if region in line)
        assert total in line, printed
    page.close()
