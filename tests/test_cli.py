"""The command line (kb.cli.cli) on the mini project: exit codes, one line per problem, no tracebacks."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli

LOCATED = re.compile(r"^(?P<path>\S+?):(?P<line>\d+): (?P<message>.+)$")


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def edit(project: Path, name: str, old: str, new: str) -> None:
    path = project / "seeds" / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(project: Path, name: str, needle: str) -> int:
    lines = (project / "seeds" / name).read_text(encoding="utf-8").splitlines()
    [line] = [n for n, text in enumerate(lines, 1) if needle in text]
    return line


def test_validate_mini_project_conforms(mini_project):
    result = run("-C", str(mini_project), "validate")
    assert result.exit_code == 0, result.output
    assert "conforms" in result.stderr
    assert result.stdout == ""


def test_broken_annotations_exit_2_with_one_line_per_problem(mini_project):
    edit(mini_project, "a01_mini.yaml", "    speaker: park-min-jun\n", "    speaker: kim-nobody\n")
    edit(mini_project, "a02_mini.yaml", 'quote: "a charge Tokyo rejects"', 'quote: "a charge Tokyo denies"')
    result = run("-C", str(mini_project), "validate")
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines
    located = [LOCATED.match(line) for line in lines]
    assert all(located), lines
    got = sorted((Path(m["path"]).name, int(m["line"])) for m in located)
    assert got == [("a01_mini.yaml", line_of(mini_project, "a01_mini.yaml", "kim-nobody")),
                   ("a02_mini.yaml", line_of(mini_project, "a02_mini.yaml", "a charge Tokyo denies"))]
    assert "unknown id 'kim-nobody'" in result.stderr
    assert "quote not found" in result.stderr


def test_broken_annotations_from_the_real_entry_point_print_no_traceback(mini_project):
    edit(mini_project, "a01_mini.yaml", "  published: 2019-07-13\n", "  published: 2019-13-45\n")
    done = subprocess.run([sys.executable, "-m", "kb.cli", "-C", str(mini_project), "validate"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    [line] = done.stderr.splitlines()
    match = LOCATED.match(line)
    assert match and Path(match["path"]).name == "a01_mini.yaml"
    assert int(match["line"]) == line_of(mini_project, "a01_mini.yaml", "published:")
    assert "not a real date" in match["message"]


def test_unreported_registry_entity_is_a_shacl_violation_exit_1(mini_project):
    edit(mini_project, "registry.yaml", "  - {id: laura-bennett,",
         "  - {id: ghost-official, type: Person, label: Ghost Official}\n  - {id: laura-bennett,")
    result = run("-C", str(mini_project), "validate")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    [line] = result.stdout.splitlines()
    match = LOCATED.match(line)
    assert match, line
    assert Path(match["path"]).name == "registry.yaml"
    assert int(match["line"]) == line_of(mini_project, "registry.yaml", "ghost-official")
    assert "ghost-official" in match["message"] and "no article reports this" in match["message"]
    assert "1 violation(s)" in result.stderr


def test_shacl_violation_names_the_article_annotation_line(mini_project):
    # A statement defined in a01 turned into a denial that denies nothing (DenialShape).
    edit(mini_project, "a01_mini.yaml", "    mode: direct-quote\n", "    mode: denial\n")
    result = run("-C", str(mini_project), "validate")
    assert result.exit_code == 1, result.output
    [line] = result.stdout.splitlines()
    match = LOCATED.match(line)
    assert match and Path(match["path"]).name == "a01_mini.yaml", line
    assert int(match["line"]) == line_of(mini_project, "a01_mini.yaml", "- id: park-constructive-role")
    assert "denies" in match["message"]


def test_missing_project_is_bad_input(tmp_path):
    result = run("-C", str(tmp_path / "nowhere"), "validate")
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / 'nowhere'}: not a tradekb project (no seeds/ or queries/ here); run inside one or give -C DIR\n"
    assert "Traceback" not in result.output


def test_every_command_is_listed_in_the_group_help():
    result = run("--help")
    assert result.exit_code == 0
    assert set(cli.commands) >= {"build", "validate", "reason", "query", "export"}
    for name in cli.commands:
        assert re.search(rf"^\s+{name}\s", result.output, re.MULTILINE), name


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help(name, tmp_path):
    # --help must not need a project: point -C at an empty directory.
    result = run("-C", str(tmp_path), name, "--help")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: cli {name} [OPTIONS]")
    assert "--help" in result.output
    summary = cli.commands[name].help.strip().splitlines()[0]
    assert summary[:40] in " ".join(result.output.split())


def test_every_command_is_in_the_readme():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for name in cli.commands:
        assert f"tradekb {name}" in readme, f"README does not mention `tradekb {name}`"


# Each command with the least it needs to get as far as opening the project.
COMMAND_ARGS = {"query": ["meetings"], "push": ["--endpoint", "http://127.0.0.1:9/query"], "new": ["article.txt"]}
MAKES_A_PROJECT = {"init"}


@pytest.mark.parametrize("name", sorted(set(cli.commands) - MAKES_A_PROJECT))
def test_every_command_outside_a_project_says_so_in_one_line(name, tmp_path):
    result = run("-C", str(tmp_path), name, *COMMAND_ARGS.get(name, []))
    assert result.exit_code == 2, result.output
    assert result.stderr == f"{tmp_path}: not a tradekb project (no seeds/ or queries/ here); run inside one or give -C DIR\n"
    assert result.stdout == ""


def test_query_list_outside_a_project_is_refused(tmp_path):
    result = run("-C", str(tmp_path), "query", "--list")
    assert result.exit_code == 2
    assert "not a tradekb project" in result.stderr


@pytest.fixture
def queried_project(mini_project):
    """The mini project with the repository's saved queries."""
    shutil.copytree(Path(__file__).resolve().parents[1] / "queries", mini_project / "queries")
    return mini_project


@pytest.mark.parametrize("extension, starts", [("csv", "label,"), ("tsv", "label\t"), ("json", '{\n "head"'),
                                                ("md", "| label |")])
def test_query_output_takes_its_format_from_the_extension(queried_project, tmp_path, extension, starts):
    target = tmp_path / f"actors.{extension}"
    result = run("-C", str(queried_project), "query", "actors", "-o", str(target))
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    assert text.startswith(starts), text[:80]
    assert text == run("-C", str(queried_project), "query", "actors", "-f", extension).stdout
    if extension == "json":
        json.loads(text)


@pytest.mark.parametrize("command, name, known", [
    ("query", "actors.txt", ".csv, .tsv, .json, .md"), ("query", "actors", ".csv, .tsv, .json, .md"),
    ("export", "kb.rdf", ".ttl, .trig, .nq, .jsonld, .gexf, .graphml")])
def test_an_output_extension_that_names_no_format_is_refused(queried_project, tmp_path, command, name, known):
    target = tmp_path / name
    args = ["actors"] if command == "query" else []
    result = run("-C", str(queried_project), command, *args, "-o", str(target))
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"-o {target}: cannot tell the format from ") and line.endswith(f"name it {known}, or give --format")
    assert not target.exists()


def test_an_explicit_format_names_the_format_of_a_file_with_an_unknown_extension(queried_project, tmp_path):
    target = tmp_path / "actors.txt"
    assert run("-C", str(queried_project), "query", "actors", "-f", "csv", "-o", str(target)).exit_code == 0
    assert target.read_text(encoding="utf-8").startswith("label,")


@pytest.mark.parametrize("command, args, name", [("query", ["actors", "-f", "json"], "actors.csv"),
                                                 ("export", ["--format", "turtle"], "kb.nq")])
def test_a_format_that_disagrees_with_the_extension_is_refused(queried_project, tmp_path, command, args, name):
    target = tmp_path / name
    result = run("-C", str(queried_project), command, *args, "-o", str(target))
    assert result.exit_code == 2
    fmt, extension = args[-1], name.rsplit(".", 1)[1]
    assert result.stderr.startswith(f"--format {fmt} disagrees with -o {target}: .{extension} is ")
    assert len(result.stderr.splitlines()) == 1
    assert not target.exists()


def test_export_output_takes_its_format_from_the_extension(queried_project, tmp_path):
    import pyoxigraph as ox
    target = tmp_path / "kb.nq"
    result = run("-C", str(queried_project), "export", "-o", str(target))
    assert result.exit_code == 0, result.output
    quads = list(ox.parse(path=target, format=ox.RdfFormat.N_QUADS))
    assert quads and all(q.graph_name != ox.DefaultGraph() for q in quads)


def test_output_is_written_atomically_and_a_failed_write_leaves_nothing(queried_project, tmp_path, monkeypatch):
    import kb.export
    target = tmp_path / "out" / "actors.csv"

    def refuse(new, old):
        raise OSError(28, "No space left on device", str(old))
    monkeypatch.setattr(kb.export, "replace_file", refuse)
    result = run("-C", str(queried_project), "query", "actors", "-o", str(target))
    assert result.exit_code == 5
    assert result.stderr == f"{target}: No space left on device\n"
    assert list(target.parent.iterdir()) == []


def test_a_mistyped_query_name_gets_a_did_you_mean_and_the_list(queried_project):
    result = run("-C", str(queried_project), "query", "meeting")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("unknown query 'meeting'; did you mean 'meetings' or 'meetings-of'? saved queries: actors, ")
    far = run("-C", str(queried_project), "query", "zzz").stderr
    assert far.startswith("unknown query 'zzz'; saved queries: actors, ")


def test_a_mistyped_parameter_name_gets_a_did_you_mean(queried_project):
    result = run("-C", str(queried_project), "query", "meetings-of", "--param", "actr=Kim")
    assert result.exit_code == 2
    assert result.stderr == "query meetings-of: unknown parameter(s) actr; did you mean 'actor'? it takes actor\n"


def test_a_mistyped_name_as_a_parameter_value_gets_the_closest_labels_and_aliases(queried_project):
    from kb.pipeline import load_knowledge_base
    from kb.queries import NAMES, bind, run_sparql
    import pyoxigraph as ox
    names = run_sparql(load_knowledge_base(queried_project).store,
                       bind(NAMES, {"class": ox.NamedNode("https://w3id.org/tradekb/ontology#Actor")})).rows
    name = sorted(row[0].value for row in names if len(row[0].value) > 6)[0]
    typo = name[:-1] + ("x" if name[-1] != "x" else "y")
    result = run("-C", str(queried_project), "query", "meetings-of", "--param", f"actor={typo.upper()}")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"actor: nothing named {typo.upper()!r}; did you mean ")
    assert repr(name) in line and line.endswith("? (give a label, an alias, an id or an IRI)")



def test_an_id_names_the_thing_it_is_the_id_of_when_of_the_parameter_s_class(queried_project):
    from kb.pipeline import load_knowledge_base
    from kb.queries import run_sparql
    people = run_sparql(load_knowledge_base(queried_project).store, LABELS).rows
    iri, label = people[0][0].value, people[0][1].value
    slug = iri.rsplit("/", 1)[1]
    by_id = run("-C", str(queried_project), "query", "meetings-of", "-p", f"actor={slug}", "-f", "csv")
    by_label = run("-C", str(queried_project), "query", "meetings-of", "-p", f"actor={label}", "-f", "csv")
    assert by_id.exit_code == 0 and by_id.stdout == by_label.stdout
    meeting = run_sparql(load_knowledge_base(queried_project).store, "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>"
                         "SELECT ?m WHERE { ?m a/rdfs:subClassOf* <https://w3id.org/tradekb/ontology#Meeting> } LIMIT 1").rows[0][0].value
    not_an_actor = run("-C", str(queried_project), "query", "meetings-of", "-p", f"actor={meeting.rsplit('/', 1)[1]}")
    assert not_an_actor.exit_code == 2 and "nothing named" in not_an_actor.stderr

LABELS = ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
          "SELECT ?actor ?label WHERE { ?actor a <https://w3id.org/tradekb/ontology#Person> ; rdfs:label ?label }\n"
          "ORDER BY ?label")


def test_sparql_answers_an_ad_hoc_select_with_a_parameter_bound_by_name(queried_project, tmp_path):
    everyone = run("-C", str(queried_project), "sparql", LABELS, "-f", "csv")
    assert everyone.exit_code == 0, everyone.output
    rows = everyone.stdout.splitlines()
    assert rows[0] == "actor,label" and len(rows) > 2
    actor, label = rows[1].split(",", 1)
    one = run("-C", str(queried_project), "sparql", LABELS, "-p", f"actor={label.upper()}", "-o", str(tmp_path / "a.csv"))
    assert one.exit_code == 0, one.output
    assert (tmp_path / "a.csv").read_text(encoding="utf-8") == f"actor,label\n{actor},{label}\n"


def test_sparql_reads_a_file_the_user_names_outside_the_project(queried_project, tmp_path):
    question = tmp_path / "elsewhere" / "people.rq"
    question.parent.mkdir()
    question.write_text(LABELS, encoding="utf-8")
    by_file = run("-C", str(queried_project), "sparql", "--file", str(question), "-f", "md")
    assert by_file.exit_code == 0, by_file.output
    assert by_file.stdout == run("-C", str(queried_project), "sparql", LABELS, "-f", "md").stdout


@pytest.mark.parametrize("update, operation", [
    ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "InsertData"), ("DELETE WHERE { ?s ?p ?o }", "DeleteWhere"),
    ("LOAD <http://127.0.0.1:9/x.ttl>", "Load"), ("CLEAR ALL", "Clear"), ("DROP GRAPH <urn:g>", "Drop"),
    ("PREFIX x: <urn:x#>\nWITH <urn:g> DELETE { ?s x:p ?o } INSERT { ?s x:q ?o } WHERE { ?s x:p ?o }", "Modify")])
def test_sparql_refuses_an_update_in_one_line(queried_project, update, operation):
    result = run("-C", str(queried_project), "sparql", update)
    assert result.exit_code == 2
    assert result.stderr == (f"the query is an update ({operation}); tradekb sparql only asks, and never changes "
                             "the knowledge base\n")


def test_sparql_tells_an_update_by_parsing_not_by_keywords(queried_project):
    select = LABELS.replace("rdfs:label ?label }", 'rdfs:label ?label FILTER(?label != "CLEAR ALL") }  # DELETE WHERE')
    result = run("-C", str(queried_project), "sparql", select, "-f", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout == run("-C", str(queried_project), "sparql", LABELS, "-f", "csv").stdout


@pytest.mark.parametrize("args, message", [
    (["SELECT ?x WHERE {\n  ?x ?y ?z .\n  FILTER( }"], "SPARQL syntax error: Expected SelectQuery, found 'FILTER' (line 3, column 3)"),
    (["SELECT ?l WHERE { ?a rdfs:label ?l }"], "SPARQL syntax error: error at 1:32: a prefix that no PREFIX line declares"),
    (["ASK { ?s ?p ?o }"], "the query is ASK; tradekb sparql answers SELECT queries, as a table"),
    ([LABELS, "-p", "actr=Kim"], "--param actr: the query has no variable ?actr; did you mean 'actor'?"),
    ([], "give the query as QUERY or with --file FILE"),
    ([LABELS, "--file", "q.rq"], "give the query as QUERY or with --file FILE, not both"),
    (["--file", "/nonexistent/q.rq"], "/nonexistent/q.rq: cannot read: No such file or directory")])
def test_sparql_mistakes_are_one_line(queried_project, args, message):
    result = run("-C", str(queried_project), "sparql", *args)
    assert result.exit_code == 2
    assert result.stderr == message + "\n"


def test_sparql_syntax_error_in_a_file_names_its_line_and_column(queried_project, tmp_path):
    question = tmp_path / "broken.rq"
    question.write_text("SELECT ?x WHERE {\n  ?x ?y ?z .\n  FILTER( }\n", encoding="utf-8")
    result = run("-C", str(queried_project), "sparql", "--file", str(question))
    assert result.exit_code == 2
    assert result.stderr == f"{question}:3:3: SPARQL syntax error: Expected SelectQuery, found 'FILTER'\n"


def test_sparql_from_the_real_entry_point(queried_project):
    result = subprocess.run([sys.executable, "-m", "kb.cli", "-C", str(queried_project), "sparql", "CLEAR ALL"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("the query is an update (Clear)") and result.stdout == ""
