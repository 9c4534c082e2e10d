"""The one URL fetcher: serves files inside allowed folders and data: URIs, refuses the rest."""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

CACHE_SCHEME = "booklet-cache"


def cache_url(relative: str) -> str:
    """The URL of a file in the build cache: the same whichever folder the cache is in."""
    return f"{CACHE_SCHEME}:/{relative}"


def __getattr__(name: str) -> Any:
    # The classes build on WeasyPrint's, which is slow to import: a build that finds nothing to typeset never needs them.
    if name in ("RefusedResource", "SandboxFetcher"):
        _define()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _define() -> None:
    global RefusedResource, SandboxFetcher
    from booklet.typeset import load_weasyprint

    load_weasyprint()
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    class RefusedResource(FatalURLFetchingError):
        """A reference the sandbox will not serve; it stops the render."""

        def __init__(self, url: str, reason: str):
            self.url = url
            self.reason = reason
            super().__init__(f"{reason}: {url}")

    class SandboxFetcher(URLFetcher):
        """Fetch only local files below ``roots`` (after resolving symlinks and ``..``) and data: URIs.

        ``booklet-cache:/PATH`` URLs name files in ``cache``; they keep the build's HTML, and so
        the PDF, free of where the output folder happens to be.

        ``substitutes`` maps a file URL to a file of the cache served in its place: how images
        that stylesheets paint as backgrounds reach the edition processed, without rewriting CSS.
        """

        def __init__(self, roots: list[Path], *, cache: Path | None = None):
            super().__init__(allowed_protocols={"file", "data", CACHE_SCHEME}, fail_on_errors=True)
            self.roots = [root.resolve() for root in roots]
            self.cache = cache.resolve() if cache is not None else None
            self.fetched: set[Path] = set()
            self.substitutes: dict[str, Path] = {}

        def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
            scheme = url.split(":", 1)[0].lower() if ":" in url else ""
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == CACHE_SCHEME and self.cache is not None:
                path = (self.cache / unquote(urlsplit(url).path).lstrip("/")).resolve()
                if not path.is_relative_to(self.cache) or not path.is_file():
                    raise RefusedResource(url, "it is not a file of the build cache")
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), headers={"Content-Type": content_type}, status=200)
            if scheme != "file":
                raise RefusedResource(
                    url, f"{scheme or 'relative'}: references are not allowed, only files inside the project and data: URIs"
                )
            path = Path(unquote(urlsplit(url).path)).resolve()
            if not any(path.is_relative_to(root) for root in self.roots):
                raise RefusedResource(url, "it points outside the project folder")
            if not path.is_file():
                raise RefusedResource(url, "the file does not exist")
            self.fetched.add(path)
            served = self.substitutes.get(url, path)
            content_type = mimetypes.guess_type(served.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), served.read_bytes(), headers={"Content-Type": content_type}, status=200)
