"""The compiled SPARQL checks give pySHACL's verdicts, on every failing fixture and on a generated
corpus with planted defects, so that the fast path never reports more or less than the validator
of record."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph

from conftest import REPO, make_mini_project
from kb.pipeline import load_knowledge_base
from kb.shacl_sparql import Result, UnsupportedShape, compile_shapes, find_violations, store_of
from kb.validate import Engine, by_auto, load_shapes, results_of, validate, validate_graph

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "shapes"


def answer(results: list[Result]) -> set[Result]:
    """What two engines must agree on: every field of every result but the message's wording."""
    return {replace(r, message="") for r in results}


def by_pyshacl(graph: Graph, shapes: Graph) -> set[Result]:
    return answer(results_of(validate_graph(graph, shapes)))


def by_sparql(store: ox.Store, shapes: Graph) -> set[Result]:
    return answer(find_violations(store, compile_shapes(shapes)))


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


UNCOMPILED = """
    @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
    @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
    ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property ex:SP .
    ex:SP sh:path ex:p ; sh:datatype xsd:int .
    ex:T a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:q ; sh:minCount 1 ; sh:node ex:N ] .
    ex:N a sh:NodeShape ; sh:property [ sh:path ex:r ; sh:datatype xsd:date ] .
"""
DATA = """
    @prefix ex: <http://example.org/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
    ex:a a ex:C ; ex:p ex:bad ; ex:q ex:n1 . ex:n1 ex:r "2019-02-30"^^xsd:date .
    ex:b a ex:C ; ex:p ex:good .
"""


def test_an_uncompiled_feature_is_refused_not_skipped():
    with pytest.raises(UnsupportedShape, match="sh:datatype .*XMLSchema#int> is not compiled"):
        compile_shapes(Graph().parse(data=UNCOMPILED, format="turtle"))


def test_auto_hands_exactly_the_uncompiled_shapes_to_pyshacl():
    """Above the size where auto uses the compiled engine, a shape it cannot compile is validated
    by pySHACL, and the whole report is pySHACL's own on the whole shapes graph."""
    shapes, data = Graph().parse(data=UNCOMPILED, format="turtle"), Graph().parse(data=DATA, format="turtle")
    expected = by_pyshacl(data, shapes)
    assert {(str(r.focus), str(r.shape)) for r in expected if str(r.shape) == "http://example.org/SP"} == {
        ("http://example.org/a", "http://example.org/SP"), ("http://example.org/b", "http://example.org/SP")}
    assert {str(r.shape) for r in expected} > {"http://example.org/SP"}  # and the compiled shape's
    assert answer(by_auto(store_of(data), lambda: data, shapes)) == expected


PROBES = {
    "sh:in compares terms, not values": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:in ( 1 ) ] .",
        'ex:a ex:p "1"^^xsd:decimal, 1 .'),
    "an ill-formed date is not an xsd:date": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:datatype xsd:date ] .",
        'ex:a ex:p "2019-02-30"^^xsd:date, "2019-02-28"^^xsd:date .'),
    "sh:class nested in sh:or is checked on the value": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:or ( [ sh:path ex:p ; sh:class ex:K ] [ sh:path ex:q ; sh:minCount 1 ] ) .",
        "ex:a ex:p ex:v . ex:a a ex:K ."),
    "sh:deactivated inside a logical constraint": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:not ex:D . ex:D sh:deactivated true ; sh:class ex:Z .",
        "ex:a a ex:K ."),
    "two sh:class values": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:class ex:K, ex:L ] .",
        "ex:a ex:p ex:v ."),
    "a property shape with its own target, and an rdfs:Class shape": (
        "ex:P a sh:PropertyShape ; sh:targetClass ex:K ; sh:path ex:p ; sh:minCount 2 . "
        "ex:K a rdfs:Class, sh:NodeShape ; sh:property [ sh:path ex:q ; sh:minCount 1 ] .",
        "ex:a a ex:K ; ex:p ex:v ."),
}


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_small_probes_get_pyshacls_verdict(probe):
    prefixes = ("@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> . "
                "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . ")
    shapes_text, data_text = PROBES[probe]
    shapes, data = Graph().parse(data=prefixes + shapes_text, format="turtle"), Graph().parse(data=prefixes + data_text, format="turtle")
    expected = by_pyshacl(data, shapes)
    assert expected or probe.startswith("sh:deactivated")
    assert by_sparql(store_of(data), shapes) == expected


def test_a_refusal_is_one_line_and_exit_2(mini_project):
    """`validate --shacl sparql` on shapes it cannot compile: one line naming the shape and the
    feature, exit 2 (bad input), no traceback; auto, on a small graph pySHACL's, validates."""
    from click.testing import CliRunner
    from kb.cli import cli
    with open(mini_project / "ontology" / "shapes.ttl", "a", encoding="utf-8") as shapes:
        shapes.write("\ntkbsh:IntShape a sh:NodeShape ; sh:targetClass tkb:Article ;\n"
                     "    sh:property [ sh:path tkb:pages ; sh:datatype xsd:int ] .\n")
    refused = CliRunner().invoke(cli, ["-C", str(mini_project), "validate", "--shacl", "sparql"])
    assert refused.exit_code == 2
    assert refused.output.strip().splitlines() == [
        "<https://w3id.org/tradekb/shapes#IntShape>: sh:datatype <http://www.w3.org/2001/XMLSchema#int> is not "
        "compiled (Oxigraph cannot tell its well-formed literals, or stores it as another datatype)"]
    assert CliRunner().invoke(cli, ["-C", str(mini_project), "validate"]).exit_code == 0


SPARQL_SHAPE = """
    @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
    ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [ sh:select "SELECT $this ?value WHERE { %s }" ] .
"""


@pytest.mark.parametrize("where", [
    "$this <http://x/p> ?x . { ?x <http://x/q> ?value FILTER (EXISTS { $this <http://x/r> ?value }) }",
    "OPTIONAL { $this <http://x/p> ?value }",
    "$this <http://x/p> ?value MINUS { $this <http://x/q> ?value }",
])
def test_a_sparql_constraint_a_join_would_answer_otherwise_is_refused(where):
    """SHACL pre-binds $this: a query whose nested groups, OPTIONAL or MINUS would see $this unbound
    when joined afterwards is refused, not compiled to another answer."""
    with pytest.raises(UnsupportedShape, match="SPARQL constraint"):
        compile_shapes(Graph().parse(data=SPARQL_SHAPE % where, format="turtle"))


def test_a_sparql_constraint_gets_pyshacls_verdict():
    shapes = Graph().parse(data=SPARQL_SHAPE % ("$this <http://example.org/p> ?value "
                                                "FILTER NOT EXISTS { ?value <http://example.org/q> $this }"),
                           format="turtle")
    data = Graph().parse(data="""@prefix ex: <http://example.org/> .
        ex:a a ex:C ; ex:p ex:x, ex:y . ex:x ex:q ex:a . ex:b a ex:C . """, format="turtle")
    expected = by_pyshacl(data, shapes)
    assert {(str(r.focus), str(r.value)) for r in expected} == {("http://example.org/a", "http://example.org/y")}
    assert by_sparql(store_of(data), shapes) == expected


def test_a_recursive_shape_is_refused_not_a_crash():
    shapes = Graph().parse(data="""@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:Person a sh:NodeShape ; sh:targetClass ex:P ; sh:property [ sh:path ex:knows ; sh:node ex:Person ] .
    """, format="turtle")
    with pytest.raises(UnsupportedShape, match="refers to itself"):
        compile_shapes(shapes)


@pytest.mark.parametrize("bad, said", [('sh:minCount "x"', "is not an integer"), ("sh:maxLength 1.5", "is not an integer"),
                                       ("sh:in ex:notalist", "is not a list")])
def test_an_ill_formed_parameter_is_refused_in_one_line_not_a_crash(bad, said):
    shapes = Graph().parse(data="@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> . "
                                f"ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; {bad} ] .", format="turtle")
    with pytest.raises(UnsupportedShape, match=f"^<http://example.org/S>: .* {said}"):
        compile_shapes(shapes)
