"""Reasoning with the real HermiT: the seed KB is consistent, planted contradictions are found."""

from __future__ import annotations

import pytest
from rdflib import RDF, Literal

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
