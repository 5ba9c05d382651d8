"""Validate the built graph against the SHACL shapes, and point each problem back to its annotation.

pySHACL is the validator of record. The graph it sees is the union of every named graph with the
ontology, so `sh:targetClass` and `sh:class` follow rdfs:subClassOf without RDFS inference.
"""

from __future__ import annotations

import enum
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from rdflib import RDFS, Graph, Namespace, URIRef
from rdflib.term import Node

from kb import jena, progress
from kb.errors import Location
from kb.graph import PREFIXES, KnowledgeBase
from kb.shacl_sparql import compile_shapes, find_violations

SH = Namespace("http://www.w3.org/ns/shacl#")
SHAPES_FILE = Path("ontology") / "shapes.ttl"


@dataclass(frozen=True, order=True)
class Violation:
    """One SHACL result, with the annotation file and line of the node it is about."""

    location: Location | None
    focus: str
    path: str
    message: str
    severity: str

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location and str(self.location) else ""
        what = f" [{self.path}]" if self.path else ""
        return f"{where}{self.focus}{what}: {self.message}"


@dataclass
class ValidationReport:
    """The verdict and its violations, sorted by file and line."""

    violations: list[Violation] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        return not any(v.severity == "Violation" for v in self.violations)

    def __str__(self) -> str:
        return "\n".join(map(str, self.violations))


def shapes_file(project: Path) -> Path:
    return Path(project) / SHAPES_FILE


def load_shapes(project: Path) -> Graph:
    """The project's SHACL shapes (ontology/shapes.ttl)."""
    return Graph().parse(Path(project) / SHAPES_FILE, format="turtle")


def _short(node: Node, graph: Graph, paths: Graph | None = None) -> str:
    inverse = paths.value(node, SH.inversePath) if paths is not None else None
    if inverse is not None:
        return "^" + _short(inverse, graph)
    if isinstance(node, URIRef):
        try:
            return graph.namespace_manager.normalizeUri(node)
        except Exception:
            return str(node)
    return str(node)


def locate(kb: KnowledgeBase, node: Node) -> Location | None:
    """The annotation that produced `node`, or the one its IRI nests under (a span of a report)."""
    if not isinstance(node, URIRef):
        return None
    iri = str(node)
    while iri:
        found = kb.origin(URIRef(iri))
        if found is not None:
            return found
        if "/" not in iri:
            break
        iri = iri.rsplit("/", 1)[0]
    return None


def validate_graph(data: Graph, shapes: Graph) -> Graph:
    """pySHACL's results graph for `data` (SHACL-SPARQL constraints enabled)."""
    from pyshacl import validate as shacl_validate  # here: it brings rdflib's SPARQL engine (0.15 s)
    _, results, _ = shacl_validate(data, shacl_graph=shapes, inference="none", advanced=True,
                                   allow_warnings=True, iterate_rules=False)
    return results


class Engine(enum.Enum):
    """Which SHACL engine validates.

    pyshacl: the validator of record. sparql: each constraint compiled to one SPARQL query over
    the Oxigraph store (kb/shacl_sparql.py), seconds at a million triples. jena: Apache Jena's
    SHACL, an independent second opinion. The tests hold sparql and jena to pySHACL's verdicts.
    """

    AUTO = "auto"
    PYSHACL = "pyshacl"
    SPARQL = "sparql"
    JENA = "jena"


# Above this many quads, `auto` uses the compiled SPARQL checks: pySHACL needs minutes for a
# million triples (see bench/RESULTS.md).
AUTO_SPARQL_ABOVE = 50_000


def choose_engine(kb: KnowledgeBase, engine: Engine = Engine.AUTO) -> Engine:
    """The engine `auto` stands for on this knowledge base."""
    if engine is not Engine.AUTO:
        return engine
    return Engine.SPARQL if len(kb) > AUTO_SPARQL_ABOVE else Engine.PYSHACL


def validate(kb: KnowledgeBase, shapes: Graph, engine: Engine = Engine.AUTO,
             shapes_path: Path | None = None) -> ValidationReport:
    """Validate the knowledge base; each violation names the annotation file and line to fix."""
    engine = choose_engine(kb, engine)
    with progress.stage(f"validating ({engine.value})"):
        if engine is Engine.SPARQL:
            found = [(URIRef(f.focus), f.path, f.message, "Violation")
                     for f in find_violations(kb.store, compile_shapes(shapes))]
            paths = shapes
        else:
            paths = (jena.validate(kb.triples(), shapes_path or _write_shapes(shapes)) if engine is Engine.JENA
                     else validate_graph(kb.union(), shapes))
            found = _found_in(paths)
    names = Graph(bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        names.bind(prefix, namespace)
    labels = _labels(kb, {str(focus) for focus, *_ in found})
    violations = [Violation(locate(kb, focus),
                            _short(focus, names) + (f" ({labels[str(focus)]})" if str(focus) in labels else ""),
                            _short(path, names, paths) if path is not None else "", message, severity)
                  for focus, path, message, severity in found]
    violations.sort(key=lambda v: (str(v.location.path) if v.location else "~",
                                   v.location.line if v.location else 0, v.focus, v.path, v.message))
    return ValidationReport(violations)


def _found_in(results: Graph) -> list[tuple]:
    """(focus, path, message, severity) of each result of a SHACL validation report graph; only the
    report's own results: nested ones (sh:detail) restate a top-level result."""
    found = []
    for result in results.objects(None, SH.result):
        messages = sorted(str(m) for m in results.objects(result, SH.resultMessage))
        found.append((results.value(result, SH.focusNode), results.value(result, SH.resultPath),
                      messages[0] if messages else "violates a shape",
                      str(results.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]))
    return found


def _labels(kb: KnowledgeBase, wanted: set[str]) -> dict[str, str]:
    """rdfs:label of each wanted node, read from the store (no rdflib copy of the graph)."""
    label = ox.NamedNode(str(RDFS.label))
    return {node: q.object.value for node in wanted if not node.startswith("_:")
            for q in kb.store.quads_for_pattern(ox.NamedNode(node), label, None)}


def _write_shapes(shapes: Graph) -> Path:
    path = Path(tempfile.mkdtemp(prefix="tradekb-shapes-")) / "shapes.ttl"
    shapes.serialize(destination=path, format="turtle")
    return path
