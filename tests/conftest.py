"""Shared fixtures: the sample booklet is built once per session; mini-projects go in tmp_path."""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from booklet.cli import main

ROOT = Path(__file__).resolve().parent.parent
MANUSCRIPT = ROOT.parent / "shared" / "manuscript" / "russia-pakistan-75-years.txt"


@pytest.fixture(scope="session", autouse=True)
def temporary_files_below_pytests_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Temporary files, this process's and its children's, go below pytest's own folder, which pytest prunes.

    A build run from the command line removes the folders WeasyPrint keeps its fonts in (a test
    checks it). Documents typeset inside the test process may outlive the tests that made them,
    and their folders would be left behind in the system's temporary folder.
    """
    folder = str(tmp_path_factory.mktemp("temporary"))
    saved = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = folder, folder
    yield
    tempfile.tempdir = saved[1]
    if saved[0] is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = saved[0]


@pytest.fixture(scope="session")
def sample_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample booklet, built once from the repository's own project."""
    out = tmp_path_factory.mktemp("sample-build")
    result = CliRunner().invoke(main, ["build", "--project", str(ROOT), "--out", str(out), "--html", "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out / "russia-pakistan-75-print.pdf"


@pytest.fixture(scope="session")
def sample_screen(sample_pdf: Path) -> Path:
    """The sample's screen edition (sRGB, no bleed), built with the print edition."""
    return sample_pdf.with_name("russia-pakistan-75-screen.pdf")


@pytest.fixture(scope="session")
def institutional_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same sample booklet built with the institutional brand, chosen with --brand."""
    out = tmp_path_factory.mktemp("institutional-build")
    brand = ROOT / "assets" / "brands" / "institutional" / "_brand.yml"
    # The screen edition: its colours are the brand's sRGB, which tests sample as pixels.
    args = ["build", "--project", str(ROOT), "--out", str(out), "--brand", str(brand), "-e", "screen", "-q", "--strict"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out / "russia-pakistan-75-screen.pdf"


def run(*args: str) -> Result:
    """Run the booklet command line in-process and return its result."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """Write a mini-project into tmp_path: the sample's brand and fonts, plus the given files.

    ``files`` maps relative paths to text (dedented); a value of None removes that file.
    """

    def make(files: dict[str, str | None] | None = None, *, sections: bool = True) -> Path:
        project = tmp_path / "project"
        (project / "content").mkdir(parents=True, exist_ok=True)
        shutil.copytree(ROOT / "assets", project / "assets", dirs_exist_ok=True)
        base: dict[str, str | None] = {
            "booklet.toml": """\
                name = "mini"
                title = "Mini Booklet"
                date = 2024-01-02
                brand = "assets/brands/anniversary/_brand.yml"
                """,
        }
        if sections:
            base["content/01-one.md"] = """\
                ---
                title: First Section
                ---

                The first paragraph of the first section.
                """
            base["content/02-two.md"] = """\
                ---
                title: Second Section
                ---

                The second section's text.
                """
        base.update(files or {})
        for name, text in base.items():
            path = project / name
            if text is None:
                path.unlink(missing_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return project

    return make
