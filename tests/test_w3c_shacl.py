"""The W3C SHACL test suite (tests/w3c/shacl: core and SHACL-SPARQL, 120 validation tests), run
against every SHACL engine tradekb offers, and `auto` as it validates a large graph.

Each engine must give the expected report: `conforms`, and the results as a multiset of (focus
node, result path, value, source shape, constraint component, severity) — or refuse, with an
error of tradekb's naming what it does not support (a test whose expected outcome is a failure
must be refused). Any other answer is wrong, and fails. Blank nodes are compared by canonical
labelling of the data and shapes graphs together with the results, never by their labels; a
result path is compared as SPARQL property-path text.

Jena runs once, over all tests in one JVM (a JVM per test would take two minutes).
`python tests/test_w3c_shacl.py` prints each engine's score (right / refused / wrong).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kb import jena  # noqa: E402
from kb.errors import TradeKBError  # noqa: E402
from kb.shacl_sparql import Result, UnsupportedShape, store_of  # noqa: E402
from kb.terms import to_oxigraph_term  # noqa: E402
from kb.validate import by_auto, by_sparql, results_of, validate_graph  # noqa: E402

SUITE = Path(__file__).resolve().parent / "w3c" / "shacl"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")
# auto: as `--shacl auto` validates a large graph, the compiled engine with pySHACL for the rest
ENGINES = ("pyshacl", "sparql", "jena", "auto")



@dataclass(frozen=True)
class W3CTest:
    name: str               # e.g. core/node/class-001
    data: Graph
    shapes: Graph
    expected: list[Result] | None  # None: the test expects the engine to fail
    conforms: bool | None


@cache
def _graph(path: Path) -> Graph:
    """The file's graph, its literals as written: rdflib by default rewrites "1"^^xsd:boolean as true."""
    rdflib.NORMALIZE_LITERALS = False
    try:
        return Graph().parse(path, format="turtle", publicID=path.as_uri())
    finally:
        rdflib.NORMALIZE_LITERALS = True


def _file(iri: URIRef) -> Path:
    return Path(iri.removeprefix("file://"))


def _tests(manifest: Path) -> list[W3CTest]:
    graph = _graph(manifest)
    found = []
    for entries in graph.objects(None, MF.entries):
        for test in Collection(graph, entries):
            if (test, RDF.type, SHT.Validate) not in graph:
                continue
            action = graph.value(test, MF.action)
            data, shapes = (_graph(_file(graph.value(action, key))) for key in (SHT.dataGraph, SHT.shapesGraph))
            result = graph.value(test, MF.result)
            name = str(_file(test).relative_to(SUITE))
            if result == SHT.Failure:
                found.append(W3CTest(name, data, shapes, None, None))
            else:
                found.append(W3CTest(name, data, shapes, results_of(graph, result),
                                     graph.value(result, SH.conforms).toPython()))
    for include in sorted(graph.objects(None, MF.include)):
        found += _tests(_file(include))
    return found


TESTS = {t.name: t for t in _tests(SUITE / "manifest.ttl")}


def _canonical(test: W3CTest, results: list[Result]) -> ox.Dataset:
    results = [replace(r, message="") for r in results]
    """The data and shapes graphs with the results in them, blank nodes canonically relabelled."""
    quads = [ox.Quad(*map(to_oxigraph_term, t)) for g in {id(test.data): test.data, id(test.shapes): test.shapes}.values()
             for t in g]
    for r in dict.fromkeys(results):  # a set: the suite lists some results twice, engines once
        node = ox.BlankNode()
        for key, term in ((SH.focusNode, r.focus), (SH.resultPath, Literal(r.path) if r.path else None),
                          (SH.value, r.value), (SH.sourceShape, r.shape),
                          (SH.sourceConstraintComponent, r.component), (SH.resultSeverity, r.severity)):
            if term is not None:
                quads.append(ox.Quad(node, to_oxigraph_term(key), to_oxigraph_term(term)))
    dataset = ox.Dataset(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return dataset


def _shown(results: list[Result]) -> list[str]:
    def term(t):
        return "_:b" if t is not None and t.n3().startswith("_:") else (t.n3() if t is not None else "-")
    return sorted(" ".join([term(r.focus), r.path or "-", term(r.value), term(r.shape), term(r.component).split("#")[-1],
                            term(r.severity).split("#")[-1]]) for r in results)


@cache
def _jena_reports() -> dict[str, Graph | TradeKBError]:
    """Jena's report for every test, from one JVM."""
    import tempfile
    folder = Path(tempfile.mkdtemp(prefix="tradekb-w3c-"))
    jobs, paths = [], {}
    for name, test in TESTS.items():
        for graph in (test.data, test.shapes):
            if id(graph) not in paths:
                paths[id(graph)] = folder / f"{len(paths)}.nt"
                graph.serialize(paths[id(graph)], format="nt", encoding="utf-8")
        jobs.append((paths[id(test.data)], paths[id(test.shapes)]))
    return dict(zip(TESTS, jena.validate_many(jobs)))


def answer(engine: str, test: W3CTest) -> tuple[list[Result], bool]:
    """The engine's results and its `conforms`; raises a TradeKBError if it refuses."""
    if engine == "pyshacl":  # its own sh:conforms counts no warning: tradekb asks it to allow them
        results = results_of(validate_graph(test.data, test.shapes))
        return results, not results
    if engine == "sparql":
        results = by_sparql(store_of(test.data), test.shapes)
        return results, not results
    if engine == "auto":
        results = by_auto(store_of(test.data), lambda: test.data, test.shapes)
        return results, not results
    jena.refuse_unsupported(test.shapes)
    report = _jena_reports()[test.name]
    if isinstance(report, TradeKBError):
        raise report
    return results_of(report), next(report.objects(None, SH.conforms)).toPython()


def outcome(engine: str, test: W3CTest) -> tuple[str, str]:
    """('right' | 'refused' | 'wrong', what was said)."""
    try:
        results, conforms = answer(engine, test)
    except UnsupportedShape as e:
        return ("right" if test.expected is None else "refused"), str(e)
    except TradeKBError as e:
        return ("right" if test.expected is None else "wrong"), f"error: {e}"
    if test.expected is None:
        return "wrong", "gave a report where the shapes must be rejected"
    if conforms != test.conforms or _canonical(test, results) != _canonical(test, test.expected):
        return "wrong", (f"conforms {conforms}, expected {test.conforms}\ngot:\n  " + "\n  ".join(_shown(results))
                         + "\nexpected:\n  " + "\n  ".join(_shown(test.expected)))
    return "right", ""


def test_the_suite_is_all_there():
    assert len(TESTS) == 120
    assert sum(t.expected is None for t in TESTS.values()) >= 2


@pytest.mark.parametrize("name", sorted(TESTS))
@pytest.mark.parametrize("engine", ENGINES)
def test_w3c(engine, name):
    if engine == "jena" and not jena.available():
        pytest.skip(jena.INSTALL_HINT)
    verdict, said = outcome(engine, TESTS[name])
    assert verdict != "wrong", said


if __name__ == "__main__":
    for engine in ENGINES:
        tally = Counter()
        for name, test in sorted(TESTS.items()):
            verdict, said = outcome(engine, test)
            tally[verdict] += 1
            if verdict != "right" and "-v" in sys.argv:
                print(f"{engine} {name}: {verdict}: {said.splitlines()[0] if said else ''}")
        print(f"{engine}: {tally['right']} right, {tally['refused']} refused, {tally['wrong']} wrong")
