"""Fuzzing: mutated configs, front matter, timelines and brands give a result or a BookletError, nothing else."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from booklet import layout
from booklet.brand import load_brand
from booklet.cli import main
from booklet.config import load_config
from booklet.content import read_sections
from booklet.errors import BookletError
from booklet.timeline import load_timeline
from conftest import ROOT

CONFIG = (ROOT / "booklet.toml").read_text(encoding="utf-8")
SECTION = (ROOT / "content" / "01-cementing-ties.md").read_text(encoding="utf-8")
TIMELINE = (ROOT / "content" / "timeline.yaml").read_text(encoding="utf-8")
BRANDS = [(ROOT / "assets" / "brands" / name / "_brand.yml").read_text(encoding="utf-8") for name in ("anniversary", "institutional")]

# Values that are the wrong type, out of range or odd in every format booklet reads.
ODD_VALUES = [
    "",
    "~",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1e999",
    "-0.0",
    "nan",
    ".inf",
    "[]",
    "{}",
    "[1, [2, [3]]]",
    "{a: {b: {c: d}}}",
    '""',
    '"\\u0000"',
    "2024-13-45",
    "1948-05-01T25:61:00",
    "0x1F",
    "&anchor value",
    "*alias",
    "!!python/object:os.system",
    "!!binary aGVsbG8=",
    "'unclosed",
    '"unclosed',
    "[unclosed",
    "{{ pub.title }}",
    "{% raw %}",
    "<script>x</script>",
    "file:///etc/passwd",
    "../../../../etc/passwd",
    "#FFF",
    "#GGGGGG",
    "rgb(1,2,3)",
    "999999999999999999999999999",
    "Привет",
    "سلام",
    "\u202etxet\u202c",
    "\ufeffBOM",
    "a\u0301\u0302\u0303",
    "\U0001f600",
    "\x7f\x1b[31m",
    "x" * 300,
]
ODD_TEXT = st.one_of(st.sampled_from(ODD_VALUES), st.text(max_size=40))


@st.composite
def mutated(draw: st.DrawFn, original: str) -> bytes:
    """The original document after a few random edits: lines dropped, doubled, swapped, values replaced, text cut."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.sampled_from([b"", b"\x00\xff\xfe garbage \x80", b"\n\n\n", "\ufeff".encode()]) | st.binary(max_size=200))
    lines = original.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "value", "key", "insert", "indent", "truncate"]))
        line = lines[at]
        if op == "delete":
            del lines[at]
        elif op == "duplicate":
            lines.insert(at, line)
        elif op == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif op in ("value", "key"):
            for sep in (": ", " = ", ":", "="):
                if sep in line:
                    key, value = line.split(sep, 1)
                    line = f"{key}{sep}{draw(ODD_TEXT)}\n" if op == "value" else f"{draw(ODD_TEXT)}{sep}{value}"
                    break
            lines[at] = line
        elif op == "insert":
            lines.insert(at, draw(ODD_TEXT) + "\n")
        elif op == "indent":
            lines[at] = draw(st.sampled_from(["", " ", "  ", "\t", "        "])) + line.lstrip()
        else:
            lines[at] = line[: draw(st.integers(0, len(line)))]
            del lines[at + 1 :]
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "latin-1"]))
    return "".join(lines).encode(encoding, errors="replace")


def outcome(call: Callable[[], object]) -> object:
    """The result of ``call``; a BookletError must have a message, and nothing else may escape."""
    try:
        return call()
    except BookletError as exc:
        assert exc.format().strip(), f"empty message from {type(exc).__name__}"
        return None


@pytest.fixture(scope="module")
def project() -> Path:
    """One copy of the sample project, whose files each example overwrites."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "project"
        shutil.copytree(ROOT / "assets", target / "assets")
        shutil.copytree(ROOT / "content", target / "content")
        (target / "booklet.toml").write_text(CONFIG, encoding="utf-8")
        yield target


def restore(project: Path) -> None:
    (project / "booklet.toml").write_text(CONFIG, encoding="utf-8")
    (project / "content" / "01-cementing-ties.md").write_text(SECTION, encoding="utf-8")
    (project / "content" / "timeline.yaml").write_text(TIMELINE, encoding="utf-8")
    (project / "assets" / "brands" / "anniversary" / "_brand.yml").write_text(BRANDS[0], encoding="utf-8")


def read_everything(project: Path) -> None:
    """Every reading and checking phase of a build, and the HTML of the booklet, without typesetting."""
    config = outcome(lambda: load_config(project))
    if config is None:
        return
    brand = outcome(lambda: load_brand(config.brand))
    sections = outcome(lambda: read_sections(config))
    if brand is not None:
        outcome(lambda: load_timeline(config.timeline.file, brand.colors, brand.tags))
    if brand is not None and sections is not None:
        env = layout.environment(config.templates_dir)
        html = outcome(
            lambda: layout.publication_html(env, layout.publication_context(config, brand, sections), templates_dir=config.templates_dir)
        )
        assert html is None or "<html" in html


FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
MANY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def fuzz_config(project: Path, data: bytes) -> None:
    restore(project)
    (project / "booklet.toml").write_bytes(data)
    read_everything(project)


def fuzz_front_matter(project: Path, data: bytes) -> None:
    restore(project)
    (project / "content" / "01-cementing-ties.md").write_bytes(data)
    read_everything(project)


def fuzz_timeline(project: Path, data: bytes) -> None:
    restore(project)
    (project / "content" / "timeline.yaml").write_bytes(data)
    read_everything(project)


def fuzz_brand(project: Path, data: bytes) -> None:
    restore(project)
    (project / "assets" / "brands" / "anniversary" / "_brand.yml").write_bytes(data)
    read_everything(project)


@FAST
@given(data=mutated(CONFIG))
def test_fuzz_config(project: Path, data: bytes) -> None:
    fuzz_config(project, data)


@FAST
@given(data=mutated(SECTION))
@example(data=b"---\ntitle: One\nsummary: 2024-02-30\n---\n\nText.\n")  # was a ValueError from PyYAML's date constructor
def test_fuzz_front_matter(project: Path, data: bytes) -> None:
    fuzz_front_matter(project, data)


@FAST
@given(data=mutated(TIMELINE))
def test_fuzz_timeline(project: Path, data: bytes) -> None:
    fuzz_timeline(project, data)


@FAST
@given(data=st.sampled_from(BRANDS).flatmap(mutated))
@example(data=b"2024-13-45: a date as a key\n" + BRANDS[0].encode())  # was a ValueError from PyYAML's date constructor
def test_fuzz_brand(project: Path, data: bytes) -> None:
    fuzz_brand(project, data)


def test_a_date_that_cannot_exist_is_a_located_yaml_error(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project({"content/01-one.md": "---\ntitle: One\nsummary: 2024-13-45\n---\n\nText.\n"})
    monkeypatch.chdir(project)
    result = CliRunner().invoke(main, ["build", "-q"])
    assert (result.exit_code, result.output) == (
        1,
        "error: content/01-one.md:3: broken front matter: '2024-13-45' is not a real date (month must be in 1..12)\n"
        "  hint: front matter is YAML: 'key: value' lines; quote values that contain ': ' or start with a special character\n",
    )


# ---- The long run: many more examples, and whole builds through the command line ----------

KINDS = {
    "booklet.toml": (CONFIG, "booklet.toml"),
    "front matter": (SECTION, "content/01-cementing-ties.md"),
    "timeline.yaml": (TIMELINE, "content/timeline.yaml"),
    "_brand.yml": (BRANDS[0], "assets/brands/anniversary/_brand.yml"),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_fuzz_many(kind: str, project: Path) -> None:
    original, _ = KINDS[kind]
    check = {"booklet.toml": fuzz_config, "front matter": fuzz_front_matter, "timeline.yaml": fuzz_timeline, "_brand.yml": fuzz_brand}[kind]

    @MANY
    @given(data=mutated(original))
    def run(data: bytes) -> None:
        check(project, data)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_fuzz_builds_through_the_cli(kind: str, project: Path, tmp_path: Path) -> None:
    original, name = KINDS[kind]

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(data=mutated(original))
    def run(data: bytes) -> None:
        restore(project)
        (project / name).write_bytes(data)
        args = ["build", "--project", str(project), "--out", str(tmp_path), "-q", "-e", "print"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code in (0, 1), result.output + repr(result.exception)
        if result.exit_code == 1:
            # Warnings may come first (an unknown key is one); then the error, in words.
            errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
            assert errors and len(errors[0]) > len("error: "), result.output
            assert "Traceback" not in result.output

    run()
