"""Benchmark the website at a million triples and write its section of bench/RESULTS.md.

    python bench/site.py                                  # 1M triples, seed 1, 200 pages a type
    python bench/site.py --triples 100000 --pages 50 --repeats 1

Two figures, against the issue's targets:
- **Pages served**: `tradekb serve` of the corpus as a process of its own; for each page type,
  `--pages` pages of that type (things sampled evenly from those of its class; the pages there
  is only one of, such as the timeline, requested that many times) fetched one after another over
  one keep-alive connection on loopback, each timed from the request to the last byte of the
  answer. So "server time" here includes loopback HTTP, an upper bound of the server's own. One
  request of each type first, shown apart ("first": the server may build a cache or an index for
  it); median, p95 and the slowest of the others; target p95 <= 50 ms.
- **The static site**: `tradekb site -o DIR` of the corpus, whole, as a user runs it (build
  included), `--repeats` fresh processes: median wall time and the peak resident memory of it and
  its children; target <= 2 min and <= 1 GB.

Corpora and the reference workload are bench/run.py's (bench/.corpora, `bench/stage.py
reference` timed before and after), so these figures compare with RESULTS.md's other tables.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "tests"))

from run import ENVIRONMENT, WHOLE_JOB, fmt_time, median  # noqa: E402
from servers import read_endpoints  # noqa: E402
from website import THING_KINDS, misspelled, page_path  # noqa: E402

SECTION = "## The website"  # bench/site.py's section of RESULTS.md, replaced whole on each run
TARGET_MS = 50
TARGET_SECONDS = 120
TARGET_MB = 1024


def sample_things(query_url: str, cls: str, count: int) -> list[str]:
    """`count` IRIs of members of `cls`, evenly spread over them in IRI order (repeated if fewer)."""
    query = f"SELECT DISTINCT ?s WHERE {{ ?s a/<http://www.w3.org/2000/01/rdf-schema#subClassOf>* <{cls}> }} ORDER BY ?s"
    body = urllib.parse.urlencode({"query": query})
    request = urllib.request.Request(query_url, body.encode(), {"Accept": "application/sparql-results+json",
                                                              "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=600) as answer:
        iris = [b["s"]["value"] for b in json.load(answer)["results"]["bindings"]]
    if not iris:
        raise SystemExit(f"no member of {cls} in the corpus")
    return [iris[int(i * len(iris) / count) % len(iris)] for i in range(count)]


def singleton_pages(people: list[str], count: int) -> dict[str, list[str]]:
    """The pages of which there is one (or a few: the saved queries), each type `count` times; the
    search for the names of `people` (IRIs), misspelled."""
    queries = sorted(p.stem for p in (ROOT / "queries").glob("*.rq"))
    names = [misspelled(iri.rsplit("/", 1)[1].replace("-", " ")) for iri in people]
    return {"home": ["/index.html"] * count, "timeline": ["/timeline.html"] * count,
            "network": ["/network.html"] * count, "disagreements": ["/disagreements.html"] * count,
            "sources": ["/sources.html"] * count, "ontology": ["/ontology.html"] * count,
            "queries": ["/queries/index.html"] * count, "sparql": ["/sparql.html"] * count,
            "saved query": [f"/queries/{queries[i % len(queries)]}.html" for i in range(count)],
            "search": ["/search.html?" + urllib.parse.urlencode({"q": name}) for name in names[:count]]}


def time_pages(port: int, paths: list[str]) -> list[float]:
    """Seconds from each request to the last byte of its answer, one connection kept alive; the
    first is an extra request of the first path (the server's first page of the type)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    seconds = []
    for path in [paths[0], *paths]:
        began = time.perf_counter()
        connection.request("GET", path)
        answer = connection.getresponse()
        answer.read()
        seconds.append(time.perf_counter() - began)
        if answer.status != 200:
            raise SystemExit(f"GET {path}: {answer.status}")
    connection.close()
    return seconds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def served_pages(corpus: Path, count: int) -> dict[str, list[float]]:
    serve = subprocess.Popen([sys.executable, "-m", "kb.cli", "-C", str(corpus), "serve", "--port", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENVIRONMENT)
    try:
        query_url = read_endpoints(serve).query
        port = urllib.parse.urlsplit(query_url).port
        things = {kind: sample_things(query_url, str(cls), count) for kind, cls in THING_KINDS.items()}
        pages = {kind: ["/" + page_path(iri) for iri in iris] for kind, iris in things.items()}
        pages |= singleton_pages(things["person"], count)
        return {kind: time_pages(port, paths) for kind, paths in pages.items()}
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(60)


def static_site(corpus: Path, repeats: int) -> dict:
    runs = []
    with tempfile.TemporaryDirectory(dir=corpus) as scratch:
        for n in range(repeats):
            out = Path(scratch) / f"site-{n}"
            done = subprocess.run([sys.executable, "-c", WHOLE_JOB, sys.executable, "-m", "kb.cli", "-C", str(corpus),
                                   "site", "-o", str(out)], capture_output=True, text=True, env=ENVIRONMENT, cwd=ROOT)
            run = json.loads(done.stdout.strip().splitlines()[-1])
            if run["status"] != 0:
                raise SystemExit(f"tradekb site failed on {corpus}: {run['output']}")
            run["pages"] = sum(1 for _ in out.rglob("*.html"))
            run["bytes"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
            runs.append(run)
            shutil.rmtree(out)
    return {"seconds": statistics.median(r["seconds"] for r in runs), "peak_mb": max(r["peak_mb"] for r in runs),
            "pages": runs[0]["pages"], "bytes": runs[0]["bytes"], "runs": [round(r["seconds"], 1) for r in runs]}


def section(args, triples: int, timings: dict[str, list[float]], static: dict, reference: list[dict | None]) -> str:
    ms = lambda seconds: f"{seconds * 1000:.1f}"  # noqa: E731
    lines = [SECTION, "",
             f"Written by `python bench/site.py {' '.join(sys.argv[1:])}` on a corpus of {triples:,} triples "
             f"(`bench/generate.py --seed {args.seed}`). The reference workload took "
             f"{fmt_time(reference[0], 0)} before and {fmt_time(reference[-1], 0)} after.", "",
             f"Pages served by `tradekb serve`: {args.pages} pages of each type, one after another on one "
             "keep-alive connection over loopback, each timed from request to last byte (an upper bound of "
             f"server time), after a first request of the type, shown apart; target p95 <= {TARGET_MS} ms.", "",
             "| page type | first ms | median ms | p95 ms | slowest ms | p95 / target |", "|---|---|---|---|---|---|"]
    for kind, (first, *seconds) in timings.items():
        p95 = percentile(seconds, 0.95)
        lines.append(f"| {kind} | {ms(first)} | {ms(statistics.median(seconds))} | {ms(p95)} | {ms(max(seconds))} | "
                     f"{p95 * 1000 / TARGET_MS:.2f} |")
    lines += ["", f"The whole static site, `tradekb site -o DIR` as a user runs it (build included), median of "
              f"{args.repeats} fresh processes ({', '.join(map(str, static['runs']))} s): "
              f"**{static['seconds']:.1f} s** (target {TARGET_SECONDS} s: {static['seconds'] / TARGET_SECONDS:.2f} "
              f"of it), peak memory **{static['peak_mb']} MB** (target {TARGET_MB} MB: "
              f"{static['peak_mb'] / TARGET_MB:.2f}); {static['pages']:,} pages, {static['bytes'] / 1e6:.0f} MB."]
    return "\n".join(lines) + "\n"


def write_section(out: Path, text: str) -> None:
    """Replace this script's section of RESULTS.md (from its heading to the next `## `), or add it."""
    old = out.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    new = pattern.sub(lambda _: text, old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + text
    out.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pages", type=int, default=200, help="pages timed of each type")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the static site and of the reference")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    corpus = BENCH / ".corpora" / f"{args.triples}-{args.seed}"
    if not (corpus / "seeds").exists():
        subprocess.run([sys.executable, str(BENCH / "generate.py"), "--triples", str(args.triples), "--out", str(corpus),
                        "--seed", str(args.seed)], check=True, stdout=subprocess.DEVNULL)
    for part in ("ontology", "queries"):  # a kept corpus gets the project's current ones
        shutil.copytree(ROOT / part, corpus / part, dirs_exist_ok=True)
    reference = [median("reference", ROOT, args.repeats, 600)]
    triples = json.loads(subprocess.run([sys.executable, str(BENCH / "stage.py"), "snapshot", str(corpus)],
                                        capture_output=True, text=True, check=True, cwd=ROOT).stdout)["triples"]
    timings = served_pages(corpus, args.pages)
    static = static_site(corpus, args.repeats)
    reference.append(median("reference", ROOT, args.repeats, 600))
    text = section(args, triples, timings, static, reference)
    print(text)
    write_section(args.out, text)


if __name__ == "__main__":
    main()
