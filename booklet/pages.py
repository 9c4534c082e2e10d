"""Page images for the preview: a cheap fingerprint of each PDF page, and a PNG for each new one."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2 as pdfium
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from booklet.output import write_atomic

log = logging.getLogger(__name__)

DPI = 96
SAFE_MM = 5.0
# Bump when the way pages are drawn changes, so that no older image is taken for a new one.
RENDER_VERSION = b"1"
TEXT_LIMIT = 4000

_NAME = re.compile(rb"/([^\s/\[\]()<>{}%]+)")
_SUBSET_TAG = re.compile(r"^[A-Z]{6}\+")
_SKIPPED_KEYS = {"/Parent", "/Length", "/Filter", "/DecodeParms", "/Resources"}


@dataclass(frozen=True)
class PageImage:
    """One page as the preview shows it: its PNG, its geometry in pixels and its text."""

    number: int
    key: str
    width: int
    height: int
    trim: tuple[float, float, float, float]
    text: str

    @property
    def file_name(self) -> str:
        return f"{self.key}.png"


class Fingerprints:
    """Digests of a PDF's pages that change when a page's picture can change, and not otherwise.

    A page's digest covers its boxes, its content stream and the resources that stream names
    (images, forms, graphics states), followed into forms. Fonts count by name only: WeasyPrint
    subsets each font for the whole document, so a glyph added on one page changes every font
    program and every subset tag; glyph ids stay put (the subsets keep them), so the pages that
    did not change still draw the same.
    """

    def __init__(self) -> None:
        self._memo: dict[int, bytes] = {}

    def page(self, page: pypdf.PageObject) -> str:
        digest = hashlib.sha256(RENDER_VERSION)
        boxes = [page.mediabox, page.cropbox, page.trimbox, page.bleedbox]
        digest.update(repr([[round(float(v), 3) for v in box] for box in boxes] + [page.rotation, DPI]).encode())
        contents = page.get_contents()
        digest.update(self.content(contents.get_data() if contents is not None else b"", page.get("/Resources")))
        return digest.hexdigest()[:24]

    def content(self, data: bytes, resources: Any) -> bytes:
        """The digest of a content stream with the resources it names."""
        resources = resources.get_object() if resources is not None else DictionaryObject()
        fonts = resources.get("/Font")
        renamed: dict[bytes, bytes] = {}
        for name, font in (fonts.get_object() if fonts is not None else {}).items():
            base = str(font.get_object().get("/BaseFont", name)).lstrip("/")
            renamed[name.encode()] = b"/font:" + _SUBSET_TAG.sub("", base).encode()
        used = set(_NAME.findall(data))
        digest = hashlib.sha256(_NAME.sub(lambda m: renamed.get(m.group(0), m.group(0)), data))
        for category in sorted(resources):
            if category in ("/Font", "/ProcSet"):
                continue
            entries = resources[category].get_object()
            if not isinstance(entries, DictionaryObject):
                digest.update(category.encode() + self.value(entries))
                continue
            for name in sorted(entries):
                if name[1:].encode() in used:
                    digest.update(category.encode() + name.encode() + self.value(entries.raw_get(name)))
        return digest.digest()

    def value(self, obj: Any) -> bytes:
        """The digest of any PDF object; each indirect object is digested once."""
        if isinstance(obj, IndirectObject):
            key = obj.idnum
            if key not in self._memo:
                self._memo[key] = b"ref:%d" % key  # stands for itself inside a cycle
                self._memo[key] = self.value(obj.get_object())
            return self._memo[key]
        if isinstance(obj, StreamObject):
            head = self._dict(obj)
            if "/Resources" in obj:  # a form or a tiling pattern: a content stream of its own
                return hashlib.sha256(head + self.content(obj.get_data(), obj.get("/Resources"))).digest()
            return hashlib.sha256(head + obj.get_data()).digest()
        if isinstance(obj, DictionaryObject):
            return hashlib.sha256(self._dict(obj)).digest()
        if isinstance(obj, ArrayObject):
            return hashlib.sha256(b"".join(self.value(item) for item in obj)).digest()
        return repr(obj).encode()

    def _dict(self, obj: DictionaryObject) -> bytes:
        return b"".join(key.encode() + self.value(obj.raw_get(key)) for key in sorted(obj) if key not in _SKIPPED_KEYS)


def fingerprints(pdf: Path) -> list[str]:
    """One digest per page of ``pdf``."""
    reader = pypdf.PdfReader(pdf)
    prints = Fingerprints()
    return [prints.page(page) for page in reader.pages]


class PageRenderer:
    """Renders pages to PNG files in ``cache_dir``, each page only when its fingerprint is new."""

    def __init__(self, cache_dir: Path, *, dpi: int = DPI) -> None:
        self.cache_dir = cache_dir
        self.dpi = dpi
        self._known: dict[str, PageImage] = {}

    def pages(self, pdf: Path) -> tuple[list[PageImage], list[int]]:
        """The pages of ``pdf`` as images, and the numbers of those that had to be drawn now."""
        keys = fingerprints(pdf)
        todo = [i for i, key in enumerate(keys) if key not in self._known or not (self.cache_dir / f"{key}.png").is_file()]
        if todo:
            self._render(pdf, keys, todo)
        pages = [_numbered(self._known[key], i + 1) for i, key in enumerate(keys)]
        return pages, [i + 1 for i in todo]

    def prune(self, keep: set[str]) -> None:
        """Forget and delete every image whose key is not in ``keep``, also those left by an earlier session."""
        for key in set(self._known) - keep:
            del self._known[key]
        for path in self.cache_dir.glob("*.png"):
            if path.stem not in keep:
                path.unlink(missing_ok=True)

    def _render(self, pdf: Path, keys: list[str], todo: list[int]) -> None:
        scale = self.dpi / 72
        doc = pdfium.PdfDocument(str(pdf))
        try:
            for index in todo:
                page = doc[index]
                try:
                    # pdfium draws the crop box, which here is the media box: the page with its bleed.
                    left, _, _, top = page.get_cropbox()
                    t_left, t_bottom, t_right, t_top = page.get_trimbox()
                    image = page.render(scale=scale).to_pil()
                    textpage = page.get_textpage()
                    text = " ".join(textpage.get_text_bounded().split())[:TEXT_LIMIT]
                    textpage.close()
                finally:
                    page.close()
                buffer = io.BytesIO()
                # Fast compression: a page is drawn on every edit, and it only travels over loopback.
                image.save(buffer, "PNG", compress_level=1)
                key = keys[index]
                write_atomic(self.cache_dir / f"{key}.png", buffer.getvalue())
                trim = ((t_left - left) * scale, (top - t_top) * scale, (t_right - t_left) * scale, (t_top - t_bottom) * scale)
                self._known[key] = PageImage(
                    number=index + 1,
                    key=key,
                    width=image.width,
                    height=image.height,
                    trim=tuple(round(v, 2) for v in trim),  # type: ignore[arg-type]
                    text=text,
                )
        finally:
            doc.close()
        log.debug("Rendered %d page(s) of %s", len(todo), pdf.name)


def _numbered(page: PageImage, number: int) -> PageImage:
    if page.number == number:
        return page
    return PageImage(number=number, key=page.key, width=page.width, height=page.height, trim=page.trim, text=page.text)
