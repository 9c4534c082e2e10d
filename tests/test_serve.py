"""The preview server: spread order, page images drawn only when they change, events, and nothing served but itself."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from procutil import Booklet

from booklet.errors import BookletError
from booklet.serve import Preview, PreviewServer, spreads
from booklet.watch import Watcher

BROKEN = "---\ntitle: First Section\nsummary: [unclosed\n---\n\nText.\n"


def test_spreads_put_the_cover_alone_on_the_right_and_the_back_alone_on_the_left() -> None:
    assert spreads(4) == [(None, 1), (2, 3), (4, None)]
    assert spreads(8) == [(None, 1), (2, 3), (4, 5), (6, 7), (8, None)]
    assert spreads(12) == [(None, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11), (12, None)]


def test_spreads_of_odd_and_tiny_counts_keep_even_pages_on_the_left() -> None:
    assert spreads(0) == []
    assert spreads(1) == [(None, 1)]
    assert spreads(5) == [(None, 1), (2, 3), (4, 5)]


@dataclass
class Live:
    project: Path
    preview: Preview
    server: PreviewServer
    watcher: Watcher

    def get(self, path: str, *, host: str | None = None) -> tuple[int, bytes, http.client.HTTPMessage]:
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            connection.putrequest("GET", path, skip_host=host is not None)
            if host is not None:
                connection.putheader("Host", host)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, response.read(), response.headers
        finally:
            connection.close()

    def state(self) -> dict:
        status, body, _ = self.get("/state.json")
        assert status == 200
        return json.loads(body)


@pytest.fixture
def live(make_project) -> Iterator[Live]:
    """A mini-project, built once, behind a preview server on a free port; rebuilds are driven by the test."""
    project = make_project()
    preview = Preview()
    server = PreviewServer(preview, port=0)
    server.start()
    watcher = Watcher(project, on_change=preview.building_started, on_build=preview.update)
    assert watcher.rebuild().ok
    try:
        yield Live(project, preview, server, watcher)
    finally:
        server.stop()


def test_the_page_its_assets_and_the_page_images_are_served(live: Live) -> None:
    state = live.state()
    assert state["editions"][0]["name"] == "print"
    edition = state["editions"][0]
    assert edition["spreads"] == [[None, 1], [2, 3], [4, 5], [6, 7], [8, None]]
    assert edition["trim_mm"] == [148.0, 210.0] and edition["bleed_mm"] == 3.0
    cover = edition["pages"][0]
    assert "Mini Booklet" in cover["text"]
    status, body, headers = live.get(cover["src"])
    assert status == 200 and body.startswith(b"\x89PNG") and headers["Content-Type"] == "image/png"
    for path, kind in (
        ("/", "text/html"),
        ("/preview.js", "text/javascript"),
        ("/preview.css", "text/css"),
        ("/pdf/print.pdf", "application/pdf"),
    ):
        status, _, headers = live.get(path)
        assert status == 200, path
        assert headers["Content-Type"].startswith(kind)
        assert "default-src 'none'" in headers["Content-Security-Policy"]


TRAVERSALS = [
    "/../booklet.toml",
    "/%2e%2e/booklet.toml",
    "/%2E%2E/booklet.toml",
    "/..%2fbooklet.toml",
    "/..%2Fbooklet.toml",
    "/%2e%2e%2fbooklet.toml",
    "/%252e%252e/booklet.toml",
    "/%252e%252e%252fbooklet.toml",
    "/..%252fbooklet.toml",
    "/pages/../../booklet.toml",
    "/pages/..%2f..%2fbooklet.toml",
    "/pages/%2e%2e/%2e%2e/booklet.toml",
    "/preview.js/../../booklet.toml",
    "/pdf/../../booklet.toml",
    "/pdf/..%2f..%2fbooklet.toml.pdf",
    "/..\\booklet.toml",
    "/booklet.toml",
    "/content/01-one.md",
    "/build/mini-print.pdf",
    "/.preview/",
    "/pdf/nonesuch.pdf",
    "/pages/000000000000000000000000.png",
]


def test_nothing_outside_the_preview_is_served(live: Live) -> None:
    answers = {path: live.get(path) for path in TRAVERSALS}
    assert {path: status for path, (status, _, _) in answers.items() if status != 404} == {}
    assert all(body == b"Not found." for _, body, _ in answers.values())


def test_other_hosts_are_refused(live: Live) -> None:
    assert live.get("/", host="evil.example")[0] == 403
    assert live.get("/", host=f"localhost:{live.server.port}")[0] == 200


def test_the_server_listens_on_loopback_only(live: Live) -> None:
    assert live.server.server_address[0] == "127.0.0.1"


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BookletError, match=f"port {port} is in use"):
            PreviewServer(Preview(), port=port)


def read_event(stream: http.client.HTTPResponse) -> tuple[str, dict]:
    """The next event on a server-sent event stream: its name and its data."""
    name, data = "message", ""
    while True:
        line = stream.readline().decode()
        assert line, "the event stream ended"
        line = line.rstrip("\n")
        if not line:
            if data:
                return name, json.loads(data)
            continue
        field, _, value = line.partition(": ")
        if field == "event":
            name = value
        elif field == "data":
            data = value


def test_the_event_stream_announces_rebuilds_and_failures(live: Live) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=30)
    connection.request("GET", "/events")
    stream = connection.getresponse()
    assert stream.headers["Content-Type"] == "text/event-stream"
    name, data = read_event(stream)
    assert name == "hello"
    before = live.state()["editions"][0]["pages"]

    source = live.project / "content/02-two.md"
    source.write_text(source.read_text(encoding="utf-8").replace("text.", "text, and a new sentence."), encoding="utf-8")
    live.preview.building_started()
    assert read_event(stream)[0] == "building"
    live.watcher.rebuild()
    name, data = read_event(stream)
    assert (name, data["ok"]) == ("built", True)
    after = live.state()["editions"][0]["pages"]
    # Only the page with the new sentence was drawn again; the others keep their images.
    assert live.preview.rendered["print"] == [7]
    assert [p["src"] for p in after if p["src"] not in {q["src"] for q in before}] == [after[6]["src"]]
    assert "a new sentence" in after[6]["text"]

    (live.project / "content/01-one.md").write_text(BROKEN, encoding="utf-8")
    live.watcher.rebuild()
    name, data = read_event(stream)
    assert (name, data["ok"]) == ("built", False)
    state = live.state()
    assert "content/01-one.md:4: broken front matter" in state["error"]
    assert "Traceback" not in state["error"]
    # The last good pages stay on show under the error.
    assert state["editions"][0]["pages"] == after
    assert live.preview.rendered == {}
    connection.close()


def test_stopping_the_server_ends_open_event_streams(make_project) -> None:
    preview = Preview()
    server = PreviewServer(preview, port=0)
    server.start()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/events")
    stream = connection.getresponse()
    assert read_event(stream)[0] == "hello"
    server.stop()
    assert stream.read() == b""
    connection.close()


def test_serve_command_prints_its_address_and_stops_cleanly_on_ctrl_c(make_project) -> None:
    project = make_project()
    with Booklet("serve", "--project", str(project), "--port", "0", cwd=project) as booklet:
        url = booklet.wait_for(r"^Preview at (http://127\.0\.0\.1:(\d+)/) \(Ctrl-C to stop\)$")
        booklet.wait_for(r"^Watching ")
        connection = http.client.HTTPConnection("127.0.0.1", int(url[2]), timeout=10)
        connection.request("GET", "/state.json")
        state = json.loads(connection.getresponse().read())
        connection.close()
        assert state["error"] is None and len(state["editions"][0]["pages"]) == 8
        code = booklet.interrupt()
    assert code == 0, booklet.output
    assert "Traceback" not in booklet.output


def test_a_first_build_that_fails_still_shows_the_pdf_left_from_before(make_project) -> None:
    project = make_project()
    assert Watcher(project).rebuild().ok
    stray = project / "build/.preview/0123456789abcdef01234567.png"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"left by an earlier session")
    (project / "content/01-one.md").write_text(BROKEN, encoding="utf-8")
    preview = Preview()
    outcome = Watcher(project, on_build=preview.update).rebuild()
    assert not outcome.ok
    state = preview.state()
    assert "broken front matter" in state["error"]
    assert len(state["editions"][0]["pages"]) == 8
    assert not stray.exists()
