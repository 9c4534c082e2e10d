"""The timeline spread and handout, checked on the PDF: facing pages, order, gutter, overflow, bad data."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from pathlib import Path

import pdfplumber
import pypdf
import pytest
import yaml

from booklet.timeline import parse_when
from booklet.timeline_layout import place
from conftest import ROOT, run
from pdfutil import MM, outline, page_texts, render_page, words_near_top

TIMELINE = "75 years at a glance"
# Every dated event of the manuscript, at the precision it gives, in date order.
MANUSCRIPT_DATES = [
    "1 May 1948",
    "1965",
    "January 1966",
    "1980s",
    "1990",
    "1994",
    "2014",
    "2021",
    "January 2023",
    "2023",
]
Box = tuple[float, float, float, float]  # x0, top, x1, bottom in points, relative to the trim box


# ---- Reading the spread -------------------------------------------------------


def timeline_start(pdf: Path, title: str = TIMELINE) -> int:
    """The 1-based page the timeline starts on, from its outline entry."""
    return dict(outline(pdf))[title] + 1


def find_text(pdf: Path, page_number: int, text: str) -> Box | None:
    """The box round ``text`` on a page, found in the order the page draws its characters.

    WeasyPrint draws each label's text in one run, so a label is found whole even where it wraps
    between lines that other labels share. White space is ignored: lines break where spaces were.
    """
    stream, owners, (x_origin, y_origin) = _drawn(pdf, page_number)
    needle = re.sub(r"\s", "", text)
    at = stream.find(needle)
    if at < 0:
        return None
    chars = owners[at : at + len(needle)]
    return (
        min(c["x0"] for c in chars) - x_origin,
        min(c["top"] for c in chars) - y_origin,
        max(c["x1"] for c in chars) - x_origin,
        max(c["bottom"] for c in chars) - y_origin,
    )


@functools.cache
def _drawn(pdf: Path, page_number: int) -> tuple[str, list[dict], tuple[float, float]]:
    """A page's characters in drawing order, without white space: the text, each letter's char, the trim's origin."""
    with pdfplumber.open(pdf) as doc:
        page = doc.pages[page_number - 1]
        stream, owners = "", []
        for char in page.chars:
            for letter in re.sub(r"\s", "", char["text"]):
                stream += letter
                owners.append(char)
        return stream, owners, (page.trimbox[0], page.trimbox[1])


def page_chars(pdf: Path, page_number: int) -> tuple[list[dict], tuple[float, float]]:
    """Every visible character of a page, with x and top relative to the trim box, and the trim size."""
    with pdfplumber.open(pdf) as doc:
        page = doc.pages[page_number - 1]
        x0, top, x1, bottom = page.trimbox
        chars = [
            {**c, "x0": c["x0"] - x0, "x1": c["x1"] - x0, "top": c["top"] - top, "bottom": c["bottom"] - top}
            for c in page.chars
            if c["text"].strip()
        ]
        return chars, (x1 - x0, bottom - top)


def overlapping(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def assert_safe(pdf: Path, first: int, *, gutter_mm: float = 10, trim_mm: float = 5) -> None:
    """No character within ``gutter_mm`` of the fold or ``trim_mm`` of the trim, on the spread at ``first``."""
    for number in (first, first + 1):
        chars, (width, height) = page_chars(pdf, number)
        assert chars, f"page {number} has no text"
        for c in chars:
            where = f"page {number}: {c['text']!r} at x {c['x0'] / MM:.1f}-{c['x1'] / MM:.1f} mm"
            if number % 2 == 0:  # verso: the fold is its right edge
                assert c["x1"] <= width - gutter_mm * MM, f"{where} is in the gutter"
                assert c["x0"] >= trim_mm * MM, f"{where} is too near the trim"
            else:
                assert c["x0"] >= gutter_mm * MM, f"{where} is in the gutter"
                assert c["x1"] <= width - trim_mm * MM, f"{where} is too near the trim"
            assert trim_mm * MM <= c["top"] and c["bottom"] <= height - trim_mm * MM, f"{where} is too near the head or foot"


def spread_x(pdf: Path, page_number: int, box: Box) -> float:
    """The centre of a box across the spread: the recto's boxes continue from the verso's right edge."""
    width = 148 * MM
    centre = (box[0] + box[2]) / 2
    return centre + (width if page_number % 2 == 1 else 0)


def sample_events() -> list[dict]:
    return yaml.safe_load((ROOT / "content" / "timeline.yaml").read_text(encoding="utf-8"))["events"]


# ---- The sample booklet -------------------------------------------------------


def test_the_spread_is_a_facing_pair_at_the_centre(sample_pdf: Path) -> None:
    pages = len(pypdf.PdfReader(sample_pdf).pages)
    start = timeline_start(sample_pdf)
    assert pages == 24
    assert (start, start + 1) == (pages // 2, pages // 2 + 1) == (12, 13)
    assert start % 2 == 0  # a verso, so the recto after it faces it
    # No blank padding: the last section's opener is on 23, just before the back cover.
    assert dict(outline(sample_pdf))["Victory Day: A Unifying Holiday"] + 1 == 23


def test_the_sample_holds_every_dated_event_of_the_manuscript() -> None:
    dates = [parse_when(event["date"]).label() for event in sample_events()]
    assert dates == MANUSCRIPT_DATES


def test_every_event_title_is_on_the_spread_in_chronological_order(sample_pdf: Path) -> None:
    start = timeline_start(sample_pdf)
    positions = []
    for event in sample_events():
        found = [(number, box) for number in (start, start + 1) if (box := find_text(sample_pdf, number, event["title"]))]
        assert len(found) == 1, f"{event['title']!r} found {len(found)} times"
        positions.append(spread_x(sample_pdf, *found[0]))
    assert positions == sorted(positions)
    assert len({round(p) for p in positions}) == len(positions)


def test_no_text_within_the_gutter_or_near_the_trim(sample_pdf: Path) -> None:
    assert_safe(sample_pdf, timeline_start(sample_pdf))


def test_the_axis_crosses_the_fold_at_one_height_and_runs_into_the_bleed(sample_pdf: Path) -> None:
    start = timeline_start(sample_pdf)
    dpi = 100
    verso, recto = render_page(sample_pdf, start - 1, dpi), render_page(sample_pdf, start, dpi)
    bleed, width = round(3 / 25.4 * dpi), round(148 / 25.4 * dpi)
    green = (0x01, 0x41, 0x1C)

    def band_rows(image, x: int) -> list[int]:
        return [y for y in range(image.height) if all(abs(a - b) < 30 for a, b in zip(image.getpixel((x, y)), green, strict=True))]

    at_fold = band_rows(verso, bleed + width - 2), band_rows(recto, bleed + 1)
    at_edges = band_rows(verso, 1), band_rows(recto, recto.width - 2)
    assert at_fold[0] and at_fold[0] == at_fold[1]
    assert at_edges[0] == at_edges[1] == at_fold[0]
    assert max(at_fold[0]) - min(at_fold[0]) == len(at_fold[0]) - 1  # one unbroken band


def test_the_spread_has_a_title_a_standfirst_and_a_key_but_no_heads_or_folios(sample_pdf: Path) -> None:
    start = timeline_start(sample_pdf)
    verso, recto = page_texts(sample_pdf)[start - 1], page_texts(sample_pdf)[start]
    data = yaml.safe_load((ROOT / "content" / "timeline.yaml").read_text(encoding="utf-8"))
    assert TIMELINE in verso and data["standfirst"] in verso
    for tag in {event["tag"] for event in data["events"]}:
        assert tag.upper() in recto
    for number in (start, start + 1):
        assert not re.search(rf"(^|\s){number}(\s|$)", page_texts(sample_pdf)[number - 1]), f"folio on page {number}"
        assert words_near_top(sample_pdf, number - 1, 14) == "", f"running head on page {number}"


def test_the_contents_lists_the_timeline(sample_pdf: Path) -> None:
    contents = re.sub(r"\s+", " ", page_texts(sample_pdf)[2])
    assert re.search(rf"{TIMELINE}[ .]*12\b", contents)


# ---- Mini-projects ------------------------------------------------------------


def timeline_yaml(events: list[tuple[object, str, str, str]], *, title: str = "A Made-up History") -> str:
    lines = [f"title: {title}", "standfirst: Events of a made-up history, for testing.", "events:"]
    for date, name, text, tag in events:
        lines += [f"  - date: {date}", f"    title: {name}", f"    text: {text}", f"    tag: {tag}"]
    return "\n".join(lines) + "\n"


def generated(count: int) -> list[tuple[object, str, str, str]]:
    tags = ["diplomacy", "economy", "culture", "defense"]
    return [
        (
            1900 + 3 * i,
            f"Event number {i + 1:02d}",
            "Something happened that year which deserves a line or two" + (" and then a few words more" if i % 3 == 0 else "") + ".",
            tags[i % len(tags)],
        )
        for i in range(count)
    ]


def build_mini(make_project, files: dict[str, str | None], *extra: str) -> Path:
    project = make_project(files)
    result = run("build", "--project", str(project), "-q", *extra)
    assert result.exit_code == 0, result.output
    return project


def test_forty_events_run_over_several_spreads_without_overlaps(make_project) -> None:
    events = generated(40)
    project = build_mini(make_project, {"content/timeline.yaml": timeline_yaml(events)})
    pdf = project / "build" / "mini-print.pdf"
    starts = dict(outline(pdf))
    first, after = starts["A Made-up History"] + 1, starts["Second Section"] + 1
    pages = list(range(first, after - 1))  # the second section's divider comes before its opener
    assert first % 2 == 0 and len(pages) % 2 == 0 and len(pages) >= 6
    spreads = [pages[i : i + 2] for i in range(0, len(pages), 2)]

    found: dict[str, tuple[int, Box]] = {}
    for verso, recto in spreads:
        assert_safe(pdf, verso)
        boxes: dict[int, list[Box]] = {verso: [], recto: []}
        for date, name, text, _ in events:
            for number in (verso, recto):
                box = find_text(pdf, number, f"{date}{name}{text}")
                if box:
                    assert name not in found, f"{name} appears twice"
                    found[name] = (number, box)
                    boxes[number].append(box)
        for number, page_boxes in boxes.items():
            head = find_text(pdf, number, "A Made-up History") or find_text(pdf, number, "DIPLOMACY")
            assert head is not None
            for a, b in itertools.combinations([*page_boxes, head], 2):
                assert not overlapping(a, b), f"page {number}: labels overlap: {a} and {b}"
            for box in page_boxes:
                assert box[3] - box[1] > 8 * MM  # a whole label: date, title and text
    assert list(found) == [name for _, name, _, _ in events]  # every event, once, in order
    order = [(found[name][0], spread_x(pdf, *found[name])) for _, name, _, _ in events]
    assert order == sorted(order)

    texts = page_texts(pdf)
    for index, (verso, recto) in enumerate(spreads):
        assert ("CONTINUED ·" in texts[verso - 1]) == (index > 0)
        assert ("CONTINUED OVERLEAF" in texts[recto - 1]) == (index < len(spreads) - 1)
    # Text never shrinks below 7 pt to fit.
    with pdfplumber.open(pdf) as doc:
        assert min(c["size"] for number in pages for c in doc.pages[number - 1].chars) >= 7


@pytest.mark.parametrize(("count", "label_height"), [(10, 12.0), (40, 12.0), (10, 150.0)])
def test_the_probes_measured_ahead_are_those_the_spreads_ask_for_first(tmp_path: Path, count: int, label_height: float) -> None:
    from booklet.timeline import load_timeline
    from booklet.timeline_layout import Geometry, plan_spreads, probes_ahead

    path = tmp_path / "timeline.yaml"
    path.write_text(timeline_yaml(generated(count)), encoding="utf-8")
    timeline = load_timeline(path, {"primary": "#112233"}, dict.fromkeys(["diplomacy", "economy", "culture", "defense"], "primary"))
    assert timeline is not None
    geometry = Geometry(width=148, height=210, outer=15, top=15, bottom=18, gutter=10)
    calls: list[list[object]] = []

    def measure(probes):
        calls.append(list(probes))
        # The heads, the events at their widest and the labels of a second try fit; the first labels as placed may not.
        return [label_height if len(calls) == 3 else 12.0] * len(probes)

    plan_spreads(timeline, geometry, measure)
    ahead = probes_ahead(timeline, geometry)
    # Ten events fit one spread across, forty do not: their labels are those of the first number of spreads that does.
    assert len(ahead) == 3
    assert calls[:3] == ahead
    # Only labels too tall as placed make it try more spreads, which are measured as it asks.
    assert len(calls) == (3 if label_height == 12.0 else 4)


def test_a_single_event_still_makes_a_spread(make_project) -> None:
    event = ("1961-04-12", "The only event", "One event alone still makes a spread of its own.", "science")
    project = build_mini(make_project, {"content/timeline.yaml": timeline_yaml([event])})
    pdf = project / "build" / "mini-print.pdf"
    start = timeline_start(pdf, "A Made-up History")
    assert start % 2 == 0
    assert_safe(pdf, start)
    spread = page_texts(pdf)[start - 1] + page_texts(pdf)[start]
    assert "12 APRIL" in spread and "1961" in spread and "SCIENCE" in spread
    assert find_text(pdf, start + 1, "The only event" + event[2]) is not None
    assert len(pypdf.PdfReader(pdf).pages) % 4 == 0


def test_a_spread_that_would_start_on_a_recto_gets_a_filler_page(make_project) -> None:
    long_text = "\n\n".join(["Words of a long section, set to fill the page and spill over. " * 12] * 3)
    project = build_mini(
        make_project,
        {
            "booklet.toml": 'name = "mini"\ntitle = "Mini Booklet"\nbrand = "assets/brands/anniversary/_brand.yml"\n'
            '[timeline]\nafter = "01-one"\n',
            "content/01-one.md": f"---\ntitle: First Section\n---\n\n{long_text}\n",
            "content/timeline.yaml": timeline_yaml(generated(7)),
        },
    )
    pdf = project / "build" / "mini-print.pdf"
    starts = dict(outline(pdf))
    opener, start = starts["First Section"] + 1, timeline_start(pdf, "A Made-up History")
    assert (opener, start) == (5, 8)  # the section runs over 5-6, so page 7 is the filler
    filler = page_texts(pdf)[6]
    assert "A Made-up History" in filler and "Events of a made-up history" in filler
    assert_safe(pdf, start)
    assert len(pypdf.PdfReader(pdf).pages) % 4 == 0


def test_after_places_the_spread_after_a_named_section(make_project) -> None:
    project = build_mini(
        make_project,
        {
            "booklet.toml": 'name = "mini"\ntitle = "Mini"\nbrand = "assets/brands/anniversary/_brand.yml"\n[timeline]\nafter = "02-two.md"\n',
            "content/timeline.yaml": timeline_yaml(generated(3)),
        },
    )
    pdf = project / "build" / "mini-print.pdf"
    assert timeline_start(pdf, "A Made-up History") == dict(outline(pdf))["Second Section"] + 2


# ---- The handout edition ------------------------------------------------------


def test_the_handout_is_one_landscape_a4_page(make_project) -> None:
    events = generated(10)
    project = build_mini(make_project, {"content/timeline.yaml": timeline_yaml(events)}, "--edition", "timeline")
    handout = project / "build" / "mini-timeline.pdf"
    assert not (project / "build" / "mini-print.pdf").exists()  # only the edition asked for
    reader = pypdf.PdfReader(handout)
    assert len(reader.pages) == 1
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert abs(width - 297 * MM) < 1 and abs(height - 210 * MM) < 1
    for _, name, _, _ in events:
        assert find_text(handout, 1, name) is not None


def test_editions_can_be_combined_and_the_handout_can_be_a3(make_project) -> None:
    project = build_mini(
        make_project,
        {
            "booklet.toml": 'name = "mini"\ntitle = "Mini"\nbrand = "assets/brands/anniversary/_brand.yml"\n[timeline]\nhandout_size = "A3"\n',
            "content/timeline.yaml": timeline_yaml(generated(2)),
        },
        "--edition",
        "print",
        "--edition",
        "timeline",
    )
    assert (project / "build" / "mini-print.pdf").is_file()
    page = pypdf.PdfReader(project / "build" / "mini-timeline.pdf").pages[0]
    assert abs(float(page.mediabox[2]) - 420 * MM) < 1 and abs(float(page.mediabox[3]) - 297 * MM) < 1


def test_no_timeline_file_means_no_timeline(make_project) -> None:
    project = build_mini(make_project, {})
    assert len(pypdf.PdfReader(project / "build" / "mini-print.pdf").pages) == 8
    result = run("build", "--project", str(project), "-q", "--edition", "timeline")
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "timeline.file: the timeline edition needs the timeline's data" in result.output


def test_an_unknown_edition_is_an_error(make_project) -> None:
    result = run("build", "--project", str(make_project()), "-q", "--edition", "poster")
    assert result.exit_code == 1
    assert result.output == "error: unknown edition 'poster'\n  hint: editions: print, screen, handout, timeline\n"


# ---- Bad data -----------------------------------------------------------------

GOOD = "  - date: 1948-05-01\n    title: Relations established\n"
BAD = {
    "impossible month": (
        GOOD + "  - date: 1990-13\n    title: The plane\n",
        "error: content/timeline.yaml:5: events[1].date: event \"The plane\" has an impossible date '1990-13': it has no month 13\n"
        "  hint: write a year (1990), a month (1966-01), a day (1948-05-01) or a span (1979/1989)\n",
    ),
    "impossible day": (
        "  - date: 2023-02-30\n    title: Not a day\n",
        "error: content/timeline.yaml:3: events[0].date: event \"Not a day\" has an impossible date '2023-02-30': "
        "it has no day 30 in February 2023\n"
        "  hint: write a year (1990), a month (1966-01), a day (1948-05-01) or a span (1979/1989)\n",
    ),
    "backwards span": (
        GOOD + "  - date: 1979/1960\n    title: The war\n",
        "error: content/timeline.yaml:5: events[1].date: event \"The war\" has a span that ends before it starts: '1979/1960'\n"
        "  hint: write the earlier date first: 1960/1979\n",
    ),
    "not a date": (
        "  - date: next spring\n    title: Someday\n",
        "error: content/timeline.yaml:3: events[0].date: event \"Someday\" has an impossible date 'next spring': it is not a date\n"
        "  hint: write a year (1990), a month (1966-01), a day (1948-05-01) or a span (1979/1989)\n",
    ),
    "missing title": (
        GOOD + "  - date: 1994\n    text: An agreement.\n",
        "error: content/timeline.yaml:5: events[1].title: event dated 1994 has no title\n"
        "  hint: add a line such as '    title: Tashkent Declaration signed'\n",
    ),
    "unknown key": (
        GOOD + "  - date: 1994\n    title: Visas\n    place: Moscow\n",
        "error: content/timeline.yaml:7: events[1].place: event \"Visas\" has an unknown key 'place'\n  hint: known keys: date, title, text, tag, image\n",
    ),
    "missing image": (
        GOOD + "  - date: 1994\n    title: Visas\n    image: images/visa.png\n",
        "error: content/timeline.yaml:7: events[1].image: image 'images/visa.png' of event \"Visas\" not found "
        "(looked for {project}/content/images/visa.png)\n"
        "  hint: check the path; it is relative to timeline.yaml\n",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_timeline_data_gives_a_located_message(case: str, make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    events, expected = BAD[case]
    project = make_project({"content/timeline.yaml": "title: Dates\nevents:\n" + events})
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert result.exit_code == 1
    assert result.output == expected.replace("{project}", str(project.resolve()))
    assert not (project / "build").exists()


def test_an_event_too_long_for_any_page_is_named(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project({"content/timeline.yaml": f"events:\n{GOOD}  - date: 1990\n    title: Wordy\n    text: {'On and on. ' * 150}\n"})
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert result.exit_code == 1
    assert result.output == (
        'error: content/timeline.yaml:4: events[1].text: event "Wordy" is too long for the timeline: '
        "even on its own it is taller than a page has room for\n"
        "  hint: keep each event's text to a line or two\n"
    )


def test_a_missing_timeline_file_named_in_the_config_is_an_error(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(
        {"booklet.toml": 'title = "Mini"\nbrand = "assets/brands/anniversary/_brand.yml"\n[timeline]\nfile = "dates.yaml"\n'}
    )
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert result.exit_code == 1
    assert result.output == (
        f"error: booklet.toml: timeline.file: 'dates.yaml' not found (looked for {project.resolve()}/dates.yaml)\n"
        "  hint: check the path; it is relative to booklet.toml. Leave the key out for no timeline\n"
    )


def test_after_must_name_a_section(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(
        {
            "booklet.toml": 'title = "Mini"\nbrand = "assets/brands/anniversary/_brand.yml"\n[timeline]\nafter = "03-three"\n',
            "content/timeline.yaml": "events:\n" + GOOD,
        }
    )
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert result.exit_code == 1
    assert result.output == (
        "error: booklet.toml: timeline.after: names '03-three', which is not a section\n"
        "  hint: use one of: 01-one, 02-two; or leave it out to place the timeline at the centre\n"
    )


def test_events_out_of_order_are_sorted_and_said_so(make_project) -> None:
    events = [("1994", "Later", "Second in time.", "economy"), ("1948", "Earlier", "First in time.", "diplomacy")]
    project = make_project({"content/timeline.yaml": timeline_yaml(events)})
    result = run("build", "--project", str(project), "-v")
    assert result.exit_code == 0, result.output
    assert (
        'timeline.yaml: the events are not in date order, so they are placed by date (first out of place: events[0] "Later", 1994)'
        in result.output
    )
    pdf = project / "build" / "mini-print.pdf"
    start = timeline_start(pdf, "A Made-up History")
    earlier, later = (next((n, b) for n in (start, start + 1) if (b := find_text(pdf, n, name))) for name in ("Earlier", "Later"))
    assert spread_x(pdf, *earlier) < spread_x(pdf, *later)


def test_duplicate_events_are_a_warning(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    events = [("1948", "Twice", "The same event.", "diplomacy"), ("1948", "Twice", "The same event again.", "diplomacy")]
    project = make_project({"content/timeline.yaml": timeline_yaml(events)})
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert result.exit_code == 0
    assert result.output == 'warning: content/timeline.yaml: events[1] "Twice" (1948) repeats events[0]; both are shown, so remove one\n'
    assert run("build", "-q", "--strict").exit_code == 1


# ---- Dates and placement ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (1990, "1990"),
        ("1966-01", "January 1966"),
        (dt.date(1948, 5, 1), "1 May 1948"),
        ("1980/1989", "1980s"),
        ("1979/1989", "1979–1989"),
        ("1966-01/1966-03", "January 1966 – March 1966"),
    ],
)
def test_dates_print_at_the_precision_given(value: object, label: str) -> None:
    assert parse_when(value).label() == label


def test_placement_aims_at_the_centre() -> None:
    # The sample as the first typesetting sees it: nine sections ending on pages 5, 7, ... 21 of 22.
    ends = {f"s{i}": 5 + 2 * i for i in range(9)}
    placement = place(section_ends=ends, order=list(ends), pages=22, spreads=1, after=None, dividers=True)
    assert (placement.after, placement.start, placement.filler, placement.pages) == ("s3", 12, False, 24)
    # A section ending on a verso: the spread follows a filler page.
    placement = place(section_ends={"a": 6, "b": 9}, order=["a", "b"], pages=10, spreads=1, after="a", dividers=True)
    assert (placement.start, placement.filler) == (8, True)


def test_the_timeline_edition_is_reported_as_one_page(make_project) -> None:
    project = make_project({"content/timeline.yaml": timeline_yaml(generated(3))})
    result = run("build", "--project", str(project), "-e", "timeline")
    assert result.exit_code == 0, result.output
    assert "mini-timeline.pdf: 1 page, " in result.output
    assert "1 pages" not in result.output
    report = run("preflight", "--project", str(project), "-e", "timeline")
    assert report.output.startswith("Preflight of "), report.output
    assert "(timeline edition, 1 page): " in report.output.splitlines()[0]
