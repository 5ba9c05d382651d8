"""Rebuild after an edit of one article: redo only what the edit can change, byte for byte.

A build with an on-disk store keeps, beside the graph, what the next build needs to redo only part
of the job: a digest of each file under seeds/ and what each annotation file gives the others
(kb.annotations.FileIndex), the derived graph's lines by fact, each saved query's rows with their
keys and sort keys, each compiled SHACL check with what it depends on (kb.dependencies), the slice
HermiT was given, and where each named graph's piece is in every export.

When exactly one article's files differ from that state, `rebuild` loads that article alone,
replaces its named graph and the summaries of the facts it reports, in a copy of the store (hard
links: the old version stays whole until the new one is committed), checks only the focus nodes the
change can reach, recomputes only the query rows whose keys it can reach and merges them in the
queries' own order, and copies every export piece but the changed graphs' from the previous files.
Anything else (the registry, the ontology, the shapes, a query or tradekb's code changed; two
articles changed; a problem to report; an output touched since) is left to a full build, which
reports problems exactly as always.
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
import os
import pickle
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import pyoxigraph as ox

from kb import progress
from kb.annotations import Corpus, CorpusIndex, reload_article
from kb.dependencies import Delta, Dependencies, NotLocal, affected_keys, analyse, restrict
from kb.export import ExportFormat, ExportLayout, graph_piece, previous_pieces, write_atomically, write_export
from kb.outputs import Generation, export_file, write_query_csv
from kb.graph import SUMMARISED, KnowledgeBase, add_derived, build_graph_part, graph_iri, summary_lines
from kb.ordering import RowOrder, UnsupportedOrder
from kb.queries import ResultTable, SavedQuery, csv_lines, run_sparql, sort_lists
from kb.reason import ReasoningReport, reason, reasoning_scope
from kb.shacl_sparql import Check, UnsupportedShape, compile_shapes, find_violations
from kb.storage import DiskStore, Manifest, StoreWriter, file_digests, files_digest, inputs_digest, shapes_digest
from kb.validate import Engine, load_shapes

STATE = "rebuild.pickle"
CHECKS = "checks.pickle"  # the compiled SHACL checks' dependencies by query text, for the next full build
SEEDS = "seeds"


@dataclass
class CachedQuery:
    """A saved query's last result: its CSV, and its rows, (key in N-Triples, sort key, CSV line)
    in order, pickled apart: only a query the change reaches needs them read back."""

    name: str
    text: str
    lists: dict[str, str]
    dependencies: Dependencies
    order: RowOrder
    header: str
    csv: str
    rows: bytes

    @classmethod
    def capture(cls, query: SavedQuery, table: ResultTable) -> "CachedQuery | None":
        """None if the query's rows cannot be recomputed key by key and merged exactly."""
        try:
            dependencies = analyse(query.text)
            order = RowOrder.of(query.text, table.variables)
        except (NotLocal, UnsupportedOrder):
            return None
        lines = csv_lines(table)
        rows = _rows(table, lines[1:], dependencies.key, order)
        if order.ties([key for _, key, _ in rows]):
            return None  # rows the query leaves in the engine's order
        return cls(query.name, query.text, query.lists, dependencies, order, lines[0], "", b"").with_rows(rows)

    def with_rows(self, rows: list[tuple[str, tuple, str]]) -> "CachedQuery":
        pickled = io.BytesIO()
        pickler = pickle.Pickler(pickled, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.fast = True  # no memo: rows of strings, numbers and tuples (0.18 s -> 0.03 s at 22k rows)
        pickler.dump(rows)
        return replace(self, csv=self.header + "".join(line for _, _, line in rows), rows=pickled.getvalue())


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off: a rebuild unpickles many objects and makes little
    garbage, and the collector's passes over them took a good part of its time (reading the
    state of a 1M KB: 0.63 s -> 0.17 s)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _rows(table: ResultTable, lines: list[str], key: str, order: RowOrder) -> list[tuple[str, tuple, str]]:
    at = table.variables.index(key)
    return [(str(row[at]), order.key(row), line) for row, line in zip(table.rows, lines)]


@dataclass
class RebuildState:
    """What a build keeps so that the next one can redo only what an edit changes."""

    context: str  # digest of what must not have changed: ontology, shapes, queries, tradekb's code
    files: dict[str, str]  # file name under seeds/ -> sha256
    corpus: CorpusIndex
    origins: dict[str, str]  # annotation file -> its nodes' origins, as JSON members "node": [path, line]
    derived: dict[str, list[str]]  # fact -> its lines in the derived graph
    graphs: list[str]
    quads: int
    checks: list[tuple[Check, Dependencies]]
    queries: list[CachedQuery]
    exports: dict[str, ExportLayout]  # by format label
    reasoning: tuple[str, ReasoningReport] | None  # digest of what HermiT was given, and its verdict

    def write(self, directory: Path) -> None:
        """Into a store data directory, in one step (it may be the one in use, when a full build
        finds the store already holds its graph)."""
        write_atomically(directory / STATE, pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))
        write_atomically(directory / CHECKS, pickle.dumps({check.query: deps for check, deps in self.checks}))

    @classmethod
    def read(cls, directory: Path) -> "RebuildState | None":
        try:
            state = pickle.loads((directory / STATE).read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
            return None
        return state if isinstance(state, cls) else None


def capture_state(project: Path, kb: KnowledgeBase, files: dict[str, str], results: list[tuple[SavedQuery, ResultTable]],
                  exports: dict[str, ExportLayout], reasoning: ReasoningReport | None,
                  known: dict[str, Dependencies]) -> RebuildState | None:
    """What a full build keeps for the next rebuild; None if a saved query or a SHACL check cannot
    be recomputed key by key (every build is then a full one). The SHACL checks' dependencies
    are taken from `known` (by query text, as the last build kept them): parsing takes seconds."""
    queries = [CachedQuery.capture(query, table) for query, table in results]
    try:
        checks = [(check, known.get(check.query) or analyse(check.query, key="this"))
                  for check in compile_shapes(load_shapes(project))]
    except (NotLocal, UnsupportedShape):  # a check it cannot analyse, or a shape left to pySHACL
        return None
    if None in queries or kb.corpus is None:
        return None
    corpus = kb.corpus
    derived = {fact: lines for fact, d in corpus.definitions.items()
               if (lines := summary_lines(d, corpus.reports_of(fact), corpus.articles))}
    sliced = triples_digest(reasoning_scope(kb)[0]) if reasoning is not None else None
    return RebuildState(context_digest(project), files, CorpusIndex(corpus.files), origins_by_file(kb, project), derived,
                        kb.graph_names, len(kb), checks, queries, exports,
                        (sliced, reasoning) if reasoning is not None else None)


def context_digest(project: Path) -> str:
    """Everything but the articles and their annotations that decides a build's outputs."""
    return files_digest(project, ("ontology", "queries", f"{SEEDS}/registry.yaml")) + f"-oxigraph-{ox.__version__}"


def triples_digest(triples: list[ox.Triple]) -> str:
    digest = hashlib.sha256()
    for line in sorted(map(str, triples)):
        digest.update(line.encode())
    return digest.hexdigest()


def origins_by_file(kb: KnowledgeBase, project: Path) -> dict[str, str]:
    """The nodes' annotation origins (paths relative to the project), grouped by annotation file
    (registry or article stem), each group as the JSON members of the store's origins.json."""
    grouped: dict[str, list[str]] = {}
    relative: dict[Path, tuple[str, str]] = {}  # a path -> (its file's name, its JSON string)
    for node, where in kb.origins.items():
        if where.path not in relative:
            name = "registry" if where.path.name == "registry.yaml" else where.path.stem
            relative[where.path] = (name, json.dumps(os.path.relpath(where.path, project)))
        name, path = relative[where.path]
        grouped.setdefault(name, []).append(f"{json.dumps(node)}: [{path}, {where.line}]")
    return {name: ", ".join(members) for name, members in grouped.items()}


def _parse(lines: list[str]) -> list[ox.Quad]:
    return list(ox.parse("".join(lines), format=ox.RdfFormat.N_QUADS)) if lines else []


@dataclass
class Rebuilt:
    """What a rebuild made: the store's new data directory (written, not committed) and its size."""

    stem: str | None  # None: nothing changed
    data: str
    quads: int
    reasoning: ReasoningReport | None


@_collector_paused()
def _rebuild(project: Path, writer: StoreWriter, manifest: Manifest, inputs_files: dict[str, str],
             generation: Generation, run_reasoner: bool) -> Rebuilt | None:
    """Redo the build for a change of one article, writing every output into the new generation
    and the store's next data directory; None, with nothing written into the generation and that
    directory removed, if the change needs a full build."""
    state = RebuildState.read(writer.location / manifest.data)
    if state is None or state.context != context_digest(project) or manifest.conforms_to != shapes_digest(project):
        return None
    changed = {name.rsplit(".", 1)[0] for name in set(inputs_files) | set(state.files)
               if inputs_files.get(name) != state.files.get(name)}
    if len(changed) > 1 or "registry" in changed or generation.previous is None:
        return None
    stem = changed.pop() if changed else None
    previous = {}
    for fmt in ExportFormat:
        layout = state.exports.get(fmt.label)
        pieces = previous_pieces(export_file(generation.previous, fmt), layout) if layout else None
        if pieces is None:
            return None  # an export was removed or touched since: its pieces cannot be copied
        previous[fmt] = pieces
    if stem is not None:
        with progress.stage(f"loading {stem}"):
            corpus = reload_article(project, state.corpus, stem)
        if corpus is None:
            return None
    with progress.stage("updating the graph"):
        change = (_Change(corpus, stem, state, ox.Store.read_only(str(writer.location / manifest.data / "oxigraph")))
                  if stem is not None else _Change.none(state))
        name, scratch = writer.copy_data(manifest)
    done = False
    try:
        store = ox.Store(str(scratch / "oxigraph"))
        store.bulk_extend(change.added)
        for quad in change.removed:
            store.remove(quad)
        store.flush()
        with ThreadPoolExecutor(max_workers=1) as pool:  # HermiT, a Java process, beside the rest
            reasoning = (pool.submit(_reason, reasoning_scope(KnowledgeBase(store, {}), size=change.quads), state)
                         if run_reasoner else None)
            with progress.stage("checking what the change reaches"):
                checks = [replace(check, query=restrict(check.query, deps, keys))
                          for check, deps in state.checks if (keys := affected_keys(store, deps, change.delta))]
                if find_violations(store, checks):
                    return None  # a full build reports them, with file and line
                queries = [_requery(store, cached, change.delta) for cached in state.queries]
            del store  # closes it: its directory is renamed below
            if None in queries:
                return None
            for cached in queries:
                write_query_csv(generation.directory, cached.name, cached.csv)
            exports = {fmt.label: write_export(fmt, export_file(generation.directory, fmt), change.graphs, lambda g, fmt=fmt: (
                graph_piece(change.pieces, g, fmt) if g in change.replaced else previous[fmt](g))) for fmt in ExportFormat}
            verdict, sliced = reasoning.result() if reasoning else (None, None)
        origins = {name: found for name, found in state.origins.items() if name != stem}
        origins.update(origins_by_file(change.part, project))
        RebuildState(state.context, inputs_files, change.corpus, origins, change.derived, change.graphs,
                     change.quads, state.checks, queries, exports,
                     (sliced, verdict) if verdict else state.reasoning).write(scratch)
        writer.finish_data(name, scratch, "{" + ", ".join(found for found in origins.values() if found) + "}")
        done = True
    finally:
        if not done:
            writer.discard(name)
    return Rebuilt(stem, name, change.quads, verdict)


class _Change:
    """How the graph changes when one article's files do: its named graph is built again, and the
    summaries of the facts it reports (before or after) are derived again."""

    @classmethod
    def none(cls, state: RebuildState) -> "_Change":
        """No file changed: every output comes from what the last build kept."""
        change = cls.__new__(cls)
        change.part = KnowledgeBase(ox.Store(), {})
        change.corpus, change.derived, change.graphs, change.quads = state.corpus, state.derived, state.graphs, state.quads
        change.removed, change.added, change.replaced = set(), set(), set()
        change.delta, change.pieces = Delta([], []), change.part.store
        return change

    def __init__(self, corpus: Corpus, stem: str, state: RebuildState, old: ox.Store) -> None:
        before = state.corpus.file(stem)
        self.part = build_graph_part(corpus, {stem})
        graph = str(graph_iri(stem))
        old_quads = set(old.quads_for_pattern(None, None, None, ox.NamedNode(graph)))
        new_quads = set(self.part.quads(graph))
        self.corpus = state.corpus.replaced(stem, corpus.files.get(stem))
        articles = {name: a for name, a in state.corpus.articles.items() if name != stem} | corpus.articles
        facts = {r.fact for r in [*corpus.reports, *before.reports] if r.section in SUMMARISED}
        reports = {fact: [r for r in corpus.reports if r.fact == fact] for fact in facts}
        for name in sorted(set().union(*(state.corpus.users.get(fact, set()) for fact in facts)) - {stem}):
            for report in state.corpus.file(name).reports:
                if report.fact in reports:
                    reports[report.fact].append(report)
        self.derived = dict(state.derived)
        for fact in facts:
            definition = corpus.definitions.get(fact)
            lines = summary_lines(definition, reports[fact], articles) if definition else []
            if lines:
                self.derived[fact] = lines
            else:
                self.derived.pop(fact, None)
        old_derived = set(_parse([line for fact in facts for line in state.derived.get(fact, [])]))
        new_derived = set(_parse([line for fact in facts for line in self.derived.get(fact, [])]))
        self.removed = (old_quads - new_quads) | (old_derived - new_derived)
        self.added = (new_quads - old_quads) | (new_derived - old_derived)
        self.delta = Delta(self.removed, self.added)
        self.quads = state.quads - len(self.removed) + len(self.added)
        derived = str(graph_iri("derived"))
        self.graphs = sorted(set(state.graphs) - {graph} | ({graph} if new_quads else set())
                             | ({derived} if self.derived else set()))
        self.replaced = {graph, derived}
        # the changed graphs as a full build adds them, so that their pieces come out the same
        self.pieces = self.part.store
        add_derived(self.pieces, self.derived.values())


def _requery(store: ox.Store, cached: CachedQuery, delta: Delta) -> CachedQuery | None:
    """The query's rows with those of the keys the change reaches recomputed, in the query's
    order; None if two rows then tie on it (their order would be the engine's)."""
    keys = affected_keys(store, cached.dependencies, delta)
    if not keys:
        return cached
    table = sort_lists(run_sparql(store, restrict(cached.text, cached.dependencies, keys)), cached.lists)
    gone = {str(key) for key in keys}
    rows = [row for row in pickle.loads(cached.rows) if row[0] not in gone]
    new = _rows(table, csv_lines(table)[1:], cached.dependencies.key, cached.order)
    rows = cached.order.merge(rows, new, key=lambda row: row[1])
    if cached.order.ties([key for _, key, _ in rows]):
        return None
    return cached.with_rows(rows)


def _reason(given: tuple[list[ox.Triple], str], state: RebuildState) -> tuple[ReasoningReport, str]:
    """HermiT over what a full build would give it (`given`: reasoning_scope), unless that is
    what it was given last time."""
    triples, scope = given
    digest = triples_digest(triples)
    if state.reasoning is not None and state.reasoning[0] == digest:
        return state.reasoning[1], digest
    report = reason(triples)
    report.scope = scope
    return report, digest


class KeptBuild:
    """A build that keeps its validated graph in the on-disk store, with what the next build needs
    to redo only what an edit of one article changes: a layer around the stages of kb.pipeline,
    which it either replaces (`rebuild`) or runs and then keeps what they made (`full`).

    Made by `kept_in_store`, which holds the store's lock for the whole build. Nothing it writes
    is in use until `commit`, which the build calls after its outputs are published: the store
    never holds a graph whose outputs were not published (a kill between the two leaves the new
    outputs and the old store, which the next build finds stale)."""

    def __init__(self, project: Path, store: DiskStore, writer: StoreWriter, say: Callable[[str], None]) -> None:
        self.project, self.store, self.writer, self.say = project, store, writer, say
        # before the stages read the inputs: an edit during the build makes the store stale
        seeds = file_digests(project / SEEDS)
        self.files = {path.name: digest for path, digest in seeds.items()}
        self.inputs = inputs_digest(project, seeds)
        self.shapes = shapes_digest(project)
        self.manifest = Manifest.read(store.location)
        self.data: str | None = None  # the new data directory, once written
        self.quads = 0

    def rebuild(self, generation: Generation, run_reasoner: bool, engine: Engine) -> Rebuilt | None:
        """Redo only what an edit of one article changes, into `generation`; None if it needs a
        full build (or another SHACL engine than the compiled checks, which a rebuild runs)."""
        if self.manifest is None or engine not in (Engine.AUTO, Engine.SPARQL):
            return None
        rebuilt = _rebuild(self.project, self.writer, self.manifest, self.files, generation, run_reasoner)
        if rebuilt is not None:
            self.data, self.quads = rebuilt.data, rebuilt.quads
            self.say(f"rebuilt after a change to {rebuilt.stem}: {rebuilt.quads} quads; only what it reaches was redone"
                     if rebuilt.stem else f"nothing changed: {rebuilt.quads} quads; the outputs are written again from the store")
        return rebuilt

    def full(self, stages: Callable[..., object]):
        """Run the stages, `stages(keep_corpus=True, beside=...)`, writing the graph into the store
        beside the queries and exports (unless the store holds it already), then keep what the
        next rebuild needs; return what the stages return."""
        kept = self.store.current(self.inputs)
        built = stages(keep_corpus=True,
                       beside=None if kept else (lambda kb: self.writer.write_data(kb, self.project)))
        if kept is None:
            self.data = built.beside
        else:  # a new data directory all the same: a committed one never changes
            self.data, scratch = self.writer.copy_data(kept)
            self.writer.finish_data(self.data, scratch)
        self.quads = len(built.kb)
        with progress.stage("keeping what a rebuild needs"):
            state = capture_state(self.project, built.kb, self.files, built.results, built.layouts, built.reasoning,
                                  self._known_checks())
            if state is not None:
                state.write(self.writer.location / self.data)
        return built

    def _known_checks(self) -> dict[str, Dependencies]:
        """The SHACL checks' dependencies as the last build kept them, by query text."""
        try:
            return pickle.loads((self.store.location / self.manifest.data / CHECKS).read_bytes()) if self.manifest else {}
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
            return {}

    def commit(self) -> None:
        """Make the new data directory the store's: after the outputs are published."""
        self.writer.commit(Manifest(self.data, self.inputs, self.quads, self.shapes))
        self.say(f"the store at {self.store.location} holds this build's graph")


@contextmanager
def kept_in_store(project: Path, location: Path, say: Callable[[str], None]) -> Iterator[KeptBuild]:
    """A KeptBuild of the project in the store at `location`, under the store's lock."""
    store = DiskStore(location)
    with store.writing(say) as writer:
        yield KeptBuild(Path(project), store, writer, say)
