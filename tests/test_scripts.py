"""Russian and Urdu: shaped, right to left where marked, in the fonts booklet ships, with no glyph missing."""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections import Counter
from pathlib import Path

import pdfplumber
import pypdf
import pytest
from click.testing import CliRunner

from booklet.cli import main
from booklet.config import load_config
from booklet.content import read_sections
from booklet.sandbox import SandboxFetcher
from booklet.units import PT_PER_MM
from conftest import ROOT

RUSSIAN = "Дружба между народами России и Пакистана."
URDU_TITLE = "روس پاکستان تعلقات"  # "Russia-Pakistan Relations"
URDU = "روس اور پاکستان کے درمیان دوستی۔"  # "Friendship between Russia and Pakistan."
SHIPPED = ROOT / "assets" / "fonts" / "noto-nastaliq-urdu" / "NotoNastaliqUrdu-Regular.ttf"
FILES = {
    "booklet.toml": 'name = "mini"\ntitle = "Mini Booklet"\ndate = 2024-01-02\nbrand = "assets/brands/anniversary/_brand.yml"\n',
    "content/01-ru.md": f"---\ntitle: Российско-пакистанские отношения\nlang: ru\n---\n\n{RUSSIAN}\n",
    "content/02-ur.md": f"---\ntitle: {URDU_TITLE}\nlang: ur\n---\n\n{URDU}\n",
    "content/03-mixed.md": f'---\ntitle: Mixed\n---\n\nAn English paragraph.\n\n<p dir="rtl" lang="ur">{URDU}</p>\n',
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[Path]]:
    """The mini-project in Russian, Urdu and English, built once (screen edition), and every file the build fetched."""
    project = tmp_path_factory.mktemp("scripts") / "project"
    shutil.copytree(ROOT / "assets", project / "assets")
    for name, text in FILES.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    # Written to a file: the build's worker processes fetch too.
    record = project.parent / "fetched.txt"
    original = SandboxFetcher.fetch

    def recording(self, url, headers=None):
        response = original(self, url, headers)
        with record.open("a", encoding="utf-8") as out:
            out.writelines(f"{path}\n" for path in self.fetched)
        return response

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SandboxFetcher, "fetch", recording)
        # --strict: a preflight finding (a missing glyph, a font of this machine) fails the build.
        result = CliRunner().invoke(main, ["build", "--project", str(project), "-e", "screen", "-q", "--strict"], catch_exceptions=False)
    assert (result.exit_code, result.output) == (0, "")
    return project / "build" / "mini-screen.pdf", {Path(line) for line in record.read_text(encoding="utf-8").splitlines()}


def page_with(pdf: pdfplumber.PDF, text: str) -> pdfplumber.page.Page:
    return next(page for page in pdf.pages if text in (page.extract_text() or ""))


def arabic(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", text) if "\u0600" <= c <= "\u06ff")


def test_lang_ur_makes_a_section_right_to_left(built) -> None:
    sections = read_sections(load_config(built[0].parent.parent))
    assert [(s.lang, s.dir) for s in sections] == [("ru", "ltr"), ("ur", "rtl"), ("en", "ltr")]


def test_russian_round_trips_in_the_brands_fonts(built) -> None:
    with pdfplumber.open(built[0]) as pdf:
        page = page_with(pdf, RUSSIAN)
        chars = [c for c in page.chars if "\u0400" <= c["text"] <= "\u04ff"]
    assert {re.sub(r"^[A-Z]{6}\+", "", c["fontname"]) for c in chars} == {"Charis-SIL", "Inter-Semi-Bold"}


def test_urdu_is_set_in_the_shipped_nastaliq(built) -> None:
    pdf, fetched = built
    assert {
        SHIPPED.resolve(),
        SHIPPED.with_name("NotoNastaliqUrdu-Bold.ttf").resolve(),
    } <= fetched  # from booklet's own file, not a font this machine happens to have
    with pdfplumber.open(pdf) as document:
        page = page_with(document, "۔")
        fonts = {re.sub(r"^[A-Z]{6}\+", "", c["fontname"]) for c in page.chars if arabic(c["text"])}
    assert fonts == {"Noto-Nastaliq-Urdu", "Noto-Nastaliq-Urdu-Bold"}  # the text and the section's title


def test_urdu_text_round_trips_right_to_left(built) -> None:
    # Nastaliq draws some letter pairs as one glyph, which PDF text extraction gives back as one
    # of the letters (which one depends on where the glyph was first used in that font's subset);
    # so compare the letters found with the source's, and the order of words, not the string.
    with pdfplumber.open(built[0]) as pdf:
        page = page_with(pdf, "An English paragraph.")
        words = [w for w in page.extract_words() if arabic(w["text"])]
    found = Counter(arabic("".join(w["text"] for w in words)))
    wanted = Counter(arabic(URDU))
    assert set(found) <= set(wanted), f"letters that are not in the source: {set(found) - set(wanted)}"
    assert sum(found.values()) >= 0.7 * sum(wanted.values())
    # Right to left: the right-most word, read in logical order, is the sentence's first word.
    rightmost = max(words, key=lambda w: w["x1"])
    assert arabic(rightmost["text"])[::-1] == arabic(URDU.split()[0])


def test_the_rtl_paragraph_is_set_against_the_right_margin(built) -> None:
    with pdfplumber.open(built[0]) as pdf:
        page = page_with(pdf, "An English paragraph.")
        english = next(w for w in page.extract_words() if w["text"] == "English")
        urdu = [w for w in page.extract_words() if arabic(w["text"])]
        right = page.width - 20 * PT_PER_MM  # a recto: the outer margin is on the right
    assert abs(max(w["x1"] for w in urdu) - right) < 1.5
    assert min(w["x0"] for w in urdu) > english["x1"]  # it starts at the right, not at the left margin


def test_no_glyph_is_missing(built) -> None:
    reader = pypdf.PdfReader(built[0])
    for page in reader.pages:
        data = page.get_contents().get_data()
        # Text is shown as two-byte glyph ids (Identity-H); glyph 0 is .notdef, the empty box.
        for string in re.findall(rb"<([0-9a-fA-F]+)>", data):
            assert b"0000" not in [string[i : i + 4] for i in range(0, len(string), 4)]
