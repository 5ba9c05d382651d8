"""Every NodeShape in ontology/shapes.ttl catches a graph made to violate it, and the mini KB conforms.

tests/fixtures/shapes/<ShapeLocalName>.ru is a SPARQL Update that breaks the mini knowledge base in
one way; its second line names the focus node the violation must be about (`# focus: <iri>`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import RDF, Graph, URIRef

from conftest import REPO, make_mini_project
from kb.pipeline import load_knowledge_base
from kb.validate import SH, load_shapes, validate, validate_graph

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
