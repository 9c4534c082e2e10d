"""The sample booklet, checked on its PDF: pages, boxes, text, heads, fonts, reproducibility."""

from __future__ import annotations

import re
from pathlib import Path

import pypdf

from conftest import MANUSCRIPT, ROOT, run
from pdfutil import MM, boxes, font_names, normalise, outline, page_texts, render_page, words_near_top

TITLE = "Russia-Pakistan Relations"
TIMELINE = "75 years at a glance"


def manuscript() -> tuple[list[str], list[str]]:
    """(section titles, paragraphs) of the client's manuscript."""
    blocks = [b.strip() for b in MANUSCRIPT.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    titles = [re.sub(r"^\d+\.\s*", "", b) for b in blocks if re.match(r"^\d+\. ", b)]
    paragraphs = [b for b in blocks[1:] if not re.match(r"^\d+\. ", b)]
    return titles, paragraphs


def section_starts(pdf: Path) -> dict[str, int]:
    """Outline title -> 1-based page number, for the sections (the timeline spread has an entry of its own)."""
    return {title: index + 1 for title, index in outline(pdf) if title != TIMELINE}


def timeline_pages(pdf: Path) -> set[int]:
    """The 1-based numbers of the timeline spread's two pages."""
    start = dict(outline(pdf))[TIMELINE] + 1
    return {start, start + 1}


def test_page_count_is_a_multiple_of_four(sample_pdf: Path) -> None:
    count = len(pypdf.PdfReader(sample_pdf).pages)
    assert count % 4 == 0
    assert 24 <= count <= 32


def test_every_page_has_a5_trim_and_3mm_bleed(sample_pdf: Path) -> None:
    for page in boxes(sample_pdf):
        x0, y0, x1, y1 = page["trimbox"]
        assert abs((x1 - x0) - 148 * MM) < 0.5 and abs((y1 - y0) - 210 * MM) < 0.5
        bx0, by0, bx1, by1 = page["bleedbox"]
        assert abs((x0 - bx0) - 3 * MM) < 0.5 and abs((bx1 - x1) - 3 * MM) < 0.5
        assert abs((y0 - by0) - 3 * MM) < 0.5 and abs((by1 - y1) - 3 * MM) < 0.5


def test_every_section_title_is_in_the_outline_and_the_contents(sample_pdf: Path) -> None:
    titles, _ = manuscript()
    bookmarks = [title for title, _ in outline(sample_pdf)]
    contents = normalise(page_texts(sample_pdf)[2])
    assert "Contents" in contents
    for title in titles:
        assert title in bookmarks
        assert normalise(title) in contents


def test_contents_page_numbers_match_where_sections_start(sample_pdf: Path) -> None:
    titles, _ = manuscript()
    starts = section_starts(sample_pdf)
    contents = normalise(page_texts(sample_pdf)[2])
    for title in ["Introduction", *titles]:
        match = re.search(re.escape(normalise(title)) + r"[ .]*?(\d+)\b", contents)
        assert match, f"{title} not in contents"
        assert int(match[1]) == starts[title], title
        # The section's opener page really carries the title.
        assert normalise(title) in normalise(page_texts(sample_pdf)[starts[title] - 1])


def test_contents_entries_link_to_their_pages(sample_pdf: Path) -> None:
    reader = pypdf.PdfReader(sample_pdf)
    targets = []
    for annot in reader.pages[2].get("/Annots") or []:
        annot = annot.get_object()
        dest = annot.get("/Dest") or (annot.get("/A") or {}).get("/D")
        if dest is None:
            continue
        if isinstance(dest, (str, pypdf.generic.TextStringObject, pypdf.generic.NameObject)):
            dest = reader.named_destinations[str(dest)]
            targets.append(reader.get_destination_page_number(dest) + 1)
        else:
            targets.append(reader.get_page_number(dest[0].get_object()) + 1)
    assert sorted(set(targets)) == sorted([*section_starts(sample_pdf).values(), min(timeline_pages(sample_pdf))])


def test_sections_start_on_rectos(sample_pdf: Path) -> None:
    for title, page in section_starts(sample_pdf).items():
        assert page % 2 == 1, f"{title} starts on page {page}"


def test_every_manuscript_paragraph_is_in_the_text(sample_pdf: Path) -> None:
    _, paragraphs = manuscript()
    text = normalise(" ".join(page_texts(sample_pdf)))
    for paragraph in paragraphs:
        assert normalise(paragraph) in text


def test_running_heads_title_on_versos_section_on_rectos(sample_pdf: Path) -> None:
    starts = sorted(section_starts(sample_pdf).items(), key=lambda item: item[1])
    pages = len(page_texts(sample_pdf))
    openers = {page for _, page in starts}
    spread = timeline_pages(sample_pdf)  # a picture across two pages: no heads, no folios
    for index in range(pages):
        number = index + 1
        head = words_near_top(sample_pdf, index, 14).lower()
        text = page_texts(sample_pdf)[index].strip()
        # A section's divider verso carries only its number (or, unnumbered, its title).
        divider = re.fullmatch(r"\d*", text) is not None or text in {title for title, _ in starts}
        if number <= 3 or number == pages or number in openers or divider or number in spread:
            assert TITLE.lower() not in head and not any(t.lower() in head for t, _ in starts), f"page {number}: {head!r}"
            continue
        current = [title for title, start in starts if start <= number]
        if current and number % 2 == 0 and number > starts[0][1]:
            assert TITLE.lower() in head, f"verso {number}: {head!r}"
        elif current and number % 2 == 1:
            assert current[-1].lower() in head, f"recto {number}: {head!r}"


def test_text_pages_of_sections_carry_running_heads(tmp_path: Path, make_project) -> None:
    """A section long enough to run over pages shows both kinds of head."""
    long_text = "\n\n".join(["Words of a long section, set to fill the page and spill over. " * 12] * 6)
    project = make_project({"content/01-one.md": f"---\ntitle: Long One\nrunning_head: Long\n---\n\n{long_text}\n"})
    assert run("build", "--project", str(project), "-q").exit_code == 0
    pdf = project / "build" / "mini-print.pdf"
    starts = section_starts(pdf)
    first = starts["Long One"]
    assert words_near_top(pdf, first - 1, 14) == ""
    assert "mini booklet" in words_near_top(pdf, first, 14).lower()  # the verso after the opener
    assert words_near_top(pdf, first + 1, 14).lower() == "long"


def test_all_fonts_are_embedded_and_come_from_the_brand(sample_pdf: Path) -> None:
    fonts = font_names(sample_pdf)
    assert fonts and all(fonts.values()), fonts
    families = {re.sub(r"^[A-Z]{6}\+", "", name.lstrip("/")).split("-")[0] for name in fonts}
    assert families <= {"Charis", "Inter"}, families


def test_metadata(sample_pdf: Path) -> None:
    reader = pypdf.PdfReader(sample_pdf)
    info = reader.metadata
    assert info.title == "Russia-Pakistan Relations: A Glorious 75-Year Journey"
    assert info.author and info.subject and "Pakistan" in info["/Keywords"]
    assert reader.trailer["/Root"]["/Lang"] == "en"


def test_cover_is_a_full_bleed_field(sample_pdf: Path) -> None:
    image = render_page(sample_pdf, 0, dpi=36)
    # The print edition is CMYK; a renderer's plain CMYK to RGB makes the brand's green this colour.
    green = (10, 61, 3)
    for xy in [(2, 2), (image.width - 3, 2), (2, image.height - 3)]:
        assert all(abs(a - b) < 24 for a, b in zip(image.getpixel(xy), green, strict=True)), image.getpixel(xy)


def test_two_builds_are_byte_identical(sample_pdf: Path, tmp_path: Path) -> None:
    assert run("build", "--project", str(ROOT), "--out", str(tmp_path), "-q").exit_code == 0
    assert (tmp_path / sample_pdf.name).read_bytes() == sample_pdf.read_bytes()


def test_content_files_hold_the_manuscript_words_unchanged() -> None:
    titles, paragraphs = manuscript()
    sources = sorted((ROOT / "content").glob("*.md"))
    # The words, without the figures (lines that hold only an image) added beside them.
    bodies = [
        "\n".join(line for line in path.read_text(encoding="utf-8").split("---", 2)[2].splitlines() if not line.startswith("![")).strip()
        for path in sources
    ]
    assert bodies == paragraphs
    for path, title in zip(sources[1:], titles, strict=True):
        assert f'title: "{title}"' in path.read_text(encoding="utf-8")
