"""The preview in a real browser: spreads appear, follow edits without a reload, and show errors over the last good view."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from procutil import Booklet

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROKEN = "---\ntitle: Renamed Section\nsummary: [unclosed\n---\n\nThe first paragraph.\n"

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install playwright)")
if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_until(check: Callable[[], Any], *, timeout: float = 60, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return result


def shown(page: Any, selector: str) -> bool:
    """Whether ``selector`` matches a loaded image (or element) in the page."""
    return page.evaluate(
        "(selector) => { const n = document.querySelector(selector); return !!n && (n.tagName !== 'IMG' || (n.complete && n.naturalWidth > 0)); }",
        selector,
    )


def test_the_preview_follows_edits_and_errors_without_a_reload(make_project, browser: Any, record_property) -> None:
    project = make_project()
    section = project / "content/01-one.md"
    with Booklet("serve", "--project", str(project), "--port", "0", cwd=project) as booklet:
        url = booklet.wait_for(r"^Preview at (http://127\.0\.0\.1:\d+/)")[1]
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(url)

        # The cover, drawn: an image that has loaded, alone on the right.
        wait_until(lambda: shown(page, "#spread img[data-page='1']"), what="the cover")
        assert page.evaluate("document.querySelector('#spread img').naturalWidth") > 0
        assert page.locator("#spread .slot").count() == 1
        assert page.locator("#strip .thumb").count() == 5

        # To the first section's opener with the keyboard; the place is in the address.
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        wait_until(lambda: shown(page, "#spread img[data-page='5'][data-text*='First Section']"), what="the opener")
        assert page.evaluate("location.hash") == "#print/3"
        page.evaluate("window.notReloaded = true")

        # Edit the section's title: the spread on show updates by itself.
        started = time.perf_counter()
        section.write_text(section.read_text(encoding="utf-8").replace("First Section", "Renamed Section"), encoding="utf-8")
        wait_until(lambda: shown(page, "#spread img[data-page='5'][data-text*='Renamed Section']"), what="the renamed opener")
        seconds = time.perf_counter() - started
        print(f"\nsave to updated spread: {seconds:.2f} s")
        record_property("save_to_update_seconds", round(seconds, 3))
        assert page.evaluate("window.notReloaded") is True
        assert page.evaluate("location.hash") == "#print/3"

        # Break the front matter: the error shows over the last good spread.
        section.write_text(BROKEN, encoding="utf-8")
        wait_until(lambda: page.is_visible("#error"), what="the error")
        message = page.inner_text("#error-text")
        assert "content/01-one.md:4: broken front matter" in message
        assert "hint: front matter is YAML" in message
        assert "Traceback" not in page.content()
        assert shown(page, "#spread img[data-page='5'][data-text*='Renamed Section']")
        assert shown(page, "#spread img[data-page='4']")

        # Fix it: the error goes and the spreads follow the fix.
        section.write_text("---\ntitle: Fixed Section\n---\n\nThe first paragraph.\n", encoding="utf-8")
        wait_until(lambda: shown(page, "#spread img[data-page='5'][data-text*='Fixed Section']"), what="the fixed opener")
        assert not page.is_visible("#error")
        assert page.evaluate("location.hash") == "#print/3"
        assert page.evaluate("window.notReloaded") is True
        page.close()
        code = booklet.interrupt()
    assert problems == []
    assert code == 0, booklet.output
