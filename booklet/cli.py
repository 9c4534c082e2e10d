"""The command line: booklet build, and the shared -v/-q/--debug options."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from booklet import __version__
from booklet.errors import BookletError

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
    # WeasyPrint's own messages (unsupported CSS and the like) only at -vv.
    logging.getLogger("weasyprint").setLevel(logging.DEBUG if verbose >= 2 else logging.ERROR)
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

    @click.option("-v", "--verbose", count=True, help="Say more (-vv for WeasyPrint's messages).")
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


@main.command()
@click.option(
    "--project",
    "-p",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The project folder (holding booklet.toml).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder [default: the config's out_dir, build/].",
)
@click.option(
    "--brand", type=click.Path(dir_okay=False, path_type=Path), default=None, help="A brand.yml file to use instead of the config's."
)
@click.option(
    "--edition",
    "-e",
    "editions",
    multiple=True,
    metavar="NAME",
    help="An edition to make; repeat for several [default: print]. print: the booklet; timeline: the timeline handout.",
)
@common_options
def build(project: Path, out: Path | None, brand: Path | None, editions: tuple[str, ...]) -> None:
    """Build the publication's PDFs."""
    from booklet.builder import build as run_build

    run_build(project, out_dir=out, brand=brand, editions=editions or ("print",))


if __name__ == "__main__":  # pragma: no cover
    main()
