"""Layouts: Jinja2 templates, the project's own first, then the built-in ones."""

from __future__ import annotations

import datetime as dt
import io
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from booklet.errors import TemplateError
from booklet.units import mm

BUILTIN = Path(str(resources.files("booklet") / "layouts"))
BUILTIN_PREFIX = "builtin"


def environment(templates_dir: Path | None, *, cache: Path | None = None) -> jinja2.Environment:
    """A Jinja environment: project templates override built-ins of the same name.

    An override can extend the original it replaces as ``{% extends "builtin/NAME" %}``.
    Compiled templates are kept in ``cache``, when given, for the next build.
    """
    builtin = jinja2.FileSystemLoader(BUILTIN)
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None and templates_dir.is_dir():
        loaders.append(jinja2.FileSystemLoader(templates_dir))
    loaders += [jinja2.PrefixLoader({BUILTIN_PREFIX: builtin}), builtin]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        # HTML is escaped so front matter cannot inject markup; CSS templates escape with |css_string.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True, default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_HeldBackBytecodeCache(str(cache)) if cache is not None else None,
    )
    env.filters["longdate"] = _long_date
    env.filters["css_string"] = css_string
    env.globals["mm"] = mm
    return env


class _HeldBackBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates in a folder, written as booklet's other caches are: once the build has succeeded.

    So a first build leaves them for the next (the first edit would otherwise compile every
    template again), and a build that fails leaves no output folder behind. A file a crash left
    empty or cut short does not match Jinja's header or checksum, and is compiled again.
    """

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        from booklet.output import write_cache

        buffer = io.BytesIO()
        bucket.write_bytecode(buffer)
        write_cache(Path(self._get_cache_filename(bucket)), buffer.getvalue())


def css_string(value: object) -> str:
    """Escape text for use inside a double-quoted CSS string."""
    text = str(value)
    return "".join(c if c.isprintable() and c not in '"\\<>' else f"\\{ord(c):x} " for c in text)


def render(env: jinja2.Environment, name: str, context: dict[str, Any], *, templates_dir: Path | None = None) -> str:
    """Render one template, turning Jinja's errors into located booklet errors."""
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"template syntax error: {exc.message}",
            file=_template_path(exc.filename, exc.name, templates_dir),
            line=exc.lineno,
            hint="check the {% %} and {{ }} tags on that line",
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(
            f"template '{exc.name}' not found", hint=f"built-in templates: {', '.join(sorted(p.name for p in BUILTIN.glob('*.html')))}"
        ) from None
    except jinja2.UndefinedError as exc:
        file, line = _failing_frame(exc, templates_dir)
        raise TemplateError(
            f"template uses an undefined value: {exc.message}",
            file=file,
            line=line,
            hint="check the variable's spelling; see the README for what templates receive",
        ) from None


def _template_path(filename: str | None, name: str | None, templates_dir: Path | None) -> Path | None:
    if filename:
        return Path(filename)
    if name and templates_dir is not None and (templates_dir / name).is_file():
        return templates_dir / name
    return Path(name) if name else None


def _failing_frame(exc: BaseException, templates_dir: Path | None) -> tuple[Path | None, int | None]:
    tb = exc.__traceback__
    found: tuple[Path | None, int | None] = (None, None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".html") or filename.endswith(".css"):
            found = (Path(filename), tb.tb_lineno)
        tb = tb.tb_next
    return found


def _long_date(value: dt.date | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {value:%B %Y}"


def publication_context(config: Any, brand: Any, sections: list[Any]) -> dict[str, Any]:
    """What every template receives: pub, brand, sections and the brand's artwork as URLs."""
    from booklet import __version__
    from booklet.brand import is_dark

    cover = brand.cover
    cover_logo = brand.logo("large", dark=cover.dark)
    back_logo = brand.logo("large", dark=is_dark(brand.colors["primary"]))
    return {
        "pub": config,
        "brand": brand,
        "sections": sections,
        "version": __version__,
        "created": config.date.isoformat() if config.date else None,
        "cover": cover,
        "cover_art": cover.art.as_uri() if cover.art else None,
        "cover_logo": cover_logo.as_uri() if cover_logo else None,
        "back_logo": back_logo.as_uri() if back_logo else None,
        "flags": [{"src": flag.path.as_uri(), "alt": flag.alt} for flag in cover.flags],
        "barcode": None,
        "dividers": brand.section_dividers,
        "page": config.page,
        "running_title": config.title,
        # The timeline, when the build places one: its data, its spreads, the section they follow, a filler page.
        "timeline": None,
        "spreads": (),
        "timeline_at": None,
        "timeline_filler": False,
        "timeline_marks": False,
        # Page numbers for the contents page, when the publication is typeset in parts.
        "page_numbers": None,
        "gutter": config.timeline.gutter,
        # Set per edition: the CMYK profile and colour rewriter (print).
        "color_profile": None,
        "color": None,
    }


def stylesheets(templates_dir: Path | None) -> list[str]:
    """The built-in stylesheet, then the project's own *.css files, which override it."""
    sheets = [(BUILTIN / "booklet.css").as_uri()]
    if templates_dir is not None and templates_dir.is_dir():
        sheets += [p.resolve().as_uri() for p in sorted(templates_dir.glob("*.css"))]
    return sheets


def publication_html(
    env: jinja2.Environment, context: dict[str, Any], *, templates_dir: Path | None, template: str = "booklet.html"
) -> str:
    """Render the whole publication (or the padding pages) as one HTML document."""
    from markupsafe import Markup

    full = dict(context)
    full["brand_css"] = Markup(context["brand"].css(color=context.get("color")))
    full["geometry_css"] = Markup(render(env, "geometry.css", context, templates_dir=templates_dir))
    full["stylesheets"] = stylesheets(templates_dir)
    return render(env, template, full, templates_dir=templates_dir)
