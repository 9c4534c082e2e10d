"""Branding: two shipped brands, brand.yml files as Quarto writes them, overrides, booklet new, bad brands."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import brand_yml
import pdfplumber
import pytest
import yaml

from booklet import layout
from booklet.brand import contrast, load_brand
from conftest import ROOT, run
from pdfutil import font_names, page_texts, render_page

BRANDS = ROOT / "assets" / "brands"
EXAMPLES = Path(brand_yml.__file__).parent / "examples"
GREEN, NAVY, STONE, GOLD = "#01411C", "#1F2A44", "#F4F1EA", "#B08D57"


def rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def close(pixel: tuple[int, ...], color: str, tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, rgb(color), strict=True))


def filled_shapes(pdf: Path, index: int, color: str) -> list[tuple[float, float, float, float]]:
    """(x0, top, width, height) in mm from the trim's top left of every shape filled with ``color``."""
    mm = 72 / 25.4
    found = []
    with pdfplumber.open(pdf) as doc:
        page = doc.pages[index]
        for shape in page.rects + page.curves:
            fill = shape.get("non_stroking_color")
            if shape.get("fill") and fill and len(fill) == 3 and all(abs(f * 255 - c) < 2 for f, c in zip(fill, rgb(color), strict=True)):
                found.append((shape["x0"] / mm, shape["top"] / mm, shape["width"] / mm, shape["height"] / mm))
    return found


def families(pdf: Path) -> set[str]:
    """The embedded font families, as written without spaces: CharisSIL, EBGaramond..."""
    names = {re.sub(r"^/?[A-Z]{6}\+", "", name).replace("-", "") for name in font_names(pdf)}
    known = ("CharisSIL", "Inter", "EBGaramond", "NotoSans", "OpenSans")
    return {family for family in known for name in names if name.startswith(family)}


# ---- The two shipped brands ------------------------------------------------------------


def test_the_two_brands_give_visibly_different_covers(sample_screen: Path, institutional_pdf: Path) -> None:
    sample_pdf = sample_screen  # sRGB, so the brand's colours can be compared as pixels
    anniversary = render_page(sample_pdf, 0, dpi=36)
    institutional = render_page(institutional_pdf, 0, dpi=36)
    w, h = anniversary.size
    # The anniversary cover is a full-bleed green field with artwork.
    assert close(anniversary.getpixel((2, 2)), GREEN)
    # The institutional cover is a light stone page with a navy band across the foot.
    assert close(institutional.getpixel((2, 2)), STONE)
    assert close(institutional.getpixel((w // 2, h // 3)), STONE)
    assert close(institutional.getpixel((2, h - 3)), NAVY)
    assert close(institutional.getpixel((w - 3, h - 3)), NAVY)
    # The back covers are each brand's primary field.
    assert close(render_page(sample_pdf, len(page_texts(sample_pdf)) - 1).getpixel((2, 2)), GREEN)
    assert close(render_page(institutional_pdf, len(page_texts(institutional_pdf)) - 1).getpixel((2, 2)), NAVY)


def test_each_brand_puts_its_logo_on_the_cover_as_vector_art(sample_screen: Path, institutional_pdf: Path) -> None:
    sample_pdf = sample_screen  # sRGB, so shapes can be found by the brand's hex colours
    # The anniversary's reversed emblem: a white crescent about 43 mm across, centred on the page,
    # and the blue band under the numerals.
    crescents = [s for s in filled_shapes(sample_pdf, 0, "#FFFFFF") if s[2] > 35 and abs(s[0] + s[2] / 2 - 74) < 2]
    assert crescents, filled_shapes(sample_pdf, 0, "#FFFFFF")
    crescent = crescents[0]
    assert [s for s in filled_shapes(sample_pdf, 0, "#0039A6") if crescent[1] < s[1] < crescent[1] + crescent[3]]
    # The institutional mark for light backgrounds, at the head of the cover: gold pediment, navy columns.
    pediments = [s for s in filled_shapes(institutional_pdf, 0, GOLD) if s[0] < 74 and s[1] < 60 and s[3] > 2]
    columns = [s for s in filled_shapes(institutional_pdf, 0, NAVY) if s[0] < 74 and s[1] < 60]
    assert pediments and len(columns) >= 6, (pediments, columns)
    # Both marks are paths, not pictures.
    for pdf in (sample_pdf, institutional_pdf):
        with pdfplumber.open(pdf) as doc:
            assert doc.pages[0].images == []


def test_each_brand_embeds_its_own_typefaces(sample_pdf: Path, institutional_pdf: Path) -> None:
    assert all(font_names(institutional_pdf).values())
    assert families(sample_pdf) == {"CharisSIL", "Inter"}
    assert families(institutional_pdf) == {"EBGaramond", "NotoSans"}
    assert "Set in Charis SIL and Inter." in page_texts(sample_pdf)[1]
    assert "Set in EB Garamond and Noto Sans." in page_texts(institutional_pdf)[1]


def test_section_numbers_take_the_brand_accent(sample_screen: Path, institutional_pdf: Path) -> None:
    sample_pdf = sample_screen

    def number_colors(pdf: Path) -> set[str]:
        with pdfplumber.open(pdf) as doc:
            chars = [c for c in doc.pages[6].chars if c["size"] > 30]
            return {"#" + "".join(f"{round(v * 255):02X}" for v in c["non_stroking_color"]) for c in chars}

    assert number_colors(sample_pdf) == {GREEN}
    assert number_colors(institutional_pdf) == {GOLD}


def test_brand_flag_overrides_the_config(make_project) -> None:
    project = make_project()
    brand = ROOT / "assets" / "brands" / "institutional" / "_brand.yml"
    result = run("build", "--project", str(project), "-q", "--brand", str(brand))
    assert result.exit_code == 0, result.output
    assert families(project / "build" / "mini-print.pdf") == {"EBGaramond", "NotoSans"}


# ---- No visual choice lives in the layouts ---------------------------------------------

_COLOR_WORDS = "white|black|red|green|blue|navy|gold|gray|grey|silver|yellow|orange|purple|maroon|teal|olive|lime|aqua|fuchsia|pink|brown"


def _without_comments(text: str) -> str:
    return re.sub(r"/\*.*?\*/|\{#.*?#\}", "", text, flags=re.DOTALL)


@pytest.mark.parametrize("name", sorted(p.name for p in layout.BUILTIN.iterdir() if p.suffix in (".css", ".html")))
def test_built_in_layouts_hold_no_colour_font_or_logo(name: str) -> None:
    text = _without_comments((layout.BUILTIN / name).read_text(encoding="utf-8"))
    assert not re.findall(r"(?<![\w&-])#[0-9a-fA-F]{3,8}\b", text), "hex colour"
    assert not re.findall(r"\b(?:rgba?|hsla?|cmyk|device-cmyk)\s*\(", text), "functional colour"
    assert not re.findall(rf"(?:color|background|border[\w-]*|outline)\s*:[^;]*\b(?:{_COLOR_WORDS})\b", text, flags=re.IGNORECASE)
    for value in re.findall(r"font-family\s*:\s*([^;}]*)", text):
        assert re.fullmatch(r"var\(--font-[\w-]+\)", value.strip()), f"font-family: {value}"
    for value in re.findall(r"(?<![\w-])font\s*:\s*([^;}]*)", text):
        assert re.search(r"var\(--font-[\w-]+\)\s*$", value.strip()), f"font: {value}"
        assert "'" not in value and '"' not in value, f"font: {value}"
    # Images come from the brand: every src is a template value, never a path written in.
    assert not re.findall(r"""\bsrc\s*=\s*["'](?!\{\{)""", text)
    assert not re.findall(r"url\(\s*['\"]?(?!\{\{)[\w./-]+\.(?:svg|png|jpe?g|pdf)", text)


def test_brand_css_sets_every_property_the_layouts_use(make_project) -> None:
    used = set()
    for path in layout.BUILTIN.iterdir():
        if path.suffix in (".css", ".html"):
            used |= set(re.findall(r"var\((--[\w-]+)", path.read_text(encoding="utf-8")))
    # Properties the layouts set themselves (geometry, the timeline's own, inline --tag) need no brand.
    geometry = set()
    for path in layout.BUILTIN.iterdir():
        if path.suffix in (".css", ".html"):
            geometry |= set(re.findall(r"(--[\w-]+)\s*:", path.read_text(encoding="utf-8")))
    project = make_project({"brand/_brand.yml": "meta:\n  name: Bare\n"})
    for brand_file in [BRANDS / "anniversary" / "_brand.yml", BRANDS / "institutional" / "_brand.yml", project / "brand/_brand.yml"]:
        defined = set(re.findall(r"(--[\w-]+)\s*:", load_brand(brand_file).css())) | geometry
        assert used - defined == set(), brand_file


def test_tags_and_cmyk_are_exposed_for_the_timeline_and_print_edition() -> None:
    brand = load_brand(BRANDS / "anniversary" / "_brand.yml")
    assert dict(brand.tags) == {"diplomacy": GREEN, "economy": "#0039A6", "defense": "#D52B1E", "security": "#1A1A1A", "culture": "#1A1A1A"}
    css = brand.css()
    assert "--tag-economy: #0039A6;" in css and "--tag-economy-on: #FFFFFF;" in css
    assert brand.cmyk["pakistan-green"] == (85.0, 5.0, 95.0, 75.0)
    assert brand.cmyk_of("primary") == brand.cmyk_of(GREEN) == (85.0, 5.0, 95.0, 75.0)
    assert brand.cmyk_of("#123456") is None
    with pytest.raises(TypeError):
        brand.cmyk["x"] = (0, 0, 0, 0)  # type: ignore[index]
    institutional = load_brand(BRANDS / "institutional" / "_brand.yml")
    assert set(institutional.tags) == set(brand.tags)
    assert institutional.cover.style == "band" and brand.cover.style == "art"
    assert institutional.logo("large", dark=True).name == "logo-reversed.svg"
    assert institutional.logo("large").name == "logo.svg"


def test_shipped_brands_have_readable_body_text() -> None:
    for name in ("anniversary", "institutional"):
        brand = load_brand(BRANDS / name / "_brand.yml")
        assert contrast(brand.colors["foreground"], brand.colors["background"]) >= 7
        assert contrast(brand.cover.foreground, brand.cover.background) >= 4.5
        # Every colour of the palette has its CMYK for the print edition.
        palette = yaml.safe_load((BRANDS / name / "_brand.yml").read_text(encoding="utf-8"))["color"]["palette"]
        assert [colour for colour in palette if brand.cmyk_of(colour) is None] == []


# ---- brand.yml files written for Quarto and Shiny --------------------------------------


def test_brand_yml_documentation_example_with_google_fonts_builds_unchanged(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    """brand_yml's own brand-typography-fonts.yml: a local variable font, URL fonts, Google and Bunny fonts."""
    project = make_project()
    monkeypatch.chdir(project)
    result = run("build", "-q", "--brand", str(EXAMPLES / "brand-typography-fonts.yml"))
    assert result.exit_code == 0, result.output
    shown = str(EXAMPLES / "brand-typography-fonts.yml")
    assert result.output.splitlines() == [
        f"warning: {shown}: typography.fonts[1].files[0].path: 'https://example.com/Closed-Sans-Bold.woff2' is a URL; "
        "booklet embeds only local font files, so it is skipped",
        f"warning: {shown}: typography.fonts[1].files[1].path: 'https://example.com/Closed-Sans-Italic.woff2' is a URL; "
        "booklet embeds only local font files, so it is skipped",
        f"warning: {shown}: typography.headings: 'Roboto Slab' (typography.fonts[2]) has source: google, "
        "and booklet embeds only local font files; using Open Sans instead",
        f"warning: {shown}: typography.monospace: 'Fira Code' (typography.fonts[3]) has source: bunny, "
        "and booklet embeds only local font files; using Open Sans instead",
    ]
    assert families(project / "build" / "mini-print.pdf") == {"OpenSans"}


POSIT_STYLE = """\
    meta:
      name:
        full: Example Software, PBC
        short: Example
      link:
        home: https://example.com
        mastodon: https://fosstodon.org/@example

    logo:
      images:
        mark: logos/pandas/pandas_mark.svg
        mark-white: logos/pandas/pandas_mark_white.svg
      small: mark
      medium:
        light: logos/pandas/pandas_secondary.svg
        dark: logos/pandas/pandas_secondary_white.svg
      large:
        light: mark
        dark: mark-white

    color:
      palette:
        blue: "#447099"
        orange: "#EE6331"
        gray: "#404041"
        white: "#FFFFFF"
        accent: orange
      foreground: "#151515"
      background: "#FFFFFF"
      primary: blue
      secondary: "#707073"
      tertiary: "#C2C2C4"
      warning: orange
      light: "#FFFFFF"
      dark: gray

    typography:
      fonts:
        - source: google
          family: Open Sans
        - source: google
          family: Fira Code
        - source: google
          family: Roboto Slab
          weight: 600
          style: normal
          display: block
      base:
        family: "Open Sans"
        line-height: 1.25
        size: 1rem
      headings:
        family: "Roboto Slab"
        color: primary
        weight: 600
      monospace:
        family: "Fira Code"
        size: 0.9em
    """


def test_a_quarto_style_brand_with_only_google_fonts_falls_back_to_bundled_fonts(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project()
    # The brand sits beside brand_yml's examples so that its logos resolve as they would there.
    target = project / "examples" / "_brand.yml"
    target.parent.mkdir()
    shutil.copytree(EXAMPLES / "logos", target.parent / "logos")
    target.write_text(textwrap.dedent(POSIT_STYLE), encoding="utf-8")
    monkeypatch.chdir(project)
    result = run("build", "-q", "--brand", "examples/_brand.yml")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "warning: examples/_brand.yml: typography.base: 'Open Sans' (typography.fonts[0]) has source: google, "
        "and booklet embeds only local font files; using Charis SIL instead",
        "warning: examples/_brand.yml: typography.headings: 'Roboto Slab' (typography.fonts[2]) has source: google, "
        "and booklet embeds only local font files; using Inter instead",
        "warning: examples/_brand.yml: typography.monospace: 'Fira Code' (typography.fonts[1]) has source: google, "
        "and booklet embeds only local font files; using Charis SIL instead",
    ]
    pdf = project / "build" / "mini-print.pdf"
    assert families(pdf) == {"CharisSIL", "Inter"}
    assert run("build", "-q", "--brand", "examples/_brand.yml", "-e", "screen").exit_code == 0
    assert all(font_names(pdf).values())
    brand = load_brand(target)
    assert brand.colors["accent"] == "#EE6331" and brand.colors["primary"] == "#447099"
    assert brand.link == "https://example.com/"
    assert brand.logo("large", dark=True).name == "pandas_mark_white.svg"
    assert close(render_page(pdf.with_name("mini-screen.pdf"), 0).getpixel((2, 2)), "#447099")


def test_brand_yml_logo_example_builds_unchanged(make_project) -> None:
    project = make_project()
    result = run("build", "--project", str(project), "-q", "--strict", "--brand", str(EXAMPLES / "brand-logo-full-alt.yml"))
    assert result.exit_code == 0, result.output


# ---- Layout overrides ------------------------------------------------------------------


def test_an_override_that_extends_the_original_changes_only_its_block(make_project, tmp_path: Path) -> None:
    project = make_project()
    assert run("build", "--project", str(project), "-q", "--out", str(tmp_path / "plain")).exit_code == 0
    make_project(
        {
            "templates/cover.html": """\
                {% extends "builtin/cover.html" %}
                {% block cover_title %}
                <div class="cover-text"><h1 class="cover-title">A Special Edition</h1></div>
                {% endblock %}
                """
        }
    )
    assert run("build", "--project", str(project), "-q", "--out", str(tmp_path / "override")).exit_code == 0
    plain = page_texts(tmp_path / "plain" / "mini-print.pdf")
    override = page_texts(tmp_path / "override" / "mini-print.pdf")
    assert "Mini Booklet" in plain[0] and "Mini Booklet" not in override[0]
    assert "A Special Edition" in override[0]
    assert "1948 – 2023" in override[0]  # the other blocks of the cover are still there
    assert plain[1:] == override[1:]


# ---- booklet new -----------------------------------------------------------------------


def test_booklet_new_makes_a_project_that_builds_at_once(tmp_path: Path) -> None:
    target = tmp_path / "annual-report"
    result = run("new", str(target))
    assert result.exit_code == 0, result.output
    assert (target / "booklet.toml").is_file() and (target / "templates" / "README.md").is_file()
    assert len(re.findall(r"title: \w+ milestone\n", (target / "content" / "timeline.yaml").read_text(encoding="utf-8"))) == 3
    assert sorted(p.name for p in (target / "brand" / "fonts").iterdir()) == ["charis-sil", "inter"]
    assert (target / "brand" / "fonts" / "inter" / "OFL.txt").is_file()
    assert 'title = "Annual Report"' in (target / "booklet.toml").read_text(encoding="utf-8")
    result = run("build", "--project", str(target), "-q", "--strict")
    assert result.exit_code == 0, result.output
    pdf = target / "build" / "annual-report-print.pdf"
    assert families(pdf) == {"CharisSIL", "Inter"} and all(font_names(pdf).values())
    assert "The First Section" in page_texts(pdf)[2]


def test_booklet_new_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine", encoding="utf-8")
    result = run("new", str(tmp_path / "taken"))
    assert result.exit_code == 1
    assert result.output == (
        f"error: {tmp_path / 'taken'} is not empty; booklet new does not overwrite files\n"
        "  hint: choose a new folder name, or empty this folder first\n"
    )
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no half-made folder left beside it
    (tmp_path / "empty").mkdir()
    assert run("new", str(tmp_path / "empty"), "--title", 'A "Quoted" Title').exit_code == 0
    assert 'title = "A \\"Quoted\\" Title"' in (tmp_path / "empty" / "booklet.toml").read_text(encoding="utf-8")


# ---- Bad brands ------------------------------------------------------------------------

BRAND = """\
    meta:
      name: Test Brand
    logo:
      large: logo.svg
    color:
      palette:
        green: "#01411C"
        white: "#FFFFFF"
      foreground: "#1A1A1A"
      background: white
      primary: green
    typography:
      fonts:
        - family: Inter
          source: file
          files:
            - path: ../assets/fonts/inter/Inter-Regular.otf
              weight: 400
      base:
        family: Inter
    """
CONFIG = 'name = "mini"\ntitle = "Mini Booklet"\nbrand = "brand/_brand.yml"\n'
LOGO = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#01411C"/></svg>\n'


def brand_project(make_project, brand: str) -> Path:
    return make_project({"booklet.toml": CONFIG, "brand/_brand.yml": brand, "brand/logo.svg": LOGO})


def with_defaults(text: str) -> str:
    """The test brand with more YAML after it."""
    return BRAND.rstrip(" ") + textwrap.indent(textwrap.dedent(text), "    ")


BAD_BRANDS = {
    "malformed colour": (
        BRAND.replace('green: "#01411C"', 'green: "#01411"'),
        "error: brand/_brand.yml: color.palette.green: '#01411' is not a colour\n"
        "  hint: write a hex colour such as #01411C (# and 3 or 6 hex digits)\n",
    ),
    "palette reference that does not exist": (
        BRAND.replace("primary: green", "primary: forest"),
        "error: brand/_brand.yml: color.primary: refers to 'forest', which is not in color.palette\n"
        "  hint: use a palette name (background, foreground, green, white) or a hex colour such as #01411C\n",
    ),
    "missing logo file": (
        BRAND.replace("large: logo.svg", "large: logos/mark.svg"),
        "error: brand/_brand.yml: logo.large: logo file 'logos/mark.svg' not found (looked for {project}/brand/logos/mark.svg)\n"
        "  hint: check the path; it is relative to the brand file\n",
    ),
    "missing font file": (
        BRAND.replace("Inter-Regular.otf", "Inter-Light.otf"),
        "error: brand/_brand.yml: typography.fonts[0].files[0].path: font file '../assets/fonts/inter/Inter-Light.otf' "
        "not found (looked for {project}/assets/fonts/inter/Inter-Light.otf)\n"
        "  hint: check the path; it is relative to the brand file\n",
    ),
    "font file that is not a font": (
        BRAND.replace("../assets/fonts/inter/Inter-Regular.otf", "logo.svg"),
        "error: brand/_brand.yml: typography.fonts[0].files[0].path: 'logo.svg' is not a font file (TrueType, OpenType or WOFF)\n"
        "  hint: point to a .ttf, .otf or .woff file\n",
    ),
    "cmyk with three numbers": (
        with_defaults("defaults:\n  booklet:\n    cmyk:\n      green: [90, 35, 95]\n"),
        "error: brand/_brand.yml: defaults.booklet.cmyk.green: must be 4 numbers from 0 to 100 "
        "(cyan, magenta, yellow and black percentages), not [90, 35, 95]\n"
        "  hint: write for example green: [90, 35, 95, 45]\n",
    ),
    "cmyk out of range": (
        with_defaults("defaults:\n  booklet:\n    cmyk:\n      green: [90, 35, 95, 120]\n"),
        "error: brand/_brand.yml: defaults.booklet.cmyk.green: must be 4 numbers from 0 to 100 "
        "(cyan, magenta, yellow and black percentages), not [90, 35, 95, 120]\n"
        "  hint: write for example green: [90, 35, 95, 45]\n",
    ),
    "cmyk for a colour that does not exist": (
        with_defaults("defaults:\n  booklet:\n    cmyk:\n      forest: [90, 35, 95, 45]\n"),
        "error: brand/_brand.yml: defaults.booklet.cmyk.forest: names 'forest', which is not a colour of this brand\n"
        "  hint: use a name from color.palette or a theme colour: background, foreground, green, primary, white\n",
    ),
    "tag with an unknown colour": (
        with_defaults("defaults:\n  booklet:\n    tags:\n      diplomacy: sky\n"),
        "error: brand/_brand.yml: defaults.booklet.tags.diplomacy: refers to 'sky', which is not in color.palette\n"
        "  hint: use a palette name (accent, background, divider, divider-number, foreground, green, on-primary, primary, rule, white) "
        "or a hex colour such as #01411C\n",
    ),
    "unknown cover style": (
        with_defaults("defaults:\n  booklet:\n    cover:\n      style: poster\n"),
        "error: brand/_brand.yml: defaults.booklet.cover.style: 'poster' is not a cover style\n  hint: use one of: field, art, band\n",
    ),
    "art style without art": (
        with_defaults("defaults:\n  booklet:\n    cover:\n      style: art\n"),
        "error: brand/_brand.yml: defaults.booklet.cover.art: style 'art' needs artwork\n"
        "  hint: add art: with the path of an SVG, relative to the brand file, or use style: field\n",
    ),
}


@pytest.mark.parametrize("case", BAD_BRANDS)
def test_a_bad_brand_names_the_file_the_key_and_the_fix(case: str, make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    brand, expected = BAD_BRANDS[case]
    project = brand_project(make_project, brand)
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert result.exit_code == 1
    assert result.output == expected.replace("{project}", str(project.resolve()))
    assert not (project / "build").exists()


WARNINGS = {
    "unknown top-level key": (
        with_defaults("colour:\n  primary: red\n"),
        "warning: brand/_brand.yml: colour: unknown brand key is ignored (known keys: meta, logo, color, typography, defaults)\n",
    ),
    "unknown nested key": (
        BRAND.replace("  palette:\n", "  pallete:\n        x: '#FFFFFF'\n      palette:\n"),
        "warning: brand/_brand.yml: color.pallete: unknown brand key is ignored\n",
    ),
    "unknown booklet key": (
        with_defaults("defaults:\n  booklet:\n    cover_colour: navy\n"),
        "warning: brand/_brand.yml: defaults.booklet.cover_colour: unknown key is ignored (known keys: cover, tags, cmyk, section_dividers)\n",
    ),
    "body text with too little contrast": (
        BRAND.replace('foreground: "#1A1A1A"', 'foreground: "#999999"'),
        "warning: brand/_brand.yml: color.foreground on color.background (#999999 on #FFFFFF) has a contrast ratio of 2.85:1, "
        "below the 4.5:1 that text needs; darken the text colour or lighten the background\n",
    ),
}


@pytest.mark.parametrize("case", WARNINGS)
def test_a_doubtful_brand_warns_and_strict_fails(case: str, make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    brand, expected = WARNINGS[case]
    project = brand_project(make_project, brand)
    monkeypatch.chdir(project)
    result = run("build", "-q")
    assert result.exit_code == 0
    assert result.output == expected
    assert (project / "build" / "mini-print.pdf").is_file()
    strict = run("build", "-q", "--strict")
    assert strict.exit_code == 1
    assert strict.output == expected + "error: 1 warning(s) and --strict is set\n"


def test_no_text_comes_within_5mm_of_the_trim_in_either_brand(sample_pdf: Path, institutional_pdf: Path) -> None:
    mm = 72 / 25.4
    for pdf in (sample_pdf, institutional_pdf):
        with pdfplumber.open(pdf) as doc:
            for number, page in enumerate(doc.pages, start=1):
                # pdfplumber measures from the media box's corner: the trim is 3 mm of bleed in from it.
                left, top = page.bbox[0] / mm + 3, page.bbox[1] / mm + 3
                for char in page.chars:
                    box = (char["x0"] / mm - left, char["top"] / mm - top, char["x1"] / mm - left, char["bottom"] / mm - top)
                    assert box[0] >= 5 and box[1] >= 5 and box[2] <= 143 and box[3] <= 205, (pdf.name, number, char["text"], box)


# ---- The brand kept in the build cache -------------------------------------------------


def test_a_brand_read_before_comes_from_the_cache_with_its_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import booklet.brand as brand_module

    shutil.copytree(ROOT / "assets", tmp_path / "assets")
    path = tmp_path / "assets" / "brands" / "anniversary" / "_brand.yml"
    path.write_text(path.read_text(encoding="utf-8") + "\nflavour: mint\n", encoding="utf-8")
    parsed = []
    real_parse = brand_module._parse
    monkeypatch.setattr(brand_module, "_parse", lambda raw, where: parsed.append(where) or real_parse(raw, where))
    cache = tmp_path / "cache"

    first = load_brand(path, cache=cache)
    again = load_brand(path, cache=cache)
    assert again == first
    assert len(parsed) == 1
    unknown = [r.getMessage() for r in caplog.records if "flavour" in r.getMessage()]
    assert len(unknown) == 2 and unknown[0] == unknown[1]
    assert unknown[0].endswith("flavour: unknown brand key is ignored (known keys: meta, logo, color, typography, defaults)")

    # A file the brand names, changed: read again.
    logo = next(iter(first.logos.values()))
    stat = logo.stat()
    os.utime(logo, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    load_brand(path, cache=cache)
    assert len(parsed) == 2

    # The brand file itself, changed: read again, and the new colour is the one used.
    path.write_text(path.read_text(encoding="utf-8").replace("#01411C", "#02421D"), encoding="utf-8")
    changed = load_brand(path, cache=cache)
    assert len(parsed) == 3
    assert "#02421D" in changed.colors.values()


def test_a_build_that_finds_its_brand_in_the_cache_does_not_import_brand_yml(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from booklet.brand import load_brand
        load_brand(Path({str(BRANDS / "anniversary" / "_brand.yml")!r}), cache=Path({str(out)!r}))
        print("brand_yml" in sys.modules)
        """
    )
    results = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip() for _ in range(2)]
    assert results == ["True", "False"]


def test_brand_yml_is_imported_without_reading_its_sources_for_docstrings() -> None:
    # In a process of its own: this one may have imported brand_yml already.
    script = textwrap.dedent(
        """
        import inspect
        from pydantic._internal import _fields
        from booklet import brand
        read = []
        real_findsource = inspect.findsource
        inspect.findsource = lambda *args: read.append(args) or real_findsource(*args)
        before = _fields._update_fields_from_docstrings
        module = brand._import_brand_yml()
        print(len(read), _fields._update_fields_from_docstrings is before, module.BrandLogoResource.model_fields["path"].description)
        """
    )
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
    # No class's source read; pydantic as it was after; the descriptions, for JSON schemas only, left out.
    assert found == ["0", "True", "None"]
