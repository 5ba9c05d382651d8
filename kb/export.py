"""Write the knowledge base for other tools: formats as values, byte-stable output, atomic writes.

Turtle has no named graphs, so it gets the union of all graphs (an rdflib Dataset serialized as
Turtle would silently drop them; a triple in two graphs is written twice, which is the same graph);
TriG, N-Quads and JSON-LD keep one named graph per article.

An export is the format's header, then one piece per named graph in sorted order, then its footer.
A piece is what pyoxigraph writes for that graph's quads alone, in the store's order for the graph,
so it depends on nothing else: a rebuild after a change to a few graphs renders their pieces and
copies the others' bytes from the previous file (`previous_pieces`), and gets the same bytes as a
full build. (An in-memory store gives a graph's quads in the reverse of the order they were first
added to it, whatever else the store holds; a quad removed and added again keeps its old place.)
"""

from __future__ import annotations

import ctypes
import enum
import errno
import functools
import io
import json
import mmap
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, TypeVar

import pyoxigraph as ox

from kb.errors import TradeKBError, writing_to
from kb.formats import FileFormat
from kb.graph import PREFIXES, KnowledgeBase

F = TypeVar("F", bound=enum.Enum)
PREFIX_IRIS = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}


class ExportFormat(FileFormat):
    """An RDF serialization: value = (name, file extension, pyoxigraph format, keeps named graphs)."""

    TURTLE = ("turtle", "ttl", ox.RdfFormat.TURTLE, False)
    TRIG = ("trig", "trig", ox.RdfFormat.TRIG, True)
    NQUADS = ("nquads", "nq", ox.RdfFormat.N_QUADS, True)
    JSONLD = ("jsonld", "jsonld", ox.RdfFormat.JSON_LD, True)

    @property
    def rdf_format(self) -> ox.RdfFormat:
        return self.value[2]

    @property
    def keeps_graphs(self) -> bool:
        return self.value[3]

    @property
    def media_type(self) -> str:
        return self.rdf_format.media_type

    @classmethod
    def named(cls, name: str) -> "ExportFormat":
        for fmt in cls:
            if name in (fmt.label, fmt.extension):
                return fmt
        raise TradeKBError(f"unknown export format {name!r}; use one of {', '.join(f.label for f in cls)}")


@dataclass
class ExportLayout:
    """Where each named graph's piece is in an export file, and the file's size and modification
    time as written, by which a later build tells that the file is still the one described."""

    format: str  # the ExportFormat's label
    pieces: list[tuple[str, int, int]]  # (graph IRI, start, end): byte offsets, in file order
    size: int
    mtime_ns: int


_PROBE = ox.NamedNode("urn:x")  # an IRI no prefix abbreviates


@functools.cache
def _prefix_lines() -> bytes:
    """The @prefix lines pyoxigraph writes at the top of a Turtle or TriG document, in its order."""
    probe = [ox.Triple(_PROBE, _PROBE, _PROBE)]
    statement = ox.serialize(probe, format=ox.RdfFormat.TURTLE)
    return ox.serialize(probe, format=ox.RdfFormat.TURTLE, prefixes=PREFIX_IRIS).removesuffix(statement)


def _framing(fmt: ExportFormat) -> tuple[bytes, bytes, bytes]:
    """(header, separator, footer): what an export has before, between and after its pieces."""
    if fmt is ExportFormat.JSONLD:
        return b"[", b",", b"]"  # an array of graph objects; pyoxigraph's JSON-LD has no prefixes
    return _prefix_lines() if fmt in (ExportFormat.TURTLE, ExportFormat.TRIG) else b"", b"", b""


def graph_piece(store: ox.Store, graph: str, fmt: ExportFormat) -> bytes:
    """One named graph's piece of an export: what pyoxigraph writes for the graph's quads alone
    (triples for Turtle), in the store's order for the graph, without the header; b"" if it is empty.

    The store dumps the graph's triples without holding the GIL, and they are then framed as each
    format frames a named graph (tests compare with pyoxigraph's own output): the build writes its
    four exports side by side, and at a million triples they take as long as four whole-store dumps
    did, where serializing each graph's quads from Python objects took 1.6x as long.
    """
    name = ox.NamedNode(graph)
    if fmt is ExportFormat.NQUADS:  # N-Triples lines (a literal's line breaks are escaped) + the graph
        return store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=name).replace(b" .\n", f" {name} .\n".encode())
    if fmt is ExportFormat.JSONLD:  # {"@id": graph, "@graph": [the graph's node objects]}
        nodes = store.dump(format=ox.RdfFormat.JSON_LD, from_graph=name)
        return b"" if nodes == b"[]" else b'{"@id":%s,"@graph":%s}' % (json.dumps(graph, ensure_ascii=False).encode(), nodes)
    body = store.dump(format=ox.RdfFormat.TURTLE, from_graph=name, prefixes=PREFIX_IRIS).removeprefix(_prefix_lines())
    if fmt is ExportFormat.TURTLE or not body:
        return body
    # TriG: the same statements, one tab further in, between "label {" and "}"
    return b"%s {\n\t%s\n}\n" % (_trig_label(name), body[:-1].replace(b"\n", b"\n\t"))


def _trig_label(graph: ox.NamedNode) -> bytes:
    """The graph's name as pyoxigraph's TriG writes it (a prefixed name where a prefix fits)."""
    document = ox.serialize([ox.Quad(_PROBE, _PROBE, _PROBE, graph)], format=ox.RdfFormat.TRIG, prefixes=PREFIX_IRIS)
    return document.removeprefix(_prefix_lines()).split(b" {\n", 1)[0]


def _write_pieces(out: BinaryIO, fmt: ExportFormat, graphs: Iterable[str],
                  piece: Callable[[str], bytes]) -> list[tuple[str, int, int]]:
    """Write header, the graphs' pieces in sorted order, footer; return where each piece went."""
    header, separator, footer = _framing(fmt)
    out.write(header)
    at, pieces, after_a_piece = len(header), [], False
    for graph in sorted(graphs):
        data = piece(graph)
        if data and after_a_piece:  # JSON-LD's comma goes between graphs, and an empty one has none
            at += out.write(separator)
        pieces.append((graph, at, at + len(data)))
        at += out.write(data)
        after_a_piece = after_a_piece or bool(data)
    out.write(footer)
    return pieces


def write_export(fmt: ExportFormat, target: Path, graphs: Iterable[str], piece: Callable[[str], bytes]) -> ExportLayout:
    """Write an export of `graphs` to `target`, each graph's piece made by `piece` (`graph_piece`,
    or a copy from `previous_pieces`), and say where each piece is. Not atomic: the caller writes a
    temporary file and renames it, which keeps the size and time the layout records."""
    with writing_to(target), open(target, "wb") as out:
        pieces = _write_pieces(out, fmt, graphs, piece)
    written = os.stat(target)
    return ExportLayout(fmt.label, pieces, written.st_size, written.st_mtime_ns)


def previous_pieces(path: Path, layout: ExportLayout) -> Callable[[str], bytes] | None:
    """The pieces of the export at `path`, by graph IRI, as `layout` places them; None if the file
    is gone, or its size or modification time is not the layout's (it was touched since)."""
    try:
        with open(path, "rb") as file:
            found = os.fstat(file.fileno())
            if (found.st_size, found.st_mtime_ns) != (layout.size, layout.mtime_ns):
                return None
            # mapped, the file stays readable even after the next export is renamed over it
            content = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if found.st_size else b""
    except FileNotFoundError:
        return None
    where = {graph: (start, end) for graph, start, end in layout.pieces}

    def piece(graph: str) -> bytes:
        start, end = where[graph]
        return content[start:end]
    return piece


def serialize(kb: KnowledgeBase, fmt: ExportFormat, output: Path | None = None) -> bytes | None:
    """The knowledge base in `fmt`, as bytes, or written straight to `output` (not atomically: the
    build stages its files and swaps them in). The same graph always gives the same bytes."""
    def piece(graph: str) -> bytes:
        return graph_piece(kb.store, graph, fmt)
    if output is not None:
        write_export(fmt, Path(output), kb.graph_names, piece)
        return None
    buffer = io.BytesIO()
    _write_pieces(buffer, fmt, kb.graph_names, piece)
    return buffer.getvalue()


def format_for_output(formats: type[F] | tuple[type[F], ...], output: Path | None, named: str | None,
                      default: F) -> F:
    """The format to write in: the one `named` (--format), else the one `output`'s extension names,
    else `default`. A file's name says what it holds, so an extension that names no format of
    `formats` (an enum of formats, or several) is refused unless a format is named, and one that
    names another format than the named one is refused: `-o kb.nq` never gets Turtle.

    >>> format_for_output(ExportFormat, Path("kb.nq"), None, ExportFormat.TURTLE).label
    'nquads'
    >>> format_for_output(ExportFormat, Path("kb.nq"), "turtle", ExportFormat.TURTLE)
    Traceback (most recent call last):
    kb.errors.TradeKBError: --format turtle disagrees with -o kb.nq: .nq is nquads; drop --format or rename the file
    """
    families = formats if isinstance(formats, tuple) else (formats,)
    chosen = _named(families, named) if named is not None else None
    if output is None:
        return chosen or default
    extension = output.suffix.lower().removeprefix(".")
    members = [fmt for family in families for fmt in family]
    by_extension = next((fmt for fmt in members if fmt.extension == extension), None)
    known = ", ".join(f".{fmt.extension}" for fmt in members if fmt.extension)
    if by_extension is None:
        if chosen is None:
            named_as = f"'.{extension}'" if extension else "a name without an extension"
            raise TradeKBError(f"-o {output}: cannot tell the format from {named_as}; name it {known}, or give --format")
        return chosen
    if chosen is not None and chosen is not by_extension:
        raise TradeKBError(f"--format {chosen.label} disagrees with -o {output}: .{extension} is {by_extension.label}; "
                           "drop --format or rename the file")
    return by_extension


def _named(families: tuple[type[F], ...], name: str) -> F:
    """The format of one of `families` that `name` names (by name or extension); if none does,
    the first family's `named` says which names there are."""
    found = next((fmt for family in families for fmt in family if name in (fmt.label, fmt.extension)), None)
    return found if found is not None else families[0].named(name)


def write_atomically(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data` in one step: readers see the old file or the new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with writing_to(path), os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        replace_file(Path(tmp), path)
    finally:
        Path(tmp).unlink(missing_ok=True)


_RENAME_EXCHANGE = 2  # linux/fs.h
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def replace_file(new: Path, target: Path) -> None:
    """Put the file `new` in the place of `target` in one step: readers see the old file or the
    new, never half. The old file may be left at `new`, for the caller to delete.

    On Linux the two are exchanged (renameat2). Renaming a file over another makes ext4 write the
    new file's blocks out there and then (its auto_da_alloc), which took 0.2-0.4 s for each 230 MB
    export, and most of a rebuild's time went there; the exchange takes no time, and deleting the
    old file afterwards 0.13 s.
    """
    if _libc is not None:
        if _libc.renameat2(-100, os.fsencode(new), -100, os.fsencode(target), _RENAME_EXCHANGE) == 0:  # AT_FDCWD
            return
        if ctypes.get_errno() not in (errno.ENOENT, errno.EINVAL, errno.ENOSYS, errno.EXDEV):
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(target))
    os.replace(new, target)  # no target yet, or no exchange here: a plain rename
