"""Untrusted content cannot reach outside the project, and a failed or killed build loses nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pypdf
import pytest

from booklet.output import write_atomic
from conftest import ROOT, run

HINT = "  hint: use a file inside the project folder, with a path relative to the file that references it\n"

REFUSED_IN_MARKDOWN = {
    "file URL": (
        "![pw](file:///etc/passwd)",
        "error: content/01-one.md: reference 'file:///etc/passwd' is refused: it points outside the project folder\n" + HINT,
    ),
    "http": (
        '<img src="https://example.com/a.png" alt="x">',
        "error: content/01-one.md: reference 'https://example.com/a.png' is refused: https: references are not allowed, only files inside the project and data: URIs\n"
        + HINT,
    ),
    "ftp attachment": (
        '<link rel="attachment" href="ftp://example.com/y">',
        "error: content/01-one.md: reference 'ftp://example.com/y' is refused: ftp: references are not allowed, only files inside the project and data: URIs\n"
        + HINT,
    ),
    "css url": (
        '<div style="background: url(/etc/passwd)">x</div>',
        "error: content/01-one.md: reference 'file:///etc/passwd' is refused: it points outside the project folder\n" + HINT,
    ),
    "dot-dot image": (
        '<img src="../../../../../../etc/passwd" alt="x">',
        "error: content/01-one.md:5: image '../../../../../../etc/passwd' is refused: it points outside the project folder\n"
        "  hint: copy the image into the project and use a path relative to this Markdown file\n",
    ),
}


@pytest.mark.parametrize("case", REFUSED_IN_MARKDOWN)
def test_markdown_references_outside_the_project_are_refused(case: str, make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    snippet, expected = REFUSED_IN_MARKDOWN[case]
    project = make_project({"content/01-one.md": f"---\ntitle: One\n---\n\n{snippet}\n"})
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert (result.exit_code, result.output) == (1, expected)
    assert not (project / "build" / "mini-print.pdf").exists()


def test_symlink_pointing_outside_is_refused(make_project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for the booklet")
    project = make_project({"content/01-one.md": "---\ntitle: One\n---\n\n![x](link.png)\n"})
    (project / "content" / "link.png").symlink_to(secret)
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert result.exit_code == 1
    assert result.output.startswith("error: content/01-one.md:5: image 'link.png' is refused: it points outside the project folder\n")


def test_template_references_outside_the_project_are_refused(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(
        {
            "templates/cover.html": '{% extends "builtin/cover.html" %}{% block cover_flags %}<img src="file:///etc/hostname" alt="">{% endblock %}\n'
        }
    )
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert (result.exit_code, result.output) == (
        1,
        "error: a template or stylesheet: reference 'file:///etc/hostname' is refused: it points outside the project folder\n" + HINT,
    )


def test_front_matter_is_escaped_not_obeyed(make_project) -> None:
    project = make_project({"content/01-one.md": '---\ntitle: "<img src=file:///etc/passwd>"\n---\n\nText.\n'})
    assert run("build", "--project", str(project), "-q").exit_code == 0
    text = "".join(page.extract_text() for page in pypdf.PdfReader(project / "build" / "mini-print.pdf").pages)
    assert "<img src=file:///etc/passwd>" in text


def test_a_build_opens_no_network_connection(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the build tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    result = run("build", "--project", str(ROOT), "--out", str(tmp_path), "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "russia-pakistan-75-print.pdf").is_file()


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.pdf"
    target.write_bytes(b"old good pdf")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new" * 1000)
    assert target.read_bytes() == b"old good pdf"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pdf"]


def test_killed_mid_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.pdf"
    target.write_bytes(b"old good pdf")
    # The child writes its temp file, then stalls before the rename; we kill it there.
    code = (
        "import os, time, sys\n"
        "from pathlib import Path\n"
        "from booklet.output import write_atomic\n"
        "os.fsync = lambda fd: (print('writing', flush=True), time.sleep(30))\n"
        f"write_atomic(Path({str(target)!r}), b'x' * 5_000_000)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=ROOT)
    assert child.stdout.readline().strip() == b"writing"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert target.read_bytes() == b"old good pdf"


def test_two_builds_at_once_both_give_valid_pdfs(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "booklet", "build", "--project", str(ROOT), "--out", str(tmp_path), "-q"]
    children = [subprocess.Popen(command, cwd=ROOT) for _ in range(2)]
    deadline = time.monotonic() + 120
    assert [child.wait(timeout=max(1, deadline - time.monotonic())) for child in children] == [0, 0]
    pdf = tmp_path / "russia-pakistan-75-print.pdf"
    assert len(pypdf.PdfReader(pdf).pages) % 4 == 0
    # Only finished files: no temporary file is left behind.
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".cache")) == sorted(
        f"russia-pakistan-75-{e}.pdf" for e in ("print", "screen", "handout", "timeline")
    )
