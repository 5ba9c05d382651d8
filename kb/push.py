"""The knowledge base on a SPARQL server: push it, find it, query it, fetch it back.

Layout under a base IRI (default `https://w3id.org/tradekb/id/graph/`, as in the local build):
`<base><name>` for each graph of the KB (one per article, `registry`, `derived`, `ontology`),
`<base>push/manifest` naming the last push (its id, time and graphs), `<base>push/<push id>-union`
with all the triples of that push in one graph, and `<base>push/<push id>/<name>` for the staging
graphs of a push under way. An article stem never holds a "/", so the names can't meet.

Queries read the push's union graph, one graph to name: with one default graph per article,
Oxigraph's server answered `reports` on a 146-article KB in 24 s rather than 0.5 s, and Virtuoso
echoes every default graph in a response header, past the 100 that Python's HTTP client takes.
The union doubles what the server stores; the article graphs keep provenance and stable names.

A push is atomic for the reader: each graph is uploaded beside its target (Graph Store PUT, or
INSERT DATA where a server has no Graph Store), and the union under its own name; the uploads are
counted; then one SPARQL Update moves the graphs over their targets, drops the graphs (and the
union) an earlier push had, and rewrites the manifest to name the new union. Virtuoso's graph
PUT is not atomic and its MOVE of an empty graph clears the target, so nothing is moved before
every staging graph holds what was sent. Virtuoso also applies an update request one operation
at a time, visibly, undoing none if a later one fails; so on such a server the manifest loses
its push id first, and a tradekb reader waits for the swap (or reports the failed one) rather
than read a mix. A push that fails leaves the old graphs as they were; its staging graphs are
dropped on the way out, or by the next push if the server went away (or tradekb was killed).

A push killed after it sent its swap still has it applied, perhaps while the next push starts: so
a push drops other pushes' staging graphs only (a swap whose graphs are gone fails whole, as MOVE
of a missing graph is an error), and unions only in its own swap, with the manifest that names
one: never the union a swap it could not see just made live.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import pyoxigraph as ox
from rdflib import Literal, URIRef

from kb.endpoint import DEFAULT_PAGE_SIZE, Connection, projected_variables
from kb.errors import Location, ServerError, TradeKBError
from kb.graph import KnowledgeBase, graph_iri
from kb.queries import ResultTable, SavedQuery, without_comments, run_query

DEFAULT_BASE = str(graph_iri(""))
DCTERMS = "http://purl.org/dc/terms/"
_PROLOGUE = re.compile(r"\s*(?:(?:PREFIX\s+[^\s:]*:\s*<[^>]*>|BASE\s+<[^>]*>)\s*)*", re.IGNORECASE)
_ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.IGNORECASE)
_SLICE = re.compile(r"\b(?:LIMIT|OFFSET)\b", re.IGNORECASE)
T = TypeVar("T")
SWAP_POLL = 0.25  # seconds between looks at a manifest whose swap is under way


@dataclass(frozen=True)
class Layout:
    """Graph names under one base IRI."""

    base: str = DEFAULT_BASE

    @classmethod
    def under(cls, base: str | None) -> Layout:
        base = base or DEFAULT_BASE
        if "://" not in base or any(c in base for c in '<>" {}|\\^`'):
            raise TradeKBError(f"--graph-base {base!r} is not an absolute IRI")
        return cls(base if base.endswith(("/", "#")) else base + "/")

    def graph(self, name: str) -> str:
        return self.base + name

    @property
    def manifest(self) -> str:
        return self.base + "push/manifest"

    def staging(self, push_id: str, name: str) -> str:
        return f"{self.base}push/{push_id}/{name}"

    def union(self, push_id: str) -> str:
        """All the triples of one push, in one graph: what queries read."""
        return f"{self.base}push/{push_id}-union"

    def is_kb_graph(self, iri: str) -> bool:
        """A graph of the knowledge base itself (not the manifest, not a staging graph)."""
        return iri.startswith(self.base) and "/" not in iri[len(self.base):]

    def is_staging(self, iri: str) -> bool:
        """
        >>> Layout("http://x/").is_staging("http://x/push/1/a"), Layout("http://x/").is_staging("http://x/push/1-union")
        (True, False)
        """
        return iri.startswith(self.base + "push/") and "/" in iri[len(self.base + "push/"):]

    def is_union(self, iri: str) -> bool:
        return iri.startswith(self.base + "push/") and iri.endswith("-union") and not self.is_staging(iri)


def local_name(graph: str) -> str:
    """The name of a local KB graph (`…/id/graph/000_x` -> `000_x`)."""
    return graph[len(DEFAULT_BASE):]


@dataclass(frozen=True)
class Snapshot:
    """The KB graphs a server holds under a base, the push that put them there and its union
    graph (None if they were loaded some other way, e.g. by `tradekb serve` or a TriG import)."""

    graphs: list[str]
    push_id: str | None = None
    union: str | None = None

    @property
    def dataset(self) -> list[str]:
        """The graphs a query reads (as its default graph)."""
        return [self.union] if self.union else self.graphs


@dataclass(frozen=True)
class PushResult:
    """What a push did: graphs and triples pushed, and the graphs of articles no longer there."""

    graphs: int
    triples: int
    dropped: list[str]


def _drop(graphs: list[str]) -> str:
    return " ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in graphs)


def graphs_under(connection: Connection, layout: Layout) -> list[str]:
    """Every graph named under the base (KB graphs, manifest, staging), from the server itself."""
    text = ("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            f"FILTER(STRSTARTS(STR(?g), {Literal(layout.base).n3()})) }}")
    return sorted(row[0].value for row in select_all(connection, text, None, "graphs under the base").rows)


def _manifest(connection: Connection, layout: Layout) -> list[tuple]:
    """The manifest's rows: (graph, push id), the push id None while a swap is under way."""
    manifest = URIRef(layout.manifest).n3()
    text = (f"SELECT ?graph ?id WHERE {{ GRAPH {manifest} {{ {manifest} <{DCTERMS}hasPart> ?graph "
            f"OPTIONAL {{ {manifest} <{DCTERMS}identifier> ?id }} }} }}")
    return connection.select(text, None, "the push manifest").rows


def snapshot(connection: Connection, layout: Layout) -> Snapshot:
    """What a reader should query: the manifest's push, else every KB graph under the base.

    A manifest without its push id is a swap under way, waited for (up to the connection's
    timeout), or one that failed halfway (see `swap_begins`)."""
    deadline = time.monotonic() + connection.timeout
    rows = _manifest(connection, layout)
    while rows and rows[0][1] is None:
        if time.monotonic() > deadline:
            raise ServerError(f"{connection.endpoint}: a push to {layout.base} was still being swapped in after "
                              f"{connection.timeout} s, or it failed halfway (push again)")
        time.sleep(SWAP_POLL)
        rows = _manifest(connection, layout)
    if rows:
        push_id = rows[0][1].value
        return Snapshot(sorted(graph.value for graph, _ in rows), push_id, layout.union(push_id))
    found = [g for g in graphs_under(connection, layout) if layout.is_kb_graph(g)]
    if not found:
        raise ServerError(f"{connection.endpoint}: holds no tradekb graphs under {layout.base} "
                          "(push the knowledge base there first: tradekb push)")
    return Snapshot(found)


def push(kb: KnowledgeBase, connection: Connection, layout: Layout,
         say: Callable[[str], None] = lambda _: None) -> PushResult:
    """Upload the (validated) knowledge base under `layout`, replacing what an earlier push left."""
    leftovers = [g for g in graphs_under(connection, layout) if layout.is_staging(g)]
    if leftovers:  # staging graphs of a push that was interrupted
        say(f"dropping {len(leftovers)} staging graph(s) an interrupted push left")
        connection.update(_drop(leftovers), "drop stale staging graphs")
    push_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)
    moves = {layout.staging(push_id, local_name(g)): layout.graph(local_name(g)) for g in kb.graph_names}
    staged: list[str] = []  # dropped again if this push fails, even halfway through an upload
    sent: dict[str, int] = {}  # graph uploaded -> its triples
    say(f"uploading {len(kb.graph_names)} graphs and their union beside the live ones (push {push_id})")
    try:
        for graph, ntriples in _uploads(kb, layout, push_id):
            staged.append(graph)
            upload(connection, graph, ntriples)
            sent[graph] = ntriples.count(b"\n")  # one line a triple
        check_uploads(connection, sent)
        now = graphs_under(connection, layout)  # again: a killed push's swap may have landed meanwhile
        gone = [g for g in now if layout.is_kb_graph(g) and g not in moves.values()]  # articles removed
        unions = [g for g in now if layout.is_union(g) and g != layout.union(push_id)]  # the live one, and others
        say(f"uploaded {len(sent) - 1} graphs and their union ({sum(sent.values())} triples), counted on the server; "
            "swapping them in")
        if not connection.endpoint.kind.atomic_updates:
            connection.update(swap_begins(layout), "mark the manifest: a swap begins")
        connection.update(swap(moves, gone + unions, layout, push_id), "swap the staging graphs in", retry=False)
    except TradeKBError:
        _drop_quietly(connection, staged)
        raise
    return PushResult(len(kb.graph_names), len(kb), gone)


def _uploads(kb: KnowledgeBase, layout: Layout, push_id: str) -> Iterator[tuple[str, bytes]]:
    """(graph, N-Triples): each graph of the KB under its staging name, then the push's union."""
    for graph in kb.graph_names:
        yield (layout.staging(push_id, local_name(graph)),
               kb.store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph)))
    yield layout.union(push_id), ox.serialize(kb.triples(), format=ox.RdfFormat.N_TRIPLES)


def upload(connection: Connection, graph: str, ntriples: bytes) -> None:
    """One graph, whole: Graph Store PUT where the server has one, else one INSERT DATA (one
    request a graph either way, so that its blank nodes stay one node each)."""
    if connection.endpoint.store_url:
        connection.put_graph(graph, ntriples)
    else:
        connection.update(f"{_drop([graph])} ;\nINSERT DATA {{ GRAPH <{graph}> {{\n{ntriples.decode()}}} }}",
                          f"upload graph {graph}")


def triples_per_graph(connection: Connection, graphs: list[str]) -> dict[str, int]:
    """How many triples the server holds in each of `graphs` (one it lacks is left out)."""
    values = " ".join(f"<{g}>" for g in graphs)
    text = f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g"
    return {g.value: int(n.value) for g, n in connection.select(text, None, "count triples per graph").rows}


def check_uploads(connection: Connection, sent: dict[str, int]) -> None:
    """Every staging graph holds as many triples as were sent to it (before anything moves)."""
    held = triples_per_graph(connection, list(sent))
    for graph, count in sent.items():
        if held.get(graph, 0) != count:
            raise ServerError(f"{connection.endpoint}: staging graph {graph} holds {held.get(graph, 0)} triples "
                              f"after {count} were sent; nothing was swapped in")


def swap(moves: dict[str, str], dropped: list[str], layout: Layout, push_id: str) -> str:
    """The one SPARQL Update that puts a push in place."""
    manifest = URIRef(layout.manifest).n3()
    stamp = Literal(datetime.now(UTC).replace(microsecond=0)).n3()
    parts = "\n".join(f"  {manifest} <{DCTERMS}hasPart> <{target}> ." for target in sorted(moves.values()))
    moved = [f"MOVE GRAPH <{staging}> TO GRAPH <{target}>" for staging, target in moves.items()]
    written = (f"INSERT DATA {{ GRAPH {manifest} {{\n  {manifest} <{DCTERMS}identifier> {Literal(push_id).n3()} ;\n"
               f"    <{DCTERMS}modified> {stamp} .\n{parts}\n}} }}")
    return " ;\n".join([*moved, _drop([*dropped, layout.manifest]), written])


def swap_begins(layout: Layout) -> str:
    """The push id taken off the manifest, for a server whose update requests readers can watch
    half done (Virtuoso 7.2 commits each MOVE as it goes, and undoes none when a later one fails):
    a tradekb reader then sees that a swap is under way, or has failed, and says so."""
    manifest = URIRef(layout.manifest).n3()
    return f"DELETE WHERE {{ GRAPH {manifest} {{ {manifest} <{DCTERMS}identifier> ?id }} }}"


def _drop_quietly(connection: Connection, graphs: list[str]) -> None:
    """Drop a failed push's staging graphs if the server lets us; else the next push will."""
    try:
        connection.update(_drop(graphs), "drop this push's staging graphs")
    except TradeKBError:
        pass


def select_all(connection: Connection, text: str, dataset: list[str] | None, about: str,
               page_size: int = DEFAULT_PAGE_SIZE) -> ResultTable:
    """Every row of a SELECT, a page at a time, so that no server's row cap cuts it short.

    A page is the query wrapped in a subquery that the outer query slices (Virtuoso refuses
    LIMIT/OFFSET past 10,000 rows on a sorted query itself). The first page keeps the query's own
    order; an answer longer than a page is fetched again, in pages ordered by every column too,
    so that the order is total and pages neither overlap nor skip."""
    variables = projected_variables(text)

    def page(offset: int, total_order: bool) -> list:
        return connection.select(paged(text, variables, page_size, offset, total_order), dataset,
                                 f"{about}, rows {offset + 1}-{offset + page_size}").rows
    rows = page(0, total_order=False)
    if len(rows) < page_size:
        return ResultTable(variables, rows)
    rows = []
    while True:
        more = page(len(rows), total_order=True)
        rows += more
        if len(more) < page_size:
            return ResultTable(variables, rows)


def paged(text: str, variables: list[str], limit: int, offset: int, total_order: bool = True) -> str:
    """One page of a SELECT query; `total_order` breaks the ties of its ORDER BY with every column,
    each by the MD5 of its text (Virtuoso refuses a sort key over 1,900 bytes, and a list of quotes
    is longer; it cannot sort on a cell of several kB at all, so such an answer must fit one page).

    >>> print(paged("PREFIX a: <http://a/>\\nSELECT ?x ?y WHERE { ?x a:p ?y } ORDER BY ?y", ["x", "y"], 10, 20))
    PREFIX a: <http://a/>
    SELECT ?x ?y WHERE { { SELECT ?x ?y WHERE { ?x a:p ?y } ORDER BY ?y MD5(STR(?x)) MD5(STR(?y)) } } LIMIT 10 OFFSET 20
    """
    blank = without_comments(text)  # offsets kept: a position found in it holds in `text`
    body_at = _PROLOGUE.match(blank).end()
    modifiers_at = blank.rindex("}") + 1  # ORDER BY, LIMIT, OFFSET follow the last brace
    found = _SLICE.search(blank, modifiers_at)
    slice_at = found.start() if found else len(text)
    ties = " ".join(f"MD5(STR(?{v}))" for v in variables) if total_order else ""
    if ties and not _ORDER_BY.search(blank, modifiers_at, slice_at):
        ties = "ORDER BY " + ties
    inner = " ".join(part for part in (text[body_at:slice_at].strip(), ties, text[slice_at:].strip()) if part)
    projection = " ".join(f"?{v}" for v in variables)
    return f"{text[:body_at]}SELECT {projection} WHERE {{ {{ {inner} }} }} LIMIT {limit} OFFSET {offset}"


def consistently(connection: Connection, layout: Layout, read: Callable[[Snapshot], T], what: str) -> T:
    """`read` over the pushed graphs, and proof that no push landed meanwhile: a read takes
    several requests, and a push swapped in between them would be mixed into the answer."""
    seen = snapshot(connection, layout)
    result = read(seen)
    if seen.push_id is not None and snapshot(connection, layout).push_id != seen.push_id:
        raise ServerError(f"{connection.endpoint}: the knowledge base was pushed again while {what}; run it again")
    return result


def query(connection: Connection, layout: Layout, saved: SavedQuery, params: dict[str, str],
          page_size: int = DEFAULT_PAGE_SIZE) -> ResultTable:
    """A saved query run on the server over the pushed graphs, as `kb.queries.run_query` runs it
    locally (same parameters, same table)."""
    def read(seen: Snapshot) -> ResultTable:
        return run_query(lambda text: select_all(connection, text, seen.dataset, f"query {saved.name}", page_size),
                         saved, params)
    return consistently(connection, layout, read, f"query {saved.name} ran")


def fetch(connection: Connection, layout: Layout, origins: dict[str, Location] | None = None) -> KnowledgeBase:
    """The pushed knowledge base, read back graph by graph (Graph Store GET) into a local store,
    under the local graph names; `origins` (from the local project) point nodes to annotations."""
    def read(seen: Snapshot) -> KnowledgeBase:
        store = ox.Store()
        for graph in seen.graphs:
            data, local = connection.get_graph(graph), ox.NamedNode(graph_iri(graph[len(layout.base):]))
            try:
                store.load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=local)
            except SyntaxError as e:
                raise ServerError(f"{connection.endpoint}: GET {connection.endpoint.store_url} (graph {graph}): "
                                  f"200, but not N-Triples: {str(e).splitlines()[0]}") from None
        return KnowledgeBase(store, origins or {})
    return consistently(connection, layout, read, "its graphs were fetched")
