"""Typesetting with WeasyPrint: HTML to laid-out pages, padding, and PDF bytes."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from weasyprint import HTML, Document

from booklet.errors import TypesetError
from booklet.sandbox import RefusedResource, SandboxFetcher

log = logging.getLogger(__name__)


@contextmanager
def refusals(describe: Callable[[str], str] | None = None) -> Iterator[None]:
    """Turn a sandbox refusal, at layout or at PDF writing (attachments), into a located error."""
    try:
        yield
    except RefusedResource as exc:
        source = describe(exc.url) if describe else "the document"
        raise TypesetError(
            f"{source}: reference '{exc.url}' is refused: {exc.reason}",
            hint="use a file inside the project folder, with a path relative to the file that references it",
        ) from None


def render(html: str, *, base: Path, fetcher: SandboxFetcher, describe: Callable[[str], str] | None = None) -> Document:
    """Lay out ``html``; a refused or missing resource stops with a located error."""
    with refusals(describe):
        return HTML(string=html, base_url=base.as_uri() + "/", url_fetcher=fetcher).render()


def pad_before_last(document: Document, padding: Document, count: int) -> Document:
    """Insert ``count`` pages of ``padding`` before the last page (the back cover)."""
    if count <= 0:
        return document
    pages = document.pages[:-1] + padding.pages[:count] + document.pages[-1:]
    return document.copy(pages)


def padding_needed(pages: int, multiple: int = 4) -> int:
    return -pages % multiple


def write_pdf(document: Document, *, identity: bytes, variant: str | None = None, describe: Callable[[str], str] | None = None) -> bytes:
    """PDF bytes with a stable /ID derived from ``identity``, so equal inputs give equal files."""
    identifier = hashlib.sha256(identity).hexdigest()[:32].encode("ascii")
    options: dict[str, object] = {"pdf_identifier": identifier}
    if variant:
        options["pdf_variant"] = variant
    with refusals(describe):
        return document.write_pdf(**options)
