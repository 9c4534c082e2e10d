"""The user-error family: problems in a project that print as a message."""

from __future__ import annotations

from pathlib import Path


class BookletError(Exception):
    """A problem with the user's project, reported without a traceback."""

    def __init__(
        self, message: str, *, file: Path | str | None = None, line: int | None = None, key: str | None = None, hint: str | None = None
    ):
        self.message = message
        self.file = Path(file) if file is not None else None
        self.line = line
        self.key = key
        self.hint = hint
        super().__init__(self.format())

    def location(self) -> str:
        """Return ``file:line`` (or ``file: key``) for the start of the message."""
        if self.file is None:
            return ""
        where = display_path(self.file)
        if self.line is not None:
            where += f":{self.line}"
        if self.key:
            where += f": {self.key}"
        return where

    def format(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ConfigError(BookletError):
    """booklet.toml is missing, malformed or has invalid values."""


class ContentError(BookletError):
    """A Markdown section, its front matter or a file it references is wrong."""


class BrandError(BookletError):
    """The brand file, or a colour, font or logo it names, is wrong."""


class TemplateError(BookletError):
    """A Jinja layout does not parse or fails to render."""


class TypesetError(BookletError):
    """WeasyPrint refused a resource or could not lay out the document."""


class ImposeError(BookletError):
    """A PDF that cannot be imposed: missing, not a PDF, encrypted, or with mixed page sizes."""


class ManyErrors(BookletError):
    """Several problems found in one pass, reported together."""

    def __init__(self, errors: list[BookletError]):
        self.errors = list(errors)
        super().__init__("\n".join(e.format() for e in self.errors))

    def format(self) -> str:  # the message already holds every located error
        return self.message


def raise_all(errors: list[BookletError]) -> None:
    """Raise the single error, or all of them together; do nothing if empty."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ManyErrors(errors)


def counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless the count is one: "1 page", "24 pages"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def display_path(path: Path) -> str:
    """Show ``path`` relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
