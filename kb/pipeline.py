"""The main job, `tradekb build`: annotations -> graph -> validation -> reasoning -> queries -> export.

Once the graph validates, reasoning (a Java process), the saved queries and the exports run side
by side on the machine's cores (`run_stages`). They write into a new generation of the build
directory, which is published, as one set, only when every stage has passed (kb.outputs): a failed
or killed build leaves the previous outputs as they were. With an on-disk store, kb.rebuild wraps
the stages: it redoes only what an edit of one article changes, or keeps what a full build made.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from typing import Callable

from kb.annotations import load_corpus
from kb.errors import TradeKBError
from kb.export import ExportFormat, ExportLayout, graph_piece, write_export
from kb.graph import KnowledgeBase, build_graph, load_ontology
from kb import progress
from kb.outputs import export_file, next_generation, write_query_csv
from kb.queries import ResultFormat, ResultTable, SavedQuery, catalogue, format_results, run_query
from kb.reason import ReasoningReport, reason_kb
from kb.rebuild import kept_in_store
from kb.storage import MEMORY, DiskStore, Manifest, StoreChoice, inputs_digest, shapes_digest
from kb.validate import Engine, choose_engine, load_shapes, shapes_file, validate


def _build_in_memory(project: Path, keep_corpus: bool = False) -> KnowledgeBase:
    with progress.stage("loading the annotations"):
        corpus = load_corpus(project)
    with progress.stage("building the graph"):
        return build_graph(corpus, load_ontology(project), keep_corpus)


def load_knowledge_base(project: Path, store: StoreChoice = MEMORY,
                        say: Callable[[str], None] = lambda _: None) -> KnowledgeBase:
    """The project's knowledge base (AnnotationError if the annotations are bad): built from the
    annotations in memory, or reopened from the on-disk store if that was built from the inputs
    as they are now (else rebuilt and written there)."""
    return _load(project, store, say).kb


@dataclass
class _Loaded:
    kb: KnowledgeBase
    disk: DiskStore | None = None  # where it is kept, if on disk
    manifest: Manifest | None = None


def _load(project: Path, store: StoreChoice, say: Callable[[str], None], keep_corpus: bool = False) -> _Loaded:
    if store.location is None:
        return _Loaded(_build_in_memory(project, keep_corpus))
    disk = DiskStore(store.location)
    inputs = inputs_digest(project)  # before reading them: an edit during the build makes the store stale
    for _ in range(2):  # once more if a writer replaced the version found while it was being opened
        manifest = disk.current(inputs)
        kb = disk.open(manifest, project) if manifest is not None else None
        if kb is not None:
            say(f"opened the store at {store.location}: {manifest.quads} quads, built from the inputs as they are")
            return _Loaded(kb, disk, manifest)
    kb = _build_in_memory(project)
    manifest = disk.write(kb, project, inputs, None, say)
    say(f"wrote the store at {store.location}: {manifest.quads} quads")
    return _Loaded(kb, disk, manifest)


class InvalidKnowledgeBase(TradeKBError):
    """The graph was built but does not pass SHACL validation or is inconsistent: nothing is written."""


@dataclass
class BuildResult:
    """What a build produced, for the command line to report."""

    quads: int
    reasoning: ReasoningReport | None
    written: list[Path] = field(default_factory=list)


def validated_knowledge_base(project: Path, engine: Engine = Engine.AUTO,
                             say: Callable[[str], None] = lambda _: None,
                             store: StoreChoice = MEMORY, keep_corpus: bool = False) -> KnowledgeBase:
    """The project's knowledge base, if it passes SHACL validation; else InvalidKnowledgeBase.

    An on-disk store found to conform to the same shapes, built from the same inputs by the same
    code, is not validated again. `keep_corpus`: built in memory, it keeps the annotations it was
    built from (KnowledgeBase.corpus), which a build keeping its state for a rebuild needs."""
    loaded = _load(project, store, say, keep_corpus)
    kb = loaded.kb
    if loaded.disk is None:
        say(f"built the graph: {len(kb)} quads in {len(kb.graph_names)} named graphs")
        _check(kb, project, engine, say)
        return kb
    shapes = shapes_digest(project)
    if loaded.manifest.conforms_to == shapes:
        say("SHACL: the store conforms to ontology/shapes.ttl (validated when it was written)")
        return kb
    _check(kb, project, engine, say)
    loaded.disk.mark_conforming(loaded.manifest, shapes)
    return kb


def _check(kb: KnowledgeBase, project: Path, engine: Engine, say: Callable[[str], None]) -> None:
    engine = choose_engine(kb, engine)
    report = validate(kb, load_shapes(project), engine, shapes_file(project))
    if not report.conforms:
        raise InvalidKnowledgeBase([str(v) for v in report.violations])
    say(f"SHACL ({engine.value}): the graph conforms to ontology/shapes.ttl")


@dataclass
class Built:
    """What the stages made: the validated graph, HermiT's verdict, each saved query's result, where
    each graph's piece is in each export, and what the job run `beside` them returned."""

    kb: KnowledgeBase
    reasoning: ReasoningReport | None
    results: list[tuple[SavedQuery, ResultTable]]
    layouts: dict[str, ExportLayout]
    beside: object = None


def run_stages(project: Path, directory: Path, run_reasoner: bool = True, engine: Engine = Engine.AUTO,
               say: Callable[[str], None] = lambda _: None, keep_corpus: bool = False,
               beside: Callable[[KnowledgeBase], object] | None = None) -> Built:
    """Load, build the graph, validate it, then reason, run the saved queries and write the exports
    into `directory`, side by side (and `beside(kb)` with them, if given)."""
    kb = validated_knowledge_base(project, engine, say, keep_corpus=keep_corpus)
    queries = [q for q in catalogue(project).values() if not q.parameters]  # the others need a value

    def run(query: SavedQuery) -> ResultTable:
        table = run_query(kb.store, query, {})
        write_query_csv(directory, query.name, format_results(table, ResultFormat.CSV))
        return table

    def export(fmt: ExportFormat) -> ExportLayout:
        return write_export(fmt, export_file(directory, fmt), kb.graph_names, lambda g: graph_piece(kb.store, g, fmt))

    with progress.stage(f"reasoning, {len(queries)} queries and {len(ExportFormat)} exports"), \
            ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        reasoning = pool.submit(reason_kb, kb) if run_reasoner else None
        extra = pool.submit(beside, kb) if beside else None
        tables = [pool.submit(run, query) for query in queries]
        layouts = {fmt.label: pool.submit(export, fmt) for fmt in ExportFormat}
        built = Built(kb, reasoning.result() if reasoning else None,
                      [(query, table.result()) for query, table in zip(queries, tables)],
                      {label: layout.result() for label, layout in layouts.items()},
                      extra.result() if extra else None)
    say(f"ran {len(queries)} saved queries and wrote {len(ExportFormat)} exports")
    return built


def build(project: Path, run_reasoner: bool = True, engine: Engine = Engine.AUTO,
          say: Callable[[str], None] = lambda _: None, store: StoreChoice = MEMORY) -> BuildResult:
    """Run the whole job on the project and publish its outputs under build/ as one set (kb.outputs);
    raises InvalidKnowledgeBase on a bad graph, and then, as on any failure, build/ is as it was.

    With an on-disk `store`, the validated graph is also kept there, with what the next build needs
    to redo only what an edit of one article changes: a layer around the stages (kb.rebuild)."""
    project = Path(project)
    with next_generation(project, say) as generation:
        def stages(**kept) -> Built:
            return run_stages(project, generation.directory, run_reasoner, engine, say, **kept)
        if store.location is None:
            built = stages()
            _accept(built.reasoning, say)
            generation.publish()
            return BuildResult(len(built.kb), built.reasoning, generation.written)
        with kept_in_store(project, store.location, say) as kept:
            built = kept.rebuild(generation, run_reasoner, engine) or kept.full(stages)
            _accept(built.reasoning, say)
            generation.publish()
            kept.commit()
            return BuildResult(kept.quads, built.reasoning, generation.written)


def _accept(report: ReasoningReport | None, say: Callable[[str], None]) -> None:
    """HermiT's verdict, said; an inconsistent knowledge base is not published."""
    if report is None:
        return
    if not report.ok:
        raise InvalidKnowledgeBase(f"HermiT: {report}")
    say(f"HermiT: {report}")
