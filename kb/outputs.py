"""The build directory: a build's outputs appear all at once, as one set, or not at all.

`build` in the project is a symbolic link to one generation, `.build/build-N`, a directory that
holds every output of one build: `queries/NAME.csv`, `tradekb.EXT`, and `store`, a link to the
default on-disk store (`.build/store`). A build writes its outputs into a new generation beside
the current one, under their final names, and then replaces the link in one rename, so a reader
that resolves `build` once (opens a file through it, or `cd build`) sees one build's outputs,
never new queries beside old exports. A failed or killed build never touches the current one.

Writing into a fresh directory also keeps the rebuild fast: no file is renamed over another, so
ext4 does not write each new file out at the rename (its auto_da_alloc), which took 0.2-0.4 s
for each 230 MB export at a million triples.

The previous generation is kept until the next build ends, so that a reader that resolved the
link just before the swap keeps its whole set; what a killed build left (its unfinished
generation, the link it was about to rename) and older generations are removed by the next build.
Builds of one project take turns: a lock (`.build/lock`) is held for the whole build, and a
second build waits, saying so in one line.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kb.export import ExportFormat, replace_file
from kb.errors import writing_to
from kb.locks import exclusive

BUILD = "build"  # the link users read through
WORK = ".build"  # the generations, the lock and the default on-disk store
EXPORT_NAME = "tradekb"
_GENERATION = re.compile(r"build-(\d+)(\.trash)?")
_SWAP = "build.swap"  # the new link, in WORK until it is renamed over BUILD
_STORE_LINK = "store"
_TRASH = ".trash"  # a generation being removed


def query_file(directory: Path, name: str) -> Path:
    """Where a saved query's CSV is in a generation (or under `build`).

    >>> query_file(Path("build"), "actors").as_posix()
    'build/queries/actors.csv'
    """
    return directory / "queries" / f"{name}.csv"


def write_query_csv(directory: Path, name: str, csv: str) -> None:
    """Write a saved query's result, as CSV, into a generation."""
    path = query_file(directory, name)
    with writing_to(path):
        path.write_text(csv, encoding="utf-8")


def export_file(directory: Path, fmt: ExportFormat) -> Path:
    """Where an export is in a generation (or under `build`)."""
    return directory / f"{EXPORT_NAME}.{fmt.extension}"


def default_store(project: Path) -> Path:
    """Where `--store oxigraph` keeps the store: beside the generations, which link to it as
    `build/store`, so that it lives on while they come and go."""
    return Path(project) / WORK / "store"


@dataclass
class Generation:
    """One build's outputs, being written: `directory` is not yet what `build` points to."""

    project: Path
    directory: Path
    previous: Path | None  # the generation `build` points to now, if any: what a rebuild copies from
    published: bool = field(default=False, init=False)

    @property
    def written(self) -> list[Path]:
        """Every output file, as a user finds it under `build` once published."""
        return sorted(Path(self.project) / BUILD / Path(folder, name).relative_to(self.directory)
                      for folder, _, names in os.walk(self.directory) for name in names
                      if not Path(folder, name).is_symlink())

    def publish(self) -> None:
        """Make this generation the one `build` points to, in one rename."""
        work = self.project / WORK
        swap = work / _SWAP
        swap.unlink(missing_ok=True)
        swap.symlink_to(self.directory.relative_to(self.project))  # read from the project, where it goes
        try:
            replace_file(swap, self.project / BUILD)  # the old link, if any, is left at `swap`
        except IsADirectoryError:  # a `build` directory of an older tradekb, and no exchange here
            _remove(self.project / BUILD)
            os.replace(swap, self.project / BUILD)
        self.published = True
        _remove(swap)  # the old link, or a `build` directory an older tradekb made


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _number(path: Path, trashed: bool = False) -> int | None:
    """The generation's number (or that of one being removed, if `trashed`)."""
    match = _GENERATION.fullmatch(path.name)
    return int(match[1]) if match and (trashed or not match[2]) else None


def current(project: Path) -> Path | None:
    """The generation `build` points to, if it is one of ours."""
    link = Path(project) / BUILD
    if not link.is_symlink():
        return None
    target = (link.parent / os.readlink(link)).resolve()
    return target if target.parent == (Path(project) / WORK).resolve() and target.is_dir() else None


@contextmanager
def next_generation(project: Path, say: Callable[[str], None]) -> Iterator[Generation]:
    """A new, empty generation to write a build's outputs into, under the project's build lock;
    removed at the end unless published, in which case the generations before the previous one go."""
    project = Path(project)
    work = project / WORK
    work.mkdir(exist_ok=True)
    with exclusive(work / "lock", f"another tradekb build of {project}", say), \
            ThreadPoolExecutor(max_workers=1) as cleaner:  # removes old generations beside the build
        _adopt_older_layout(project)
        now = current(project)
        keep = {now} if now else set()
        for path in _sweep(work, keep):
            cleaner.submit(_remove, path)
        # never the number of one being removed: its name is taken until it is gone
        numbers = [n for path in work.iterdir() if (n := _number(path, trashed=True)) is not None]
        directory = work / f"build-{max(numbers, default=0) + 1}"
        directory.mkdir()
        (directory / "queries").mkdir()
        (directory / _STORE_LINK).symlink_to(Path("..") / default_store(project).name)
        generation = Generation(project, directory, now)
        try:
            yield generation
        finally:
            if generation.published:
                for path in _sweep(work, {directory.resolve(), *keep}):  # the previous one stays for its readers
                    cleaner.submit(_remove, path)
            else:
                _remove(directory)


def _sweep(work: Path, keep: set[Path]) -> list[Path]:
    """Move out of the way, to be removed, what a killed build left in `work` (an unfinished
    generation, the new link, what it was removing) and every generation not in `keep`: renamed
    at once, they are removed beside the build (at a million triples a generation is 480 MB, and
    deleting it took 0.3 s). Only under the build lock: no other build is writing there."""
    doomed = []
    for path in work.iterdir():
        if path.name.endswith(_TRASH):
            doomed.append(path)
        elif (_number(path) is not None and path.resolve() not in keep) or path.name == _SWAP:
            doomed.append(path.with_name(path.name + _TRASH))
            os.replace(path, doomed[-1])
    return doomed


def _adopt_older_layout(project: Path) -> None:
    """A project built by an older tradekb has a `build` directory: its store moves to where the
    generations link to (the directory itself is replaced when the first generation is published)."""
    old_store = project / BUILD / _STORE_LINK
    if (project / BUILD).is_dir() and not (project / BUILD).is_symlink() and old_store.is_dir() \
            and not default_store(project).exists():
        os.replace(old_store, default_store(project))
