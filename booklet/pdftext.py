"""The characters, fonts and images of a PDF's pages, read with pdfium and measured from the top of the page."""

from __future__ import annotations

import ctypes
import functools
import logging
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pypdfium2 as pdfium
import pypdfium2.raw as raw

log = logging.getLogger(__name__)

# pdfium marks a hyphen it found at the end of a line with this non-character.
_LINE_END_HYPHEN = "\ufffe"


@dataclass(frozen=True)
class Char:
    """One character, measured like pdfminer: x from the left, top and bottom down from the top of the MediaBox.

    Up and down, the box is pdfminer's em box: ``size`` high, from the font's descent below the baseline.
    Across, it runs from the origin to the advance, widened to the ink where the ink reaches further
    (an italic's overhang): ink is what a trim would cut.
    """

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    fontname: str


@dataclass(frozen=True)
class Image:
    """An image as placed: its box on the page, measured like a character's, and its size in pixels."""

    x0: float
    x1: float
    top: float
    bottom: float
    pixels: tuple[int, int]


class _Glyph(NamedTuple):
    """A printed character as pdfium's loose box has it: PDF coordinates, y up from the bottom."""

    index: int
    text: str
    left: float
    right: float
    bottom: float
    top: float


class Page:
    """One page of a :class:`Document`: only the characters a check asks about are measured exactly."""

    def __init__(self, document: Document, index: int) -> None:
        self.number = index + 1
        self._page = document.pdf[index]
        self._textpage = self._page.get_textpage()
        x0, y0, x1, y1 = self._page.get_mediabox()
        self.height = abs(y1 - y0)
        self._mediabox = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        box = [ctypes.c_float() for _ in range(4)]
        has_trim = raw.FPDFPage_GetTrimBox(self._page.raw, *box)
        # Without a TrimBox, the page is measured within its MediaBox.
        self.trim = self._flip(*(v.value for v in box)) if has_trim else self._flip(*self._mediabox)
        self.text = self._read_text()
        self._glyphs: list[_Glyph] | None = None
        self._fonts: dict[int, tuple[str, float]] = {}
        self.fonts: set[str] = set()
        self.text_fonts: set[str] = set()
        self.images: list[Image] = []
        self._read_objects()

    def close(self) -> None:
        self._textpage.close()
        self._page.close()

    # ---- what the checks ask ----------------------------------------------

    def chars_near_edges(self, left: float, right: float, top: float, bottom: float) -> list[Char]:
        """Every printed character closer to a trim edge than the given distance, or beyond it.

        pdfium's loose box holds the character's em box across; up and down the em box may reach a
        font's height past it, so a character within that of a limit is measured exactly.
        """
        trim_x0, trim_top, trim_x1, trim_bottom = self.trim
        # In PDF coordinates, y up: the limits of the inner area.
        inner_left, inner_right = trim_x0 + left, trim_x1 - right
        inner_bottom, inner_top = self.height - trim_bottom + bottom, self.height - trim_top - top
        near = []
        for glyph in self._read_glyphs():
            _, _, left, right, bottom, top = glyph
            reach = top - bottom
            if left < inner_left or right > inner_right or bottom - reach < inner_bottom or top + reach > inner_top:
                near.append(glyph)
        return [self._measure(glyph) for glyph in near]

    def chars_from_the_bottom(self) -> Iterator[tuple[float, Char]]:
        """Printed characters, the lowest first, each with the largest ``top`` any character after it can have.

        A character's em box starts at its font's descent, where its loose box starts too (or the ink
        reaches lower), so it rises above the bottom of its loose box.
        """
        glyphs = sorted(self._read_glyphs(), key=operator.itemgetter(4))  # by bottom
        for position, glyph in enumerate(glyphs):
            following = glyphs[position + 1].bottom if position + 1 < len(glyphs) else float("inf")
            yield self.height - following, self._measure(glyph)

    def text_within(self, x0: float, top: float, x1: float, bottom: float) -> str:
        """The text of the characters that reach into a box given in page coordinates."""
        return self._textpage.get_text_bounded(left=x0, bottom=self.height - bottom, right=x1, top=self.height - top)

    # ---- reading -----------------------------------------------------------

    def _flip(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        """A box in PDF coordinates as (x0, top, x1, bottom) measured down from the top of the MediaBox."""
        return (min(x0, x1), self.height - max(y0, y1), max(x0, x1), self.height - min(y0, y1))

    def _read_text(self) -> str:
        count = self._textpage.count_chars()
        if count <= 0:
            return ""
        buffer = ctypes.create_string_buffer(2 * (count + 1))
        raw.FPDFText_GetText(self._textpage.raw, 0, count, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)))
        text = buffer.raw[: 2 * count].decode("utf-16-le", errors="replace")
        if len(text) != count:
            # Characters beyond the BMP come as surrogate pairs: read them one at a time instead.
            text = "".join(chr(raw.FPDFText_GetUnicode(self._textpage.raw, i)) for i in range(count))
        return text.replace(_LINE_END_HYPHEN, "-")

    def _read_glyphs(self) -> list[_Glyph]:
        """The printed (not blank, not generated) characters with their loose boxes, ligatures as one."""
        if self._glyphs is not None:
            return self._glyphs
        # This loop runs for every character of every page checked: what it calls is made once, outside it.
        ffi, loose_box = _loose_char_box()
        textpage = ffi.cast("void *", ctypes.cast(self._textpage.raw, ctypes.c_void_p).value)
        rect = ffi.new("FS_RECTF *")
        values = memoryview(ffi.buffer(rect)).cast("f")  # left, top, right, bottom
        glyph = tuple.__new__
        glyphs: list[_Glyph] = []
        append = glyphs.append
        previous = None
        for index, char in enumerate(self.text):
            # What pdfium adds between words and lines is blank, so skipping blanks skips it too.
            if char.isspace():
                previous = None
                continue
            loose_box(textpage, index, rect)
            left, top, right, bottom = values
            box = (left, right, bottom, top)
            if box == previous:
                # One glyph, several characters: a ligature such as 'fi', one character to pdfminer too.
                glyphs[-1] = glyph(_Glyph, (glyphs[-1][0], glyphs[-1][1] + char, *box))
            else:
                append(glyph(_Glyph, (index, char, *box)))
            previous = box
        self._glyphs = glyphs
        return glyphs

    def _measure(self, glyph: _Glyph) -> Char:
        """A character's em box the way pdfminer computes it: font size and descent from its font."""
        textpage = self._textpage.raw
        x, y = ctypes.c_double(), ctypes.c_double()
        raw.FPDFText_GetCharOrigin(textpage, glyph.index, x, y)
        matrix = raw.FS_MATRIX()
        raw.FPDFText_GetMatrix(textpage, glyph.index, matrix)
        font_size = raw.FPDFText_GetFontSize(textpage, glyph.index)
        fontname, descent = self._font_of(raw.FPDFText_GetTextObject(textpage, glyph.index))
        if matrix.b == 0 and matrix.c == 0:
            size = abs(matrix.d) * font_size
            low, high = sorted((y.value + matrix.d * descent * font_size, y.value + matrix.d * (descent + 1) * font_size))
        else:
            # Turned text: its loose box, which pdfminer's would enclose.
            size = font_size * (matrix.c**2 + matrix.d**2) ** 0.5
            low, high = glyph.bottom, glyph.top
        return Char(glyph.text, glyph.left, glyph.right, self.height - high, self.height - low, size, fontname)

    def _font_of(self, text_object) -> tuple[str, float]:
        """The base font name and the descent (per unit of size) of a text object's font."""
        font = raw.FPDFTextObj_GetFont(text_object)
        key = ctypes.cast(font, ctypes.c_void_p).value or 0
        if key not in self._fonts:
            self._fonts[key] = (_base_font_name(font), _descent(font))
        return self._fonts[key]

    def _read_objects(self) -> None:
        """Fonts and images, walking into forms: the matrix of each form places what it holds."""
        textpage = self._textpage.raw
        buffer = (ctypes.c_ushort * 2048)()

        def walk(parent, count, get, matrices: tuple) -> None:
            for i in range(count(parent)):
                obj = get(parent, i)
                kind = raw.FPDFPageObj_GetType(obj)
                if kind == raw.FPDF_PAGEOBJ_TEXT:
                    name, _ = self._font_of(obj)
                    self.fonts.add(name)
                    if name not in self.text_fonts and _object_text(obj, textpage, buffer).strip():
                        self.text_fonts.add(name)
                elif kind == raw.FPDF_PAGEOBJ_IMAGE:
                    self.images.append(self._image(obj, matrices))
                elif kind == raw.FPDF_PAGEOBJ_FORM:
                    matrix = raw.FS_MATRIX()
                    raw.FPDFPageObj_GetMatrix(obj, matrix)
                    walk(obj, raw.FPDFFormObj_CountObjects, raw.FPDFFormObj_GetObject, (matrix, *matrices))

        walk(self._page.raw, raw.FPDFPage_CountObjects, raw.FPDFPage_GetObject, ())

    def _image(self, obj, matrices: tuple) -> Image:
        left, bottom, right, top = (ctypes.c_float() for _ in range(4))
        raw.FPDFPageObj_GetBounds(obj, left, bottom, right, top)
        corners = [(left.value, bottom.value), (left.value, top.value), (right.value, bottom.value), (right.value, top.value)]
        for m in matrices:  # innermost form first
            corners = [(m.a * cx + m.c * cy + m.e, m.b * cx + m.d * cy + m.f) for cx, cy in corners]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        width, height = ctypes.c_uint(), ctypes.c_uint()
        raw.FPDFImageObj_GetImagePixelSize(obj, width, height)
        x0, top_, x1, bottom_ = self._flip(min(xs), min(ys), max(xs), max(ys))
        return Image(x0, x1, top_, bottom_, (width.value, height.value))


class Document:
    """A PDF (a file, or its bytes) opened with pdfium, page by page: ``with Document(path) as doc: page = doc.page(0) ...``."""

    def __init__(self, path: Path | bytes) -> None:
        self.pdf = pdfium.PdfDocument(path)

    def __len__(self) -> int:
        return len(self.pdf)

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pdf.close()

    def page(self, index: int) -> Page:
        """Page ``index`` (from 0); the caller closes it."""
        return Page(self, index)


@functools.cache
def _loose_char_box() -> tuple[Any, Any]:
    """pdfium's ``FPDFText_GetLooseCharBox`` called through cffi, with the cffi that calls it.

    It is called once a character: through ctypes a call costs about twice as much, through
    pypdfium2's own binding more again (it checks each pointer's type).
    """
    import cffi

    ffi = cffi.FFI()
    ffi.cdef("typedef struct { float left, top, right, bottom; } FS_RECTF;")
    address = ctypes.cast(raw.FPDFText_GetLooseCharBox, ctypes.c_void_p).value
    return ffi, ffi.cast("int (*)(void *, int, FS_RECTF *)", address)


def _base_font_name(font) -> str:
    length = raw.FPDFFont_GetBaseFontName(font, None, 0)
    if length <= 0:
        return ""
    buffer = ctypes.create_string_buffer(length)
    raw.FPDFFont_GetBaseFontName(font, buffer, length)
    return buffer.value.decode("utf-8", errors="replace")


def _descent(font) -> float:
    """The font's descent per unit of size, below the baseline (negative), as its descriptor gives it."""
    descent = ctypes.c_float()
    if not raw.FPDFFont_GetDescent(font, ctypes.c_float(1000.0), descent):
        return 0.0
    # PDF descents are negative; a positive one is a mistake pdfminer corrects the same way.
    return -abs(descent.value) / 1000


def _object_text(text_object, textpage, buffer: ctypes.Array) -> str:
    """The text of a text object, in a reused buffer unless it needs a larger one."""
    size = raw.FPDFTextObj_GetText(text_object, textpage, buffer, ctypes.sizeof(buffer))
    if size > ctypes.sizeof(buffer):
        buffer = (ctypes.c_ushort * (size // 2 + 1))()
        size = raw.FPDFTextObj_GetText(text_object, textpage, buffer, ctypes.sizeof(buffer))
    return bytes(buffer)[: max(size - 2, 0)].decode("utf-16-le", errors="replace")
