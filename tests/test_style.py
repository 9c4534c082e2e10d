"""The code passes ruff's lint and format checks, as configured in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys

from conftest import ROOT


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("ruff") or sys.executable
    command = [exe, *args] if exe.endswith("ruff") else [exe, "-m", "ruff", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_lint() -> None:
    result = ruff("check", "booklet", "tests", "build.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = ruff("format", "--check", "booklet", "tests", "build.py")
    assert result.returncode == 0, result.stdout + result.stderr
