"""--store oxigraph[:PATH]: the knowledge base kept on disk, reopened while its inputs are unchanged,
rebuilt when they change, and answering exactly as the in-memory store does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli
from kb.pipeline import load_knowledge_base, validated_knowledge_base
from kb.queries import ResultFormat, catalogue, format_results, run_query
from kb.outputs import default_store
from kb.storage import MANIFEST, StoreChoice

OPENED, WROTE = "opened the store at", "wrote the store at"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def mini_project(mini_project):
    """The mini project with the repository's saved queries."""
    shutil.copytree(REPO / "queries", mini_project / "queries")
    return mini_project


def run(project: Path, *args: str):
    return CliRunner().invoke(cli, ["-C", str(project), *args])


def in_memory(project: Path, name: str) -> str:
    """What the query gives on the in-memory store, built from the annotations as they are now."""
    table = run_query(load_knowledge_base(project).store, catalogue(project)[name], {})
    return format_results(table, ResultFormat.CSV)


def edit(project: Path, name: str, old: str, new: str) -> None:
    path = project / "seeds" / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def data_directories(location: Path) -> list[str]:
    return sorted(p.name for p in location.iterdir() if p.is_dir())


def test_store_is_written_once_then_reopened_and_answers_as_memory(mini_project):
    store = default_store(mini_project)
    first = run(mini_project, "query", "meetings", "-f", "csv", "--store", "oxigraph")
    assert first.exit_code == 0, first.output
    assert WROTE in first.stderr and OPENED not in first.stderr
    assert first.stdout == in_memory(mini_project, "meetings")
    for name, query in catalogue(mini_project).items():
        if query.parameters:
            continue
        again = run(mini_project, "query", name, "-f", "csv", "--store", "oxigraph")
        assert again.exit_code == 0, again.output
        assert OPENED in again.stderr and WROTE not in again.stderr
        assert again.stdout == in_memory(mini_project, name), name
    assert len(data_directories(store)) == 1


def test_an_edited_annotation_makes_the_store_rebuild(mini_project, tmp_path):
    location = tmp_path / "kept"
    before = run(mini_project, "query", "actors", "-f", "csv", "--store", f"oxigraph:{location}")
    assert before.exit_code == 0 and WROTE in before.stderr, before.output
    [old_data] = data_directories(location)
    edit(mini_project, "registry.yaml", "label: Government of Japan", "label: Japanese Government")
    after = run(mini_project, "query", "actors", "-f", "csv", "--store", f"oxigraph:{location}")
    assert after.exit_code == 0 and WROTE in after.stderr, after.output
    assert "Japanese Government" in after.stdout and after.stdout != before.stdout
    assert after.stdout == in_memory(mini_project, "actors")
    assert data_directories(location) != [old_data]  # the old version is gone, the new one in its place
    assert len(data_directories(location)) == 1


def test_a_conforming_store_is_not_validated_again_until_the_shapes_change(mini_project):
    choice = StoreChoice.parse("oxigraph", mini_project)
    said: list[str] = []
    validated_knowledge_base(mini_project, say=said.append, store=choice)
    assert any(line.startswith("SHACL (pyshacl)") for line in said), said
    said.clear()
    validated_knowledge_base(mini_project, say=said.append, store=choice)
    assert any(OPENED in line for line in said) and any("validated when it was written" in line for line in said)
    shapes = mini_project / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    said.clear()
    validated_knowledge_base(mini_project, say=said.append, store=choice)
    assert any(OPENED in line for line in said) and any(line.startswith("SHACL (pyshacl)") for line in said), said


def test_build_keeps_the_validated_graph_in_the_store(mini_project):
    result = run(mini_project, "build", "--no-reason", "--store", "oxigraph")
    assert result.exit_code == 0, result.output
    manifest = json.loads((default_store(mini_project) / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["conforms_to"] and manifest["quads"] == len(load_knowledge_base(mini_project))
    query = run(mini_project, "query", "actors", "-f", "csv", "--store", "oxigraph")
    assert OPENED in query.stderr
    assert query.stdout == (mini_project / "build" / "queries" / "actors.csv").read_text(encoding="utf-8")


def test_violations_from_a_reopened_store_name_the_same_file_and_line(mini_project):
    edit(mini_project, "a01_mini.yaml", "    mode: direct-quote\n", "    mode: denial\n")
    first = run(mini_project, "validate", "--store", "oxigraph")
    second = run(mini_project, "validate", "--store", "oxigraph")
    assert first.exit_code == second.exit_code == 1, (first.output, second.output)
    assert WROTE in first.stderr and OPENED in second.stderr
    assert "a01_mini.yaml:" in first.stdout
    assert second.stdout == first.stdout


def test_export_from_the_store_is_the_same_graph(mini_project, tmp_path):
    import pyoxigraph as ox
    graphs = []
    for store in ("memory", "oxigraph"):
        output = tmp_path / f"{store}.nq"
        result = run(mini_project, "export", "-f", "nquads", "-o", str(output), "--store", store)
        assert result.exit_code == 0, result.output
        graphs.append(set(ox.parse(path=str(output), format=ox.RdfFormat.N_QUADS)))
    assert graphs[0] == graphs[1] and len(graphs[0]) == len(load_knowledge_base(mini_project))


def test_a_damaged_manifest_makes_the_store_rebuild(mini_project):
    assert run(mini_project, "query", "actors", "--store", "oxigraph").exit_code == 0
    (default_store(mini_project) / MANIFEST).write_text("{not json", encoding="utf-8")
    again = run(mini_project, "query", "actors", "-f", "csv", "--store", "oxigraph")
    assert again.exit_code == 0, again.output
    assert WROTE in again.stderr
    assert again.stdout == in_memory(mini_project, "actors")
    assert json.loads((default_store(mini_project) / MANIFEST).read_text(encoding="utf-8"))["quads"] > 0


def test_store_is_not_written_into_a_foreign_directory(mini_project, tmp_path):
    foreign = tmp_path / "papers"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    result = run(mini_project, "query", "actors", "--store", f"oxigraph:{foreign}")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    [line] = result.stderr.splitlines()
    assert str(foreign) in line and "holds no tradekb store" in line
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


def test_a_store_inside_build_is_refused_but_build_store_is_the_default(mini_project):
    inside = run(mini_project, "query", "actors", "--store", f"oxigraph:{mini_project / 'build' / 'kept'}")
    assert inside.exit_code == 2 and "every build replaces build/" in inside.stderr, inside.output
    assert StoreChoice.parse(f"oxigraph:{mini_project / 'build' / 'store'}", mini_project) == \
        StoreChoice.parse("oxigraph", mini_project) == StoreChoice(default_store(mini_project))


def test_unknown_store_kind_is_bad_input(mini_project):
    result = run(mini_project, "query", "actors", "--store", "sqlite:kb.db")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert "sqlite:kb.db" in line and "memory, oxigraph or oxigraph:PATH" in line


def test_broken_annotations_write_no_store(mini_project):
    edit(mini_project, "a01_mini.yaml", "    speaker: park-min-jun\n", "    speaker: kim-nobody\n")
    result = run(mini_project, "query", "actors", "--store", "oxigraph")
    assert result.exit_code == 2, result.output
    assert not (default_store(mini_project)).exists()


READER = """
import sys
from pathlib import Path
from kb.pipeline import load_knowledge_base
from kb.queries import catalogue, run_query
from kb.storage import StoreChoice
project = Path(sys.argv[1])
kb = load_knowledge_base(project, StoreChoice.parse("oxigraph", project))
print("open", flush=True)
sys.stdin.readline()
print(len(run_query(kb.store, catalogue(project)["reports"], {}).rows), flush=True)
"""


def test_a_version_being_read_stays_until_its_reader_is_done(mini_project):
    """A writer commits a new version beside a reader of the old one: the reader reads on (RocksDB
    opens files as it needs them), and the old version goes with the first writer after it."""
    import subprocess
    import sys
    store = default_store(mini_project)
    assert run(mini_project, "build", "--no-reason", "--store", "oxigraph").exit_code == 0
    reader = subprocess.Popen([sys.executable, "-c", READER, str(mini_project)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline() == "open\n"
        [read] = data_directories(store)
        edit(mini_project, "a01_mini.yaml", "    mode: direct-quote\n", "    mode: reported-speech\n")
        assert run(mini_project, "build", "--no-reason", "--store", "oxigraph").exit_code == 0
        assert read in data_directories(store) and len(data_directories(store)) == 2
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert int(reader.stdout.readline()) > 0
    finally:
        reader.kill()
        reader.wait()
    edit(mini_project, "a01_mini.yaml", "    mode: reported-speech\n", "    mode: direct-quote\n")
    assert run(mini_project, "build", "--no-reason", "--store", "oxigraph").exit_code == 0
    assert read not in data_directories(store) and len(data_directories(store)) == 1
