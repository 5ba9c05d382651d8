"""One benchmark stage in a fresh process: set up untimed, time the stage, print JSON.

    python bench/stage.py STAGE PROJECT [ARG] [--limit SECONDS]

Stages of tradekb: load, graph (into the store), validate, reason, query NAME, export FORMAT;
and for the on-disk store: store-write (the built graph into a new on-disk store), disk-query NAME
(on the store that `store-snapshot` wrote to PROJECT/.bench-store, reopened).
Stages of the baseline (the plain stack a newcomer would write: rdflib's memory store, pySHACL with
default options, rdflib's SPARQL engine and serializer): base-graph, base-validate, base-query NAME,
base-export, and base-build (all of them in one process).
`reference` times a fixed workload that needs no project (a grouped query over 300,000 generated
triples and a sort of 500,000 strings), to show how fast the machine was during a run.
`snapshot` writes PROJECT/.bench-kb.nq, the built graph, which the stages after `graph` load as
their untimed setup (a million quads load in seconds, where building them takes half a minute),
and says how many distinct triples it holds.

Output: {"seconds": wall time of the stage, "peak_mb": peak resident memory of the process and
its children, setup included}, or {"timeout": true} when the timed part ran past --limit.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import time
from pathlib import Path
from typing import Callable

import pyoxigraph as ox

SNAPSHOT = ".bench-kb.nq"
DISK_STORE = ".bench-store"


def peak_mb() -> int:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) // 1024


def timed(work: Callable[[], object], limit: float | None) -> dict:
    """Run `work` and say how long it took; past `limit` seconds, stop the process and say so."""
    def give_up(*_):
        print(json.dumps({"timeout": True}), flush=True)
        os._exit(0)
    if limit:
        signal.signal(signal.SIGALRM, give_up)
        signal.setitimer(signal.ITIMER_REAL, limit)
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    signal.setitimer(signal.ITIMER_REAL, 0)
    return {"seconds": seconds}


def snapshot_kb(project: Path):
    """The knowledge base as `snapshot` wrote it (origins are not kept: the corpora validate)."""
    from kb.graph import KnowledgeBase
    store = ox.Store()
    # load, as the build fills its store: a store filled by bulk_load answers queries 1.3x slower
    store.load(path=str(project / SNAPSHOT), format=ox.RdfFormat.N_QUADS)
    return KnowledgeBase(store, {})


def reference_stage(limit: float | None) -> dict:
    """The same work every run, whatever the code and the corpora: its time is the machine's speed."""
    import random
    numbers = random.Random(0)
    lines = "".join(f"<urn:r:s{i}> <urn:r:p{i % 7}> \"v{numbers.randrange(5000)}\" .\n" for i in range(300_000))
    words = [str(numbers.random()) for _ in range(500_000)]
    store = ox.Store()
    store.load(lines.encode(), format=ox.RdfFormat.N_TRIPLES)
    grouped = "SELECT ?p (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY ?p"
    return timed(lambda: (list(store.query(grouped)), sorted(words)), limit)


def tradekb_stage(stage: str, project: Path, arg: str | None, limit: float | None) -> dict:
    from kb.annotations import load_corpus
    from kb.graph import build_graph, load_ontology
    from kb.queries import catalogue, run_query
    from kb.validate import Engine, load_shapes, validate

    if stage == "load":
        return timed(lambda: load_corpus(project), limit)
    if stage in ("graph", "snapshot"):
        corpus, ontology = load_corpus(project), load_ontology(project)
        if stage == "graph":
            return timed(lambda: build_graph(corpus, ontology), limit)
        kb = build_graph(corpus, ontology)
        kb.store.dump(str(project / SNAPSHOT), format=ox.RdfFormat.N_QUADS)
        return {"seconds": 0.0, "triples": len(kb.triples())}
    if stage == "disk-query":
        from kb.storage import DiskStore, Manifest
        disk = DiskStore(project / DISK_STORE)
        kb = disk.open(Manifest.read(disk.location), project)
        query = catalogue(project)[arg]
        return timed(lambda: run_query(kb.store, query, {}), limit)
    kb = snapshot_kb(project)
    if stage == "store-snapshot":  # as `tradekb ... --store oxigraph:PROJECT/.bench-store` would find it
        from kb.storage import DiskStore, inputs_digest
        import shutil
        shutil.rmtree(project / DISK_STORE, ignore_errors=True)
        DiskStore(project / DISK_STORE).write(kb, project, inputs_digest(project), None)
        return {"seconds": 0.0}
    if stage == "store-write":
        import tempfile
        from kb.storage import DiskStore
        with tempfile.TemporaryDirectory() as tmp:
            with DiskStore(Path(tmp) / "store").writing() as writer:
                return timed(lambda: writer.write_data(kb, project), limit)
    if stage == "validate":
        shapes = load_shapes(project)
        return timed(lambda: validate(kb, shapes, Engine.AUTO), limit)
    if stage == "query":
        query = catalogue(project)[arg]
        return timed(lambda: run_query(kb.store, query, {}), limit)
    if stage == "reason":
        from kb.reason import reason_kb
        return timed(lambda: reason_kb(kb), limit)
    if stage == "export":
        import tempfile
        from kb.export import ExportFormat, serialize
        with tempfile.TemporaryDirectory() as tmp:
            return timed(lambda: serialize(kb, ExportFormat.named(arg), Path(tmp) / "out"), limit)
    raise SystemExit(f"unknown stage {stage!r}")


def baseline_stage(stage: str, project: Path, arg: str | None, limit: float | None) -> dict:
    """The plain stack: an rdflib memory graph, pySHACL defaults, rdflib's SPARQL and serializer."""
    from pyshacl import validate as pyshacl_validate
    from kb.queries import catalogue
    from kb.validate import load_shapes

    kb = snapshot_kb(project)
    shapes, queries = load_shapes(project), catalogue(project)
    if stage == "base-graph":
        return timed(kb.union, limit)
    if stage == "base-build":
        def whole_job():
            graph = kb.union()
            pyshacl_validate(graph, shacl_graph=shapes, advanced=True)
            for query in queries.values():
                if not query.parameters:
                    list(graph.query(query.text))
            graph.serialize(format="turtle")
        return timed(whole_job, limit)
    graph = kb.union()
    if stage == "base-validate":
        return timed(lambda: pyshacl_validate(graph, shacl_graph=shapes, advanced=True), limit)
    if stage == "base-query":
        return timed(lambda: list(graph.query(queries[arg].text)), limit)
    if stage == "base-export":
        return timed(lambda: graph.serialize(format="turtle"), limit)
    raise SystemExit(f"unknown stage {stage!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage")
    parser.add_argument("project", type=Path)
    parser.add_argument("arg", nargs="?")
    parser.add_argument("--limit", type=float, help="seconds the timed part may take")
    args = parser.parse_args()
    if args.stage == "reference":
        result = reference_stage(args.limit)
    else:
        run = baseline_stage if args.stage.startswith("base-") else tradekb_stage
        result = run(args.stage, args.project, args.arg, args.limit)
    result["peak_mb"] = peak_mb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
