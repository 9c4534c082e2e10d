"""booklet new: a fresh project from the scaffold, with a brand and its fonts copied in."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import string
import tempfile
from pathlib import Path

from booklet import data
from booklet.errors import BookletError

log = logging.getLogger(__name__)

# Files whose names cannot ship as they are: a dotfile would be easy to lose from a package.
RENAMED = {"gitignore": ".gitignore"}


class NewProjectError(BookletError):
    """The folder for a new project cannot be used."""


def create(target: Path, *, title: str | None = None, today: dt.date | None = None) -> Path:
    """Write a new project into ``target``, which must not exist or be empty; return its path.

    The project is put together in a temporary folder beside ``target`` and renamed into
    place, so a failure leaves nothing half-made.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise NewProjectError(f"{target} is a file, not a folder", hint="choose a name for a new folder")
    if target.is_dir() and any(target.iterdir()):
        raise NewProjectError(
            f"{target} is not empty; booklet new does not overwrite files",
            hint="choose a new folder name, or empty this folder first",
        )
    folder = target.resolve()
    title = title or _title(folder.name)
    values = {
        "name": json.dumps(_slug(folder.name)),
        "title": json.dumps(title, ensure_ascii=False),  # a JSON string is a valid TOML basic string
        "date": (today or dt.date.today()).isoformat(),
    }
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for source in sorted(data.SCAFFOLD.rglob("*")):
            if not source.is_file() or "__pycache__" in source.parts:
                continue
            relative = source.relative_to(data.SCAFFOLD)
            destination = work / relative.parent / RENAMED.get(relative.name, relative.name)
            destination.parent.mkdir(parents=True, exist_ok=True)
            if relative.name == "booklet.toml":
                destination.write_text(string.Template(source.read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
            else:
                shutil.copyfile(source, destination)
        # The fonts travel with the project: the build serves no file from outside it.
        for folder_name, _ in data.BUNDLED_FONTS.values():
            shutil.copytree(data.fonts_dir() / folder_name, work / "brand" / "fonts" / folder_name)
        os.chmod(work, 0o755)
        if target.is_dir():
            target.rmdir()  # empty, as checked above; the rename needs the name free
        os.replace(work, folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    log.info("Created %s: booklet.toml, content/, brand/, templates/", target)
    log.info("Build it with: booklet build --project %s", target)
    return folder


def _title(name: str) -> str:
    words = re.sub(r"[-_.]+", " ", name).split()
    return " ".join(w[:1].upper() + w[1:] for w in words) or "My Booklet"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "booklet"
