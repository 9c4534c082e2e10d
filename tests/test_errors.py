"""Bad input gives one clear, located message, exit code 1, and leaves the last good PDF alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run


def build(project: Path, *extra: str):
    return run("build", "--project", str(project), "-q", *extra)


def good_build(make_project, files: dict[str, str | None] | None = None) -> tuple[Path, bytes]:
    project = make_project()
    assert build(project).exit_code == 0
    pdf = project / "build" / "mini-print.pdf"
    before = pdf.read_bytes()
    if files:
        make_project(files)
    return project, before


CASES = {
    "broken front matter": (
        {"content/01-one.md": "---\ntitle: One\nsummary: [unclosed\n---\n\nText.\n"},
        "error: content/01-one.md:4: broken front matter: expected ',' or ']', but got '<stream end>'\n"
        "  hint: front matter is YAML: 'key: value' lines; quote values that contain ': ' or start with a special character\n",
    ),
    "missing title": (
        {"content/02-two.md": "---\nsummary: No title here\n---\n\nText.\n"},
        "error: content/02-two.md: title: front matter has no 'title'\n"
        "  hint: add a line such as 'title: Cementing Ties' between the --- lines\n",
    ),
    "unknown config key": (
        {"booklet.toml": 'name = "mini"\ntitle = "Mini"\nbrand = "assets/brands/anniversary/_brand.yml"\ntitel = "typo"\n'},
        "error: booklet.toml: titel: unknown key\n  hint: did you mean 'title'?\n",
    ),
    "invalid page size": (
        {"booklet.toml": 'name = "mini"\ntitle = "Mini"\nbrand = "assets/brands/anniversary/_brand.yml"\n[page]\nsize = "A9"\n'},
        "error: booklet.toml: page.size: must be a paper name (A3, A4, A5, A6, B5, Letter, Legal, Half-Letter) "
        "or two lengths such as \"148mm 210mm\", not 'A9'\n",
    ),
    "missing image": (
        {"content/01-one.md": '---\ntitle: One\n---\n\nText.\n\n![A map](images/map.png "The map")\n'},
        "error: content/01-one.md:7: image 'images/map.png' not found (looked for {project}/content/images/map.png)\n"
        "  hint: check the path; it is relative to this Markdown file\n",
    ),
    "jinja syntax error": (
        {"templates/cover.html": '<section class="cover">\n{% if pub.title %}\n<h1>{{ pub.title }</h1>\n{% endif %}\n</section>\n'},
        "error: templates/cover.html:3: template syntax error: unexpected '}'\n  hint: check the {% %} and {{ }} tags on that line\n",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_a_located_message_and_keeps_the_old_pdf(case: str, make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    files, expected = CASES[case]
    project, before = good_build(make_project, files)
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert result.exit_code == 1
    assert result.output == expected.replace("{project}", str(project.resolve()))
    assert "Traceback" not in result.output
    assert (project / "build" / "mini-print.pdf").read_bytes() == before


def test_missing_font_names_the_brand_file_and_key(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project, before = good_build(make_project)
    (project / "assets/fonts/inter/Inter-Bold.otf").unlink()
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert result.exit_code == 1
    assert result.output == (
        "error: assets/brands/anniversary/_brand.yml: typography.fonts[1].files[2].path: font file "
        f"'../../fonts/inter/Inter-Bold.otf' not found (looked for {project.resolve()}/assets/fonts/inter/Inter-Bold.otf)\n"
        "  hint: check the path; it is relative to the brand file\n"
    )
    assert (project / "build" / "mini-print.pdf").read_bytes() == before


def test_every_problem_is_reported_at_once(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project({"booklet.toml": 'title = 3\ncolour = "red"\n[page]\nbleed = "lots"\n'})
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "error: booklet.toml: title: must be a string in quotes, not 3",
        "booklet.toml: colour: unknown key",
        "  hint: known keys here: author, brand, content_dir, credits, date, description, "
        "edition, editions, imprint_note, keywords, language, name, out_dir, publisher, sections, subject, subtitle, templates_dir, title",
        "booklet.toml: page.bleed: must be a length such as 3mm, 0.125in or 9pt, not 'lots'",
    ]


def test_debug_shows_the_traceback(make_project) -> None:
    project = make_project({"content/02-two.md": "---\nsummary: x\n---\n"})
    with pytest.raises(Exception, match="front matter has no 'title'"):
        run("build", "--project", str(project), "--debug")


def test_misuse_exits_2(make_project) -> None:
    assert run("build", "--no-such-option").exit_code == 2
    assert run("frobnicate").exit_code == 2


def test_no_config_says_how_to_start(tmp_path: Path) -> None:
    result = run("build", "--project", str(tmp_path), "-q")
    assert result.exit_code == 1
    assert result.output == (
        f"error: no booklet.toml in {tmp_path}\n"
        "  hint: run booklet in a project folder, pass --project DIR, or create one with `booklet new DIR`\n"
    )


def test_verbose_says_booklets_own_details_and_leaves_other_libraries_quiet(make_project) -> None:
    project = make_project()
    result = run("build", "--project", str(project), "-e", "screen", "-v")
    assert result.exit_code == 0, result.output
    assert "Typesetting " in result.output  # a booklet debug message
    # brand_yml's and Markdown's own debug messages are for -vv.
    assert "inspecting key" not in result.output
    assert "Successfully loaded extension" not in result.output


def test_a_first_build_leaves_what_it_read_cached_for_the_next(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    import jinja2

    project = make_project()
    assert run("build", "--project", str(project), "-e", "screen", "-q").exit_code == 0
    cache = project / "build" / ".cache"
    assert (cache / "brand.pickle").is_file()
    assert len(list((cache / "markdown").glob("*.html"))) == 2
    assert len(list((cache / "templates").glob("__jinja2_*.cache"))) > 5
    # The next build finds every template compiled.
    compiled: list[str] = []
    real = jinja2.Environment.compile
    monkeypatch.setattr(
        jinja2.Environment,
        "compile",
        lambda self, source, name=None, *args, **kw: compiled.append(name) or real(self, source, name, *args, **kw),
    )
    (project / "content" / "01-one.md").write_text((project / "content" / "01-one.md").read_text() + "\nOne more line.\n")
    assert run("build", "--project", str(project), "-e", "screen", "-q").exit_code == 0
    assert compiled == []


def test_a_build_that_fails_in_a_template_leaves_no_output_folder(make_project) -> None:
    project = make_project()
    (project / "templates").mkdir(exist_ok=True)
    (project / "templates" / "cover.html").write_text("<h1>{{ no_such_value }}</h1>\n", encoding="utf-8")
    result = run("build", "--project", str(project), "-e", "screen", "-q")
    assert result.exit_code == 1
    assert "template uses an undefined value" in result.output
    assert not (project / "build").exists()
