"""Preflight: check a built PDF the way a printer would, and point each finding at its source."""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import html as html_module
import itertools
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from booklet.data import SCRIPT_FONTS
from booklet.errors import counted, display_path
from booklet.units import PT_PER_MM

if TYPE_CHECKING:
    from booklet.pdftext import Char, Page

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    """One problem: how bad, which check, what, where (source file, line, page) and how to fix it."""

    severity: str
    check: str
    message: str
    source: str | None = None
    page: int | None = None
    line: int | None = None
    hint: str | None = None

    def where(self) -> str:
        place = " ".join(filter(None, [self.source, f"line {self.line}" if self.line else None]))
        return ", ".join(filter(None, [place, f"page {self.page}" if self.page else None]))

    def text(self) -> str:
        where = self.where()
        first = f"{self.severity:<7} {self.check:<16} {where + ': ' if where else ''}{self.message}"
        return first + (f"\n{'':<25}fix: {self.hint}" if self.hint else "")


@dataclass(frozen=True)
class SourceMap:
    """Which source file made which page: section start pages from the PDF outline."""

    starts: tuple[tuple[int, str], ...]  # (first page, source), in page order
    pages: int

    def source_of(self, page: int) -> str:
        current = "the cover and front matter (layouts)"
        for start, source in self.starts:
            if page >= start:
                current = source
        if page == self.pages:
            return "the back cover (layouts)"
        return current

    def first_page(self, source: str) -> int | None:
        return next((start for start, name in self.starts if name == source), None)


@dataclass(frozen=True)
class Rules:
    """What the checks allow; lengths in millimetres."""

    edition: str = "print"
    safe_margin: float = 5.0
    gutter: float = 10.0
    min_ppi: float = 200.0
    good_ppi: float = 300.0
    multiple_of: int = 4
    expect_cmyk: bool = False
    fonts: frozenset[str] = frozenset()
    headings_font: str = ""
    base_font: str = ""
    base_size: float = 10.0


def run_preflight(
    pdf: Path,
    *,
    sections: list,
    html: str | None = None,
    rules: Rules = Rules(),
    glyph_fonts: dict[str, set[int]] | None = None,
    cache: Path | None = None,
    layers: Sequence[Sequence[Layer]] | None = None,
    section_starts: Sequence[tuple[int, str]] | None = None,
    ahead: Ahead | None = None,
) -> list[Finding]:
    """Every check, in the order a printer reads a report: file-wide first, then page by page.

    With ``cache`` (a file), what each page's checks saw is kept under a digest of what the page
    draws, so a rebuild checks again only the pages that changed. ``layers``, when the builder knows
    them, are what each page is drawn from (a typeset part's page, and the running heads and folios
    drawn over it): each layer is checked on its own, once for what made it, and a page's layers add
    up to what the page shows, so a page whose folio moved has only its folio checked again.
    ``section_starts``, when the builder knows them, are the first page of each section with its
    source; otherwise they are read from the outline. ``ahead`` holds layers read meanwhile (``check_layers_ahead``).
    """
    import pypdf

    reader = pypdf.PdfReader(pdf)
    if section_starts is not None:
        source_map = SourceMap(starts=tuple(sorted(section_starts)), pages=len(reader.pages))
    else:
        source_map = _source_map(reader, sections)
    findings: list[Finding] = []
    pages_text: list[str] = []
    page_fonts: list[set[str]] = []
    page_findings: list[Finding] = []
    colour_findings: list[Finding] = []
    known = _load_page_cache(cache)
    count = len(reader.pages)
    # What needs no page's facts is checked first: the workers may still be reading the layers.
    page_count = _check_page_count(reader, rules)
    boxes = _check_boxes(reader)
    section_findings = _check_sections(sections, rules, source_map)
    link_findings = _check_links(html, sections) if html is not None else []
    if layers is not None and len(layers) == count:
        seen, kept = _layered(layers, rules, known, ahead)
    else:
        checked = _pages(pdf, count, rules, source_map, known, keyed=cache is not None, reader=reader)
        seen, kept = [facts for _, facts in checked], dict(checked)
    if cache is not None:
        _store_page_cache(cache, kept)
    for number, facts in enumerate(seen, start=1):
        found, colour = _page_findings(facts, number, rules, source_map.source_of(number))
        pages_text.append(facts.text)
        page_fonts.append(set(facts.fonts))
        page_findings += found
        colour_findings += colour
    findings += page_count
    findings += _check_fonts(reader, rules, source_map, page_fonts)
    findings += boxes
    findings += colour_findings
    findings += page_findings
    findings += section_findings
    findings += link_findings
    if glyph_fonts:
        findings += _check_glyphs(sections, glyph_fonts, pages_text)
    return findings


@dataclass(frozen=True)
class Layer:
    """One layer of a page as the builder made it: page ``index`` of the PDF of the typeset part named ``key``."""

    key: str
    pdf: bytes = field(repr=False, compare=False)
    index: int


@dataclass(frozen=True)
class PageFacts:
    """What the checks saw on a page, or on one layer of it, before it is told as findings of a page.

    The layers of a page add up (``+``) to what the whole page shows.
    """

    text: str = ""
    fonts: frozenset[str] = frozenset()
    outside: int = 0  # characters beyond the trim
    near_trim: int = 0  # characters inside the trim but closer to it than the safe margin
    near_fold: int = 0  # characters within the gutter, on a folded page
    images: tuple[tuple[tuple[int, int], float, float], ...] = ()  # each image's pixels and placed size in inches
    heading: str | None = None  # the text of a heading left as the last line of the page
    rgb: bool = False  # the page's drawing sets an RGB colour
    rgb_images: tuple[str, ...] = ()  # the names of its RGB images

    def __add__(self, other: PageFacts) -> PageFacts:
        return PageFacts(
            self.text + other.text,
            self.fonts | other.fonts,
            self.outside + other.outside,
            self.near_trim + other.near_trim,
            self.near_fold + other.near_fold,
            self.images + other.images,
            self.heading or other.heading,
            self.rgb or other.rgb,
            self.rgb_images + other.rgb_images,
        )


PAGES_PER_WORKER = 40  # fewer pages than this are checked in this process
PAGE_CHECKS = "3"  # part of every page's key: change it when the page checks change


def _pages(
    pdf: Path, count: int, rules: Rules, source_map: SourceMap, known: dict, *, keyed: bool, reader: Any = None
) -> list[tuple[str, PageFacts]]:
    """Each whole page's facts, or what ``known`` holds for a page that draws the same; many pages in worker processes."""
    from booklet import parts

    todo = list(range(1, count + 1))
    workers = min(parts.workers(), len(todo) // PAGES_PER_WORKER)
    if workers <= 1:
        checked = _check_pages(pdf, todo, count, rules, source_map, known, keyed, reader)
    else:
        shares = [todo[index::workers] for index in range(workers)]
        with parts.pool_of(workers) as pool:
            results = pool.map(_check_pages, *zip(*[(pdf, share, count, rules, source_map, known, keyed) for share in shares], strict=True))
            checked = {number: result for share in results for number, result in share.items()}
    return [checked[number] for number in range(1, count + 1)]


def _check_pages(
    pdf: Path,
    numbers: Sequence[int],
    count: int,
    rules: Rules,
    source_map: SourceMap,
    known: dict,
    keyed: bool,
    reader: Any = None,
) -> dict[int, tuple[str, PageFacts]]:
    """The pages ``numbers``: a page is read (with pdfium) only when ``known`` has nothing for its key.

    ``reader``, the PDF already opened with pypdf in this process, saves reading its page tree again.
    """
    import pypdf

    from booklet.pdftext import Document

    reader = reader or pypdf.PdfReader(pdf)
    out: dict[int, tuple[str, PageFacts]] = {}
    with Document(pdf) as doc:
        for number in numbers:
            key = _page_key(reader.pages[number - 1], number, count, rules, source_map) if keyed else ""
            if key in known:
                out[number] = (key, known[key])
                continue
            how = _how(number, count, rules)
            out[number] = (key, _read_facts(doc, number - 1, how, rules, reader))
    return out


def _how(number: int, count: int, rules: Rules, *, top: bool = True) -> tuple[bool, bool, bool, bool]:
    """How page ``number`` is judged: a verso?, folded?, checked for a lone heading?, for colour?

    A layer drawn over a page (``top=False``: running heads and folios) is not checked for either;
    a whole page's colour check does not look into the drawings it places either.
    """
    return (number % 2 == 0, number not in (1, count), top and bool(rules.headings_font) and 1 < number < count, top and rules.expect_cmyk)


def _read_facts(doc: Any, index: int, how: tuple[bool, bool, bool, bool], rules: Rules, reader: Any) -> PageFacts:
    verso, folded, heading, colour = how
    page = doc.page(index)
    try:
        return _page_facts(page, verso=verso, folded=folded, rules=rules, heading=heading, drawn=reader.pages[index] if colour else None)
    finally:
        page.close()


def _plan(
    layers: Sequence[Sequence[Layer]], rules: Rules, known: dict
) -> tuple[list[list[str]], list[tuple[bytes, tuple[tuple[str, tuple[int, tuple[bool, bool, bool, bool]]], ...]]]]:
    """Each page's layer keys, and the layers to read (those ``known`` has nothing for), one job per typeset part."""
    count, judged = len(layers), _judged(rules)
    keys: list[list[str]] = []
    todo: dict[str, tuple[bytes, dict[str, tuple[int, tuple[bool, bool, bool, bool]]]]] = {}
    for number, page_layers in enumerate(layers, start=1):
        keys.append([])
        for depth, layer in enumerate(page_layers):
            how = _how(number, count, rules, top=depth == 0)
            key = hashlib.sha256(repr((PAGE_CHECKS, "layer", layer.key, layer.index, how, judged)).encode()).hexdigest()
            keys[-1].append(key)
            if key not in known:
                todo.setdefault(layer.key, (layer.pdf, {}))[1][key] = (layer.index, how)
    return keys, [(pdf, tuple(wanted.items())) for pdf, wanted in todo.values()]


@dataclass(frozen=True)
class Ahead:
    """Layers read in the build's workers while the builder goes on (it joins the pages meanwhile)."""

    futures: tuple[concurrent.futures.Future[dict[str, PageFacts]], ...]
    keys: frozenset[str] = frozenset()  # the layers being read
    known: dict[str, PageFacts] = field(default_factory=dict, repr=False, compare=False)  # the page cache they were planned with

    def facts(self) -> dict[str, PageFacts]:
        out: dict[str, PageFacts] = {}
        for future in self.futures:
            out.update(future.result())
        return out


def check_layers_ahead(
    layers: Sequence[Sequence[Layer]], *, rules: Rules, cache: Path | None, reading: Ahead | None = None
) -> Ahead | None:
    """Start reading the layers the page cache ``cache`` has nothing for, in the build's early workers if it has them.

    ``layers`` may leave out layers not made yet (an empty sequence for a page whose layers are
    all to come). ``reading``, what an earlier call started, is not read again: the result holds it too.
    ``run_preflight`` takes what they read for the layers it would read; what does not match (a
    layer, a rule or the page count changed) it reads itself.
    """
    from booklet import parts

    pool = parts.early_pool()
    if pool is None:
        return reading
    known = reading.known if reading is not None else _load_page_cache(cache)
    _, jobs = _plan(layers, rules, known)
    started = reading.keys if reading is not None else frozenset()
    jobs = [(pdf, tuple(item for item in wanted if item[0] not in started)) for pdf, wanted in jobs]
    jobs = [(pdf, wanted) for pdf, wanted in jobs if wanted]
    if not jobs:
        return reading
    # However few the pages: the workers are idle during the join, this process is not.
    futures = tuple(pool.submit(_check_layers, pdf, wanted, rules) for pdf, wanted in jobs)
    keys = frozenset(key for _, wanted in jobs for key, _ in wanted)
    if reading is not None:
        return Ahead(reading.futures + futures, reading.keys | keys, known)
    return Ahead(futures, keys, known)


def _layered(
    layers: Sequence[Sequence[Layer]], rules: Rules, known: dict, ahead: Ahead | None = None
) -> tuple[list[PageFacts], dict[str, PageFacts]]:
    """Each page's facts as the sum of its layers', each layer read only when ``known`` (or ``ahead``) has nothing for it."""
    from booklet import parts

    keys, jobs = _plan(layers, rules, known)
    checked: dict[str, PageFacts] = ahead.facts() if ahead is not None else {}
    jobs = [(pdf, wanted) for pdf, wanted in jobs if any(key not in checked for key, _ in wanted)]
    pages = sum(len(wanted) for _, wanted in jobs)
    workers = min(parts.workers(), pages // PAGES_PER_WORKER, len(jobs))
    if workers <= 1:
        for pdf, wanted in jobs:
            checked.update(_check_layers(pdf, wanted, rules))
    else:
        with parts.pool_of(workers) as pool:
            for result in pool.map(_check_layers, *zip(*jobs, strict=True), itertools.repeat(rules)):
                checked.update(result)
    kept = {key: known.get(key) or checked[key] for page_keys in keys for key in page_keys}
    return [sum((kept[key] for key in page_keys), start=PageFacts()) for page_keys in keys], kept


def _check_layers(
    pdf: bytes, wanted: Sequence[tuple[str, tuple[int, tuple[bool, bool, bool, bool]]]], rules: Rules
) -> dict[str, PageFacts]:
    """The facts of the pages of one typeset part that ``wanted`` names by key."""
    import io

    import pypdf

    from booklet.pdftext import Document

    reader = pypdf.PdfReader(io.BytesIO(pdf)) if any(how[3] for _, (_, how) in wanted) else None
    with Document(pdf) as doc:
        return {key: _read_facts(doc, index, how, rules, reader) for key, (index, how) in wanted}


def _judged(rules: Rules) -> tuple[object, ...]:
    return tuple((key, sorted(value) if isinstance(value, (set, frozenset)) else value) for key, value in asdict(rules).items())


def _page_key(page: Any, number: int, pages: int, rules: Rules, source_map: SourceMap) -> str:
    """A digest of what a page draws (its content and forms, with their resources) and of how it is judged."""
    digest = hashlib.sha256(repr((PAGE_CHECKS, number, pages, _judged(rules), source_map.source_of(number))).encode())
    seen: set[int] = set()

    def data(stream: Any) -> bytes:
        # The bytes as stored, filter and all: as telling as the decoded ones, without decoding them.
        raw = getattr(stream, "_data", None)
        return raw if isinstance(raw, bytes) else stream.get_data()

    def take(obj: Any) -> None:
        obj = obj.get_object()
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if hasattr(obj, "get_data"):
            digest.update(repr(obj.get("/Filter")).encode() + data(obj))
        resources = obj.get("/Resources")
        if resources is None:
            return
        resources = resources.get_object()
        for name in ("/Font", "/XObject"):
            for key, value in sorted((resources.get(name) or {}).items()):
                digest.update(key.encode())
                target = value.get_object()
                if name == "/XObject":
                    take(value)
                else:
                    digest.update(str(target.get("/BaseFont")).encode())

    contents = page.get("/Contents")
    for stream in (contents.get_object() if isinstance(contents.get_object(), list) else [contents]) if contents is not None else []:
        stream = stream.get_object()
        digest.update(repr(stream.get("/Filter")).encode() + data(stream))
    take(page)
    return digest.hexdigest()


def _load_page_cache(path: Path | None) -> dict[str, PageFacts]:
    import pickle

    if path is None:
        return {}
    try:
        value = pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return {}
    return value if isinstance(value, dict) else {}


def _store_page_cache(path: Path, pages: dict[str, PageFacts]) -> None:
    import pickle

    from booklet.output import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, pickle.dumps(pages, protocol=pickle.HIGHEST_PROTOCOL), sync=False)


def summary(findings: list[Finding]) -> str:
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    if not findings:
        return "clean"
    parts = [counted(errors, "error")] if errors else []
    parts += [counted(warnings, "warning")] if warnings else []
    return ", ".join(parts)


def report(findings: list[Finding], *, pdf: Path, pages: int, edition: str) -> str:
    """A plain-words report: errors first, then warnings, each in page order with how to fix it."""
    lines = [f"Preflight of {display_path(pdf)} ({edition} edition, {counted(pages, 'page')}): {summary(findings)}"]
    for severity, heading in (("error", "Errors: the printer would reject the file"), ("warning", "Warnings: worth fixing")):
        found = [f for f in findings if f.severity == severity]
        if not found:
            continue
        lines += ["", heading]
        # By file, then line and page: the content files are numbered, so this is reading order.
        for finding in sorted(found, key=lambda f: (f.source or "", f.line or 0, f.page or 0)):
            lines += ["  " + text for text in finding.text().splitlines()]
    return "\n".join(lines)


def as_json(findings: list[Finding]) -> str:
    return json.dumps([asdict(f) for f in findings], indent=2, ensure_ascii=False)


# ---- file-wide checks ------------------------------------------------------


def _check_page_count(reader, rules: Rules) -> list[Finding]:
    count = len(reader.pages)
    if rules.multiple_of > 1 and count % rules.multiple_of:
        return [
            Finding(
                "error",
                "page-count",
                f"{count} pages is not a multiple of {rules.multiple_of}; a saddle-stitched booklet is printed {rules.multiple_of} pages to a sheet",
                "booklet.toml",
                hint=f"add {-count % rules.multiple_of} page(s) or remove {count % rules.multiple_of}; `booklet build` pads before the back cover, so build the file again with it",
            )
        ]
    return []


def _font_name(name: str) -> str:
    return re.sub(r"^[A-Z]{6}\+", "", name.lstrip("/"))


def _check_fonts(reader, rules: Rules, source_map: SourceMap, page_fonts: list[set[str]] | None = None) -> list[Finding]:
    findings = []
    seen: set[str] = set()
    for resource_index, page in enumerate(reader.pages):
        resources = page.get("/Resources") or {}
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            name = _font_name(str(font.get("/BaseFont", "?")))
            if name in seen:
                continue
            seen.add(name)
            # Pages may share one resource list: name the first page whose text is set in the font.
            index = next((i for i, names in enumerate(page_fonts or []) if name in names), resource_index)
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                findings.append(
                    Finding(
                        "error",
                        "font-embedding",
                        f"font '{name}' is not embedded; the printer would substitute it",
                        source_map.source_of(index + 1),
                        index + 1,
                        hint="use only the fonts the brand names, from font files in the project; build the file again with `booklet build`",
                    )
                )
            family = name.split("-")[0].replace(" ", "").lower()
            if rules.fonts and not any(
                family.startswith(f.replace(" ", "").lower()[: len(family)]) or f.replace(" ", "").lower().startswith(family)
                for f in rules.fonts
            ):
                findings.append(
                    Finding(
                        "warning",
                        "font-fallback",
                        f"font '{name}' is not one of the brand's ({', '.join(sorted(rules.fonts))}); some characters fell back to a font of this machine",
                        source_map.source_of(index + 1),
                        index + 1,
                        hint="see the missing-glyph findings for the characters; add a font that has them to the brand, or write them another way",
                    )
                )
    return findings


def _check_boxes(reader) -> list[Finding]:
    findings = []
    for index, page in enumerate(reader.pages):
        if "/TrimBox" not in page:
            findings.append(
                Finding(
                    "error",
                    "trim-box",
                    "page has no TrimBox; the printer cannot tell where to cut",
                    None,
                    index + 1,
                    hint="make the print edition with `booklet build`, which marks the trim and the bleed on every page",
                )
            )
    return findings


_RGB_OPERATOR = re.compile(rb"(?:^|\s)(?:[-\d.]+\s+){3}(?:rg|RG)(?:\s|$)")


def _colour(page: Any) -> tuple[bool, tuple[str, ...]]:
    """Whether a page's drawing (pypdf's page) sets an RGB colour, and the names of its RGB images."""
    contents = page.get_contents()
    data = contents.get_data() if contents is not None else b""
    resources = page.get("/Resources") or {}
    rgb_images = []
    for name, xobject in (resources.get("/XObject") or {}).items():
        xobject = xobject.get_object()
        if xobject.get("/Subtype") == "/Image" and "RGB" in str(xobject.get("/ColorSpace", "")):
            rgb_images.append(str(name))
    # The operator's name first: a search for it is quick, the expression's is not.
    rgb = (b"rg" in data or b"RG" in data) and _RGB_OPERATOR.search(data) is not None
    return rgb or b"/DeviceRGB" in data, tuple(rgb_images)


# ---- page checks -----------------------------------------------------------


def _page_facts(page: Page, *, verso: bool, folded: bool, rules: Rules, heading: bool = False, drawn: Any = None) -> PageFacts:
    """What the checks see on ``page`` (pdfium's), a verso or not, folded or not; its colour from ``drawn`` (pypdf's), if given."""
    x0, top, x1, bottom = page.trim
    safe = rules.safe_margin * PT_PER_MM
    gutter = rules.gutter * PT_PER_MM
    near_trim = near_fold = outside = 0
    # Only characters this close to an edge can count, and only they are measured exactly.
    inner, outer = (max(safe, gutter), safe) if folded else (safe, safe)
    left, right = (outer, inner) if verso else (inner, outer)
    for char in page.chars_near_edges(left, right, safe, safe):
        if char.x1 < x0 or char.x0 > x1 or char.bottom < top or char.top > bottom:
            outside += 1
        elif min(char.x0 - x0, x1 - char.x1, char.top - top, bottom - char.bottom) < safe:
            near_trim += 1
        elif folded and ((verso and x1 - char.x1 < gutter) or (not verso and char.x0 - x0 < gutter)):
            near_fold += 1
    images = tuple(
        (image.pixels, (image.x1 - image.x0) / 72, (image.bottom - image.top) / 72)
        for image in page.images
        if image.x1 > image.x0 and image.bottom > image.top and image.pixels[0]
    )
    rgb, rgb_images = _colour(drawn) if drawn is not None else (False, ())
    return PageFacts(
        page.text,
        frozenset(_font_name(name) for name in page.fonts),
        outside,
        near_trim,
        near_fold,
        images,
        _lone_heading(page, rules) if heading else None,
        rgb,
        rgb_images,
    )


def _page_findings(facts: PageFacts, number: int, rules: Rules, source: str) -> tuple[list[Finding], list[Finding]]:
    """What a page's facts say: its findings, and apart from them its colour findings."""
    findings: list[Finding] = []
    if facts.outside:
        findings.append(
            Finding(
                "error",
                "overflow",
                f"{facts.outside} character(s) lie outside the trimmed page: content overflows its box and is clipped or pushed off",
                source,
                number,
                hint="break up the long word, link or table on that page, or give its box more room",
            )
        )
    if facts.near_trim:
        findings.append(
            Finding(
                "error",
                "safe-area",
                f"{facts.near_trim} character(s) closer than {rules.safe_margin:g} mm to the trim; they may be cut off",
                source,
                number,
                hint=f"keep text at least {rules.safe_margin:g} mm inside the page edge: check [page.margins] in booklet.toml and negative margins or positions in templates/*.css",
            )
        )
    if facts.near_fold:
        findings.append(
            Finding(
                "warning",
                "safe-area",
                f"{facts.near_fold} character(s) within {rules.gutter:g} mm of the fold; they may disappear into the binding",
                source,
                number,
                hint="widen the inner margin ([page.margins] inner in booklet.toml) or move the text away from the fold",
            )
        )
    for pixels, width_in, height_in in facts.images:
        # Rounded as shown: an image resampled to exactly 300 ppi measures 299.9 once placed.
        ppi = round(min(pixels[0] / width_in, pixels[1] / height_in))
        larger = (
            f"use a larger original, at least {width_in * rules.good_ppi:.0f}×{height_in * rules.good_ppi:.0f} px for "
            f"{rules.good_ppi:.0f} ppi at this size, or place the image smaller"
        )
        if ppi < rules.min_ppi:
            findings.append(
                Finding(
                    "error",
                    "image-resolution",
                    f"an image is {ppi:.0f} ppi at its placed size ({pixels[0]}×{pixels[1]} px over {width_in * 25.4:.0f}×{height_in * 25.4:.0f} mm); printers reject under {rules.min_ppi:.0f} ppi: it would print blurred",
                    source,
                    number,
                    hint=larger,
                )
            )
        elif ppi < rules.good_ppi:
            findings.append(
                Finding(
                    "warning",
                    "image-resolution",
                    f"an image is {ppi:.0f} ppi at its placed size ({pixels[0]}×{pixels[1]} px over {width_in * 25.4:.0f}×{height_in * 25.4:.0f} mm); {rules.good_ppi:.0f} ppi is wanted for print",
                    source,
                    number,
                    hint=larger,
                )
            )
    if facts.heading is not None:
        findings.append(
            Finding(
                "warning",
                "lone-heading",
                f"heading '{facts.heading}' is the last line of the page, apart from its text",
                source,
                number,
                hint='shorten the text before it, or start it on the next page: end the heading line with {: style="break-before: page" }',
            )
        )
    colour = []
    if facts.rgb:
        colour.append(
            Finding(
                "error",
                "colour",
                "page sets RGB colour; the print edition must be CMYK",
                source,
                number,
                hint="in templates and stylesheets use the brand's colours (var(--brand-primary) and the others), which print as CMYK, not #hex or rgb() values",
            )
        )
    if facts.rgb_images:
        colour.append(
            Finding(
                "error",
                "colour",
                f"RGB image(s) {', '.join(facts.rgb_images)} left in the print edition",
                source,
                number,
                hint="`booklet build` makes every image file of the project CMYK; build the print edition again with it",
            )
        )
    return findings, colour


def _lone_heading(page: Page, rules: Rules) -> str | None:
    """The text of a heading left as the last line of a text page, its text on the next page; None if there is none."""

    def family(fontname: str) -> str:
        return re.sub(r"^[A-Z]{6}\+", "", fontname).replace("-", "").replace(" ", "").lower()

    heading = rules.headings_font.replace(" ", "").lower()
    base = rules.base_font.replace(" ", "").lower()
    if not any(family(name).startswith(base) for name in page.text_fonts):
        return None  # not a text page: a divider, a filler

    def folio(line: list[Char]) -> bool:
        return "".join(c.text for c in line).strip().isdigit()

    # Lines by the rounded top of their characters, read from the foot of the page up until the
    # lowest line that is not the folio is whole: no character still to come can round to its top.
    lines: dict[int, list[Char]] = {}
    for highest_to_come, char in page.chars_from_the_bottom():
        lines.setdefault(round(char.top), []).append(char)
        if max(lines) > highest_to_come + 1 and any(not folio(line) for top, line in lines.items() if top > highest_to_come + 1):
            break
    body = sorted(top for top, line in lines.items() if not folio(line))
    if not body:
        return None
    last = lines[body[-1]]
    trim = page.trim
    low = body[-1] > trim[1] + (trim[3] - trim[1]) * 0.6
    # A heading: set in the headings face and larger than the text (captions are smaller).
    if low and all(family(c.fontname).startswith(heading) and c.size > rules.base_size + 0.5 for c in last):
        return page.text_within(trim[0], body[-1] - 1, trim[2], body[-1] + max(c.size for c in last)).strip()
    return None


def _check_sections(sections: list, rules: Rules, source_map: SourceMap) -> list[Finding]:
    findings = []
    for section in sections:
        source = display_path(section.source)
        if not re.sub(r"<[^>]+>", "", section.html).strip():
            findings.append(
                Finding(
                    "warning",
                    "empty-section",
                    f"section '{section.title}' has no text",
                    source,
                    source_map.first_page(source),
                    _line_of(section, "title:"),
                    hint="write the section's text below its front matter, or take the file out of content/",
                )
            )
        for src in _images_without_alt(section.html):
            severity = "error" if rules.edition == "screen" else "warning"
            name = Path(unquote(urlsplit(src).path)).name
            findings.append(
                Finding(
                    severity,
                    "alt-text",
                    f"image '{name}' has no alt text; screen readers cannot describe it",
                    source,
                    line=_line_of(section, f"]({name}", name),
                    hint=f"say what the image shows between the brackets: ![what it shows]({name})",
                )
            )
    return findings


_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _check_links(html: str, sections: list) -> list[Finding]:
    """Links to an id that no element has, and links to files that are not there."""
    parser = _Anchors()
    parser.feed(html)
    findings = []
    for href in sorted(parser.hrefs - parser.ids):
        section = next((s for s in sections if f'href="#{href}"' in s.html), None)
        findings.append(
            Finding(
                "error",
                "broken-link",
                f"link to '#{href}' goes nowhere: no element has that id",
                display_path(section.source) if section else None,
                line=_line_of(section, f"(#{href}", f"#{href}") if section else None,
                hint="link to an id that exists; give the target heading one with a line such as '## Routes {#map-of-routes}'",
            )
        )
    for section in sections:
        links = _Anchors()
        links.feed(section.html)
        for href in links.files:
            # External addresses are the reader's to follow; a relative path, like an image's, is relative to the Markdown file.
            if _SCHEME.match(href) and not href.lower().startswith("file:"):
                continue
            path = unquote(urlsplit(href).path)
            if not path:
                continue
            project = _project_of(section.source)
            if href.lower().startswith("file:"):
                target = Path(path).resolve()
            else:
                target = ((project if path.startswith("/") else section.source.parent) / path.lstrip("/")).resolve()
            if not target.is_relative_to(project):
                problem, hint = (
                    "points outside the project folder",
                    "copy the file into the project and link to it with a path relative to this Markdown file, or link to a web address",
                )
            elif not target.exists():
                problem, hint = (
                    "points to a file that does not exist",
                    "correct the path (it is relative to this Markdown file), add the file to the project, or remove the link",
                )
            else:
                continue
            findings.append(
                Finding(
                    "error",
                    "broken-link",
                    f"the link '{href}' {problem}",
                    display_path(section.source),
                    line=_line_of(section, f"]({href}", href),
                    hint=hint,
                )
            )
    return findings


def _check_glyphs(sections: list, fonts: dict[str, set[int]], pages_text: list[str] | None = None) -> list[Finding]:
    """Characters of the text that none of the brand's fonts can draw."""
    covered = set().union(*fonts.values()) if fonts else set()
    findings = []
    for section in sections:
        text = html_module.unescape(re.sub(r"<[^>]+>", " ", section.html)) + " " + section.title
        missing = sorted({c for c in set(text) if not c.isspace() and ord(c) >= 32 and ord(c) not in covered})
        if missing:
            shown = ", ".join(f"'{c}' (U+{ord(c):04X})" for c in missing[:8])
            page = next((number for number, chars in enumerate(pages_text or [], start=1) if missing[0] in chars), None)
            findings.append(
                Finding(
                    "error",
                    "missing-glyph",
                    f"the brand's fonts have no glyph for {shown}; they would print as boxes or in another font",
                    display_path(section.source),
                    page,
                    _line_of(section, missing[0]),
                    hint="add a font that has them to the brand (its fonts: list), or write the text another way",
                )
            )
    return findings


def _project_of(source: Path) -> Path:
    """The project folder: the nearest one above ``source`` that holds booklet.toml."""
    source = source.resolve()
    return next((folder for folder in source.parents if (folder / "booklet.toml").is_file()), source.parent)


def _line_of(section, *needles: str) -> int | None:
    """The first line of the section's file holding a needle; the needles are tried in turn."""
    try:
        lines = section.source.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for needle in needles:
        for number, line in enumerate(lines, start=1):
            if needle in line:
                return number
    return None


class _Anchors(HTMLParser):
    """Ids, links to ids (``hrefs``) and other links (``files``, in order) of an HTML text."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: set[str] = set()
        self.files: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        if values.get("name") and tag == "a":
            self.ids.add(values["name"] or "")
        href = values.get("href") or ""
        if href.startswith("#") and len(href) > 1:
            self.hrefs.add(href[1:])
        elif tag == "a" and href and not href.startswith("#") and href not in self.files:
            self.files.append(href)


def _images_without_alt(html: str) -> list[str]:
    missing = []
    for tag in re.findall(r"<img\b[^>]*>", html, re.IGNORECASE):
        alt = re.search(r"""\balt\s*=\s*(["'])(.*?)\1""", tag, re.DOTALL)
        if not alt or not alt[2].strip():
            src = re.search(r"""\bsrc\s*=\s*(["'])(.*?)\1""", tag, re.DOTALL)
            missing.append(src[2] if src else "?")
    return missing


def _source_map(reader, sections: list) -> SourceMap:
    by_title = {section.title: display_path(section.source) for section in sections}
    starts = []
    for item in reader.outline:
        if isinstance(item, list):
            continue
        source = by_title.get(item.title)
        if source:
            starts.append((reader.get_destination_page_number(item) + 1, source))
    return SourceMap(starts=tuple(sorted(starts)), pages=len(reader.pages))


def font_coverage(paths: list[Path], *, cache: Path | None = None) -> dict[str, set[int]]:
    """Code points each font file covers, read with fontTools once per file and version.

    A long-lived process keeps them; with ``cache`` (a file), so does the next build.
    """
    import pickle

    from booklet.output import write_cache

    known: dict[tuple[str, int, int], set[int]] = {}
    if cache is not None:
        try:
            known = pickle.loads(cache.read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
            known = {}
    coverage = {}
    missing = False
    for path in paths:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in known:
            known[key] = _cmap(*key)
            missing = True
        coverage[path.name] = known[key]
    if cache is not None and missing:
        # Only the fonts asked for now: an old version of a font is not kept.
        wanted = {key: value for key, value in known.items() if Path(key[0]).name in coverage}
        write_cache(cache, pickle.dumps(wanted, protocol=pickle.HIGHEST_PROTOCOL))
    return coverage


@functools.lru_cache(maxsize=64)
def _cmap(path: str, size: int, mtime: int) -> set[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as font:
        return set(font.getBestCmap() or {})


def rules_for(brand, *, edition: str, expect_cmyk: bool) -> Rules:
    """The rules an edition is checked by: its brand's fonts and sizes, and the press's rules for print."""
    # The script fonts booklet declares after the brand's are as good as the brand's own.
    families = {brand.base_family, brand.headings_family, *SCRIPT_FONTS}
    printed = edition == "print"
    # Resolution and page count are press rules; the screen edition is downsampled to 150 ppi on purpose.
    return Rules(
        edition=edition,
        expect_cmyk=expect_cmyk,
        fonts=frozenset(families),
        multiple_of=4 if printed else 1,
        min_ppi=200.0 if printed else 0.0,
        good_ppi=300.0 if printed else 0.0,
        headings_font=brand.headings_family,
        base_font=brand.base_family,
        base_size=brand.base_size,
    )


def check_output(
    pdf: Path,
    *,
    brand,
    sections: list,
    html: str,
    edition: str = "print",
    expect_cmyk: bool = False,
    cache: Path | None = None,
    layers: Sequence[Sequence[Layer]] | None = None,
    section_starts: Sequence[tuple[int, str]] | None = None,
    coverage_cache: Path | None = None,
    ahead: Ahead | None = None,
) -> list[Finding]:
    """Preflight a built edition with the rules its brand and edition imply."""
    rules = rules_for(brand, edition=edition, expect_cmyk=expect_cmyk)
    faces = [face.path for face in brand.fonts if face.family in rules.fonts]
    return run_preflight(
        pdf,
        sections=sections,
        html=html,
        rules=rules,
        glyph_fonts=font_coverage(faces, cache=coverage_cache) if faces else None,
        cache=cache,
        layers=layers,
        section_starts=section_starts,
        ahead=ahead,
    )
