"""The compiled SPARQL checks give pySHACL's verdicts, on every failing fixture and on a generated
corpus with planted defects, so that the fast path never reports more or less than the validator
of record."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef

from conftest import REPO, make_mini_project
from kb.pipeline import load_knowledge_base
from kb.shacl_sparql import UnsupportedShape, compile_shapes, find_violations
from kb.terms import to_oxigraph_term
from kb.validate import SH, Engine, load_shapes, validate, validate_graph

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "shapes"


def by_pyshacl(graph: Graph, shapes: Graph) -> Counter:
    results = validate_graph(graph, shapes)

    def node_shape(source):
        return source if isinstance(source, URIRef) else next(shapes.subjects(SH.property, source))

    return Counter((str(results.value(r, SH.focusNode)), node_shape(results.value(r, SH.sourceShape)),
                    results.value(r, SH.resultPath) if isinstance(results.value(r, SH.resultPath), URIRef) else None)
                   for r in results.objects(None, SH.result))


def by_sparql(store: ox.Store, shapes: Graph) -> Counter:
    return Counter((f.focus, f.node_shape, f.path if isinstance(f.path, URIRef) else None)
                   for f in find_violations(store, compile_shapes(shapes)))


def store_of(graph: Graph) -> ox.Store:
    store = ox.Store()
    store.extend(ox.Quad(*map(to_oxigraph_term, t), ox.DefaultGraph()) for t in graph)
    return store


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    project = make_mini_project(tmp_path_factory.mktemp("sparql") / "mini")
    return load_knowledge_base(project), load_shapes(project)


@pytest.mark.parametrize("fixture", sorted(p.stem for p in FIXTURES.glob("*.ru")))
def test_each_failing_fixture_gets_pyshacls_verdict(mini, fixture):
    kb, shapes = mini
    graph = kb.union()
    graph.update((FIXTURES / f"{fixture}.ru").read_text(encoding="utf-8"))
    expected = by_pyshacl(graph, shapes)
    assert expected
    assert by_sparql(store_of(graph), shapes) == expected


def test_the_seed_kb_conforms_on_both(seed_kb, seed_store):
    shapes = load_shapes(REPO)
    assert not by_sparql(seed_store, shapes)
    assert validate(seed_kb, shapes, Engine.SPARQL).violations == \
        validate(seed_kb, shapes, Engine.PYSHACL).violations == []


def test_a_generated_corpus_with_planted_defects_gets_pyshacls_verdict(tmp_path):
    """At about 10,000 triples: exactly the violations a plain full pySHACL run reports."""
    sys.path.insert(0, str(REPO / "bench"))
    from generate import generate
    generate(10_000, tmp_path / "corpus", seed=7, defects=3)
    kb = load_knowledge_base(tmp_path / "corpus")
    shapes = load_shapes(tmp_path / "corpus")
    expected = by_pyshacl(kb.union(), shapes)
    assert len(expected) >= 3
    assert by_sparql(kb.store, shapes) == expected
    sparql = validate(kb, shapes, Engine.SPARQL)
    assert [str(v) for v in sparql.violations] == [str(v) for v in validate(kb, shapes, Engine.PYSHACL).violations]


def test_an_uncompiled_feature_is_refused_not_skipped():
    shapes = Graph().parse(data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:pattern "^a" ] .
    """, format="turtle")
    with pytest.raises(UnsupportedShape, match="sh:pattern|pattern"):
        compile_shapes(shapes)
