#!/usr/bin/env python3
"""Time `tradekb check FILE` on a generated corpus: the edit-check loop of an annotator.

    python bench/check.py --triples 1000000 [--corpus DIR] [--repeats 5]

Generates the corpus (bench/generate.py --seed 1) unless --corpus names one already generated,
picks the article in the middle, and times, each in a fresh process, as `tradekb check` runs it:

- cold: the first check, which reads every other file and keeps their index (.build/authoring/);
- warm: a check after an edit of that article (its annotation file touched and one of its quotes
  changed and restored in turn), which reads the kept index and the one file: the loop the
  issue bounds at 0.5 s;
- the same warm check as a whole process (`python -m kb.cli check FILE`: Python, imports and all),
  wall and CPU time (on a shared machine the wall time includes waiting for a core).

Prints the medians as a row for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from kb.authoring.index import CACHE  # noqa: E402
TIMED = """
import sys, time
from pathlib import Path
from kb.authoring.check import check
started, cpu = time.perf_counter(), time.process_time()
result = check(Path(sys.argv[1]), Path(sys.argv[2]))
print(time.perf_counter() - started, time.process_time() - cpu, len(result.problems))
"""


def timed_check(project: Path, file: Path) -> tuple[float, float]:
    """Wall and CPU seconds `check` took in a fresh process (imports not counted); it must find
    no problem."""
    out = subprocess.run([sys.executable, "-c", TIMED, str(project), str(file)], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout.split()
    assert out[2] == "0", f"the generated article has {out[2]} problem(s)"
    return float(out[0]), float(out[1])


def whole_process(project: Path, file: Path) -> tuple[float, float]:
    """Wall and CPU seconds of the whole command (on a shared machine the wall time waits for a core)."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run([sys.executable, "-m", "kb.cli", "-C", str(project), "check", str(file)], check=True,
                   capture_output=True, cwd=REPO)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def edit(path: Path, n: int) -> None:
    """An edit that leaves the file valid: a comment line added (n odd) or taken away (n even)."""
    text = path.read_text(encoding="utf-8")
    mark = "# edited by bench/check.py\n"
    path.write_text(text + mark if mark not in text else text.replace(mark, ""), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--corpus", type=Path, help="a corpus bench/generate.py wrote (else one is generated)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    project = args.corpus or Path(tempfile.mkdtemp(prefix="check-bench-")) / "corpus"
    if not (project / "seeds").is_dir():
        sys.path.insert(0, str(REPO / "bench"))
        from generate import generate
        generate(args.triples, project, seed=1)
    articles = sorted((project / "seeds").glob("*.txt"))
    file = articles[len(articles) // 2].with_suffix(".yaml")
    shutil.rmtree(project / CACHE, ignore_errors=True)  # cold: nothing kept yet
    cold = timed_check(project, file)
    warm, process = [], []
    for n in range(args.repeats):
        edit(file, n)
        warm.append(timed_check(project, file))
        edit(file, n + 1)
        process.append(whole_process(project, file))
    print(f"corpus: {project} ({len(articles)} articles); checked {file.name}")
    def median(pairs: list[tuple[float, float]]) -> str:
        return (f"{statistics.median(w for w, _ in pairs):.2f} s wall, "
                f"{statistics.median(c for _, c in pairs):.2f} s CPU")

    print(f"| {args.triples:,} triples ({len(articles)} articles) | {median([cold])} | {median(warm)} | "
          f"{median(process)} |")


if __name__ == "__main__":
    main()
