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
from kb.export import ExportFormat, serialize
from kb.graph import KnowledgeBase, build_graph, load_ontology
from kb import progress
from kb.queries import ResultFormat, catalogue, format_results, run_query
from kb.reason import ReasoningReport, reason_kb
from kb.validate import Engine, choose_engine, load_shapes, shapes_file, validate

BUILD_DIR = Path("build")
EXPORT_NAME = "tradekb"


def load_knowledge_base(project: Path) -> KnowledgeBase:
    """Load the project's annotations and ontology and build the graph (AnnotationError if bad)."""
    with progress.stage("loading the annotations"):
        corpus = load_corpus(project)
    with progress.stage("building the graph"):
        return build_graph(corpus, load_ontology(project))


class InvalidKnowledgeBase(TradeKBError):
    """The graph was built but does not pass SHACL validation or is inconsistent: nothing is written."""


@dataclass
class BuildResult:
    """What a build produced, for the command line to report."""

    quads: int
    reasoning: ReasoningReport | None
    written: list[Path] = field(default_factory=list)


def validated_knowledge_base(project: Path, engine: Engine = Engine.AUTO,
                             say: Callable[[str], None] = lambda _: None) -> KnowledgeBase:
    """The project's knowledge base, if it passes SHACL validation; else InvalidKnowledgeBase."""
    kb = load_knowledge_base(project)
    say(f"built the graph: {len(kb)} quads in {len(kb.graph_names)} named graphs")
    engine = choose_engine(kb, engine)
    report = validate(kb, load_shapes(project), engine, shapes_file(project))
    if not report.conforms:
        raise InvalidKnowledgeBase([str(v) for v in report.violations])
    say(f"SHACL ({engine.value}): the graph conforms to ontology/shapes.ttl")
    return kb


def build(project: Path, run_reasoner: bool = True, engine: Engine = Engine.AUTO,
          say: Callable[[str], None] = lambda _: None) -> BuildResult:
    """Run the whole job on the project and write build/; raises InvalidKnowledgeBase on a bad graph."""
    project = Path(project)
    kb = validated_knowledge_base(project, engine, say)
    queries = {name: q for name, q in catalogue(project).items() if not q.parameters}  # others need a value
    build_dir = project / BUILD_DIR
    staged: list[tuple[Path, Path]] = []  # (temporary file, target)

    def stage(target: Path, write: Callable[[Path], None]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        staged.append((temporary, target))
        write(temporary)

    def query_to(name: str) -> Callable[[Path], None]:
        return lambda path: path.write_text(
            format_results(run_query(kb.store, queries[name], {}), ResultFormat.CSV), encoding="utf-8")

    try:
        with progress.stage(f"reasoning, {len(queries)} queries and {len(ExportFormat)} exports"), \
                ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            reasoning = pool.submit(reason_kb, kb) if run_reasoner else None
            jobs = [pool.submit(stage, build_dir / "queries" / f"{name}.csv", query_to(name)) for name in queries]
            jobs += [pool.submit(stage, build_dir / f"{EXPORT_NAME}.{fmt.extension}",
                                 lambda path, fmt=fmt: serialize(kb, fmt, path)) for fmt in ExportFormat]
            for job in jobs:
                job.result()
            report = reasoning.result() if reasoning else None
        if report is not None:
            if not report.ok:
                raise InvalidKnowledgeBase(f"HermiT: {report}")
            say(f"HermiT: {report}")
        say(f"ran {len(queries)} saved queries and wrote {len(ExportFormat)} exports")
        for temporary, target in staged:
            os.replace(temporary, target)
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
    return BuildResult(len(kb), report, sorted(target for _, target in staged))

