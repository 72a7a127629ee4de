"""The page at / in a real headless browser: Debian's chromium driven by playwright.

Type a request, see the code, edit and run it, see the output, a table and a plot; upload a
CSV and use it; nothing is fetched from anywhere but the server.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from agentcode.testing import FakeCall, FunctionModel
from server.conftest import TOKEN, RunningServer, StartServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]

TABLE = '''```python
class Squares:
    def _repr_html_(self):
        rows = "".join(f"<tr><td>{n}</td><td>{n * n}</td></tr>" for n in range(1, 4))
        return f"<table><tr><th>n</th><th>square</th></tr>{rows}</table>"

print("three squares")
Squares()
```'''

PLOT = '''```python
import struct, zlib

class Plot:
    def _repr_png_(self):
        width = height = 16
        raw = b"".join(b"\\x00" + b"\\xff\\x00\\x00" * width for _ in range(height))
        def chunk(kind, data):
            body = kind + data
            return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        return (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", header)
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

Plot()
```'''

CSV_SUM = '''```python
import csv
with open("sales.csv") as f:
    total = sum(int(row["amount"]) for row in csv.DictReader(f))
print(f"total {total}")
```'''


def reply(call: FakeCall) -> str:
    prompt = call.prompt.lower()  # earlier turns may be folded in: the newest word wins
    if "csv" in prompt:
        return CSV_SUM
    if "plot" in prompt:
        return PLOT
    return TABLE


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=LAUNCH_ARGS)
        yield launched
        launched.close()


def open_page(browser: Browser, running: RunningServer, requests: list[str]) -> Page:
    page = browser.new_page()
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{running.base_url}/?token={TOKEN}")
    expect(page.locator("#status")).to_contain_text("ready", timeout=20_000)
    return page


def ask(page: Page, prompt: str) -> None:
    page.fill("#prompt", prompt)
    page.click("#generate")
    expect(page.locator("#generate")).to_be_enabled(timeout=30_000)


def run(page: Page) -> None:
    page.click("#run")
    expect(page.locator("#duration")).to_contain_text("exit", timeout=30_000)
    expect(page.locator("#run")).to_be_enabled(timeout=30_000)


def test_prompt_code_run_table_plot_and_csv(start_server: StartServer, browser: Browser) -> None:
    model = FunctionModel(reply, model_id="page-model")
    running = start_server(model)
    requests: list[str] = []
    page = open_page(browser, running, requests)
    assert page.url == f"{running.base_url}/"  # the token left the address bar for a cookie

    ask(page, "a table of squares")
    editor = page.locator(".cm-content")
    expect(editor).to_contain_text("class Squares")
    expect(page.locator("#answered-by")).to_have_text("scripted")
    expect(page.locator("#attempts")).to_contain_text("scripted: ok")
    editor.click()
    page.keyboard.press("Control+Home")
    page.keyboard.type("print('edited')\n")
    run(page)
    expect(page.locator("#stdout")).to_have_text("edited\nthree squares\n")
    table = page.frame_locator("iframe.html-output")
    expect(table.locator("td").nth(5)).to_have_text("9")

    ask(page, "plot a red square")
    run(page)
    figure = page.locator("#outputs img")
    expect(figure).to_be_visible()
    size = figure.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size == [16, 16]

    page.set_input_files("#upload", files=[{
        "name": "sales.csv", "mimeType": "text/csv",
        "buffer": b"region,amount\nnorth,3\nsouth,4\n"}])
    expect(page.locator("#files")).to_contain_text("sales.csv")
    ask(page, "sum the amounts in the csv")
    run(page)
    expect(page.locator("#stdout")).to_have_text("total 7\n")
    expect(page.locator("#history li")).to_have_count(6)  # 3 generations, 3 runs

    page.close()
    others = [url for url in requests if not url.startswith((running.base_url, "data:"))]
    assert others == []
    asked = [call.prompt for call in model.calls]
    assert len(asked) == 3 and asked[0] == "a table of squares"
    assert asked[1].endswith("plot a red square") and "sum the amounts in the csv" in asked[2]
    assert "the file sales.csv" in asked[2] and "north,3" in asked[2]  # as gen --file shows it
    assert "print('edited')" in asked[1]  # the model saw the code as the user ran it


def test_code_streams_into_the_editor_and_errors_show(
    start_server: StartServer, browser: Browser,
) -> None:
    def slow(call: FakeCall) -> Any:
        return "```python\nraise ValueError('no such thing')\n```"

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
    expect(page.locator("#generate")).to_be_enabled(timeout=30_000)
    run(page)
    expect(page.locator("#error")).to_contain_text("ValueError: no such thing")
    expect(page.locator("#duration")).to_contain_text("exit 1")


def test_the_page_needs_the_token(start_server: StartServer, browser: Browser) -> None:
    running = start_server()
    page = browser.new_page()
    response = page.goto(f"{running.base_url}/")
    assert response is not None and response.status == 401
    expect(page.locator("body")).to_contain_text("?token=")
