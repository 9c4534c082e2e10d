"""The one URL fetcher: serves files inside allowed folders and data: URIs, refuses the rest."""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)


class RefusedResource(FatalURLFetchingError):
    """A reference the sandbox will not serve; it stops the render."""

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"{reason}: {url}")


class SandboxFetcher(URLFetcher):
    """Fetch only local files below ``roots`` (after resolving symlinks and ``..``) and data: URIs."""

    def __init__(self, roots: list[Path]):
        super().__init__(allowed_protocols={"file", "data"}, fail_on_errors=True)
        self.roots = [root.resolve() for root in roots]
        self.fetched: set[Path] = set()

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file":
            raise RefusedResource(url, f"{scheme or 'relative'}: references are not allowed, only files inside the project and data: URIs")
        path = Path(unquote(urlsplit(url).path)).resolve()
        if not any(path.is_relative_to(root) for root in self.roots):
            raise RefusedResource(url, "it points outside the project folder")
        if not path.is_file():
            raise RefusedResource(url, "the file does not exist")
        self.fetched.add(path)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), headers={"Content-Type": content_type}, status=200)
