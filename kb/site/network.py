"""Who met whom: actors joined by the meetings they shared (the saved query `network`), as a
networkx graph, written as GEXF (Gephi) or GraphML (Cytoscape, Kumu, yEd) by networkx's writers.

Nodes are actors (id: the IRI; label), edges are pairs of actors (weight: the number of meetings
they shared; statuses and meetings: the shared meetings' summary statuses and IRIs, "; " between).
"""

from __future__ import annotations

import io
from pathlib import Path

import networkx as nx
import pyoxigraph as ox
from networkx.readwrite.gexf import GEXFWriter

from kb.errors import QueryError
from kb.formats import FileFormat
from kb.queries import ResultTable, SavedQuery, catalogue, run_query

NETWORK_QUERY = "network"


class MissingQuery(QueryError):
    """A page or an export is made from a saved query that this project does not have."""


def saved_query(queries: dict[str, SavedQuery], name: str) -> SavedQuery:
    """The saved query `name` of a project's catalogue; MissingQuery if it has none."""
    if name not in queries:
        raise MissingQuery(f"this project has no saved query {name} (queries/{name}.rq), which this is made from")
    return queries[name]


class NetworkFormat(FileFormat):
    """A file format for the network: value = (name, file extension, media type)."""

    GEXF = ("gexf", "gexf", "application/gexf+xml")
    GRAPHML = ("graphml", "graphml", "application/graphml+xml")

    @property
    def media_type(self) -> str:
        return self.value[2]


def network_table(store: ox.Store, project: Path) -> ResultTable:
    """The saved query `network`'s answer: one row per pair of actors who shared a meeting."""
    return run_query(store, saved_query(catalogue(project), NETWORK_QUERY), {})


def network_graph(table: ResultTable) -> nx.Graph:
    """The answer of `network` as a graph, nodes and edges in the answer's order."""
    graph = nx.Graph(name="tradekb: who met whom")
    for row in table.rows:
        cell = dict(zip(table.variables, (term.value if term is not None else "" for term in row)))
        graph.add_node(cell["actor_a"], label=cell["label_a"])
        graph.add_node(cell["actor_b"], label=cell["label_b"])
        graph.add_edge(cell["actor_a"], cell["actor_b"], weight=int(cell["n_meetings"]),
                       statuses=cell["statuses"], meetings=cell["meetings"])
    return graph


def network_file(graph: nx.Graph, fmt: NetworkFormat) -> bytes:
    """The graph in `fmt`; the same graph always gives the same bytes (the GEXF's optional
    lastmodifieddate, which networkx sets to the day of writing, is left out)."""
    out = io.BytesIO()
    if fmt is NetworkFormat.GRAPHML:
        nx.write_graphml(graph, out, encoding="utf-8")
        return out.getvalue()
    writer = GEXFWriter(encoding="utf-8")
    writer.add_graph(graph)
    writer.xml.find("meta").attrib.pop("lastmodifieddate", None)
    writer.write(out)
    return out.getvalue()
