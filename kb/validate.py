"""Validate the built graph against the SHACL shapes, and point each problem back to its annotation.

pySHACL is the validator of record. The graph it sees is the union of every named graph with the
ontology, so `sh:targetClass` and `sh:class` follow rdfs:subClassOf without RDFS inference. Every
engine's answer comes back as the same `Result`s (focus, path, value, source shape, constraint
component, severity, message), so that they can be held to each other and to the W3C suite.
"""

from __future__ import annotations

import enum
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from rdflib import RDF, RDFS, Graph, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from kb import jena, progress
from kb.errors import Location, Problem, TradeKBError
from kb.inputfiles import ONTOLOGY_LIMIT, InputFileError, read_text
from kb.graph import PREFIXES, KnowledgeBase
from kb.shacl_sparql import (TARGETS, Result, UnsupportedShape, compile_partially, compile_shapes, find_violations,
                             graph_as_written, path_text)

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
    """The project's SHACL shapes (ontology/shapes.ttl), every literal as written: rdflib's own
    reader would make "1"^^xsd:boolean true, and SHACL names only true (sh:deactivated "1" is not
    a deactivated shape). Oxigraph parses the text, read as every project file is (kb.inputfiles);
    broken Turtle is one line naming its line and column."""
    path = Path(project) / SHAPES_FILE
    text = read_text(project, path, ONTOLOGY_LIMIT)
    try:
        return graph_as_written(ox.parse(input=text.encode("utf-8"), format=ox.RdfFormat.TURTLE))
    except SyntaxError as e:
        why = re.sub(r"^Parser error at line \d+ column \d+: ", "", e.msg)
        raise InputFileError([Problem(Location(path, e.lineno or 0, e.offset or 0), f"broken Turtle: {why}")]) from None


def _short(node: Node, graph: Graph) -> str:
    if isinstance(node, URIRef):
        try:
            return graph.namespace_manager.normalizeUri(node)
        except Exception:
            return str(node)
    return str(node)


def _short_path(path: str, graph: Graph) -> str:
    """A result path's text with its IRIs as prefixed names: `^tkb:reportOf`, not `^(<https://…>)`."""
    short = re.sub(r"<([^<>]+)>", lambda m: _short(URIRef(m[1]), graph), path)
    return re.sub(r"\^\(([^()|/]+)\)", r"^\1", short)


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


class ShapesError(TradeKBError):
    """An engine rejected the shapes (not valid SHACL, or a SHACL-SPARQL query it refuses)."""


def _one_line(said: object) -> str:
    return " ".join(str(said).split())


def validate_graph(data: Graph, shapes: Graph) -> Graph:
    """pySHACL's results graph for `data` (SHACL-SPARQL constraints enabled); UnsupportedShape
    where pySHACL would answer wrongly or says it cannot, ShapesError when it rejects the shapes."""
    from pyshacl import validate as shacl_validate  # here: it brings rdflib's SPARQL engine (0.15 s)
    from pyshacl.errors import ConstraintLoadError, ReportableRuntimeError, ShapeLoadError
    for key in (SH.uniqueLang, SH.closed, SH.deactivated, SH.qualifiedValueShapesDisjoint):
        for flag in shapes.objects(None, key):
            if str(flag) not in ("true", "false"):  # W3C test core/property/uniqueLang-002
                raise UnsupportedShape(f"{key.n3(shapes.namespace_manager)} {flag.n3()}: pySHACL takes it for true "
                                       "where SHACL names only true: write true or false")
    try:
        _, results, _ = shacl_validate(data, shacl_graph=shapes, inference="none", advanced=True,
                                       allow_warnings=True, iterate_rules=False)
    except NotImplementedError as e:  # pySHACL names what it does not support
        raise UnsupportedShape(f"pySHACL does not support this: {_one_line(e)}") from None
    except (ReportableRuntimeError, ShapeLoadError, ConstraintLoadError) as e:
        raise ShapesError(f"pySHACL rejected the shapes: {_one_line(getattr(e, 'message', e))}") from None
    if not isinstance(results, Graph):  # pySHACL returns its failure (a query it refuses) instead of a report
        raise ShapesError(f"pySHACL rejected the shapes: {_one_line(getattr(results, 'message', results))}")
    return results


def results_of(report: Graph, node: Node | None = None) -> list[Result]:
    """The results of a SHACL validation report graph (pySHACL's or Jena's; of the report `node`
    if given); only the report's own: nested ones (sh:detail) restate a top-level result."""
    found = []
    for result in report.objects(node, SH.result):
        messages = sorted(str(m) for m in report.objects(result, SH.resultMessage))
        path = report.value(result, SH.resultPath)
        found.append(Result(report.value(result, SH.focusNode), path_text(report, path) if path is not None else None,
                            report.value(result, SH.value), report.value(result, SH.sourceShape),
                            report.value(result, SH.sourceConstraintComponent),
                            report.value(result, SH.resultSeverity), messages[0] if messages else "violates a shape"))
    return found


def by_sparql(store: ox.Store, shapes: Graph) -> list[Result]:
    """The compiled engine's results; UnsupportedShape if a shape with a target does not compile."""
    return find_violations(store, compile_shapes(shapes))


def by_auto(store: ox.Store, data: Callable[[], Graph], shapes: Graph) -> list[Result]:
    """The compiled engine's results for the shapes it compiles, and pySHACL's for exactly the
    others: pySHACL gets the whole shapes graph with the targets of the compiled shapes taken
    away, so that a shape named through sh:node still means what it meant, and none is checked twice."""
    compiled = compile_partially(shapes)
    found = find_violations(store, compiled.checks)
    if compiled.refused:
        rest = Graph()
        for triple in shapes:
            if triple[0] in compiled.refused or not _is_target(shapes, triple):
                rest.add(triple)
        found += results_of(validate_graph(data(), rest))
    return found


def _is_target(shapes: Graph, triple: tuple) -> bool:
    """Does the triple give a shape a target (explicit, or implicit: the shape is an rdfs:Class)?"""
    s, p, o = triple
    return p in TARGETS or (p == RDF.type and o not in (SH.NodeShape, SH.PropertyShape) and (
        (s, RDF.type, SH.NodeShape) in shapes or (s, RDF.type, SH.PropertyShape) in shapes))


class Engine(enum.Enum):
    """Which SHACL engine validates.

    pyshacl: the validator of record. sparql: each constraint compiled to one SPARQL query over
    the Oxigraph store (kb/shacl_sparql.py), seconds at a million triples; it refuses shapes it
    cannot compile. jena: Apache Jena's SHACL, an independent second opinion. auto: pyshacl up
    to AUTO_SPARQL_ABOVE quads; above, sparql, with pySHACL for exactly the shapes sparql cannot compile.
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
    chosen = choose_engine(kb, engine)
    with progress.stage(f"validating ({chosen.value})"):
        if chosen is Engine.SPARQL:
            found = by_sparql(kb.store, shapes) if engine is Engine.SPARQL else by_auto(kb.store, kb.union, shapes)
        elif chosen is Engine.JENA:
            jena.refuse_unsupported(shapes)
            found = results_of(jena.validate(kb.triples(), shapes_path or _write_shapes(shapes)))
        else:
            found = results_of(validate_graph(kb.union(), shapes))
    names = Graph(bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        names.bind(prefix, namespace)
    labels = _labels(kb, {str(r.focus) for r in found})
    violations = [Violation(locate(kb, r.focus),
                            _short(r.focus, names) + (f" ({labels[str(r.focus)]})" if str(r.focus) in labels else ""),
                            _short_path(r.path, names) if r.path is not None else "", r.message,
                            str(r.severity).rsplit("#", 1)[-1])
                  for r in found]
    violations.sort(key=lambda v: (str(v.location.path) if v.location else "~",
                                   v.location.line if v.location else 0, v.focus, v.path, v.message))
    return ValidationReport(violations)


def _labels(kb: KnowledgeBase, wanted: set[str]) -> dict[str, str]:
    """rdfs:label of each wanted node, read from the store (no rdflib copy of the graph)."""
    label = ox.NamedNode(str(RDFS.label))
    return {node: q.object.value for node in wanted if not node.startswith("_:")
            for q in kb.store.quads_for_pattern(ox.NamedNode(node), label, None)}


def _write_shapes(shapes: Graph) -> Path:
    path = Path(tempfile.mkdtemp(prefix="tradekb-shapes-")) / "shapes.ttl"
    shapes.serialize(destination=path, format="turtle")
    return path
