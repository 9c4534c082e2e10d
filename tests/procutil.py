"""Running booklet as a child process, as at a terminal, and reading what it says as it says it."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

from conftest import ROOT


class Booklet:
    """``python -m booklet ARGS`` with this repository's code; its output lines are collected as they come."""

    def __init__(self, *args: str, cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "booklet", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        self._readers = [
            threading.Thread(target=self._read, args=(stream,), daemon=True) for stream in (self.process.stdout, self.process.stderr)
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream) -> None:
        for line in stream:
            self._new.put(line)

    @property
    def output(self) -> str:
        self._drain()
        return "".join(self.lines)

    def _drain(self) -> None:
        while True:
            try:
                self.lines.append(self._new.get_nowait())
            except queue.Empty:
                return

    def wait_for(self, pattern: str, *, timeout: float = 60) -> re.Match[str]:
        """The first output line matching ``pattern``, waiting for it to be printed."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            self._drain()
            for line in self.lines[seen:]:
                if found := re.search(pattern, line):
                    return found
            seen = len(self.lines)
            if time.monotonic() > deadline or (self.process.poll() is not None and self._new.empty()):
                raise AssertionError(f"no line matching {pattern!r} within {timeout} s; output:\n{self.output}")
            time.sleep(0.05)

    def interrupt(self, *, timeout: float = 30) -> int:
        """Press Ctrl-C and wait for the program to end; its exit code."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def __enter__(self) -> Booklet:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
