"""Apache Jena's SHACL gives pySHACL's verdicts: on the seed KB and on every failing fixture.

pySHACL is the validator of record; Jena is the fast engine for large graphs (`--shacl jena`, or
`auto` above 50,000 quads). CI installs Jena, so there a missing Jena is a failure, not a skip.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from conftest import REPO, make_mini_project
from kb import jena
from kb.pipeline import load_knowledge_base
from kb.terms import to_oxigraph_term
from kb.validate import SH, Engine, load_shapes, shapes_file, validate, validate_graph

import pyoxigraph as ox

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "shapes"

if not jena.available():
    if os.environ.get("CI"):
        pytest.fail(jena.INSTALL_HINT, pytrace=False)
    pytest.skip(jena.INSTALL_HINT, allow_module_level=True)


def verdicts(results: Graph) -> Counter:
    """What each engine must agree on: focus node, path, severity, and the node shape when named."""
    out = Counter()
    for r in results.objects(None, SH.result):
        source = results.value(r, SH.sourceShape)
        out[(results.value(r, SH.focusNode), results.value(r, SH.resultPath) if isinstance(
            results.value(r, SH.resultPath), URIRef) else None, results.value(r, SH.resultSeverity),
             source if isinstance(source, URIRef) else None)] += 1
    return out


def triples(graph: Graph) -> list[ox.Triple]:
    return [ox.Triple(*map(to_oxigraph_term, t)) for t in graph]


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    project = make_mini_project(tmp_path_factory.mktemp("jena") / "mini")
    return load_knowledge_base(project), load_shapes(project), shapes_file(project)


@pytest.mark.parametrize("fixture", sorted(p.stem for p in FIXTURES.glob("*.ru")))
def test_jena_and_pyshacl_agree_on_each_failing_fixture(mini, fixture):
    kb, shapes, path = mini
    graph = kb.union()
    graph.update((FIXTURES / f"{fixture}.ru").read_text(encoding="utf-8"))
    expected = verdicts(validate_graph(graph, shapes))
    assert expected, f"{fixture} should make pySHACL report something"
    assert verdicts(jena.validate(triples(graph), path)) == expected


def test_jena_and_pyshacl_agree_on_the_seed_kb(seed_kb):
    by_pyshacl = validate(seed_kb, load_shapes(REPO), Engine.PYSHACL)
    by_jena = validate(seed_kb, load_shapes(REPO), Engine.JENA, shapes_file(REPO))
    assert by_pyshacl.conforms and by_jena.conforms
    assert by_jena.violations == by_pyshacl.violations
