"""The build: load config, read all content, check it, then make each edition: render HTML, typeset, post-process, write."""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2
from weasyprint import Document

from booklet import layout, timeline_layout, typeset
from booklet.brand import Brand, load_brand
from booklet.config import Config, load_config
from booklet.content import Section, read_sections
from booklet.errors import BookletError, ConfigError, TemplateError, display_path, raise_all
from booklet.output import write_atomic
from booklet.preflight import Finding, check_output, summary
from booklet.sandbox import SandboxFetcher
from booklet.timeline import Timeline, check_placement, load_timeline
from booklet.units import MM_PER_UNIT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    """One written output file."""

    path: Path
    pages: int
    size: int
    seconds: float


@dataclass(frozen=True)
class Project:
    """Everything the build has read and checked; each edition is made from it."""

    config: Config
    brand: Brand
    sections: list[Section]
    timeline: Timeline | None
    timeline_after: str | None
    env: jinja2.Environment
    context: dict[str, Any]
    fetcher: SandboxFetcher


@dataclass(frozen=True)
class Edition:
    """One made edition, not yet written."""

    path: Path
    pdf: bytes
    pages: int
    name: str = "print"
    html: str | None = None


def build(
    project: Path, *, out_dir: Path | None = None, brand: Path | None = None, editions: Sequence[str] = ("print",)
) -> list[BuildResult]:
    """Build the publication's editions in ``project``; nothing is written unless every phase of every edition succeeds."""
    started = time.perf_counter()
    makers = editions_to_make(editions)

    # 1. Load the config and the brand.
    config = load_config(project, brand=brand, out_dir=out_dir)
    log.info("Loaded %s (brand %s)", config.path.name, display_path(config.brand))
    the_brand = load_brand(config.brand)

    # 2-3. Read every section and the timeline, and check them; all problems are reported together.
    sections, timeline, after = _read_content(config, the_brand)
    log.info("Read %d sections from %s/", len(sections), config.content_dir.name)
    if timeline is not None:
        log.info("Read %d timeline events from %s", len(timeline.events), timeline.source.name)
    pub = Project(
        config=config,
        brand=the_brand,
        sections=sections,
        timeline=timeline,
        timeline_after=after,
        env=layout.environment(config.templates_dir),
        context=layout.publication_context(config, the_brand, sections),
        # Served: the project, booklet's own layouts, and the brand's folder and the very files it names
        # (a brand chosen with --brand may keep its fonts beside it rather than in the project).
        fetcher=SandboxFetcher([config.root, layout.BUILTIN, the_brand.path.parent, *the_brand.files()]),
    )

    # 4-6. Make each edition: render the HTML, typeset, post-process into PDF bytes.
    made = [make(pub) for make in makers]

    # 7. Write, atomically.
    results = []
    for edition in made:
        write_atomic(edition.path, edition.pdf)
        result = BuildResult(path=edition.path, pages=edition.pages, size=len(edition.pdf), seconds=time.perf_counter() - started)
        log.info("Wrote %s: %d pages, %s, in %.1f s", _shown(edition.path), result.pages, _size(result.size), result.seconds)
        results.append(result)

    # 8. Preflight what was written, as a printer would.
    for edition in made:
        if edition.html is None:
            continue
        findings = check_output(edition.path, brand=the_brand, sections=sections, html=edition.html, edition=edition.name)
        if findings:
            log.warning("Preflight of the %s edition: %s; run `booklet preflight` for the report", edition.name, summary(findings))
        else:
            log.info("Preflight of the %s edition: clean", edition.name)
    return results


def _read_content(config: Config, brand: Brand) -> tuple[list[Section], Timeline | None, str | None]:
    """The sections, the timeline and the section it follows (None: the centre); every problem is reported at once."""
    errors: list[BookletError] = []
    sections: list[Section] = []
    timeline = after = None
    try:
        sections = read_sections(config)
    except BookletError as exc:
        errors.append(exc)
    try:
        timeline = load_timeline(config.timeline.file, brand.colors, brand.tags)
    except BookletError as exc:
        errors.append(exc)
    if sections and timeline is not None:
        try:
            after = check_placement(config.timeline.after, sections, config.path)
        except BookletError as exc:
            errors.append(exc)
    raise_all(errors)
    return sections, timeline, after


# ---- Editions ---------------------------------------------------------------


def print_edition(pub: Project) -> Edition:
    """The booklet for the press: full bleed, the timeline's spreads in place, padded to a multiple of four."""
    config, env = pub.config, pub.env
    context = pub.context
    if pub.timeline is not None:
        spreads = timeline_layout.plan_spreads(pub.timeline, _geometry(config), _measurer(pub))
        placement = _place_spreads(pub, len(spreads))
        log.info(
            "Timeline: %d spread(s) from page %d, after %s%s",
            len(spreads),
            placement.start,
            placement.after,
            ", with a filler page before it" if placement.filler else "",
        )
        context = {
            **context,
            "timeline": pub.timeline,
            "spreads": spreads,
            "timeline_at": placement.after,
            "timeline_filler": placement.filler,
        }

    html = layout.publication_html(env, context, templates_dir=config.templates_dir)
    log.info("Typesetting...")
    document = _typeset(pub, html)
    if pub.timeline is not None:
        document, html = _make_spreads_face(pub, context, document, html)

    # Pad to a multiple of four before the back cover, then make the PDF bytes.
    missing = typeset.padding_needed(len(document.pages))
    if missing:
        log.info("Adding %d blank page(s) before the back cover for a multiple of 4", missing)
        padding_html = layout.publication_html(
            env, {**context, "count": missing}, templates_dir=config.templates_dir, template="blank.html"
        )
        padding = typeset.render(padding_html, base=config.root, fetcher=pub.fetcher)
        document = typeset.pad_before_last(document, padding, missing)
    pdf = typeset.write_pdf(document, identity=_identity(html, pub.fetcher), describe=functools.partial(_source_of, pub=pub))
    return Edition(config.out_dir / f"{config.name}-print.pdf", pdf, len(document.pages), name="print", html=html)


def timeline_edition(pub: Project) -> Edition:
    """The timeline alone on one landscape sheet, A4 or A3 as [timeline] handout_size says: a handout."""
    config = pub.config
    if pub.timeline is None:
        raise ConfigError(
            "the timeline edition needs the timeline's data, and there is none",
            file=config.path,
            key="timeline.file",
            hint="create content/timeline.yaml (see the README's Timeline section), or set [timeline] file",
        )
    size = config.timeline.handout_size
    sheet = timeline_layout.plan_handout(pub.timeline, size, _measurer(pub, handout=True))
    context = {
        **pub.context,
        "timeline": pub.timeline,
        "sheet": sheet,
        "handout": size,
        "margin": timeline_layout.HANDOUT_MARGIN,
        "head_share": timeline_layout.HANDOUT_HEAD,
    }
    html = layout.publication_html(pub.env, context, templates_dir=config.templates_dir, template="handout.html")
    log.info("Typesetting the timeline handout...")
    document = _typeset(pub, html)
    if len(document.pages) != 1:
        raise TemplateError(
            f"the timeline handout came out as {len(document.pages)} pages, not one",
            hint="a layout override (handout.html or a *.css in templates/) probably moved or enlarged its blocks",
        )
    pdf = typeset.write_pdf(document, identity=_identity(html, pub.fetcher), describe=functools.partial(_source_of, pub=pub))
    return Edition(config.out_dir / f"{config.name}-timeline.pdf", pdf, len(document.pages), name="timeline")


# The editions `booklet build --edition NAME` makes (print when none is named), each from the checked project.
EDITIONS: dict[str, Callable[[Project], Edition]] = {
    "print": print_edition,
    "timeline": timeline_edition,
}


def editions_to_make(names: Sequence[str]) -> list[Callable[[Project], Edition]]:
    """The makers of the named editions, each once, in order; an unknown name is an error before anything is read."""
    for name in names:
        if name not in EDITIONS:
            raise BookletError(f"unknown edition '{name}'", hint=f"editions: {', '.join(EDITIONS)}")
    return [EDITIONS[name] for name in dict.fromkeys(names or ("print",))]


# ---- The timeline in the booklet ----------------------------------------------


def _geometry(config: Config) -> timeline_layout.Geometry:
    page = config.page
    return timeline_layout.Geometry(
        width=page.width,
        height=page.height,
        outer=page.margins.outer,
        top=page.margins.top,
        bottom=page.margins.bottom,
        gutter=config.timeline.gutter,
    )


def _measurer(pub: Project, *, handout: bool = False) -> timeline_layout.Measure:
    """Heights of timeline blocks as WeasyPrint sets them, with the publication's own templates and styles."""

    def measure(probes: Sequence[timeline_layout.Probe]) -> list[float]:
        items = [
            {
                "kind": probe.kind,
                "width": probe.width,
                "label": timeline_layout.Label(probe.event, 0.0, probe.width, False, "right") if probe.event else None,
                "row": timeline_layout.Row(0.0, (), ()),
            }
            for probe in probes
        ]
        html = layout.publication_html(
            pub.env,
            {**pub.context, "timeline": pub.timeline, "probes": items, "for_handout": handout},
            templates_dir=pub.config.templates_dir,
            template="timeline-measure.html",
        )
        anchors: dict[str, tuple[float, float, float, float]] = {}
        for page in _typeset(pub, html).pages:
            anchors.update(page.anchors)
        # Anchors are border boxes (x0, y0, x1, y1) in CSS pixels.
        return [(anchors[f"probe-{i}"][3] - anchors[f"probe-{i}"][1]) * MM_PER_UNIT["px"] for i in range(len(probes))]

    return measure


def _place_spreads(pub: Project, count: int) -> timeline_layout.Placement:
    """Typeset the booklet without the timeline to learn where each section ends, then choose where the spreads go."""
    html = layout.publication_html(pub.env, {**pub.context, "timeline_marks": True}, templates_dir=pub.config.templates_dir)
    document = _typeset(pub, html)
    ends = {}
    for number, page in enumerate(document.pages, start=1):
        for anchor in page.anchors:
            if anchor.startswith("end-"):
                ends[anchor.removeprefix("end-")] = number
    order = [section.slug for section in pub.sections]
    if any(slug not in ends for slug in order):
        raise TemplateError(
            "booklet.html does not mark where each section ends, so the timeline cannot be placed",
            hint="keep the built-in's timeline_marks and timeline.html lines in the section loop of your booklet.html",
        )
    return timeline_layout.place(
        section_ends=ends, order=order, pages=len(document.pages), spreads=count, after=pub.timeline_after, dividers=pub.context["dividers"]
    )


def _make_spreads_face(pub: Project, context: dict[str, Any], document: Document, html: str) -> tuple[Document, str]:
    """Make sure the spreads start on a verso; if a layout override moved them, flip the filler page and typeset again."""
    start = _page_of(document, "timeline")
    if start is None or start % 2 == 0:
        return document, html
    log.debug("The timeline landed on page %d, a recto; typesetting again with the filler page flipped", start)
    flipped = {**context, "timeline_filler": not context["timeline_filler"]}
    html = layout.publication_html(pub.env, flipped, templates_dir=pub.config.templates_dir)
    document = _typeset(pub, html)
    start = _page_of(document, "timeline")
    if start is not None and start % 2 == 1:
        log.warning("the timeline's spread starts on page %d, a recto, so its pages do not face each other", start)
    return document, html


def _page_of(document: Document, anchor: str) -> int | None:
    for number, page in enumerate(document.pages, start=1):
        if anchor in page.anchors:
            return number
    return None


def _typeset(pub: Project, html: str) -> Document:
    return typeset.render(html, base=pub.config.root, fetcher=pub.fetcher, describe=lambda url: _source_of(url, pub))


# ---- Helpers ------------------------------------------------------------------


def _identity(html: str, fetcher: SandboxFetcher) -> bytes:
    """A digest of everything the PDF is made from: the HTML and every file it pulled in."""
    digest = hashlib.sha256(html.encode("utf-8"))
    for path in sorted(fetcher.fetched):
        digest.update(path.read_bytes())
    return digest.digest()


def _source_of(url: str, pub: Project) -> str:
    """The source file that holds ``url`` (or its path), for naming it in an error."""
    path = unquote(urlsplit(url).path)
    for section in pub.sections:
        if url in section.html or (path and path in section.html):
            return display_path(section.source)
    if pub.timeline is not None and any(e.image is not None and e.image.as_uri() == url for e in pub.timeline.events):
        return display_path(pub.timeline.source)
    return "a template or stylesheet"


def preflight(
    project: Path, *, out_dir: Path | None = None, brand: Path | None = None, edition: str = "print"
) -> tuple[Path, list[Finding]]:
    """Check the last built ``edition`` against its sources, without building it again."""
    config = load_config(project, brand=brand, out_dir=out_dir)
    the_brand = load_brand(config.brand)
    sections = read_sections(config)
    target = config.out_dir / f"{config.name}-{edition}.pdf"
    if not target.is_file():
        raise BookletError(f"{_shown(target)} does not exist", hint="build it first with `booklet build`")
    env = layout.environment(config.templates_dir)
    html = layout.publication_html(env, layout.publication_context(config, the_brand, sections), templates_dir=config.templates_dir)
    return target, check_output(target, brand=the_brand, sections=sections, html=html, edition=edition)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _size(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


__all__ = ["EDITIONS", "BuildResult", "Config", "build"]
