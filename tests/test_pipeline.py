"""The main job on a copy of the project: outputs written, and nothing written when a stage fails."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from click.testing import CliRunner

from kb.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def project_copy(tmp_path: Path) -> Path:
    for part in ("seeds", "ontology", "queries"):
        shutil.copytree(ROOT / part, tmp_path / part)
    return tmp_path


def test_build_writes_every_query_and_every_format(tmp_path):
    project = project_copy(tmp_path)
    result = CliRunner().invoke(cli, ["-C", str(project), "build"])
    assert result.exit_code == 0, result.output
    written = {p.relative_to(project / "build").as_posix() for p in (project / "build").rglob("*") if p.is_file()}
    plain = {p.stem for p in (project / "queries").glob("*.rq")} - {"meetings-of", "statements-by"}
    assert {f"queries/{name}.csv" for name in plain} <= written
    assert {"tradekb.ttl", "tradekb.trig", "tradekb.nq", "tradekb.jsonld"} <= written
    assert "HermiT: consistent" in result.output and "conforms" in result.output


def test_a_failed_build_leaves_the_previous_outputs(tmp_path):
    project = project_copy(tmp_path)
    assert CliRunner().invoke(cli, ["-C", str(project), "build", "--no-reason"]).exit_code == 0
    before = {p: p.read_bytes() for p in (project / "build").rglob("*") if p.is_file()}
    annotation = project / "seeds" / "000_f0205f4675e93af6.yaml"
    annotation.write_text(annotation.read_text(encoding="utf-8").replace(
        "On Wednesday, Kim held talks", "On Tuesday, Kim held talks"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "--no-reason"])
    assert result.exit_code == 2
    assert "On Tuesday, Kim held talks" in result.output and "Traceback" not in result.output
    after = {p: p.read_bytes() for p in (project / "build").rglob("*") if p.is_file()}
    assert after == before


def test_query_command_errors_are_one_line_and_exit_2(tmp_path):
    project = project_copy(tmp_path)
    runner = CliRunner()
    unknown = runner.invoke(cli, ["-C", str(project), "query", "no-such-query"])
    assert unknown.exit_code == 2 and "unknown query 'no-such-query'" in unknown.output
    bad_param = runner.invoke(cli, ["-C", str(project), "query", "meetings-of", "-p", "who=Kim"])
    assert bad_param.exit_code == 2 and "unknown parameter(s) who" in bad_param.output
    nobody = runner.invoke(cli, ["-C", str(project), "query", "meetings-of", "-p", "actor=Nobody Atall"])
    assert nobody.exit_code == 2 and "nothing named 'Nobody Atall'" in nobody.output
    for result in (unknown, bad_param, nobody):
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_query_list_and_export_to_a_file(tmp_path):
    project = project_copy(tmp_path)
    runner = CliRunner()
    listing = runner.invoke(cli, ["-C", str(project), "query", "--list"])
    assert listing.exit_code == 0
    assert {line.split()[0] for line in listing.output.splitlines()} == {p.stem for p in (project / "queries").glob("*.rq")}
    out = tmp_path / "kb.trig"
    exported = runner.invoke(cli, ["-C", str(project), "export", "--format", "trig", "-o", str(out)])
    assert exported.exit_code == 0 and out.read_text(encoding="utf-8").count("GRAPH") + \
        out.read_text(encoding="utf-8").count("{") > 5


def _generations(project: Path) -> list[str]:
    return sorted(p.name for p in (project / ".build").iterdir() if p.name.startswith("build-"))


def test_the_outputs_are_one_generation_behind_one_link_and_a_reader_keeps_its_set(tmp_path):
    """build is a link to one generation; a reader that resolved it keeps its whole set through the
    next build (the previous generation stays), and the one before that goes."""
    project = project_copy(tmp_path)
    assert CliRunner().invoke(cli, ["-C", str(project), "build", "--no-reason"]).exit_code == 0
    link = project / "build"
    assert link.is_symlink() and _generations(project) == ["build-1"]
    reader = link.resolve()
    first = {p.name: p.read_bytes() for p in reader.rglob("*") if p.is_file()}
    for n in (2, 3):
        assert CliRunner().invoke(cli, ["-C", str(project), "build", "--no-reason"]).exit_code == 0
        assert link.resolve().name == f"build-{n}" and _generations(project) == [f"build-{n - 1}", f"build-{n}"]
        if n == 2:
            assert {p.name: p.read_bytes() for p in reader.rglob("*") if p.is_file()} == first


def test_a_build_directory_of_an_older_tradekb_is_taken_over_with_its_store(tmp_path):
    """Before generations, build/ was a directory, with the store in build/store: the first build
    now moves the store beside the generations and replaces the directory, and what a killed
    build left in it, with the link."""
    project = project_copy(tmp_path)
    assert CliRunner().invoke(cli, ["-C", str(project), "build", "--no-reason", "--store", "oxigraph"]).exit_code == 0
    older = project / "older"
    shutil.copytree(project / "build", older, ignore=shutil.ignore_patterns("store"))
    os.replace(project / ".build" / "store", older / "store")
    (project / "build").unlink()
    shutil.rmtree(project / ".build")
    os.replace(older, project / "build")
    (project / "build" / "queries" / ".actors.csv.123.tmp").write_text("left by a killed build", encoding="utf-8")
    store = os.stat(project / "build" / "store").st_ino
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "--no-reason", "--store", "oxigraph"])
    assert result.exit_code == 0, result.output
    assert (project / "build").is_symlink() and os.stat(project / ".build" / "store").st_ino == store  # moved
    assert sorted(p.name for p in (project / "build" / "queries").iterdir()) == sorted(
        f"{p.stem}.csv" for p in (project / "queries").glob("*.rq") if p.stem not in ("meetings-of", "statements-by"))


def test_a_generation_left_half_removed_is_removed_and_its_number_not_reused(tmp_path):
    """A build killed while removing an old generation leaves `build-N.trash`; the next build
    removes it and numbers its own generation above it, so that the name is never wanted twice."""
    project = project_copy(tmp_path)
    assert CliRunner().invoke(cli, ["-C", str(project), "build", "--no-reason"]).exit_code == 0
    (project / ".build" / "build-7.trash" / "queries").mkdir(parents=True)
    assert CliRunner().invoke(cli, ["-C", str(project), "build", "--no-reason"]).exit_code == 0
    assert _generations(project) == ["build-1", "build-8"]
