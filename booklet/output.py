"""Atomic output: write to a temporary file beside the target, then rename it into place; cache files held back until a build succeeds."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Replace ``path`` with ``data`` so that readers see the old file or the new one, never half.

    ``sync=False`` skips the flush to disk: for a cache file, which a crash costs a rebuild of, never a wrong result.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


_later: ContextVar[dict[Path, bytes] | None] = ContextVar("later", default=None)


def write_cache(path: Path, data: bytes) -> None:
    """Keep ``data`` in a cache file: now, or once the build under way has written its output (see ``later``)."""
    pending = _later.get()
    if pending is not None:
        pending[path] = data
        return
    write_atomic(path, data, sync=False)


@contextmanager
def later() -> Iterator[dict[Path, bytes]]:
    """Hold back the cache files written inside, for ``flush`` once the build has succeeded.

    What a build reads is cached in the output folder; a build that fails while reading must
    not create that folder, and one that succeeds leaves the caches for the next.
    """
    token = _later.set({})
    try:
        yield _later.get()  # type: ignore[misc]
    finally:
        _later.reset(token)


def flush(pending: dict[Path, bytes]) -> None:
    """Write the cache files held back by ``later``; a cache that cannot be written is only a slower next build."""
    for path, data in pending.items():
        with suppress(OSError):
            write_atomic(path, data, sync=False)
