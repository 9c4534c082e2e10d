"""Live preview: watch mode plus a local page that shows the built editions as bound spreads."""

from __future__ import annotations

import errno
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from booklet.config import Config
from booklet.errors import BookletError
from booklet.pages import DPI, SAFE_MM, PageImage, PageRenderer
from booklet.watch import Outcome, Watcher

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
CACHE_DIR = ".preview"
# An idle event stream sends a comment this often, so that a closed tab is noticed.
KEEP_ALIVE = 15.0

# The page's own files, by exact request path; nothing else is read from the package.
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/preview.css": ("preview.css", "text/css; charset=utf-8"),
    "/preview.js": ("preview.js", "text/javascript; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
_PAGE = re.compile(r"/pages/([0-9a-f]{24})\.png")
_PDF = re.compile(r"/pdf/([A-Za-z0-9][A-Za-z0-9._-]*)\.pdf")
_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'"


def spreads(count: int) -> list[tuple[int | None, int | None]]:
    """Page numbers as bound: the cover alone on the right, then 2-3, 4-5..., even pages on the left.

    With an even count the last page, the back cover, stands alone on the left.
    """
    if count <= 0:
        return []
    pairs: list[tuple[int | None, int | None]] = [(None, 1)]
    for left in range(2, count + 1, 2):
        pairs.append((left, left + 1 if left + 1 <= count else None))
    return pairs


@dataclass(frozen=True)
class Edition:
    """One built PDF as the page shows it."""

    name: str
    pdf: Path
    pages: tuple[PageImage, ...]

    def as_json(self) -> dict[str, Any]:
        first = self.pages[0] if self.pages else None
        mm = 25.4 / DPI
        return {
            "name": self.name,
            "pdf": f"/pdf/{self.name}.pdf",
            "trim_mm": [round(first.trim[2] * mm, 1), round(first.trim[3] * mm, 1)] if first else None,
            "bleed_mm": round(first.trim[0] * mm, 1) if first else 0,
            "safe": round(SAFE_MM / 25.4 * DPI, 2),
            "pages": [
                {"number": p.number, "src": f"/pages/{p.file_name}", "width": p.width, "height": p.height, "trim": p.trim, "text": p.text}
                for p in self.pages
            ],
            "spreads": spreads(len(self.pages)),
        }


class Preview:
    """What the page shows: the last good page images of every edition, and the last build's error.

    The watcher's thread calls ``building`` and ``update``; the server's threads read ``state``
    and wait for changes with ``wait``. A version number counts the changes.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.version = 0
        self.building = True  # the first build starts as the server does
        self.error: str | None = None
        self.title = ""
        self.built_at: float | None = None
        self.seconds: float | None = None
        self.editions: dict[str, Edition] = {}
        self.closed = False
        self.config: Config | None = None
        self.renderer: PageRenderer | None = None
        self._seen: dict[Path, tuple[tuple[int, int], Edition]] = {}
        self._previous_keys: set[str] = set()
        self.rendered: dict[str, list[int]] = {}
        self._refreshed = False

    def building_started(self, changes: tuple[Path, ...] = ()) -> None:
        with self._changed:
            self.building = True
            self._refreshed = False
            self._bump()

    def update(self, outcome: Outcome) -> None:
        """Take in a build's outcome: new page images when it wrote PDFs, its error when it failed."""
        if outcome.config is not None:
            self.config = outcome.config
        editions = self._load_editions(drawn_so_far=self._refreshed)
        self._refreshed = False
        with self._changed:
            self.building = False
            self.error = outcome.error
            if self.config is not None:
                self.title = self.config.title
            if outcome.ok:
                self.built_at, self.seconds = time.time(), outcome.seconds
            self.editions = editions
            self._bump()
        keys = {p.key for e in editions.values() for p in e.pages}
        if self.renderer is not None:
            # Images of the build before stay a while: an open page may still be fetching them.
            self.renderer.prune(keys | self._previous_keys)
        self._previous_keys = keys

    def refresh(self) -> None:
        """Show the editions written so far while the build goes on (it is still building)."""
        editions = self._load_editions()
        with self._changed:
            self._refreshed = True
            self.editions = editions
            self._bump()

    @property
    def stage(self) -> str:
        """The event for the page: "building", "shown" (an edition is new while building) or "built"."""
        if not self.building:
            return "built"
        return "shown" if self._refreshed else "building"

    def _load_editions(self, *, drawn_so_far: bool = False) -> dict[str, Edition]:
        """Every ``<name>-<edition>.pdf`` in the output folder, drawn where it changed.

        ``rendered`` says which pages were drawn for this build; with ``drawn_so_far``, it adds to
        what ``refresh`` drew earlier in the build.
        """
        config = self.config
        if config is None:
            return self.editions
        cache = config.out_dir / CACHE_DIR
        if self.renderer is None or self.renderer.cache_dir != cache:
            self.renderer = PageRenderer(cache)
        if not drawn_so_far:
            self.rendered = {}
        found: dict[str, Edition] = {}
        for pdf in sorted(config.out_dir.glob(f"{config.name}-*.pdf")):
            name = pdf.stem[len(config.name) + 1 :]
            try:
                stat = pdf.stat()
                stamp = (stat.st_mtime_ns, stat.st_size)
                seen = self._seen.get(pdf)
                if seen is not None and seen[0] == stamp:
                    found[name] = seen[1]
                    continue
                pages, drawn = self.renderer.pages(pdf)
            except Exception as exc:
                # A PDF that cannot be read (another tool writing it?) keeps its last good view.
                log.warning("could not draw %s for the preview: %s", pdf.name, exc)
                if name in self.editions:
                    found[name] = self.editions[name]
                continue
            found[name] = Edition(name=name, pdf=pdf, pages=tuple(pages))
            self._seen[pdf] = (stamp, found[name])
            self.rendered[name] = drawn
            if drawn:
                log.info("Preview: drew %d of %d page(s) of the %s edition", len(drawn), len(pages), name)
        # The print edition first, as the one that is bound; the rest by name.
        return dict(sorted(found.items(), key=lambda item: (item[0] != "print", item[0])))

    def state(self) -> dict[str, Any]:
        with self._changed:
            return {
                "version": self.version,
                "title": self.title,
                "building": self.building,
                "error": self.error,
                "built_at": self.built_at,
                "seconds": self.seconds,
                "editions": [e.as_json() for e in self.editions.values()],
            }

    def page_file(self, name: str) -> Path | None:
        """The cached image called ``name``, when a current page uses it."""
        with self._changed:
            renderer = self.renderer
            known = any(p.file_name == name for e in self.editions.values() for p in e.pages)
        if renderer is None:
            return None
        path = renderer.cache_dir / name
        return path if (known or name[:-4] in self._previous_keys) and path.is_file() else None

    def pdf_file(self, edition: str) -> Path | None:
        with self._changed:
            found = self.editions.get(edition)
        return found.pdf if found is not None and found.pdf.is_file() else None

    def wait(self, after: int, timeout: float) -> int | None:
        """Wait until the version is past ``after``; the new version, or None on timeout or close."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != after or self.closed, timeout=timeout)
            return None if self.closed or self.version == after else self.version

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def _bump(self) -> None:
        self.version += 1
        self._changed.notify_all()


class PreviewServer(ThreadingHTTPServer):
    """The preview's HTTP server, on the loopback interface only."""

    daemon_threads = True  # an open event stream must not keep the command from ending

    def __init__(self, preview: Preview, *, port: int = 8000) -> None:
        self.preview = preview
        try:
            super().__init__((HOST, port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise BookletError(f"port {port} is in use", hint="pick another with --port N, or --port 0 for any free one") from None
            raise
        self.port = self.server_address[1]
        self.url = f"http://{HOST}:{self.port}/"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="preview-server", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.preview.close()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    """Routes by exact path or a strict pattern: a request path is never joined onto a folder."""

    server: PreviewServer
    server_version = "booklet-preview"
    sys_version = ""

    def do_GET(self) -> None:
        if not self._local_host():
            self._send_error(HTTPStatus.FORBIDDEN, "This preview answers only to 127.0.0.1 and localhost.")
            return
        path = urlsplit(self.path).path
        preview = self.server.preview
        if path in ASSETS:
            name, kind = ASSETS[path]
            self._send(resources.files("booklet").joinpath("preview", name).read_bytes(), kind, cache="no-cache")
        elif path == "/state.json":
            self._send(json.dumps(preview.state()).encode(), "application/json", cache="no-store")
        elif path == "/events":
            self._events()
        elif (match := _PAGE.fullmatch(path)) and (file := preview.page_file(f"{match[1]}.png")):
            # Named by their content, so a page image never changes: the browser may keep it.
            self._send(file.read_bytes(), "image/png", cache="max-age=31536000, immutable")
        elif (match := _PDF.fullmatch(path)) and (file := preview.pdf_file(match[1])):
            self._send(file.read_bytes(), "application/pdf", cache="no-store")
        else:
            self._send_error(HTTPStatus.NOT_FOUND, "Not found.")

    def _events(self) -> None:
        """Server-sent events: "building" when a change is seen, "shown" when the first edition is written, "built" at the end.

        On "shown" and "built" the page reloads its state.
        """
        preview = self.server.preview
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        version = preview.version
        try:
            self._event("hello", version, preview)
            while True:
                new = preview.wait(version, KEEP_ALIVE)
                if preview.closed:
                    return
                if new is None:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    continue
                version = new
                self._event(preview.stage, version, preview)
        except (BrokenPipeError, ConnectionResetError):
            return  # the tab was closed

    def _event(self, kind: str, version: int, preview: Preview) -> None:
        data = json.dumps({"version": version, "ok": preview.error is None})
        self.wfile.write(f"retry: 1000\nevent: {kind}\ndata: {data}\n\n".encode())
        self.wfile.flush()

    def _local_host(self) -> bool:
        # A check on the Host header keeps pages from other sites out, even through DNS rebinding.
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        return host in (HOST, "localhost", "")

    def _send(self, body: bytes, kind: str, *, cache: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self._security_headers()
        self.end_headers()
        self.wfile.write(body)

    def _send_error(self, status: HTTPStatus, message: str) -> None:
        body = message.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self._security_headers()
        self.end_headers()
        self.wfile.write(body)

    def _security_headers(self) -> None:
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("preview: %s", format % args)


def serve(
    project: Path,
    *,
    port: int = 8000,
    out_dir: Path | None = None,
    brand: Path | None = None,
    stop_event: threading.Event,
    on_ready: Callable[[str], None],
    debug: bool = False,
) -> None:
    """Serve the preview on ``port`` and rebuild on every change until ``stop_event`` is set."""
    preview = Preview()
    server = PreviewServer(preview, port=port)
    server.start()
    try:
        on_ready(server.url)
        watcher = Watcher(
            project,
            out_dir=out_dir,
            brand=brand,
            on_change=preview.building_started,
            on_build=preview.update,
            # The bound print edition is what the page shows first: it is drawn before the others are built.
            first="print",
            on_first=preview.refresh,
            debug=debug,
        )
        watcher.run(stop_event)
    finally:
        server.stop()
