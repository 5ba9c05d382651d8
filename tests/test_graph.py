"""The graph: deterministic, in step with the ontology, one node per thing, dates resolved right."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF, RDFS, URIRef
from rdflib.namespace import OWL

from kb.annotations import load_corpus
from kb.export import ExportFormat, serialize
from kb.graph import CLASS_OF_TYPE, KBID, STATUS, MODE, TKB, build_graph, load_ontology, report_iri

ROOT = Path(__file__).resolve().parents[1]


def test_a_rebuild_gives_byte_identical_output(seed_kb):
    again = build_graph(load_corpus(ROOT), load_ontology(ROOT))
    assert serialize(again, ExportFormat.NQUADS) == serialize(seed_kb, ExportFormat.NQUADS)


def test_every_ontology_term_the_code_uses_is_defined():
    ontology = load_ontology(ROOT)
    used = set(re.findall(r"\bTKB\.([A-Za-z]+)", "".join(p.read_text() for p in (ROOT / "kb").glob("*.py"))))
    used |= {str(t).rsplit("#", 1)[1] for t in [*CLASS_OF_TYPE.values(), *MODE.values()]
             if str(t).startswith(str(TKB))}
    used |= {str(t).rsplit("#", 1)[1] for s in STATUS.values() for t in s.values()}
    for name in sorted(used):
        term = TKB[name]
        assert (term, RDFS.label, None) in ontology, f"tkb:{name} is used by kb/ but has no label in the ontology"
        assert (term, URIRef("http://www.w3.org/2004/02/skos/core#definition"), None) in ontology, name


def test_every_ontology_term_has_a_label_and_definition_and_properties_have_domain_or_range():
    ontology = load_ontology(ROOT)
    skos_definition = URIRef("http://www.w3.org/2004/02/skos/core#definition")
    minted = {s for s in ontology.subjects() if isinstance(s, URIRef) and str(s).startswith(str(TKB))}
    assert len(minted) > 50
    for term in minted:
        assert (term, RDFS.label, None) in ontology, term
        assert (term, skos_definition, None) in ontology, term
        if (term, RDF.type, OWL.ObjectProperty) in ontology or (term, RDF.type, OWL.DatatypeProperty) in ontology:
            assert (term, RDFS.domain, None) in ontology or (term, RDFS.range, None) in ontology, term


def test_one_node_per_thing_with_one_report_per_article(seed_kb):
    graph = seed_kb.union()
    reports = list(graph.subjects(TKB.reportOf, KBID["kim-mulvaney-talks"]))
    assert sorted(reports) == [report_iri("000_f0205f4675e93af6", "kim-mulvaney-talks"),
                               report_iri("001_3b887b2a4a309624", "kim-mulvaney-talks")]


def test_the_same_instant_in_two_zones_is_one_date(seed_kb):
    """000 (Washington) says Friday; 001 (Seoul) says early Saturday (KST): one day, 12 July."""
    graph = seed_kb.union()
    days = set()
    for report in graph.subjects(TKB.reportOf, KBID["kim-kupperman-talks"]):
        date_node = graph.value(report, TKB.reportedDate)
        days.add(str(graph.value(date_node, TKB.dateValue)))
    assert days == {"2019-07-12"}


def test_a_resolved_date_keeps_its_words_anchor_and_precision(seed_kb):
    graph = seed_kb.union()
    date_node = graph.value(report_iri("001_3b887b2a4a309624", "kim-kupperman-talks"), TKB.reportedDate)
    assert "early Saturday" in str(graph.value(date_node, TKB.dateExpression))
    assert str(graph.value(date_node, TKB.dateAnchor)) == "2019-07-12"
    assert str(graph.value(date_node, TKB.toldInTimeZone)) == "Asia/Seoul"
    assert str(graph.value(date_node, TKB.statedInTimeZone)) == "America/New_York"
    assert graph.value(date_node, TKB.datePrecision) == URIRef("http://www.w3.org/2006/time#unitDay")


def test_each_article_keeps_its_own_claim(seed_kb):
    """One article may call acting what another does not: both claims stay, on their reports."""
    graph = seed_kb.union()
    acting = {str(graph.value(r, TKB.inArticle)).rsplit("/", 1)[1]: graph.value(r, TKB.reportedActing).toPython()
              for r in graph.subjects(TKB.reportOf, KBID["mulvaney-chief-of-staff"])}
    assert acting["000_f0205f4675e93af6"] is True and acting["001_3b887b2a4a309624"] is False


def test_every_node_points_back_to_an_annotation_line(seed_kb):
    graph = seed_kb.union()
    for report in graph.subjects(RDF.type, TKB.Report):
        location = seed_kb.origin(report)
        assert location is not None and location.line > 0 and location.path.suffix == ".yaml"


@pytest.mark.parametrize("text", ['plain', 'say "no"', "back\\slash \\n not a newline", "two\nlines\r\nend",
                                  "tab\there", "ünïcödé — “quotes” 日本語", "\\\"", ""])
def test_a_literal_written_by_the_builder_reads_back_as_the_same_text(text):
    from kb.graph import _text
    store = ox.Store()
    store.load(f"<http://x/s> <http://x/p> {_text(text)} .\n", format=ox.RdfFormat.N_TRIPLES)
    [quad] = store
    assert quad.object.value == text
