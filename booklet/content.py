"""Content: Markdown sections with YAML front matter, rendered by Python-Markdown."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
import xml.etree.ElementTree as etree  # noqa: N813 - the name Markdown uses
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import markdown
import yaml
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from PIL import Image

from booklet import yamlfile
from booklet.config import Config
from booklet.errors import BookletError, ContentError, raise_all
from booklet.images import oversized
from booklet.limits import check_file_size
from booklet.output import write_cache

log = logging.getLogger(__name__)

FRONT_MATTER_KEYS = {
    "title": "The section's title (required).",
    "summary": "A short summary shown on the section opener.",
    "numbered": "false to leave the section unnumbered (an introduction, say).",
    "lang": "Language of this section when it differs from the publication's (e.g. ru, ur).",
    "dir": "Text direction: ltr or rtl (rtl is implied by lang: ur or ar).",
    "running_head": "A shorter title for the running head.",
}
RTL_LANGUAGES = {"ar", "ur", "fa", "he", "ps", "sd", "ug", "yi"}
MARKDOWN_EXTENSIONS = ["footnotes", "tables", "attr_list", "abbr", "smarty", "def_list", "md_in_html", "sane_lists"]
# Elements within elements in one section: a list 20 levels deep is 40 (ul, li, ul, li...).
# The typesetter lays nested boxes out recursively, in time that grows steeply with depth, and
# a list 100 levels deep exhausts Python's recursion limit; real text stays far below this.
MAX_NESTING = 40
_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Section:
    """One Markdown file of the publication, rendered to HTML."""

    source: Path
    slug: str
    title: str
    summary: str
    number: int | None
    lang: str
    dir: str
    running_head: str
    html: str
    images: tuple[Path, ...]


def section_files(config: Config) -> list[Path]:
    """The section files in reading order: as listed in the config, or by file name."""
    folder = config.content_dir
    if not folder.is_dir():
        raise ContentError(
            f"content folder {folder} does not exist",
            file=config.path,
            key="content_dir",
            hint="create it and put one Markdown file per section in it",
        )
    found = sorted(p for p in folder.glob("*.md") if p.is_file())
    if not config.sections:
        if not found:
            raise ContentError(
                "has no Markdown sections (*.md)",
                file=folder,
                hint="add a file such as 01-introduction.md with a title in its front matter",
            )
        return found
    by_name = {p.name: p for p in found} | {p.stem: p for p in found}
    errors: list[BookletError] = []
    ordered = []
    for name in config.sections:
        if name not in by_name:
            errors.append(
                ContentError(
                    f"names '{name}', which is not a .md file in {folder.name}/",
                    file=config.path,
                    key="sections",
                    hint=f"files there: {', '.join(p.name for p in found) or 'none'}",
                )
            )
        else:
            ordered.append(by_name[name])
    raise_all(errors)
    left_out = [p.name for p in found if p not in ordered]
    if left_out:
        log.warning("%s: sections leaves out %s; they are not built", config.path.name, ", ".join(left_out))
    return ordered


def read_sections(config: Config) -> list[Section]:
    """Read, check and render every section; all problems are reported together."""
    errors: list[BookletError] = []
    sections: list[Section] = []
    number = 0
    for path in section_files(config):
        try:
            check_file_size(path, limit=config.limits.file_size, config=config.path)
            meta, body, body_line = split_front_matter(path)
            check_front_matter(meta, path)
            numbered = meta.get("numbered", True)
            number += bool(numbered)
            sections.append(render_section(path, meta, body, body_line, number if numbered else None, config))
        except BookletError as exc:
            errors.append(exc)
    raise_all(errors)
    return sections


def split_front_matter(path: Path) -> tuple[dict[str, Any], str, int]:
    """Return (front matter, Markdown body, line number where the body starts)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(f"is not UTF-8 text (byte {exc.start})", file=path, hint="save the file as UTF-8") from None
    text = text.removeprefix("\ufeff")
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise ContentError(
            "has no front matter", file=path, line=1, hint="start the file with a '---' line, then 'title: ...', then another '---' line"
        )
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        raise ContentError("front matter is not closed", file=path, line=1, hint="add a '---' line after the front matter")
    try:
        meta = yamlfile.load("".join(lines[1:end]))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 2
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ContentError(
            f"broken front matter: {problem}",
            file=path,
            line=line,
            hint="front matter is YAML: 'key: value' lines; quote values that contain ': ' or start with a special character",
        ) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ContentError("front matter must be 'key: value' lines", file=path, line=2, hint="write for example 'title: My section'")
    return meta, "".join(lines[end + 1 :]), end + 2


def check_front_matter(meta: dict[str, Any], path: Path) -> None:
    errors: list[BookletError] = []
    for key in meta:
        if key not in FRONT_MATTER_KEYS:
            log.warning("%s: unknown front matter key '%s' is ignored (known keys: %s)", path.name, key, ", ".join(FRONT_MATTER_KEYS))
    title = meta.get("title")
    if title is None or (isinstance(title, str) and not title.strip()):
        errors.append(
            ContentError(
                "front matter has no 'title'",
                file=path,
                key="title",
                hint="add a line such as 'title: Cementing Ties' between the --- lines",
            )
        )
    elif not isinstance(title, (str, int, float)):
        errors.append(ContentError("'title' must be text", file=path, key="title"))
    for key in ("summary", "running_head", "lang"):
        if key in meta and not isinstance(meta[key], str):
            errors.append(ContentError(f"'{key}' must be text", file=path, key=key))
    if "numbered" in meta and not isinstance(meta["numbered"], bool):
        errors.append(ContentError("'numbered' must be true or false", file=path, key="numbered"))
    if "dir" in meta and meta["dir"] not in ("ltr", "rtl"):
        errors.append(ContentError(f"'dir' must be ltr or rtl, not {meta['dir']!r}", file=path, key="dir"))
    raise_all(errors)


def render_section(path: Path, meta: dict[str, Any], body: str, body_line: int, number: int | None, config: Config) -> Section:
    # In the output folder; a build holds back what it writes there until it has succeeded (output.later).
    cache = config.out_dir / ".cache" / "markdown"
    html = markdown_to_html(body, prefix=_slug(path.stem), cache=cache)
    depth = nesting_depth(html)
    if depth > MAX_NESTING:
        raise ContentError(
            f"is nested {depth} levels deep (lists, quotes or HTML elements within each other); booklet typesets at most {MAX_NESTING}",
            file=path,
            hint="flatten the deepest lists or quotes: a printed list is hard to follow beyond three or four levels",
        )
    html, images = _resolve_images(html, path, body, body_line, config)
    lang = meta.get("lang") or config.language
    direction = meta.get("dir") or ("rtl" if lang.split("-")[0] in RTL_LANGUAGES else "ltr")
    title = str(meta["title"]).strip()
    return Section(
        source=path,
        slug=_slug(path.stem),
        title=title,
        summary=(meta.get("summary") or "").strip(),
        number=number,
        lang=lang,
        dir=direction,
        running_head=(meta.get("running_head") or title).strip(),
        html=html,
        images=tuple(images),
    )


_FOOTNOTE_ID = re.compile(r"""\b(id|href)="(#?)(fn|fnref):""")


def markdown_to_html(text: str, *, prefix: str = "", cache: Path | None = None) -> str:
    """Render Markdown with the extensions booklet supports (one parser per thread, reset for each text).

    ``prefix`` goes into footnote ids, which Markdown numbers from 1 in every file: without it,
    two sections' first footnotes would share an id and their links would cross. With ``cache``
    (a folder), the HTML of a text rendered before is read back instead of rendered again.
    """
    stored = None
    if cache is not None:
        from booklet import __version__

        key = hashlib.sha256(f"{__version__} {markdown.__version__} {prefix}\0{text}".encode()).hexdigest()[:32]
        stored = cache / f"{key}.html"
        try:
            return stored.read_text(encoding="utf-8")
        except OSError:
            pass
    html = _parser().reset().convert(text)
    html = _FOOTNOTE_ID.sub(lambda m: f'{m[1]}="{m[2]}{m[3]}:{prefix}-', html) if prefix else html
    if stored is not None:
        # An output folder that cannot be written is reported when the PDF is written.
        with contextlib.suppress(OSError):
            write_cache(stored, html.encode("utf-8"))
    return html


_parsers = threading.local()


def _parser() -> markdown.Markdown:
    """This thread's Markdown parser: making one (its extensions, its patterns) costs as much as rendering a short section."""
    md = getattr(_parsers, "md", None)
    if md is None:
        md = _parsers.md = markdown.Markdown(extensions=[*MARKDOWN_EXTENSIONS, FigureExtension()], output_format="html")
    return md


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(/?)>")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def nesting_depth(html: str) -> int:
    """How deeply elements nest in an HTML fragment, as the typesetter will see it."""
    # A quick count first: it can only overstate the depth (an unclosed tag stays open), so
    # the exact parse, which is slow on long sections, is needed only when it is over the limit.
    stack: list[str] = []
    deepest = 0
    for match in _TAG.finditer(html):
        closing, name, selfclosing = match[1], match[2].lower(), match[3]
        if closing:
            if name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name) :]
        elif name not in _VOID and not selfclosing:
            stack.append(name)
            deepest = max(deepest, len(stack))
    if deepest <= MAX_NESTING:
        return deepest

    import tinyhtml5  # WeasyPrint's own HTML parser, so the depth is the one it will lay out

    body = tinyhtml5.parse(html).find("{http://www.w3.org/1999/xhtml}body")
    deepest = 0
    elements = [(child, 1) for child in body] if body is not None else []
    while elements:  # not recursive: the input may be deeper than Python's recursion limit
        element, depth = elements.pop()
        deepest = max(deepest, depth)
        elements.extend((child, depth + 1) for child in element)
    return deepest


def _resolve_images(html: str, path: Path, body: str, body_line: int, config: Config) -> tuple[str, list[Path]]:
    """Point image sources at project-relative paths and check that each file exists."""
    errors: list[BookletError] = []
    images: list[Path] = []

    def fix(match: re.Match[str]) -> str:
        src = match[2]
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", src) or src.startswith("/"):
            return match[0]  # the fetcher's sandbox rules on absolute references
        target = (path.parent / unquote(src)).resolve()
        problem = hint = None
        if not target.is_relative_to(config.root):
            problem = f"image '{src}' is refused: it points outside the project folder"
            hint = "copy the image into the project and use a path relative to this Markdown file"
        elif not target.is_file():
            problem, hint = f"image '{src}' not found (looked for {target})", "check the path; it is relative to this Markdown file"
        elif (pixels := oversized(target)) is not None:
            # Caught here, from the header alone, before the typesetter would decode it whole.
            problem = f"image '{src}' has {pixels:,} pixels, over the limit of {Image.MAX_IMAGE_PIXELS:,} that is safe to decode"
            hint = "scale it down to at most a few thousand pixels a side"
        if problem is not None:
            errors.append(ContentError(problem, file=path, line=_line_of(body, src, body_line), hint=hint))
            return match[0]
        images.append(target)
        return match[0].replace(match[2], target.as_uri(), 1)

    html = _IMG_SRC.sub(fix, html)
    raise_all(errors)
    return html, images


def _line_of(body: str, needle: str, first_line: int) -> int | None:
    for number, line in enumerate(body.splitlines(), start=first_line):
        if needle in line:
            return number
    return None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


class _FigureProcessor(Treeprocessor):
    """A paragraph holding only an image becomes a figure; the image's title is its caption."""

    def run(self, root: etree.Element) -> None:
        for parent in root.iter():
            for index, child in enumerate(list(parent)):
                if child.tag != "p" or len(child) != 1 or child[0].tag != "img":
                    continue
                if (child.text or "").strip() or (child[0].tail or "").strip():
                    continue
                img = child[0]
                figure = etree.Element("figure")
                figure.append(img)
                img.tail = None
                caption = img.attrib.pop("title", None)
                if caption:
                    figcaption = etree.SubElement(figure, "figcaption")
                    figcaption.text = caption
                figure.tail = child.tail
                parent.remove(child)
                parent.insert(index, figure)


class FigureExtension(Extension):
    """Figures with captions: ``![alt](image.png "Caption")`` on a line of its own."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Markdown's API
        md.treeprocessors.register(_FigureProcessor(md), "booklet-figure", 5)
