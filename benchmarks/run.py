"""Time booklet's builds side by side with raw WeasyPrint on the same HTML, and print one table of ratios.

    python benchmarks/run.py            # the sample booklet and a generated 300-page publication
    python benchmarks/run.py --tiny     # a small generated publication only: a quick check that it all runs
    python benchmarks/run.py --repeat 5 # each cold build, reference and edit measured 5 times (3 by default), medians shown

Every figure is measured in this one run, on this machine, each build in a fresh process but
the last: a one-word edit seen by a running `booklet watch`, timed from the save to the print
edition written. Ratios are to "raw WeasyPrint": the plain `weasyprint` command rendering the
final HTML that `booklet build --html` writes, in one process.
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


def edit_one_word(project: Path, nth: int = 0) -> None:
    """Change one word (the ``nth`` that can be changed) in the first section that has one to change."""
    for path in sorted((project / "content").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        body = text.split("---", 2)[-1]
        matches = list(re.finditer(r"\b([a-z]{5,})\b", body))
        if matches:
            match = matches[nth % len(matches)]
            changed = body[: match.start()] + match[1][::-1] + body[match.end() :]
            path.write_text(text[: len(text) - len(body)] + changed, encoding="utf-8")
            return


def add_a_page(project: Path, pdf: Path, out: Path) -> int:
    """Lengthen the second section by a few pages; the page count before."""
    before = pages(pdf)
    sections = sorted((project / "content").glob("*.md"))
    target = sections[min(1, len(sections) - 1)]
    text = target.read_text(encoding="utf-8")
    paragraphs = [p for p in text.split("---", 2)[-1].split("\n\n") if len(p) > 200 and not p.startswith(("!", "|", "#", "["))]
    target.write_text(text.rstrip("\n") + "\n\n" + "\n\n".join(paragraphs[:8]) + "\n", encoding="utf-8")
    return before


def watch_edit(project: Path, out: Path, *, nth: int = 0) -> Run:
    """A one-word edit while `booklet watch` runs: from the save to the print edition written again.

    The watching process is warm: booklet and WeasyPrint imported, fonts and stylesheets loaded.
    """
    command = [sys.executable, "-m", "booklet", "watch", "--project", str(project), "--out", str(out)]
    process = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()], daemon=True).start()
    output: list[str] = []

    def wait_for(pattern: str) -> None:
        try:
            while not re.search(pattern, line := lines.get(timeout=300)):
                output.append(line)
        except queue.Empty:
            raise SystemExit(f"{' '.join(command)} printed no line matching {pattern!r} in 300 s:\n{''.join(output)}") from None
        output.append(line)

    try:
        wait_for(r"Watching ")
        # Settled, as when someone edits: once watching, a watch process first loads its fonts.
        time.sleep(5)
        started = time.perf_counter()
        edit_one_word(project, nth)
        wait_for(r"Wrote \S*-print\.pdf")
        seconds = time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGINT)
        usage = _reap(process, grace=60)
    return Run(seconds, usage.ru_maxrss / 1024, "".join(output))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="only a small generated publication: checks that the script runs")
    parser.add_argument("--sections", type=int, default=30)
    parser.add_argument("--paragraphs", type=int, default=19, help="per section; 19 makes about 300 pages with 30 sections")
    parser.add_argument(
        "--repeat", type=int, default=3, help="times to measure the cold build, the reference and each edit (the median is shown)"
    )
    args = parser.parse_args()
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
