"""Apache Jena's SHACL gives pySHACL's verdicts: on the seed KB and on every failing fixture; and
Jena's riot, an independent reader, parses the exported Turtle and TriG strictly without a warning.

pySHACL is the validator of record; Jena (`--shacl jena`) is an independent second opinion. CI
installs Jena, so there a missing Jena is a failure, not a skip. tests/test_w3c_shacl.py holds it
to the W3C suite as well.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from conftest import REPO, make_mini_project
from kb import jena
from kb.export import ExportFormat, serialize
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


NAMES = sorted(p.stem for p in FIXTURES.glob("*.ru"))


@pytest.fixture(scope="module")
def broken(mini, tmp_path_factory) -> dict[str, tuple[Graph, Graph]]:
    """Each fixture's graph and Jena's report on it, every fixture in one JVM."""
    kb, _, path = mini
    folder, graphs = tmp_path_factory.mktemp("fixtures"), {}
    for name in NAMES:
        graphs[name] = kb.union()
        graphs[name].update((FIXTURES / f"{name}.ru").read_text(encoding="utf-8"))
        ox.serialize(triples(graphs[name]), str(folder / f"{name}.nt"), format=ox.RdfFormat.N_TRIPLES)
    reports = jena.validate_many([(folder / f"{name}.nt", path) for name in NAMES])
    return {name: (graphs[name], report) for name, report in zip(NAMES, reports)}


@pytest.mark.parametrize("fixture", NAMES)
def test_jena_and_pyshacl_agree_on_each_failing_fixture(mini, broken, fixture):
    graph, by_jena = broken[fixture]
    expected = verdicts(validate_graph(graph, mini[1]))
    assert expected, f"{fixture} should make pySHACL report something"
    assert verdicts(by_jena) == expected


def test_jena_and_pyshacl_agree_on_the_seed_kb(seed_kb):
    by_pyshacl = validate(seed_kb, load_shapes(REPO), Engine.PYSHACL)
    by_jena = validate(seed_kb, load_shapes(REPO), Engine.JENA, shapes_file(REPO))
    assert by_pyshacl.conforms and by_jena.conforms
    assert by_jena.violations == by_pyshacl.violations


def canonical(quads) -> ox.Dataset:
    """The quads with blank nodes renamed canonically, so that two readings of one file compare equal."""
    dataset = ox.Dataset(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return dataset


@pytest.mark.parametrize("fmt", [ExportFormat.TURTLE, ExportFormat.TRIG], ids=lambda f: f.label)
def test_riot_reads_the_export_strictly_without_a_warning_and_finds_our_statements(seed_kb, tmp_path, fmt):
    path = tmp_path / f"tradekb.{fmt.extension}"
    serialize(seed_kb, fmt, path)
    parsed = jena.parse(path)
    assert parsed.messages == []
    assert len(parsed.quads) == len(seed_kb)  # each quad written once; Turtle writes them as triples
    written = seed_kb.quads() if fmt is ExportFormat.TRIG else (
        ox.Quad(q.subject, q.predicate, q.object) for q in seed_kb.quads())
    assert canonical(parsed.quads) == canonical(written)


def test_riot_reports_a_bad_literal_and_a_bad_iri(tmp_path):
    path = tmp_path / "bad.ttl"
    path.write_text('<http://example.org/a> <http://example.org/b> "x"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
                    "<http://example.org/a> <http://example.org/c> <bad iri> .\n", encoding="utf-8")
    messages = jena.parse(path).messages
    assert len(messages) == 2
    assert "Lexical form 'x' not valid" in messages[0] and "line: 1" in messages[0]
    assert "Bad character in IRI" in messages[1] and "line: 2" in messages[1]
