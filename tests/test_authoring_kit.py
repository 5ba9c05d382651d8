"""The authoring kit end to end, as a user drives it: real `tradekb` processes on real files.

- On a copy of the repository's corpus, a short article not among the seeds goes from
  `tradekb new` to a clean `tradekb build` with the kit's commands alone (the issue's "done when").
- A new corpus about another dispute (tests/fixtures/lumber), started with `tradekb init` and
  written with `new` and `check`, builds and answers the saved queries.

"Filling the scaffold as a user would" is replacing it with the finished file kept in the fixture,
after checking that the scaffold holds the guesses the user kept.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

from kb.annotations import REGISTRY
from kb.dates import resolve_date
from kb.yamlfile import load_yaml

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
LUMBER = FIXTURES / "lumber"
PROBLEM_LINE = re.compile(r"^seeds/[\w.-]+\.yaml:\d+: .+$")


def tradekb(project: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    """Run tradekb in `project` (as a user does: problems then name seeds/… relative to it)."""
    done = subprocess.run([sys.executable, "-m", "kb.cli", *args], capture_output=True, text=True, timeout=300,
                          cwd=project)
    assert (done.returncode == 0) == ok, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def new_article(project: Path, article: Path) -> Path:
    """`tradekb new`, returning the scaffold it wrote, after checking the article was copied as it is."""
    text_path, yaml_path = (project / line for line in tradekb(project, "new", str(article)).stdout.split())
    assert text_path.read_bytes() == article.read_bytes()
    assert text_path.stem == yaml_path.stem
    return yaml_path


def finish(scaffold: Path, finished: Path) -> None:
    """What the user does: every guess the scaffold made that the finished file keeps, kept."""
    ours = scaffold.read_text(encoding="utf-8")
    theirs = load_yaml(finished.read_text(encoding="utf-8"))
    for key in ("title", "wire_services", "published", "timezone"):  # guessed right, or left to the user
        kept = theirs["article"][key]
        guessed = f"{key}: {json.dumps(kept)}" if key == "title" else f"{key}: {kept}".replace("'", "")
        assert guessed in ours or f"{key}: TODO" in ours, key
    for item in theirs.get("statements", []):
        assert f"quote: \"{item['quote']}\"" in ours, item["quote"]  # each quotation was a candidate
        assert f"attribution: \"{item['attribution']}\"" in ours, item["attribution"]  # with its framing
    shutil.copyfile(finished, scaffold)


def check_fails_with_only_todos(project: Path, scaffold: Path) -> None:
    result = tradekb(project, "check", str(scaffold.relative_to(project)), ok=False)
    lines = result.stderr.splitlines()
    assert lines and all(PROBLEM_LINE.match(line) for line in lines), result.stderr
    todo_lines = {f"{scaffold.relative_to(project)}:{n}"
                  for n, line in enumerate(scaffold.read_text(encoding="utf-8").splitlines(), 1) if "TODO" in line}
    assert {line.split(": ")[0] for line in lines} == todo_lines  # every TODO said, and nothing but the TODOs


def rows(project: Path, query: str) -> list[dict[str, str]]:
    with open(project / "build" / "queries" / f"{query}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_an_article_not_among_the_seeds_goes_from_new_to_a_clean_build(tmp_path):
    project = tmp_path / "repo"
    for part in ("seeds", "ontology", "queries"):
        shutil.copytree(REPO / part, project / part)
    article = FIXTURES / "authoring" / "kang_bangkok.txt"
    scaffold = new_article(project, article)
    assert scaffold.name.startswith("005_")
    check_fails_with_only_todos(project, scaffold)
    finish(scaffold, FIXTURES / "authoring" / "kang_bangkok.yaml")
    checked = tradekb(project, "check", str(scaffold.relative_to(project)))
    assert "no problems" in checked.stdout
    assert re.search(r"^note: seeds/002_\w+\.yaml:\d+: kono-kang-bangkok-talks is named by 2 files \(002_\w+, "
                     rf"{scaffold.stem}\): define it in registry\.yaml$", checked.stdout, re.M)  # now two articles do
    tradekb(project, "build")
    sources = {row["statement"].rsplit("/", 1)[1]: row["sources"] for row in rows(project, "statements")}
    assert sources["kr-official-curbs-must-be-withdrawn"] == scaffold.stem


def test_a_corpus_about_another_dispute_is_started_with_init_and_answers_the_saved_queries(tmp_path):
    project = tmp_path / "lumber"
    tradekb(tmp_path, "init", str(project))
    assert sorted(p.name for p in (project / "queries").glob("*.rq")) == sorted(p.name for p in (REPO / "queries").glob("*.rq"))
    registry = project / "seeds" / REGISTRY
    first_line = registry.read_text(encoding="utf-8").splitlines()[0]
    registry.write_text(first_line + "\n" + (LUMBER / "registry.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    stems = {}
    for name in ("article1", "article2"):
        scaffold = new_article(project, LUMBER / f"{name}.txt")
        check_fails_with_only_todos(project, scaffold)
        finish(scaffold, LUMBER / f"{name}.yaml")
        tradekb(project, "check", str(scaffold.relative_to(project)))
        stems[name] = scaffold.stem
    assert tradekb(project, "check").stdout == "no problems: the whole corpus\n"  # no note: each id where it belongs
    tradekb(project, "build")

    # Every saved query without parameters answered; what they say is what the annotations say.
    annotated = {name: load_yaml((LUMBER / f"{name}.yaml").read_text(encoding="utf-8")) for name in stems}
    reporters: dict[str, set[str]] = {}
    for name, data in annotated.items():
        for section in ("meetings", "measures", "statements"):
            for item in data.get(section) or []:
                reporters.setdefault(item["id"], set()).add(stems[name])
    answered = {row["measure"].rsplit("/", 1)[1]: row for row in rows(project, "measures")}
    answered |= {row["meeting"].rsplit("/", 1)[1]: row for row in rows(project, "meetings")}
    answered |= {row["statement"].rsplit("/", 1)[1]: row for row in rows(project, "statements")}
    assert set(answered) == set(reporters)
    for fact, stems_reporting in reporters.items():
        assert set(answered[fact]["sources"].split("; ")) == stems_reporting, fact
    first = annotated["article1"]
    meeting = next(m for m in first["meetings"])
    expected = resolve_date(meeting["date"], date.fromisoformat(first["article"]["published"]), first["article"]["timezone"])
    assert answered[meeting["id"]]["date"] == expected.value.isoformat()
    corroborated = {row["fact"].rsplit("/", 1)[1]: int(row["n_sources"]) for row in rows(project, "corroboration")}
    assert {fact for fact, n in corroborated.items() if n > 1} == {f for f, s in reporters.items() if len(s) > 1}
    assert {row["source"] for row in rows(project, "articles")} == set(stems.values())
