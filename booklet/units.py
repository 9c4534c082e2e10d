"""Lengths and page sizes: parse "15mm", "0.5in", "12pt" and named paper sizes."""

from __future__ import annotations

import re

MM_PER_UNIT = {"mm": 1.0, "cm": 10.0, "in": 25.4, "pt": 25.4 / 72, "px": 25.4 / 96}
PT_PER_MM = 72 / 25.4

# Portrait width x height in millimetres.
PAPER_SIZES = {
    "a3": (297.0, 420.0),
    "a4": (210.0, 297.0),
    "a5": (148.0, 210.0),
    "a6": (105.0, 148.0),
    "b5": (176.0, 250.0),
    "letter": (215.9, 279.4),
    "legal": (215.9, 355.6),
    "half-letter": (139.7, 215.9),
}

_LENGTH = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(mm|cm|in|pt|px)?\s*$")


def parse_length(value: object) -> float:
    """Return a length in millimetres; a bare number is millimetres.

    Raises ValueError with a phrase that fits after "must be".
    """
    if isinstance(value, bool):
        raise ValueError("a length such as 3mm, 0.125in or 9pt")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and (m := _LENGTH.match(value)):
        return float(m[1]) * MM_PER_UNIT[m[2] or "mm"]
    raise ValueError("a length such as 3mm, 0.125in or 9pt")


def parse_page_size(value: object) -> tuple[float, float]:
    """Return (width, height) in mm for "A5", "Letter", "148mm 210mm" or "5.5in 8.5in"."""
    problem = (
        f'a paper name ({", ".join(n.upper() if n[0] in "ab" else n.title() for n in PAPER_SIZES)}) or two lengths such as "148mm 210mm"'
    )
    if isinstance(value, str):
        words = value.lower().split()
        if len(words) == 1 and words[0] in PAPER_SIZES:
            return PAPER_SIZES[words[0]]
        if len(words) == 2 and words[1] in ("portrait", "landscape") and words[0] in PAPER_SIZES:
            w, h = PAPER_SIZES[words[0]]
            return (w, h) if words[1] == "portrait" else (h, w)
        if len(words) == 2:
            try:
                width, height = parse_length(words[0]), parse_length(words[1])
            except ValueError:
                raise ValueError(problem) from None
            if not (20 <= width <= 2000 and 20 <= height <= 2000):
                raise ValueError("between 20mm and 2000mm on each side")
            return width, height
    raise ValueError(problem)


def mm(value: float) -> str:
    """Format millimetres for CSS."""
    return f"{value:.3f}".rstrip("0").rstrip(".") + "mm"
