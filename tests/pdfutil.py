"""Reading built PDFs in tests: page text, boxes, fonts, outline and rendered pixels."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pdfplumber
import pypdf

MM = 72 / 25.4


@cache
def page_texts(pdf: Path) -> tuple[str, ...]:
    with pdfplumber.open(pdf) as doc:
        return tuple(page.extract_text() or "" for page in doc.pages)


def normalise(text: str) -> str:
    """Fold white space and drop hyphens, so a line broken at a hyphen compares equal to the source."""
    text = re.sub(r"(\w)[-\u00ad\u2010]\s*\n\s*(\w)", r"\1\2", text)
    text = re.sub("[-\u00ad\u2010]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def words_near_top(pdf: Path, page_index: int, within_mm: float) -> str:
    """Text in the top ``within_mm`` of the trimmed page (running heads live there)."""
    with pdfplumber.open(pdf) as doc:
        page = doc.pages[page_index]
        trim = page.trimbox if hasattr(page, "trimbox") else page.bbox
        top = trim[1] if trim else 0
        words = page.extract_words()
        return " ".join(w["text"] for w in words if w["top"] - top < within_mm * MM)


def boxes(pdf: Path) -> list[dict[str, list[float]]]:
    reader = pypdf.PdfReader(pdf)
    result = []
    for page in reader.pages:
        result.append({name: [float(v) for v in getattr(page, name)] for name in ("mediabox", "trimbox", "bleedbox")})
    return result


def outline(pdf: Path) -> list[tuple[str, int]]:
    reader = pypdf.PdfReader(pdf)
    found = []

    def walk(items: list) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                found.append((item.title, reader.get_destination_page_number(item)))

    walk(reader.outline)
    return found


def font_names(pdf: Path) -> dict[str, bool]:
    """Every font used by a page, mapped to whether its program is embedded."""
    reader = pypdf.PdfReader(pdf)
    fonts: dict[str, bool] = {}
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            name = str(font.get("/BaseFont"))
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            fonts[name] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    return fonts


def render_page(pdf: Path, index: int, dpi: float = 36):
    """The page (with its bleed) as a Pillow image."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return doc[index].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        doc.close()
