"""Huge or runaway input ends in bounded time: a located error, or a finished build; the old PDF stays."""

from __future__ import annotations

import signal
import struct
import time
import zlib
from pathlib import Path

import pypdf
import pytest

from booklet.limits import TimeLimitError, deadline
from conftest import run

CONFIG = 'name = "mini"\ntitle = "Mini Booklet"\ndate = 2024-01-02\nbrand = "assets/brands/anniversary/_brand.yml"\n'


def good_build(make_project, config: str = CONFIG) -> tuple[Path, bytes]:
    project = make_project({"booklet.toml": config})
    result = run("build", "--project", str(project), "-q")
    assert result.exit_code == 0, result.output
    return project, (project / "build" / "mini-print.pdf").read_bytes()


def build(project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(project)
    return run("build", "-q")


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height; its data holds one row, so it costs nothing to make."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * (width + 1))) + chunk(b"IEND", b"")


# ---- The deadline --------------------------------------------------------------


def test_a_build_over_its_time_limit_stops_and_keeps_the_old_pdf(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project, before = good_build(make_project)
    make_project({"booklet.toml": CONFIG + "[limits]\ntimeout = 0.01\n", "content/02-two.md": "---\ntitle: Two\n---\n\nChanged.\n"})
    result = build(project, monkeypatch)
    assert (result.exit_code, result.output) == (
        1,
        "error: booklet.toml: limits.timeout: making the editions took longer than the limit of 0.01 s\n"
        "  hint: raise it in booklet.toml, in seconds: [limits] timeout = 600\n",
    )
    assert (project / "build" / "mini-print.pdf").read_bytes() == before
    assert sorted(p.name for p in (project / "build").iterdir() if p.name != ".cache") == ["mini-print.pdf"]


def test_deadline_stops_a_block_that_runs_too_long() -> None:
    before = signal.getsignal(signal.SIGALRM)
    with pytest.raises(TimeLimitError, match=r"^spinning took longer than the limit of 0.05 s$"), deadline(0.05, what="spinning"):
        while True:
            pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == before


def test_deadline_raises_again_when_the_first_error_is_swallowed() -> None:
    # WeasyPrint turns a failing image into a warning; the limit must get through regardless.
    swallowed = 0
    with pytest.raises(TimeLimitError), deadline(0.05, what="spinning"):
        while True:
            try:
                while True:
                    pass
            except Exception:
                swallowed += 1
                if swallowed > 1:
                    raise
    assert swallowed == 2


def test_deadline_lets_a_quick_block_finish_and_restores_the_previous_handler() -> None:
    def mine(signum, frame):
        raise AssertionError("not expected")

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        with deadline(30, what="nothing"):
            value = sum(range(100))
        assert value == 4950
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_an_inner_deadline_keeps_the_outer_one() -> None:
    with pytest.raises(TimeLimitError, match=r"^outer "), deadline(0.2, what="outer"):
        with deadline(30, what="inner"):
            pass
        # The outer limit is still armed after the inner block.
        while True:
            time.sleep(0.01)


def test_no_deadline_outside_the_main_thread() -> None:
    import threading

    outcome = []

    def work() -> None:
        with deadline(0.01, what="in a thread"):
            time.sleep(0.05)
        outcome.append("finished")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert outcome == ["finished"]


@pytest.mark.parametrize(("value", "shown"), [("0", "0"), ("-5", "-5"), ('"300"', "'300'"), ("true", "True"), ("inf", "inf")])
def test_timeout_must_be_a_positive_number(value: str, shown: str, make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project({"booklet.toml": CONFIG + f"[limits]\ntimeout = {value}\n"})
    result = build(project, monkeypatch)
    assert (result.exit_code, result.output) == (
        1,
        f"error: booklet.toml: limits.timeout: must be a number of seconds above zero, such as 300, not {shown}\n",
    )


# ---- Huge inputs ----------------------------------------------------------------


def test_a_10_mb_section_is_refused_before_it_is_read(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project, before = good_build(make_project)
    paragraph = "The friendship between the two countries grows year by year. " * 8 + "\n\n"
    (project / "content" / "02-two.md").write_text("---\ntitle: Two\n---\n\n" + paragraph * (10_000_000 // len(paragraph)))
    result = build(project, monkeypatch)
    assert (result.exit_code, result.output) == (
        1,
        "error: content/02-two.md: is 10.0 MB, over the limit of 1 MB for a content file\n"
        "  hint: split it into several files, or raise the limit in booklet.toml: [limits] file_size = 10\n",
    )
    assert (project / "build" / "mini-print.pdf").read_bytes() == before


def test_a_huge_timeline_file_is_refused(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project({"booklet.toml": CONFIG + "[limits]\nfile_size = 0.001\n"})
    (project / "content" / "timeline.yaml").write_text("events:\n" + "  - {date: 2001, title: An event}\n" * 100)
    result = build(project, monkeypatch)
    assert (result.exit_code, result.output) == (
        1,
        "error: content/timeline.yaml: is 3 KB, over the limit of 0.001 MB for a timeline file\n"
        "  hint: split it into several files, or raise the limit in booklet.toml: [limits] file_size = 1\n",
    )


def test_a_list_nested_100_levels_deep_is_a_clear_error(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    # Left to the typesetter, it ran 15 s and then crashed with RecursionError.
    nested = "".join("    " * level + f"- level {level}\n" for level in range(100))
    project, before = good_build(make_project)
    (project / "content" / "02-two.md").write_text("---\ntitle: Two\n---\n\n" + nested)
    result = build(project, monkeypatch)
    assert (result.exit_code, result.output) == (
        1,
        "error: content/02-two.md: is nested 200 levels deep (lists, quotes or HTML elements within each other); booklet typesets at most 40\n"
        "  hint: flatten the deepest lists or quotes: a printed list is hard to follow beyond three or four levels\n",
    )
    assert (project / "build" / "mini-print.pdf").read_bytes() == before


def test_raw_html_nested_deeper_than_python_recursion_is_a_clear_error(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project({"content/02-two.md": "---\ntitle: Two\n---\n\n" + "<div>" * 5000 + "deep" + "</div>" * 5000 + "\n"})
    result = build(project, monkeypatch)
    assert result.exit_code == 1
    assert result.output.startswith("error: content/02-two.md: is nested 5000 levels deep")


def test_a_list_at_the_nesting_limit_builds(make_project) -> None:
    nested = "".join("    " * level + f"- level {level}\n" for level in range(20))
    project = make_project({"content/02-two.md": "---\ntitle: Two\n---\n\n" + nested})
    result = run("build", "--project", str(project), "-q")
    assert result.exit_code == 0, result.output
    text = "".join(page.extract_text() for page in pypdf.PdfReader(project / "build" / "mini-print.pdf").pages)
    assert "level 19" in text


def test_an_image_of_30000_pixels_a_side_is_refused_from_its_header(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project, before = good_build(make_project)
    (project / "content" / "huge.png").write_bytes(png_header(30_000, 30_000))
    (project / "content" / "02-two.md").write_text("---\ntitle: Two\n---\n\nText.\n\n![A huge picture](huge.png)\n")
    result = build(project, monkeypatch)
    assert (result.exit_code, result.output) == (
        1,
        "error: content/02-two.md:7: image 'huge.png' has 900,000,000 pixels, over the limit of 89,478,485 that is safe to decode\n"
        "  hint: scale it down to at most a few thousand pixels a side\n",
    )
    assert (project / "build" / "mini-print.pdf").read_bytes() == before


def test_an_image_just_over_the_limit_is_refused_too(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    # Between one and two times the limit Pillow only warns, and would decode 100 M pixels.
    project = make_project({"content/02-two.md": '---\ntitle: Two\n---\n\n<img src="big.png" alt="A big picture">\n'})
    (project / "content" / "big.png").write_bytes(png_header(10_000, 10_000))
    result = build(project, monkeypatch)
    assert result.exit_code == 1
    assert result.output.startswith(
        "error: content/02-two.md:5: image 'big.png' has 100,000,000 pixels, over the limit of 89,478,485 that is safe to decode\n"
    )


TABLE = "| Year | Event | Note |\n| --- | --- | --- |\n" + "".join(f"| {1947 + i % 77} | Row {i} | A cell |\n" for i in range(5000))


def test_a_5000_row_table_is_stopped_by_the_time_limit(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    # Bounded by [limits] timeout: the whole build takes about 75 s, so a 2 s limit must stop it.
    project, before = good_build(make_project)
    make_project({"booklet.toml": CONFIG + "[limits]\ntimeout = 2\n", "content/02-two.md": "---\ntitle: Two\n---\n\n" + TABLE})
    result = build(project, monkeypatch)
    assert (result.exit_code, result.output) == (
        1,
        "error: booklet.toml: limits.timeout: making the editions took longer than the limit of 2 s\n"
        "  hint: raise it in booklet.toml, in seconds: [limits] timeout = 600\n",
    )
    assert (project / "build" / "mini-print.pdf").read_bytes() == before


@pytest.mark.slow
def test_a_5000_row_table_builds_within_the_default_limit(make_project) -> None:
    project = make_project({"content/02-two.md": "---\ntitle: Two\n---\n\n" + TABLE})
    result = run("build", "--project", str(project), "-q", "-e", "print")
    assert result.exit_code == 0, result.output
    reader = pypdf.PdfReader(project / "build" / "mini-print.pdf")
    assert "Row 4999" in "".join(page.extract_text() for page in reader.pages[-12:])
