"""OWL reasoning with HermiT (through owlready2), kept at the edge and talking to the rest through a file.

owlready2 cannot read Turtle, so the union graph is handed over as N-Triples written by rdflib, in
a fresh owlready2 World each time. HermiT runs in Java: its heap is set by TRADEKB_JAVA_MEMORY (MB,
default 1024) instead of owlready2's fixed 2 GB. A `kill -9` of tradekb leaves neither the Java
process (kb.processes.die_with_parent) nor, after the next run, its temporary directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from kb.errors import DependencyError
from kb.processes import die_with_parent, scratch_directory
from kb.graph import KnowledgeBase, graph_iri

# Up to this many quads HermiT gets the whole knowledge base (8 s at 100k, see bench/RESULTS.md);
# above, a slice (reasoning_scope).
REASON_WHOLE_BELOW = 50_000
SLICE_ARTICLES = 3
JAVA_HINT = "Java is needed to run HermiT: install a Java runtime (e.g. apt-get install default-jre-headless)"


@dataclass
class ReasoningReport:
    """HermiT's verdict: is the knowledge base consistent, and which classes can have no member."""

    consistent: bool
    unsatisfiable: list[str] = field(default_factory=list)
    explanation: str = ""
    seconds: float = 0.0
    scope: str = "the graph given"

    @property
    def ok(self) -> bool:
        return self.consistent and not self.unsatisfiable

    def __str__(self) -> str:
        if not self.consistent:
            return ("inconsistent: HermiT found facts that contradict the ontology (e.g. something in two "
                    f"disjoint classes, or two values of a functional property). {self.explanation}").strip()
        if self.unsatisfiable:
            return "consistent, but these classes can have no member: " + ", ".join(self.unsatisfiable)
        return (f"consistent: HermiT found no contradiction and no unsatisfiable class in {self.scope} "
                f"({self.seconds:.1f} s)")


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise DependencyError(JAVA_HINT)
    try:
        subprocess.run([java, "-version"], capture_output=True, check=True, timeout=60, preexec_fn=die_with_parent)
    except (OSError, subprocess.SubprocessError):
        raise DependencyError(JAVA_HINT + " (the java on PATH does not run)") from None
    return java


def reasoning_scope(kb: KnowledgeBase, whole_below: int = REASON_WHOLE_BELOW,
                    articles: int = SLICE_ARTICLES, size: int | None = None) -> tuple[list[ox.Triple], str]:
    """What HermiT is given: the whole KB when it is small, else a slice, and a sentence saying which.

    The slice is the ontology, a few article graphs spread evenly over the corpus, and every triple
    of the registry and derived graphs about a node those articles mention. OWL is monotonic, so a
    contradiction in the slice is one in the whole; the rest of the corpus is not checked. `size`
    is the number of quads, if known.
    """
    if (len(kb) if size is None else size) <= whole_below:  # counting an on-disk store reads all of it
        return kb.triples(), "the whole knowledge base"
    names = [n for n in kb.graph_names if n.rsplit("/", 1)[1] not in ("ontology", "registry", "derived")]
    step = max(1, len(names) // articles)
    chosen = names[::step][:articles]
    picked = [q for name in chosen for q in kb.quads(name)]
    mentioned = {t.value for q in picked for t in (q.subject, q.object) if isinstance(t, ox.NamedNode)}
    picked += kb.quads(str(graph_iri("ontology")))
    shared = [ox.NamedNode(str(graph_iri(name))) for name in ("registry", "derived")]
    picked += [q for node in sorted(mentioned) for graph in shared  # looked up, not scanned: fast on disk too
               for q in kb.store.quads_for_pattern(ox.NamedNode(node), None, None, graph)]
    stems = ", ".join(sorted(n.rsplit("/", 1)[1] for n in chosen))
    return (list(dict.fromkeys(ox.Triple(q.subject, q.predicate, q.object) for q in picked)),
            f"a slice: the ontology, {len(chosen)} of {len(names)} articles ({stems}) and the shared "
            "definitions they mention; the other articles are not checked")


def reason_kb(kb: KnowledgeBase) -> ReasoningReport:
    """Run HermiT over the knowledge base, or over a slice of it when it is large (see reasoning_scope)."""
    triples, scope = reasoning_scope(kb)
    report = reason(triples)
    report.scope = scope
    return report


SCRATCH_PREFIX = "tradekb-reason-"  # HermiT's input and owlready2's files (kb.processes.scratch_directory)


def reason(data: Graph | list[ox.Triple]) -> ReasoningReport:
    """Run HermiT over `data` (ontology and data together) and report in plain words."""
    java = _java()
    import owlready2  # imported here: it is slow to import and only this stage needs it
    from owlready2 import reasoning

    owlready2.JAVA_EXE = java
    reasoning.JAVA_MEMORY = int(os.environ.get("TRADEKB_JAVA_MEMORY", "1024"))
    # owlready2 passes these to its subprocess call: HermiT's Java dies with the thread that waits for it
    reasoning._subprocess_kargs = {**reasoning._subprocess_kargs, "preexec_fn": die_with_parent}
    started = time.perf_counter()
    with scratch_directory(SCRATCH_PREFIX) as scratch:
        tmp = str(scratch)
        path = Path(tmp) / "kb.nt"
        if isinstance(data, Graph):
            data.serialize(destination=path, format="nt", encoding="utf-8")
        else:
            ox.serialize(data, str(path), format=ox.RdfFormat.N_TRIPLES)
        world = owlready2.World()
        default_tmp, tempfile.tempdir = tempfile.tempdir, tmp  # owlready2's own temporary files go here too
        try:
            world.get_ontology(path.as_uri()).load(format="ntriples")
            # xsd:date is outside the OWL 2 datatype map: HermiT skips those values (SHACL checks them)
            owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0,
                                           ignore_unsupported_datatypes=True)
        except owlready2.OwlReadyInconsistentOntologyError as e:
            return ReasoningReport(False, explanation=str(e), seconds=time.perf_counter() - started)
        except (owlready2.OwlReadyJavaError, subprocess.CalledProcessError, OSError) as e:
            lines = [line for line in str(e).splitlines() if line.strip()]
            raise DependencyError(f"HermiT failed: {lines[1] if len(lines) > 1 else e}") from None
        finally:
            tempfile.tempdir = default_tmp
        unsatisfiable = sorted(c.iri for c in world.inconsistent_classes() if c is not owlready2.Nothing)
        world.close()
    return ReasoningReport(True, unsatisfiable, seconds=time.perf_counter() - started)
