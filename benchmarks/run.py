"""Time booklet's builds side by side with raw WeasyPrint on the same HTML, and print one table of ratios.

    python benchmarks/run.py            # the sample booklet and a generated 300-page publication
    python benchmarks/run.py --tiny     # a small generated publication only: a quick check that it all runs
    python benchmarks/run.py --repeat 5 # each cold build, reference and edit measured 5 times (3 by default), medians shown

Every figure is measured in this one run, on this machine, each build in a fresh process but
the last two: a one-word edit seen by a running `booklet watch`, timed from the save to the
print edition written; and one seen by a running `booklet serve` with the edited page's
spread open in a browser (Chromium, driven by Playwright), timed from the save to the page's
new picture loaded. Ratios are to "raw WeasyPrint": the plain `weasyprint` command rendering
the final HTML that `booklet build --html` writes, in one process.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402


@dataclass(frozen=True)
class Run:
    """One measured command: wall time and the largest resident size of any of its processes."""

    seconds: float
    peak_mb: float
    output: str


def measure(command: list[str], *, cwd: Path) -> Run:
    """Run ``command`` to the end; its own and its worker processes' peak memory come back through wait4."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{output}")
    return Run(seconds, usage.ru_maxrss / 1024, output)


def booklet(project: Path, out: Path, *extra: str) -> list[str]:
    # Every build also writes its HTML (--html): the reference is rendered from it, and a rebuild
    # with the same options and nothing changed must find nothing to do.
    return [sys.executable, "-m", "booklet", "build", "--project", str(project), "--out", str(out), "-e", "print", "-q", "--html", *extra]


def pages(pdf: Path) -> int:
    import pypdf

    return len(pypdf.PdfReader(pdf).pages)


def edit_one_word(project: Path, nth: int = 0) -> str:
    """Change one word (the ``nth`` that can be changed) in the first section that has one to change; the word changed."""
    path, match = word_to_edit(project, nth)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: match.start()] + match[1][::-1] + text[match.end() :], encoding="utf-8")
    return match[1]


def word_to_edit(project: Path, nth: int) -> tuple[Path, re.Match[str]]:
    """The section and the word (in its text, after the front matter) that ``edit_one_word(project, nth)`` changes."""
    for path in sorted((project / "content").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        body_at = len(text) - len(text.split("---", 2)[-1])
        matches = list(re.compile(r"\b([a-z]{5,})\b").finditer(text, body_at))
        if matches:
            return path, matches[nth % len(matches)]
    raise SystemExit(f"{project}: no word to edit")


def add_a_page(project: Path, pdf: Path, out: Path) -> int:
    """Lengthen the second section by a few pages; the page count before."""
    before = pages(pdf)
    sections = sorted((project / "content").glob("*.md"))
    target = sections[min(1, len(sections) - 1)]
    text = target.read_text(encoding="utf-8")
    paragraphs = [p for p in text.split("---", 2)[-1].split("\n\n") if len(p) > 200 and not p.startswith(("!", "|", "#", "["))]
    target.write_text(text.rstrip("\n") + "\n\n" + "\n\n".join(paragraphs[:8]) + "\n", encoding="utf-8")
    return before


class Running:
    """A long-running booklet command (watch, serve), its output read line by line as it comes."""

    def __init__(self, command: list[str], *, cwd: Path):
        self.command = command
        self.process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.process.stdout or ()], daemon=True).start()

    def wait_for(self, pattern: str, *, timeout: float = 300) -> re.Match[str]:
        """The first line from now on that matches ``pattern``; the run fails after ``timeout`` seconds without one."""
        try:
            while not (found := re.search(pattern, line := self.lines.get(timeout=timeout))):
                self.output.append(line)
        except queue.Empty:
            raise SystemExit(
                f"{' '.join(self.command)} printed no line matching {pattern!r} in {timeout:.0f} s:\n{''.join(self.output)}"
            ) from None
        self.output.append(line)
        return found

    def stop(self) -> resource.struct_rusage:
        """Interrupt the command as Ctrl-C would and wait for it (killed if it will not stop); its resource usage."""
        self.process.send_signal(signal.SIGINT)
        return _reap(self.process, grace=60)


def watch_edit(project: Path, out: Path, *, nth: int = 0) -> Run:
    """A one-word edit while `booklet watch` runs: from the save to the print edition written again.

    The watching process is warm: booklet and WeasyPrint imported, fonts and stylesheets loaded.
    """
    watch = Running([sys.executable, "-m", "booklet", "watch", "--project", str(project), "--out", str(out)], cwd=project)
    try:
        watch.wait_for(r"Watching ")
        # Settled, as when someone edits: once watching, a watch process first loads its fonts.
        time.sleep(5)
        started = time.perf_counter()
        edit_one_word(project, nth)
        watch.wait_for(r"Wrote \S*-print\.pdf")
        seconds = time.perf_counter() - started
    finally:
        usage = watch.stop()
    return Run(seconds, usage.ru_maxrss / 1024, "".join(watch.output))


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def preview_edit(project: Path, out: Path, *, nth: int = 0) -> Run | str:
    """A one-word edit while `booklet serve` runs and a browser shows the word's spread: from the save
    to the new picture of the edited page loaded in the page. Without a browser to drive, why not.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "Playwright for Python is not installed"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return "Chromium is not installed"
    serve = Running([sys.executable, "-m", "booklet", "serve", "--project", str(project), "--out", str(out), "--port", "0"], cwd=project)
    try:
        url = serve.wait_for(r"Preview at (http://\S+)")[1]
        serve.wait_for(r"Watching ")
        number, nth = page_of_word(project, out, nth)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(f"{url}#print/{number // 2 + 1}")
                image = f"#spread img[data-page='{number}']"
                loaded = "(selector) => { const n = document.querySelector(selector); return n && n.complete && n.naturalWidth > 0 ? n.src : null; }"
                before = page.wait_for_function(loaded, arg=image, timeout=300_000).json_value()
                # Settled, as when someone edits: once watching, the server first loads its fonts.
                time.sleep(5)
                started = time.perf_counter()
                edit_one_word(project, nth)
                changed = "([selector, before]) => { const n = document.querySelector(selector); return !!n && n.src !== before && n.complete && n.naturalWidth > 0; }"
                page.wait_for_function(changed, arg=[image, before], polling=10, timeout=300_000)
                seconds = time.perf_counter() - started
            finally:
                browser.close()
    finally:
        usage = serve.stop()
    return Run(seconds, usage.ru_maxrss / 1024, "".join(serve.output))


def page_of_word(project: Path, out: Path, nth: int) -> tuple[int, int]:
    """The print edition's page that shows the word ``edit_one_word(project, nth)`` would change, and that nth.

    The page is the one whose text holds the word with the words around it in the source; a
    later nth is taken while no single page does (the words split over two pages, or apart).
    """
    import pypdf

    words = re.compile(r"\w+")
    reader = pypdf.PdfReader(next(out.glob("*-print.pdf")))
    # Words split at a line's end are joined again.
    pages = [" ".join(words.findall(re.sub(r"[-\u2010\u00ad]\n", "", page.extract_text() or ""))) for page in reader.pages]
    for tried in range(nth, nth + 50):
        path, match = word_to_edit(project, tried)
        text = path.read_text(encoding="utf-8")
        around = " ".join(
            words.findall(text, max(0, match.start() - 60), match.start())[-4:] + words.findall(text, match.start(), match.end() + 40)[:4]
        )
        found = [number for number, page in enumerate(pages, start=1) if f" {around} " in f" {page} "]
        if len(found) == 1:
            return found[0], tried
    raise SystemExit(f"{project}: no word to edit whose page could be told")


def _reap(process: subprocess.Popen[str], *, grace: float) -> resource.struct_rusage:
    """Wait for ``process`` to end, killing it after ``grace`` seconds; its resource usage."""
    deadline = time.monotonic() + grace
    while True:
        pid, _, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            return usage
        if time.monotonic() > deadline:
            process.kill()
            deadline = float("inf")
        time.sleep(0.05)


def median(runs: list[Run]) -> Run:
    """The run of median time, with the largest peak memory of them all."""
    middle = sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]
    return Run(middle.seconds, max(run.peak_mb for run in runs), middle.output)


def bench(name: str, project: Path, work: Path, *, repeat: int = 1) -> list[tuple[str, str, Run | None, str]]:
    """Rows of (publication, measurement, run, note), measured in order.

    With ``repeat``, the cold build and the reference take turns that many times, and each edit is
    a new one that many times: a machine whose speed drifts then weighs on both sides alike.
    """
    out = work / f"{name}-build"
    single = work / f"{name}-single"
    rows: list[tuple[str, str, Run | None, str]] = []
    print(f"Measuring {name}...", file=sys.stderr)
    times = f"median of {repeat}, " if repeat > 1 else ""

    colds, references = [], []
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        colds.append(measure(booklet(project, out), cwd=project))
        pdf = next(out.glob("*-print.pdf"))
        html = pdf.with_suffix(".html")
        references.append(measure([sys.executable, "-m", "weasyprint", "--quiet", str(html), str(work / f"{name}-raw.pdf")], cwd=out))
    cold, reference = median(colds), median(references)
    rows.append((name, "raw WeasyPrint, final HTML, one process", reference, f"{times}{pages(work / f'{name}-raw.pdf')} pages"))
    rows.append((name, "booklet, single pass (--single-pass)", measure(booklet(project, single, "--single-pass"), cwd=project), ""))
    rows.append((name, "booklet, cold (parts in parallel)", cold, f"{times}{pages(pdf)} pages"))
    rows.append((name, "rebuild, nothing changed", measure(booklet(project, out), cwd=project), ""))
    edits = []
    for nth in range(repeat):
        edit_one_word(project, nth)
        edits.append(measure(booklet(project, out), cwd=project))
    rows.append((name, "rebuild after a one-word edit", median(edits), times.removesuffix(", ")))
    edits, first = [], pages(pdf)
    for _ in range(repeat):
        add_a_page(project, pdf, out)
        edits.append(measure(booklet(project, out), cwd=project))
    rows.append((name, "rebuild after an edit adding pages early", median(edits), f"{times}{first} -> {pages(pdf)} pages"))
    # A word no build has changed yet, so the edited part is not in the cache.
    rows.append((name, "one-word edit in a running `booklet watch`, save to PDF", watch_edit(project, out, nth=repeat), "print edition"))
    preview = preview_edit(project, out, nth=repeat + 1)
    what = "one-word edit in a running `booklet serve`, save to the page's new picture in the browser"
    rows.append((name, what, preview, "print edition") if isinstance(preview, Run) else (name, what, None, preview))
    pandoc = shutil.which("pandoc")
    if pandoc:
        sources = sorted(str(p) for p in (project / "content").glob("*.md"))
        run = measure([pandoc, *sources, "--pdf-engine=weasyprint", "-o", str(work / f"{name}-pandoc.pdf")], cwd=project / "content")
        rows.append((name, "pandoc --pdf-engine=weasyprint, same Markdown", run, ""))
    else:
        rows.append((name, "pandoc --pdf-engine=weasyprint, same Markdown", None, "pandoc is not installed"))
    return rows


def table(rows: list[tuple[str, str, Run | None, str]]) -> str:
    lines = [
        "| publication | measurement | seconds | × raw WeasyPrint | peak MB | note |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    reference: dict[str, float] = {}
    for name, what, run, note in rows:
        if run is None:
            lines.append(f"| {name} | {what} | | | | {note} |")
            continue
        reference.setdefault(name, run.seconds)
        lines.append(f"| {name} | {what} | {run.seconds:.2f} | {run.seconds / reference[name]:.2f} | {run.peak_mb:.0f} | {note} |")
    return "\n".join(lines)


def copy_sample(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in ("booklet.toml", "content", "assets", "templates"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        elif source.is_file():
            shutil.copy2(source, target / name)
    # The print edition alone, as raw WeasyPrint renders one HTML.
    return target


def compile_booklet() -> None:
    """Byte-compile booklet's modules, as installing a package does; WeasyPrint's, the reference's, are.

    An editable install leaves that to the first run, and a machine with PYTHONDONTWRITEBYTECODE
    set never does it: every build would compile booklet again, a few hundredths of a second.
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("booklet")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(folder, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="only a small generated publication: checks that the script runs")
    parser.add_argument("--sections", type=int, default=30)
    parser.add_argument("--paragraphs", type=int, default=19, help="per section; 19 makes about 300 pages with 30 sections")
    parser.add_argument(
        "--repeat", type=int, default=3, help="times to measure the cold build, the reference and each edit (the median is shown)"
    )
    args = parser.parse_args()
    compile_booklet()
    with tempfile.TemporaryDirectory(prefix="booklet-bench-") as temp:
        work = Path(temp)
        rows = []
        if args.tiny:
            rows += bench("tiny", generate(work / "tiny", sections=2, paragraphs=3), work)
        else:
            rows += bench("sample", copy_sample(work / "sample"), work, repeat=args.repeat)
            generated = generate(work / "generated", sections=args.sections, paragraphs=args.paragraphs)
            rows += bench("generated", generated, work, repeat=args.repeat)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"booklet benchmarks on {cores} core(s), Python {sys.version.split()[0]}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
