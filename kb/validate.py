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

from pyshacl import validate as shacl_validate
from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from kb import jena
from kb.errors import Location
from kb.graph import PREFIXES, KnowledgeBase

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
    _, results, _ = shacl_validate(data, shacl_graph=shapes, inference="none", advanced=True,
                                   allow_warnings=True, iterate_rules=False)
    return results


class Engine(enum.Enum):
    """Which SHACL engine validates: pySHACL (the validator of record) or Apache Jena (fast)."""

    AUTO = "auto"
    PYSHACL = "pyshacl"
    JENA = "jena"


# Above this many quads, `auto` hands validation to Jena when it is installed: pySHACL needs
# minutes for a million triples, Jena seconds, and a test holds Jena to pySHACL's verdicts.
AUTO_JENA_ABOVE = 50_000


def choose_engine(kb: KnowledgeBase, engine: Engine = Engine.AUTO) -> Engine:
    """The engine `auto` stands for on this knowledge base and this machine."""
    if engine is not Engine.AUTO:
        return engine
    return Engine.JENA if len(kb) > AUTO_JENA_ABOVE and jena.available() else Engine.PYSHACL


def validate(kb: KnowledgeBase, shapes: Graph, engine: Engine = Engine.AUTO,
             shapes_path: Path | None = None) -> ValidationReport:
    """Validate the knowledge base; each violation names the annotation file and line to fix."""
    engine = choose_engine(kb, engine)
    if engine is Engine.JENA:
        results = jena.validate(kb.triples(), shapes_path or _write_shapes(shapes))
        data_labels = _labels(kb, results)
    else:
        data = kb.union()
        results = validate_graph(data, shapes)
        data_labels = {s: o for s, o in data.subject_objects(RDFS.label)}
    names = Graph(bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        names.bind(prefix, namespace)
    violations = []
    # only the report's own results: nested ones (sh:detail) restate a top-level result
    for result in results.objects(None, SH.result):
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        severity = results.value(result, SH.resultSeverity)
        messages = sorted(str(m) for m in results.objects(result, SH.resultMessage))
        message = messages[0] if messages else "violates a shape"
        label = data_labels.get(focus)
        focus_text = _short(focus, names) + (f" ({label})" if isinstance(label, Literal) else "")
        violations.append(Violation(locate(kb, focus), focus_text,
                                    _short(path, names, results) if path is not None else "", message,
                                    str(severity).rsplit("#", 1)[-1]))
    violations.sort(key=lambda v: (str(v.location.path) if v.location else "~", v.location.line if v.location else 0,
                                   v.focus, v.path, v.message))
    return ValidationReport(violations)


def _labels(kb: KnowledgeBase, results: Graph) -> dict:
    """rdfs:label of each focus node in `results`, read from the quads (no rdflib copy of the graph)."""
    wanted = {str(f) for f in results.objects(None, SH.focusNode)}
    label = str(RDFS.label)
    return {URIRef(q.subject.value): Literal(q.object.value) for q in kb.quads
            if q.predicate.value == label and isinstance(q.subject, ox.NamedNode) and q.subject.value in wanted}


def _write_shapes(shapes: Graph) -> Path:
    path = Path(tempfile.mkdtemp(prefix="tradekb-shapes-")) / "shapes.ttl"
    shapes.serialize(destination=path, format="turtle")
    return path
