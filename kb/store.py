"""The embedded store: the built knowledge base in an in-memory Oxigraph store.

rdflib builds the graph (pySHACL and owlready2 speak rdflib); Oxigraph answers the saved queries
and writes the exports, being 10-40x faster at both (see ../shared/PERF-NOTES.md).
"""

from __future__ import annotations

import pyoxigraph as ox

from kb.graph import KnowledgeBase


def open_store(kb: KnowledgeBase) -> ox.Store:
    """An in-memory Oxigraph store holding every named graph of the knowledge base."""
    store = ox.Store()
    store.bulk_extend(kb.quads)
    return store
