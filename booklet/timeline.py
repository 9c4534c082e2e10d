"""The timeline's data: timeline.yaml read, checked and put in date order."""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from booklet.content import markdown_to_html
from booklet.errors import BookletError, ConfigError, ContentError, display_path, raise_all

log = logging.getLogger(__name__)

TIMELINE_KEYS = {
    "title": "The timeline's title, e.g. 75 years at a glance.",
    "standfirst": "One line under the title.",
    "events": "The events, a list.",
}
EVENT_KEYS = {
    "date": "A year (1990), a month (1966-01), a day (1948-05-01) or a span (1979/1989).",
    "title": "A short title (required).",
    "text": "A line or two of inline Markdown.",
    "tag": "A category such as diplomacy or economy; the brand colours each one.",
    "image": "A small picture, relative to timeline.yaml.",
}
DEFAULT_TITLE = "Timeline"
DATE_HINT = "write a year (1990), a month (1966-01), a day (1948-05-01) or a span (1979/1989)"
# Tags take their colour from the brand: its defaults: booklet: tags if they name one, else the first of these not yet shown.
TAG_COLOURS = ("primary", "secondary", "tertiary", "foreground")
_POINT = re.compile(r"^(\d{1,4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Moment:
    """A point in time as precise as the source gives it: a year, a month or a day."""

    year: int
    month: int | None = None
    day: int | None = None

    @property
    def begins(self) -> float:
        """Where it starts, in years (1966-01 begins at 1966.0)."""
        if self.month is None:
            return float(self.year)
        if self.day is None:
            return self.year + (self.month - 1) / 12
        return self.year + (dt.date(self.year, self.month, self.day).timetuple().tm_yday - 1) / _days_in(self.year)

    @property
    def ends(self) -> float:
        """Where it ends, in years (1966-01 ends where February begins)."""
        if self.month is None:
            return self.year + 1.0
        if self.day is None:
            return self.year + self.month / 12
        return self.begins + 1 / _days_in(self.year)

    def label(self) -> str:
        if self.month is None:
            return str(self.year)
        if self.day is None:
            return f"{calendar.month_name[self.month]} {self.year}"
        return f"{self.day} {calendar.month_name[self.month]} {self.year}"


@dataclass(frozen=True)
class When:
    """An event's date: one moment, or a span from one moment to another."""

    first: Moment
    last: Moment | None = None

    @property
    def begins(self) -> float:
        return self.first.begins

    @property
    def ends(self) -> float:
        return (self.last or self.first).ends

    @property
    def is_span(self) -> bool:
        return self.last is not None

    def parts(self) -> tuple[str, str]:
        """The date as set on the timeline: a small lead-in and the big part, ("1 May", "1948") or ("", "1980s")."""
        if self.last is None and self.first.month is not None:
            return self.first.label().removesuffix(f" {self.first.year}"), str(self.first.year)
        return "", self.label()

    def label(self) -> str:
        """The date as printed: "1 May 1948", "January 1966", "1990", "1980s", "1979–1989"."""
        first, last = self.first, self.last
        if last is None:
            return first.label()
        if first.month is None and last.month is None:
            if first.year % 10 == 0 and last.year == first.year + 9:
                return f"{first.year}s"
            return f"{first.year}–{last.year}"
        return f"{first.label()} – {last.label()}"


@dataclass(frozen=True)
class Event:
    """One event of the timeline, checked; ``index`` is its place in timeline.yaml (from 0)."""

    index: int
    line: int | None
    when: When
    title: str
    text_html: str
    tag: str | None
    image: Path | None

    @property
    def date(self) -> str:
        return self.when.label()


@dataclass(frozen=True)
class Tag:
    """A category of events and the CSS colour the brand gives it."""

    name: str
    colour: str


@dataclass(frozen=True)
class Timeline:
    """timeline.yaml, checked: events in date order and the tags they use."""

    source: Path
    title: str
    standfirst: str
    events: tuple[Event, ...]
    tags: tuple[Tag, ...]

    @property
    def years(self) -> str:
        """The years the events cover, e.g. "1948–2023"."""
        first = self.events[0].when.first.year
        last = (self.events[-1].when.last or self.events[-1].when.first).year
        return str(first) if first == last else f"{first}–{last}"

    def colour(self, event: Event) -> str:
        """The CSS colour of an event's tag (the brand's primary colour when it has none)."""
        for tag in self.tags:
            if tag.name == event.tag:
                return tag.colour
        return "var(--brand-primary)"


def parse_when(value: Any) -> When:
    """Read a date from YAML: 1990, "1966-01", 1948-05-01 (YAML makes it a date) or "1979/1989".

    Raises ValueError with the reason, to be put after "has an impossible date".
    """
    if isinstance(value, bool):
        raise ValueError("is not a date")
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return When(Moment(value.year, value.month, value.day))
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("is not a date")
    parts = value.strip().split("/")
    if len(parts) > 2:
        raise ValueError("is not a date")
    moments = [_moment(part.strip()) for part in parts]
    if len(moments) == 1:
        return When(moments[0])
    first, last = moments
    if last.begins < first.begins:
        raise ValueError("ends before it starts")
    return When(first, last)


def _moment(text: str) -> Moment:
    match = _POINT.match(text)
    if not match:
        raise ValueError("is not a date")
    year, month, day = (int(part) if part else None for part in match.groups())
    assert year is not None
    if year == 0:
        raise ValueError("has no year 0")
    if month is not None and not 1 <= month <= 12:
        raise ValueError(f"has no month {month}")
    if month is not None and day is not None and not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise ValueError(f"has no day {day} in {calendar.month_name[month]} {year}")
    return Moment(year, month, day)


def _days_in(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def load_timeline(path: Path | None, colours: Mapping[str, str], tags: Mapping[str, str] | None = None) -> Timeline | None:
    """Read and check timeline.yaml; None when there is none. All problems are reported together.

    ``colours`` are the brand's (name to hex) and ``tags`` its tag colours (defaults: booklet: tags),
    so that each tag gets a colour of its own.
    """
    if path is None or not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ContentError(f"is not UTF-8 text (byte {exc.start})", file=path, hint="save the file as UTF-8") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader: no arbitrary objects
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ContentError(
            f"is not valid YAML: {problem}",
            file=path,
            line=mark.line + 1 if mark is not None else None,
            hint="timeline.yaml holds 'key: value' lines and a list of events, each starting with '- date:'",
        ) from None
    lines = _Lines(root)
    if not isinstance(data, dict):
        raise ContentError("must hold 'title:', 'standfirst:' and a list of 'events:'", file=path, line=1)

    errors: list[BookletError] = []
    for key in data:
        if key not in TIMELINE_KEYS:
            errors.append(ContentError("unknown key", file=path, line=lines.key(str(key)), key=str(key), hint=_known(key, TIMELINE_KEYS)))
    title, standfirst = DEFAULT_TITLE, ""
    for key in ("title", "standfirst"):
        value = data.get(key)
        if value is not None and not isinstance(value, (str, int, float)):
            errors.append(ContentError("must be text", file=path, line=lines.key(key), key=key))
        elif value is not None and key == "title":
            title = str(value).strip() or DEFAULT_TITLE
        elif value is not None:
            standfirst = str(value).strip()
    raw_events = data.get("events")
    if not isinstance(raw_events, list) or not raw_events:
        errors.append(
            ContentError(
                "has no events",
                file=path,
                line=lines.key("events"),
                key="events",
                hint="add a list: 'events:' then lines such as '  - date: 1948-05-01' and '    title: Relations established'",
            )
        )
        raw_events = []
    events = []
    for index, raw in enumerate(raw_events):
        try:
            events.append(_event(index, raw, path, lines))
        except BookletError as exc:
            errors.append(exc)
    raise_all(errors)

    ordered = sorted(events, key=lambda e: (e.when.begins, e.when.ends))  # stable: equal dates keep the file's order
    if ordered != events:
        moved = next(e for e, o in zip(events, ordered, strict=True) if e is not o)
        log.info(
            "%s: the events are not in date order, so they are placed by date (first out of place: events[%d] %s, %s)",
            path.name,
            moved.index,
            _named(moved.title),
            moved.date,
        )
    _warn_duplicates(ordered, path)
    return Timeline(source=path, title=title, standfirst=standfirst, events=tuple(ordered), tags=_tags(ordered, colours, tags or {}, path))


def _event(index: int, raw: Any, path: Path, lines: _Lines) -> Event:
    where = f"events[{index}]"
    line = lines.item(index)
    if not isinstance(raw, dict):
        raise ContentError(
            "must be an event with 'date:' and 'title:'", file=path, line=line, key=where, hint="start each event with '- date: ...'"
        )
    errors: list[BookletError] = []
    title = raw.get("title")
    named = _named(str(title).strip()) if isinstance(title, (str, int, float)) and str(title).strip() else None
    label = f"event {named}" if named else f"event dated {raw.get('date')}" if "date" in raw else "the event"
    for key in raw:
        if key not in EVENT_KEYS:
            errors.append(
                ContentError(
                    f"{label} has an unknown key '{key}'",
                    file=path,
                    line=lines.item_key(index, str(key)),
                    key=f"{where}.{key}",
                    hint=_known(key, EVENT_KEYS),
                )
            )
    if named is None:
        errors.append(
            ContentError(
                f"{label} has no title",
                file=path,
                line=lines.item_key(index, "title") or line,
                key=f"{where}.title",
                hint="add a line such as '    title: Tashkent Declaration signed'",
            )
        )
    when = None
    if "date" not in raw or raw["date"] is None:
        errors.append(ContentError(f"{label} has no date", file=path, line=line, key=f"{where}.date", hint=DATE_HINT))
    else:
        try:
            when = parse_when(raw["date"])
        except ValueError as exc:
            shown = raw["date"]
            reason = str(exc)
            if reason == "ends before it starts":
                first, _, last = str(shown).partition("/")
                message, hint = f"{label} has a span that ends before it starts: '{shown}'", f"write the earlier date first: {last}/{first}"
            else:
                message, hint = f"{label} has an impossible date '{shown}': it {reason}", DATE_HINT
            errors.append(ContentError(message, file=path, line=lines.item_key(index, "date"), key=f"{where}.date", hint=hint))
    text = raw.get("text", "")
    if text is None:
        text = ""
    if not isinstance(text, (str, int, float)):
        errors.append(ContentError(f"the text of {label} must be text", file=path, line=lines.item_key(index, "text"), key=f"{where}.text"))
        text = ""
    tag = raw.get("tag")
    if tag is not None and (not isinstance(tag, str) or not _TAG.match(tag.strip().lower())):
        errors.append(
            ContentError(
                f"{label} has a tag that is not a single word: {tag!r}",
                file=path,
                line=lines.item_key(index, "tag"),
                key=f"{where}.tag",
                hint="use lower-case letters, digits and hyphens, such as diplomacy or trade-and-energy",
            )
        )
        tag = None
    image = None
    if raw.get("image") is not None:
        src = str(raw["image"])
        image = (path.parent / src).resolve()
        if not image.is_file():
            errors.append(
                ContentError(
                    f"image '{src}' of {label} not found (looked for {image})",
                    file=path,
                    line=lines.item_key(index, "image"),
                    key=f"{where}.image",
                    hint="check the path; it is relative to timeline.yaml",
                )
            )
    raise_all(errors)
    assert when is not None
    return Event(
        index=index,
        line=line,
        when=when,
        title=str(title).strip(),
        text_html=_inline_html(str(text).strip()),
        tag=tag.strip().lower() if tag else None,
        image=image,
    )


def _inline_html(text: str) -> str:
    """Inline Markdown: one paragraph is unwrapped, so the label's own block holds it."""
    if not text:
        return ""
    html = markdown_to_html(text).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return html


def _named(title: str) -> str:
    return f'"{title}"'


def _known(key: object, known: dict[str, str]) -> str:
    close = difflib.get_close_matches(str(key), list(known), n=1)
    return f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"


def _warn_duplicates(events: list[Event], path: Path) -> None:
    seen: dict[tuple[When, str], Event] = {}
    for event in events:
        key = (event.when, " ".join(event.title.lower().split()))
        if key in seen:
            log.warning(
                "%s: events[%d] %s (%s) repeats events[%d]; both are shown, so remove one",
                display_path(path),
                event.index,
                _named(event.title),
                event.date,
                seen[key].index,
            )
        else:
            seen[key] = event


def _tags(events: list[Event], colours: Mapping[str, str], brand_tags: Mapping[str, str], path: Path) -> tuple[Tag, ...]:
    """Each tag's colour: the brand's (--tag-<name>) if it sets one, else a theme colour no other tag shows."""
    names = list(dict.fromkeys(e.tag for e in events if e.tag))
    taken = {brand_tags[name] for name in names if name in brand_tags}
    free = []
    for slot in TAG_COLOURS:
        value = colours.get(slot)
        if value and value not in taken:
            taken.add(value)
            free.append(slot)
    tags = []
    for index, name in enumerate(names):
        if name in brand_tags:
            tags.append(Tag(name, f"var(--tag-{name})"))
        elif free:
            tags.append(Tag(name, f"var(--brand-{free.pop(0)})"))
        else:
            log.warning(
                "%s: tag '%s' shares a colour with another tag; give it one in the brand's defaults: booklet: tags: %s",
                display_path(path),
                name,
                name,
            )
            tags.append(Tag(name, f"var(--brand-{TAG_COLOURS[index % len(TAG_COLOURS)]})"))
    return tuple(tags)


def check_placement(after: str | None, sections: list[Any], config_path: Path) -> str | None:
    """The slug of the section the timeline follows, from [timeline] after (a file name or stem); None for the centre."""
    if after is None:
        return None
    for section in sections:
        if after in (section.source.name, section.source.stem):
            return str(section.slug)
    raise ConfigError(
        f"names '{after}', which is not a section",
        file=config_path,
        key="timeline.after",
        hint=f"use one of: {', '.join(s.source.stem for s in sections)}; or leave it out to place the timeline at the centre",
    )


class _Loader(yaml.SafeLoader):
    """YAML without its own dates: 1948-05-01 stays as written, so an impossible date is ours to report, with its line."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Lines:
    """Line numbers (from 1) of timeline.yaml's keys and events, for located messages."""

    def __init__(self, root: yaml.Node | None):
        self.root = root if isinstance(root, yaml.MappingNode) else None

    def key(self, name: str) -> int | None:
        for key, _ in self.root.value if self.root else []:
            if key.value == name:
                return key.start_mark.line + 1
        return None

    def _item(self, index: int) -> yaml.Node | None:
        for key, value in self.root.value if self.root else []:
            if key.value == "events" and isinstance(value, yaml.SequenceNode) and index < len(value.value):
                return value.value[index]
        return None

    def item(self, index: int) -> int | None:
        node = self._item(index)
        return node.start_mark.line + 1 if node is not None else None

    def item_key(self, index: int, name: str) -> int | None:
        node = self._item(index)
        if isinstance(node, yaml.MappingNode):
            for key, _ in node.value:
                if key.value == name:
                    return key.start_mark.line + 1
        return None
