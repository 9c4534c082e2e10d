"""Imposition: a finished booklet laid out 2-up on landscape sheets, in saddle-stitch order."""

from __future__ import annotations

import hashlib
import io
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.errors import PyPdfError
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    RectangleObject,
    StreamObject,
    TextStringObject,
)

from booklet.errors import ImposeError
from booklet.units import PAPER_SIZES, PT_PER_MM

log = logging.getLogger(__name__)

SHEETS = ("a4", "letter")
DUPLEX = ("short", "long")
PADDING = ("before-last", "end")

# Pages whose sizes differ by less than this are the same size (rounding in the producing program).
_SAME_SIZE_PT = 0.5
# A scale this close to 1 is 1: a page a rounding error off the half-sheet is not worth resampling.
_EXACT_SCALE = 1e-3

_HINT_NOT_PDF = "give the finished booklet's PDF, for example build/<name>-print.pdf"


@dataclass(frozen=True)
class Imposed:
    """An imposed PDF: two output pages (front, back) per physical sheet."""

    pdf: bytes = field(repr=False)
    """The imposed PDF."""
    sheets: int
    """Physical sheets; the PDF has twice as many pages."""
    scale: float
    """How the source pages were scaled to fit half a sheet: 1.0 for A5 on A4."""
    pages: int
    """Pages in the source."""
    padded: int
    """Blank pages added to make a multiple of four."""
    sides: tuple[tuple[int | None, int | None], ...]
    """For each output page, the source page numbers (1-based) on its left and right half, as printed; None is a blank."""


def padded_order(pages: int, *, pad: str = "before-last") -> list[int | None]:
    """The source page numbers (1-based) padded with blanks (None) to a multiple of four.

    ``pad="before-last"`` puts the blanks before the last page, which is a booklet's back cover;
    ``pad="end"`` puts them after it, for a document without one.
    """
    if pad not in PADDING:
        raise ValueError(f"pad must be one of {', '.join(PADDING)}, not {pad!r}")
    numbers: list[int | None] = list(range(1, pages + 1))
    blanks: list[int | None] = [None] * (-pages % 4)
    # A single page is the cover, not a back cover: it stays first.
    if pad == "before-last" and pages >= 2:
        return numbers[:-1] + blanks + numbers[-1:]
    return numbers + blanks


def sheet_sides(count: int) -> list[tuple[int, int]]:
    """(left, right) positions (1-based) on each output page for ``count`` pages, a multiple of four.

    Sheet k (0 = outermost) carries (N-2k, 2k+1) on its front and (2k+2, N-2k-1) on its back, as
    they come out for duplex flipped on the short edge: fold the stack and the pages read 1, 2, 3...
    """
    if count <= 0 or count % 4:
        raise ValueError(f"count must be a positive multiple of 4, not {count}")
    sides: list[tuple[int, int]] = []
    for k in range(count // 4):
        sides.append((count - 2 * k, 2 * k + 1))
        sides.append((2 * k + 2, count - 2 * k - 1))
    return sides


def impose(
    source: Path | bytes,
    *,
    sheet: str = "a4",
    duplex: str = "short",
    creep_mm: float = 0.0,
    pad: str = "before-last",
) -> Imposed:
    """Impose a finished PDF 2-up on landscape ``sheet``s for saddle stitching.

    Each page is clipped at its TrimBox (or CropBox, or MediaBox), so neither bleed nor marks
    reach the sheet, and centred on its half-sheet, scaled uniformly to fit (A5 on A4 is exact).
    ``duplex="long"`` turns the backs by 180° for printers that flip on the long edge.
    ``creep_mm`` moves the innermost sheet's pages that far toward the fold, the outermost not
    at all, the sheets between in proportion. ``pad`` is where blank pages go (see padded_order).
    Raises ImposeError for a file that cannot be imposed, ValueError for a bad option.
    """
    if sheet not in SHEETS:
        raise ValueError(f"sheet must be one of {', '.join(SHEETS)}, not {sheet!r}")
    if duplex not in DUPLEX:
        raise ValueError(f"duplex must be one of {', '.join(DUPLEX)}, not {duplex!r}")
    if not (math.isfinite(creep_mm) and creep_mm >= 0):
        raise ValueError(f"creep_mm must be 0 or more, not {creep_mm!r}")

    data, path = _read(source)
    reader, boxes = _open(data, path)
    order = padded_order(len(boxes), pad=pad)
    width_mm, height_mm = PAPER_SIZES[sheet]
    sheet_w, sheet_h = height_mm * PT_PER_MM, width_mm * PT_PER_MM  # landscape
    page_w, page_h = boxes[0].size
    scale = min(sheet_w / 2 / page_w, sheet_h / page_h)
    if abs(scale - 1) < _EXACT_SCALE:
        scale = 1.0
    sheets = len(order) // 4
    log.info(
        "Imposing %d pages (%s mm) on %d %s sheet(s), %s-edge duplex, at %s",
        len(boxes),
        _mm(page_w, page_h),
        sheets,
        _paper(sheet),
        duplex,
        "100%" if scale == 1 else f"{scale:.1%} to fit half a sheet",
    )
    padded = len(order) - len(boxes)
    if padded:
        log.info("Added %d blank page(s) %s for a multiple of 4", padded, "before the last page" if order[-1] else "at the end")

    writer = PdfWriter()
    sides: list[tuple[int | None, int | None]] = []
    for index, (left, right) in enumerate(sheet_sides(len(order))):
        k = index // 2
        back = index % 2 == 1
        # Creep: the outer sheets wrap round the inner ones, so inner sheets stick out at the
        # fore-edge and carry their pages outward; moving those toward the fold lines them up.
        shift = creep_mm * PT_PER_MM * (k / (sheets - 1) if sheets > 1 else 0.0)
        turned = back and duplex == "long"
        out = writer.add_blank_page(width=sheet_w, height=sheet_h)
        placed = (order[left - 1], order[right - 1])
        drawing = []
        xobjects = DictionaryObject()
        for half, number in enumerate(placed):
            if number is None:
                continue
            to_sheet, clip = _placement(boxes[number - 1], half=half, scale=scale, shift=shift, sheet=(sheet_w, sheet_h), turned=turned)
            # Each page is drawn as a form clipped at its trim (within the half-sheet); its links and
            # other annotations point into the source document and stay behind.
            name = f"/Page{number}"
            xobjects[NameObject(name)] = _page_form(writer, reader.pages[number - 1], clip)
            matrix = " ".join(f"{value:.6f}".rstrip("0").rstrip(".") for value in to_sheet.ctm)
            drawing.append(f"q {matrix} cm {name} Do Q")
        out[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): xobjects})
        content = StreamObject()
        content.set_data("\n".join(drawing).encode("ascii"))
        out[NameObject("/Contents")] = writer._add_object(content.flate_encode())
        sides.append(placed[::-1] if turned else placed)

    _copy_document_info(reader, writer)
    # The sheets use whatever the pages use (OpenType fonts, transparency): claim the source's version.
    if version := re.search(rb"%PDF-(\d\.\d)", data[:1024]):
        writer.pdf_header = b"%PDF-" + version[1]
    # A fixed /ID derived from the input and the options, so equal inputs give equal files.
    # pypdf writes none of its own unless told; it has no public setter, hence _ID.
    identity = hashlib.sha256(data + repr((sheet, duplex, creep_mm, pad)).encode()).digest()[:16]
    writer._ID = ArrayObject([ByteStringObject(identity), ByteStringObject(identity)])
    buffer = io.BytesIO()
    writer.write(buffer)
    return Imposed(pdf=buffer.getvalue(), sheets=sheets, scale=scale, pages=len(boxes), padded=padded, sides=tuple(sides))


def _page_form(writer: PdfWriter, page: PageObject, clip: RectangleObject) -> IndirectObject:
    """``page`` as a form XObject cut at ``clip``: what it draws, with its resources, and nothing of its annotations.

    Drawing a form needs no parsing of the page's content, as merging it into the sheet's own would.
    """
    contents = page.get_contents()
    form = StreamObject()
    form.set_data(contents.get_data() if contents is not None else b"")
    form = form.flate_encode()
    form[NameObject("/Type")] = NameObject("/XObject")
    form[NameObject("/Subtype")] = NameObject("/Form")
    form[NameObject("/BBox")] = ArrayObject(FloatObject(value) for value in clip)
    if "/Resources" in page:
        form[NameObject("/Resources")] = page["/Resources"].clone(writer)
    if "/Group" in page:
        form[NameObject("/Group")] = page["/Group"].clone(writer)
    return writer._add_object(form)


@dataclass(frozen=True)
class _Box:
    """A source page's visible box (trim, else crop, else media) and its /Rotate."""

    rect: tuple[float, float, float, float]
    rotate: int

    @property
    def size(self) -> tuple[float, float]:
        """Width and height as the page is shown, after its /Rotate."""
        x0, y0, x1, y1 = self.rect
        w, h = x1 - x0, y1 - y0
        return (h, w) if self.rotate % 180 else (w, h)

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.rect
        return (x0 + x1) / 2, (y0 + y1) / 2


def _read(source: Path | bytes) -> tuple[bytes, Path | None]:
    if isinstance(source, bytes | bytearray):
        return bytes(source), None
    path = Path(source)
    try:
        return path.read_bytes(), path
    except FileNotFoundError:
        raise ImposeError("file not found", file=path, hint="check the path of the PDF to impose") from None
    except IsADirectoryError:
        raise ImposeError("is a folder, not a PDF", file=path, hint=_HINT_NOT_PDF) from None
    except OSError as exc:
        raise ImposeError(f"cannot read the file: {exc.strerror}", file=path) from None


def _open(data: bytes, path: Path | None) -> tuple[PdfReader, list[_Box]]:
    """Open the PDF and check it can be imposed: readable, not encrypted, one page size."""
    # Readers accept a header anywhere in the first kilobyte; anything else is not a PDF at all.
    if b"%PDF-" not in data[:1024]:
        raise ImposeError("not a PDF (it does not begin with %PDF-)", file=path, hint=_HINT_NOT_PDF)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ImposeError(
                "the PDF is encrypted", file=path, hint="impose an unencrypted copy, for example from `qpdf --decrypt IN.pdf OUT.pdf`"
            )
        boxes = [_box(page) for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ImposeError(
            f"cannot read the PDF: {exc}", file=path, hint="the file may be damaged or cut short; make or download it again"
        ) from None
    if not boxes:
        raise ImposeError("the PDF has no pages", file=path)
    first = boxes[0].size
    for number, box in enumerate(boxes, start=1):
        if number == 1:
            continue
        w, h = box.size
        if abs(w - first[0]) > _SAME_SIZE_PT or abs(h - first[1]) > _SAME_SIZE_PT:
            raise ImposeError(
                f"page {number} is {_mm(w, h)} mm, but page 1 is {_mm(*first)} mm",
                file=path,
                hint="every page of a booklet must have the same size to be imposed",
            )
    return reader, boxes


def _box(page: PageObject) -> _Box:
    rect = page.trimbox if "/TrimBox" in page else page.cropbox
    rotate = int(page.get("/Rotate", 0)) % 360
    if rotate % 90:
        raise ValueError(f"/Rotate {rotate} is not a multiple of 90")
    return _Box(rect=(float(rect.left), float(rect.bottom), float(rect.right), float(rect.top)), rotate=rotate)


def _placement(
    box: _Box, *, half: int, scale: float, shift: float, sheet: tuple[float, float], turned: bool
) -> tuple[Transformation, RectangleObject]:
    """The page-to-sheet transformation for one half, and the clip rectangle in page space."""
    sheet_w, sheet_h = sheet
    slot_x = sheet_w / 4 + half * sheet_w / 2
    toward_fold = shift if half == 0 else -shift
    cx, cy = box.centre
    upright = _quarter_turn(box.rotate)
    place = Transformation().translate(-cx, -cy).transform(upright).scale(scale, scale).translate(slot_x + toward_fold, sheet_h / 2)
    # Clip at the trim, and at the half-sheet's edges too, so creep cannot push a page across the fold.
    back = (
        Transformation()
        .translate(-(slot_x + toward_fold), -sheet_h / 2)
        .scale(1 / scale, 1 / scale)
        .transform(_quarter_turn(-box.rotate))
        .translate(cx, cy)
    )
    corners = [back.apply_on(p) for p in ((half * sheet_w / 2, 0), ((half + 1) * sheet_w / 2, sheet_h))]
    x0, y0, x1, y1 = box.rect
    clip = RectangleObject(
        (
            max(x0, min(c[0] for c in corners)),
            max(y0, min(c[1] for c in corners)),
            min(x1, max(c[0] for c in corners)),
            min(y1, max(c[1] for c in corners)),
        )
    )
    if turned:
        # Long-edge duplex: the whole back turns by 180° about the sheet's centre.
        place = place.translate(-sheet_w / 2, -sheet_h / 2).transform(_quarter_turn(180)).translate(sheet_w / 2, sheet_h / 2)
    return place, clip


def _quarter_turn(degrees: int) -> Transformation:
    """A clockwise turn by a multiple of 90°, with exact matrix entries (no 6e-17 from sin and cos)."""
    cos, sin = {0: (1, 0), 90: (0, 1), 180: (-1, 0), 270: (0, -1)}[degrees % 360]
    return Transformation((cos, -sin, sin, cos, 0, 0))


def _copy_document_info(reader: PdfReader, writer: PdfWriter) -> None:
    """The same title, author and dates as the source (fixed dates keep the output reproducible)."""
    info = reader.metadata or {}
    writer.add_metadata({key: str(value) for key, value in info.items() if key != "/Producer"})
    language = reader.trailer["/Root"].get("/Lang")
    if language is not None:
        writer.root_object[NameObject("/Lang")] = TextStringObject(str(language.get_object()))


def _mm(width_pt: float, height_pt: float) -> str:
    def one(value: float) -> str:
        return f"{value / PT_PER_MM:.1f}".removesuffix(".0")

    return f"{one(width_pt)} × {one(height_pt)}"


def _paper(sheet: str) -> str:
    return sheet.upper() if sheet.startswith("a") else sheet.title()
