"""Files that ship with booklet: the default fonts and the new-project scaffold."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGE = Path(str(resources.files("booklet")))
SCAFFOLD = PACKAGE / "scaffold"

# The families booklet falls back to, and gives a new project: folder, then (file, weight, style).
# They are the same files as in the repository's assets/fonts, with their OFL licences.
BUNDLED_FONTS: dict[str, tuple[str, tuple[tuple[str, str, str], ...]]] = {
    "Charis SIL": (
        "charis-sil",
        (
            ("CharisSIL-Regular.ttf", "400", "normal"),
            ("CharisSIL-Italic.ttf", "400", "italic"),
            ("CharisSIL-Bold.ttf", "700", "normal"),
            ("CharisSIL-BoldItalic.ttf", "700", "italic"),
        ),
    ),
    "Inter": (
        "inter",
        (
            ("Inter-Regular.otf", "400", "normal"),
            ("Inter-Italic.otf", "400", "italic"),
            ("Inter-Medium.otf", "500", "normal"),
            ("Inter-SemiBold.otf", "600", "normal"),
            ("Inter-Bold.otf", "700", "normal"),
        ),
    ),
}


# Families for scripts the brand's fonts do not cover, always declared after the brand's own:
# a fallback for any character the brand lacks, and the face of text marked lang="ur".
SCRIPT_FONTS: dict[str, tuple[str, tuple[tuple[str, str, str], ...]]] = {
    "Noto Nastaliq Urdu": (
        "noto-nastaliq-urdu",
        (
            ("NotoNastaliqUrdu-Regular.ttf", "400", "normal"),
            ("NotoNastaliqUrdu-Bold.ttf", "700", "normal"),
        ),
    ),
}


def fonts_dir() -> Path:
    """The folder holding the bundled font families.

    An installed wheel carries them as package data (booklet/data/fonts, put there by the
    wheel build); a checkout has them once only, in the repository's assets/fonts.
    """
    for candidate in (PACKAGE / "data" / "fonts", PACKAGE.parent / "assets" / "fonts"):
        if all((candidate / folder).is_dir() for folder, _ in [*BUNDLED_FONTS.values(), *SCRIPT_FONTS.values()]):
            return candidate
    raise FileNotFoundError(f"booklet's bundled fonts are missing (looked in {PACKAGE / 'data' / 'fonts'}); reinstall booklet")


def icc_profile() -> Path:
    """booklet's default CMYK output profile (FOGRA39, coated paper), from the wheel or the checkout."""
    for candidate in (PACKAGE / "data" / "icc", PACKAGE.parent / "assets" / "icc"):
        if (candidate / "FOGRA39-booklet.icc").is_file():
            return candidate / "FOGRA39-booklet.icc"
    raise FileNotFoundError(f"booklet's CMYK profile is missing (looked in {PACKAGE / 'data' / 'icc'}); reinstall booklet")
