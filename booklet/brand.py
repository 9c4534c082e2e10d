"""The brand: a brand.yml file read with brand_yml, turned into CSS custom properties."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from booklet.errors import BookletError, BrandError, raise_all

log = logging.getLogger(__name__)

BRAND_KEYS = ("meta", "logo", "color", "typography", "defaults")
THEME_COLORS = ("foreground", "background", "primary", "secondary", "tertiary", "success", "info", "warning", "danger", "light", "dark")
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_NAMED = {"white": "#FFFFFF", "black": "#000000"}
# Used when a brand sets no typography of its own; the families ship with the package.
FALLBACK_FAMILIES = ("serif",)


@dataclass(frozen=True)
class FontFace:
    """One font file of a family, as brand.yml's typography.fonts lists it."""

    family: str
    path: Path
    weight: str
    style: str


@dataclass(frozen=True)
class Brand:
    """What the layouts need from a brand: colours, fonts, logos and print settings."""

    path: Path
    name: str
    colors: dict[str, str]
    fonts: tuple[FontFace, ...]
    base_family: str
    headings_family: str
    mono_family: str
    headings_color: str
    logos: dict[str, Path]
    booklet: dict[str, Any] = field(default_factory=dict)

    def logo(self, size: str = "large", *, dark: bool = False) -> Path | None:
        """The logo for a size, preferring the variant for dark backgrounds when asked."""
        order = [f"{size}-dark", size] if dark else [size, f"{size}-light"]
        order += [f"{s}{v}" for s in ("large", "medium", "small") for v in (["-dark", ""] if dark else ["", "-light"])]
        for key in order:
            if key in self.logos:
                return self.logos[key]
        return None

    def css(self) -> str:
        """The brand as CSS: @font-face rules and custom properties on :root."""
        rules = []
        for face in self.fonts:
            rules.append(
                "@font-face { "
                f'font-family: "{face.family}"; src: url("{face.path.as_uri()}"); '
                f"font-weight: {face.weight}; font-style: {face.style}; }}"
            )
        props = [f"  --brand-{name}: {value};" for name, value in sorted(self.colors.items())]
        props += [
            f'  --font-base: "{self.base_family}";',
            f'  --font-headings: "{self.headings_family}";',
            f'  --font-mono: "{self.mono_family}";',
            f"  --brand-headings-color: {self.headings_color};",
        ]
        return "\n".join(rules) + "\n:root {\n" + "\n".join(props) + "\n}\n"


def load_brand(path: Path) -> Brand:
    """Read a brand.yml file, check every colour, font and logo, and collect all problems."""
    import brand_yml  # imported here: it pulls in pydantic, which is slow to import

    if not path.is_file():
        raise BrandError("brand file not found", file=path, hint="set 'brand' in booklet.toml to your _brand.yml, or pass --brand PATH")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise BrandError(f"is not valid YAML: {getattr(exc, 'problem', exc)}", file=path, line=mark.line + 1 if mark else None) from None
    except UnicodeDecodeError:
        raise BrandError("is not UTF-8 text", file=path, hint="save it as UTF-8") from None
    if not isinstance(raw, dict):
        raise BrandError("must be a YAML mapping with meta, logo, color and typography", file=path)
    for key in list(raw):
        if key not in BRAND_KEYS:
            log.warning("%s: unknown brand key '%s' is ignored (known keys: %s)", path.name, key, ", ".join(BRAND_KEYS))
            raw.pop(key)
    try:
        parsed = brand_yml.Brand.from_yaml_str(yaml.safe_dump(raw, allow_unicode=True), path=path)
    except Exception as exc:  # brand_yml reports every schema problem as a pydantic ValidationError
        raise BrandError(
            _pydantic_message(exc), file=path, hint="compare with the brand.yml format: meta, logo, color, typography, defaults"
        ) from None

    errors: list[BookletError] = []
    colors = _colors(parsed, raw, path, errors)
    fonts = _fonts(parsed, path, errors)
    logos = _logos(parsed, path, errors)
    typography = parsed.typography
    families = [f.family for f in fonts]
    base = _family(typography, "base") or (families[0] if families else FALLBACK_FAMILIES[0])
    headings = _family(typography, "headings") or base
    mono = _family(typography, "monospace") or "monospace"
    for role, family in (("base", base), ("headings", headings)):
        if families and family not in families:
            errors.append(
                BrandError(
                    f"names family '{family}', which no typography.fonts entry provides",
                    file=path,
                    key=f"typography.{role}",
                    hint=f"add it to typography.fonts with source: file, or use one of: {', '.join(sorted(set(families)))}",
                )
            )
    headings_color = colors.get("foreground", "#111111")
    heading_spec = getattr(typography, "headings", None) if typography else None
    if heading_spec is not None and getattr(heading_spec, "color", None):
        headings_color = _color_value(heading_spec.color, colors, path, "typography.headings.color", errors) or headings_color
    defaults = (parsed.defaults or {}).get("booklet") or {}
    if not isinstance(defaults, dict):
        errors.append(BrandError("must be a mapping", file=path, key="defaults.booklet"))
        defaults = {}
    raise_all(errors)
    meta = parsed.meta
    name = ""
    if meta is not None and meta.name is not None:
        name = getattr(meta.name, "full", None) or getattr(meta.name, "short", None) or ""
    return Brand(
        path=path,
        name=name,
        colors=colors,
        fonts=tuple(fonts),
        base_family=base,
        headings_family=headings,
        mono_family=mono,
        headings_color=headings_color,
        logos=logos,
        booklet=defaults,
    )


def _pydantic_message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for err in errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if not str(p).startswith("function-"))
            parts.append(f"{where}: {err.get('msg')}")
        return "; ".join(parts)
    return str(exc)


def _colors(parsed: Any, raw: dict[str, Any], path: Path, errors: list[BookletError]) -> dict[str, str]:
    colors: dict[str, str] = {}
    if parsed.color is None:
        return {"foreground": "#111111", "background": "#FFFFFF", "primary": "#333333"}
    palette = parsed.color.palette or {}
    for name, value in palette.items():
        resolved = _color_value(value, palette, path, f"color.palette.{name}", errors)
        if resolved:
            colors[name] = resolved
    for name in THEME_COLORS:
        value = getattr(parsed.color, name, None)
        if value is None:
            continue
        resolved = _color_value(value, colors, path, f"color.{name}", errors)
        if resolved:
            colors[name] = resolved
    colors.setdefault("foreground", "#111111")
    colors.setdefault("background", "#FFFFFF")
    colors.setdefault("primary", colors["foreground"])
    return colors


def _color_value(value: Any, known: dict[str, str], path: Path, key: str, errors: list[BookletError]) -> str | None:
    text = str(value).strip()
    if _HEX.match(text):
        return text.upper() if len(text) == 7 else "#" + "".join(c * 2 for c in text[1:]).upper()
    if text.lower() in _NAMED:
        return _NAMED[text.lower()]
    if text in known and _HEX.match(known[text]):
        return known[text]
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


def _fonts(parsed: Any, path: Path, errors: list[BookletError]) -> list[FontFace]:
    fonts: list[FontFace] = []
    typography = parsed.typography
    if typography is None or not typography.fonts:
        return fonts
    for i, font in enumerate(typography.fonts):
        source = getattr(font, "source", "file")
        if source != "file":
            log.warning(
                "%s: typography.fonts[%d] (%s) has source '%s', which needs the network; booklet only uses fonts with source: file",
                path.name,
                i,
                font.family,
                source,
            )
            continue
        for j, entry in enumerate(font.files):
            file = (path.parent / str(entry.path.root)).resolve()
            key = f"typography.fonts[{i}].files[{j}].path"
            if not file.is_file():
                errors.append(
                    BrandError(
                        f"font file '{entry.path.root}' not found (looked for {file})",
                        file=path,
                        key=key,
                        hint="check the path; it is relative to the brand file",
                    )
                )
                continue
            if not _is_font(file):
                errors.append(
                    BrandError(
                        f"'{entry.path.root}' is not a font file (TrueType, OpenType or WOFF)",
                        file=path,
                        key=key,
                        hint="point to a .ttf, .otf or .woff file",
                    )
                )
                continue
            weight = str(entry.weight.root) if entry.weight is not None else "normal"
            fonts.append(
                FontFace(family=font.family, path=file, weight="normal" if weight == "auto" else weight, style=str(entry.style or "normal"))
            )
    return fonts


def _is_font(file: Path) -> bool:
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with TTFont(file, lazy=True) as font:
            return "cmap" in font
    except (TTLibError, OSError, AssertionError, ValueError, KeyError):
        return False


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
            log.warning("%s: logo %s is a URL; booklet only uses local files", path.name, key)
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


def _family(typography: Any, role: str) -> str | None:
    if typography is None:
        return None
    spec = getattr(typography, role, None)
    family = getattr(spec, "family", None) if spec is not None else None
    return str(family) if family else None
