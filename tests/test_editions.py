"""Editions from one source: PDF/X-4 CMYK for the press, a tagged light screen PDF, an imposed handout."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pdfplumber
import pypdf
import pytest
from PIL import ImageCms

from conftest import ROOT, run
from pdfutil import MM, boxes, font_names

RGB_OPERATOR = re.compile(rb"(?:^|\s)(?:-?[\d.]+\s+){3}(?:rg|RG)(?=\s)")


def edition(sample_pdf: Path, name: str) -> Path:
    return sample_pdf.with_name(f"russia-pakistan-75-{name}.pdf")


def streams(reader: pypdf.PdfReader):
    """Every content stream: pages and the form XObjects they use, recursively."""
    seen = set()

    def forms(resources):
        for xobject in ((resources or {}).get("/XObject") or {}).values():
            obj = xobject.get_object()
            if obj.get("/Subtype") == "/Form" and id(obj) not in seen:
                seen.add(id(obj))
                yield obj.get_data()
                yield from forms(obj.get("/Resources"))

    for page in reader.pages:
        yield page.get_contents().get_data()
        yield from forms(page.get("/Resources"))


def images(reader: pypdf.PdfReader):
    for page in reader.pages:
        for xobject in ((page.get("/Resources") or {}).get("/XObject") or {}).values():
            obj = xobject.get_object()
            if obj.get("/Subtype") == "/Image":
                yield obj


# ---- print ---------------------------------------------------------------------


def test_print_is_pdf_x4_with_a_cmyk_output_intent(sample_pdf: Path) -> None:
    reader = pypdf.PdfReader(sample_pdf)
    [intent] = reader.trailer["/Root"]["/OutputIntents"]
    intent = intent.get_object()
    assert intent["/S"] == "/GTS_PDFX"
    profile = intent["/DestOutputProfile"].get_object()
    assert profile["/N"] == 4
    assert ImageCms.ImageCmsProfile(__import__("io").BytesIO(profile.get_data())).profile.xcolor_space.strip() == "CMYK"
    metadata = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"<pdfx:GTS_PDFXVersion>PDF/X-4</pdfx:GTS_PDFXVersion>" in metadata
    assert reader.pdf_header == "%PDF-1.6"


def test_print_has_trim_and_bleed_boxes_of_the_configured_size(sample_pdf: Path) -> None:
    for page in boxes(sample_pdf):
        trim, bleed = page["trimbox"], page["bleedbox"]
        assert (trim[2] - trim[0], trim[3] - trim[1]) == pytest.approx((148 * MM, 210 * MM), abs=0.5)
        assert (bleed[2] - bleed[0], bleed[3] - bleed[1]) == pytest.approx((154 * MM, 216 * MM), abs=0.5)


def test_print_fonts_are_all_embedded(sample_pdf: Path) -> None:
    fonts = font_names(sample_pdf)
    assert fonts and all(fonts.values())


def test_print_has_no_rgb_colour_or_image(sample_pdf: Path) -> None:
    reader = pypdf.PdfReader(sample_pdf)
    for data in streams(reader):
        assert not RGB_OPERATOR.search(data)
        assert b"/DeviceRGB" not in data
    found = list(images(reader))
    assert found, "the sample has a raster figure"
    for image in found:
        assert image["/ColorSpace"] == "/DeviceCMYK"


def test_print_images_are_at_most_300_ppi_and_listed_cmyk_by_pdfimages(sample_pdf: Path) -> None:
    listing = subprocess.run(["pdfimages", "-list", str(sample_pdf)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in listing.splitlines()[2:]]
    assert rows
    for row in rows:
        assert row[5] == "cmyk"
        assert 250 <= int(row[12]) <= 301 and 250 <= int(row[13]) <= 301


def test_every_edition_is_byte_identical_on_a_second_build(sample_pdf: Path, tmp_path: Path) -> None:
    assert run("build", "--project", str(ROOT), "--out", str(tmp_path), "-q").exit_code == 0
    for name in ("print", "screen", "handout", "timeline"):
        assert (tmp_path / edition(sample_pdf, name).name).read_bytes() == edition(sample_pdf, name).read_bytes(), name


def test_crop_marks_are_optional(make_project) -> None:
    project = make_project(
        {
            "booklet.toml": 'name = "mini"\ntitle = "Mini"\ndate = 2024-01-02\nbrand = "assets/brands/anniversary/_brand.yml"\n[print]\nmarks = true\n'
        }
    )
    assert run("build", "--project", str(project), "-q").exit_code == 0
    page = pypdf.PdfReader(project / "build" / "mini-print.pdf").pages[0]
    media, bleed = [float(v) for v in page.mediabox], [float(v) for v in page.bleedbox]
    assert media[2] - media[0] > bleed[2] - bleed[0] + 10  # room for the marks outside the bleed


# ---- screen --------------------------------------------------------------------


def test_screen_is_tagged_with_language_and_title(sample_pdf: Path) -> None:
    reader = pypdf.PdfReader(edition(sample_pdf, "screen"))
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert root["/MarkInfo"]["/Marked"]
    assert root["/Lang"] == "en"
    assert reader.metadata.title == "Russia-Pakistan Relations: A Glorious 75-Year Journey"


def test_screen_is_rgb_without_bleed_and_images_at_most_150_ppi(sample_pdf: Path) -> None:
    screen = edition(sample_pdf, "screen")
    for page in boxes(screen):
        assert page["mediabox"] == pytest.approx(page["trimbox"], abs=0.01)
    listing = subprocess.run(["pdfimages", "-list", str(screen)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in listing.splitlines()[2:]]
    assert rows
    for row in rows:
        assert row[5] == "rgb" and int(row[12]) <= 151 and int(row[13]) <= 151


def test_screen_is_smaller_than_print_and_well_under_5_mb(sample_pdf: Path) -> None:
    screen = edition(sample_pdf, "screen").stat().st_size
    assert screen < sample_pdf.stat().st_size
    assert screen < 5 * 1024 * 1024


# ---- handout -------------------------------------------------------------------


def test_handout_is_the_booklet_imposed_on_a4_landscape(sample_pdf: Path) -> None:
    handout = edition(sample_pdf, "handout")
    with pdfplumber.open(handout) as doc:
        assert len(doc.pages) == 12  # 24 pages, 6 sheets, front and back
        for page in doc.pages:
            assert (page.width, page.height) == pytest.approx((842, 595), abs=1)
        front = doc.pages[0]
        left = front.crop((0, 0, front.width / 2, front.height)).extract_text() or ""
        right = front.crop((front.width / 2, 0, front.width, front.height)).extract_text() or ""
    # Sheet 1 front: the back cover on the left, the cover on the right.
    assert "Russia–Pakistan 75" in left and "Russia-Pakistan Relations" in right


# ---- bad input -----------------------------------------------------------------


def test_unknown_edition(make_project) -> None:
    result = run("build", "--project", str(make_project()), "-e", "poster", "-q")
    assert (result.exit_code, result.output) == (1, "error: unknown edition 'poster'\n  hint: editions: print, screen, handout, timeline\n")


def test_unknown_edition_in_the_config(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(
        {"booklet.toml": 'name = "mini"\ntitle = "Mini"\nbrand = "assets/brands/anniversary/_brand.yml"\neditions = ["print", "poster"]\n'}
    )
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert (result.exit_code, result.output) == (
        1,
        "error: booklet.toml: editions: must be a list of editions from print, screen, handout, timeline, not ['print', 'poster']\n",
    )


def test_missing_profile(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(
        {
            "booklet.toml": 'name = "mini"\ntitle = "Mini"\nbrand = "assets/brands/anniversary/_brand.yml"\n[print]\nprofile = "icc/printer.icc"\n'
        }
    )
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert result.exit_code == 1
    assert result.output == (
        f"error: booklet.toml: print.profile: 'icc/printer.icc' not found (looked for {project.resolve()}/icc/printer.icc)\n"
        "  hint: point to your printer's CMYK profile (.icc), relative to booklet.toml, or leave the key out for FOGRA39\n"
    )


def test_profile_that_is_not_cmyk(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(
        {"booklet.toml": 'name = "mini"\ntitle = "Mini"\nbrand = "assets/brands/anniversary/_brand.yml"\n[print]\nprofile = "srgb.icc"\n'}
    )
    (project / "srgb.icc").write_bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert result.exit_code == 1
    assert result.output == (
        "error: srgb.icc: the ICC profile is RGB, not CMYK\n"
        "  hint: a print edition needs a CMYK output profile, such as the FOGRA39 one in assets/icc\n"
    )


def test_unreadable_profile(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(
        {"booklet.toml": 'name = "mini"\ntitle = "Mini"\nbrand = "assets/brands/anniversary/_brand.yml"\n[print]\nprofile = "broken.icc"\n'}
    )
    (project / "broken.icc").write_bytes(b"not a profile")
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert result.exit_code == 1
    assert result.output.startswith("error: broken.icc: cannot read the ICC profile:")
