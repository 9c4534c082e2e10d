"""Preflight: each check fires on a project with exactly that problem, and is silent on the sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from booklet.preflight import Rules, font_coverage, run_preflight
from conftest import ROOT, run


def build_and_check(project: Path, *extra: str):
    assert run("build", "--project", str(project), "-q").exit_code == 0
    return run("preflight", "--project", str(project), "--json", *extra)


def findings(result) -> list[dict]:
    return json.loads(result.output)


def test_sample_is_clean(sample_pdf: Path) -> None:
    result = run("preflight", "--project", str(ROOT), "--out", str(sample_pdf.parent))
    assert result.exit_code == 0, result.output
    assert result.output.endswith("(print edition, 24 pages): clean\n")


def test_preflight_does_not_need_pdfplumber(sample_pdf: Path) -> None:
    # pdfplumber is a test dependency only; a clean install of booklet has no such package.
    code = (
        "import sys; sys.modules['pdfplumber'] = None\n"
        "from booklet.cli import main\n"
        f"main(['preflight', '--project', {str(ROOT)!r}, '--out', {str(sample_pdf.parent)!r}])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.endswith("(print edition, 24 pages): clean\n")
    assert "pdfplumber" not in result.stderr


def test_low_resolution_image_is_an_error_at_its_source(make_project) -> None:
    project = make_project(
        {"content/01-one.md": '---\ntitle: One\n---\n\nText.\n\n![A small square](small.png "Caption"){: style="width: 60mm" }\n'}
    )
    Image.new("RGB", (120, 120), (200, 30, 30)).save(project / "content" / "small.png")
    result = build_and_check(project)
    assert result.exit_code == 1
    [finding] = [f for f in findings(result) if f["check"] == "image-resolution"]
    assert finding["severity"] == "error"
    assert finding["source"].endswith("content/01-one.md")
    assert finding["message"].startswith("an image is 51 ppi at its placed size (120×120 px over 60×60 mm)")


def test_missing_alt_text_is_a_warning_for_print(make_project) -> None:
    project = make_project({"content/02-two.md": "---\ntitle: Two\n---\n\nText.\n\n![](big.png)\n"})
    Image.new("RGB", (1200, 1200), (30, 30, 200)).save(project / "content" / "big.png")
    result = build_and_check(project)
    [finding] = [f for f in findings(result) if f["check"] == "alt-text"]
    assert finding == {
        "severity": "warning",
        "check": "alt-text",
        "message": "image 'big.png' has no alt text; screen readers cannot describe it",
        "source": finding["source"],
        "page": None,
        "line": 7,
        "hint": "say what the image shows between the brackets: ![what it shows](big.png)",
    }
    assert finding["source"].endswith("content/02-two.md")
    assert result.exit_code == 0
    assert build_and_check(project, "--strict").exit_code == 1


def test_missing_glyphs_are_found_in_the_text(make_project) -> None:
    project = make_project({"content/02-two.md": "---\ntitle: Two\n---\n\nA word in Chinese: 中文.\n"})
    result = build_and_check(project)
    [finding] = [f for f in findings(result) if f["check"] == "missing-glyph"]
    assert finding["message"].startswith("the brand's fonts have no glyph for '中' (U+4E2D), '文' (U+6587)")
    assert finding["source"].endswith("content/02-two.md")


def test_text_near_the_trim(make_project) -> None:
    project = make_project(
        {
            "templates/near.css": ".body { margin-right: -17mm; }\n",
            "content/02-two.md": "---\ntitle: Two\n---\n\n" + "A line of text that runs right up to the edge of the page. " * 6 + "\n",
        }
    )
    result = build_and_check(project)
    found = [f for f in findings(result) if f["check"] == "safe-area"]
    assert found and found[0]["severity"] == "error"
    assert "closer than 5 mm to the trim" in found[0]["message"]
    assert found[0]["source"].endswith("content/02-two.md")


def test_overflowing_content(make_project) -> None:
    project = make_project(
        {
            "content/01-one.md": "---\ntitle: One\n---\n\n" + "Unbreakable" * 12 + "\n",
            "templates/nohyphens.css": ".body { hyphens: manual; text-align: left; }\n",
        }
    )
    result = build_and_check(project)
    [finding] = [f for f in findings(result) if f["check"] == "overflow"]
    assert "outside the trimmed page" in finding["message"]
    assert finding["source"].endswith("content/01-one.md")


def test_broken_internal_link(make_project) -> None:
    project = make_project({"content/01-one.md": "---\ntitle: One\n---\n\nSee [the map](#map-of-routes).\n"})
    result = build_and_check(project)
    [finding] = [f for f in findings(result) if f["check"] == "broken-link"]
    assert finding["message"] == "link to '#map-of-routes' goes nowhere: no element has that id"
    assert finding["source"].endswith("content/01-one.md")


def test_links_to_missing_files(make_project) -> None:
    project = make_project(
        {
            "content/02-two.md": """\
                ---
                title: Two
                ---

                The plan is in [the annex](files/annex.pdf), the old one in [the archive](../../archive/plan.pdf),
                and the [current one](plans/current.pdf).

                See [our site](https://example.org) or [write to us](mailto:office@example.org).
                """,
            "content/plans/current.pdf": "%PDF-1.4 stand-in\n",
        }
    )
    result = build_and_check(project)
    found = [(f["source"], f["line"], f["message"]) for f in findings(result) if f["check"] == "broken-link"]
    assert found == [
        ("project/content/02-two.md", 5, "the link 'files/annex.pdf' points to a file that does not exist"),
        ("project/content/02-two.md", 5, "the link '../../archive/plan.pdf' points outside the project folder"),
    ]
    assert result.exit_code == 1


def test_empty_section(make_project) -> None:
    project = make_project({"content/02-two.md": "---\ntitle: Nothing Yet\n---\n"})
    result = build_and_check(project)
    [finding] = [f for f in findings(result) if f["check"] == "empty-section"]
    assert finding["message"] == "section 'Nothing Yet' has no text"


def test_page_count_and_trim_box(tmp_path: Path) -> None:
    import pypdf
    from weasyprint import HTML

    pdf = tmp_path / "five.pdf"
    HTML(string="<style>@page{size:A5}</style>" + "<p style='break-after:page'>x</p>" * 5).write_pdf(pdf)
    reader = pypdf.PdfReader(pdf)
    writer = pypdf.PdfWriter(clone_from=reader)
    for page in writer.pages:
        del page[pypdf.generic.NameObject("/TrimBox")]
    writer.write(pdf)
    checks = {f.check: f for f in run_preflight(pdf, sections=[], rules=Rules())}
    assert checks["page-count"].message.startswith("5 pages is not a multiple of 4")
    assert checks["trim-box"].message == "page has no TrimBox; the printer cannot tell where to cut"


def test_unembedded_font(tmp_path: Path) -> None:
    pdf = tmp_path / "helvetica.pdf"
    pdf.write_bytes(_pdf_with_standard_font())
    [finding] = [f for f in run_preflight(pdf, sections=[], rules=Rules(multiple_of=1)) if f.check == "font-embedding"]
    assert finding.message == "font 'Helvetica' is not embedded; the printer would substitute it"
    assert finding.page == 1


def test_rgb_colour_in_a_cmyk_edition(sample_screen: Path) -> None:
    # The screen edition is sRGB: checked as if it were for the press, it must be caught.
    found = [f for f in run_preflight(sample_screen, sections=[], rules=Rules(expect_cmyk=True)) if f.check == "colour"]
    assert found and found[0].message == "page sets RGB colour; the print edition must be CMYK"


def test_preflight_needs_a_build_first(make_project) -> None:
    project = make_project()
    result = run("preflight", "--project", str(project))
    assert result.exit_code == 1
    assert result.output == "error: project/build/mini-print.pdf does not exist\n  hint: build it first with `booklet build`\n"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _pdf_with_standard_font() -> bytes:
    """A one-page PDF whose text uses the unembedded standard Helvetica."""
    stream = b"BT /F1 24 Tf 72 720 Td (Hello) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /TrimBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_heading_left_alone_at_the_foot_of_a_page(make_project) -> None:
    project = make_project(
        {
            "content/01-one.md": "---\ntitle: One\n---\n\nSome text before.\n\n## A late heading\n",
            "templates/low.css": ".body h2 { margin-top: 55mm; }\n",
        }
    )
    result = build_and_check(project)
    [finding] = [f for f in findings(result) if f["check"] == "lone-heading"]
    assert finding["message"] == "heading 'A late heading' is the last line of the page, apart from its text"
    assert finding["source"].endswith("content/01-one.md") and finding["page"] == 5


def test_a_project_a_printer_would_reject(make_project) -> None:
    """A realistic bad project: every problem is reported in plain words at its file, line and page."""
    project = make_project(
        {
            "booklet.toml": """\
                name = "open-day"
                title = "Open Day"
                date = 2024-05-18
                brand = "assets/brands/anniversary/_brand.yml"
                editions = ["print"]
                """,
            "content/01-one.md": None,
            "content/02-two.md": None,
            "content/01-welcome.md": """\
                ---
                title: Welcome
                ---

                Welcome to the open day. The workshop opens at nine.

                ![The workshop from the yard](yard.png){: style="width: 60mm" }

                The plan of the site is in [the annex](files/annex.pdf), and the
                [old map](../maps/old.png) shows it as it was; write to
                [the office](mailto:office@example.org) or see [our site](https://example.org).
                """,
            "content/02-programme.md": """\
                ---
                title: Programme
                ---

                The programme is set out hour by hour.

                ![](programme-chart.png)

                The tea room serves ☕ all day.

                Doors open at nine and close at five; the last tour of the workshop starts at four.
                {: .wide }
                """,
            "content/03-notes.md": "---\ntitle: Notes\n---\n",
            "templates/wide.css": ".body .wide { margin-right: -17mm; }\n",
        }
    )
    Image.new("RGB", (120, 120), (180, 60, 40)).save(project / "content" / "yard.png")
    Image.new("RGB", (1200, 800), (40, 90, 160)).save(project / "content" / "programme-chart.png")
    assert run("build", "--project", str(project), "-q").exit_code == 0
    result = run("preflight", "--project", str(project))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    # The fallback font is whichever font of this machine has the character: named, not predicted.
    fallback = next(i for i, line in enumerate(lines) if "font-fallback" in line)
    assert lines[fallback].startswith("  warning font-fallback    project/content/02-programme.md, page 7: font '")
    assert lines[fallback].endswith(
        "' is not one of the brand's (Charis SIL, Inter, Noto Nastaliq Urdu); some characters fell back to a font of this machine"
    )
    del lines[fallback : fallback + 2]
    fix = " " * 27 + "fix: "
    assert lines == [
        "Preflight of project/build/open-day-print.pdf (print edition, 12 pages): 5 errors, 4 warnings",
        "",
        "Errors: the printer would reject the file",
        "  error   image-resolution project/content/01-welcome.md, page 5: an image is 51 ppi at its placed size"
        " (120×120 px over 60×60 mm); printers reject under 200 ppi: it would print blurred",
        fix + "use a larger original, at least 709×709 px for 300 ppi at this size, or place the image smaller",
        "  error   broken-link      project/content/01-welcome.md line 9: the link 'files/annex.pdf' points to a file that does not exist",
        fix + "correct the path (it is relative to this Markdown file), add the file to the project, or remove the link",
        "  error   broken-link      project/content/01-welcome.md line 10: the link '../maps/old.png' points to a file that does not exist",
        fix + "correct the path (it is relative to this Markdown file), add the file to the project, or remove the link",
        "  error   safe-area        project/content/02-programme.md, page 7: 2 character(s) closer than 5 mm to the trim; they may be cut off",
        fix + "keep text at least 5 mm inside the page edge: check [page.margins] in booklet.toml"
        " and negative margins or positions in templates/*.css",
        "  error   missing-glyph    project/content/02-programme.md line 9, page 7: the brand's fonts have no glyph for '☕' (U+2615);"
        " they would print as boxes or in another font",
        fix + "add a font that has them to the brand (its fonts: list), or write the text another way",
        "",
        "Warnings: worth fixing",
        "  warning image-resolution project/content/02-programme.md, page 7: an image is 270 ppi at its placed size"
        " (1200×800 px over 113×75 mm); 300 ppi is wanted for print",
        fix + "use a larger original, at least 1335×890 px for 300 ppi at this size, or place the image smaller",
        "  warning alt-text         project/content/02-programme.md line 7: image 'programme-chart.png' has no alt text;"
        " screen readers cannot describe it",
        fix + "say what the image shows between the brackets: ![what it shows](programme-chart.png)",
        "  warning empty-section    project/content/03-notes.md line 2, page 9: section 'Notes' has no text",
        fix + "write the section's text below its front matter, or take the file out of content/",
    ]
    # Warnings alone pass, unless --strict: with the errors fixed, only the warnings are left.
    (project / "content" / "01-welcome.md").write_text("---\ntitle: Welcome\n---\n\nWelcome to the open day.\n", encoding="utf-8")
    (project / "content" / "02-programme.md").write_text(
        "---\ntitle: Programme\n---\n\nThe programme.\n\n![](programme-chart.png)\n", encoding="utf-8"
    )
    assert run("build", "--project", str(project), "-q").exit_code == 0
    assert run("preflight", "--project", str(project)).exit_code == 0
    assert run("preflight", "--project", str(project), "--strict").exit_code == 1


def test_pages_checked_in_worker_processes_and_from_the_cache_find_what_one_process_finds(
    sample_pdf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import booklet.preflight as preflight

    # A safe area wider than the margins: most pages have something to report.
    rules = Rules(safe_margin=25.0, fonts=frozenset({"Charis SIL"}), headings_font="Inter", base_font="Charis SIL")
    monkeypatch.setattr(preflight, "PAGES_PER_WORKER", 1000)
    alone = run_preflight(sample_pdf, sections=[], rules=rules)
    assert len({f.page for f in alone if f.check == "safe-area"}) > 12
    monkeypatch.setattr(preflight, "PAGES_PER_WORKER", 4)
    assert run_preflight(sample_pdf, sections=[], rules=rules) == alone
    cache = tmp_path / "pages.pickle"
    assert run_preflight(sample_pdf, sections=[], rules=rules, cache=cache) == alone
    assert cache.is_file()
    assert run_preflight(sample_pdf, sections=[], rules=rules, cache=cache) == alone


def test_pages_named_by_what_made_them_are_read_only_when_that_changed(
    sample_pdf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import booklet.pdftext as pdftext
    from booklet.preflight import Layer

    rules = Rules(safe_margin=25.0)
    read: list[int] = []
    real_page = pdftext.Document.page
    monkeypatch.setattr(pdftext.Document, "page", lambda self, index: read.append(index) or real_page(self, index))
    expected = run_preflight(sample_pdf, sections=[], rules=rules)
    data = sample_pdf.read_bytes()
    layers = [[Layer(f"part-{number}", data, number)] for number in range(24)]
    cache = tmp_path / "pages.pickle"

    assert run_preflight(sample_pdf, sections=[], rules=rules, cache=cache, layers=layers) == expected
    read.clear()
    assert run_preflight(sample_pdf, sections=[], rules=rules, cache=cache, layers=layers) == expected
    assert read == []
    layers[6] = [Layer("part-6, edited", data, 6)]
    assert run_preflight(sample_pdf, sections=[], rules=rules, cache=cache, layers=layers) == expected
    assert read == [6]


def test_font_coverage_is_kept_for_the_next_build_until_the_font_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    import booklet.preflight as preflight

    font = tmp_path / "Inter-Bold.otf"
    shutil.copy(ROOT / "assets" / "fonts" / "inter" / "Inter-Bold.otf", font)
    cache = tmp_path / "coverage.pickle"
    first = font_coverage([font], cache=cache)
    assert ord("A") in first["Inter-Bold.otf"] and ord("\u0627") not in first["Inter-Bold.otf"]
    assert cache.is_file()
    read: list[str] = []
    real = preflight._cmap.__wrapped__
    monkeypatch.setattr(preflight, "_cmap", lambda *key: read.append(key[0]) or real(*key))
    assert font_coverage([font], cache=cache) == first
    assert read == []
    os.utime(font, ns=(1, 1))
    assert font_coverage([font], cache=cache) == first
    assert read == [str(font)]


def test_the_builders_section_starts_are_the_outlines(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdf

    import booklet.preflight as preflight
    from booklet.builder import build

    project = make_project(
        {
            "content/03-three.md": "---\ntitle: Third Section\n---\n\n" + "A long third section. " * 400 + "\n",
        }
    )
    seen: list[tuple] = []
    real = preflight.run_preflight

    def spy(pdf: Path, **options):
        seen.append((pdf, options["section_starts"], options["sections"]))
        return real(pdf, **options)

    monkeypatch.setattr(preflight, "run_preflight", spy)
    build(project, editions=["print"])
    ((pdf, starts, sections),) = seen
    assert [page for page, _ in starts] == sorted(page for page, _ in starts) and len(starts) == 3
    assert tuple(starts) == preflight._source_map(pypdf.PdfReader(pdf), sections).starts


def test_each_printed_character_is_read_with_pdfiums_loose_box_ligatures_as_one(sample_pdf: Path) -> None:
    import pypdfium2 as pdfium

    from booklet.pdftext import Document

    with Document(sample_pdf) as doc:
        pages = [doc.page(index) for index in range(len(doc))]
        read = [[tuple(glyph) for glyph in page._read_glyphs()] for page in pages]
        for page in pages:
            page.close()
    pdf = pdfium.PdfDocument(sample_pdf)
    expected = []
    for page in pdf:
        textpage = page.get_textpage()
        glyphs: list[tuple[int, str, float, float, float, float]] = []
        previous = None
        for index in range(textpage.count_chars()):
            char = textpage.get_text_range(index, 1).replace("\ufffe", "-")
            if char.isspace() or not char:
                previous = None
                continue
            left, bottom, right, top = textpage.get_charbox(index, loose=True)
            box = (left, right, bottom, top)
            if box == previous:
                glyphs[-1] = (glyphs[-1][0], glyphs[-1][1] + char, *box)
            else:
                glyphs.append((index, char, *box))
            previous = box
        expected.append(glyphs)
    assert read == expected
    assert any(len(glyph[1]) > 1 for glyphs in read for glyph in glyphs), "the sample sets a ligature"
