"""Up to date or not: a build whose inputs are all as they were when it last wrote its PDFs does nothing."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from booklet import __version__
from booklet.config import Config

log = logging.getLogger(__name__)

STAMP = Path(".cache") / "up-to-date.json"
BUILTIN = Path(__file__).resolve().parent / "layouts"  # as layout.BUILTIN, without importing Jinja


def inputs_digest(config: Config, *, options: Sequence[object]) -> str:
    """A digest of every file a build may read (name, size and time of change) and of how it was asked for.

    The sandbox serves files only from the project, the brand's folder, booklet's own layouts and
    the print profile, so those folders hold every input; the output folder is left out.
    """
    digest = hashlib.sha256(repr((__version__, list(options))).encode())
    out = config.out_dir.resolve()
    roots = sorted({config.root.resolve(), config.brand.resolve().parent, BUILTIN.resolve()})
    for root in roots:
        for folder, names, files in os.walk(root):
            here = Path(folder)
            # Never the output (or a .git); sorted, so the walk is the same every time.
            names[:] = sorted(n for n in names if (here / n).resolve() != out and n not in {".git", "__pycache__"})
            for name in sorted(files):
                path = here / name
                try:
                    stat = path.stat()
                except OSError:
                    continue
                digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    for path in (config.path, config.brand, config.print.profile):
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def options(config: Config, *, editions: Sequence[str], single_pass: bool, html: bool) -> tuple[object, ...]:
    """What, besides the files, a build's output depends on: the same options give the same PDFs."""
    return (tuple(editions or config.editions), single_pass, html)


def replay(config: Config, digest: str) -> bool:
    """If the last build was made from inputs with ``digest`` and its PDFs are untouched, say again what it reported."""
    try:
        stamp = json.loads((config.out_dir / STAMP).read_text(encoding="utf-8"))
        if stamp.get("inputs") != digest:
            return False
        for name, recorded in stamp["outputs"].items():
            if hashlib.sha256((config.out_dir / name).read_bytes()).hexdigest() != recorded:
                return False
        report = [(int(level), str(message)) for level, message in stamp["report"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    log.info("Nothing has changed since the last build; its PDFs are up to date")
    for level, message in report:
        log.log(level, "%s", message)
    return True


class Recording(logging.Handler):
    """While in use, keeps every warning booklet logs, as (level, message), in ``into``."""

    def __init__(self, into: list[tuple[int, str]]):
        super().__init__(level=logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append((record.levelno, record.getMessage()))

    def __enter__(self) -> Recording:
        logging.getLogger("booklet").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("booklet").removeHandler(self)


def record(config: Config, digest: str, outputs: Sequence[Path], report: Sequence[tuple[int, str]]) -> None:
    """Note what a successful build wrote from which inputs, for the next build to compare."""
    from booklet.output import write_atomic

    stamp = {
        "inputs": digest,
        "outputs": {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in outputs},
        "report": list(report),
    }
    (config.out_dir / STAMP).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(config.out_dir / STAMP, json.dumps(stamp, indent=1).encode())


def forget(config: Config) -> None:
    """A build is starting that may change the outputs: the old stamp no longer holds."""
    with contextlib.suppress(OSError):
        (config.out_dir / STAMP).unlink()
