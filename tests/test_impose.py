"""Imposition, checked on the imposed PDF: page order on each half-sheet, sheet size, rotation, clipping, scale, creep."""

from __future__ import annotations

import io
from pathlib import Path

import click
import pdfplumber
import pypdf
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageFilter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, RectangleObject

from booklet.cli import main
from booklet.impose import DUPLEX, PADDING, SHEETS, impose, padded_order, sheet_sides
from conftest import run
from pdfutil import MM, normalise, page_texts

A4_LANDSCAPE = (842, 595)
MAGENTA = (1, 0, 1)
FONT_SIZE = 96
# Pale paper colours inside the trim, so that rendered pages show where each one ends.
ODD, EVEN = (255, 255, 204), (204, 255, 255)


def make_pdf(
    count: int = 8,
    *,
    size_mm: tuple[float, float] = (148, 210),
    bleed_mm: float = 3,
    sizes: dict[int, tuple[float, float]] | None = None,
    rotate: int = 0,
    trimbox: bool = True,
) -> bytes:
    """A booklet of ``count`` pages, each with its number big in the middle and magenta bleed around the trim.

    ``sizes`` maps 1-based page numbers to another trim size; ``rotate`` sets /Rotate on every page
    (with the media's sides swapped, so that the turned page shows at ``size_mm``).
    """
    writer = pypdf.PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for number in range(1, count + 1):
        w, h = (sizes or {}).get(number) or size_mm
        if rotate % 180:
            w, h = h, w
        w, h, b = w * MM, h * MM, (bleed_mm if trimbox else 0) * MM
        page = writer.add_blank_page(width=w + 2 * b, height=h + 2 * b)
        if trimbox:
            page.trimbox = RectangleObject((b, b, b + w, b + h))
        if rotate:
            page[NameObject("/Rotate")] = pypdf.generic.NumberObject(rotate)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        text = str(number)
        text_w = 0.556 * FONT_SIZE * len(text)  # Helvetica's digits are 556/1000 em wide
        paper = " ".join(f"{v / 255:.1f}" for v in (ODD if number % 2 else EVEN))
        content = DecodedStreamObject()
        content.set_data(
            (
                f"{MAGENTA[0]} {MAGENTA[1]} {MAGENTA[2]} rg 0 0 {w + 2 * b:.3f} {h + 2 * b:.3f} re f\n"
                f"{paper} rg {b:.3f} {b:.3f} {w:.3f} {h:.3f} re f\n"
                f"0 0 0 rg BT /F1 {FONT_SIZE} Tf {b + w / 2 - text_w / 2:.3f} {b + h / 2 - 30:.3f} Td ({text}) Tj ET\n"
            ).encode("ascii")
        )
        page.replace_contents(content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def read_halves(pdf: bytes) -> list[tuple[tuple[int | None, bool], tuple[int | None, bool]]]:
    """For each output page, (number, upside down) on its left half and on its right half."""
    found = []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            middle = page.width / 2
            sides = []
            for x0, x1 in ((0, middle), (middle, page.width)):
                chars = [c for c in page.chars if x0 <= (c["x0"] + c["x1"]) / 2 < x1]
                if not chars:
                    sides.append((None, False))
                    continue
                flipped = {c["matrix"][0] < 0 and c["matrix"][3] < 0 for c in chars}
                assert len(flipped) == 1, "a half mixes upright and upside-down text"
                upside_down = flipped.pop()
                # Upside-down text runs right to left on the sheet.
                chars.sort(key=lambda c: c["x0"], reverse=upside_down)
                sides.append((int("".join(c["text"] for c in chars)), upside_down))
            found.append((sides[0], sides[1]))
    return found


def numbers(pdf: bytes) -> list[tuple[int | None, int | None]]:
    return [(left[0], right[0]) for left, right in read_halves(pdf)]


def expected_order(count: int) -> list[tuple[int, int]]:
    """The rule, written out: sheet k has (N-2k, 2k+1) on the front and (2k+2, N-2k-1) on the back."""
    order = []
    for k in range(count // 4):
        order += [(count - 2 * k, 2 * k + 1), (2 * k + 2, count - 2 * k - 1)]
    return order


@pytest.mark.parametrize("count", [4, 8, 12, 16])
def test_pages_go_on_the_sheets_in_booklet_order(count: int) -> None:
    result = impose(make_pdf(count))
    assert numbers(result.pdf) == expected_order(count)
    assert result.sides == tuple(expected_order(count))
    assert (result.sheets, result.pages, result.padded, result.scale) == (count // 4, count, 0, 1.0)
    assert all(not left[1] and not right[1] for left, right in read_halves(result.pdf))
    reader = pypdf.PdfReader(io.BytesIO(result.pdf))
    assert len(reader.pages) == count // 2
    for page in reader.pages:
        assert abs(float(page.mediabox.width) - A4_LANDSCAPE[0]) <= 1
        assert abs(float(page.mediabox.height) - A4_LANDSCAPE[1]) <= 1


def test_seven_pages_get_a_blank_before_the_back_cover() -> None:
    result = impose(make_pdf(7))
    assert (result.sheets, result.pages, result.padded) == (2, 7, 1)
    # Padded: 1 2 3 4 5 6 (blank) 7; the back cover stays last, on the outside of the booklet.
    assert numbers(result.pdf) == [(7, 1), (2, None), (6, 3), (4, 5)]
    assert result.sides == ((7, 1), (2, None), (6, 3), (4, 5))


def test_seven_pages_padded_at_the_end() -> None:
    result = impose(make_pdf(7), pad="end")
    assert numbers(result.pdf) == [(None, 1), (2, 7), (6, 3), (4, 5)]


@pytest.mark.parametrize("count", [4, 8, 12, 16])
def test_long_edge_turns_the_backs(count: int) -> None:
    halves = read_halves(impose(make_pdf(count), duplex="long").pdf)
    for index, ((left, left_flipped), (right, right_flipped)) in enumerate(halves):
        k = index // 2
        if index % 2 == 0:
            assert (left, right, left_flipped, right_flipped) == (count - 2 * k, 2 * k + 1, False, False)
        else:  # the back, turned by 180°: what was on the right is now upside down on the left
            assert (left, right, left_flipped, right_flipped) == (count - 2 * k - 1, 2 * k + 2, True, True)


def render(pdf: bytes, index: int, *, dpi: float = 100):
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[index].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        doc.close()


def magenta(pdf: bytes, index: int) -> Image.Image:
    """A mask of where the page shows the bleed's magenta in bands wider than a hairline.

    A renderer may let a clipped fill through by up to one pixel at the clip's edge (pdfium rounds
    rectangular clips out to whole pixels); bleed that shows is a band 3 mm wide. The 3x3 minimum
    filter keeps the band and drops the hairline.
    """
    red, green, blue = render(pdf, index, dpi=50).split()
    mask = ImageChops.multiply(red.point(lambda v: 255 if v > 200 else 0), green.point(lambda v: 255 if v < 100 else 0))
    mask = ImageChops.multiply(mask, blue.point(lambda v: 255 if v > 200 else 0))
    return mask.filter(ImageFilter.MinFilter(3))


def test_bleed_does_not_show_on_the_sheets() -> None:
    source = make_pdf(8)
    assert magenta(source, 0).getbbox() is not None  # the test pages do have a bleed to hide
    for options in ({}, {"duplex": "long"}, {"creep_mm": 2.0}, {"sheet": "letter"}):
        imposed = impose(source, **options).pdf
        for index in range(4):
            assert magenta(imposed, index).getbbox() is None, (options, index)


def test_pages_without_a_trimbox_are_clipped_at_the_media() -> None:
    result = impose(make_pdf(4, trimbox=False))
    assert result.scale == 1.0
    assert numbers(result.pdf) == expected_order(4)


def test_other_sizes_are_scaled_to_fit_and_the_scale_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    letter = make_pdf(4, size_mm=(215.9, 279.4))
    result = impose(letter)
    # Half an A4 sheet is 148.5 mm wide: the width decides.
    assert result.scale == pytest.approx(148.5 / 215.9, abs=1e-4)
    with pdfplumber.open(io.BytesIO(result.pdf)) as doc:
        page = doc.pages[0]
        assert {round(c["size"], 1) for c in page.chars} == {round(FONT_SIZE * result.scale, 1)}
        left = [c for c in page.chars if c["x1"] < page.width / 2]
        centre = (min(c["x0"] for c in left) + max(c["x1"] for c in left)) / 2
        assert centre == pytest.approx(page.width / 4, abs=2)  # centred on its half
    monkeypatch.chdir(tmp_path)
    Path("letter.pdf").write_bytes(letter)
    output = run("impose", "letter.pdf", "sheets.pdf")
    assert output.exit_code == 0, output.output
    assert "Wrote sheets.pdf: 1 sheet(s), 2 pages; scale 0.688; 0 blank page(s) added" in output.output
    assert "at 68.8% to fit half a sheet" in output.output


def test_letter_sheets() -> None:
    result = impose(make_pdf(4, size_mm=(215.9, 279.4)), sheet="letter")
    page = pypdf.PdfReader(io.BytesIO(result.pdf)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (792, 612)
    assert result.scale == pytest.approx(139.7 / 215.9, abs=1e-4)
    assert numbers(result.pdf) == expected_order(4)


def test_rotated_pages_are_placed_as_they_show() -> None:
    # Landscape media turned by /Rotate 90 shows as an A5 portrait page: it goes on at 100%.
    result = impose(make_pdf(4, rotate=90))
    assert result.scale == 1.0
    with pdfplumber.open(io.BytesIO(result.pdf)) as doc:
        page = doc.pages[0]
        for half in (0, 1):
            chars = [c for c in page.chars if half * page.width / 2 <= c["x0"] < (half + 1) * page.width / 2]
            assert chars and all(c["matrix"][1] < 0 for c in chars)  # turned clockwise, as the page shows


def test_creep_moves_inner_sheets_toward_the_fold() -> None:
    source = make_pdf(16)  # 4 sheets: shifts of 0, 1/3, 2/3 and all of the creep
    plain, creeped = impose(source), impose(source, creep_mm=1.5)

    def first_x(pdf: bytes) -> list[tuple[float, float]]:
        with pdfplumber.open(io.BytesIO(pdf)) as doc:
            return [
                (min(c["x0"] for c in page.chars if c["x1"] < page.width / 2), min(c["x0"] for c in page.chars if c["x0"] > page.width / 2))
                for page in doc.pages
            ]

    for index, ((left0, right0), (left1, right1)) in enumerate(zip(first_x(plain.pdf), first_x(creeped.pdf), strict=True)):
        shift = 1.5 * MM * (index // 2) / 3
        assert left1 - left0 == pytest.approx(shift, abs=0.01), index  # the left page moves right, to the fold
        assert right1 - right0 == pytest.approx(-shift, abs=0.01), index  # the right page moves left
    assert numbers(creeped.pdf) == expected_order(16)


def test_creep_clips_each_page_at_the_fold() -> None:
    # A5 on A4 leaves 0.25 mm at the fold; a 2 mm creep pushes the innermost pages 1.75 mm over it.
    result = impose(make_pdf(8), creep_mm=2.0)
    image = render(result.pdf, 2, dpi=254)  # the inner sheet's front: pages 6 and 3, 10 pixels a millimetre
    middle = image.width // 2
    for mm in (0.5, 1.0, 1.5):
        assert image.getpixel((middle - round(10 * mm), image.height // 4)) == EVEN, mm
        assert image.getpixel((middle + round(10 * mm), image.height // 4)) == ODD, mm
    # Facing a blank, nothing covers a page that strays: 5 pages make a blank 6, 7 and 8.
    result = impose(make_pdf(5), creep_mm=2.0)
    assert result.sides[2:] == ((None, 3), (4, None))
    front, back = render(result.pdf, 2, dpi=254), render(result.pdf, 3, dpi=254)
    for mm in (0.5, 1.0, 1.5):
        assert front.getpixel((middle - round(10 * mm), front.height // 4)) == (255, 255, 255), mm
        assert front.getpixel((middle + round(10 * mm), front.height // 4)) == ODD, mm
        assert back.getpixel((middle - round(10 * mm), back.height // 4)) == EVEN, mm
        assert back.getpixel((middle + round(10 * mm), back.height // 4)) == (255, 255, 255), mm


def test_output_is_reproducible() -> None:
    source = make_pdf(12)
    first, second = impose(source), impose(source)
    assert first.pdf == second.pdf
    ids = [pypdf.PdfReader(io.BytesIO(impose(source, **o).pdf)).trailer["/ID"][0] for o in ({}, {"duplex": "long"})]
    assert ids[0] != ids[1]


@given(st.integers(min_value=1, max_value=50))
def test_folded_sheets_read_in_order(sheets: int) -> None:
    count = 4 * sheets
    sides = sheet_sides(count)
    fronts, backs = sides[0::2], sides[1::2]
    # Duplex on the short edge puts the back's left half behind the front's right half.
    # Folded, the right halves are leaves from the outside in (recto = front right, verso = back
    # left), then the left halves from the inside out (recto = back right, verso = front left).
    reading = []
    for front, back in zip(fronts, backs, strict=True):
        reading += [front[1], back[0]]
    for front, back in reversed(list(zip(fronts, backs, strict=True))):
        reading += [back[1], front[0]]
    assert reading == list(range(1, count + 1))


@given(st.integers(min_value=1, max_value=200), st.sampled_from(["before-last", "end"]))
def test_padding_keeps_every_page_once(pages: int, pad: str) -> None:
    order = padded_order(pages, pad=pad)
    assert len(order) % 4 == 0 and len(order) - pages < 4
    assert [n for n in order if n is not None] == list(range(1, pages + 1))
    assert order[0] == 1  # the cover stays on the outside
    if pad == "before-last" and pages > 1:
        assert order[-1] == pages  # and so does the back cover
    else:
        assert order[:pages] == list(range(1, pages + 1))


def test_bad_options_are_refused() -> None:
    source = make_pdf(4)
    for options in ({"sheet": "a3"}, {"duplex": "sideways"}, {"creep_mm": -0.5}, {"creep_mm": float("nan")}, {"pad": "start"}):
        with pytest.raises(ValueError):
            impose(source, **options)


# The command line.


def test_sample_booklet_imposes_on_six_sheets(sample_pdf: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheets.pdf"
    result = run("impose", str(sample_pdf), str(out))
    assert result.exit_code == 0, result.output
    assert "6 sheet(s), 12 pages; scale 1; 0 blank page(s) added" in result.output
    source = [normalise(t) for t in page_texts(sample_pdf)]
    assert len(source) == 24
    with pdfplumber.open(out) as doc:
        assert len(doc.pages) == 12
        halves = []
        for page in doc.pages:
            assert (round(page.width), round(page.height)) == A4_LANDSCAPE
            middle = page.width / 2
            halves.append(
                tuple(
                    normalise(page.crop(box).extract_text() or "")
                    for box in ((0, 0, middle, page.height), (middle, 0, page.width, page.height))
                )
            )
    # Sheet 1's front: the back cover on the left, the cover on the right.
    assert halves[0] == (source[23], source[0])
    assert normalise("Russia-Pakistan Relations") in halves[0][1]
    for (left, right), (want_left, want_right) in zip(halves, expected_order(24), strict=True):
        assert (left, right) == (source[want_left - 1], source[want_right - 1])
    assert out.read_bytes().startswith(b"%PDF-1.6\n")  # as the source (PDF/X-4): WeasyPrint's fonts and features
    # Same input, same bytes.
    again = tmp_path / "again.pdf"
    assert run("impose", str(sample_pdf), str(again), "-q").exit_code == 0
    assert again.read_bytes() == out.read_bytes()


def encrypted_pdf() -> bytes:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(make_pdf(4)))
    writer.encrypt("secret", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


BAD = {
    "mixed page sizes": (
        lambda: make_pdf(4, sizes={3: (210, 297)}),
        "error: in.pdf: page 3 is 210 × 297 mm, but page 1 is 148 × 210 mm\n"
        "  hint: every page of a booklet must have the same size to be imposed\n",
    ),
    "encrypted": (
        encrypted_pdf,
        "error: in.pdf: the PDF is encrypted\n  hint: impose an unencrypted copy, for example from `qpdf --decrypt IN.pdf OUT.pdf`\n",
    ),
    "not a PDF": (
        lambda: b"Dear printer,\nplease print this.\n",
        "error: in.pdf: not a PDF (it does not begin with %PDF-)\n  hint: give the finished booklet's PDF, for example build/<name>-print.pdf\n",
    ),
    "cut short": (
        lambda: make_pdf(4)[:300],
        "error: in.pdf: cannot read the PDF: ",
    ),
    "missing": (
        None,
        "error: in.pdf: file not found\n  hint: check the path of the PDF to impose\n",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_gives_a_clear_message_and_exit_1(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make, expected = BAD[case]
    monkeypatch.chdir(tmp_path)
    if make is not None:
        Path("in.pdf").write_bytes(make())
    Path("out.pdf").write_bytes(b"the last good sheets")
    result = run("impose", "in.pdf", "out.pdf")
    assert result.exit_code == 1
    if expected.endswith("\n"):
        assert result.output == expected
    else:
        assert result.output.startswith(expected) and "hint: the file may be damaged or cut short" in result.output
    assert "Traceback" not in result.output
    assert Path("out.pdf").read_bytes() == b"the last good sheets"


@pytest.mark.parametrize("args", [["--creep", "-1"], ["--creep", "nan"], ["--sheet", "a3"], ["--duplex", "sideways"], ["--pad", "start"]])
def test_misuse_exits_2(args: list[str], tmp_path: Path) -> None:
    source = tmp_path / "in.pdf"
    source.write_bytes(make_pdf(4))
    result = run("impose", str(source), str(tmp_path / "out.pdf"), *args)
    assert result.exit_code == 2
    assert "Invalid value" in result.output
    assert not (tmp_path / "out.pdf").exists()


def test_command_offers_what_the_function_takes() -> None:
    command = main.commands["impose"]
    choices = {p.name: tuple(p.type.choices) for p in command.params if isinstance(p.type, click.Choice)}
    assert choices == {"sheet": SHEETS, "duplex": DUPLEX, "pad": PADDING}


def test_creep_option_is_used(tmp_path: Path) -> None:
    source = tmp_path / "in.pdf"
    source.write_bytes(make_pdf(8))
    out = tmp_path / "out.pdf"
    assert run("impose", str(source), str(out), "--creep", "0.5", "--duplex", "long", "-q").exit_code == 0
    assert out.read_bytes() == impose(source, creep_mm=0.5, duplex="long").pdf
