"""What the front of `tradekb serve` costs: large answers fetched through it and straight from the
Oxigraph server behind it (on its browser-blocked port), median of N, on a generated corpus.

    python bench/serve_front.py --triples 100000 [--runs 5]

Prints one line per request: bytes, median seconds through the front and direct, and the ratio.
"""

from __future__ import annotations

import argparse
import http.client
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))

from generate import generate  # noqa: E402
from servers import read_endpoints  # noqa: E402

REQUESTS = {
    "CONSTRUCT of the whole KB (N-Triples)": ("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }",
                                              "application/n-triples"),
    "reports (CSV)": ((REPO / "queries" / "reports.rq").read_text(encoding="utf-8"), "text/csv"),
    "ASK {} (the cost of one request)": ("ASK {}", "application/sparql-results+json"),
}


def fetch(port: int, query: str, accept: str) -> tuple[int, float]:
    """Bytes of the answer and seconds until its last byte."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    began = time.perf_counter()
    connection.request("POST", "/query", urllib.parse.urlencode({"query": query}),
                       {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept})
    response = connection.getresponse()
    size = 0
    while chunk := response.read1(1 << 16):
        size += len(chunk)
    elapsed = time.perf_counter() - began
    assert response.status == 200, response.status
    connection.close()
    return size, elapsed


def backend_port(serve: subprocess.Popen) -> int:
    for child in Path(f"/proc/{serve.pid}/task/{serve.pid}/children").read_text().split():
        argv = Path(f"/proc/{child}/cmdline").read_bytes().decode().split("\0")
        if Path(argv[0]).name == "oxigraph":
            return int(argv[argv.index("--bind") + 1].rpartition(":")[2])
    raise SystemExit("no Oxigraph server under the serve")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "corpus"
        generate(args.triples, project, seed=7)
        serve = subprocess.Popen([sys.executable, "-m", "kb.cli", "-C", str(project), "serve", "--port", "0",
                                  "--shacl", "sparql"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            front = int(read_endpoints(serve).query.rsplit(":", 1)[1].split("/")[0])
            direct = backend_port(serve)
            for name, (query, accept) in REQUESTS.items():
                fetch(front, query, accept)  # warm both the same way
                times = {"front": [], "direct": []}
                for _ in range(args.runs):  # interleaved, so that a slow moment hits both
                    for side, port in (("front", front), ("direct", direct)):
                        size, elapsed = fetch(port, query, accept)
                        times[side].append(elapsed)
                through, bare = statistics.median(times["front"]), statistics.median(times["direct"])
                print(f"{name}: {size:,} bytes, front {through * 1000:.1f} ms, direct {bare * 1000:.1f} ms, "
                      f"x{through / bare:.2f} ({(through - bare) * 1000:+.1f} ms)")
        finally:
            serve.send_signal(signal.SIGINT)
            serve.wait(30)


if __name__ == "__main__":
    main()
