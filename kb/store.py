"""The embedded store: the built knowledge base in an in-memory Oxigraph store.

rdflib builds the graph (pySHACL and owlready2 speak rdflib); Oxigraph answers the saved queries
and writes the exports, being 10-40x faster at both (see ../shared/PERF-NOTES.md).
"""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import BNode, Dataset, Literal, URIRef
from rdflib.term import Node

from kb.graph import KnowledgeBase

DEFAULT_GRAPH = URIRef("urn:x-rdflib:default")


def to_oxigraph_term(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """The pyoxigraph term for an rdflib term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def to_rdflib_term(term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> Node | None:
    """The rdflib term for a pyoxigraph term (None stays None: an unbound variable)."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def quads(dataset: Dataset) -> list[ox.Quad]:
    """Every quad of the dataset as pyoxigraph quads, sorted so that output is byte-stable."""
    out = []
    for s, p, o, g in dataset.quads((None, None, None, None)):
        graph = ox.DefaultGraph() if g is None or g == DEFAULT_GRAPH else to_oxigraph_term(g)
        out.append(ox.Quad(to_oxigraph_term(s), to_oxigraph_term(p), to_oxigraph_term(o), graph))
    out.sort(key=lambda q: (str(q.graph_name), str(q.subject), str(q.predicate), str(q.object)))
    return out


def open_store(kb: KnowledgeBase) -> ox.Store:
    """An in-memory Oxigraph store holding every named graph of the knowledge base."""
    store = ox.Store()
    store.extend(quads(kb.dataset))
    return store
