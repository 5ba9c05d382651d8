"""Dependencies: every saved query and compiled check is local in a key, and on the real engine
every key whose rows an edit of one article changes is among the affected keys, whose rows the
restricted query then gives exactly. The refusals are shown to be needed: on those queries an
edit far from a key changes its rows."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass

import pyoxigraph as ox
import pytest
from conftest import REPO

from kb.dependencies import (Delta, Dependencies, NotLocal, affected_keys, analyse,
                             restrict)
from kb.queries import bind, catalogue, run_sparql, sort_lists
from kb.shacl_sparql import compile_shapes
from kb.validate import load_shapes

TKB = "https://w3id.org/tradekb/ontology#"
OA = "http://www.w3.org/ns/oa#"
QUERIES = catalogue(REPO)
CHECKS = compile_shapes(load_shapes(REPO))
# Each parametrised query's ?actor is bound to the most frequent object of this predicate.
ACTOR_BY = {"meetings-of": "participant", "statements-by": "speaker"}
EDITS = ["remove", "copy", "status", "delete-report", "add-report"]
X = "http://x/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SKOS_NOTATION = "http://www.w3.org/2004/02/skos/core#notation"


def test_every_parametrised_query_has_an_actor_here():
    assert set(ACTOR_BY) == {name for name, q in QUERIES.items() if q.parameters}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_saved_query_is_local_in_a_projected_key(name):
    assert analyse(QUERIES[name].text).probes


def test_every_compiled_check_is_local_in_its_focus_node():
    for check in CHECKS:
        assert analyse(check.query, "this").probes, check.query


def test_a_projected_variable_is_skipped_until_one_can_be_the_key():
    # ?n is made by an aggregate, so it cannot be the key; ?s can
    deps = analyse(f"SELECT ?n ?s WHERE {{ ?s <{X}p> ?o {{ SELECT ?s (COUNT(?x) AS ?n) "
                   f"WHERE {{ ?s <{X}q> ?x }} GROUP BY ?s }} }}")
    assert deps.key == "s"


@pytest.mark.parametrize("query, reason", [
    (f"SELECT ?s WHERE {{ ?s <{X}p> ?o }} LIMIT 10", "LIMIT"),
    (f"SELECT ?s WHERE {{ {{ SELECT ?s WHERE {{ ?s <{X}p> ?o }} OFFSET 2 }} }}", "LIMIT"),
    (f"SELECT ?s WHERE {{ GRAPH ?g {{ ?s <{X}p> ?o }} }}", "GRAPH"),
    (f"SELECT ?s FROM <{X}g> WHERE {{ ?s <{X}p> ?o }}", "FROM"),
    (f"SELECT ?s ?y WHERE {{ ?s <{X}p> ?o . ?x <{X}q> ?y }}", "not connected"),
    (f"SELECT ?s WHERE {{ ?s <{X}p> <{X}c> . <{X}c> <{X}q> ?y }}", "not connected"),
    (f"SELECT ?s ?n WHERE {{ ?s <{X}p> ?o {{ SELECT (COUNT(*) AS ?n) WHERE {{ ?a <{X}q> ?b }} }} }}",
     "without GROUP BY"),
    (f"SELECT ?s (COUNT(?o) AS ?n) WHERE {{ ?s <{X}p> ?o }}", "without GROUP BY"),
    (f"SELECT ?s ?y WHERE {{ ?s <{X}p> ?o OPTIONAL {{ ?o <{X}q> ?x }} ?x <{X}r> ?y }}", "not connected"),
    (f"SELECT ?s ?z WHERE {{ ?s <{X}p> ?x OPTIONAL {{ ?y <{X}q> ?z }} ?x <{X}r> ?y }}", "not connected"),
    (f"SELECT ?s WHERE {{ ?s <{X}p> ?x FILTER NOT EXISTS {{ ?y <{X}q> ?z }} }}", "not connected"),
    (f"SELECT ?s ?y WHERE {{ ?s <{X}p> ?o BIND (<{X}hub> AS ?h) ?h <{X}q> ?y }}", "not connected"),
    (f"SELECT ?s ?y WHERE {{ ?s <{X}p> ?o VALUES ?h {{ <{X}hub> }} ?h <{X}q> ?y }}", "not connected"),
    (f"SELECT ?s WHERE {{ ?a <{X}p> ?b {{ ?b <{X}q> ?s }} UNION {{ ?b <{X}r> ?c }} }}", "mandatory triple pattern"),
    (f"SELECT ?s WHERE {{ ?a <{X}p> ?b OPTIONAL {{ ?b <{X}q> ?s }} }}", "not bound before an OPTIONAL"),
    (f"SELECT ?s WHERE {{ ?a <{X}p> ?b BIND (?b AS ?s) }}", "BIND"),
    (f"SELECT ?s WHERE {{ OPTIONAL {{ ?s <{X}q> ?x }} ?s <{X}p> ?o }}", "before an OPTIONAL"),
    (f"SELECT ?s ?x WHERE {{ ?s <{X}p> ?o {{ SELECT ?s ?x WHERE {{ {{ ?x <{X}q> ?s }} UNION {{ ?x <{X}r> ?y }} }} }} }}",
     "sub-SELECT projects"),
])
def test_what_cannot_be_proved_local_is_refused(query, reason):
    with pytest.raises(NotLocal, match=reason):
        analyse(query, "s")


def test_an_outer_group_by_must_group_by_the_key():
    query = f"SELECT ?o (SAMPLE(?s) AS ?k) WHERE {{ ?s <{X}p> ?o }} GROUP BY ?o"
    assert analyse(query, "o").key == "o"
    with pytest.raises(NotLocal, match="GROUP BY"):
        analyse(query, "k")


def _store(*triples: tuple) -> ox.Store:
    store = ox.Store()
    for s, p, o in triples:
        store.add(ox.Quad(ox.NamedNode(X + s), ox.NamedNode(X + p),
                          o if isinstance(o, ox.Literal) else ox.NamedNode(X + o), ox.NamedNode(X + "g")))
    return store


def _rows_of(store: ox.Store, query: str, key: str) -> Counter:
    table = run_sparql(store, query)
    k = table.variables.index(key)
    return Counter(row for row in table.rows if row[k] == ox.NamedNode(X + "n"))


@pytest.mark.parametrize("query", [
    # a pattern reached only through an OPTIONAL's variable binds it freely when the OPTIONAL fails
    f"SELECT ?s ?x ?y WHERE {{ ?s <{X}p> ?o OPTIONAL {{ ?o <{X}q> ?x }} ?x <{X}r> ?y }}",
    # an OPTIONAL entered through a variable bound only after it: its emptiness anywhere counts
    f"SELECT ?s ?x ?y ?z WHERE {{ ?s <{X}p> ?x OPTIONAL {{ ?y <{X}q> ?z }} ?x <{X}r> ?y }}",
])
def test_the_refusals_are_needed_an_edit_far_from_the_key_changes_its_rows(query):
    store = _store(("n", "p", "a"), ("a", "r", "b"), ("far", "q", "b"))
    before = _rows_of(store, query, "s")
    far, elsewhere = _store(("far", "q", "b")), _store(("elsewhere", "r", "z"))
    store.remove(next(iter(far)))
    store.extend(elsewhere)
    assert _rows_of(store, query, "s") != before
    with pytest.raises(NotLocal):
        analyse(query, "s")


def test_an_iri_made_from_a_literal_is_probed_by_its_spelling():
    """COALESCE / IRI(STR(...)) is a route (corroboration's origin); a literal spelt like an IRI
    reaches that IRI, so editing the IRI's label affects the key holding the literal."""
    query = (f"SELECT ?s ?name WHERE {{ ?s <{X}wire> ?w BIND (COALESCE(IRI(STR(?w)), ?s) AS ?o) "
             f"OPTIONAL {{ ?o <{X}label> ?name }} }}")
    deps = analyse(query, "s")
    assert any(p.lexical for p in deps.probes)
    store = _store(("n", "wire", ox.Literal(X + "outlet")), ("outlet", "label", ox.Literal("Old")))
    before = _rows_of(store, query, "s")
    old = ox.Quad(ox.NamedNode(X + "outlet"), ox.NamedNode(X + "label"), ox.Literal("Old"), ox.NamedNode(X + "g"))
    new = ox.Quad(ox.NamedNode(X + "outlet"), ox.NamedNode(X + "label"), ox.Literal("New"), ox.NamedNode(X + "g"))
    store.remove(old)
    store.add(new)
    assert _rows_of(store, query, "s") != before
    assert ox.NamedNode(X + "n") in affected_keys(store, deps, Delta([old], [new]))


def test_a_blank_node_in_the_change_is_bound_as_a_term_and_a_blank_key_is_refused(seed_store):
    """The ontology's lists are blank nodes: a class whose disjoint union loses a member is
    affected; a key that is a blank node cannot be bound by VALUES."""
    store = ox.Store()
    store.extend(seed_store)
    query = ("SELECT ?class ?member WHERE { ?class <http://www.w3.org/2002/07/owl#disjointUnionOf>/"
             "<http://www.w3.org/1999/02/22-rdf-syntax-ns#rest>*/<http://www.w3.org/1999/02/22-rdf-syntax-ns#first> ?member }")
    visit = ox.NamedNode(TKB + "Visit")
    gone = next(q for q in store.quads_for_pattern(None, None, visit) if isinstance(q.subject, ox.BlankNode))
    store.remove(gone)
    delta = Delta([gone], [])
    assert ox.NamedNode(TKB + "Meeting") in affected_keys(store, analyse(query, "class"), delta)
    first = "SELECT ?list WHERE { ?list <http://www.w3.org/1999/02/22-rdf-syntax-ns#first> ?x }"
    lists = analyse(first, "list")
    keys = affected_keys(store, lists, delta)
    assert gone.subject in keys
    with pytest.raises(NotLocal, match="VALUES"):
        restrict(first, lists, keys)


def test_restrict_binds_the_key_where_it_is_the_same_variable():
    query = (f"SELECT ?s ?o ?n WHERE {{ ?s <{X}p> ?o {{ SELECT ?s (COUNT(?x) AS ?n) WHERE {{ ?s <{X}q> ?x }} "
             f"GROUP BY ?s }} {{ SELECT ?o WHERE {{ ?s <{X}r> ?o }} }} {{ SELECT * WHERE {{ ?s <{X}p> ?any }} }} }}")
    restricted = restrict(query, analyse(query, "s"), [ox.NamedNode(X + "n")])
    # the outer WHERE, the grouped sub-SELECT and SELECT *; not the one whose ?s is its own
    assert restricted.count("VALUES ?s") == 3
    store = _store(("n", "p", "a"), ("m", "p", "a"), ("n", "q", "1"), ("m", "q", "2"), ("m", "q", "3"),
                   ("m", "r", "a"))
    assert _rows_of(store, restricted, "s") == _rows_of(store, query, "s")
    assert len(run_sparql(store, query).rows) == 2 and len(run_sparql(store, restricted).rows) == 1


def test_restrict_binds_the_key_in_an_optional_that_names_it_too():
    """Not in one that does not name it, nor before an OPTIONAL's SELECT (which has its own)."""
    query = (f"SELECT ?s ?o ?x WHERE {{ ?s <{X}p> ?o OPTIONAL {{ ?s <{X}q> ?x }} OPTIONAL {{ ?o <{X}q> ?y }} "
             f"OPTIONAL {{ SELECT ?s WHERE {{ ?s <{X}r> ?w }} }} }}")
    restricted = restrict(query, analyse(query, "s"), [ox.NamedNode(X + "n")])
    assert f"OPTIONAL {{ VALUES ?s {{ <{X}n> }} ?s <{X}q> ?x }}" in restricted
    assert f"OPTIONAL {{ ?o <{X}q> ?y }}" in restricted
    assert restricted.count("VALUES ?s") == 3  # the outer WHERE, the first OPTIONAL, the sub-SELECT
    store = _store(("n", "p", "a"), ("m", "p", "a"), ("n", "q", "1"), ("m", "q", "2"), ("a", "q", "3"))
    assert _rows_of(store, restricted, "s") == _rows_of(store, query, "s")


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_restrict_to_no_keys_gives_no_rows(name, seed_store):
    deps = analyse(QUERIES[name].text)
    assert not run_sparql(seed_store, restrict(QUERIES[name].text, deps, [])).rows


# --------------------------------------------------------------------------------------------
# Soundness on the real engine: random edits of one article's graph
# --------------------------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    text: str
    deps: Dependencies
    lists: list


def _cases(store: ox.Store, every_key: bool = False) -> list[Case]:
    """Every saved query (parameters bound) in its default key, or in each projected variable
    that can be a key; and every compiled check in ?this."""
    cases = []
    for name, query in QUERIES.items():
        text = query.text
        if query.parameters:
            top = next(iter(store.query(
                f"SELECT ?a (COUNT(*) AS ?n) WHERE {{ ?m <{TKB}{ACTOR_BY[name]}> ?a }} GROUP BY ?a "
                f"ORDER BY DESC(?n) ?a LIMIT 1", use_default_graph_as_union=True)))["a"]
            text = bind(text, {"actor": top})
        for key in run_sparql(store, text).variables if every_key else [analyse(text).key]:
            try:
                cases.append(Case(f"{name} by ?{key}", text, analyse(text, key), query.lists))
            except NotLocal:
                continue
    for i, check in enumerate(CHECKS):
        cases.append(Case(f"check {i} ({check.shape} {check.path})", check.query,
                          analyse(check.query, "this"), []))
    return cases


def _rows(store: ox.Store, case: Case, text: str | None = None) -> dict:
    """Rows by key value (each a Counter of rows, list cells sorted: GROUP_CONCAT's order is the engine's)."""
    table = sort_lists(run_sparql(store, text or case.text), case.lists)
    k = table.variables.index(case.deps.key)
    by_key = defaultdict(Counter)
    for row in table.rows:
        by_key[row[k]][row] += 1
    return dict(by_key)


def _edit(store: ox.Store, rng: random.Random, kind: str) -> tuple[ox.Store, list[ox.Quad], list[ox.Quad]]:
    """A copy of the store with one article's graph edited, and the quads removed and added."""
    articles = sorted(g.value for g in store.named_graphs() if g.value.rsplit("/", 1)[-1][:3].isdigit())
    graph = ox.NamedNode(rng.choice(articles))
    quads = list(store.quads_for_pattern(None, None, None, graph))
    report_of, status = ox.NamedNode(TKB + "reportOf"), ox.NamedNode(TKB + "reportedStatus")
    reports = sorted({q.subject for q in quads if q.predicate == report_of}, key=str)
    removed, added = [], []
    if kind == "remove":
        removed = rng.sample(quads, 5)
    elif kind == "copy":  # existing quads again with another object their predicate takes
        for q in rng.sample(quads, 5):
            others = sorted({o.object for o in store.quads_for_pattern(None, q.predicate, None)} - {q.object}, key=str)
            added.append(ox.Quad(q.subject, q.predicate, rng.choice(others) if others else ox.Literal("x"), graph))
    elif kind == "status":  # another status, one that reads differently (a meeting's and a measure's may not)
        old = rng.choice([q for q in quads if q.predicate == status])
        notation = {q.subject: q.object for q in store.quads_for_pattern(None, ox.NamedNode(SKOS_NOTATION), None)}
        statuses = sorted({q.object for q in store.quads_for_pattern(None, status, None)
                           if notation.get(q.object) != notation.get(old.object)}, key=str)
        removed, added = [old], [ox.Quad(old.subject, status, rng.choice(statuses), graph)]
    elif kind == "delete-report":  # the report, its evidence spans and their selectors
        nodes = {rng.choice(reports)}
        for _ in range(2):
            nodes |= {q.object for q in quads if q.subject in nodes
                      and q.predicate.value in (OA + "hasTarget", OA + "hasSelector")}
        removed = [q for q in quads if q.subject in nodes or q.object in nodes]
    elif kind == "add-report":  # a copy of a report, of a fact this article does not report
        report = rng.choice(reports)
        here = {q.object for q in quads if q.predicate == report_of}
        fact = rng.choice(sorted({q.object for q in store.quads_for_pattern(None, report_of, None)} - here, key=str))
        copy = ox.NamedNode(report.value + "-copy")
        added = [ox.Quad(copy, q.predicate, fact if q.predicate == report_of else q.object, graph)
                 for q in quads if q.subject == report]
    edited = ox.Store()
    edited.extend(store)
    removed = [q for q in removed if q in store]
    added = [q for q in added if q not in store]
    for q in removed:
        edited.remove(q)
    edited.extend(added)
    return edited, removed, added


@pytest.fixture(params=["seed", "generated"])
def base(request):
    return request.getfixturevalue("seed_kb" if request.param == "seed" else "generated_kb").store


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_changed_row_is_affected_and_restrict_recomputes_exactly_those(base, seed):
    rng = random.Random(seed)
    cases = _cases(base, every_key=True)
    before = {case.name: _rows(base, case) for case in cases}
    changed = Counter()
    for kind in EDITS:
        after, removed, added = _edit(base, rng, kind)
        delta = Delta(removed, added)
        for case in cases:
            rows = _rows(after, case)
            differ = {k for k in before[case.name].keys() | rows.keys() if before[case.name].get(k) != rows.get(k)}
            affected = affected_keys(after, case.deps, delta)
            assert differ <= affected, (kind, case.name, differ - affected)
            restricted = _rows(after, case, restrict(case.text, case.deps, affected))
            assert restricted == {k: v for k, v in rows.items() if k in affected}, (kind, case.name)
            changed[kind] += len(differ)
    assert all(changed[kind] for kind in EDITS), changed  # every kind of edit changed some rows


@pytest.mark.parametrize("kind", ["status", "add-report"])
def test_an_edit_next_to_a_hub_affects_few_keys(generated_kb, kind):
    """A status individual or a class is a hub: many reports point at it. Changing one report's
    status, or adding a report, must reach that report's facts, not every fact of the hub."""
    store = generated_kb.store
    after, removed, added = _edit(store, random.Random(4), kind)
    hubs = {q.object for q in removed + added if q.predicate.value in (TKB + "reportedStatus", RDF_TYPE)}
    assert max(len(list(store.quads_for_pattern(None, None, hub))) for hub in hubs) > 10
    delta = Delta(removed, added)
    for case in _cases(store):
        assert len(affected_keys(after, case.deps, delta)) <= 3, case.name
