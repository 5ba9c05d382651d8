"""Reasoning with the real HermiT: the seed KB is consistent, planted contradictions are found."""

from __future__ import annotations

import pytest
from rdflib import RDF

from kb.errors import DependencyError
from kb.graph import KBID, TKB
from kb.reason import reason


def test_the_seed_kb_is_consistent(seed_kb):
    report = reason(seed_kb.union())
    assert report.consistent and not report.unsatisfiable, str(report)
    assert str(report).startswith("consistent")


def test_a_person_who_is_also_an_organization_is_found(seed_kb):
    graph = seed_kb.union()
    graph.add((KBID["kim-hyun-chong"], RDF.type, TKB.Organization))
    report = reason(graph)
    assert not report.consistent
    assert "inconsistent" in str(report)


def test_two_statuses_for_one_meeting_are_found(seed_kb):
    graph = seed_kb.union()
    graph.add((KBID["kim-mulvaney-talks"], TKB.status, TKB.Cancelled))  # status is functional
    assert not reason(graph).consistent


def test_an_unsatisfiable_class_is_named(seed_kb):
    graph = seed_kb.union()
    from rdflib import OWL, RDFS, URIRef
    odd = URIRef("https://w3id.org/tradekb/ontology#PersonOrganization")
    graph.add((odd, RDF.type, OWL.Class))
    graph.add((odd, RDFS.subClassOf, TKB.Person))
    graph.add((odd, RDFS.subClassOf, TKB.Organization))
    report = reason(graph)
    assert report.consistent and str(odd) in report.unsatisfiable
    assert "PersonOrganization" in str(report)


def test_without_java_the_error_says_what_to_install(seed_kb, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DependencyError, match="install a Java runtime"):
        reason(seed_kb.union())


def test_a_large_kb_is_reasoned_over_a_slice_that_says_what_it_covers(seed_kb):
    from kb.reason import reasoning_scope
    whole, scope = reasoning_scope(seed_kb)
    assert scope == "the whole knowledge base" and len(whole) == len(seed_kb.triples())
    sliced, scope = reasoning_scope(seed_kb, whole_below=0, articles=2)
    assert scope.startswith("a slice: the ontology, 2 of 5 articles (000_f0205f4675e93af6, 002_6fa3869fe855e24a)")
    assert "not checked" in scope and 0 < len(sliced) < len(whole)
    subjects = {t.subject.value for t in sliced}
    assert str(TKB.Person) in subjects                       # the ontology is always in
    assert str(KBID["kim-mulvaney-talks"]) in subjects       # a registry fact 000 mentions
    assert str(KBID["kang-pompeo-phone-call"]) not in subjects  # defined and reported by 003 only


def test_a_contradiction_inside_the_slice_is_found(seed_kb):
    from kb.reason import reasoning_scope
    import pyoxigraph as ox
    sliced, _ = reasoning_scope(seed_kb, whole_below=0, articles=2)
    sliced.append(ox.Triple(ox.NamedNode(str(KBID["kim-hyun-chong"])), ox.NamedNode(str(RDF.type)),
                            ox.NamedNode(str(TKB.Organization))))
    assert not reason(sliced).consistent
