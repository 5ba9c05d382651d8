"""One benchmark stage in a fresh process: set up untimed, time the stage, print JSON.

    python bench/stage.py STAGE PROJECT [ARG]

Stages of tradekb: load, graph (into the store), validate, reason, query NAME, export FORMAT.
Stages of the baseline (the plain stack a newcomer would write: rdflib's memory store, pySHACL with
default options, rdflib's SPARQL engine and serializer): base-graph, base-validate, base-query NAME,
base-export, and base-build (all of them in one process).
Output: {"seconds": wall time of the stage, "peak_mb": peak resident memory of the process and
its children, setup included}.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def peak_mb() -> int:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) // 1024


def main(stage: str, project: Path, arg: str | None) -> dict:
    from kb.annotations import load_corpus
    from kb.graph import build_graph, load_ontology

    if stage == "load":
        started = time.perf_counter()
        load_corpus(project)
        return {"seconds": time.perf_counter() - started}
    corpus = load_corpus(project)
    if stage == "graph":
        started = time.perf_counter()
        build_graph(corpus, load_ontology(project))
        return {"seconds": time.perf_counter() - started}
    kb = build_graph(corpus, load_ontology(project))
    from kb.queries import catalogue, run_query
    from kb.validate import load_shapes

    if stage in ("validate", "query"):
        started = time.perf_counter()
        if stage == "validate":
            from kb.validate import Engine, validate
            validate(kb, load_shapes(project), Engine.AUTO)
        else:
            run_query(kb.store, catalogue(project)[arg], {})
        return {"seconds": time.perf_counter() - started}
    if stage == "reason":
        from kb.reason import reason_kb
        started = time.perf_counter()
        reason_kb(kb)
        return {"seconds": time.perf_counter() - started}
    if stage == "export":
        import tempfile
        from kb.export import ExportFormat, serialize
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            serialize(kb, ExportFormat.named(arg), Path(tmp) / "out")
            return {"seconds": time.perf_counter() - started}
    # the baseline: rdflib memory graph, pySHACL defaults, rdflib SPARQL and serializer
    from pyshacl import validate as pyshacl_validate
    started = time.perf_counter()
    graph = kb.union()
    if stage == "base-graph":
        return {"seconds": time.perf_counter() - started}
    if stage in ("base-validate", "base-build"):
        started = started if stage == "base-build" else time.perf_counter()
        pyshacl_validate(graph, shacl_graph=load_shapes(project), advanced=True)
        if stage == "base-validate":
            return {"seconds": time.perf_counter() - started}
    if stage in ("base-query", "base-build"):
        started = started if stage == "base-build" else time.perf_counter()
        for name, query in catalogue(project).items():
            if (stage == "base-build" and not query.parameters) or name == arg:
                list(graph.query(query.text))
        if stage == "base-query":
            return {"seconds": time.perf_counter() - started}
    started = started if stage == "base-build" else time.perf_counter()
    graph.serialize(format="turtle")
    return {"seconds": time.perf_counter() - started}


if __name__ == "__main__":
    result = main(sys.argv[1], Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
    result["peak_mb"] = peak_mb()
    print(json.dumps(result))
