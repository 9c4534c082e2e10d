"""Limits on untrusted input: a deadline for long phases, and a size cap for the files a build reads."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from booklet.errors import BookletError, ContentError

log = logging.getLogger(__name__)

# If something below us catches the first timeout error (WeasyPrint turns a failing image
# into a warning, for one), the alarm fires again after this long until the error gets out.
_RETRY = 0.05


class TimeLimitError(BookletError):
    """A phase of the build ran longer than its configured limit."""


@contextmanager
def deadline(
    seconds: float | None, *, what: str, file: Path | None = None, key: str | None = None, hint: str | None = None
) -> Iterator[None]:
    """Stop the block with a ``TimeLimitError`` once it has run ``seconds`` (None or 0: no limit).

    The limit is a SIGALRM timer, so it holds only in the main thread of a process (a worker
    process's main thread included); elsewhere the block runs without a limit.
    """
    if not seconds or seconds <= 0:
        yield
        return
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        # Signals are delivered to the main thread only, and Windows has no SIGALRM; a thread
        # cannot be stopped from outside in Python, so there the phase runs to its end.
        log.debug("No time limit for %s: not in the main thread of a process", what)
        yield
        return

    error = TimeLimitError(f"{what} took longer than the limit of {seconds:g} s", file=file, key=key, hint=hint)
    started = time.monotonic()
    finished = False

    def alarm(signum: int, frame: object) -> None:
        if finished:
            return
        signal.setitimer(signal.ITIMER_REAL, _RETRY)
        raise error

    previous = signal.signal(signal.SIGALRM, alarm)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    if outer and outer < seconds:
        # An enclosing deadline is due first: keep its time, and hand the alarm to it.
        signal.setitimer(signal.ITIMER_REAL, outer)
        signal.signal(signal.SIGALRM, previous)
    try:
        yield
    finally:
        # Disarm even if the alarm fires while we do: a late error must not escape the cleanup.
        while True:
            try:
                finished = True
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
                if outer:
                    signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), _RETRY))
                break
            except TimeLimitError:
                continue


def check_file_size(path: Path, *, limit: float | None, config: Path, kind: str = "content file") -> None:
    """Refuse a file larger than ``limit`` megabytes before it is read ([limits] file_size in ``config``)."""
    if not limit:
        return
    size = path.stat().st_size
    if size > limit * 1_000_000:
        raise ContentError(
            f"is {_megabytes(size)}, over the limit of {limit:g} MB for a {kind}",
            file=path,
            hint=f"split it into several files, or raise the limit in {config.name}: [limits] file_size = {_suggest(size)}",
        )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.0f} KB"


def _suggest(size: int) -> str:
    return f"{int(size / 1_000_000) + 1}"
