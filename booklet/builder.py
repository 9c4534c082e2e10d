"""The build: load config, read all content, check it, then make each edition: render HTML, typeset, post-process, write."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import pickle
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

import jinja2

from booklet import fresh, layout, output, parts, sandbox, timeline_layout, typeset
from booklet.brand import Brand, load_brand
from booklet.config import Config, load_config
from booklet.content import Section, read_sections
from booklet.errors import BookletError, ConfigError, ContentError, TemplateError, counted, display_path, raise_all
from booklet.limits import check_file_size, deadline
from booklet.output import write_atomic
from booklet.preflight import Ahead, Finding, Layer, check_layers_ahead, check_output, rules_for, summary
from booklet.sandbox import cache_url
from booklet.timeline import Timeline, check_placement, load_timeline
from booklet.units import MM_PER_UNIT

if TYPE_CHECKING:
    from weasyprint import Document

    from booklet.sandbox import SandboxFetcher

log = logging.getLogger(__name__)

CACHE = ".cache"  # below the output folder: processed images and CMYK copies of vector art


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
    roots: tuple[Path, ...]  # the folders the fetcher serves files from
    cache: Path
    # Typeset in one pass instead of in parts (the reference, and the fallback).
    single_pass: bool = False
    # What one edition computes and another reuses (the timeline's placement, the screen edition's bytes).
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def fetcher(self) -> SandboxFetcher:
        """The one URL fetcher, made when something is first typeset."""
        if "fetcher" not in self.memo:
            self.memo["fetcher"] = sandbox.SandboxFetcher(list(self.roots), cache=self.cache)
        return self.memo["fetcher"]


@dataclass(frozen=True)
class Edition:
    """One made edition, not yet written."""

    path: Path
    pdf: bytes
    pages: int
    name: str = "print"
    html: str | None = None
    cmyk: bool = False
    # What each page is drawn from, when the builder knows it (typeset in parts): preflight checks each layer once.
    layers: tuple[tuple[Layer, ...], ...] | None = None
    # Each section's first page (its heading's) and its source file, when the builder knows them.
    section_starts: tuple[tuple[int, str], ...] | None = None
    # Its layers' preflight, started while the pages were joined.
    ahead: Ahead | None = field(default=None, compare=False, repr=False)


def build(
    project: Path,
    *,
    out_dir: Path | None = None,
    brand: Path | None = None,
    editions: Sequence[str] = (),
    single_pass: bool = False,
    html: bool = False,
    replay: bool = True,
) -> list[BuildResult]:
    """Build the publication's editions in ``project`` (the config's when none are named).

    Nothing is written unless every phase of every edition succeeds. When no input changed since
    the last build, its report is said again and nothing is done, unless ``replay`` is false: then
    every phase runs (finding its parts in the cache), as a long-lived process starting up wants.
    A one-off build (the command line's) runs inside ``parts.early_workers``: its workers start first.
    """
    started = time.perf_counter()
    if editions:
        editions_to_make(editions)  # an unknown name is an error before anything is read

    # 1. Load the config (nothing more when no input changed since the last build) and the brand.
    config = load_config(project, brand=brand, out_dir=out_dir)
    makers = editions_to_make(editions or config.editions)
    inputs = fresh.inputs_digest(config, options=fresh.options(config, editions=editions, single_pass=single_pass, html=html))
    if replay and fresh.replay(config, inputs):
        return []
    fresh.forget(config)
    # Every warning of this build is said again by a build that finds nothing changed (and fails it under --strict).
    report: list[tuple[int, str]] = []
    with fresh.Recording(report), output.later() as caches:
        results = _build(config, makers, report=report, inputs=inputs, started=started, single_pass=single_pass, html=html)
    output.flush(caches)
    return results


def _build(
    config: Config,
    makers: list[Callable[[Project], Edition]],
    *,
    report: list[tuple[int, str]],
    inputs: str,
    started: float,
    single_pass: bool,
    html: bool,
) -> list[BuildResult]:
    """The build's phases, in order: brand, content, editions, writing, preflight; then the stamp for the next build."""
    log.info("Loaded %s (brand %s)", config.path.name, display_path(config.brand))
    the_brand = load_brand(config.brand, cache=config.out_dir / CACHE)

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
        env=layout.environment(config.templates_dir, cache=config.out_dir / CACHE / "templates"),
        context=layout.publication_context(config, the_brand, sections),
        # Served: the project, booklet's own layouts, and the brand's folder and the very files it names
        # (a brand chosen with --brand may keep its fonts beside it rather than in the project).
        roots=(config.root, layout.BUILTIN, the_brand.path.parent, *the_brand.files(), config.print.profile),
        cache=config.out_dir / CACHE,
        single_pass=single_pass,
    )

    # 4-6. Make each edition: render the HTML, typeset, post-process into PDF bytes.
    # Untrusted content can make the typesetter run for hours; the limit stops it before anything is written.
    made = []
    with deadline(
        config.limits.timeout,
        what="making the editions",
        file=config.path,
        key="limits.timeout",
        hint=f"raise it in {config.path.name}, in seconds: [limits] timeout = {max(600, round(config.limits.timeout * 2))}",
    ):
        try:
            for make in makers:
                edition = make(pub)
                log.info("Made the %s edition: %s, %s", edition.name, counted(edition.pages, "page"), _size(len(edition.pdf)))
                made.append(edition)
        finally:
            if "measure_reuse" in pub.memo:
                pub.memo.pop("measure_reuse").close()

    # 7. Write, atomically; then note what each edition was made from, for the next build.
    results = []
    written: list[tuple[int, str]] = []
    for edition in made:
        write_atomic(edition.path, edition.pdf)
        if html and edition.html is not None:
            reference = edition.path.with_suffix(".html")
            write_atomic(reference, reference_html(edition.html, folder=reference.parent, cache=pub.cache).encode("utf-8"))
            log.info("Wrote %s", _shown(reference))
    for stamp, text in pub.memo.get("stamps", []):
        stamp.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(stamp, text.encode())
    for edition in made:
        result = BuildResult(path=edition.path, pages=edition.pages, size=len(edition.pdf), seconds=time.perf_counter() - started)
        log.info("Wrote %s: %s, %s, in %.1f s", _shown(edition.path), counted(result.pages, "page"), _size(result.size), result.seconds)
        written.append((logging.INFO, f"{_shown(edition.path)}: {counted(result.pages, 'page')}, {_size(result.size)}"))
        results.append(result)

    # 8. Preflight what was written, as a printer would (once for given bytes and sources).
    for edition in made:
        if edition.html is None:
            continue
        stored = (
            pub.cache / "preflight" / f"{parts.key_of(edition.name, edition.pdf, edition.html, _inputs_digest(pub, edition.html))}.pickle"
        )
        findings = _load(stored)
        if findings is None:
            findings = check_output(
                edition.path,
                brand=the_brand,
                sections=sections,
                html=edition.html,
                edition=edition.name,
                expect_cmyk=edition.cmyk,
                cache=_page_cache(pub, edition.name),
                layers=edition.layers,
                section_starts=edition.section_starts,
                coverage_cache=pub.cache / "preflight" / "coverage.pickle",
                ahead=edition.ahead,
            )
            _store(stored, findings)
        if findings:
            log.warning("Preflight of the %s edition: %s; run `booklet preflight` for the report", edition.name, summary(findings))
        else:
            written.append((logging.INFO, f"Preflight of the {edition.name} edition: clean"))
            log.info("Preflight of the %s edition: clean", edition.name)
    fresh.record(config, inputs, [edition.path for edition in made], [*written, *report])
    return results


def _page_cache(pub: Project, edition: str) -> Path:
    """Where what preflight saw on each page (or layer) of ``edition`` is kept for the next build."""
    return pub.cache / "preflight" / f"{edition}-pages.pickle"


def _load(path: Path) -> Any:
    """A value _store kept, or None when there is none (or it cannot be read)."""
    try:
        return pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None


def _store(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), sync=False)


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
        if config.timeline.file is not None:
            check_file_size(config.timeline.file, limit=config.limits.file_size, config=config.path, kind="timeline file")
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


@dataclass(frozen=True)
class Look:
    """How an edition renders the booklet: bleed, colour, PDF flavour and image resolution."""

    name: str
    bleed: bool
    cmyk: bool
    variant: str | None
    max_ppi: float


PRINT = Look("print", bleed=True, cmyk=True, variant="pdf/x-4", max_ppi=300)
SCREEN = Look("screen", bleed=False, cmyk=False, variant="pdf/ua-1", max_ppi=150)


def print_edition(pub: Project) -> Edition:
    """For the press: PDF/X-4 in CMYK through the output profile, full bleed, TrimBox and BleedBox."""
    return _booklet(pub, PRINT)


def screen_edition(pub: Project) -> Edition:
    """To e-mail and read on screen: sRGB, no bleed, images at 150 ppi, tagged (PDF/UA-1)."""
    if "screen" not in pub.memo:
        pub.memo["screen"] = _booklet(pub, SCREEN)
    return pub.memo["screen"]


def handout_edition(pub: Project) -> Edition:
    """For an office printer: the screen edition imposed 2-up for duplex, fold and staple."""
    from booklet.impose import impose

    settings = pub.config.handout
    screen = screen_edition(pub)
    path = pub.config.out_dir / f"{pub.config.name}-handout.pdf"
    stored = pub.cache / "editions" / f"{parts.key_of('handout', screen.pdf, repr(settings))}.pdf"
    if stored.is_file():
        pdf = stored.read_bytes()
        return Edition(path, pdf, _page_count(pdf), name="handout")
    imposed = impose(screen.pdf, sheet=settings.sheet, duplex=settings.duplex, creep_mm=settings.creep, pad="before-last")
    stored.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(stored, imposed.pdf)
    if imposed.scale != 1:
        log.info("Handout: pages scaled to %.0f%% to fit the %s sheet", imposed.scale * 100, settings.sheet.upper())
    return Edition(path, imposed.pdf, imposed.sheets * 2, name="handout")


def _page_count(pdf: bytes) -> int:
    import io

    import pypdf

    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _booklet(pub: Project, look: Look) -> Edition:
    """The booklet in one look: typeset in parts, or in one pass when asked or when the layout has no part markers."""
    if not pub.single_pass:
        try:
            return _booklet_in_parts(pub, look)
        except parts.PartsUnsupported as exc:
            log.info("Typesetting the %s edition in one pass: %s", look.name, exc)
    return _booklet_single_pass(pub, look)


def _look_context(pub: Project, look: Look, context: dict[str, Any]) -> dict[str, Any]:
    """The templates' context for one look: no bleed on screen, colours through the profile for print."""
    context = dict(context)
    if not look.bleed:
        context["page"] = replace(pub.config.page, bleed=0.0)
    context["color"] = None
    if look.cmyk:
        context["color"] = pub.brand.cmyk_css(_profile(pub))
        context["color_profile"] = pub.config.print.profile.as_uri()
    return context


def _booklet_in_parts(pub: Project, look: Look) -> Edition:
    """The booklet typeset in parts, in worker processes, each reused from the cache while its inputs are unchanged.

    The result is the same, page for page, as _booklet_single_pass's.
    """
    config, env = pub.config, pub.env
    sections = [section.slug for section in pub.sections]
    dividers = bool(pub.context["dividers"])
    context = _look_context(pub, look, dict(pub.context))
    digest = functools.partial(_inputs_digest, pub)
    cache = parts.Cache(pub.cache / "parts")
    path = config.out_dir / f"{config.name}-{look.name}.pdf"
    # How preflight judges this edition's pages, and what it saw of them last time: the layers are read ahead with them.
    rules, page_cache = rules_for(pub.brand, edition=look.name, expect_cmyk=look.cmyk), _page_cache(pub, look.name)
    # The parts the last build of this edition joined: read ahead while the workers typeset, as this build is likely to join them too.
    joined = pub.cache / "editions" / f"{path.name}.parts"
    try:
        joined_before = joined.read_text(encoding="utf-8").split()
    except OSError:
        joined_before = []

    def html_for(extra: dict[str, Any]) -> parts.Split:
        html = layout.publication_html(env, {**context, **extra}, templates_dir=config.templates_dir)
        if look.cmyk:
            html = _vector_art_in_cmyk(pub, html)
        return parts.split(html)

    # 1. The parts, with the timeline (its filler page and spreads) after the first section for now.
    # Laying out the timeline's spreads typesets blocks to measure them (for a second or two, when
    # they are not in the cache); the sections do not depend on the spreads, so the workers start on them first.
    with contextlib.ExitStack() as stack:
        runner = None
        if pub.timeline is not None and "spreads" not in pub.memo:
            early = html_for({})
            early_head = digest(early.head)
            runner = stack.enter_context(parts.Runner(_part_setup(pub, look, head=early_head), cache, hints=joined_before))
            _measure_ahead(pub, runner)
            runner.ahead([_content_job(early, look, early_head, digest, group) for group in _section_groups(early)])
        has_timeline = pub.timeline is not None and bool(_spreads(pub))
        if has_timeline:
            context.update(timeline=pub.timeline, spreads=_spreads(pub))
        draft = {"timeline_at": sections[0] if sections else None, "timeline_filler": True} if has_timeline else {}
        split = html_for(draft)
        expected = {"front", "back", *(f"section-{slug}" for slug in sections)} | (
            {"timeline", "timeline-filler"} if has_timeline else set()
        )
        if {part.name for part in split.parts} != expected:
            raise parts.PartsUnsupported("booklet.html does not mark every part")
        side = {part.name: part.side for part in split.parts}
        head_digest = digest(split.head)

        def content_job(group: Sequence[parts.Part]) -> parts.Job:
            return _content_job(split, look, head_digest, digest, group)

        groups = [[part] for part in split.parts if not part.name.startswith("section-")]
        first_sections = len(groups)
        groups += _section_groups(split)
        if runner is None:
            runner = stack.enter_context(parts.Runner(_part_setup(pub, look, head=head_digest), cache, hints=joined_before))
        jobs = [content_job(group) for group in groups]
        # The front matter and the first group of sections: between them, every face and stylesheet, for warm_up.
        parts.remember(runner.setup, [jobs[0], *jobs[first_sections : first_sections + 1]])
        done = runner.run(jobs)
        content_typeset = runner.typeset
        where: dict[str, parts.Slice] = {}
        for group, job in zip(groups, jobs, strict=True):
            where.update(parts.slices(done[job.key], [part.name for part in group]))
        count = {name: piece.count for name, piece in where.items()}

        # 2. Where everything goes: the timeline placed as in one pass, a blank page where a part wants the other side.
        order = ["front", *(f"section-{slug}" for slug in sections)]
        if has_timeline:
            starts, total = _paginate([*order, "back"], count, side)
            ends = {slug: starts[f"section-{slug}"] + count[f"section-{slug}"] - 1 for slug in sections}
            placement = timeline_layout.place(
                section_ends=ends, order=sections, pages=total, spreads=len(context["spreads"]), after=pub.timeline_after, dividers=dividers
            )
            log.info(
                "Timeline: %d spread(s) from page %d, after %s%s",
                len(context["spreads"]),
                placement.start,
                placement.after,
                ", with a filler page before it" if placement.filler else "",
            )
            at = order.index(f"section-{placement.after}") + 1
            order[at:at] = ["timeline-filler", "timeline"] if placement.filler else ["timeline"]
            context.update(timeline_at=placement.after, timeline_filler=placement.filler)
        order.append("back")
        starts, total = _paginate(order, count, side)

        # 3. The pages in order, with blank pages and the padding (the front matter is the draft's for now).
        blank_style = parts.NO_FURNITURE + parts.SPACER_STYLE
        pages: list[tuple[str, parts.Slice | parts.Job]] = []
        page = 1
        for name in order:
            if _wrong_side(page, side[name]):
                blank_side = "right" if page % 2 == 1 else "left"
                spacers = parts.spacers_for(blank_side)
                follower = "left" if blank_side == "right" else "right"
                html = split.document(parts.spacer_html(spacers) + f'<div style="break-before: {follower}"></div>', style=blank_style)
                pages.append(("blank", parts.Job(parts.key_of("blank", look.name, html, head_digest), html, spacers, whole=True, keep=1)))
                page += 1
            pages.append((name, where[name]))
            page += count[name]
        missing = typeset.padding_needed(page - 1)
        padding_html = None
        if missing:
            log.info("Adding %d blank page(s) before the back cover for a multiple of 4", missing)
            html = padding_html = layout.publication_html(
                env, {**context, "count": missing}, templates_dir=config.templates_dir, template="blank.html"
            )
            pages.insert(
                len(pages) - 1, ("padding", parts.Job(parts.key_of("padding", look.name, html, digest(html)), html, 0, whole=True))
            )
        # The front matter again, now that the contents page can be given its page numbers: started with
        # the blank pages, so that no worker waits while those are made and the running heads are worked out.
        numbers = {slug: starts[f"section-{slug}"] + (1 if dividers else 0) for slug in sections}
        if "timeline" in starts:
            numbers["timeline"] = starts["timeline"]
        final = html_for(
            {"timeline_at": context.get("timeline_at"), "timeline_filler": context.get("timeline_filler"), "page_numbers": numbers}
        )
        front = final.part("front")
        assert front is not None
        front_job = content_job([front])
        blanks = [job for _, job in pages if isinstance(job, parts.Job)]
        runner.ahead([front_job, *blanks])
        made = runner.run(blanks)
        slices = [item if isinstance(item, parts.Slice) else parts.Slice(made[item.key], 0, len(made[item.key].pages)) for _, item in pages]

        # 4. The running heads and folios, typeset beside the front matter; they are drawn from the draft's
        # pages, which the numbers rarely change.
        furniture_runs = _furniture_jobs(split, look, slices, head_digest)
        at = next(index for index, (name, _) in enumerate(pages) if name == "front")
        last_jobs = [front_job, *(job for _, job in furniture_runs)]
        reading = None
        if runner.ahead(last_jobs):
            # Behind them, the workers check the layers of the pages made so far (the front matter's aside).
            reading = check_layers_ahead(
                [() if index == at else (layer,) for index, piece in enumerate(slices) for layer in _layers_of(piece)],
                rules=rules,
                cache=page_cache,
            )
        done = runner.run(last_jobs)
        draft_front, slices[at] = slices[at], parts.slices(done[front_job.key], ["front"])["front"]
        if slices[at].count != draft_front.count:
            raise parts.PartsUnsupported("the front matter's length changed with its page numbers")
        if _page_infos(slices[at]) != _page_infos(draft_front):
            furniture_runs = _furniture_jobs(split, look, slices, head_digest)
            done = runner.run([job for _, job in furniture_runs])
        furniture = _furniture(furniture_runs, done)
        log.info(
            "Typeset %d part document(s) for the %s edition, %d of its %d groups of content among them; the rest came from the cache",
            runner.typeset,
            look.name,
            content_typeset,
            len(jobs),
        )

    # 5. Join the parts into one PDF, with the links, outline and metadata of a single pass.
    images = {src: processed for piece in slices for src, processed in piece.content.images.items()}
    body = "".join(f"<!--booklet:part {part.name} {part.side}-->{part.body}" for part in _in_order(final, order))
    html = _with_padding(_swap_images(final.document(body), images), padding_html)
    marks = look.cmyk and config.print.marks
    identity = parts.key_of(look.name, html, digest(html), str(marks))
    # Each page: its part's page, and the running heads and folios drawn over it.
    below = [layer for piece in slices for layer in _layers_of(piece)]
    above = [
        Layer(source.key, source.pdf, page) if source.key else None for source, page in (item for item in furniture if item is not None)
    ]
    layers = None
    if len(above) == len(below) and all(above) and all(layer.key for layer in below):
        layers = tuple(zip(below, above, strict=True))
    # The workers are idle while this process joins the pages: they check the pages' layers meanwhile.
    ahead = None
    if layers is None and reading is not None:
        for future in reading.futures:
            future.cancel()  # the whole pages are checked instead
    if layers is not None:
        ahead = check_layers_ahead(layers, rules=rules, cache=page_cache, reading=reading)
    # Nothing changed since the last build: the PDF on disk is the one this build would join.
    stamp = pub.cache / "editions" / f"{path.name}.stamp"
    pdf = _unchanged(path, stamp, identity)
    if pdf is None:
        pdf = parts.join(
            slices,
            furniture,
            identity=identity.encode(),
            fonts=_declared_fonts(html, pub.roots),
            cache=pub.cache / "subsets",
            streams=pub.cache / "editions" / f"{path.name}.streams",
        )
        if marks:
            pdf = typeset.add_crop_marks(pdf, bleed=config.page.bleed)
        pub.memo.setdefault("stamps", []).append((stamp, f"{identity} {hashlib.sha256(pdf).hexdigest()}"))
        used = dict.fromkeys([piece.content.key for piece in slices] + [source.key for source, _ in (item for item in furniture if item)])
        pub.memo["stamps"].append((joined, "\n".join(key for key in used if key)))
    else:
        log.info("The %s edition is unchanged", look.name)
    section_starts = tuple((numbers[section.slug], display_path(section.source)) for section in pub.sections)
    return Edition(
        path,
        pdf,
        sum(piece.count for piece in slices),
        name=look.name,
        html=html,
        cmyk=look.cmyk,
        layers=layers,
        section_starts=section_starts,
        ahead=ahead,
    )


def _content_job(split: parts.Split, look: Look, head_digest: str, digest: Callable[[str], str], group: Sequence[parts.Part]) -> parts.Job:
    """The document that typesets ``group``, consecutive parts of ``split``, without furniture, on the side the first wants."""
    spacers = parts.spacers_for(group[0].side)
    body = "".join(parts.with_marker(part) for part in group)
    # Links into other parts get stand-in anchors here, so they are kept; the joined PDF points them home.
    stand_ins = tuple(_foreign_targets(body))
    html = split.document(parts.spacer_html(spacers) + body + parts.anchors_html(stand_ins), style=parts.NO_FURNITURE + parts.SPACER_STYLE)
    key = parts.key_of("content", look.name, html, head_digest, digest(body))
    return parts.Job(key, html, spacers, side=group[0].side, stand_ins=stand_ins)


def _section_groups(split: parts.Split) -> list[list[parts.Part]]:
    return parts.chunks([part for part in split.parts if part.name.startswith("section-")], workers=parts.workers())


_FONT_FACE = re.compile(r"""@font-face\s*\{[^}]*?\bsrc:\s*url\(["']?(file://[^"')]+)""")


def _declared_fonts(html: str, roots: Sequence[Path]) -> list[Path]:
    """The font files the publication's @font-face rules name, of those the sandbox serves."""
    paths = [Path(unquote(urlsplit(url).path)).resolve() for url in dict.fromkeys(_FONT_FACE.findall(html))]
    allowed = [root.resolve() for root in roots]
    return [path for path in paths if any(path.is_relative_to(root) for root in allowed)]


_URL = re.compile(r"""(?:file://|booklet-cache:/)[^\s"')<>]+""")


def reference_html(html: str, *, folder: Path, cache: Path) -> str:
    """``html`` with every file it uses named relative to ``folder``, where it is written: plain WeasyPrint renders it."""

    def relative(match: re.Match[str]) -> str:
        url = match[0]
        path = cache / unquote(urlsplit(url).path).lstrip("/") if url.startswith("booklet-cache:") else Path(unquote(urlsplit(url).path))
        return quote(os.path.relpath(path, folder).replace(os.sep, "/"))

    return _URL.sub(relative, html)


def _with_padding(html: str, padding_html: str | None) -> str:
    """The publication's HTML with the padding pages before the back cover, as the PDF has them."""
    if padding_html is None:
        return html
    body = re.search(r"<body\b[^>]*>(.*)</body>", padding_html, re.DOTALL)
    back = parts.MARK.search(html, html.find("<!--booklet:part back "))
    if body is None or back is None or back[1] != "back":
        return html
    return html[: back.start()] + body[1] + html[back.start() :]


def _unchanged(path: Path, stamp: Path, identity: str) -> bytes | None:
    """The bytes of ``path`` if the last build wrote them from inputs with ``identity`` and they are untouched since."""
    try:
        recorded = stamp.read_text(encoding="utf-8").split()
        data = path.read_bytes()
    except OSError:
        return None
    if recorded == [identity, hashlib.sha256(data).hexdigest()]:
        return data
    return None


def _part_setup(pub: Project, look: Look, *, head: str) -> parts.Setup:
    return parts.Setup(
        base=pub.config.root,
        roots=tuple(root.resolve() for root in pub.roots),
        cache=pub.cache,
        variant=look.variant,
        max_ppi=look.max_ppi,
        cmyk=look.cmyk,
        profile=pub.config.print.profile if look.cmyk else None,
        intent=pub.config.print.intent,
        describe=functools.partial(_source_of, pub=pub),
        head=head,
    )


def _in_order(split: parts.Split, order: Sequence[str]) -> list[parts.Part]:
    """The parts of ``split`` in reading order (the timeline where it was placed); the single pass's HTML."""
    by_name = {part.name: part for part in split.parts}
    return [by_name[name] for name in order if name in by_name]


def _layers_of(piece: parts.Slice) -> list[Layer]:
    """The pages of ``piece`` as the layers preflight checks."""
    return [Layer(piece.content.key, piece.content.pdf, piece.first + index) for index in range(piece.count)]


def _page_infos(piece: parts.Slice) -> tuple[parts.PageInfo, ...]:
    return piece.content.pages[piece.first : piece.first + piece.count]


def _furniture_jobs(
    split: parts.Split, look: Look, slices: Sequence[parts.Slice], head_digest: str
) -> list[tuple[tuple[int, int], parts.Job]]:
    """The documents that draw the running heads and folios over every page: runs of whole parts, one page for each page."""
    infos: list[parts.PageInfo] = []
    bounds = []
    after_blank = False
    for piece in slices:
        pages = _page_infos(piece)
        blank = all(info.blank for info in pages)
        # A blank page goes with the part after it: the furniture document makes it as a single pass
        # does, by forcing that part's side, so a run never ends on one.
        if not after_blank:
            bounds.append(len(infos))
        after_blank = blank
        infos.extend(pages)
    style = parts.FURNITURE_ONLY + parts.SPACER_STYLE
    jobs = []
    carried: dict[str, str] = {}
    for first, end in parts.runs(bounds, len(infos)):
        page = first + 1
        side_of_first = "right" if page % 2 == 1 else "left"
        spacers = parts.spacers_for("first" if page == 1 else side_of_first)
        body = parts.spacer_html(spacers, carried=carried) + parts.furniture_body(infos[first:end])
        html = split.document(body, style=style + parts.first_folio_style(page - spacers))
        jobs.append(((first, end), parts.Job(parts.key_of("furniture", look.name, html, head_digest), html, spacers, furniture=True)))
        for info in infos[first:end]:
            carried.update(info.strings)
    return jobs


def _furniture(runs: Sequence[tuple[tuple[int, int], parts.Job]], done: dict[str, parts.Typeset]) -> list[tuple[parts.Typeset, int] | None]:
    """For each page of the publication, the furniture page drawn over it."""
    out: list[tuple[parts.Typeset, int] | None] = []
    for (first, end), job in runs:
        result = done[job.key]
        if len(result.pages) != end - first:
            raise parts.PartsUnsupported("the running heads and folios came out on a different number of pages")
        out.extend((result, number) for number in range(end - first))
    return out


def _paginate(order: Sequence[str], count: dict[str, int], side: dict[str, str]) -> tuple[dict[str, int], int]:
    """Each part's first page, with a blank page before a part whose first page would fall on the wrong side."""
    starts = {}
    page = 1
    for name in order:
        if _wrong_side(page, side[name]):
            page += 1
        starts[name] = page
        page += count[name]
    return starts, page - 1


def _wrong_side(page: int, side: str) -> bool:
    # Page 1 is a recto (right), so versos (left) are even.
    return (side == "left" and page % 2 == 1) or (side == "right" and page % 2 == 0)


_HREF = re.compile(r"""\bhref\s*=\s*(["'])#([^"']+)\1""")
_ID = re.compile(r"""\bid\s*=\s*(["'])([^"']+)\1""")


def _foreign_targets(body: str) -> list[str]:
    """The internal link targets a part points to that it does not hold itself."""
    own = {match[2] for match in _ID.finditer(body)}
    return sorted({match[2] for match in _HREF.finditer(body)} - own)


def _inputs_digest(pub: Project, text: str) -> str:
    """A digest of the files ``text`` refers to (and, for stylesheets, the files they refer to)."""
    memo = pub.memo.setdefault("file-digests", {})
    digest = hashlib.sha256()
    for url in sorted(set(_FILE_URL.findall(text))):
        if url not in memo:
            path = Path(unquote(urlsplit(url).path))
            try:
                data = path.read_bytes()
            except OSError:
                data = b"missing"
            memo[url] = hashlib.sha256(data).hexdigest()
            if path.suffix.lower() == ".css":
                inner = _inputs_digest(pub, data.decode("utf-8", "replace")) if url not in pub.memo.setdefault("css-seen", set()) else ""
                pub.memo["css-seen"].add(url)
                memo[url] += inner
        digest.update(url.encode() + memo[url].encode())
    return digest.hexdigest()


_FILE_URL = re.compile(r"""file://[^\s"')<>]+""")


def _booklet_single_pass(pub: Project, look: Look) -> Edition:
    """The booklet in one look: the timeline's spreads in place, images made for the look, padded to a multiple of four."""
    config, env = pub.config, pub.env
    context = dict(_booklet_context(pub))
    if not look.bleed:
        context["page"] = replace(config.page, bleed=0.0)
    to_cmyk = None
    if look.cmyk:
        profile = _profile(pub)
        to_cmyk = pub.brand.cmyk_css(profile)
        context["color_profile"] = config.print.profile.as_uri()
    context["color"] = to_cmyk

    html = layout.publication_html(env, context, templates_dir=config.templates_dir)
    if look.cmyk:
        html = _vector_art_in_cmyk(pub, html)
    log.info("Typesetting the %s edition...", look.name)
    document = _typeset(pub, html)
    if pub.timeline is not None:
        document, html = _make_spreads_face(pub, context, document, html)
        if look.cmyk:
            html = _vector_art_in_cmyk(pub, html)
    resampled = _raster_images(pub, html, document, look)
    if resampled != html:
        html = resampled
        document = _typeset(pub, html)

    # Pad to a multiple of four before the back cover, then make the PDF bytes.
    missing = typeset.padding_needed(len(document.pages))
    if missing:
        log.info("Adding %d blank page(s) before the back cover for a multiple of 4", missing)
        padding_html = layout.publication_html(
            env, {**context, "count": missing}, templates_dir=config.templates_dir, template="blank.html"
        )
        padding = typeset.render(padding_html, base=config.root, fetcher=pub.fetcher)
        document = typeset.pad_before_last(document, padding, missing)
        html = _with_padding(html, padding_html)
    pdf = typeset.write_pdf(
        document,
        identity=_identity(html, pub.fetcher) + look.name.encode(),
        variant=look.variant,
        describe=functools.partial(_source_of, pub=pub),
    )
    if look.cmyk and config.print.marks:
        pdf = typeset.add_crop_marks(pdf, bleed=config.page.bleed)
    path = config.out_dir / f"{config.name}-{look.name}.pdf"
    return Edition(path, pdf, len(document.pages), name=look.name, html=html, cmyk=look.cmyk)


def _booklet_context(pub: Project) -> dict[str, Any]:
    """The templates' context with the timeline placed; worked out once and shared by every look."""
    if "context" in pub.memo:
        return pub.memo["context"]
    context = pub.context
    if pub.timeline is not None:
        spreads = _spreads(pub)
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
    pub.memo["context"] = context
    return context


def _spreads(pub: Project) -> tuple[timeline_layout.Spread, ...]:
    """The timeline's events laid out over spreads; worked out once and shared by every look."""
    if "spreads" not in pub.memo:
        assert pub.timeline is not None
        pub.memo["spreads"] = timeline_layout.plan_spreads(pub.timeline, _geometry(pub.config), _measurer(pub))
        for future in pub.memo.pop("measured_ahead", {}).values():
            future.cancel()  # measured ahead for more spreads than they need
    return pub.memo["spreads"]


def _profile(pub: Project) -> Any:
    if "profile" not in pub.memo:
        from booklet.images import cmyk_profile

        pub.memo["profile"] = cmyk_profile(pub.config.print.profile, intent=pub.config.print.intent)
    return pub.memo["profile"]


_IMG = re.compile(r"""<img\b[^>]*>""", re.IGNORECASE)
_SRC = re.compile(r"""\bsrc\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)


def _vector_art_in_cmyk(pub: Project, html: str) -> str:
    """Point every SVG image at a copy whose colours are device-cmyk(), so vector art stays vector and CMYK."""
    from booklet.images import svg_to_cmyk

    profile = _profile(pub)
    converter = pub.brand.cmyk_css(profile)

    def cmyk(hex_color: str) -> tuple[float, float, float, float]:
        inner = converter(hex_color).removeprefix("device-cmyk(").removesuffix(")")
        c, m, y, k = (float(v) for v in inner.split())
        return c, m, y, k

    def convert(match: re.Match[str]) -> str:
        tag = match[0]
        src = _SRC.search(tag)
        if not src or not src[2].lower().endswith(".svg") or not src[2].startswith("file:"):
            return tag
        source = Path(unquote(urlsplit(src[2]).path))
        text = source.read_text(encoding="utf-8")
        digest = hashlib.sha256(text.encode() + profile.digest.encode() + repr(sorted(pub.brand.cmyk.items())).encode()).hexdigest()[:24]
        target = pub.cache / "svg" / f"{source.stem}-{digest}.svg"
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, svg_to_cmyk(text, cmyk).encode("utf-8"))
        return tag.replace(src[2], cache_url(f"svg/{target.name}"), 1)

    return _IMG.sub(convert, html)


def _raster_images(pub: Project, html: str, document: Document, look: Look) -> str:
    """Resample each raster image for the size it is placed at (and make it CMYK for print); the HTML that uses them."""
    from booklet.images import ImagePolicy, background_stand_in, process, raster_backgrounds

    placed = parts.placed_images(document.pages)
    backgrounds = raster_backgrounds(document.pages)
    if not placed and not backgrounds:
        return html
    policy = ImagePolicy(max_ppi=look.max_ppi, cmyk=look.cmyk)
    profile = _profile(pub) if look.cmyk else None

    def processed(src: str, size: tuple[float, float]) -> Any:
        source = Path(unquote(urlsplit(src).path))
        try:
            return process(source, placed_mm=size, policy=policy, cache=pub.cache / "images", profile=profile)
        except BookletError as exc:
            raise ContentError(f"{exc.message} ({display_path(source)})", file=Path(_source_of(src, pub)), hint=exc.hint) from None

    done: dict[str, tuple[str, float]] = {}
    for src, size in placed.items():
        result = processed(src, size)
        done[src] = (cache_url(f"images/{result.path.name}"), result.dpi)
    # Backgrounds are named in stylesheets, which are not rewritten: the fetcher serves the processed file instead.
    pub.fetcher.substitutes = {
        url: background_stand_in(processed(url, painted), intrinsic) for url, (painted, intrinsic) in backgrounds.items()
    }
    if backgrounds:
        # Names the processed files, so the typesetting is redone and the PDF's identity follows them.
        served = ", ".join(sorted(path.stem for path in pub.fetcher.substitutes.values()))
        html += f"\n<!-- background images for the {look.name} edition: {served} -->\n"

    return _swap_images(html, done)


def _swap_images(html: str, done: dict[str, tuple[str, float]]) -> str:
    """Point each processed image's <img> at its processed file, at the resolution that keeps its intrinsic size."""
    if not done:
        return html

    def swap(match: re.Match[str]) -> str:
        tag = match[0]
        src = _SRC.search(tag)
        if not src or src[2] not in done:
            return tag
        new, dpi = done[src[2]]
        tag = tag.replace(src[2], new, 1)
        # Keep the intrinsic size the image had, whatever its new pixel count.
        resolution = f"image-resolution: {dpi:g}dpi; "
        if re.search(r"\bstyle\s*=\s*\"", tag):
            return re.sub(r'(\bstyle\s*=\s*")', lambda m: m[1] + resolution, tag, count=1)
        return tag.replace("<img", f'<img style="{resolution.strip()}"', 1)

    return _IMG.sub(swap, html)


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
    path = config.out_dir / f"{config.name}-timeline.pdf"
    stored = pub.cache / "editions" / f"{parts.key_of('timeline', html, _inputs_digest(pub, html))}.pdf"
    if stored.is_file():
        return Edition(path, stored.read_bytes(), 1, name="timeline")
    log.info("Typesetting the timeline handout...")
    document = _typeset(pub, html)
    if len(document.pages) != 1:
        raise TemplateError(
            f"the timeline handout came out as {len(document.pages)} pages, not one",
            hint="a layout override (handout.html or a *.css in templates/) probably moved or enlarged its blocks",
        )
    pdf = typeset.write_pdf(document, identity=_identity(html, pub.fetcher), describe=functools.partial(_source_of, pub=pub))
    stored.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(stored, pdf)
    return Edition(path, pdf, len(document.pages), name="timeline")


# The editions `booklet build --edition NAME` makes (the config's `editions` when none is named).
EDITIONS: dict[str, Callable[[Project], Edition]] = {
    "print": print_edition,
    "screen": screen_edition,
    "handout": handout_edition,
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
        html = _measure_html(pub, probes, handout=handout)
        # Measured once for given blocks, styles and fonts: a rebuild with nothing changed typesets nothing.
        stored = _measure_file(pub, html)
        try:
            return [float(v) for v in json.loads(stored.read_text(encoding="utf-8"))]
        except (OSError, ValueError, TypeError):
            pass
        anchors = _measured_ahead(pub, html)
        if anchors is None:
            anchors = {}
            for page in _typeset(pub, html, reuse=_measure_reuse(pub)).pages:
                anchors.update(page.anchors)
        # Anchors are border boxes (x0, y0, x1, y1) in CSS pixels.
        heights = [(anchors[f"probe-{i}"][3] - anchors[f"probe-{i}"][1]) * MM_PER_UNIT["px"] for i in range(len(probes))]
        stored.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(stored, json.dumps(heights).encode(), sync=False)
        return heights

    return measure


def _measure_html(pub: Project, probes: Sequence[timeline_layout.Probe], *, handout: bool) -> str:
    """The document that lays the timeline's ``probes`` out, one below the other, to measure their heights.

    Made once for given probes: those measured ahead are asked for again.
    """
    made = pub.memo.setdefault("measure_html", {})
    key = (handout, tuple(probes))
    if key not in made:
        made[key] = _render_measure_html(pub, probes, handout=handout)
    return made[key]


def _render_measure_html(pub: Project, probes: Sequence[timeline_layout.Probe], *, handout: bool) -> str:
    items = [
        {
            "kind": probe.kind,
            "width": probe.width,
            "label": timeline_layout.Label(probe.event, 0.0, probe.width, False, "right") if probe.event else None,
            "row": timeline_layout.Row(0.0, (), ()),
        }
        for probe in probes
    ]
    return layout.publication_html(
        pub.env,
        {**pub.context, "timeline": pub.timeline, "probes": items, "for_handout": handout},
        templates_dir=pub.config.templates_dir,
        template="timeline-measure.html",
    )


def _measure_file(pub: Project, html: str) -> Path:
    return pub.cache / "measure" / f"{parts.key_of('measure', html, _inputs_digest(pub, html))}.json"


def _measure_ahead(pub: Project, runner: parts.Runner) -> None:
    """Send the timeline's first measuring documents to the workers, ahead of the sections.

    This process then measures nothing itself unless the spreads need more than was sent: it
    would load WeasyPrint, its fonts and stylesheets for it, which the workers have loaded anyway.
    """
    if pub.timeline is None:
        return
    htmls = [_measure_html(pub, probes, handout=False) for probes in timeline_layout.probes_ahead(pub.timeline, _geometry(pub.config))]
    pub.memo["measured_ahead"] = runner.measure_ahead([html for html in htmls if not _measure_file(pub, html).is_file()])


def _measured_ahead(pub: Project, html: str) -> dict[str, tuple[float, float, float, float]] | None:
    """The anchors of a measuring document the workers typeset, if it was sent to them; None if not, or if it failed there."""
    future = pub.memo.get("measured_ahead", {}).pop(html, None)
    if future is None:
        return None
    anchors = future.result()
    # A user's error is told by this process, which can name the file: it typesets the document itself.
    return None if isinstance(anchors, BaseException) else anchors


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


def _typeset(pub: Project, html: str, *, reuse: typeset.Reuse | None = None) -> Document:
    return typeset.render(html, base=pub.config.root, fetcher=pub.fetcher, describe=lambda url: _source_of(url, pub), reuse=reuse)


def _measure_reuse(pub: Project) -> typeset.Reuse:
    """The fonts and stylesheets the timeline's measuring documents share (they differ in their blocks alone)."""
    if "measure_reuse" not in pub.memo:
        pub.memo["measure_reuse"] = typeset.Reuse()
    return pub.memo["measure_reuse"]


# ---- Helpers ------------------------------------------------------------------


def _identity(html: str, fetcher: SandboxFetcher) -> bytes:
    """A digest of everything the PDF is made from: the HTML and every file it pulled in."""
    digest = hashlib.sha256(html.encode("utf-8"))
    for path in sorted(fetcher.fetched, key=lambda p: p.name):
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
    the_brand = load_brand(config.brand, cache=config.out_dir / CACHE if config.out_dir.is_dir() else None)
    sections = read_sections(config)
    target = config.out_dir / f"{config.name}-{edition}.pdf"
    if not target.is_file():
        raise BookletError(f"{_shown(target)} does not exist", hint="build it first with `booklet build`")
    env = layout.environment(config.templates_dir)
    html = layout.publication_html(env, layout.publication_context(config, the_brand, sections), templates_dir=config.templates_dir)
    return target, check_output(target, brand=the_brand, sections=sections, html=html, edition=edition, expect_cmyk=edition == "print")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _size(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


__all__ = ["EDITIONS", "BuildResult", "Config", "build"]
