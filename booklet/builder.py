"""The build: load config, read all content, check it, render HTML, typeset, post-process, write."""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from booklet import layout, typeset
from booklet.brand import load_brand
from booklet.config import Config, load_config
from booklet.content import Section, read_sections
from booklet.errors import BookletError, display_path
from booklet.output import write_atomic
from booklet.preflight import Finding, check_output, summary
from booklet.sandbox import SandboxFetcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    """One written output file."""

    path: Path
    pages: int
    size: int
    seconds: float


def build(project: Path, *, out_dir: Path | None = None, brand: Path | None = None) -> list[BuildResult]:
    """Build the publication in ``project``; nothing is written unless every phase succeeds."""
    started = time.perf_counter()

    # 1. Load the config and the brand.
    config = load_config(project, brand=brand, out_dir=out_dir)
    log.info("Loaded %s (brand %s)", config.path.name, display_path(config.brand))
    the_brand = load_brand(config.brand)

    # 2-3. Read every section and check it; all problems are reported together.
    sections = read_sections(config)
    log.info("Read %d sections from %s/", len(sections), config.content_dir.name)

    # 4. Render the HTML.
    env = layout.environment(config.templates_dir)
    context = layout.publication_context(config, the_brand, sections)
    html = layout.publication_html(env, context, templates_dir=config.templates_dir)

    # 5. Typeset.
    # Served: the project, booklet's own layouts, and the brand's folder and the very files it names
    # (a brand chosen with --brand may keep its fonts beside it rather than in the project).
    fetcher = SandboxFetcher([config.root, layout.BUILTIN, the_brand.path.parent, *the_brand.files()])
    log.info("Typesetting...")
    describe = functools.partial(_source_of, sections=sections)
    document = typeset.render(html, base=config.root, fetcher=fetcher, describe=describe)

    # 6. Post-process: pad to a multiple of four before the back cover, then write PDF bytes.
    missing = typeset.padding_needed(len(document.pages))
    if missing:
        log.info("Adding %d blank page(s) before the back cover for a multiple of 4", missing)
        padding_html = layout.publication_html(
            env, {**context, "count": missing}, templates_dir=config.templates_dir, template="blank.html"
        )
        padding = typeset.render(padding_html, base=config.root, fetcher=fetcher)
        document = typeset.pad_before_last(document, padding, missing)
    pdf = typeset.write_pdf(document, identity=_identity(html, fetcher), describe=describe)

    # 7. Write, atomically.
    target = config.out_dir / f"{config.name}-print.pdf"
    write_atomic(target, pdf)
    result = BuildResult(path=target, pages=len(document.pages), size=len(pdf), seconds=time.perf_counter() - started)
    log.info("Wrote %s: %d pages, %s, in %.1f s", _shown(target), result.pages, _size(result.size), result.seconds)

    # 8. Preflight what was written, as a printer would.
    findings = check_output(target, brand=the_brand, sections=sections, html=html)
    if findings:
        log.warning("Preflight: %s; run `booklet preflight` for the report", summary(findings))
    else:
        log.info("Preflight: clean")
    return [result]


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


def _identity(html: str, fetcher: SandboxFetcher) -> bytes:
    """A digest of everything the PDF is made from: the HTML and every file it pulled in."""
    digest = hashlib.sha256(html.encode("utf-8"))
    for path in sorted(fetcher.fetched):
        digest.update(path.read_bytes())
    return digest.digest()


def _source_of(url: str, sections: list[Section]) -> str:
    """The section whose HTML holds ``url`` (or its path), for naming it in an error."""
    path = unquote(urlsplit(url).path)
    for section in sections:
        if url in section.html or (path and path in section.html):
            return display_path(section.source)
    return "a template or stylesheet"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _size(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


__all__ = ["BuildResult", "Config", "build"]
