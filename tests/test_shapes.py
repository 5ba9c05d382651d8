"""Every NodeShape in ontology/shapes.ttl catches a graph made to violate it, by every engine, and
the mini KB conforms.

tests/fixtures/shapes/<ShapeLocalName>.ru is a SPARQL Update that breaks the mini knowledge base in
one way; its second line names the focus node the violation must be about (`# focus: <iri>`).
No shape is skipped by any engine: the compiled engine compiles them all, and each engine finds
each fixture's violation. Ill-formed literals (which a SPARQL server may hold, and `validate
--endpoint` reads) are violations from every engine, never a crash.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import RDF, Graph, URIRef

from conftest import REPO, make_mini_project
import pyoxigraph as ox

from kb import jena
from kb.graph import KnowledgeBase
from kb.pipeline import load_knowledge_base
from kb.shacl_sparql import Result, compile_partially, store_of
from kb.validate import (AUTO_SPARQL_ABOVE, SH, Engine, by_sparql, load_shapes, results_of, shapes_file, validate,
                         validate_graph)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "shapes"
SHAPES = Graph().parse(REPO / "ontology" / "shapes.ttl", format="turtle")
NODE_SHAPES = {str(s).rsplit("#", 1)[-1]: s for s in SHAPES.subjects(RDF.type, SH.NodeShape) if isinstance(s, URIRef)}


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    project = make_mini_project(tmp_path_factory.mktemp("shapes") / "mini")
    return load_knowledge_base(project), load_shapes(project)


def belongs_to(source, node_shape, shapes: Graph) -> bool:
    """Is `source` (a result's sh:sourceShape) the node shape or one of its property shapes?"""
    return source == node_shape or (node_shape, SH.property, source) in shapes


def conforms(results: Graph) -> bool:
    [verdict] = list(results.objects(None, SH.conforms))
    return verdict.toPython()


def focus_of(update: str) -> URIRef:
    match = re.search(r"^# focus: <([^>]+)>$", update, re.MULTILINE)
    assert match, "the fixture must name its focus node on a '# focus: <iri>' line"
    return URIRef(match[1])


def test_unmodified_mini_kb_conforms(mini):
    kb, shapes = mini
    results = validate_graph(kb.union(), shapes)
    assert conforms(results) is True
    assert list(results.subjects(RDF.type, SH.ValidationResult)) == []
    report = validate(kb, shapes)
    assert report.conforms and report.violations == []


def test_every_node_shape_has_a_fixture_and_every_fixture_a_node_shape():
    fixtures = {path.stem for path in FIXTURES.glob("*.ru")}
    assert len(NODE_SHAPES) >= 20, sorted(NODE_SHAPES)
    assert sorted(set(NODE_SHAPES) - fixtures) == [], "node shapes without a fixture"
    assert sorted(fixtures - set(NODE_SHAPES)) == [], "fixtures for no node shape"
    assert not list(FIXTURES.glob("*.rq")) and not list(FIXTURES.glob("*.sparql"))


@pytest.mark.parametrize("name", sorted(NODE_SHAPES))
def test_shape_catches_its_violation(mini, name):
    kb, shapes = mini
    path = FIXTURES / f"{name}.ru"
    assert path.exists(), f"no fixture {path.name} for {name}"
    update = path.read_text(encoding="utf-8")
    graph = kb.union()
    before = set(graph)
    graph.update(update)
    assert set(graph) != before, f"{path.name} changed nothing"

    results = validate_graph(graph, shapes)
    node_shape = NODE_SHAPES[name]
    hits = [r for r in results.subjects(RDF.type, SH.ValidationResult)
            if belongs_to(results.value(r, SH.sourceShape), node_shape, shapes)]
    assert hits, f"{name} reported nothing for {path.name}"
    assert focus_of(update) in {results.value(r, SH.focusNode) for r in hits}
    assert SH.Violation in {results.value(r, SH.resultSeverity) for r in hits}
    assert conforms(results) is False


ENGINES = [Engine.PYSHACL, Engine.SPARQL, Engine.JENA]


def broken(mini, name: str) -> tuple[Graph, str]:
    """The mini KB's union graph with the shape's fixture applied, and the fixture's text."""
    update = (FIXTURES / f"{name}.ru").read_text(encoding="utf-8")
    graph = mini[0].union()
    graph.update(update)
    return graph, update


@pytest.fixture(scope="module")
def by_jena(mini, tmp_path_factory) -> dict[str, list[Result]]:
    """Jena's results for every fixture, from one JVM; it reads the shapes as rdflib wrote them,
    so that a blank-node property shape it names is the one in the shapes graph."""
    if not jena.available():
        pytest.skip(jena.INSTALL_HINT)
    folder = tmp_path_factory.mktemp("jena")
    mini[1].serialize(folder / "shapes.nt", format="nt", encoding="utf-8")
    for name in NODE_SHAPES:
        broken(mini, name)[0].serialize(folder / f"{name}.nt", format="nt", encoding="utf-8")
    reports = jena.validate_many([(folder / f"{name}.nt", folder / "shapes.nt") for name in NODE_SHAPES])
    return {name: results_of(report) for name, report in zip(NODE_SHAPES, reports)}


def engine_results(engine: Engine, graph: Graph, shapes: Graph) -> list[Result]:
    if engine is Engine.PYSHACL:
        return results_of(validate_graph(graph, shapes))
    return by_sparql(store_of(graph), shapes)


def test_the_compiled_engine_compiles_every_shape():
    compiled = compile_partially(SHAPES)
    assert compiled.refused == {}
    checked = {c.shape for c in compiled.checks}
    for name, shape in NODE_SHAPES.items():
        targeted = any((shape, key, None) in SHAPES for key in (SH.targetClass, SH.target))
        assert not targeted or shape in checked or any((shape, SH.property, c) in SHAPES for c in checked), name


@pytest.mark.parametrize("name", sorted(NODE_SHAPES))
@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.value)
def test_every_engine_catches_each_shapes_violation(mini, name, engine, request):
    shapes = mini[1]
    graph, update = broken(mini, name)
    results = (request.getfixturevalue("by_jena")[name] if engine is Engine.JENA
               else engine_results(engine, graph, shapes))
    # a shape without a target is reached through sh:node: its focus node is the result's value
    found = {r.focus for r in results if belongs_to(r.shape, NODE_SHAPES[name], shapes)} | {
        r.value for r in results if (r.shape, SH.node, NODE_SHAPES[name]) in shapes}
    assert focus_of(update) in found, f"{engine.value} missed {name}"


# Ill-formed literals, planted: arithmetic on "abc"^^xsd:integer stopped pySHACL (a TypeError in a
# SPARQL constraint), and the compiled engine took "2019-02-30"^^xsd:date for a date.
PLANTED = """
PREFIX oa: <http://www.w3.org/ns/oa#> PREFIX tkb: <https://w3id.org/tradekb/ontology#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
DELETE { GRAPH ?g { ?p oa:start ?s } } INSERT { GRAPH ?g { ?p oa:start "abc"^^xsd:integer } }
WHERE { BIND (<https://w3id.org/tradekb/id/report/a01_mini/gov-jp/span/1/position> AS ?p) GRAPH ?g { ?p oa:start ?s } } ;
DELETE { GRAPH ?g { ?d tkb:dateValue ?v } } INSERT { GRAPH ?g { ?d tkb:dateValue "2019-02-30"^^xsd:date } }
WHERE { GRAPH ?h { <https://w3id.org/tradekb/id/report/a02_mini/park-bennett-talks> tkb:reportedDate ?d }
        GRAPH ?g { ?d tkb:dateValue ?v } }
"""
BAD = {("https://w3id.org/tradekb/id/report/a01_mini/gov-jp/span/1/position", "oa:start"),
       ("https://w3id.org/tradekb/id/report/a02_mini/park-bennett-talks/date", "tkb:dateValue")}


@pytest.mark.parametrize("read_back", [False, True], ids=["built", "loaded-from-a-file"])
@pytest.mark.parametrize("engine", [Engine.AUTO, *ENGINES], ids=lambda e: e.value)
def test_ill_formed_literals_are_violations_from_every_engine(tmp_path, engine, read_back):
    if engine is Engine.JENA and not jena.available():
        pytest.skip(jena.INSTALL_HINT)
    project = make_mini_project(tmp_path / "mini")
    kb = load_knowledge_base(project)
    kb.store.update(PLANTED)
    if read_back:  # as `validate --endpoint` gets it: quads a server wrote out, parsed again
        path = tmp_path / "kb.nq"
        ox.serialize(kb.store.quads_for_pattern(None, None, None), str(path), format=ox.RdfFormat.N_QUADS)
        store = ox.Store()
        store.load(path=str(path), format=ox.RdfFormat.N_QUADS)
        kb = KnowledgeBase(store, kb.origins)
    if engine is Engine.AUTO:  # auto on a large graph is the compiled engine: make it so here
        kb = _Large(kb)
    report = validate(kb, load_shapes(project), engine, shapes_file(project))
    found = {(v.focus.split(" ")[0].strip("<>"), v.path) for v in report.violations}
    assert BAD <= found, sorted(found)
    assert not report.conforms


class _Large(KnowledgeBase):
    """The knowledge base as `auto` sees one above AUTO_SPARQL_ABOVE quads."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.__dict__.update(kb.__dict__)

    def __len__(self) -> int:
        return AUTO_SPARQL_ABOVE + 1
