"""Watch mode: rebuild the publication whenever one of its sources changes."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import watchfiles
from watchfiles import Change, DefaultFilter

from booklet.builder import BuildResult, build
from booklet.config import CONFIG_NAME, Config, load_config
from booklet.errors import BookletError, display_path

log = logging.getLogger(__name__)

# An editor's save-all writes its files a few milliseconds apart: rebuild once no new
# change has come for STEP_MS, and at the latest DEBOUNCE_MS after the first one.
STEP_MS = 50
DEBOUNCE_MS = 1600
# How often the loop wakes while nothing changes, to see the stop event and to say it is ready.
POLL_MS = 250

# Editors' temporary, backup and lock files, on top of watchfiles' own list (swap files,
# ~ backups, .# locks, JetBrains' ___jb_ files): Emacs autosaves, vim's 4913 probe, partial writes.
EDITOR_TEMP = (r"^#.*#$", r"^4913$", r"\.tmp$", r"\.part$", r"\.crdownload$", r"\.kate-swp$", r"\.bak$", r"\.orig$")


@dataclass(frozen=True)
class Sources:
    """What a project's build reads: folders, single files, and the output folder to leave out."""

    dirs: tuple[Path, ...]
    files: tuple[Path, ...]
    output: Path

    @classmethod
    def of(cls, project: Path, config: Config | None) -> Sources:
        """The sources named by ``config``, or the default layout when the config could not be read."""
        root = project.resolve()
        if config is None:
            return cls(dirs=(root / "content", root / "templates", root / "assets"), files=(root / CONFIG_NAME,), output=root / "build")
        return cls(
            dirs=(config.content_dir, config.templates_dir, config.root / "assets"),
            files=(config.path.resolve(), config.brand),
            output=config.out_dir,
        )

    def roots(self, project: Path) -> list[Path]:
        """The folders to hand to the file watcher.

        The project folder is watched whole, so that booklet.toml and folders created later
        (templates/, say) are seen; anything outside it is watched at its own folder. Editors
        often save by renaming a new file over the old one, which a watch on the file itself
        would lose, so a single file outside the project is watched through its folder.
        """
        root = project.resolve()
        wanted = [root, *self.dirs, *(f.parent for f in self.files)]
        found: list[Path] = []
        for path in wanted:
            if path.is_dir() and not any(path.is_relative_to(p) for p in found):
                found = [p for p in found if not p.is_relative_to(path)] + [path]
        return found

    def accepts(self, change: Change, path: str) -> bool:
        """Whether a change to ``path`` should cause a rebuild."""
        return _IGNORED(change, path) and self.relevant(Path(path))

    def relevant(self, path: Path) -> bool:
        if path.is_relative_to(self.output):
            return False
        if path in self.files:
            return True
        for folder in self.dirs:
            if path.is_relative_to(folder):
                # Dot files are editors' temporary files and tools' state, never a source.
                return not any(part.startswith(".") for part in path.relative_to(folder).parts)
        return False

    def describe(self, project: Path) -> str:
        shown = [f"{display_path(d)}/" for d in self.dirs if d.is_dir()] + [display_path(f) for f in self.files]
        return ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else "".join(shown)


_IGNORED = DefaultFilter(ignore_entity_patterns=(*DefaultFilter.ignore_entity_patterns, *EDITOR_TEMP))


@dataclass(frozen=True)
class Outcome:
    """One build in watch mode: what set it off, and what it wrote or why it failed."""

    number: int
    changes: tuple[Path, ...]
    results: tuple[BuildResult, ...]
    error: str | None
    seconds: float
    config: Config | None

    @property
    def ok(self) -> bool:
        return self.error is None


class Watcher:
    """Rebuilds ``project`` on every change to its sources, reporting each build to ``on_build``.

    ``rebuild()`` builds once, synchronously; ``run(stop_event)`` builds and then watches until
    the event is set. With ``first`` and ``on_first``, that edition is built and written before
    the others, and ``on_first`` called in between. ``ready`` is set once the file watcher is in place, so a caller (a test)
    knows that changes from then on will be seen.
    """

    def __init__(
        self,
        project: Path,
        *,
        out_dir: Path | None = None,
        brand: Path | None = None,
        on_build: Callable[[Outcome], None] | None = None,
        on_change: Callable[[tuple[Path, ...]], None] | None = None,
        builder: Callable[..., list[BuildResult]] = build,
        first: str | None = None,
        on_first: Callable[[], None] | None = None,
        step_ms: int = STEP_MS,
        debounce_ms: int = DEBOUNCE_MS,
        debug: bool = False,
    ) -> None:
        self.project = Path(project)
        self.out_dir = out_dir
        self.brand = brand
        self.on_build = on_build
        self.on_change = on_change
        self.builder = builder
        self.first = first
        self.on_first = on_first
        self.step_ms = step_ms
        self.debounce_ms = debounce_ms
        self.debug = debug
        self.config: Config | None = None
        self.builds = 0
        self.ready = threading.Event()

    def sources(self) -> Sources:
        return Sources.of(self.project, self.config)

    def rebuild(self, changes: tuple[Path, ...] = ()) -> Outcome:
        """Build once; a failed build is reported, never raised."""
        started = time.perf_counter()
        self.builds += 1
        results: list[BuildResult] = []
        error = None
        try:
            # The config is read here too, to know where the sources and the output are
            # even when the build fails later; the build reads it again and reports it.
            with _quiet("booklet.config"):
                self.config = load_config(self.project, brand=self.brand, out_dir=self.out_dir)
            editions = self.config.editions
            options: dict[str, object] = {"out_dir": self.out_dir, "brand": self.brand}
            if self.builder is build and not changes:
                options["replay"] = False  # the first build loads what the next ones reuse, even when nothing changed
            if self.first in editions and len(editions) > 1 and self.on_first is not None:
                # The edition a reader looks at first is written first, and said so; then the others.
                results = self.builder(self.project, editions=[self.first], **options)
                self.on_first()
                results += self.builder(self.project, editions=[name for name in editions if name != self.first], **options)
            else:
                results = self.builder(self.project, **options)
        except BookletError as exc:
            error = exc.format()
            log.error("%s", error)
        except Exception as exc:
            # A bug or a crash in the typesetter must not end the session: the next save may fix it.
            error = f"unexpected {type(exc).__name__}: {exc}\n  hint: run `booklet build --debug` for the traceback"
            log.error("%s", error, exc_info=self.debug)
        outcome = Outcome(
            number=self.builds,
            changes=changes,
            results=tuple(results),
            error=error,
            seconds=time.perf_counter() - started,
            config=self.config,
        )
        if self.on_build is not None:
            self.on_build(outcome)
        return outcome

    def run(self, stop_event: threading.Event, *, initial: bool = True) -> None:
        """Build (when ``initial``), then rebuild on every burst of changes until ``stop_event`` is set."""
        # Once watching, and while nothing changes, load the fonts and stylesheets rather than on the first edit.
        warm = initial and self.rebuild().ok and self.builder is build
        while not stop_event.is_set():
            sources = self.sources()
            announced = False
            for batch in watchfiles.watch(
                *sources.roots(self.project),
                watch_filter=sources.accepts,
                debounce=self.debounce_ms,
                step=self.step_ms,
                stop_event=stop_event,
                rust_timeout=POLL_MS,
                yield_on_timeout=True,
            ):
                if not announced:
                    # Said only now that the folders are watched: a change saved from here on is seen.
                    log.info("Watching %s (Ctrl-C to stop)", sources.describe(self.project))
                    announced = True
                self.ready.set()
                if not batch:
                    if warm:
                        # Changes made meanwhile wait in the watcher's queue for the next round.
                        from booklet import parts

                        parts.warm_up()
                        warm = False
                    continue
                changes = tuple(sorted({Path(path) for _, path in batch}))
                log.info("Changed: %s; rebuilding", _summary(changes))
                if self.on_change is not None:
                    self.on_change(changes)
                self.rebuild(changes)
                if self.sources() != sources:
                    break  # the config moved a folder, the brand or the output: watch the new places


def _summary(changes: tuple[Path, ...]) -> str:
    shown = ", ".join(display_path(p) for p in changes[:3])
    return shown + (f" and {len(changes) - 3} more" if len(changes) > 3 else "")


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Silence a logger for a moment, so that a message is not given twice."""
    logger = logging.getLogger(name)
    before = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = before
