"""The brand: a brand.yml file read with brand_yml, turned into CSS custom properties."""

from __future__ import annotations

import hashlib
import logging
import pickle
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from booklet import __version__, data, yamlfile
from booklet.errors import BookletError, BrandError, display_path, raise_all

log = logging.getLogger(__name__)

BRAND_KEYS = ("meta", "logo", "color", "typography", "defaults")
THEME_COLORS = ("foreground", "background", "primary", "secondary", "tertiary", "success", "info", "warning", "danger", "light", "dark")
# The print-only settings under defaults: booklet:, each with the line the README gives it.
BOOKLET_KEYS = {
    "cover": "the cover's style, colours, artwork, caption and flags",
    "tags": "colours of the timeline's tags: tag name -> colour",
    "cmyk": "exact CMYK percentages for brand colours: colour name -> [c, m, y, k]",
    "section_dividers": "false to leave out the divider page before each section",
}
COVER_KEYS = ("style", "background", "foreground", "accent", "band", "art", "caption", "flags")
COVER_STYLES = ("field", "art", "band")
BODY_CONTRAST = 4.5  # WCAG AA for body text
LARGE_CONTRAST = 3.0  # WCAG AA for large text, such as a cover title
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_NAMED = {"white": "#FFFFFF", "black": "#000000"}
_IDENT = re.compile(r"^[a-z][a-z0-9-]*$")
# Families used when a brand names none, or names one booklet cannot embed; both ship with booklet.
DEFAULT_BASE = "Charis SIL"
DEFAULT_HEADINGS = "Inter"


@dataclass(frozen=True)
class FontFace:
    """One font file of a family, as brand.yml's typography.fonts lists it."""

    family: str
    path: Path
    weight: str
    style: str


@dataclass(frozen=True)
class Flag:
    """A flag (or any small emblem) set in a row on the cover."""

    path: Path
    alt: str


@dataclass(frozen=True)
class Cover:
    """How the cover looks: a style class and the colours the brand resolves for it."""

    style: str
    background: str
    foreground: str
    accent: str
    band: str
    band_foreground: str
    art: Path | None = None
    caption: str = ""
    flags: tuple[Flag, ...] = ()

    @property
    def dark(self) -> bool:
        """True when the cover's field is dark, so the logo for dark backgrounds belongs on it."""
        return is_dark(self.background)


@dataclass(frozen=True)
class Brand:
    """What the layouts need from a brand: colours, fonts, logos and print settings.

    ``colors`` holds every palette and theme colour as upper-case hex, plus the colours
    booklet derives when the brand does not set them (accent, on-primary, rule, divider,
    divider-number). ``cmyk`` maps a brand colour's name to its exact CMYK percentages.
    """

    path: Path
    name: str
    colors: Mapping[str, str]
    fonts: tuple[FontFace, ...]
    base_family: str
    headings_family: str
    mono_family: str
    headings_color: str
    logos: Mapping[str, Path]
    cover: Cover
    base_size: float = 10.0
    leading: float = 14.5
    headings_weight: str = "600"
    link: str = ""
    cmyk: Mapping[str, tuple[float, float, float, float]] = field(default_factory=lambda: MappingProxyType({}))
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    section_dividers: bool = True
    booklet: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def logo(self, size: str = "large", *, dark: bool = False) -> Path | None:
        """The logo for a size, preferring the variant for dark backgrounds when asked."""
        order = [f"{size}-dark", size] if dark else [size, f"{size}-light"]
        order += [f"{s}{v}" for s in ("large", "medium", "small") for v in (["-dark", ""] if dark else ["", "-light"])]
        for key in order:
            if key in self.logos:
                return self.logos[key]
        return None

    def files(self) -> tuple[Path, ...]:
        """Every file the brand names and the layouts may draw: fonts, logos, artwork and flags."""
        found = [face.path for face in self.fonts] + list(self.logos.values()) + [flag.path for flag in self.cover.flags]
        if self.cover.art is not None:
            found.append(self.cover.art)
        return tuple(dict.fromkeys(found))

    def cmyk_of(self, color: str) -> tuple[float, float, float, float] | None:
        """The brand's CMYK for a colour name or hex value, or None when the brand gives none."""
        if color in self.cmyk:
            return self.cmyk[color]
        wanted = self.colors.get(color, color).upper()
        for name, value in self.cmyk.items():
            if self.colors.get(name, "").upper() == wanted:
                return value
        return None

    def css(self, *, color: Callable[[str], str] | None = None) -> str:
        """The brand as CSS: @font-face rules and custom properties on :root.

        ``color`` rewrites each hex colour, e.g. as ``device-cmyk()`` for the print edition.
        """
        rules = []
        for face in self.fonts:
            rules.append(
                "@font-face { "
                f'font-family: "{face.family}"; src: url("{face.path.as_uri()}"); '
                f"font-weight: {face.weight}; font-style: {face.style}; }}"
            )
        props = [f"  --brand-{name}: {value};" for name, value in sorted(self.colors.items())]
        for name, value in sorted(self.tags.items()):
            props += [f"  --tag-{name}: {value};", f"  --tag-{name}-on: {on_color(value, self.colors)};"]
        cover = self.cover
        props += [
            f"  --cover-background: {cover.background};",
            f"  --cover-foreground: {cover.foreground};",
            f"  --cover-accent: {cover.accent};",
            f"  --cover-band: {cover.band};",
            f"  --cover-band-foreground: {cover.band_foreground};",
            f"  --cover-keyline: {mix(cover.foreground, cover.background, 0.6)};",
            f"  --back-background: {self.colors['primary']};",
            f"  --back-foreground: {self.colors['on-primary']};",
            # The script fonts follow the brand's, so a character the brand cannot draw comes from a shipped font, not the machine's.
            f"  --font-base: {_families(self.base_family)};",
            f"  --font-headings: {_families(self.headings_family)};",
            f"  --font-mono: {_families(self.mono_family)};",
            f'  --font-urdu: "Noto Nastaliq Urdu", "{self.base_family}";',
            f"  --font-base-size: {self.base_size:g}pt;",
            f"  --leading: {self.leading:g}pt;",
            f"  --font-headings-weight: {self.headings_weight};",
            f"  --brand-headings-color: {self.headings_color};",
        ]
        root = "\n".join(props)
        if color is not None:
            root = re.sub(r"#[0-9A-Fa-f]{6}\b", lambda match: color(match[0].upper()), root)
        return "\n".join(rules) + "\n:root {\n" + root + "\n}\n"

    def cmyk_css(self, profile: Any) -> Callable[[str], str]:
        """A colour rewriter for print: the brand's exact CMYK where given, else through ``profile``."""

        def convert(hex_color: str) -> str:
            exact = self.cmyk_of(hex_color)
            c, m, y, k = (v / 100 for v in exact) if exact else profile.cmyk(hex_color)
            return f"device-cmyk({c:.4g} {m:.4g} {y:.4g} {k:.4g})"

        return convert


def _families(family: str) -> str:
    names = dict.fromkeys((family, *data.SCRIPT_FONTS))
    return ", ".join(f'"{name}"' for name in names)


# ---- Colour arithmetic --------------------------------------------------------------


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def luminance(color: str) -> float:
    """WCAG relative luminance of a #RRGGBB colour."""
    channels = [c / 255 for c in _rgb(color)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #RRGGBB colours, from 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def is_dark(color: str) -> bool:
    """True when white reads better on ``color`` than black does."""
    return contrast(color, "#FFFFFF") > contrast(color, "#000000")


def mix(a: str, b: str, amount: float) -> str:
    """``amount`` of colour ``a`` laid over ``b``, as a solid colour (print has no alpha to spare)."""
    return "#" + "".join(f"{round(x * amount + y * (1 - amount)):02X}" for x, y in zip(_rgb(a), _rgb(b), strict=True))


def on_color(color: str, colors: Mapping[str, str]) -> str:
    """The brand's background or foreground, whichever reads better set on ``color``."""
    candidates = [colors.get("background", "#FFFFFF"), colors.get("foreground", "#111111")]
    return max(candidates, key=lambda c: contrast(c, color))


# ---- Loading ------------------------------------------------------------------------


def load_brand(path: Path, *, cache: Path | None = None) -> Brand:
    """Read a brand.yml file, check every colour, font and logo, and collect all problems.

    With ``cache`` (a folder), a brand read before from the same file, naming the same unchanged
    files, is taken from there, and its warnings said again: reading one takes a second, most of it
    importing brand_yml.
    """
    stored = cache / "brand.pickle" if cache is not None else None
    if stored is not None and path.is_file():
        hit = _cached_brand(stored, path)
        if hit is not None:
            return hit
    records: list[logging.LogRecord] = []
    handler = _Keep(records)
    log.addHandler(handler)
    try:
        brand = _load_brand(path)
    finally:
        log.removeHandler(handler)
    if stored is not None:
        _store_brand(stored, brand, [record.getMessage() for record in records])
    return brand


class _Keep(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]):
        super().__init__(logging.WARNING)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _brand_stamp(path: Path, files: Iterable[Path]) -> tuple[object, ...]:
    """What a stored brand was read from: the brand file's bytes, and the size and time of each file it names."""
    stamp: list[object] = [hashlib.sha256(path.read_bytes()).hexdigest(), __version__]
    for file in files:
        info = file.stat()
        stamp.append((str(file), info.st_size, info.st_mtime_ns))
    return tuple(stamp)


def _store_brand(stored: Path, brand: Brand, warnings: list[str]) -> None:
    from booklet.output import write_cache

    state = {f.name: dict(value) if isinstance(value := getattr(brand, f.name), MappingProxyType) else value for f in fields(Brand)}
    data = pickle.dumps((_brand_stamp(brand.path, brand.files()), warnings, state), protocol=pickle.HIGHEST_PROTOCOL)
    write_cache(stored, data)


def _cached_brand(stored: Path, path: Path) -> Brand | None:
    try:
        stamp, warnings, state = pickle.loads(stored.read_bytes())
        if state["path"] != path:
            return None
        brand = Brand(**{name: MappingProxyType(value) if isinstance(value, dict) else value for name, value in state.items()})
        if _brand_stamp(path, brand.files()) != stamp:
            return None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError, KeyError):
        return None
    for message in warnings:
        log.warning("%s", message)
    return brand


def _load_brand(path: Path) -> Brand:
    if not path.is_file():
        raise BrandError("brand file not found", file=path, hint="set 'brand' in booklet.toml to your _brand.yml, or pass --brand PATH")
    try:
        raw = yamlfile.load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise BrandError(f"is not valid YAML: {getattr(exc, 'problem', exc)}", file=path, line=mark.line + 1 if mark else None) from None
    except UnicodeDecodeError:
        raise BrandError("is not UTF-8 text", file=path, hint="save it as UTF-8") from None
    if not isinstance(raw, dict):
        raise BrandError("must be a YAML mapping with meta, logo, color and typography", file=path)
    for key in list(raw):
        if key not in BRAND_KEYS:
            _warn(path, str(key), f"unknown brand key is ignored (known keys: {', '.join(BRAND_KEYS)})")
            raw.pop(key)
    parsed = _parse(raw, path)

    errors: list[BookletError] = []
    colors, declared = _colors(parsed, raw.get("color"), path, errors)
    fonts, base, headings, mono = _typography(parsed, path, errors)
    logos = _logos(parsed, path, errors)
    base_size, leading, headings_weight = _sizes(parsed.typography, path)
    heading_spec = getattr(parsed.typography, "headings", None) if parsed.typography else None
    headings_color = colors["foreground"]
    if heading_spec is not None and getattr(heading_spec, "color", None):
        headings_color = _color_value(heading_spec.color, colors, path, "typography.headings.color", errors) or headings_color
    defaults = (parsed.defaults or {}).get("booklet") or {}
    if not isinstance(defaults, dict):
        errors.append(
            BrandError("must be a mapping", file=path, key="defaults.booklet", hint="indent its keys (cover, tags, cmyk) under it")
        )
        defaults = {}
    for key in defaults:
        if key not in BOOKLET_KEYS:
            _warn(path, f"defaults.booklet.{key}", f"unknown key is ignored (known keys: {', '.join(BOOKLET_KEYS)})")
    cover = _cover(defaults.get("cover"), colors, path, errors)
    cmyk = _cmyk(defaults.get("cmyk"), declared, path, errors)
    tags = _tags(defaults.get("tags"), colors, path, errors)
    dividers = defaults.get("section_dividers", True)
    if not isinstance(dividers, bool):
        errors.append(BrandError(f"must be true or false, not {dividers!r}", file=path, key="defaults.booklet.section_dividers"))
    raise_all(errors)

    _check_contrast(colors["foreground"], colors["background"], BODY_CONTRAST, "color.foreground on color.background", path)
    if cover.foreground != cover.background:
        _check_contrast(cover.foreground, cover.background, LARGE_CONTRAST, "the cover's title on its background", path)
    meta = parsed.meta
    name = link = ""
    if meta is not None and meta.name is not None:
        name = getattr(meta.name, "full", None) or getattr(meta.name, "short", None) or ""
    if meta is not None and meta.link is not None and getattr(meta.link, "home", None):
        link = str(meta.link.home)
    return Brand(
        path=path,
        name=name,
        colors=MappingProxyType(colors),
        fonts=tuple(fonts),
        base_family=base,
        headings_family=headings,
        mono_family=mono,
        headings_color=headings_color,
        logos=MappingProxyType(logos),
        base_size=base_size,
        leading=leading,
        headings_weight=headings_weight,
        cover=cover,
        link=link,
        cmyk=MappingProxyType(cmyk),
        tags=MappingProxyType(tags),
        section_dividers=dividers is not False,
        booklet=MappingProxyType(defaults),
    )


def _warn(path: Path, key: str, message: str) -> None:
    log.warning("%s: %s: %s", display_path(path), key, message)


def _parse(raw: dict[str, Any], path: Path) -> Any:
    """Validate with brand_yml; keys it does not know are dropped with a warning, as at the top level."""
    brand_yml = _import_brand_yml()
    for _ in range(50):  # each pass drops the unknown keys pydantic found; a real error ends the loop
        try:
            return brand_yml.Brand.from_yaml_str(yaml.safe_dump(raw, allow_unicode=True), path=path)
        except Exception as exc:  # brand_yml reports every schema problem as a pydantic ValidationError
            problems = exc.errors() if callable(getattr(exc, "errors", None)) else []
            extra = [p for p in problems if p.get("type") == "extra_forbidden"]
            if not extra or len(extra) != len(problems) or not all(_drop(raw, p["loc"]) for p in extra):
                raise BrandError(
                    _pydantic_message(exc), file=path, hint="compare with the brand.yml format: meta, logo, color, typography, defaults"
                ) from None
            for problem in extra:
                _warn(path, _dotted(problem["loc"]), "unknown brand key is ignored")
    raise BrandError("has too many unknown keys", file=path)  # pragma: no cover - 50 nested levels of typos


def _import_brand_yml() -> Any:
    """brand_yml, imported here (it pulls in pydantic, slow to import) and without its fields' docstrings.

    brand_yml has pydantic take each field's description from the docstring below it, for JSON
    schemas; pydantic finds them by reading and parsing the source of every model class: a quarter
    of the import (0.03 s), which every build that reads the brand waits for. Validation does not
    use them. They are skipped only while brand_yml is imported, and only when pydantic has the
    function that reads them.
    """
    if "brand_yml" in sys.modules:
        return sys.modules["brand_yml"]
    try:
        from pydantic._internal import _fields
    except ImportError:
        _fields = None
    reads = getattr(_fields, "_update_fields_from_docstrings", None)
    if reads is None:
        import brand_yml

        return brand_yml
    _fields._update_fields_from_docstrings = lambda *args, **options: None
    try:
        import brand_yml
    finally:
        _fields._update_fields_from_docstrings = reads
    return brand_yml


def _drop(raw: Any, loc: tuple[Any, ...]) -> bool:
    node = raw
    keys = [part for part in loc if not str(part).startswith("function-")]
    for part in keys[:-1]:
        # Parts not found name pydantic's union members (e.g. 'BrandTypographyFontFiles'); they are not in the YAML.
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_dict or in_list:
            node = node[part]
    if isinstance(node, dict) and keys and keys[-1] in node:
        node.pop(keys[-1])
        return True
    return False


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if str(part).startswith("function-") or (isinstance(part, str) and part[:1].isupper()):
            continue
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _pydantic_message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for err in errors()[:5]:
            parts.append(f"{_dotted(err.get('loc', ()))}: {err.get('msg')}")
        return "; ".join(parts)
    return str(exc)


def _colors(parsed: Any, raw: Any, path: Path, errors: list[BookletError]) -> tuple[dict[str, str], set[str]]:
    """Palette and theme colours as hex, plus the derived ones; and the names the brand declared."""
    colors: dict[str, str] = {}
    failed: set[str] = set()
    # Values as the file writes them: brand_yml has already replaced palette names in theme colours.
    written = raw if isinstance(raw, dict) else {}
    if parsed.color is not None:
        palette = parsed.color.palette or {}
        for name, value in palette.items():
            resolved = _color_value(value, palette, path, f"color.palette.{name}", errors)
            if resolved:
                colors[name] = resolved
            else:
                failed.add(name)
        for name in THEME_COLORS:
            value = written.get(name, getattr(parsed.color, name, None))
            if value is None or str(value).strip() in failed:
                continue  # unset, or naming a palette colour already reported
            resolved = _color_value(value, colors, path, f"color.{name}", errors)
            if resolved:
                colors[name] = resolved
    declared = set(colors)
    colors.setdefault("foreground", "#111111")
    colors.setdefault("background", "#FFFFFF")
    colors.setdefault("primary", colors["foreground"])
    # Colours the layouts use; a brand sets any of them by naming a palette colour so.
    colors.setdefault("accent", colors["primary"])
    colors.setdefault("on-primary", on_color(colors["primary"], colors))
    colors.setdefault("rule", mix(colors["foreground"], colors["background"], 0.25))
    light = colors.get("light")
    colors.setdefault("divider", light if light and light != colors["background"] else mix(colors["primary"], colors["background"], 0.06))
    colors.setdefault("divider-number", mix(colors["primary"], colors["divider"], 0.16))
    return colors, declared


def _color_value(value: Any, known: Mapping[str, Any], path: Path, key: str, errors: list[BookletError]) -> str | None:
    text = str(value).strip()
    seen: set[str] = set()
    while text in known and text not in seen:  # palette entries may name other palette entries
        seen.add(text)
        text = str(known[text]).strip()
    if _HEX.match(text):
        return text.upper() if len(text) == 7 else "#" + "".join(c * 2 for c in text[1:]).upper()
    if text.lower() in _NAMED:
        return _NAMED[text.lower()]
    if re.fullmatch(r"[A-Za-z][\w-]*", text):
        errors.append(
            BrandError(
                f"refers to '{text}', which is not in color.palette",
                file=path,
                key=key,
                hint=f"use a palette name ({', '.join(sorted(known)) or 'none defined'}) or a hex colour such as #01411C",
            )
        )
    else:
        errors.append(
            BrandError(f"'{text}' is not a colour", file=path, key=key, hint="write a hex colour such as #01411C (# and 3 or 6 hex digits)")
        )
    return None


def _check_contrast(text: str, ground: str, needed: float, what: str, path: Path) -> None:
    ratio = contrast(text, ground)
    if ratio < needed:
        log.warning(
            "%s: %s (%s on %s) has a contrast ratio of %.2f:1, below the %.1f:1 that text needs; darken the text colour or lighten the background",
            display_path(path),
            what,
            text,
            ground,
            ratio,
            needed,
        )


# ---- Typography ---------------------------------------------------------------------


def _typography(parsed: Any, path: Path, errors: list[BookletError]) -> tuple[list[FontFace], str, str, str]:
    """The font faces to declare, and the base, headings and monospace families.

    A family booklet cannot embed (a Google or system font, a URL) falls back to the
    bundled Charis SIL (text) or Inter (headings), so that the PDF never depends on the
    fonts the machine happens to have.
    """
    typography = parsed.typography
    reported = len(errors)
    fonts = _fonts(parsed, path, errors)
    available = {face.family for face in fonts}
    if len(errors) > reported:
        return fonts, _family(typography, "base") or DEFAULT_BASE, DEFAULT_HEADINGS, DEFAULT_BASE  # the build stops anyway
    skipped: dict[str, tuple[int, str]] = {}
    used: set[str] = set()
    for i, font in enumerate((typography.fonts or []) if typography is not None else []):
        if font.family not in available:
            skipped.setdefault(font.family, (i, str(getattr(font, "source", "file"))))

    def pick(role: str, default: str, fallback: str) -> str:
        family = _family(typography, role)
        if family is None or family in available:
            return family or default
        if family in skipped:
            index, source = skipped[family]
            used.add(family)
            why = f"'{family}' (typography.fonts[{index}]) " + (
                "has no local font file" if source == "file" else f"has source: {source}, and booklet embeds only local font files"
            )
        else:
            why = f"'{family}' is not in typography.fonts"
        _warn(path, f"typography.{role}", f"{why}; using {fallback} instead")
        return fallback

    base = pick("base", fonts[0].family if fonts else DEFAULT_BASE, DEFAULT_BASE)
    # Headings left unset follow the text; headings that cannot be embedded get the bundled sans.
    headings = pick("headings", base, base if base in available else DEFAULT_HEADINGS)
    mono = pick("monospace", base, base)
    for family, (index, source) in skipped.items():
        if source != "file" and family not in used:
            _warn(path, f"typography.fonts[{index}]", f"'{family}' has source: {source}, which booklet cannot embed; it is skipped")
    for family in dict.fromkeys((base, headings, mono)):
        if family not in available and family in data.BUNDLED_FONTS:
            folder, files = data.BUNDLED_FONTS[family]
            root = data.fonts_dir() / folder
            fonts += [FontFace(family=family, path=root / name, weight=weight, style=style) for name, weight, style in files]
    for family, (folder, files) in data.SCRIPT_FONTS.items():
        if family not in available:
            root = data.fonts_dir() / folder
            fonts += [FontFace(family=family, path=root / name, weight=weight, style=style) for name, weight, style in files]
    return fonts, base, headings, mono


def _sizes(typography: Any, path: Path) -> tuple[float, float, str]:
    """Text size and leading in points, and the headings' weight, where the brand gives them for print.

    brand.yml files made for the web give sizes such as 1rem or 16px; a booklet keeps its
    own print sizes for those rather than setting a 12pt text.
    """
    size, leading, weight = 10.0, 14.5, "600"
    base = getattr(typography, "base", None) if typography is not None else None
    given = str(getattr(base, "size", None) or "")
    if match := re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*pt\s*", given):
        if 7 <= float(match[1]) <= 14:
            size, leading = float(match[1]), round(float(match[1]) * 1.45, 1)
        else:
            _warn(path, "typography.base.size", f"{given} is outside 7pt-14pt, too small or large for a booklet's text; using 10pt")
    elif given:
        log.info("%s: typography.base.size %s is not in points; the booklet keeps its print size of 10pt", display_path(path), given)
    line_height = getattr(base, "line_height", None)
    if isinstance(line_height, (int, float)) and 1 <= line_height <= 2.5:
        leading = round(size * line_height, 1)
    headings = getattr(typography, "headings", None) if typography is not None else None
    if getattr(headings, "weight", None) is not None:
        weight = str(headings.weight)
    return size, leading, weight


def _fonts(parsed: Any, path: Path, errors: list[BookletError]) -> list[FontFace]:
    fonts: list[FontFace] = []
    typography = parsed.typography
    if typography is None or not typography.fonts:
        return fonts
    for i, font in enumerate(typography.fonts):
        if getattr(font, "source", "file") != "file":
            continue  # reported by _typography, which knows whether a role needed it
        for j, entry in enumerate(font.files):
            location = str(entry.path.root)
            key = f"typography.fonts[{i}].files[{j}].path"
            if re.match(r"^[a-z]+://", location):
                _warn(path, key, f"'{location}' is a URL; booklet embeds only local font files, so it is skipped")
                continue
            file = (path.parent / location).resolve()
            if not file.is_file():
                errors.append(
                    BrandError(
                        f"font file '{location}' not found (looked for {file})",
                        file=path,
                        key=key,
                        hint="check the path; it is relative to the brand file",
                    )
                )
                continue
            if not _is_font(file):
                errors.append(
                    BrandError(
                        f"'{location}' is not a font file (TrueType, OpenType or WOFF)",
                        file=path,
                        key=key,
                        hint="point to a .ttf, .otf or .woff file",
                    )
                )
                continue
            fonts.append(FontFace(family=font.family, path=file, weight=_weight(entry.weight), style=str(entry.style or "normal")))
    return fonts


def _weight(weight: Any) -> str:
    value = getattr(weight, "root", weight)
    if value is None or value == "auto":
        return "normal"
    if isinstance(value, (list, tuple)):  # a variable font's range, as CSS writes it
        return " ".join(str(v) for v in value)
    return str(value)


def _is_font(file: Path) -> bool:
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with TTFont(file, lazy=True) as font:
            return "cmap" in font
    except (TTLibError, OSError, AssertionError, ValueError, KeyError):
        return False


def _family(typography: Any, role: str) -> str | None:
    if typography is None:
        return None
    spec = getattr(typography, role, None)
    family = getattr(spec, "family", None) if spec is not None else None
    return str(family) if family else None


# ---- Logos --------------------------------------------------------------------------


def _logos(parsed: Any, path: Path, errors: list[BookletError]) -> dict[str, Path]:
    logos: dict[str, Path] = {}
    logo = parsed.logo
    if logo is None:
        return logos
    images = {}
    for name, resource in (getattr(logo, "images", None) or {}).items():
        images[name] = resource

    def add(key: str, resource: Any) -> None:
        location = getattr(resource, "path", resource)
        text = str(getattr(location, "root", location))
        if text in images:
            add(key, images[text])
            return
        if re.match(r"^[a-z]+://", text):
            _warn(path, f"logo.{key}", "is a URL; booklet only uses local files, so it is skipped")
            return
        file = (path.parent / text).resolve()
        if not file.is_file():
            errors.append(
                BrandError(
                    f"logo file '{text}' not found (looked for {file})",
                    file=path,
                    key=f"logo.{key}",
                    hint="check the path; it is relative to the brand file",
                )
            )
            return
        logos[key] = file

    if not hasattr(logo, "small"):  # a single logo: brand.yml allows `logo: file.svg`
        add("large", logo)
        return logos
    for size in ("small", "medium", "large"):
        value = getattr(logo, size, None)
        if value is None:
            continue
        if hasattr(value, "light") or hasattr(value, "dark"):
            if getattr(value, "light", None) is not None:
                add(f"{size}-light", value.light)
            if getattr(value, "dark", None) is not None:
                add(f"{size}-dark", value.dark)
        else:
            add(size, value)
    return logos


# ---- defaults: booklet: -------------------------------------------------------------


def _cover(spec: Any, colors: dict[str, str], path: Path, errors: list[BookletError]) -> Cover:
    """The cover settings, with every colour resolved and defaults that suit the style."""
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        errors.append(BrandError("must be a mapping", file=path, key="defaults.booklet.cover", hint="for example: cover: {style: field}"))
        spec = {}
    for key in spec:
        if key not in COVER_KEYS:
            _warn(path, f"defaults.booklet.cover.{key}", f"unknown key is ignored (known keys: {', '.join(COVER_KEYS)})")
    style = spec.get("style", "art" if spec.get("art") else "field")
    if style not in COVER_STYLES:
        errors.append(
            BrandError(
                f"'{style}' is not a cover style",
                file=path,
                key="defaults.booklet.cover.style",
                hint=f"use one of: {', '.join(COVER_STYLES)}",
            )
        )
        style = "field"

    def color(key: str, default: str) -> str:
        if key not in spec:
            return default
        return _color_value(spec[key], colors, path, f"defaults.booklet.cover.{key}", errors) or default

    background = color("background", colors["background"] if style == "band" else colors["primary"])
    if style == "band" and contrast(colors["primary"], background) >= LARGE_CONTRAST:
        title = colors["primary"]
    else:
        title = on_color(background, colors)
    band = color("band", colors["primary"])
    art = _brand_file(spec.get("art"), path, "defaults.booklet.cover.art", errors) if spec.get("art") else None
    if style == "art" and "art" not in spec:
        errors.append(
            BrandError(
                "style 'art' needs artwork",
                file=path,
                key="defaults.booklet.cover.art",
                hint="add art: with the path of an SVG, relative to the brand file, or use style: field",
            )
        )
    elif art is not None and style != "art":
        _warn(path, "defaults.booklet.cover.art", f"is only drawn with style: art, and this cover's style is {style}")
        art = None
    caption = spec.get("caption", "")
    if not isinstance(caption, (str, int)):
        errors.append(
            BrandError("must be text", file=path, key="defaults.booklet.cover.caption", hint='for example caption: "1948 – 2023"')
        )
        caption = ""
    return Cover(
        style=style,
        background=background,
        foreground=color("foreground", title),
        accent=color("accent", colors["accent"]),
        band=band,
        band_foreground=on_color(band, colors),
        art=art,
        caption=str(caption),
        flags=_flags(spec.get("flags"), path, errors),
    )


def _flags(spec: Any, path: Path, errors: list[BookletError]) -> tuple[Flag, ...]:
    if spec is None:
        return ()
    key = "defaults.booklet.cover.flags"
    if not isinstance(spec, list):
        errors.append(BrandError("must be a list", file=path, key=key, hint="write '- path: flag.svg' lines, each with an alt: text"))
        return ()
    flags = []
    for i, entry in enumerate(spec):
        if not isinstance(entry, dict) or "path" not in entry:
            errors.append(BrandError("needs a path", file=path, key=f"{key}[{i}]", hint="write '- path: flag.svg' and 'alt: Flag of ...'"))
            continue
        file = _brand_file(entry["path"], path, f"{key}[{i}].path", errors)
        if file is not None:
            flags.append(Flag(path=file, alt=str(entry.get("alt", ""))))
    return tuple(flags)


def _brand_file(value: Any, path: Path, key: str, errors: list[BookletError]) -> Path | None:
    file = (path.parent / str(value)).resolve()
    if not file.is_file():
        errors.append(
            BrandError(
                f"file '{value}' not found (looked for {file})", file=path, key=key, hint="check the path; it is relative to the brand file"
            )
        )
        return None
    return file


def _cmyk(spec: Any, declared: set[str], path: Path, errors: list[BookletError]) -> dict[str, tuple[float, float, float, float]]:
    """Exact CMYK percentages for named brand colours, for the print edition."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        errors.append(
            BrandError("must be a mapping", file=path, key="defaults.booklet.cmyk", hint="write 'colour-name: [c, m, y, k]' lines under it")
        )
        return {}
    cmyk: dict[str, tuple[float, float, float, float]] = {}
    for name, value in spec.items():
        key = f"defaults.booklet.cmyk.{name}"
        if name not in declared:
            errors.append(
                BrandError(
                    f"names '{name}', which is not a colour of this brand",
                    file=path,
                    key=key,
                    hint=f"use a name from color.palette or a theme colour: {', '.join(sorted(declared)) or 'none defined'}",
                )
            )
            continue
        numbers = value if isinstance(value, list) else []
        if len(numbers) != 4 or not all(isinstance(n, (int, float)) and not isinstance(n, bool) and 0 <= n <= 100 for n in numbers):
            errors.append(
                BrandError(
                    f"must be 4 numbers from 0 to 100 (cyan, magenta, yellow and black percentages), not {value!r}",
                    file=path,
                    key=key,
                    hint=f"write for example {name}: [90, 35, 95, 45]",
                )
            )
            continue
        c, m, y, k = (float(n) for n in numbers)
        cmyk[str(name)] = (c, m, y, k)
    return cmyk


def _tags(spec: Any, colors: dict[str, str], path: Path, errors: list[BookletError]) -> dict[str, str]:
    """Tag name -> colour, emitted as --tag-<name> for the timeline."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        errors.append(
            BrandError("must be a mapping", file=path, key="defaults.booklet.tags", hint="write 'tag-name: colour' lines under it")
        )
        return {}
    tags: dict[str, str] = {}
    for name, value in spec.items():
        key = f"defaults.booklet.tags.{name}"
        if not isinstance(name, str) or not _IDENT.match(name):
            errors.append(
                BrandError(
                    f"'{name}' cannot be a tag name",
                    file=path,
                    key=key,
                    hint="use lower-case letters, digits and hyphens, starting with a letter (it becomes --tag-<name>)",
                )
            )
            continue
        resolved = _color_value(value, colors, path, key, errors)
        if resolved:
            tags[name] = resolved
    return tags
