"""Typesetting in parts: each part of the publication laid out in a worker process, cached on disk, then joined.

A part (the front matter, a section, the timeline, the back cover) always begins on a page
side its first element forces, so its layout depends on that side alone, never on where in the
publication it falls. Parts are typeset with their running heads and folios switched off; those
are drawn afterwards by a light "furniture" document that reproduces each page's page type and
strings with empty stand-ins, so an edit that moves the later pages re-typesets only furniture.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import io
import itertools
import logging
import math
import multiprocessing
import multiprocessing.util
import os
import pickle
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from booklet import subsets
from booklet.errors import BookletError
from booklet.output import write_atomic

log = logging.getLogger(__name__)

# booklet.html puts one of these before each part: its name, and the side its first page falls on.
MARK = re.compile(r"<!--booklet:part (\S+) (first|left|right)-->")
FORMAT = "3"  # bump when what a cached part holds changes

MARGIN_BOXES = [
    "top-left-corner",
    "top-left",
    "top-center",
    "top-right",
    "top-right-corner",
    "bottom-left-corner",
    "bottom-left",
    "bottom-center",
    "bottom-right",
    "bottom-right-corner",
    "left-top",
    "left-middle",
    "left-bottom",
    "right-top",
    "right-middle",
    "right-bottom",
]

# A part is typeset without furniture; the furniture document without anything else.
NO_FURNITURE = "@page { " + " ".join(f"@{box} {{ content: none !important; }}" for box in MARGIN_BOXES) + " }"
FURNITURE_ONLY = """
@page { background: none !important; }
html, body { background: none !important; }
.booklet-stand-in { height: 0; margin: 0; padding: 0; border: 0; }
"""
# Pages ahead of a part that put its first page on the side it wants; dropped after layout.
SPACER_STYLE = """
@page booklet-spacer { background: none; }
.booklet-spacer { page: booklet-spacer; break-after: page; height: 0; margin: 0; }
.booklet-anchor { position: absolute; width: 0; height: 0; }
"""


class PartsUnsupported(Exception):
    """The layout cannot be typeset in parts (a marker is missing or a part starts on an unforced side)."""


@dataclass(frozen=True)
class Part:
    """One part of the publication's HTML body."""

    name: str
    side: str  # "first" (it opens the publication), "left" or "right"
    body: str


@dataclass(frozen=True)
class Split:
    """The publication's HTML cut into its parts, with the head and tail they all share."""

    head: str
    tail: str
    parts: tuple[Part, ...]

    def part(self, name: str) -> Part | None:
        return next((part for part in self.parts if part.name == name), None)

    def document(self, body: str, *, style: str = "") -> str:
        head = self.head.replace("</head>", f"<style>{style}</style>\n</head>", 1) if style else self.head
        return head + body + self.tail


def split(html: str) -> Split:
    """Cut ``html`` at its part markers; nothing but blank space may come before the first."""
    marks = list(MARK.finditer(html))
    body_end = html.rfind("</body>")
    if not marks or body_end < marks[-1].end():
        raise PartsUnsupported("booklet.html has no part markers")
    head = html[: marks[0].start()]
    if not re.search(r"<body\b[^>]*>\s*$", head):
        raise PartsUnsupported("something comes before the first part marker")
    parts = []
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        end = after.start() if after is not None else body_end
        parts.append(Part(mark[1], mark[2], html[mark.end() : end]))
    if len({part.name for part in parts}) != len(parts):
        raise PartsUnsupported("two parts have the same name")
    return Split(head, html[body_end:], tuple(parts))


PART_ANCHOR = "booklet-part-"
_FIRST_TAG = re.compile(r"<[a-zA-Z][^>]*>")


def with_marker(part: Part) -> str:
    """The part's body with an anchor on its first page, so the pages of a group of parts can be told apart."""
    marker = f'<span class="booklet-anchor" id="{PART_ANCHOR}{part.name}"></span>'
    first = _FIRST_TAG.search(part.body)
    if first is None:
        raise PartsUnsupported(f"part {part.name} has no element")
    return part.body[: first.end()] + marker + part.body[first.end() :]


def workers() -> int:
    """Worker processes: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def chunks(sections: Sequence[Part], *, workers: int) -> list[list[Part]]:
    """Consecutive sections grouped into documents, at least sixteen for each worker: one section each, as a rule.

    Every group holds the same number of sections, a power of two, chosen from the number of
    sections alone: an edit that lengthens a section moves no group's bounds, so the others stay
    cached. Many small documents balance the workers and make an edit's document short; a
    worker's documents share their fonts and parsed stylesheets, so each costs little more than
    its pages (about 0.03 s), and only a publication of many short sections has them grouped.
    """
    size = 1 << max(0, math.ceil(math.log2(max(len(sections), 1) / (workers * 16))))
    return [list(sections[i : i + size]) for i in range(0, len(sections), size)]


def slices(typeset: Typeset, names: Sequence[str]) -> dict[str, Slice]:
    """Each named part's pages in a typeset group, without the blank pages a part's forced side left before the next."""
    starts = []
    for name in names:
        page = typeset.page_of(PART_ANCHOR + name)
        if page is None:
            raise PartsUnsupported(f"part {name} cannot be found in its typeset group")
        starts.append(page)
    out = {}
    for index, name in enumerate(names):
        end = starts[index + 1] if index + 1 < len(names) else len(typeset.pages)
        while end - 1 > starts[index] and typeset.pages[end - 1].blank:
            end -= 1
        out[name] = Slice(typeset, starts[index], end - starts[index])
    return out


SMALLEST_RUN = 32  # pages of furniture typeset in one document


def runs(bounds: Sequence[int], total: int) -> list[tuple[int, int]]:
    """Runs of whole parts (``bounds`` are where parts start) of at least SMALLEST_RUN pages, for the furniture."""
    out = []
    first = 0
    for bound in [*bounds[1:], total]:
        if bound - first >= SMALLEST_RUN or bound == total:
            if bound > first:
                out.append((first, bound))
            first = bound
    return out


# ---- What a worker makes ---------------------------------------------------------


@dataclass(frozen=True)
class PageInfo:
    """What the furniture of one typeset page depends on."""

    name: str
    side: str
    blank: bool
    strings: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Typeset:
    """One typeset part: its PDF and what the builder needs to place it and draw its furniture."""

    pdf: bytes
    pages: tuple[PageInfo, ...]
    anchors: tuple[tuple[str, int], ...]  # each anchor the part holds, with its page (from 0)
    images: dict[str, tuple[str, float]] = field(default_factory=dict)
    key: str = ""  # the job's key: everything the part was made from

    def page_of(self, anchor: str) -> int | None:
        return next((page for name, page in self.anchors if name == anchor), None)


@dataclass(frozen=True)
class Job:
    """A document for a worker to typeset; the first ``spacers`` pages are dropped."""

    key: str
    html: str
    spacers: int
    side: str = "first"
    furniture: bool = False  # a furniture document: no images to prepare, no side to check
    whole: bool = False  # furniture and all, as typeset (blank and padding pages); check nothing
    keep: int | None = None  # how many pages to keep after the spacers (all when None)
    stand_ins: tuple[str, ...] = ()  # anchors that only stand in for another part's


@dataclass(frozen=True)
class Setup:
    """What every worker process needs, set once when it starts."""

    base: Path
    roots: tuple[Path, ...]
    cache: Path
    variant: str | None
    max_ppi: float
    cmyk: bool
    profile: Path | None
    intent: str
    # Names the source file that holds a URL, for errors (workers are forked, so this need not pickle).
    describe: Callable[[str], str] | None = None
    # A digest of the documents' head and of every file it names (stylesheets, fonts): while it is the
    # same, parsed stylesheets and loaded fonts are still good, from one build to the next.
    head: str = ""


_setup: Setup | None = None
_fetcher: Any = None
_reuse: Any = None  # fonts and parsed stylesheets, shared by the documents a worker typesets


_kept: dict[tuple[object, ...], tuple[Any, Any]] = {}  # (head, roots, cache) -> (fetcher, reuse), the newest last
KEPT = 4  # heads kept: a build makes an edition or two of each look


def _start_worker(setup: Setup) -> None:
    """Take ``setup`` for the jobs to come. What they share is made for the first: a worker may get none,
    and what it takes to make (WeasyPrint, slow to import) is then never loaded."""
    global _setup, _fetcher, _reuse
    _setup, _fetcher, _reuse = setup, None, None
    global _closing_in
    if _closing_in != os.getpid():
        # Run as this process ends, worker or not (a worker ends without collecting what it holds;
        # a forked worker starts with its parent's registry of such calls emptied).
        multiprocessing.util.Finalize(None, _close_all, exitpriority=10)
        _closing_in = os.getpid()


def _ready() -> None:
    """The fetcher and the fonts and stylesheets the jobs of this setup share, made or found among those kept."""
    global _fetcher, _reuse
    if _fetcher is not None:
        return
    from booklet.sandbox import SandboxFetcher
    from booklet.typeset import Reuse

    setup = _setup
    assert setup is not None
    key = (setup.head, setup.roots, setup.cache)
    if setup.head and key in _kept:
        # A long-lived process (watch, the preview) keeps what it parsed and loaded for the same head.
        _fetcher, _reuse = _kept.pop(key)
    else:
        _fetcher, _reuse = SandboxFetcher(list(setup.roots), cache=setup.cache), Reuse()
    if setup.head:
        _kept[key] = (_fetcher, _reuse)
        while len(_kept) > KEPT:
            _kept.pop(next(iter(_kept)))[1].close()


_closing_in: int | None = None  # the process that will close what it kept
_to_warm: dict[str, tuple[Setup, tuple[Job, ...]]] = {}  # by head: documents of the last build, to warm a process with


def remember(setup: Setup, jobs: Sequence[Job]) -> None:
    """Note documents of this build that ``warm_up`` may typeset again."""
    if setup.head:
        _to_warm.pop(setup.head, None)
        _to_warm[setup.head] = (setup, tuple(jobs))
        while len(_to_warm) > KEPT:
            _to_warm.pop(next(iter(_to_warm)))


def warm_up() -> None:
    """Typeset again, and throw away, documents of the last build whose fonts and stylesheets this process has not loaded.

    A long-lived process (watch, the preview) whose first build found every part in the cache
    would otherwise load them on the first edit, which then takes a second more.
    """
    for setup, jobs in list(_to_warm.values()):
        kept = _kept.get((setup.head, setup.roots, setup.cache))
        if kept is not None and kept[1].used:
            continue
        _start_worker(setup)
        for job in jobs:
            try:
                _typeset(job)
            except Exception as exc:  # only a head start: the next build reports what is wrong
                log.debug("Warming up with %s: %s", job.key, exc)
    _to_warm.clear()


def _close_all() -> None:
    global _reuse
    for _, reuse in _kept.values():
        reuse.close()
    if _reuse is not None:
        _reuse.close()
    _kept.clear()
    _reuse = None


def _run(setup: Setup, job: Job) -> tuple[str, Typeset | BaseException]:
    """Typeset one job in this process; a user's error comes back as a value, so the pool keeps going."""
    if setup != _setup:
        _start_worker(setup)
    try:
        return job.key, _typeset(job)
    except BookletError as exc:
        return job.key, exc


def _anchors(setup: Setup, html: str) -> dict[str, tuple[float, float, float, float]] | BaseException:
    """The anchors of ``html`` typeset in this process (a document the build measures, not a part); a user's error as a value."""
    from booklet import typeset

    if setup != _setup:
        _start_worker(setup)
    _prepared()
    anchors: dict[str, tuple[float, float, float, float]] = {}
    try:
        for page in typeset.render(html, base=setup.base, fetcher=_fetcher, describe=_describe, reuse=_reuse).pages:
            anchors.update(page.anchors)
    except BookletError as exc:
        return exc
    return anchors


def _prepared() -> None:
    """WeasyPrint loaded (by a worker that left it for its first document), and the fetcher and fonts of the setup made."""
    global _import_later
    if _import_later:
        _import_later = False
        _load_weasyprint()
    _ready()


def _typeset(job: Job) -> Typeset:
    from booklet import typeset

    _prepared()
    assert _setup is not None
    # A part's running heads and folios are typeset apart (its stylesheet turns them off): its pages get no margin boxes.
    bare = not job.furniture and not job.whole
    document = typeset.render(job.html, base=_setup.base, fetcher=_fetcher, describe=_describe, reuse=_reuse, margin_boxes=not bare)
    pages = list(document.pages)
    kept = pages[job.spacers :] if job.keep is None else pages[job.spacers : job.spacers + job.keep]
    if bare and job.side != "first":
        first = kept[0]._page_box.page_type if kept else None
        if first is None or first.side != job.side or first.blank:
            raise PartsUnsupported(f"part {job.key} does not start on a forced {job.side} page")
    images: dict[str, tuple[str, float]] = {}
    if bare:
        if _prepare_backgrounds(kept):
            # Backgrounds are named in stylesheets: the fetcher serves their processed files, so typeset again.
            try:
                document = typeset.render(
                    job.html, base=_setup.base, fetcher=_fetcher, describe=_describe, reuse=_reuse, margin_boxes=False
                )
            finally:
                _fetcher.substitutes = {}
            kept = list(document.pages)[job.spacers :]
        images = _prepare_images(kept)
    document = document.copy(kept)
    # Uncompressed: WeasyPrint compresses slowly, the colour profile every part holds most of all; the join compresses once.
    variant = None if job.furniture else _setup.variant
    pdf = typeset.write_pdf(document, identity=job.key.encode(), variant=variant, describe=_describe, compress=False)
    infos = tuple(_page_info(page) for page in kept)
    anchors = tuple((name, number) for number, page in enumerate(kept) for name in page.anchors if name not in job.stand_ins)
    return Typeset(pdf=pdf, pages=infos, anchors=anchors, images=images, key=job.key)


def _describe(url: str) -> str:
    if _setup is not None and _setup.describe is not None:
        return _setup.describe(url)
    return "a part of the publication"


def _page_info(page: Any) -> PageInfo:
    page_type = page._page_box.page_type
    strings = []
    for box in page._page_box.descendants():
        for name, text in getattr(box, "string_set", None) or ():
            strings.append((name, text))
    return PageInfo(name=page_type.name or "", side=page_type.side, blank=bool(page_type.blank), strings=tuple(strings))


def placed_images(pages: Iterable[Any]) -> dict[str, tuple[float, float]]:
    """Each raster image's largest placed size in millimetres, by its URL, from laid-out pages."""
    from booklet.units import MM_PER_UNIT

    placed: dict[str, tuple[float, float]] = {}
    for page in pages:
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is None or element.tag != "img" or not hasattr(box, "replacement"):
                continue
            src = element.get("src") or ""
            if not src.startswith("file:") or src.lower().endswith(".svg"):
                continue
            width, height = box.width * MM_PER_UNIT["px"], box.height * MM_PER_UNIT["px"]
            old = placed.get(src, (0.0, 0.0))
            placed[src] = (max(old[0], width), max(old[1], height))
    return placed


def _prepare_backgrounds(pages: list[Any]) -> bool:
    """Resample raster backgrounds for their painted size, to be served in place of the originals; whether there were any."""
    from urllib.parse import unquote, urlsplit

    from booklet.images import ImagePolicy, background_stand_in, cmyk_profile, process, raster_backgrounds

    assert _setup is not None
    backgrounds = raster_backgrounds(pages)
    if not backgrounds:
        return False
    policy = ImagePolicy(max_ppi=_setup.max_ppi, cmyk=_setup.cmyk)
    profile = cmyk_profile(_setup.profile, intent=_setup.intent) if _setup.cmyk and _setup.profile else None
    substitutes = {}
    for url, (painted, intrinsic) in backgrounds.items():
        result = process(
            Path(unquote(urlsplit(url).path)), placed_mm=painted, policy=policy, cache=_setup.cache / "images", profile=profile
        )
        substitutes[url] = background_stand_in(result, intrinsic)
    _fetcher.substitutes = substitutes
    return True


def _prepare_images(pages: list[Any]) -> dict[str, tuple[str, float]]:
    """Resample each raster image for its placed size and draw the resampled one in its place.

    The resampled image keeps the original's intrinsic size (its resolution says so), so the
    layout already made stands; only the picture drawn into the boxes changes.
    """
    from urllib.parse import unquote, urlsplit

    from weasyprint import DEFAULT_OPTIONS
    from weasyprint.images import get_image_from_uri

    from booklet.images import ImagePolicy, cmyk_profile, process
    from booklet.sandbox import cache_url

    assert _setup is not None
    placed = placed_images(pages)
    if not placed:
        return {}
    policy = ImagePolicy(max_ppi=_setup.max_ppi, cmyk=_setup.cmyk)
    profile = cmyk_profile(_setup.profile, intent=_setup.intent) if _setup.cmyk and _setup.profile else None
    done: dict[str, tuple[str, float]] = {}
    loaded: dict[str, Any] = {}
    for src, size in placed.items():
        source = Path(unquote(urlsplit(src).path))
        result = process(source, placed_mm=size, policy=policy, cache=_setup.cache / "images", profile=profile)
        url = cache_url(f"images/{result.path.name}")
        done[src] = (url, result.dpi)
        loaded[src] = get_image_from_uri(cache={}, url_fetcher=_fetcher, options=DEFAULT_OPTIONS, url=url)
    for page in pages:
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is not None and element.tag == "img" and (element.get("src") or "") in loaded:
                box.replacement = loaded[element.get("src")]
    return done


# ---- Furniture, blanks and spacers ---------------------------------------------------


def spacers_for(side: str) -> int:
    """How many spacer pages put a part's first page on ``side``, after the last spacer's forced break."""
    return {"first": 0, "left": 1, "right": 2}[side]


def spacer_html(count: int, *, carried: dict[str, str] | None = None) -> str:
    sets = ""
    if carried:
        sets = f' style="{escape(_string_set(carried.items()))}"'
    return "".join(f'<div class="booklet-spacer"{sets if i == 0 else ""}></div>' for i in range(count))


def _string_set(strings: Iterable[tuple[str, str]]) -> str:
    # Imported here: a build imports this module before it starts its workers, and Jinja need not delay them.
    from booklet.layout import css_string

    return "string-set: " + ", ".join(f'{name} "{css_string(text)}"' for name, text in strings)


def first_folio_style(folio: int) -> str:
    """Number the document's first page ``folio``: a part typeset alone then has the folios it has in place."""
    return f"@page :first {{ counter-reset: page {folio}; }}"


def furniture_body(pages: Sequence[PageInfo]) -> str:
    """Empty stand-ins with each page's page type and strings; a blank page comes from a forced side, as it did."""
    out = []
    pending_side: str | None = None
    for info in pages:
        if info.blank:
            pending_side = "left" if info.side == "right" else "right"
            continue
        style = [f"page: {info.name or 'auto'}", f"break-before: {pending_side or 'page'}"]
        if info.strings:
            style.append(_string_set(info.strings))
        out.append(f'<div class="booklet-stand-in" style="{escape("; ".join(style))}"></div>')
        pending_side = None
    return "".join(out)


def anchors_html(names: Iterable[str]) -> str:
    """Stand-in anchors for links that point into other parts, so WeasyPrint keeps those links."""
    return "".join(f'<span class="booklet-anchor" id="{name}"></span>' for name in names)


# ---- Running jobs, with a disk cache ---------------------------------------------------


class Cache:
    """Typeset parts on disk, keyed by everything they are made from."""

    def __init__(self, folder: Path):
        self.folder = folder

    def get(self, key: str) -> Typeset | None:
        path = self.folder / f"{key}.part"
        try:
            value = pickle.loads(path.read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        return value if isinstance(value, Typeset) else None

    def has(self, key: str) -> bool:
        return (self.folder / f"{key}.part").is_file()

    def put(self, key: str, value: Typeset) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / f"{key}.part", pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), sync=False)


@functools.cache
def _versions() -> bytes:
    # Asked for when the first key is made, not on import: a build imports this module before it starts its workers.
    from importlib.metadata import version

    from booklet import __version__

    return f"{FORMAT} booklet {__version__} weasyprint {version('weasyprint')}".encode()


def key_of(*pieces: str | bytes) -> str:
    """A short digest of ``pieces``, and of the booklet and WeasyPrint versions that make things from them."""
    digest = hashlib.sha256(_versions())
    for piece in pieces:
        data = piece.encode("utf-8") if isinstance(piece, str) else piece
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()[:32]


class Runner:
    """Typesets jobs in a pool of worker processes, one per core, reusing what the cache holds."""

    def __init__(self, setup: Setup, cache: Cache, *, workers: int | None = None, hints: Sequence[str] = ()):
        self.setup = setup
        # What goes with each job to a worker: it must pickle, so without ``describe`` (errors are told again here).
        self.sent = dataclasses.replace(setup, describe=None)
        self.cache = cache
        self.workers = workers or os.cpu_count() or 1
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.owned = True  # whether the pool is this Runner's to stop
        self.typeset = 0  # jobs typeset (not found in the cache), for the log and the tests
        self.made: dict[str, Typeset] = {}  # what every run gave so far: the join will read them all
        self.pending: dict[str, concurrent.futures.Future[tuple[str, Typeset | BaseException]]] = {}  # started by ``ahead``
        # Parts the last build joined (keys, from the cache), to read ahead too: the join is likely to want them again.
        self.hints = hints
        self.reading: threading.Thread | None = None  # reads parts ahead for the join, while the workers typeset

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        self._done_reading()
        if self.pool is None:
            return
        for future in self.pending.values():
            future.cancel()  # started ahead for a document the build did not ask for after all
        self.pending.clear()
        if self.owned:
            _stop(self.pool, failed=kind is not None)
        self.pool = None

    def ahead(self, jobs: Sequence[Job]) -> bool:
        """Start typesetting ``jobs`` (those not in the cache) while this process does something else; whether all are under way.

        ``run`` takes the result of a job started ahead when it is asked for a job with the same key.
        A single job is left to ``run``: a long-lived process typesets it itself, with what it has loaded.
        """
        todo = [job for job in dict((job.key, job) for job in jobs).values() if job.key not in self.pending and not self.cache.has(job.key)]
        if not todo:
            return True
        if len(todo) < 2 or self.workers == 1:
            return False
        todo.sort(key=lambda job: len(job.html), reverse=True)
        pool = self._pool()
        for job in todo:
            self.pending[job.key] = pool.submit(_run, self.sent, job)
        return True

    def run(self, jobs: Sequence[Job]) -> dict[str, Typeset]:
        """Typeset ``jobs`` (the cached ones are not typeset again); the first user error stops the build.

        The jobs not in the cache start first: the cached parts are read while they are typeset.
        """
        unique = list(dict((job.key, job) for job in jobs).values())
        todo = [job for job in unique if not self.cache.has(job.key)]
        missing = {job.key for job in todo}
        cached = [job for job in unique if job.key not in missing]
        started = {job.key: self.pending.pop(job.key) for job in todo if job.key in self.pending}
        # The longest first, so that no worker is left with a long one at the end.
        fresh = sorted((job for job in todo if job.key not in started), key=lambda job: len(job.html), reverse=True)
        unread = any(key not in _READERS for key in itertools.chain(self.made, (job.key for job in cached)))
        # A long-lived process (other threads than the early workers' tell one) typesets a single job itself.
        long_lived = _early is None and threading.active_count() > 1
        alone = self.workers == 1 or (len(fresh) == 1 and not started and (not unread or long_lived))
        done: Iterable[tuple[str, Typeset | BaseException]] = ()
        if fresh and not alone:
            done = self._pool(preload=len(fresh) > self.workers).map(_run, itertools.repeat(self.sent), fresh)
        results: dict[str, Typeset] = {}
        for job in cached:
            hit = self.cache.get(job.key)
            if hit is None:  # unreadable: typeset it after all
                todo.append(job)
                done = itertools.chain(done, self._pool().map(_run, [self.sent], [job]))
            else:
                results[job.key] = hit
        self.made.update(results)
        if not todo:
            return results
        log.debug("Typesetting %d part(s), %d from the cache", len(todo), len(results))
        self.typeset += len(todo)
        # The workers have their jobs by now: waiting for the last run's reading keeps none of them waiting.
        self._done_reading()
        if fresh and alone:
            done = itertools.chain(map(functools.partial(_run, self.setup), fresh), done)
        else:
            unread_parts = [part for key, part in self.made.items() if key not in _READERS]
            hinted = [key for key in self.hints if key not in self.made and key not in _READERS]
            self.hints = ()
            if unread_parts or hinted:
                # While the workers typeset, this process reads the parts it already has for the join, and
                # those the last join used: it would otherwise only wait. (The pool's processes are forked by now.)
                # The reading may outlast the run: the next run, or the end of the Runner, waits for it.
                self.reading = threading.Thread(
                    target=read_ahead,
                    args=(unread_parts,),
                    kwargs={"keys": hinted, "cache": self.cache},
                    name="booklet-read-ahead",
                    daemon=True,
                )
                self.reading.start()
        done = itertools.chain((future.result() for future in started.values()), done)
        errors = []
        for key, value in done:
            if isinstance(value, BaseException):
                errors.append(self._told(value))
                continue
            self.cache.put(key, value)
            results[key] = value
        if errors:
            raise errors[0]
        self.made.update(results)
        return results

    def measure_ahead(self, htmls: Sequence[str]) -> dict[str, concurrent.futures.Future[Any]]:
        """Start typesetting ``htmls`` (documents to measure) in the build's early workers, before anything else sent.

        Each future gives the document's anchors, or the user's error it met. None are started
        without early workers: a long-lived process measures in its own.
        """
        if _early is None or not htmls:
            return {}
        pool = self._pool()
        return {html: pool.submit(_anchors, self.sent, html) for html in dict.fromkeys(htmls)}

    def _done_reading(self) -> None:
        """Wait for the parts being read ahead, if they are."""
        if self.reading is not None:
            self.reading.join()
            self.reading = None

    def _told(self, error: BaseException) -> BaseException:
        """A worker's error, with the source file it could not name."""
        from booklet.typeset import refused

        found = getattr(error, "refused", None)
        if found is not None and self.setup.describe is not None:
            return refused(*found, self.setup.describe)
        return error

    def _pool(self, *, preload: bool = True) -> concurrent.futures.ProcessPoolExecutor:
        """The workers: those started early for this build, or forked now. ``preload=False`` when they have a job each at most:

        each then imports WeasyPrint itself, while this process goes on, rather than this process first.
        """
        if self.pool is None:
            if _early is not None:
                self.pool, self.owned = _early, False
            else:
                self.pool, self.owned = process_pool(self.workers, preload=preload), True
        return self.pool


_early: concurrent.futures.ProcessPoolExecutor | None = None  # workers started as a build begins, for all its Runners


@contextlib.contextmanager
def early_workers(*, start: bool = True, rebuild: bool = False, languages: Sequence[str] = ()) -> Iterator[None]:
    """Start the workers now, while this process reads and renders what they will typeset; stop them after.

    They import WeasyPrint meanwhile, so the first part does not wait for it, and load the
    hyphenation dictionaries of ``languages``. Only in a process without other threads (a
    command-line build): elsewhere each Runner starts its own. With ``rebuild`` (an earlier build
    left its parts), most parts are likely in the cache: only the first worker imports WeasyPrint
    now, the others with their first part, if one comes.
    """
    global _early
    if not start or _early is not None or threading.active_count() > 1:
        yield
        return
    first = multiprocessing.get_context("fork").Lock()
    _early = process_pool(workers(), preload=False, initializer=_import_weasyprint, initargs=(first, rebuild, tuple(languages)))
    _early.submit(int)  # forked workers all start with the first job
    failed = True
    try:
        yield
        failed = False
    finally:
        pool, _early = _early, None
        _stop(pool, failed=failed)


def early_pool() -> concurrent.futures.ProcessPoolExecutor | None:
    """The workers this build started early, if it did."""
    return _early


def _stop(pool: concurrent.futures.ProcessPoolExecutor, *, failed: bool) -> None:
    """Shut the workers down; after a failed or timed-out build, at once rather than when their parts are done."""
    if failed:
        processes = list(getattr(pool, "_processes", {}).values())
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
        # A worker stopped while it sent a result leaves half a message in the pipe, and the pool's
        # thread would wait for the rest for ever, and this process with it when it exits. This
        # process never writes there: with its end closed too, the thread reads the end of the pipe.
        writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
        if writer is not None:
            writer.close()
    pool.shutdown(wait=not failed, cancel_futures=True)


@contextlib.contextmanager
def pool_of(count: int) -> Iterator[concurrent.futures.ProcessPoolExecutor]:
    """The build's early workers if it has them, else ``count`` new ones, stopped after."""
    if _early is not None:
        yield _early
        return
    with process_pool(count, preload=False) as pool:
        yield pool


_import_later = False  # a worker that imports WeasyPrint with its first part


def _import_weasyprint(first: Any, rebuild: bool, languages: Sequence[str] = ()) -> None:
    """Import WeasyPrint, in the first worker to start (the one to take ``first``, a lock) before the others.

    The first is then ready sooner for an edit's lone part. In a ``rebuild`` the others import
    with their first part, if one comes: meanwhile they would only take a core from the first.
    A worker that imports now loads the hyphenation dictionaries of ``languages`` after.
    """
    global _import_later
    _collect_seldom()
    if first.acquire(block=False):
        try:
            _load_weasyprint()
        finally:
            first.release()
        _load_hyphenation(languages)
        return
    with first:
        pass
    if not rebuild:
        _load_weasyprint()
        _load_hyphenation(languages)
        return
    # The first is waiting for a part by now, before this one: it gets the lone part.
    time.sleep(0.05)
    _import_later = True


# Objects left for the cycle collector before it runs in an early worker: about 100 MB of them.
EARLY_WORKER_GARBAGE = 1_000_000


def _collect_seldom() -> None:
    """Collect cycles only once a great many are left: an early worker ends with its build.

    Each document WeasyPrint lays out leaves a few thousand objects in reference cycles (its
    styles, its parse tree), which only the collector frees, scanning each of them: about a
    fifth of a second in each worker of a 300-page build. An early worker ends with the one
    build it serves, and the end of the process frees them anyway; the collector still runs once
    that many are left, so that a long book's workers do not grow without bound.
    """
    import gc

    gc.set_threshold(EARLY_WORKER_GARBAGE, *gc.get_threshold()[1:])


def _load_weasyprint() -> None:
    import gc

    from booklet.typeset import load_weasyprint

    load_weasyprint()
    # What is loaded lives as long as the worker: kept out of the collections, each of which would walk it all.
    gc.freeze()


def _load_hyphenation(languages: Sequence[str]) -> None:
    """Read the hyphenation dictionaries of ``languages`` as WeasyPrint would, which keeps them for the process.

    Reading one takes a worker about 0.04 s, which its first document would otherwise spend:
    the workers do it while they wait for the first documents.
    """
    import pyphen

    for language in languages:
        found = pyphen.language_fallback(language)
        if found:
            pyphen.Pyphen(lang=found)


def process_pool(workers: int, *, preload: bool = True, **options: Any) -> concurrent.futures.ProcessPoolExecutor:
    """A pool of ``workers`` processes forked from this one, so they start with its modules imported.

    With ``preload``, WeasyPrint is imported here first, once, rather than by each worker.

    Forking a process with other threads running (the preview server) can copy a held lock: then
    the workers come from a fork server, a clean single-threaded parent, and what they are sent must pickle.
    """
    if threading.active_count() == 1:
        if preload:
            from booklet.typeset import load_weasyprint

            load_weasyprint()
        context = multiprocessing.get_context("fork")
    else:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["booklet.parts", "booklet.preflight", "weasyprint"])
    return concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context, **options)


# ---- Joining ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Slice:
    """Pages ``first`` to ``first + count - 1`` of a typeset part, in their place in the publication."""

    content: Typeset
    first: int
    count: int


def join(
    slices: Sequence[Slice],
    furniture: Sequence[tuple[Typeset, int] | None],
    *,
    identity: bytes,
    fonts: Sequence[Path] = (),
    cache: Path | None = None,
    streams: Path | None = None,
) -> bytes:
    """One PDF from the slices in order, each page with its furniture drawn over it.

    Each of ``fonts`` (the font files the publication declares) is embedded once, as one subset
    with every glyph the parts use (``cache`` keeps such subsets for the next join). ``streams``
    (a file) keeps the streams this join compressed, for the next join of the same edition.

    One set of named destinations and one outline for the whole; the first slice's metadata,
    output intent and language; the parts' structure trees joined when they are tagged.
    """
    import pypdf
    from pypdf.generic import (
        ArrayObject,
        ByteStringObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
        StreamObject,
        TextStringObject,
    )

    writer = pypdf.PdfWriter()
    readers: dict[int, Any] = {}
    added: dict[int, list[tuple[Any, Any]]] = {}
    names: dict[str, ArrayObject] = {}
    outline: list[tuple[Any, int, Any]] = []
    furniture_readers: dict[int, Any] = {}
    begin_stream = StreamObject()
    begin_stream.set_data(b"q\n")
    begin = writer._add_object(begin_stream)

    def reader_of(part: Typeset, cache: dict[int, Any]) -> Any:
        if id(part) not in cache:
            cache[id(part)] = _reader(part)
        return cache[id(part)]

    for piece in slices:
        reader = reader_of(piece.content, readers)
        offset = len(writer.pages) - piece.first
        for number in range(piece.first, piece.first + piece.count):
            original = reader.pages[number]
            new = writer.add_page(original)
            added.setdefault(id(piece.content), []).append((original, new))
            over = furniture[len(writer.pages) - 1]
            if over is not None:
                source, page = over
                _draw_over(writer, new, reader_of(source, furniture_readers).pages[page], f"/BkF{len(writer.pages)}", begin)
        owned = {
            name
            for name, page in piece.content.anchors
            if piece.first <= page < piece.first + piece.count and not name.startswith(PART_ANCHOR)
        }
        for name, dest in reader.named_destinations.items():
            if name not in owned or name in names:
                continue
            target = writer.pages[offset + reader.get_destination_page_number(dest)]
            names[name] = ArrayObject(
                [target.indirect_reference, NameObject("/XYZ"), FloatObject(dest.left or 0), FloatObject(dest.top or 0), NumberObject(0)]
            )
        outline.extend(_outline_items(reader, reader.outline, offset, range(piece.first, piece.first + piece.count)))
    structure = _Structure(writer)
    for key, pages in added.items():
        structure.add(readers[key], pages)
    for piece in slices:
        structure.order(readers[id(piece.content)], range(piece.first, piece.first + piece.count))
    structure.finish()

    first_reader = readers[id(slices[0].content)]
    catalog = writer._root_object
    source = first_reader.trailer["/Root"]
    for key in ("/OutputIntents", "/Metadata", "/Lang", "/MarkInfo", "/ViewerPreferences"):
        if key in source:
            catalog[NameObject(key)] = source[key].clone(writer)
    if first_reader.metadata:
        writer.add_metadata({key: value for key, value in first_reader.metadata.items() if isinstance(value, str)})
    if names:
        tree = ArrayObject()
        for name in sorted(names):
            tree.extend([TextStringObject(name), names[name]])
        catalog[NameObject("/Names")] = DictionaryObject({NameObject("/Dests"): DictionaryObject({NameObject("/Names"): tree})})
    _add_outline(writer, outline)
    subsets.merge(writer, fonts, cache=cache)
    _compress(writer, streams)
    digest = hashlib.sha256(identity).hexdigest()
    writer._ID = ArrayObject([ByteStringObject(digest[:32].encode()), ByteStringObject(digest[:32].encode())])
    _stable_document_id(catalog, digest)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


_READERS: dict[str, Any] = {}  # part key -> its PDF parsed, the newest last
READERS = 128  # parsed parts a long-lived process keeps for its next join


def _reader(part: Typeset) -> Any:
    """``part``'s PDF parsed; in a long-lived process (the preview) the unchanged parts of the last joins are parsed already.

    The join reads the parts and never changes them: what it changes, it changes in its copies.
    """
    import pypdf

    if not part.key:
        return pypdf.PdfReader(io.BytesIO(part.pdf))
    reader = _READERS.pop(part.key, None) or pypdf.PdfReader(io.BytesIO(part.pdf))
    _READERS[part.key] = reader
    while len(_READERS) > READERS:
        _READERS.pop(next(iter(_READERS)))
    return reader


def read_ahead(typesets: Iterable[Typeset], *, keys: Iterable[str] = (), cache: Cache | None = None) -> None:
    """Parse the PDFs of ``typesets``, then of the parts ``cache`` holds under ``keys``, for the join to come, every object of them, as it would."""
    hinted = (cache.get(key) for key in keys) if cache is not None else ()
    for part in itertools.chain(typesets, hinted):
        if part is None:
            continue
        try:
            reader = _reader(part)
            for numbers in reader.xref.values():
                for number in numbers:
                    reader.get_object(number)
            len(reader.pages)
        except Exception as exc:  # only a head start: the join reads the part again and reports what is wrong
            log.debug("Reading %s ahead: %s", part.key, exc)


class _Structure:
    """The parts' structure trees (tagged PDF) joined under one Document element, with one parent tree."""

    def __init__(self, writer: Any):
        from pypdf.generic import ArrayObject

        self.writer = writer
        self.kids = ArrayObject()
        self.placed: dict[int, list[tuple[int | None, Any]]] = {}  # each part's elements, by the page they start on
        self.nums = ArrayObject()
        self.next_key = 0
        self.tagged = False

    def add(self, reader: Any, pages: list[tuple[Any, Any]]) -> None:
        from pypdf.generic import NameObject, NumberObject

        root = reader.trailer["/Root"]
        if "/StructTreeRoot" not in root:
            return
        self.tagged = True
        tree = root["/StructTreeRoot"]
        offset = self.next_key
        for original, new in pages:
            if "/StructParents" in original:
                new[NameObject("/StructParents")] = NumberObject(original["/StructParents"] + offset)
            for annotation in new.get("/Annots") or ():
                annotation = annotation.get_object()
                if "/StructParent" in annotation:
                    annotation[NameObject("/StructParent")] = NumberObject(annotation["/StructParent"] + offset)
        placed = self.placed.setdefault(id(reader), [])
        for top in _as_list(tree.get("/K")):
            for kid in _as_list(top.get_object().get("/K")):
                # Stand-in anchors leave empty elements behind; they mark nothing.
                if not hasattr(kid, "get_object") or not _as_list(kid.get_object().get("/K")):
                    continue
                page = _first_page(kid.get_object())
                number = reader.get_page_number(page.get_object()) if page is not None else None
                placed.append((number, kid.clone(self.writer, ignore_fields=["/P"])))
        numbers = tree.get("/ParentTree", {}).get("/Nums", [])
        highest = -1
        for key, value in zip(numbers[::2], numbers[1::2], strict=True):
            self.nums.extend([NumberObject(key + offset), value.clone(self.writer, ignore_fields=["/P"])])
            highest = max(highest, int(key))
        self.next_key = offset + highest + 1

    def order(self, reader: Any, pages: range) -> None:
        """Take the elements of ``reader`` that start on ``pages``: a slice's, in reading order."""
        for number, kid in self.placed.get(id(reader), []):
            if number is None or number in pages:
                self.kids.append(kid)
        self.placed[id(reader)] = [(n, kid) for n, kid in self.placed.get(id(reader), []) if n is not None and n not in pages]

    def finish(self) -> None:
        from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject

        if not self.tagged:
            return
        writer = self.writer
        tree = DictionaryObject({NameObject("/Type"): NameObject("/StructTreeRoot")})
        tree_ref = writer._add_object(tree)
        document = DictionaryObject(
            {NameObject("/Type"): NameObject("/StructElem"), NameObject("/S"): NameObject("/Document"), NameObject("/P"): tree_ref}
        )
        document_ref = writer._add_object(document)
        document[NameObject("/K")] = self.kids
        tree[NameObject("/K")] = ArrayObject([document_ref])
        tree[NameObject("/ParentTree")] = writer._add_object(DictionaryObject({NameObject("/Nums"): self.nums}))
        tree[NameObject("/ParentTreeNextKey")] = NumberObject(self.next_key)
        _set_parents(document_ref)
        writer._root_object[NameObject("/StructTreeRoot")] = tree_ref


def _first_page(element: Any) -> Any:
    """The page a structure element's content starts on (its own /Pg, or its first descendant's)."""
    stack = [element]
    while stack:
        item = stack.pop(0)
        item = item.get_object() if hasattr(item, "get_object") else item
        if not isinstance(item, dict):
            continue
        if "/Pg" in item:
            return item["/Pg"]
        stack[:0] = _as_list(item.get("/K"))
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    value = value.get_object() if hasattr(value, "get_object") else value
    return list(value) if isinstance(value, list) else [value]


def _set_parents(parent_ref: Any) -> None:
    """Give each structure element its /P, which the parts' copies were made without."""
    from pypdf.generic import DictionaryObject, NameObject

    stack = [parent_ref]
    while stack:
        ref = stack.pop()
        element = ref.get_object()
        for kid in _as_list(element.get("/K")):
            target = kid.get_object() if hasattr(kid, "get_object") else kid
            if isinstance(target, DictionaryObject) and "/S" in target:
                target[NameObject("/P")] = ref
                if hasattr(kid, "idnum"):
                    stack.append(kid)


def _compress(writer: Any, streams: Path | None = None) -> None:
    """Keep one copy of what the parts share (the colour profile, images, fonts), and compress each stream once.

    With ``streams`` (a file), a stream the last join compressed is taken from there: after an
    edit, most of the pages are the same.
    """
    import zlib
    from concurrent.futures import ThreadPoolExecutor

    from pypdf.generic import EncodedStreamObject, NameObject, StreamObject

    from booklet.output import write_cache

    _dedupe(writer)
    todo = [
        number
        for number, obj in enumerate(writer._objects)
        if isinstance(obj, StreamObject) and "/Filter" not in obj and obj.get("/Type") != "/Metadata"
    ]
    known: dict[bytes, bytes] = {}
    if streams is not None:
        try:
            loaded = pickle.loads(streams.read_bytes())
            known = loaded if isinstance(loaded, dict) else {}
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
            pass
    # By the bytes and the zlib that compressed them: another zlib may compress them otherwise.
    version = zlib.ZLIB_RUNTIME_VERSION.encode()
    digests = [_digest(version, writer._objects[number].get_data()) for number in todo]
    missing = {digest: writer._objects[number].get_data() for number, digest in zip(todo, digests, strict=True) if digest not in known}
    # zlib lets go of the interpreter while it works: threads compress side by side.
    with ThreadPoolExecutor(max_workers=workers()) as threads:
        known.update(zip(missing, threads.map(zlib.compress, missing.values()), strict=True))
    compressed = [known[digest] for digest in digests]
    if streams is not None:
        write_cache(streams, pickle.dumps(dict(zip(digests, compressed, strict=True)), protocol=pickle.HIGHEST_PROTOCOL))
    for number, data in zip(todo, compressed, strict=True):
        obj = writer._objects[number]
        encoded = EncodedStreamObject()
        encoded.update(obj)
        encoded[NameObject("/Filter")] = NameObject("/FlateDecode")
        encoded._data = data  # set_data would compress it again
        encoded.indirect_reference = obj.indirect_reference
        writer._objects[number] = encoded


def _digest(*pieces: bytes) -> bytes:
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)  # not joined first: that would copy every stream
    return digest.digest()


def _stored(stream: Any) -> bytes:
    """A stream's bytes as stored, without decoding them: equal streams of the parts are stored alike."""
    data = getattr(stream, "_data", None)
    return data if isinstance(data, bytes) else stream.get_data()


def _dedupe(writer: Any) -> None:
    """Point every reference to a stream at the first of its identical copies, and drop the copies."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

    # Keyed by the bytes themselves: equal keys are equal streams, and Python hashes bytes faster than SHA-256 does.
    first: dict[tuple[str, bytes], int] = {}
    alias: dict[int, int] = {}
    for number, obj in enumerate(writer._objects, start=1):
        if not isinstance(obj, StreamObject):
            continue
        key = (repr(sorted((name, repr(value)) for name, value in obj.items() if name != "/Length")), _stored(obj))
        if key in first:
            alias[number] = first[key]
        else:
            first[key] = number
    if not alias:
        return

    def repoint(value: Any) -> Any:
        if isinstance(value, IndirectObject) and value.idnum in alias:
            return IndirectObject(alias[value.idnum], 0, writer)
        if isinstance(value, DictionaryObject):
            for key in list(value.keys()):
                value[key] = repoint(value.raw_get(key) if hasattr(value, "raw_get") else value[key])
        elif isinstance(value, ArrayObject):
            for index, item in enumerate(value):
                value[index] = repoint(item)
        return value

    for obj in writer._objects:
        if obj is not None:
            repoint(obj)
    repoint(writer._root_object)
    for number in alias:
        writer._objects[number - 1] = None


def _stable_document_id(catalog: Any, digest: str) -> None:
    """Give the XMP metadata a DocumentID derived from the inputs, as a single pass does."""
    from booklet.typeset import DOCUMENT_ID, xmp_document_id

    if "/Metadata" not in catalog:
        return
    stream = catalog["/Metadata"].get_object()
    stream.set_data(DOCUMENT_ID.sub(xmp_document_id(digest), stream.get_data()))


def _draw_over(writer: Any, page: Any, over: Any, name: str, begin: Any) -> None:
    """Draw ``over`` (a furniture page) on top of ``page``, as a form marked as a pagination artifact.

    The page's own content streams are kept as they are, not copied into a new one: a stream with
    ``q`` (``begin``) goes before them and one that restores the state and draws the form after them.
    """
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, StreamObject

    contents = over.get_contents()
    data = contents.get_data() if contents is not None else b""
    if not data.strip():
        return
    form = StreamObject()
    form[NameObject("/Type")] = NameObject("/XObject")
    form[NameObject("/Subtype")] = NameObject("/Form")
    form[NameObject("/BBox")] = ArrayObject(FloatObject(float(v)) for v in over.mediabox)
    form[NameObject("/Resources")] = over["/Resources"].clone(writer) if "/Resources" in over else DictionaryObject()
    form.set_data(data)
    reference = writer._add_object(form)
    resources = page["/Resources"].get_object()
    xobjects = resources.get("/XObject")
    if xobjects is None:
        xobjects = DictionaryObject()
        resources[NameObject("/XObject")] = xobjects
    xobjects = xobjects.get_object()
    xobjects[NameObject(name)] = reference
    end = StreamObject()
    end.set_data(b"\nQ\n/Artifact BMC q " + name.encode() + b" Do Q EMC\n")
    own = page.raw_get("/Contents") if "/Contents" in page else None
    own_streams = list(own.get_object()) if own is not None and isinstance(own.get_object(), list) else [own] if own is not None else []
    page[NameObject("/Contents")] = ArrayObject([begin, *own_streams, writer._add_object(end)])


def _outline_items(reader: Any, items: list[Any], offset: int, pages: range) -> list[tuple[Any, int, Any]]:
    """The bookmarks on ``pages`` of a part as (title and position, page in the publication, children), in order."""
    out: list[tuple[Any, int, Any]] = []
    last_kept = False
    for item in items:
        if isinstance(item, list):
            if out and last_kept:
                title, page, _ = out[-1]
                out[-1] = (title, page, _outline_items(reader, item, offset, pages))
            continue
        number = reader.get_destination_page_number(item)
        last_kept = number in pages
        if last_kept:
            out.append(((item.title, item.left, item.top), offset + number, None))
    return out


def _add_outline(writer: Any, items: list[tuple[Any, int, Any]], parent: Any = None) -> None:
    from pypdf.generic import Fit

    for (title, left, top), page, children in items:
        entry = writer.add_outline_item(title=title, page_number=page, parent=parent, fit=Fit.xyz(left, top, 0))
        if children:
            _add_outline(writer, children, entry)
