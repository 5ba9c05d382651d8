"""Benchmark tradekb against the plain stack, stage by stage, and write bench/RESULTS.md.

    python bench/run.py                      # 10k and 100k triples, 3 runs each
    python bench/run.py --sizes 10000,100000,1000000 --repeats 3

Every figure is the median of fresh processes (bench/stage.py), with the peak resident memory of
the process and its children. The baseline is the plain stack a newcomer would write (rdflib's
memory store, pySHACL with default options, rdflib's SPARQL engine and Turtle serializer) on the
same corpora; its runs stop at --timeout seconds and are then shown as "> timeout". Corpora come
from bench/generate.py (seed --seed) and are kept in bench/.corpora between runs. Two more tables:
the on-disk store beside the in-memory one, and a rebuild after an edit of one article
(`tradekb build --store oxigraph` again) beside the whole build. A fixed reference workload, timed
before and after, says how fast the machine was, so that runs can be compared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

QUERIES = sorted(p.stem for p in (ROOT / "queries").glob("*.rq") if p.stem not in ("meetings-of", "statements-by"))
STAGES = (["load", "graph", "validate", "reason"] + [f"query {q}" for q in QUERIES] +
          ["export turtle", "build"])
# The on-disk store (--store oxigraph) beside the in-memory one: each query on the reopened store,
# writing the store, and a whole `tradekb query` command each way (the on-disk store reopened).
WHOLE_QUERY = "reports"
REBUILD_STORE = ".bench-rebuild-store"
STATUS_TOGGLE = re.compile(r"status: (planned|proposed)\b")  # both are a meeting's and a measure's
STORE_STAGES = {f"query {q}": f"disk-query {q}" for q in QUERIES}
STORE_STAGES[f"tradekb query {WHOLE_QUERY}"] = f"tradekb query {WHOLE_QUERY} --store oxigraph:{{corpus}}/.bench-store"
BASELINE = {"graph": "base-graph", "validate": "base-validate", "export turtle": "base-export",
            "build": "base-build", **{f"query {q}": f"base-query {q}" for q in QUERIES}}


def say(message: str) -> None:
    if sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)


# Runs a whole job as a child and reports its wall time and the peak memory of it and its
# descendants (wait4's rusage), as the stage processes do for themselves.
WHOLE_JOB = """
import json, os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
output = child.stderr.read().decode()  # what the command says it did
_, status, usage = os.wait4(child.pid, 0)
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": usage.ru_maxrss // 1024,
                  "status": os.waitstatus_to_exitcode(status), "output": output}))
"""


# Python as it is by default, caching compiled modules: a machine that sets PYTHONDONTWRITEBYTECODE
# (this one does) has every command compile tradekb's modules again, 0.1 s of each
ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
SETUP_ALLOWANCE = 900  # seconds a stage process may spend on its untimed setup
# The baseline's whole build is given this many times tradekb's build: if it does not finish, tradekb
# is more than that much faster, which is the question (issue 4's target), at no more cost than that.
TARGET_RATIO = 8


def run_once(stage: str, corpus: Path, timeout: float) -> dict | None:
    """One fresh process; None when the timed part ran past the timeout (setup is not counted)."""
    name, _, arg = stage.partition(" ")
    command = [sys.executable, str(BENCH / "stage.py"), name, str(corpus)] + ([arg] if arg else [])
    whole = name in ("build", "tradekb")  # a whole command, as a user runs it: all of it is timed
    if whole:
        words = ["build"] if name == "build" else arg.format(corpus=corpus).split()
        command = [sys.executable, "-c", WHOLE_JOB, sys.executable, "-m", "kb.cli", "-C", str(corpus), *words]
    else:
        command += ["--limit", str(timeout)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT,
                               env=ENVIRONMENT, start_new_session=True)
    try:
        out, _ = process.communicate(timeout=timeout + (0 if whole else SETUP_ALLOWANCE))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.communicate()
        return None
    result = json.loads(out.decode().strip().splitlines()[-1]) if process.returncode == 0 else {"status": 1}
    if process.returncode != 0 or result.get("status", 0) != 0:
        raise SystemExit(f"{stage} failed on {corpus}")
    return None if result.get("timeout") else result


def rebuilds(corpus: Path, repeats: int, timeout: float) -> tuple[dict | None, dict | None]:
    """`tradekb build --store oxigraph` from scratch, then the median of `repeats` rebuilds, each
    after an edit of one article's annotations (a status toggled between planned and proposed in
    the first article from the middle on that has one, then back), each checked to be a rebuild
    and not a full build."""
    store = corpus / REBUILD_STORE
    shutil.rmtree(store, ignore_errors=True)
    command = f"tradekb build --store oxigraph:{store}"
    full = run_once(command, corpus, timeout)
    articles = sorted(p for p in (corpus / "seeds").glob("*.yaml") if p.name != "registry.yaml")
    middle = articles[len(articles) // 2:] + articles[:len(articles) // 2]
    article = next(p for p in middle if STATUS_TOGGLE.search(p.read_text(encoding="utf-8")))
    original = article.read_text(encoding="utf-8")
    edited = STATUS_TOGGLE.sub(lambda m: "status: " + ("proposed" if m.group(1) == "planned" else "planned"),
                               original, count=1)
    runs = []
    try:
        for n in range(repeats):
            article.write_text(edited if n % 2 == 0 else original, encoding="utf-8")
            run = run_once(command, corpus, timeout)
            if run is None or "rebuilt after a change to" not in run["output"]:
                raise SystemExit(f"{command} after an edit of {article.name} was not a rebuild")
            runs.append(run)
    finally:
        article.write_text(original, encoding="utf-8")
    return full, {"seconds": statistics.median(r["seconds"] for r in runs), "peak_mb": max(r["peak_mb"] for r in runs)}


def median(stage: str, corpus: Path, repeats: int, timeout: float) -> dict | None:
    runs = []
    for _ in range(repeats):
        result = run_once(stage, corpus, timeout)
        if result is None:
            return None
        runs.append(result)
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "peak_mb": max(r["peak_mb"] for r in runs)}


def fmt_time(result: dict | None, timeout: float) -> str:
    return f"> {timeout:.0f} s" if result is None else f"{result['seconds']:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="target triples, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-repeats", type=int, help="runs of each baseline stage (default: --repeats)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600, help="seconds before a baseline run is stopped")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[int, dict] = {}
    stores: dict[int, dict] = {size: {} for size in sizes}
    triples: dict[int, int] = {}
    rebuilt: dict[int, tuple[dict | None, dict | None]] = {}
    say("reference")
    reference = [median("reference", ROOT, args.repeats, args.timeout)]
    for size in sizes:
        corpus = BENCH / ".corpora" / f"{size}-{args.seed}"
        if not (corpus / "seeds").exists():  # in a child too, for the same reason as the snapshot below
            subprocess.run([sys.executable, str(BENCH / "generate.py"), "--triples", str(size), "--out", str(corpus),
                            "--seed", str(args.seed)], check=True, stdout=subprocess.DEVNULL)
        for part in ("ontology", "queries"):  # a kept corpus gets the project's current ones
            shutil.copytree(ROOT / part, corpus / part, dirs_exist_ok=True)
        # in a child: a child's peak memory starts at its parent's size on Linux, so this process
        # stays small and never holds a corpus itself
        triples[size] = run_once("snapshot", corpus, args.timeout)["triples"]
        results[size] = {}
        for stage in STAGES:
            say(f"{size}: {stage}")
            ours = median(stage, corpus, args.repeats, args.timeout)
            base, limit = None, args.timeout
            if stage == "build" and ours:
                limit = TARGET_RATIO * ours["seconds"]
            # a baseline stage that ran out of time on a smaller corpus is not run again on a larger
            # one (the build's limit grows with the corpus, so it always runs)
            timed_out = stage != "build" and any(results[s][stage][1] is None for s in results if s < size)
            if stage in BASELINE and not args.no_baseline and not timed_out:
                say(f"{size}: baseline {stage}")
                base = median(BASELINE[stage], corpus, args.baseline_repeats or args.repeats, limit)
            results[size][stage] = (ours, base, limit)
        run_once("store-snapshot", corpus, args.timeout)
        for stage, on_disk in STORE_STAGES.items():
            say(f"{size}: {on_disk}")
            memory = results[size][stage][0] if stage in results[size] else median(stage, corpus, args.repeats,
                                                                                     args.timeout)
            stores[size][stage] = (memory, median(on_disk, corpus, args.repeats, args.timeout))
        say(f"{size}: store-write")
        stores[size]["write the store"] = (None, median("store-write", corpus, args.repeats, args.timeout))
        say(f"{size}: rebuild")
        rebuilt[size] = rebuilds(corpus, args.repeats, args.timeout)
    say("reference")
    reference.append(median("reference", ROOT, args.repeats, args.timeout))
    write(args, sizes, triples, results, stores, rebuilt, reference)


def exponent(t_small: float, t_large: float, n_small: int, n_large: int) -> str:
    if t_small <= 0 or t_large <= 0:
        return ""
    return f"{math.log(t_large / t_small) / math.log(n_large / n_small):.2f}"


def write(args, sizes: list[int], triples: dict[int, int], results: dict[int, dict], stores: dict[int, dict],
          rebuilt: dict[int, tuple[dict | None, dict | None]], reference: list[dict | None]) -> None:
    lines = ["# Benchmark results", "",
             f"Written by `python bench/run.py {' '.join(sys.argv[1:])}` on {os.cpu_count()} cores. "
             f"Medians of {args.repeats} fresh processes ({args.baseline_repeats or args.repeats} for the "
             "baseline); peak memory is the largest resident set of the process and its children. Each stage "
             "process sets up untimed (the stages after `graph` load the built graph from an N-Quads "
             "snapshot); `build` is the whole `tradekb build`, all of it timed. *ratio* = baseline time / "
             "tradekb time. The baseline is the plain stack (rdflib memory store, pySHACL defaults, rdflib "
             f"SPARQL and serializer); its timed part is stopped after {args.timeout:.0f} s, and a stage that "
             "ran out of time on a smaller corpus is not run on a larger one. Its `build` starts from the "
             "built graph, so it leaves out loading the annotations, and it is given "
             f"{TARGET_RATIO}× tradekb's build time: \"> N s\" there means tradekb is more than {TARGET_RATIO}× faster. "
             f"Corpora: `bench/generate.py --seed {args.seed}`.", "",
             "How fast the machine was: a fixed workload that no change to tradekb alters (`bench/stage.py "
             f"reference`) took {fmt_time(reference[0], args.timeout)} before the run and "
             f"{fmt_time(reference[-1], args.timeout)} after it: two runs' figures compare only as far as "
             "these do.",
             "", "| stage | " + " | ".join(f"{triples[s]:,} triples: tradekb / baseline / ratio / peak MB" for s in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for stage in STAGES:
        cells = []
        for size in sizes:
            ours, base, limit = results[size][stage]
            ratio = (f"{base['seconds'] / ours['seconds']:.1f}×" if ours and base and ours["seconds"] > 0
                     else ("> " + f"{limit / ours['seconds']:.0f}×" if ours and stage in BASELINE
                           and not args.no_baseline else "–"))
            base_text = fmt_time(base, limit) if stage in BASELINE and not args.no_baseline else "–"
            cells.append(f"{fmt_time(ours, args.timeout)} / {base_text} / {ratio} / "
                         f"{ours['peak_mb'] if ours else '–'}")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    if len(sizes) >= 2:
        small, large = sizes[-2], sizes[-1]
        lines += ["", f"Scaling exponent b in t ~ N^b from {triples[small]:,} to {triples[large]:,} triples:", "",
                  "| stage | b (tradekb) | b (baseline) |", "|---|---|---|"]
        for stage in STAGES:
            ours_s, base_s, _ = results[small][stage]
            ours_l, base_l, _ = results[large][stage]
            b_ours = exponent(ours_s["seconds"], ours_l["seconds"], triples[small], triples[large]) \
                if ours_s and ours_l else ""
            b_base = exponent(base_s["seconds"], base_l["seconds"], triples[small], triples[large]) \
                if base_s and base_l else ""
            lines.append(f"| {stage} | {b_ours} | {b_base or '–'} |")
    lines += ["", "The on-disk store (`--store oxigraph`) beside the in-memory one (the default): each query "
              "on the reopened store; a whole `tradekb query` command, in memory building the graph from the "
              "annotations, on disk reopening the store; and writing the store, which a command does once "
              "per change of the inputs. *ratio* = on disk / in memory.", "",
              "| stage | " + " | ".join(f"{triples[s]:,} triples: memory / on disk / ratio" for s in sizes) + " |",
              "|---|" + "---|" * len(sizes)]
    for stage in stores[sizes[0]]:
        cells = []
        for size in sizes:
            memory, disk = stores[size][stage]
            ratio = f"{disk['seconds'] / memory['seconds']:.1f}" if memory and disk and memory["seconds"] > 0 else "–"
            cells.append(f"{fmt_time(memory, args.timeout) if memory else '–'} / {fmt_time(disk, args.timeout)} / {ratio}")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines += ["", "A rebuild after an edit of one article's annotations: `tradekb build --store oxigraph` "
              "from scratch (once), then the same command after each of "
              f"{args.repeats} edits of one article (median; each checked to be a rebuild), beside the whole "
              "`tradekb build` of the first table. *ratio* = build / rebuild.", "",
              "| | " + " | ".join(f"{triples[s]:,} triples" for s in sizes) + " |", "|---|" + "---|" * len(sizes)]
    lines.append("| build, keeping the store (once) | " + " | ".join(
        f"{fmt_time(rebuilt[s][0], args.timeout)} / {rebuilt[s][0]['peak_mb'] if rebuilt[s][0] else '–'} MB" for s in sizes) + " |")
    lines.append("| rebuild after one article's edit | " + " | ".join(
        f"{fmt_time(rebuilt[s][1], args.timeout)} / {rebuilt[s][1]['peak_mb'] if rebuilt[s][1] else '–'} MB" for s in sizes) + " |")
    lines.append("| ratio: build / rebuild | " + " | ".join(
        f"{results[s]['build'][0]['seconds'] / rebuilt[s][1]['seconds']:.1f}×"
        if results[s]["build"][0] and rebuilt[s][1] else "–" for s in sizes) + " |")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
