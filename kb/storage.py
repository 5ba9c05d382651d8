"""Where the knowledge base lives: built in memory each time, or kept in an on-disk Oxigraph store.

`--store memory` (the default) builds the graph from the annotations for every command: at a
million triples the saved queries run 4-16 times faster on the in-memory store than on the on-disk
one (bench/RESULTS.md). `--store oxigraph[:PATH]` keeps the built graph in an on-disk store with a
manifest of what it was built from, so a later command whose inputs have not changed reopens it
without parsing a single annotation; one whose inputs have changed rebuilds it.

A store directory holds `manifest.json` and one data directory (the RocksDB store and the nodes'
annotation origins). A new version is written to a new data directory, and the manifest is
replaced in one step to point to it: a reader sees the old store or the new, never half of one.
Readers open it read-only, any number at once. Writers take turns (`DiskStore.writing`, a lock
the kernel drops when its holder dies), and each first removes what a killed writer left: so a
store that a `kill -9` interrupted at any instant, even in its first build, is usable by the
next command as it is.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pyoxigraph as ox

import kb
from kb import progress
from kb.errors import Location, TradeKBError, io_error
from kb.inputfiles import ProjectFiles
from kb.locks import exclusive, exclusive_or_none, locked_directory
from kb.outputs import BUILD, WORK, default_store

MANIFEST = "manifest.json"
ORIGINS = "origins.json"  # in a data directory: the annotation file and line of each node
LOCK = "tradekb.lock"  # held by the one process writing; its presence says the directory is a store
FORMAT = 1  # of the store directory; a store in another format is rebuilt
# What the graph is made from: the annotations and articles, the ontology, and this code.
INPUTS = ("seeds", "ontology/tradekb.ttl")
SHAPES = "ontology/shapes.ttl"


class StoreError(TradeKBError):
    """The on-disk store cannot be used: not a tradekb store, locked by another process, unwritable."""


@dataclass(frozen=True)
class StoreChoice:
    """The store a command works on: in memory (location None) or on disk at `location`."""

    location: Path | None = None

    @classmethod
    def parse(cls, text: str, project: Path) -> "StoreChoice":
        """`memory`, `oxigraph` (in the project's .build/store, also seen as build/store) or `oxigraph:PATH`."""
        kind, _, path = text.partition(":")
        if kind == "memory" and not path:
            return cls()
        if kind == "oxigraph":
            build = (Path(project) / BUILD).absolute()
            if not path or Path(path).absolute() == build / "store":
                return cls(default_store(project))  # build/store is a link to it, once there is a build
            if Path(path).absolute().is_relative_to(build):
                raise TradeKBError(f"--store {text!r}: every build replaces {BUILD}/; keep the store elsewhere "
                                   f"(--store oxigraph keeps it in {WORK}/store)")
            return cls(Path(path))
        raise TradeKBError(f"--store {text!r}: use memory, oxigraph or oxigraph:PATH")


MEMORY = StoreChoice()


def files_digest(project: Path, names: tuple[str, ...], known: dict[Path, str] | None = None) -> str:
    """A hash of the files (and directory trees) `names` under the project, and of tradekb's code:
    of each file's name and SHA-256 (given in `known`, for files hashed already). A file that
    leads outside the project is refused, not read (kb.inputfiles)."""
    digest = hashlib.sha256()
    files = []
    for name in names:
        path = Path(project) / name
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    project_files = ProjectFiles(project)
    for path in files:
        project_files.inside(path)
    files += sorted(Path(kb.__file__).parent.glob("*.py"))
    for path in files:
        name = str(path.relative_to(project) if path.is_relative_to(project) else path.name)
        content = (known or {}).get(path) or (_sha256(path) if path.is_file() else hashlib.sha256().hexdigest())
        digest.update(f"{name}\0{content}\0".encode())
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    with open(path, "rb") as file:  # in pieces: a large file in seeds/ must not be read whole
        return hashlib.file_digest(file, "sha256").hexdigest()


def file_digests(folder: Path) -> dict[Path, str]:
    """The SHA-256 of each file directly in `folder`, a directory of the project (its seeds/):
    a file that leads outside the project is refused, not read (kb.inputfiles)."""
    files = [path for path in sorted(Path(folder).iterdir()) if path.is_file()]
    project_files = ProjectFiles(Path(folder).parent)
    for path in files:
        project_files.inside(path)
    return {path: _sha256(path) for path in files}


def inputs_digest(project: Path, seeds: dict[Path, str] | None = None) -> str:
    """What decides the graph: every file under seeds/, the ontology, tradekb's own code, and the
    version of Oxigraph that writes the store. `seeds`: the seeds' digests, if known (file_digests)."""
    return files_digest(project, INPUTS, seeds) + f"-oxigraph-{ox.__version__}"


def shapes_digest(project: Path) -> str:
    """What decides a validation verdict besides the graph: the shapes and tradekb's own code."""
    return files_digest(project, (SHAPES,))


@dataclass(frozen=True)
class Manifest:
    """What a store directory holds: the data directory, the inputs it was built from, its size,
    and the shapes it was found to conform to (None if it has not been validated)."""

    data: str
    inputs: str
    quads: int
    conforms_to: str | None = None

    @classmethod
    def read(cls, directory: Path) -> "Manifest | None":
        try:
            fields = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
            if fields.pop("format") != FORMAT:
                return None
            return cls(**fields)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, directory: Path) -> None:
        from kb.export import write_atomically
        write_atomically(directory / MANIFEST, json.dumps({"format": FORMAT, **self.__dict__}, indent=1) + "\n")


class DiskStore:
    """The on-disk store at one location: read by anyone at any time, written by one process at a
    time (`writing`)."""

    def __init__(self, location: Path) -> None:
        self.location = Path(location)

    def current(self, inputs: str) -> Manifest | None:
        """The manifest, if the store was built from inputs with this digest (inputs_digest)."""
        manifest = Manifest.read(self.location)
        if manifest is None or manifest.inputs != inputs:
            return None
        return manifest if (self.location / manifest.data / "oxigraph").is_dir() else None

    def open(self, manifest: Manifest, project: Path):
        """The knowledge base in the store, read-only (other readers may open it too); the
        annotation files its nodes came from are named as under `project`. None if a writer has
        committed a newer version and removed this one since `manifest` was read.

        The data directory is held (a shared flock) until this process ends: RocksDB opens its
        files as it needs them, and a writer removes an old version only when no one holds it."""
        from kb.graph import KnowledgeBase
        data = self.location / manifest.data
        with progress.stage("opening the store"):
            if not _hold(data):
                return None
            try:
                store = ox.Store.read_only(str(data / "oxigraph"))
                origins = json.loads((data / ORIGINS).read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise StoreError(f"cannot open the store at {self.location}: {e}") from None
        return KnowledgeBase(store, {node: Location(Path(project) / path, line)
                                 for node, (path, line) in origins.items()})

    @contextmanager
    def writing(self, say: Callable[[str], None] = lambda _: None) -> Iterator["StoreWriter"]:
        """Write the store, alone: under its lock (a second writer waits, and says so), after
        removing what a killed writer left. Data written in the block and not committed is removed
        at its end, however it ends."""
        if self.location.exists() and not self.location.is_dir():
            raise StoreError(f"{self.location}: the store location is a file, not a directory")
        if self.location.is_dir() and not (self.location / LOCK).exists() and not (self.location / MANIFEST).exists() \
                and any(self.location.iterdir()):
            raise StoreError(f"{self.location} is not empty and holds no tradekb store: give a new or empty directory")
        self.location.mkdir(parents=True, exist_ok=True)
        with exclusive(self.location / LOCK, f"another tradekb process writing the store at {self.location}", say):
            committed = Manifest.read(self.location)
            self._sweep(committed.data if committed else None)
            writer = StoreWriter(self)
            try:
                yield writer
            finally:
                for name in writer.uncommitted:
                    _remove_data(self.location, name)

    def write(self, knowledge_base, project: Path, inputs: str, conforms_to: str | None,
              say: Callable[[str], None] = lambda _: None) -> Manifest:
        """Write the knowledge base (built from `project`) as the store's new version, unless a
        process that held the lock before this one has just written the same."""
        with self.writing(say) as writer:
            if (manifest := self.current(inputs)) is not None:
                return manifest
            with progress.stage("writing the store"):
                manifest = Manifest(writer.write_data(knowledge_base, project), inputs, len(knowledge_base), conforms_to)
            writer.commit(manifest)
        return manifest

    def mark_conforming(self, manifest: Manifest, shapes: str) -> None:
        """Record that the graph of `manifest` conforms to the shapes with this digest, if the
        store still holds that graph and no one is writing it (else the next command validates)."""
        with exclusive_or_none(self.location / LOCK) as held:
            if held and Manifest.read(self.location) == manifest:
                replace(manifest, conforms_to=shapes).write(self.location)

    def _sweep(self, keep: str | None) -> None:
        """Remove every data directory but the committed one (and those readers hold), and the
        temporary files: what a killed writer left (a scratch copy, data written but never
        committed, a manifest not yet renamed), and the lock file of an older tradekb."""
        for path in self.location.iterdir():
            if path.name.startswith(".") and path.name.endswith(".tmp") and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.name.startswith(".") and path.name.endswith(".tmp"):
                path.unlink()
        _remove_unread(self.location, keep)
        (self.location / ".lock").unlink(missing_ok=True)


_HELD: list[int] = []  # data directories this process reads: held until it ends


def _hold(data: Path) -> bool:
    """Hold the data directory for reading (False if it is gone: a writer removed it)."""
    try:
        fd = os.open(data, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits while a writer is removing it
    except OSError:  # a file system without flock: read unprotected, as before there were holds
        pass
    try:
        still = os.stat(data).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        still = False
    if not still:
        os.close(fd)
        return False
    _HELD.append(fd)
    return True


def _remove_unread(location: Path, keep: str | None) -> None:
    """Remove the data directories but `keep` that no process holds for reading (a later writer
    removes those)."""
    for path in location.iterdir():
        if not path.name.startswith("data-") or path.name == keep:
            continue
        try:
            with locked_directory(path, wait=False):
                shutil.rmtree(path, ignore_errors=True)
        except BlockingIOError:
            pass  # being read
        except OSError:
            continue  # gone meanwhile, or not a directory


def _remove_data(location: Path, name: str) -> None:
    shutil.rmtree(location / name, ignore_errors=True)
    shutil.rmtree(location / f".{name}.tmp", ignore_errors=True)


class StoreWriter:
    """What a process holding the store's lock may do: write new data directories, and commit one."""

    def __init__(self, store: DiskStore) -> None:
        self.location = store.location
        self.uncommitted: set[str] = set()

    def write_data(self, knowledge_base, project: Path) -> str:
        """Write the knowledge base to a new data directory, not yet in use; return its name."""
        name, scratch = self._scratch()
        try:
            store = ox.Store(str(scratch / "oxigraph"))
            store.bulk_extend(knowledge_base.quads())
            store.flush()
            del store  # closes RocksDB
            relative: dict[Path, str] = {}  # relpath is slow, and a file has many nodes
            self.finish_data(name, scratch, json.dumps({
                node: (relative.get(where.path) or relative.setdefault(where.path, os.path.relpath(where.path, project)),
                       where.line) for node, where in knowledge_base.origins.items()}))
        except OSError as e:
            raise io_error(e, f"cannot write the store at {self.location}") from None
        return name

    def copy_data(self, manifest: Manifest) -> tuple[str, Path]:
        """A new data directory (name, and where it is until finish_data) holding a copy of the
        store of `manifest` and its nodes' origins, made of hard links to its files: cheap, and the
        original stays whole."""
        name, scratch = self._scratch()
        try:
            ox.Store.read_only(str(self.location / manifest.data / "oxigraph")).backup(str(scratch / "oxigraph"))
            os.link(self.location / manifest.data / ORIGINS, scratch / ORIGINS)
        except OSError as e:
            raise io_error(e, f"cannot copy the store at {self.location}") from None
        return name, scratch

    def finish_data(self, name: str, scratch: Path, origins: str | None = None) -> None:
        """Complete a new data directory: the nodes' origins (a JSON object: node -> [path relative
        to the project, line]), unless copied, then the directory under its name."""
        if origins is not None:
            (scratch / ORIGINS).unlink(missing_ok=True)  # a link to the copied store's: never written through
            (scratch / ORIGINS).write_text(origins, encoding="utf-8")
        os.replace(scratch, self.location / name)

    def discard(self, name: str) -> None:
        """Remove a data directory that was written but will not be committed (or its scratch copy)."""
        _remove_data(self.location, name)
        self.uncommitted.discard(name)

    def _scratch(self) -> tuple[str, Path]:
        name = f"data-{os.getpid()}-{time.time_ns()}"
        scratch = self.location / f".{name}.tmp"
        self.uncommitted.add(name)
        scratch.mkdir()
        return name, scratch

    def commit(self, manifest: Manifest) -> None:
        """Make `manifest` the store's, in one step, and drop the data no longer in use (what a
        reader still holds stays until a later writer finds it free)."""
        manifest.write(self.location)
        self.uncommitted.discard(manifest.data)
        _remove_unread(self.location, manifest.data)
