"""The timeline's geometry: events on spreads or a handout sheet, and where the spread goes in the booklet."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from booklet.errors import ContentError
from booklet.timeline import Event, Timeline

# Labels are set at a fixed size and change width instead: narrower labels fit more events, but a label
# narrower than LABEL_MIN holds too few words a line to read. LABEL_GAP keeps labels on one side apart.
LABEL_MIN = 30.0
LABEL_MAX = 46.0
LABEL_GAP = 4.0
# Neighbouring stems are never further apart than this, so a short timeline stays one picture.
STEP_MAX = 62.0
# White space between the head (title, or the key) and the tallest label.
HEAD_GAP = 9.0
# The handout is for office printers, which cannot print to the edge of the sheet.
HANDOUT_MARGIN = 14.0
# The handout's title takes this share of the width, the key the rest.
HANDOUT_HEAD = 0.55


@dataclass(frozen=True)
class Geometry:
    """A page of the timeline in mm: trim size, the margins text keeps to, and the fold's gutter."""

    width: float
    height: float
    outer: float
    top: float
    bottom: float
    gutter: float


@dataclass(frozen=True)
class Label:
    """One event on its page: the stem at ``x`` (mm from the trim's left edge), the label beside it."""

    event: Event
    x: float
    width: float
    above: bool
    hang: str  # "right": the label runs to the right of its stem; "left": to the left (towards the outer edge)

    @property
    def left(self) -> float:
        return self.x if self.hang == "right" else self.x - self.width


@dataclass(frozen=True)
class Row:
    """One axis at height ``y`` (mm from the trim's top edge), with its labels and era breaks."""

    y: float
    labels: tuple[Label, ...]
    breaks: tuple[float, ...]


@dataclass(frozen=True)
class Sheet:
    """One page of the timeline: the verso or recto of a spread, or the whole handout."""

    side: str  # "verso", "recto" or "handout"
    rows: tuple[Row, ...]
    years: str


@dataclass(frozen=True)
class Spread:
    """Two facing pages; a long timeline has several, each after the last."""

    number: int
    count: int
    verso: Sheet
    recto: Sheet

    @property
    def continued(self) -> bool:
        return self.number > 1

    @property
    def continues(self) -> bool:
        return self.number < self.count


@dataclass(frozen=True)
class Probe:
    """Something whose height the layout needs: a label at a width, or the head or key block."""

    kind: str  # "event", "head" or "key"
    width: float
    event: Event | None = None


# Heights (mm) of the probes, in order, as WeasyPrint lays them out with the publication's styles.
Measure = Callable[[Sequence[Probe]], list[float]]


@dataclass(frozen=True)
class Placement:
    """Where the spreads go: after which section, on which page they start, and whether a filler page comes first."""

    after: str
    start: int
    filler: bool
    pages: int


def plan_spreads(timeline: Timeline, geometry: Geometry, measure: Measure) -> tuple[Spread, ...]:
    """Lay the events out over as few spreads as they fit, labels never narrower than LABEL_MIN and never clipped."""
    head, key = measure(_head_probes(geometry))
    tops = {"verso": geometry.top + head + HEAD_GAP, "recto": geometry.top + key + HEAD_GAP}
    bottom = geometry.height - geometry.bottom
    _check_each_fits(timeline, bottom - max(tops.values()), measure, "a page")
    breaks = _long_gaps(timeline.events)
    for count in range(1, len(timeline.events) + 1):
        spreads = _try_spreads(timeline.events, count, geometry, tops, bottom, breaks, measure)
        if spreads is not None:
            return spreads
    raise ContentError(
        "the timeline's events are too long to fit the spreads",
        file=timeline.source,
        key="events",
        hint="keep each event's text to a line or two",
    )


def probes_ahead(timeline: Timeline, geometry: Geometry, *, counts: int = 1) -> list[list[Probe]]:
    """The probes ``plan_spreads`` measures first, each list a call of its ``measure``, in its order.

    None of them depends on a height it measures: the heads, every event at its widest, and the
    labels of the first ``counts`` numbers of spreads whose labels fit across. Measured ahead
    (in the build's workers, while this process reads), they leave ``plan_spreads`` nothing to
    typeset unless it needs more spreads than that.
    """
    rounds = [_head_probes(geometry), _widest_probes(timeline)]
    for count in range(1, len(timeline.events) + 1):
        if len(rounds) == 2 + counts:
            break
        pages = _spread_pages(_balanced(timeline.events, count), geometry)
        if pages is not None:  # else _try_spreads gives up on it before it measures
            rounds.append(_label_probes([label for verso, recto in pages for label in verso + recto]))
    return rounds


def _head_probes(geometry: Geometry) -> list[Probe]:
    return [Probe("head", _head_width(geometry)), Probe("key", _head_width(geometry))]


def _widest_probes(timeline: Timeline) -> list[Probe]:
    return [Probe("event", LABEL_MAX, event) for event in timeline.events]


def _label_probes(labels: list[Label]) -> list[Probe]:
    return [Probe("event", label.width, label.event) for label in labels]


def _spread_pages(groups: list[list[Event]], g: Geometry) -> list[tuple[list[Label], list[Label]]] | None:
    """Each group's labels on its verso and recto, or None if a group does not fit across."""
    across = [_across(group, g) for group in groups]
    return None if any(pair is None for pair in across) else [pair for pair in across if pair is not None]


def _try_spreads(
    events: Sequence[Event],
    count: int,
    g: Geometry,
    tops: dict[str, float],
    bottom: float,
    breaks: set[tuple[Event, Event]],
    measure: Measure,
) -> tuple[Spread, ...] | None:
    """The events on ``count`` spreads, or None if they do not fit across or up and down."""
    groups = _balanced(events, count)
    pages = _spread_pages(groups, g)
    if pages is None:
        return None
    heights = _heights([label for verso, recto in pages for label in verso + recto], measure)
    spreads = []
    for number, (group, (verso, recto)) in enumerate(zip(groups, pages, strict=True), start=1):
        placed = [(label, heights[label], tops["verso"]) for label in verso] + [(label, heights[label], tops["recto"]) for label in recto]
        y = _axis(placed, top=max(tops.values()), bottom=bottom)
        if y is None:
            return None
        on_verso, on_recto = _spread_breaks(verso, recto, breaks, g)
        years = _years(group)
        spreads.append(
            Spread(
                number=number,
                count=count,
                verso=Sheet("verso", (Row(y, tuple(verso), on_verso),), years),
                recto=Sheet("recto", (Row(y, tuple(recto), on_recto),), years),
            )
        )
    return tuple(spreads)


def plan_handout(timeline: Timeline, size: tuple[float, float], measure: Measure) -> Sheet:
    """Lay every event out on one landscape sheet, in as few rows as fit; a sheet too small is an error."""
    width, height = size
    x0, x1 = HANDOUT_MARGIN, width - HANDOUT_MARGIN
    head, key = measure([Probe("head", (x1 - x0) * HANDOUT_HEAD), Probe("key", (x1 - x0) * (1 - HANDOUT_HEAD))])
    top = HANDOUT_MARGIN + max(head, key) + HEAD_GAP
    bottom = height - HANDOUT_MARGIN
    shortest = _check_each_fits(timeline, bottom - top, measure, "the handout")
    breaks = _long_gaps(timeline.events)
    # Each row needs room for at least the shortest label above its axis and another below.
    for count in range(1, int(min(len(timeline.events), (bottom - top) // (2 * shortest))) + 1):
        rows = _try_rows(timeline.events, count, (x0, x1), (top, bottom), breaks, measure)
        if rows is not None:
            return Sheet("handout", rows, timeline.years)
    raise ContentError(
        f"the timeline's {len(timeline.events)} events do not fit one {width:g} x {height:g} mm sheet",
        file=timeline.source,
        hint='set handout_size = "A3" in the [timeline] table of booklet.toml, or shorten the texts'
        if width < 420
        else "shorten the texts, or make the handout from fewer events",
    )


def _try_rows(
    events: Sequence[Event],
    count: int,
    across: tuple[float, float],
    down: tuple[float, float],
    breaks: set[tuple[Event, Event]],
    measure: Measure,
) -> tuple[Row, ...] | None:
    """The events in ``count`` rows, one above the other, or None if they do not fit."""
    placed = [_row(group, *across) for group in _balanced(events, count)]
    if any(row is None for row in placed):
        return None
    rows = [row for row in placed if row is not None]
    heights = _heights([label for row in rows for label in row], measure)
    strip = (down[1] - down[0]) / count
    result = []
    for index, row in enumerate(rows):
        top = down[0] + index * strip
        y = _axis([(label, heights[label], top) for label in row], top=top, bottom=top + strip)
        if y is None:
            return None
        result.append(Row(y, tuple(row), _row_breaks(row, breaks)))
    return tuple(result)


def place(*, section_ends: dict[str, int], order: Sequence[str], pages: int, spreads: int, after: str | None, dividers: bool) -> Placement:
    """Choose where the spreads go, from a typesetting of the booklet without them.

    ``section_ends`` maps each section's slug to the page (from 1) its text ends on; ``pages`` is the page count
    before padding. The spreads start on the first verso after the section, with a filler page when the section ends
    on a verso. By default they go after the section that brings them nearest the centre of the padded booklet,
    where a saddle-stitched booklet's two facing pages are one sheet.
    """
    candidates = []
    for position, slug in enumerate(order):
        end = section_ends[slug]
        start = end + 1 if end % 2 == 1 else end + 2
        total = _padded(pages + _shift(end, start, spreads, last=position == len(order) - 1, dividers=dividers))
        middle = start + spreads - 1  # the verso of the middle spread's pair of centre pages
        candidates.append((abs(middle - total // 2), start != end + 1, position, Placement(slug, start, start != end + 1, total)))
    if after is not None:
        return next(c[3] for c in candidates if c[3].after == after)
    return min(candidates)[3]


def _shift(end: int, start: int, spreads: int, *, last: bool, dividers: bool) -> int:
    """How many pages the spreads add: what follows starts on a verso (a divider or the back cover) or a recto (an opener)."""
    if dividers or last:
        before = end + 1 if end % 2 == 1 else end + 2
        after = start + 2 * spreads
    else:
        before = end + 1 if end % 2 == 0 else end + 2
        after = start + 2 * spreads + 1
    return after - before


def _padded(pages: int) -> int:
    return pages + (-pages % 4)


def _heights(labels: list[Label], measure: Measure) -> dict[Label, float]:
    return dict(zip(labels, measure(_label_probes(labels)), strict=True))


def _head_width(geometry: Geometry) -> float:
    return geometry.width - geometry.outer - geometry.gutter - 12.0


def _balanced(events: Sequence[Event], count: int) -> list[list[Event]]:
    """Split the events into ``count`` runs whose lengths differ by one at most, the longer runs first."""
    size, extra = divmod(len(events), count)
    groups, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        groups.append(list(events[start:end]))
        start = end
    return groups


def _label_width(step: float, crowded: bool) -> float:
    # Labels alternate above and below, so one side's neighbours are two steps apart.
    return min(LABEL_MAX, 2 * step - LABEL_GAP) if crowded else LABEL_MAX


def _across(group: list[Event], g: Geometry) -> tuple[list[Label], list[Label]] | None:
    """Place a spread's events, evenly spaced and mirrored about the fold; labels run away from it.

    The verso holds the first half, the recto the rest. Stems are one step apart, and the two nearest the fold are
    one step apart across it (at least the gutter each side), so the rhythm carries over the fold.
    """
    verso_count = len(group) // 2
    recto_count = len(group) - verso_count
    crowded = max(verso_count, recto_count) >= 3
    usable = g.width - g.outer

    def fits(step: float) -> bool:
        width = _label_width(step, crowded)
        inner = max(g.gutter, step / 2)
        return width >= LABEL_MIN and all(inner + (count - 1) * step + width <= usable for count in (verso_count, recto_count) if count)

    lowest = (LABEL_MIN + LABEL_GAP) / 2 if crowded else LABEL_GAP
    if not fits(lowest):
        return None
    step = _largest(fits, lowest, STEP_MAX)
    width = _label_width(step, crowded)
    inner = max(g.gutter, step / 2)
    verso = [
        Label(event, g.width - inner - (verso_count - 1 - i) * step, width, i % 2 == 0, "left")
        for i, event in enumerate(group[:verso_count])
    ]
    recto = [Label(event, inner + i * step, width, (verso_count + i) % 2 == 0, "right") for i, event in enumerate(group[verso_count:])]
    return verso, recto


def _row(group: list[Event], x0: float, x1: float) -> list[Label] | None:
    """Place one handout row's events, evenly spaced, labels to the right; a short row is centred."""
    crowded = len(group) >= 3

    def fits(step: float) -> bool:
        width = _label_width(step, crowded)
        return width >= LABEL_MIN and (len(group) - 1) * step + width <= x1 - x0

    lowest = (LABEL_MIN + LABEL_GAP) / 2 if crowded else LABEL_GAP
    if not fits(lowest):
        return None
    step = _largest(fits, lowest, STEP_MAX)
    width = _label_width(step, crowded)
    start = x0 + ((x1 - x0) - ((len(group) - 1) * step + width)) / 2
    return [Label(event, start + i * step, width, i % 2 == 0, "right") for i, event in enumerate(group)]


def _largest(fits: Callable[[float], bool], low: float, high: float) -> float:
    """The largest value in [low, high] that fits, given that ``low`` does and fitting only gets harder upwards."""
    if fits(high):
        return high
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return round(low, 2) if fits(round(low, 2)) else low


def _axis(labels: list[tuple[Label, float, float]], *, top: float, bottom: float) -> float | None:
    """The axis height that centres the labels in the free band (a little above centre); None if they cannot fit.

    Each label comes with its height and the top of the space it may use on its page.
    """
    low = max([top] + [page_top + height for label, height, page_top in labels if label.above])
    high = min([bottom] + [bottom - height for label, height, _ in labels if not label.above])
    if low > high:
        return None
    above = max([0.0] + [height for label, height, _ in labels if label.above])
    below = max([0.0] + [height for label, height, _ in labels if not label.above])
    # The optical centre sits above the geometric one: 45 % of the spare room above the labels, 55 % below.
    ideal = top + 0.45 * (bottom - top - above - below) + above
    return round(min(max(ideal, low), high), 2)


def _long_gaps(events: Sequence[Event]) -> set[tuple[Event, Event]]:
    """Neighbours with a long time between them: over twice the median gap, and at least a year.

    The axis spaces events evenly, so it marks these gaps with a break rather than pretending time is even.
    """
    pairs = list(itertools.pairwise(events))
    gaps = [max(0.0, b.when.begins - a.when.ends) for a, b in pairs]
    if not gaps:
        return set()
    threshold = max(2 * statistics.median(gaps), 1.0)
    return {pair for pair, gap in zip(pairs, gaps, strict=True) if gap > threshold}


def _spread_breaks(
    verso: list[Label], recto: list[Label], breaks: set[tuple[Event, Event]], g: Geometry
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Break marks between neighbours on each page; one that falls at the fold sits on the verso, clear of it."""
    on_verso = [(a.x + b.x) / 2 for a, b in itertools.pairwise(verso) if (a.event, b.event) in breaks]
    on_recto = [(a.x + b.x) / 2 for a, b in itertools.pairwise(recto) if (a.event, b.event) in breaks]
    if verso and recto and (verso[-1].event, recto[0].event) in breaks:
        on_verso.append(g.width - g.gutter / 2)
    return tuple(on_verso), tuple(on_recto)


def _row_breaks(row: list[Label], breaks: set[tuple[Event, Event]]) -> tuple[float, ...]:
    return tuple((a.x + b.x) / 2 for a, b in itertools.pairwise(row) if (a.event, b.event) in breaks)


def _years(group: Sequence[Event]) -> str:
    first = group[0].when.first.year
    last = (group[-1].when.last or group[-1].when.first).year
    return str(first) if first == last else f"{first}–{last}"


def _check_each_fits(timeline: Timeline, room: float, measure: Measure, where: str) -> float:
    """Fail early, naming the event, if a label at its widest is taller than all the room beside the axis.

    Returns the height of the shortest label.
    """
    heights = measure(_widest_probes(timeline))
    for event, height in zip(timeline.events, heights, strict=True):
        if height > room:
            raise ContentError(
                f'event "{event.title}" is too long for the timeline: even on its own it is taller than {where} has room for',
                file=timeline.source,
                line=event.line,
                key=f"events[{event.index}].text",
                hint="keep each event's text to a line or two",
            )
    return min(heights)
