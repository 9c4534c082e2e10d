"""The publication config, booklet.toml: a schema of typed keys with defaults and docs."""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from booklet import data as data_files
from booklet.errors import BookletError, ConfigError, raise_all
from booklet.units import parse_length, parse_page_size

log = logging.getLogger(__name__)

CONFIG_NAME = "booklet.toml"


@dataclass(frozen=True)
class Option:
    """One config key: what it holds, its default and a one-line doc."""

    doc: str
    default: Any = None
    check: Callable[[Any], Any] | None = None
    required: bool = False


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a string in quotes")
    return value


def _name(value: Any) -> str:
    value = _string(value)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value):
        raise ValueError("a file-name stem of letters, digits, '.', '_' or '-' (no spaces or slashes)")
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError('a list of strings, such as ["a", "b"]')
    return tuple(value)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("a date such as 2023-05-01")


def _language(value: Any) -> str:
    value = _string(value)
    if not re.fullmatch(r"[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})*", value):
        raise ValueError("a language tag such as en, ru, ur or en-GB")
    return value


EDITIONS = ("print", "screen", "handout", "timeline")


def _editions(value: Any) -> tuple[str, ...]:
    names = _strings(value)
    unknown = [name for name in names if name not in EDITIONS]
    if unknown or not names:
        raise ValueError(f"a list of editions from {', '.join(EDITIONS)}")
    return tuple(dict.fromkeys(names))


def _intent(value: Any) -> str:
    intents = ("relative-colorimetric", "perceptual", "saturation", "absolute-colorimetric")
    if value not in intents:
        raise ValueError(f"one of {', '.join(intents)}")
    return value


def _handout_sheet(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in ("a4", "letter"):
        raise ValueError('"a4" or "letter"')
    return value.lower()


def _duplex(value: Any) -> str:
    if value not in ("short", "long"):
        raise ValueError('"short" or "long"')
    return value


def _length(value: Any) -> float:
    return parse_length(value)


def _nonnegative_length(value: Any) -> float:
    length = parse_length(value)
    if length < 0:
        raise ValueError("zero or more")
    return length


def _landscape_sheet(value: Any) -> tuple[float, float]:
    if not isinstance(value, str) or value.strip().upper() not in ("A4", "A3"):
        raise ValueError('"A4" or "A3"')
    width, height = parse_page_size(value.strip())
    return height, width


def _seconds(value: Any) -> float:
    # bool is an int to Python, but `timeout = true` is a mistake, not one second.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value == float("inf"):
        raise ValueError("a number of seconds above zero, such as 300")
    return float(value)


def _megabytes(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value == float("inf"):
        raise ValueError("a number of megabytes above zero, such as 2")
    return float(value)


# Each table of booklet.toml, key by key. Paths are resolved against the config's folder.
SCHEMA: dict[str, dict[str, Option]] = {
    "": {
        "name": Option("Stem of the output files, as in build/<name>-print.pdf.", None, _name),
        "title": Option("The publication's title.", None, _string, required=True),
        "subtitle": Option("A subtitle, shown on the cover and the title page.", "", _string),
        "author": Option("Author, shown in the imprint and the PDF metadata.", "", _string),
        "publisher": Option("Publisher, shown in the imprint and on the back cover.", "", _string),
        "edition": Option('Edition statement for the imprint, e.g. "First edition".', "", _string),
        "language": Option("Language of the text (BCP 47), used for hyphenation and metadata.", "en", _language),
        "date": Option("Publication date; it also fixes the PDF's dates so builds are reproducible.", None, _date),
        "subject": Option("One-line subject for the PDF metadata.", "", _string),
        "keywords": Option("Keywords for the PDF metadata.", (), _strings),
        "description": Option("A short line about the publication for the back cover.", "", _string),
        "credits": Option("Lines of credits for the imprint page (artwork, fonts, photos).", (), _strings),
        "imprint_note": Option("A note printed in the imprint, e.g. that the text is reproduced as supplied.", "", _string),
        "brand": Option("Path of the brand file (brand.yml format).", "_brand.yml", _string),
        "sections": Option("Order of the section files in content/, when not by file name.", (), _strings),
        "content_dir": Option("Folder of the Markdown sections.", "content", _string),
        "templates_dir": Option("Folder of layout overrides.", "templates", _string),
        "out_dir": Option("Folder the PDFs are written to.", "build", _string),
        "editions": Option("Editions `booklet build` makes: print, screen, handout, timeline.", ("print",), _editions),
    },
    "page": {
        "size": Option('Trim size: A5, A4, Letter... or two lengths such as "148mm 210mm".', "A5", parse_page_size),
        "bleed": Option("Bleed beyond the trim on every side.", 3.0, _nonnegative_length),
    },
    "page.margins": {
        "inner": Option("Margin at the fold (the smallest).", 15.0, _nonnegative_length),
        "top": Option("Margin at the head.", 17.0, _nonnegative_length),
        "outer": Option("Margin at the fore-edge.", 20.0, _nonnegative_length),
        "bottom": Option("Margin at the foot (the largest).", 24.0, _nonnegative_length),
    },
    "print": {
        "profile": Option("CMYK output profile (ICC) of the print edition; by default booklet's FOGRA39 (coated paper).", None, _string),
        "intent": Option("Rendering intent for converting colours to the profile.", "relative-colorimetric", _intent),
        "marks": Option("Crop marks outside the bleed; many printers want none.", False, _boolean),
    },
    "handout": {
        "sheet": Option("Sheet the handout is imposed on, landscape: a4 or letter.", "a4", _handout_sheet),
        "duplex": Option("How the office printer turns the sheet: short (edge) or long.", "short", _duplex),
        "creep": Option("Creep compensation: how far the innermost sheet's pages move toward the fold.", 0.0, _nonnegative_length),
    },
    "timeline": {
        "file": Option("The timeline's data; when there is no such file there is no timeline.", "content/timeline.yaml", _string),
        "after": Option(
            "The section (file name or stem) the spread follows; by default the one that puts it at the centre.", None, _string
        ),
        "gutter": Option("No event text within this distance of the fold.", 10.0, _nonnegative_length),
        "handout_size": Option('Sheet of the timeline handout (--edition timeline), landscape: "A4" or "A3".', "A4", _landscape_sheet),
    },
    "limits": {
        "timeout": Option("Seconds the build may spend making the editions before it stops with an error.", 300, _seconds),
        "file_size": Option("Largest Markdown section or timeline file booklet reads, in megabytes.", 1, _megabytes),
    },
}


@dataclass(frozen=True)
class Margins:
    inner: float
    top: float
    outer: float
    bottom: float


@dataclass(frozen=True)
class PageConfig:
    width: float
    height: float
    bleed: float
    margins: Margins


@dataclass(frozen=True)
class TimelineConfig:
    """[timeline]: where the data is, where the spread goes, and the handout's sheet (landscape, mm)."""

    file: Path | None
    after: str | None
    gutter: float
    handout_size: tuple[float, float]


@dataclass(frozen=True)
class PrintConfig:
    """[print]: the CMYK output profile, how colours go into it, and crop marks."""

    profile: Path
    intent: str
    marks: bool


@dataclass(frozen=True)
class HandoutConfig:
    """[handout]: the office-printer sheet, duplex flip and creep (mm)."""

    sheet: str
    duplex: str
    creep: float


@dataclass(frozen=True)
class LimitsConfig:
    """[limits]: how long making the editions may take (s), and the largest content file (MB)."""

    timeout: float
    file_size: float


@dataclass(frozen=True)
class Config:
    """A validated booklet.toml; lengths in millimetres, paths absolute."""

    path: Path
    root: Path
    name: str
    title: str
    subtitle: str
    author: str
    publisher: str
    edition: str
    language: str
    date: dt.date | None
    subject: str
    keywords: tuple[str, ...]
    description: str
    credits: tuple[str, ...]
    imprint_note: str
    brand: Path
    sections: tuple[str, ...]
    content_dir: Path
    templates_dir: Path
    out_dir: Path
    page: PageConfig
    timeline: TimelineConfig
    editions: tuple[str, ...] = ("print",)
    print: PrintConfig | None = None
    handout: HandoutConfig = HandoutConfig("a4", "short", 0.0)
    limits: LimitsConfig = LimitsConfig(300.0, 1.0)
    warnings: tuple[str, ...] = field(default=())


def load_config(project: Path, *, brand: Path | None = None, out_dir: Path | None = None) -> Config:
    """Read and validate ``project/booklet.toml``; every problem is reported at once."""
    path = project / CONFIG_NAME
    if not path.is_file():
        raise ConfigError(
            f"no {CONFIG_NAME} in {project}",
            hint="run booklet in a project folder, pass --project DIR, or create one with `booklet new DIR`",
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("is not UTF-8 text", file=path, hint="save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        detail = getattr(exc, "msg", str(exc))
        raise ConfigError(
            f"is not valid TOML: {detail}", file=path, line=line, hint="check quotes, brackets and = signs on that line"
        ) from None

    values, errors, warnings = _validate(data, path)
    top, page, margins, timeline = values[""], values["page"], values["page.margins"], values["timeline"]
    root = path.parent.resolve()
    timeline_file: Path | None = (root / timeline["file"]).resolve()
    if timeline_file is not None and not timeline_file.is_file():
        given = _table(data, "timeline")
        if isinstance(given, dict) and "file" in given:
            errors.append(
                ConfigError(
                    f"'{timeline['file']}' not found (looked for {timeline_file})",
                    file=path,
                    key="timeline.file",
                    hint="check the path; it is relative to booklet.toml. Leave the key out for no timeline",
                )
            )
        timeline_file = None  # the default file is optional: no file, no timeline
    printing = values["print"]
    profile = (root / printing["profile"]).resolve() if printing["profile"] else data_files.icc_profile()
    if printing["profile"] and not profile.is_file():
        errors.append(
            ConfigError(
                f"'{printing['profile']}' not found (looked for {profile})",
                file=path,
                key="print.profile",
                hint="point to your printer's CMYK profile (.icc), relative to booklet.toml, or leave the key out for FOGRA39",
            )
        )
    raise_all(errors)
    for warning in warnings:
        log.warning("%s", warning)

    width, height = page["size"]
    name = top["name"] or _slug(root.name)
    return Config(
        path=path,
        root=root,
        name=name,
        title=top["title"],
        subtitle=top["subtitle"],
        author=top["author"],
        publisher=top["publisher"],
        edition=top["edition"],
        language=top["language"],
        date=top["date"],
        subject=top["subject"],
        keywords=top["keywords"],
        description=top["description"],
        credits=top["credits"],
        imprint_note=top["imprint_note"],
        brand=Path(brand).resolve() if brand else (root / top["brand"]).resolve(),
        sections=top["sections"],
        content_dir=(root / top["content_dir"]).resolve(),
        templates_dir=(root / top["templates_dir"]).resolve(),
        out_dir=Path(out_dir).resolve() if out_dir else (root / top["out_dir"]).resolve(),
        page=PageConfig(width=width, height=height, bleed=page["bleed"], margins=Margins(**margins)),
        timeline=TimelineConfig(
            file=timeline_file, after=timeline["after"], gutter=timeline["gutter"], handout_size=timeline["handout_size"]
        ),
        editions=top["editions"],
        print=PrintConfig(profile=profile, intent=printing["intent"], marks=printing["marks"]),
        handout=HandoutConfig(**values["handout"]),
        limits=LimitsConfig(**values["limits"]),
        warnings=tuple(warnings),
    )


def _validate(data: dict[str, Any], path: Path) -> tuple[dict[str, dict[str, Any]], list[BookletError], list[str]]:
    errors: list[BookletError] = []
    warnings: list[str] = []
    values: dict[str, dict[str, Any]] = {}
    for table, options in SCHEMA.items():
        given = _table(data, table)
        if not isinstance(given, dict):
            errors.append(ConfigError(f"must be a table ([{table}])", file=path, key=table))
            given = {}
        values[table] = {}
        for key, option in options.items():
            dotted = f"{table}.{key}" if table else key
            if key not in given:
                if option.required:
                    errors.append(ConfigError("is required but missing", file=path, key=dotted, hint=f"add it: {option.doc}"))
                # Defaults go through the same check, so "A5" becomes a size like a given value.
                values[table][key] = option.check(option.default) if option.check and option.default is not None else option.default
                continue
            try:
                values[table][key] = option.check(given[key]) if option.check else given[key]
            except ValueError as exc:
                errors.append(ConfigError(f"must be {exc}, not {given[key]!r}", file=path, key=dotted))
                values[table][key] = option.default
        children = {
            name.split(".")[-1]
            for name in SCHEMA
            if name and name.count(".") == table.count(".") + (1 if table else 0) and name.startswith(table)
        }
        for key in given:
            if key not in options and key not in children:
                dotted = f"{table}.{key}" if table else key
                close = difflib.get_close_matches(key, list(options) + sorted(children), n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys here: {', '.join(sorted(options))}"
                errors.append(ConfigError("unknown key", file=path, key=dotted, hint=hint))
    return values, errors, warnings


def _table(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in filter(None, dotted.split(".")):
        if not isinstance(node, dict):
            return {}
        node = node.get(part, {})
    return node


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "booklet"
