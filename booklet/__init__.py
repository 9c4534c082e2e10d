"""booklet: print publications from Markdown, Jinja2 layouts and a brand file."""

from __future__ import annotations

__version__ = "0.1.0"
