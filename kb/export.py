"""Write the knowledge base for other tools: formats as values, byte-stable output, atomic writes.

Turtle has no named graphs, so it gets the union of all graphs (an rdflib Dataset serialized as
Turtle would silently drop them); TriG, N-Quads and JSON-LD keep one named graph per article.
"""

from __future__ import annotations

import enum
import os
import tempfile
from operator import attrgetter
from pathlib import Path

import pyoxigraph as ox

from kb.errors import TradeKBError
from kb.graph import PREFIXES, KnowledgeBase


class ExportFormat(enum.Enum):
    """An RDF serialization: value = (name, file extension, pyoxigraph format, keeps named graphs)."""

    TURTLE = ("turtle", "ttl", ox.RdfFormat.TURTLE, False)
    TRIG = ("trig", "trig", ox.RdfFormat.TRIG, True)
    NQUADS = ("nquads", "nq", ox.RdfFormat.N_QUADS, True)
    JSONLD = ("jsonld", "jsonld", ox.RdfFormat.JSON_LD, True)

    @property
    def label(self) -> str:
        return self.value[0]

    @property
    def extension(self) -> str:
        return self.value[1]

    @property
    def rdf_format(self) -> ox.RdfFormat:
        return self.value[2]

    @property
    def media_type(self) -> str:
        return self.rdf_format.media_type

    @classmethod
    def named(cls, name: str) -> "ExportFormat":
        for fmt in cls:
            if name in (fmt.label, fmt.extension):
                return fmt
        raise TradeKBError(f"unknown export format {name!r}; use one of {', '.join(f.label for f in cls)}")


def serialize(kb: KnowledgeBase, fmt: ExportFormat, output: Path | None = None) -> bytes | None:
    """The knowledge base in `fmt`, as bytes, or written straight to `output` (not atomically: the
    build stages its files and swaps them in). The same graph always gives the same bytes."""
    prefixes = {prefix: str(ns) for prefix, ns in PREFIXES.items()}
    target = None if output is None else str(output)
    if fmt.value[3]:
        return kb.store.dump(target, format=fmt.rdf_format, prefixes=prefixes)
    # Turtle: the union, streamed; a triple in two named graphs is written twice, which is the same graph
    return ox.serialize(map(attrgetter("triple"), kb.quads()), target, format=fmt.rdf_format, prefixes=prefixes)


def write_atomically(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data` in one step: readers see the old file or the new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

