"""The command line: build, preflight, impose, watch, serve and new, with shared -v/-q/--debug/--strict."""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from booklet import __version__
from booklet.errors import BookletError, display_path
from booklet.output import write_atomic

log = logging.getLogger("booklet")


class _StrictHandler(logging.Handler):
    """Counts warnings so that --strict can fail the command after it ran."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def _setup_logging(verbose: int, quiet: int) -> _StrictHandler:
    level = logging.INFO - 10 * verbose + 10 * quiet
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root.addHandler(handler)
    root.setLevel(max(level, logging.DEBUG))
    # -v is booklet's own debug messages; other libraries' (brand_yml, Markdown, Pillow) only at -vv.
    logging.getLogger("booklet").setLevel(max(level, logging.DEBUG))
    if verbose < 2:
        root.setLevel(max(level, logging.INFO))
    # WeasyPrint's own messages (unsupported CSS and the like) only at -vv.
    logging.getLogger("weasyprint").setLevel(logging.DEBUG if verbose >= 2 else logging.ERROR)
    # pypdf's repairs of damaged input ("EOF marker not found") likewise; a real problem is an error.
    logging.getLogger("pypdf").setLevel(logging.DEBUG if verbose >= 2 else logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    strict = _StrictHandler()
    logging.getLogger("booklet").addHandler(strict)
    return strict


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            return f"error: {message}"
        if record.levelno >= logging.WARNING:
            return f"warning: {message}"
        return message


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """-v/-q/--debug/--strict for every command; they run the command and map errors to exit codes."""

    @click.option("-v", "--verbose", count=True, help="Say more (-vv for WeasyPrint's and pypdf's messages).")
    @click.option("-q", "--quiet", count=True, help="Say less: only warnings and errors.")
    @click.option("--debug", is_flag=True, help="Show a traceback for errors.")
    @click.option("--strict", is_flag=True, help="Fail when there are warnings.")
    @functools.wraps(func)
    def wrapper(*args: Any, verbose: int, quiet: int, debug: bool, strict: bool, **kwargs: Any) -> Any:
        counter = _setup_logging(verbose, quiet)
        try:
            result = func(*args, **kwargs)
        except BookletError as exc:
            if debug:
                raise
            click.echo(f"error: {exc.format()}", err=True)
            sys.exit(1)
        if strict and counter.count:
            click.echo(f"error: {counter.count} warning(s) and --strict is set", err=True)
            sys.exit(1)
        return result

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="booklet")
def main() -> None:
    """Build print publications from Markdown, Jinja2 layouts and a brand file."""


def _project_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--project, --out and --brand, as `booklet build` takes them."""
    func = click.option(
        "--brand", type=click.Path(dir_okay=False, path_type=Path), default=None, help="A brand.yml file to use instead of the config's."
    )(func)
    func = click.option(
        "--out",
        "-o",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Output folder [default: the config's out_dir, build/].",
    )(func)
    return click.option(
        "--project",
        "-p",
        type=click.Path(file_okay=False, path_type=Path),
        default=".",
        show_default=True,
        help="The project folder (holding booklet.toml).",
    )(func)


@main.command()
@_project_options
@click.option(
    "--edition",
    "-e",
    "editions",
    multiple=True,
    metavar="NAME",
    help="An edition to make; repeat for several [default: the config's editions]. print: PDF/X-4 for the press; "
    "screen: light, tagged, to e-mail; handout: imposed for an office printer; timeline: the timeline on one sheet.",
)
@click.option(
    "--single-pass",
    is_flag=True,
    help="Typeset each edition in one WeasyPrint pass instead of in parts in parallel: slower, the reference.",
)
@click.option("--html", "write_html", is_flag=True, help="Also write each edition's final HTML, which plain `weasyprint` can render.")
@common_options
def build(project: Path, out: Path | None, brand: Path | None, editions: tuple[str, ...], single_pass: bool, write_html: bool) -> None:
    """Build the publication's PDFs."""
    from booklet import fresh
    from booklet.config import load_config

    # Before the builder (and WeasyPrint, Jinja, Markdown) is even imported: is there anything to do?
    # (An unknown edition never matches: only a build that succeeded leaves a stamp.)
    config = load_config(project, brand=brand, out_dir=out)
    options = fresh.options(config, editions=editions, single_pass=single_pass, html=write_html)
    if fresh.replay(config, fresh.inputs_digest(config, options=options)):
        return
    from booklet import parts

    # The workers start now, and import WeasyPrint while this process imports the builder and reads the project.
    rebuild = (config.out_dir / fresh.STAMP).is_file()
    with parts.early_workers(start=not single_pass, rebuild=rebuild, languages=[config.language]), _collecting_seldom():
        from booklet.builder import build as run_build

        # What is imported lives as long as this process: kept out of the collections, as in the workers.
        gc.freeze()
        run_build(project, out_dir=out, brand=brand, editions=editions, single_pass=single_pass, html=write_html)


@contextlib.contextmanager
def _collecting_seldom() -> Iterator[None]:
    """Collect cycles during a build only once as many are left as an early worker leaves.

    The parts read for the join live until it is done: each collection scans them again (four,
    0.04 s of a 300-page build's last phase) and finds next to nothing. The threshold is put back
    after, unless the process ends with the command (``run``): then the next allocation would
    start a collection of everything the build made, 0.03 s, for nothing.
    """
    from booklet import parts

    before = gc.get_threshold()
    gc.set_threshold(parts.EARLY_WORKER_GARBAGE, *before[1:])
    try:
        yield
    finally:
        if not _ending_with_the_command:
            gc.set_threshold(*before)


_ending_with_the_command = False  # set by ``run``: the process ends when the command does


@main.command()
@_project_options
@click.option("--edition", "-e", default="print", show_default=True, help="Which built edition to check.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON, for tools.")
@common_options
def preflight(project: Path, out: Path | None, brand: Path | None, edition: str, as_json: bool) -> None:
    """Check the built PDF as a printer would; exit 1 on errors (with --strict, on warnings too)."""
    from booklet import preflight as checks
    from booklet.builder import preflight as run_preflight

    target, findings = run_preflight(project, out_dir=out, brand=brand, edition=edition)
    if as_json:
        click.echo(checks.as_json(findings))
    else:
        import pypdf

        click.echo(checks.report(findings, pdf=target, pages=len(pypdf.PdfReader(target).pages), edition=edition))
    strict = click.get_current_context().params.get("strict")
    if any(f.severity == "error" for f in findings) or (strict and findings):
        sys.exit(1)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--title", default=None, help="The publication's title [default: made from the folder's name].")
@common_options
def new(directory: Path, title: str | None) -> None:
    """Start a new publication in DIRECTORY: config, sample content, a brand with its fonts, templates/."""
    from booklet.new import create

    create(directory, title=title)


def _creep(ctx: click.Context, param: click.Parameter, value: float) -> float:
    # FloatRange lets "nan" through; a creep must be a real, non-negative distance.
    if not (math.isfinite(value) and value >= 0):
        raise click.BadParameter(f"must be 0 or more millimetres, such as 0.5, not {value:g}")
    return value


@main.command()
@click.argument("source", metavar="IN.pdf", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("target", metavar="OUT.pdf", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--sheet", type=click.Choice(["a4", "letter"], case_sensitive=False), default="a4", show_default=True, help="Paper, used landscape."
)
@click.option(
    "--duplex",
    type=click.Choice(["short", "long"]),
    default="short",
    show_default=True,
    help="The edge the printer flips the sheet on; 'long' turns the backs by 180°.",
)
@click.option(
    "--creep",
    type=float,
    default=0.0,
    metavar="MM",
    callback=_creep,
    help="Move the innermost sheet's pages this far toward the fold (the outermost not at all). [default: 0]",
)
@click.option(
    "--pad",
    type=click.Choice(["before-last", "end"]),
    default="before-last",
    show_default=True,
    help="Where blank pages go to make a multiple of four: before the back cover, or at the end.",
)
@common_options
def impose(source: Path, target: Path, sheet: str, duplex: str, creep: float, pad: str) -> None:
    """Impose a finished booklet 2-up on landscape sheets for saddle stitching.

    Print OUT.pdf double-sided, fold the stack in the middle and staple it: the pages read
    1, 2, 3... Pages are clipped at their trim (no bleed, no marks) and scaled to fit half a sheet.
    """
    from booklet.impose import impose as run_impose

    result = run_impose(source, sheet=sheet.lower(), duplex=duplex, creep_mm=creep, pad=pad)
    write_atomic(target, result.pdf)
    log.info(
        "Wrote %s: %d sheet(s), %d pages; scale %s; %d blank page(s) added",
        display_path(target),
        result.sheets,
        2 * result.sheets,
        f"{result.scale:.3f}".rstrip("0").rstrip("."),
        result.padded,
    )


@main.command()
@_project_options
@common_options
def watch(project: Path, out: Path | None, brand: Path | None) -> None:
    """Rebuild whenever the content, templates, assets, brand or booklet.toml change."""
    import threading

    from booklet.watch import Watcher

    debug = bool(click.get_current_context().params.get("debug"))
    try:
        Watcher(project, out_dir=out, brand=brand, debug=debug).run(threading.Event())
    except KeyboardInterrupt:
        log.info("Stopped.")


@main.command()
@_project_options
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port on 127.0.0.1 (0 picks a free one).")
@common_options
def serve(project: Path, out: Path | None, brand: Path | None, port: int) -> None:
    """Watch, and show the booklet as spreads on a local page that updates itself."""
    import threading

    from booklet.serve import serve as run_serve

    debug = bool(click.get_current_context().params.get("debug"))

    def ready(url: str) -> None:
        click.echo(f"Preview at {url} (Ctrl-C to stop)")

    try:
        run_serve(project, port=port, out_dir=out, brand=brand, stop_event=threading.Event(), on_ready=ready, debug=debug)
    except KeyboardInterrupt:
        log.info("Stopped.")


# glibc's mallopt parameters.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory() -> None:
    """Have the C allocator keep memory it frees for the allocations to come (glibc only).

    By default glibc gives freed memory back to the system as soon as a little of it is free,
    and serves blocks of a few hundred kilobytes from fresh mappings. A build allocates and
    frees such blocks all the time (pages, their drawings, PDF streams), and each page of fresh
    memory costs a fault on first use: about a quarter of a second of system time in a 300-page
    cold build. The workers are forked from this process and keep its setting. Memory still
    goes back to the system when a process ends, and a process never holds more than it needed
    at its peak.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return  # not glibc
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    # Blocks up to 32 MiB (glibc's largest threshold) come from the heap, which is given back only when 512 MiB of it are free.
    mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)
    mallopt(_M_TRIM_THRESHOLD, 512 * 2**20)


def run(args: Sequence[str] | None = None) -> None:
    """The ``booklet`` command as a process of its own: ``main``, and a quick exit."""
    keep_freed_memory()
    # Typesetting makes millions of objects that live as long as their document: a collection every
    # 700 of them (the default) scans the same ones over and over, a twentieth of a build's time.
    # The workers are forked with this setting too.
    gc.set_threshold(50_000, 20, 20)
    global _ending_with_the_command
    _ending_with_the_command = True
    try:
        main(args)
    finally:
        # The process ends here. WeasyPrint's font folders, which their configurations remove only
        # when collected, are removed now; then everything is left out of the collections on the
        # way out, which would search it all for cycles (a few tenths of a second after a build
        # of 300 pages).
        typeset = sys.modules.get("booklet.typeset")
        if typeset is not None:
            typeset.remove_font_folders()
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    run()
