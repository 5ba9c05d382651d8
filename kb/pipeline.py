"""The main job, `tradekb build`: annotations -> graph -> validation -> reasoning -> queries -> export.

Everything is computed in memory first and written only once every stage has passed, each file
atomically, so a failed build leaves the previous outputs as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from typing import Callable

from kb.annotations import load_corpus
from kb.errors import TradeKBError
from kb.export import ExportFormat, serialize, write_atomically
from kb.graph import KnowledgeBase, build_graph, load_ontology
from kb.queries import ResultFormat, catalogue, format_results, run_query
from kb.reason import ReasoningReport, reason_kb
from kb.store import open_store
from kb.validate import Engine, choose_engine, load_shapes, shapes_file, validate

BUILD_DIR = Path("build")
EXPORT_NAME = "tradekb"


def load_knowledge_base(project: Path) -> KnowledgeBase:
    """Load the project's annotations and ontology and build the graph (AnnotationError if bad)."""
    return build_graph(load_corpus(project), load_ontology(project))


class InvalidKnowledgeBase(TradeKBError):
    """The graph was built but does not pass SHACL validation or is inconsistent: nothing is written."""


@dataclass
class BuildResult:
    """What a build produced, for the command line to report."""

    quads: int
    reasoning: ReasoningReport | None
    written: list[Path] = field(default_factory=list)


def validated_knowledge_base(project: Path, engine: Engine = Engine.AUTO,
                             say: Callable[[str], None] = lambda _: None) -> tuple[KnowledgeBase, ox.Store]:
    """The project's knowledge base and its store, if it passes SHACL validation; else InvalidKnowledgeBase."""
    kb = load_knowledge_base(project)
    say(f"built the graph: {len(kb)} quads in {len(kb.graph_names)} named graphs")
    store = open_store(kb)
    engine = choose_engine(kb, engine)
    report = validate(kb, load_shapes(project), engine, shapes_file(project), store)
    if not report.conforms:
        raise InvalidKnowledgeBase([str(v) for v in report.violations])
    say(f"SHACL ({engine.value}): the graph conforms to ontology/shapes.ttl")
    return kb, store


def build(project: Path, run_reasoner: bool = True, engine: Engine = Engine.AUTO,
          say: Callable[[str], None] = lambda _: None) -> BuildResult:
    """Run the whole job on the project and write build/; raises InvalidKnowledgeBase on a bad graph."""
    project = Path(project)
    kb, store = validated_knowledge_base(project, engine, say)
    reasoning = None
    if run_reasoner:
        reasoning = reason_kb(kb)
        if not reasoning.ok:
            raise InvalidKnowledgeBase(f"HermiT: {reasoning}")
        say(f"HermiT: {reasoning}")
    outputs: dict[Path, bytes | str] = {}
    build_dir = project / BUILD_DIR
    for name, query in catalogue(project).items():
        if query.parameters:
            continue  # a parametrised query needs a value: run it with `tradekb query`
        outputs[build_dir / "queries" / f"{name}.csv"] = format_results(run_query(store, query, {}), ResultFormat.CSV)
    say(f"ran {len(outputs)} saved queries")
    for fmt in ExportFormat:
        outputs[build_dir / f"{EXPORT_NAME}.{fmt.extension}"] = serialize(kb, fmt)
    for path, data in sorted(outputs.items()):
        write_atomically(path, data)
    return BuildResult(len(kb), reasoning, sorted(outputs))

