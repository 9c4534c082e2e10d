"""Watch mode: one rebuild per burst of saves, only for sources, and errors that do not stop it."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from procutil import Booklet
from watchfiles import Change

from booklet.builder import BuildResult
from booklet.config import load_config
from booklet.watch import Outcome, Sources, Watcher

BROKEN = "---\ntitle: One\nsummary: [unclosed\n---\n\nText.\n"
FIXED = "---\ntitle: One\n---\n\nText.\n"


@contextmanager
def watching(watcher: Watcher, *, initial: bool = False) -> Iterator[threading.Thread]:
    """Run ``watcher`` in a thread until the block ends; the block starts once the watcher sees changes."""
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), kwargs={"initial": initial}, daemon=True)
    thread.start()
    try:
        assert watcher.ready.wait(60), "the watcher did not start"
        yield thread
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive(), "the watcher did not stop when asked"


def collecting(project: Path, **options) -> tuple[Watcher, queue.Queue[Outcome]]:
    outcomes: queue.Queue[Outcome] = queue.Queue()
    return Watcher(project, on_build=outcomes.put, **options), outcomes


def fake_build(calls: list[Path]) -> Callable[..., list[BuildResult]]:
    def build(project: Path, *, out_dir: Path | None = None, brand: Path | None = None) -> list[BuildResult]:
        calls.append(project)
        return []

    return build


def test_sources_are_the_content_templates_assets_brand_and_config(make_project, tmp_path: Path) -> None:
    project = make_project({"booklet.toml": 'name = "mini"\ntitle = "Mini"\nbrand = "../brands/_brand.yml"\n'})
    sources = Sources.of(project, load_config(project))
    root = project.resolve()
    brand = (tmp_path / "brands" / "_brand.yml").resolve()

    def seen(path: Path) -> bool:
        return sources.accepts(Change.modified, str(path))

    for path in (
        root / "content/01-one.md",
        root / "content/images/map.png",
        root / "templates/cover.html",
        root / "templates/extra.css",
        root / "assets/fonts/inter/Inter.otf",
        root / "booklet.toml",
        brand,
    ):
        assert seen(path), path
    for path in (
        root / "build/mini-print.pdf",
        root / "build/.preview/0123.png",
        root / "content/.01-one.md.swp",
        root / "content/01-one.md~",
        root / "content/.#01-one.md",
        root / "content/#01-one.md#",
        root / "content/4913",
        root / "content/01-one.md.tmp",
        root / "templates/.cover.html.kate-swp",
        root / "README.md",
        root / ".git/index",
        brand.parent / "other.yml",
    ):
        assert not seen(path), path
    (brand.parent).mkdir(parents=True, exist_ok=True)
    assert sources.roots(project) == [root, brand.parent]


def test_a_burst_of_saves_gives_one_rebuild(make_project) -> None:
    project = make_project()
    watcher, outcomes = collecting(project)
    with watching(watcher):
        written = []
        for number in range(10):
            path = project / "content" / f"{number + 3:02d}-extra.md"
            path.write_text(f"---\ntitle: Extra {number}\n---\n\nText {number}.\n", encoding="utf-8")
            written.append(path.resolve())
        outcome = outcomes.get(timeout=60)
        time.sleep(1.0)  # well past the debounce step: a second rebuild would have begun by now
    assert outcome.ok, outcome.error
    assert watcher.builds == 1
    assert outcomes.empty()
    assert set(written) <= set(outcome.changes)
    assert outcome.results[0].path.is_file()


def test_output_and_editor_files_do_not_rebuild(make_project) -> None:
    project = make_project()
    calls: list[Path] = []
    watcher, outcomes = collecting(project, builder=fake_build(calls))
    with watching(watcher):
        (project / "build").mkdir(exist_ok=True)
        (project / "build/mini-print.pdf").write_bytes(b"%PDF")
        (project / "content/.01-one.md.swp").write_bytes(b"swap")
        (project / "content/01-one.md~").write_text("backup", encoding="utf-8")
        (project / "content/4913").write_text("", encoding="utf-8")
        (project / "notes.txt").write_text("not a source", encoding="utf-8")
        time.sleep(1.0)
        assert calls == []
        (project / "content/01-one.md").write_text(FIXED, encoding="utf-8")
        outcome = outcomes.get(timeout=30)
    assert outcome.changes == ((project / "content/01-one.md").resolve(),)
    assert len(calls) == 1


def test_a_brand_outside_the_project_is_watched(make_project, tmp_path: Path) -> None:
    brand = tmp_path / "brands" / "_brand.yml"
    brand.parent.mkdir()
    brand.write_text("meta:\n  name: Outside\n", encoding="utf-8")
    project = make_project({"booklet.toml": 'name = "mini"\ntitle = "Mini"\nbrand = "../brands/_brand.yml"\n'})
    calls: list[Path] = []
    watcher, outcomes = collecting(project, builder=fake_build(calls))
    watcher.rebuild()
    assert outcomes.get_nowait().ok
    with watching(watcher):
        brand.write_text("meta:\n  name: Changed\n", encoding="utf-8")
        outcome = outcomes.get(timeout=30)
    assert outcome.changes == (brand.resolve(),)


def test_an_error_is_reported_and_watching_goes_on(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project()
    monkeypatch.chdir(project)
    watcher, outcomes = collecting(project)
    with watching(watcher, initial=True) as thread:
        assert outcomes.get(timeout=60).ok
        (project / "content/01-one.md").write_text(BROKEN, encoding="utf-8")
        broken = outcomes.get(timeout=60)
        assert not broken.ok
        assert broken.error.startswith("content/01-one.md:4: broken front matter")
        assert "Traceback" not in broken.error
        assert thread.is_alive()
        (project / "content/01-one.md").write_text(FIXED, encoding="utf-8")
        fixed = outcomes.get(timeout=60)
    assert fixed.ok, fixed.error
    assert fixed.results and fixed.results[0].path.is_file()


def test_a_crash_is_reported_like_an_error(make_project) -> None:
    def crash(project: Path, **options) -> list[BuildResult]:
        raise RuntimeError("the typesetter fell over")

    watcher, _ = collecting(make_project(), builder=crash)
    outcome = watcher.rebuild()
    assert outcome.error == "unexpected RuntimeError: the typesetter fell over\n  hint: run `booklet build --debug` for the traceback"


def test_watching_is_announced_once_the_folders_are_watched(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    # Someone who saves a file as soon as they read "Watching" must see it rebuilt: watchfiles
    # watches the folders from the moment its generator starts.
    import logging

    import booklet.watch

    events: list[str] = []

    def watch(*roots: Path, stop_event: threading.Event, **options: object) -> Iterator[set[tuple[Change, str]]]:
        events.append("watched")
        stop_event.set()
        yield set()

    class Announced(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("Watching "):
                events.append("announced")

    monkeypatch.setattr(booklet.watch.watchfiles, "watch", watch)
    handler = Announced()
    logger = logging.getLogger("booklet.watch")
    logger.addHandler(handler)
    monkeypatch.setattr(logger, "level", logging.INFO)
    try:
        Watcher(make_project(), builder=lambda *args, **options: []).run(threading.Event(), initial=False)
    finally:
        logger.removeHandler(handler)
    assert events == ["watched", "announced"]


def test_watch_command_stops_cleanly_on_ctrl_c(make_project) -> None:
    project = make_project()
    with Booklet("watch", "--project", str(project), cwd=project) as booklet:
        booklet.wait_for(r"^Watching content/, assets/, booklet\.toml and assets/brands/anniversary/_brand\.yml")
        (project / "content/01-one.md").write_text(BROKEN, encoding="utf-8")
        booklet.wait_for(r"^error: content/01-one\.md:4: broken front matter")
        code = booklet.interrupt()
    assert code == 0, booklet.output
    assert "Traceback" not in booklet.output
    assert booklet.output.rstrip().endswith("Stopped.")


def test_the_first_edition_is_written_and_announced_before_the_others(make_project) -> None:
    project = make_project({"booklet.toml": 'name = "mini"\ntitle = "Mini"\neditions = ["screen", "print", "handout"]\n'})
    events: list[object] = []

    def build(project: Path, *, out_dir: Path | None = None, brand: Path | None = None, editions: list[str] | None = None) -> list:
        events.append(editions)
        return []

    watcher = Watcher(project, builder=build, first="print", on_first=lambda: events.append("shown"))
    assert watcher.rebuild().ok
    assert events == [["print"], "shown", ["screen", "handout"]]

    # Without the edition among the config's, one build as before.
    events.clear()
    Watcher(project, builder=build, first="timeline", on_first=lambda: events.append("shown")).rebuild()
    assert events == [None]


def test_a_first_build_that_typesets_nothing_is_followed_by_a_warm_up(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    from booklet import parts

    project = make_project()
    assert Watcher(project).rebuild().ok  # every part in the cache from now on
    monkeypatch.setattr(parts, "_kept", {})  # as in a new process
    monkeypatch.setattr(parts, "_to_warm", {})
    watcher, outcomes = collecting(project)
    with watching(watcher, initial=True):
        assert outcomes.get(timeout=60).ok
        deadline = time.monotonic() + 60
        while not parts._kept and time.monotonic() < deadline:
            time.sleep(0.05)  # the warm-up comes once watching has begun and nothing changes
    # The fonts and stylesheets of the print edition are loaded, ready for the first edit.
    assert len(parts._kept) == 1
    assert all(reuse.used for _, reuse in parts._kept.values())
