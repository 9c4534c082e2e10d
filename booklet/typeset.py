"""Typesetting with WeasyPrint: HTML to laid-out pages, padding, and PDF bytes."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
import os
import re
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING, Any

from booklet.errors import TypesetError

if TYPE_CHECKING:
    from weasyprint import Document

    from booklet.sandbox import SandboxFetcher

log = logging.getLogger(__name__)


def load_weasyprint() -> None:
    """Import WeasyPrint (once per process), letting the dynamic linker find its libraries by their file names.

    WeasyPrint tries each library under the names it has on every platform. Each name that
    does not load as it is goes to ctypes' ``find_library``, which on Linux runs ``ldconfig``,
    then ``gcc`` and ``ld``, for a name that is usually another platform's. That is about a
    tenth of a second of every import, and an edit's rebuild waits for a worker's import.
    Each list also holds the Linux file name, which the linker finds as it finds any library
    (``LD_LIBRARY_PATH``, its cache, the standard folders). So the lookup is skipped during the
    import, and only when WeasyPrint then cannot find a library is it imported again the usual way.
    Each font configuration made afterwards is noted, for ``remove_font_folders``, and fixed-size
    array types are made without the C parser (``_make_array_types``).
    """
    if "weasyprint" in sys.modules:
        _after_import()
        return
    # Elsewhere find_library is the way.
    if not sys.platform.startswith("linux"):
        import weasyprint

        _after_import()
        return
    import ctypes.util

    real = ctypes.util.find_library
    importer = threading.get_ident()
    # Only for this import: another thread (the workers' pool has one) that looks a library up meanwhile still finds it.
    ctypes.util.find_library = lambda name: None if threading.get_ident() == importer else real(name)
    try:
        # Silent: when a library is missing, WeasyPrint prints its advice, which the usual import gives if it applies.
        with redirect_stdout(io.StringIO()):
            import weasyprint
    except OSError:
        for name in [name for name in sys.modules if name == "weasyprint" or name.startswith("weasyprint.")]:
            del sys.modules[name]
    finally:
        ctypes.util.find_library = real
    import weasyprint  # noqa: F401

    _after_import()


def _after_import() -> None:
    _note_font_configurations()
    _make_array_types()


_ARRAY_TYPE = re.compile(r"\s*([A-Za-z_][\w ]*?)\s*\[\s*(\d+)\s*\]\s*")


class _ArrayTypes(dict):
    """cffi's parsed C types, where a fixed-size array such as ``hb_codepoint_t[1298]`` is made from its item's type.

    cffi parses each new C type string with pycparser, after declaring every type name WeasyPrint
    declares: about 3 ms. WeasyPrint's font subsetting asks for an array of each size it meets, so
    a worker spent about 0.1 s parsing around forty of them. The item's type is parsed once and each
    size made from it, the way cffi's parser makes an array type of a parsed item.
    """

    def __init__(self, ffi: Any, parsed: dict) -> None:
        super().__init__(parsed)
        self._ffi = ffi
        self._items: dict[str, Any] = {}

    def __missing__(self, key: object) -> tuple[Any, bool]:
        match = _ARRAY_TYPE.fullmatch(key) if isinstance(key, str) else None
        if match is None:
            raise KeyError(key)
        from cffi import model

        ffi = self._ffi
        with ffi._lock:
            item = self._items.get(match[1])
            if item is None:
                item = self._items[match[1]] = ffi._parser.parse_type(match[1])
            result = self[key] = (ffi._get_cached_btype(model.ArrayType(item, int(match[2]))), False)
        return result


def _make_array_types() -> None:
    """Have WeasyPrint's cffi types make fixed-size arrays without the parser, if cffi is as expected."""
    from weasyprint.text.ffi import ffi

    parsed = getattr(ffi, "_parsed_types", None)
    if (
        isinstance(parsed, _ArrayTypes)
        or not isinstance(parsed, dict)
        or not all(hasattr(ffi, name) for name in ("_lock", "_parser", "_get_cached_btype"))
    ):
        return
    ffi._parsed_types = _ArrayTypes(ffi, parsed)


_font_folders: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()  # font configurations, by the process that made them


def _note_font_configurations() -> None:
    """Note each WeasyPrint font configuration made from now on, so that ``remove_font_folders`` can find it."""
    from weasyprint.text.fonts import FontConfiguration

    real = FontConfiguration.__init__
    if getattr(real, "booklet_noted", False):
        return

    def noted(self: object, *args: object, **kwargs: object) -> None:
        real(self, *args, **kwargs)
        _font_folders[self] = os.getpid()

    noted.booklet_noted = True  # type: ignore[attr-defined]
    FontConfiguration.__init__ = noted


def remove_font_folders() -> None:
    """Remove the folders where the font configurations this process made and still holds keep their fonts.

    A configuration removes its folder when it is collected; one held in a reference cycle (by a
    document) waits for a collection of the cycles, which in a process about to end costs more
    than the removal.
    """
    for config, maker in list(_font_folders.items()):
        if maker == os.getpid():
            _remove_font_folder(config)


def _remove_font_folder(config: object) -> None:
    """Remove the folder where a WeasyPrint font configuration keeps its fonts, and forget it."""
    import shutil

    folder = getattr(config, "_folder", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        config._folder = None  # type: ignore[attr-defined]


@contextmanager
def refusals(describe: Callable[[str], str] | None = None) -> Iterator[None]:
    """Turn a sandbox refusal, at layout or at PDF writing (attachments), into a located error."""
    from booklet.sandbox import RefusedResource

    try:
        yield
    except RefusedResource as exc:
        raise refused(exc.url, exc.reason, describe) from None


def refused(url: str, reason: str, describe: Callable[[str], str] | None = None) -> TypesetError:
    """The error for a reference the sandbox refused; it keeps ``url`` and ``reason`` (as ``refused``) to be told again.

    A worker process cannot always tell which source file holds the URL; the process that can tells it again.
    """
    error = TypesetError(
        f"{describe(url) if describe else 'the document'}: reference '{url}' is refused: {reason}",
        hint="use a file inside the project folder, with a path relative to the file that references it",
    )
    error.refused = (url, reason)  # type: ignore[attr-defined]
    return error


def render(
    html: str,
    *,
    base: Path,
    fetcher: SandboxFetcher,
    describe: Callable[[str], str] | None = None,
    reuse: Reuse | None = None,
    margin_boxes: bool = True,
) -> Document:
    """Lay out ``html``; a refused or missing resource stops with a located error.

    With ``reuse``, the fonts and the parsed stylesheets of earlier documents rendered with it are used again.
    With ``margin_boxes=False``, the pages get no margin boxes, whatever the stylesheets say, and none is laid out.
    """
    load_weasyprint()
    return on_a_deep_stack(_render, html, base=base, fetcher=fetcher, describe=describe, reuse=reuse, margin_boxes=margin_boxes)


def _render(
    html: str, *, base: Path, fetcher: SandboxFetcher, describe: Callable[[str], str] | None, reuse: Reuse | None, margin_boxes: bool
) -> Document:
    from weasyprint import HTML

    with refusals(describe), _no_margin_boxes() if not margin_boxes else contextlib.nullcontext():
        document = HTML(string=html, base_url=base.as_uri() + "/", url_fetcher=fetcher)
        if reuse is None:
            return document.render()
        with reuse.stylesheets():
            rendered = document.render(**reuse.shared)
        reuse.used = True
        reuse.freeze_profiles()
        return rendered


# Words of Python call frames a deep stack sets aside: with its own frame, they fill half of a
# 2 MiB chunk (CPython allocates a chunk of a power of two, with room for a thousand words more).
DEEP_STACK_WORDS = 2**17


def _on_a_deep_stack(function: Callable[..., Any], /, *args: Any, **options: Any) -> Any:
    return function(*args, **options)


def _deep_stack_caller() -> Callable[..., Any]:
    """``_on_a_deep_stack``, whose frame claims DEEP_STACK_WORDS of stack (CPython 3.11 and later)."""
    if sys.implementation.name != "cpython":
        return _on_a_deep_stack
    code = _on_a_deep_stack.__code__.replace(co_stacksize=DEEP_STACK_WORDS)
    return type(_on_a_deep_stack)(code, _on_a_deep_stack.__globals__, "on_a_deep_stack")


on_a_deep_stack = _deep_stack_caller()
on_a_deep_stack.__doc__ = """Call ``function(*args, **options)`` from a frame that sets a large stack of Python calls aside.

CPython keeps the frames of Python calls in chunks of 16 KiB, each mapped from the system when a
call needs a new one and unmapped as soon as that call returns. WeasyPrint lays boxes out and
draws them recursively, up and down across the end of a chunk: thousands of mappings for each
document, and a page fault for each fresh page of them, about a tenth of the time it takes. The
frame of this function's code claims a stack of DEEP_STACK_WORDS words, which it never uses:
its chunk is then large, and the calls made from it go in the rest of that chunk.
"""


class Reuse:
    """What a run of documents that share their stylesheets can share: fonts, counter styles, colour profiles, parsed CSS.

    Parsing the stylesheets and loading their fonts is a good part of the cost of a short document.
    A stylesheet is parsed once for a given text (or URL) and base; the fonts its ``@font-face``
    rules load stay in the one font configuration. Each stylesheet keeps its own ``@page`` rules,
    which WeasyPrint applies sheet after sheet in the order of the document, as it would the
    rules of all sheets in one list. The documents must not change the files the stylesheets
    name while a ``Reuse`` lives.
    """

    def __init__(self) -> None:
        load_weasyprint()
        from weasyprint.css.counters import CounterStyle
        from weasyprint.text.fonts import FontConfiguration

        self.shared: dict[str, object] = {"font_config": FontConfiguration(), "counter_style": CounterStyle(), "color_profiles": {}}
        self.sheets: dict[tuple[object, ...], object] = {}
        self.used = False  # whether a document was rendered with it
        self.owner = os.getpid()  # a forked worker shares the fonts' folder: only its maker removes it
        self.layered: set[tuple[object, ...]] = set()

    def close(self) -> None:
        """Remove the folder where the font configuration keeps the fonts it loaded.

        WeasyPrint removes it when the configuration is collected; a worker process ends without
        collecting, and at interpreter exit the removal fails, so it is done here, while all is well.
        """
        if os.getpid() == self.owner:
            _remove_font_folder(self.shared["font_config"])

    def freeze_profiles(self) -> None:
        """Keep each colour profile's bytes as first written: LittleCMS writes a profile that has been used differently."""
        from weasyprint.css import ColorProfile

        for profile in self.shared["color_profiles"].values():  # type: ignore[union-attr]
            if type(profile) is ColorProfile:
                profile.frozen_content = profile.content
                profile.__class__ = _frozen_profile_class()

    @contextmanager
    def stylesheets(self) -> Iterator[None]:
        """Serve the stylesheets a document finds (its <style> and <link> elements) from this cache."""
        import weasyprint
        import weasyprint.css

        real = weasyprint.CSS
        sheets, layered = self.sheets, self.layered

        def cached(*args: object, **options: object) -> object:
            # @import and other inner uses share their parent's matcher: not a sheet of its own.
            if args or "matcher" in options:
                return real(*args, **options)
            key = tuple(
                id(value) if name in ("font_config", "counter_style", "color_profiles", "url_fetcher") else value
                for name, value in sorted(options.items())
                if name not in ("page_rules", "layers")
            )
            if key in layered:
                return real(**options)
            if key not in sheets:
                sheet = real(**{**options, "page_rules": None, "layers": None})
                if sheet.layers:
                    # Cascade layers are ordered across all the sheets of a document: this one cannot stand alone.
                    layered.add(key)
                    return real(**options)
                sheets[key] = sheet
            return sheets[key]

        weasyprint.css.CSS = cached
        try:
            with _shared_page_styles():
                yield
        finally:
            weasyprint.css.CSS = real


@contextmanager
def _no_margin_boxes() -> Iterator[None]:
    """Lay pages out without their margin boxes.

    WeasyPrint makes all sixteen of a page's margin boxes, computes their styles and sizes, and
    only then drops those with no content: work for nothing on the pages of a part, whose running
    heads and folios are typeset apart.
    """
    import weasyprint.layout as layout

    real = layout.make_margin_boxes
    layout.make_margin_boxes = lambda context, page, state: ()
    try:
        yield
    finally:
        layout.make_margin_boxes = real


@contextmanager
def _shared_page_styles() -> Iterator[None]:
    """Compute the styles of each kind of page once per document, not once per page.

    WeasyPrint's page type holds the page's index, so it computes the page's style and its sixteen
    margin boxes' styles afresh for every page, though two pages that match the same ``@page``
    rules get the same styles. Here a page whose matching rules were seen before takes the styles
    computed for the first page that matched them.
    """
    import weasyprint.layout.page as page_layout

    real = page_layout.set_page_type_computed_styles

    def shared(page_type: object, html: object, style_for: Any) -> None:
        try:
            # Each matching selector, not just its rule: selectors of one rule add its declarations with their own weights.
            matched = tuple(
                (position, rule, index)
                for position, (sheet, _origin, _specificity) in enumerate(style_for._sheets)
                for rule, (_, selectors, _declarations) in enumerate(sheet.page_rules)
                for index, selector in enumerate(selectors)
                if style_for._page_type_match(selector[2], page_type)
            )
        except (AttributeError, TypeError, ValueError):
            # Another WeasyPrint than the one this was written for: every page computes its own styles.
            real(page_type, html, style_for)
            return
        seen = style_for.__dict__.setdefault("_booklet_page_styles", {})
        first = seen.get(matched)
        if first is None:
            real(page_type, html, style_for)
            styles = style_for.get_computed_styles()
            seen[matched] = (page_type, [pseudo for element, pseudo in list(styles) if element == page_type])
            return
        styles = style_for.get_computed_styles()
        model, pseudos = first
        for pseudo in pseudos:
            styles[page_type, pseudo] = styles[model, pseudo]

    page_layout.set_page_type_computed_styles = shared
    try:
        yield
    finally:
        page_layout.set_page_type_computed_styles = real


@functools.cache
def _frozen_profile_class() -> type:
    """WeasyPrint's colour profile, with the bytes it was first written with (one class, made once)."""
    from weasyprint.css import ColorProfile

    class Frozen(ColorProfile):
        @property
        def content(self) -> bytes:
            return self.frozen_content

    return Frozen


def pad_before_last(document: Document, padding: Document, count: int) -> Document:
    """Insert ``count`` pages of ``padding`` before the last page (the back cover)."""
    if count <= 0:
        return document
    pages = document.pages[:-1] + padding.pages[:count] + document.pages[-1:]
    return document.copy(pages)


def padding_needed(pages: int, multiple: int = 4) -> int:
    return -pages % multiple


def write_pdf(
    document: Document,
    *,
    identity: bytes,
    variant: str | None = None,
    describe: Callable[[str], str] | None = None,
    compress: bool = True,
) -> bytes:
    """PDF bytes with a stable /ID derived from ``identity``, so equal inputs give equal files.

    ``compress=False`` is for a part that will be joined to others: the join compresses each stream once.
    """
    digest = hashlib.sha256(identity).hexdigest()
    identifier = digest[:32].encode("ascii")
    options: dict[str, object] = {"pdf_identifier": identifier, "uncompressed_pdf": not compress}
    if variant:
        options["pdf_variant"] = variant
        # PDF/X and PDF/UA want an sRGB or CMYK intent, tags, metadata; WeasyPrint adds them for the variant.
    with refusals(describe):
        return on_a_deep_stack(document.write_pdf, finisher=functools.partial(_stable_document_id, digest=digest), **options)


DOCUMENT_ID = re.compile(rb"xmp\.did:[0-9a-fA-F-]+")


def xmp_document_id(digest: str) -> bytes:
    """The XMP DocumentID for the input digest ``digest`` (hexadecimal)."""
    return f"xmp.did:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}".encode()


def _stable_document_id(document: Document, pdf: object, *, digest: str) -> None:
    """Replace the random XMP DocumentID WeasyPrint writes with one derived from the inputs."""
    reference = pdf.catalog.get("Metadata")  # type: ignore[attr-defined]
    if reference is None:
        return
    stable = xmp_document_id(digest)
    for obj in pdf.objects:  # type: ignore[attr-defined]
        if getattr(obj, "reference", None) == reference and hasattr(obj, "stream"):
            obj.stream = [DOCUMENT_ID.sub(stable, part if isinstance(part, bytes) else str(part).encode()) for part in obj.stream]


MARK_LENGTH = 5.0  # mm of each crop mark
MARK_GAP = 1.0  # mm between the bleed's edge and a mark


def add_crop_marks(pdf: bytes, *, bleed: float) -> bytes:
    """Widen each page beyond its bleed and draw crop marks there, clear of the artwork.

    WeasyPrint's own ``marks`` are drawn inside the bleed, over the background; printers
    want them outside it. Lengths in millimetres.
    """
    import io

    import pypdf
    from pypdf.generic import ArrayObject, ContentStream, FloatObject, NameObject

    pt = 72 / 25.4
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    writer = pypdf.PdfWriter(clone_from=reader)
    start, end = (bleed + MARK_GAP) * pt, (bleed + MARK_GAP + MARK_LENGTH) * pt
    for page in writer.pages:
        x0, y0, x1, y1 = (float(v) for v in page.trimbox)
        box = ArrayObject(FloatObject(round(v, 4)) for v in (x0 - end - pt, y0 - end - pt, x1 + end + pt, y1 + end + pt))
        page[NameObject("/MediaBox")] = box
        if "/CropBox" in page:
            page[NameObject("/CropBox")] = box
        lines = []
        for x, y, sx, sy in ((x0, y0, -1, -1), (x1, y0, 1, -1), (x0, y1, -1, 1), (x1, y1, 1, 1)):
            lines.append(f"{x + sx * start:.3f} {y:.3f} m {x + sx * end:.3f} {y:.3f} l S")
            lines.append(f"{x:.3f} {y + sy * start:.3f} m {x:.3f} {y + sy * end:.3f} l S")
        # Registration colour (all four inks), a hairline; the page's own drawing is kept in q/Q.
        marks = ("\nQ\nq 1 1 1 1 K 0.25 w " + " ".join(lines) + " Q\n").encode("ascii")
        contents = page.get_contents()
        stream = ContentStream(None, writer)
        stream.set_data(b"q\n" + (contents.get_data() if contents is not None else b"") + marks)
        page.replace_contents(stream)
    if "/ID" in reader.trailer:
        writer._ID = reader.trailer["/ID"]  # keep the stable identifier WeasyPrint wrote
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
