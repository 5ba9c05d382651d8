"""The main job, `tradekb build`: annotations -> graph -> validation -> reasoning -> queries -> export.

Once the graph validates, reasoning (a Java process), the saved queries and the exports run side
by side on the machine's cores. Every output goes to a temporary file beside its target, and the
targets are replaced only when every stage has passed, each in one step: a failed build leaves the
previous outputs as they were, and no file is ever half-written.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from typing import Callable

from kb.annotations import load_corpus
from kb.errors import TradeKBError
from kb.export import ExportFormat, ExportLayout, graph_piece, replace_file, write_export
from kb.graph import KnowledgeBase, build_graph, load_ontology
from kb import progress
from kb.queries import ResultFormat, ResultTable, catalogue, format_results, run_query
from kb.reason import ReasoningReport, reason_kb
from kb.rebuild import capture_state, rebuild
from kb.storage import MEMORY, DiskStore, Manifest, StoreChoice, file_digests, inputs_digest, shapes_digest
from kb.validate import Engine, choose_engine, load_shapes, shapes_file, validate

BUILD_DIR = Path("build")
EXPORT_NAME = "tradekb"


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
    manifest = disk.current(inputs)
    if manifest is not None:
        kb = disk.open(manifest, project)
        say(f"opened the store at {store.location}: {manifest.quads} quads, built from the inputs as they are")
        return _Loaded(kb, disk, manifest)
    kb = _build_in_memory(project)
    manifest = disk.write(kb, project, inputs, None)
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


def build(project: Path, run_reasoner: bool = True, engine: Engine = Engine.AUTO,
          say: Callable[[str], None] = lambda _: None, store: StoreChoice = MEMORY) -> BuildResult:
    """Run the whole job on the project and write build/; raises InvalidKnowledgeBase on a bad graph.

    The work is done in memory, where queries and exports are fastest; with an on-disk `store`,
    the validated graph is also written there (unless it holds it already), as one more output,
    with what the next build needs to redo only what an edit of one article changes (kb.rebuild)."""
    project = Path(project)
    disk = DiskStore(store.location) if store.location is not None else None
    # before reading the inputs: an edit during the build makes the store stale
    seeds = file_digests(project / "seeds") if disk is not None else None
    inputs = inputs_digest(project, seeds) if disk is not None else None
    files = {path.name: digest for path, digest in seeds.items()} if disk is not None else None
    build_dir = project / BUILD_DIR
    staged: list[tuple[Path, Path]] = []  # (temporary file, target)
    data = None  # the on-disk store's new data, written but not yet in use

    def stage(target: Path, write: Callable[[Path], object]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        staged.append((temporary, target))
        write(temporary)

    def swap_in(report: ReasoningReport | None, quads: int, kept: Manifest | None = None) -> None:
        nonlocal data
        if report is not None:
            if not report.ok:
                raise InvalidKnowledgeBase(f"HermiT: {report}")
            say(f"HermiT: {report}")
        for temporary, target in staged:
            replace_file(temporary, target)  # the old file is left at `temporary`, deleted below
        if disk is not None:
            disk.commit(Manifest(data or kept.data, inputs, quads, shapes_digest(project)))
            data = None
            say(f"the store at {store.location} holds this build's graph")

    try:
        manifest = Manifest.read(disk.location) if disk is not None and engine in (Engine.AUTO, Engine.SPARQL) else None
        rebuilt = (rebuild(project, disk, manifest, files, stage, build_dir, EXPORT_NAME, run_reasoner)
                   if manifest is not None else None)
        if rebuilt is not None:
            data = rebuilt.data
            say(f"rebuilt after a change to {rebuilt.stem}: {rebuilt.quads} quads; only what it reaches was redone"
                if rebuilt.stem else f"nothing changed: {rebuilt.quads} quads; the outputs are written again from the store")
            swap_in(rebuilt.reasoning, rebuilt.quads)
            return BuildResult(rebuilt.quads, rebuilt.reasoning, sorted(target for _, target in staged))
        kb = validated_knowledge_base(project, engine, say, keep_corpus=disk is not None)
        queries = {name: q for name, q in catalogue(project).items() if not q.parameters}  # others need a value
        tables: dict[str, ResultTable] = {}
        layouts: dict[str, ExportLayout] = {}

        def query_to(name: str) -> Callable[[Path], None]:
            def write(path: Path) -> None:
                tables[name] = run_query(kb.store, queries[name], {})
                path.write_text(format_results(tables[name], ResultFormat.CSV), encoding="utf-8")
            return write

        def export_to(fmt: ExportFormat) -> Callable[[Path], None]:
            def write(path: Path) -> None:
                layouts[fmt.label] = write_export(fmt, path, kb.graph_names, lambda g: graph_piece(kb.store, g, fmt))
            return write

        with progress.stage(f"reasoning, {len(queries)} queries and {len(ExportFormat)} exports"), \
                ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            reasoning = pool.submit(reason_kb, kb) if run_reasoner else None
            kept = disk.current(inputs) if disk is not None else None  # the store holds this graph already
            writing = pool.submit(disk.write_data, kb, project) if disk is not None and kept is None else None
            jobs = [pool.submit(stage, build_dir / "queries" / f"{name}.csv", query_to(name)) for name in queries]
            jobs += [pool.submit(stage, build_dir / f"{EXPORT_NAME}.{fmt.extension}", export_to(fmt))
                     for fmt in ExportFormat]
            data = writing.result() if writing else None
            for job in jobs:
                job.result()
            report = reasoning.result() if reasoning else None
        say(f"ran {len(queries)} saved queries and wrote {len(ExportFormat)} exports")
        if disk is not None:
            with progress.stage("keeping what a rebuild needs"):
                state = capture_state(project, kb, files, [(queries[name], tables[name]) for name in queries],
                                      layouts, report, disk.location)
                if state is not None:
                    state.write(disk.location / (data or kept.data))
        swap_in(report, len(kb), kept)
    finally:
        # what is left of the staged files (after swap_in, the old outputs), deleted side by side:
        # deleting a 230 MB file takes 0.13 s
        with ThreadPoolExecutor() as pool:
            list(pool.map(lambda temporary: temporary.unlink(missing_ok=True), (t for t, _ in staged)))
        if data is not None:
            disk.discard(data)
    return BuildResult(len(kb), report, sorted(target for _, target in staged))
