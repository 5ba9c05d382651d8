"""`tradekb query` for people: a table fitted to a real terminal (a pseudo-terminal, COLUMNS set),
full width when piped or with --wide, --columns, --sources, the filters and their messages."""

from __future__ import annotations

import csv
import io
import os
import pty
import re
import select
import shlex
import subprocess
import sys

import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from conftest import REPO
from kb.cli import cli
from kb.queries import catalogue

STEM = re.compile(r"\b\d{3}_[0-9a-f]{16}\b")


def run(*args: str):
    return CliRunner().invoke(cli, ["-C", str(REPO), *args])


def in_a_terminal(*args: str, columns: int) -> tuple[str, str, int]:
    """`tradekb ARGS` with its output on a pseudo-terminal COLUMNS wide: (stdout, stderr, exit code)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "kb.cli", "-C", str(REPO), *args], stdout=terminal,
                               stderr=subprocess.PIPE, env=dict(os.environ, COLUMNS=str(columns)))
    os.close(terminal)
    out = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 120)
        if not ready:
            process.kill()
            pytest.fail(f"tradekb {' '.join(args)} printed nothing for 120 s")
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal is closed: the process has exited
            break
        if not chunk:
            break
        out += chunk
    os.close(controller)
    error = process.stderr.read().decode()
    process.stderr.close()
    return out.decode().replace("\r\n", "\n"), error, process.wait(timeout=60)


@pytest.mark.parametrize("columns", [120, 80])
@pytest.mark.parametrize("name", ["meetings", "conflicts"])
def test_on_a_terminal_the_table_fits_its_width_and_says_what_it_left_out(name, columns):
    out, error, code = in_a_terminal("query", name, columns=columns)
    assert code == 0, error
    lines = out.splitlines()
    assert max(cell_len(line) for line in lines) <= columns
    header = lines[0].split()
    wide = run("query", name, "--wide").stdout.splitlines()[0].split()
    left_out = [column for column in wide if column not in header]
    assert left_out, f"{name} has more columns than {columns} can show"
    assert error.splitlines()[-1] == (f"left out to fit the terminal: {', '.join(left_out)} "
                                      "(--columns a,b,c chooses the columns, --wide shows them all)")


@pytest.mark.parametrize("name", sorted(n for n, q in catalogue(REPO).items() if not q.parameters))
def test_every_default_query_fits_a_120_column_terminal(name):
    out, error, code = in_a_terminal("query", name, columns=120)
    assert code == 0, error
    assert max(cell_len(line) for line in out.splitlines()) <= 120
    shown = out.splitlines()[0].split()
    every = run("query", name, "--wide").stdout.splitlines()[0].split()
    left_out = [column for column in every if column not in shown]
    assert error == (f"left out to fit the terminal: {', '.join(left_out)} (--columns a,b,c chooses the "
                     "columns, --wide shows them all)\n" if left_out else "")


def test_on_a_terminal_wide_is_full_width_and_leaves_nothing_out():
    out, error, code = in_a_terminal("query", "meetings", "--wide", columns=80)
    assert code == 0 and "left out" not in error
    assert out == run("query", "meetings", "--wide").stdout


def test_piped_the_table_is_full_width_one_line_per_row():
    piped = run("query", "meetings")  # CliRunner's output is no terminal
    assert piped.exit_code == 0 and "left out" not in piped.stderr
    rows = list(csv.DictReader(io.StringIO(run("query", "meetings", "-f", "csv").stdout)))
    lines = piped.stdout.splitlines()
    assert len(lines) == len(rows) + 3 and lines[-1] == f"{len(rows)} rows"
    assert max(len(line) for line in lines) > 120
    assert piped.stdout == run("query", "meetings", "--wide").stdout


def test_columns_choose_and_order_the_columns_in_any_format():
    result = run("query", "meetings", "--columns", "date,label", "-f", "csv")
    assert result.exit_code == 0, result.output
    everything = list(csv.DictReader(io.StringIO(run("query", "meetings", "-f", "csv").stdout)))
    assert result.stdout == "date,label\n" + "".join(
        f"{r['date']},{r['label'] if ',' not in r['label'] else chr(34) + r['label'] + chr(34)}\n" for r in everything)
    table = run("query", "meetings", "--columns", "label,date")
    assert table.stdout.splitlines()[0].split() == ["label", "date"]
    assert "week of 2019-07-15" in table.stdout  # the table's date carries its precision


def test_a_mistyped_column_is_one_line_exit_2():
    result = run("query", "meetings", "--columns", "label,dates")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == ("--columns: no column 'dates'; did you mean 'date'? the columns are meeting, label, "
                             "status, date, place, participants, sources, kind\n")


def test_sources_by_publisher_and_day_in_a_file_when_asked():
    stems = run("query", "articles", "-f", "csv").stdout
    articles = {r["source"]: r for r in csv.DictReader(io.StringIO(stems))}
    cited = run("query", "measures", "--sources", "cite", "--columns", "sources", "-f", "csv").stdout
    plain = run("query", "measures", "--columns", "sources", "-f", "csv").stdout
    assert STEM.search(plain) and cited != plain
    for before, after in zip(plain.splitlines()[1:], cited.splitlines()[1:]):
        names = [f"{articles[s]['publisher'] or s}, {articles[s]['published']}" for s in before.strip('"').split("; ")]
        assert after.strip('"') == "; ".join(names)


def test_the_list_shows_each_querys_filters():
    listed = {line.split()[0]: line for line in run("query", "--list").stdout.splitlines()}
    assert listed["timeline"].endswith("[filters: from, to, kind, actor]")
    assert listed["meetings"].endswith("[filters: from, to, kind, status]")
    assert "status-changes" in listed


@pytest.mark.parametrize("args, message", [
    (["-p", "from=2019-07-5"], "from: '2019-07-5' is not a date; give a day as YYYY-MM-DD, e.g. 2019-07-01"),
    (["-p", "to=yesterday"], "to: 'yesterday' is not a date; give a day as YYYY-MM-DD, e.g. 2019-07-01"),
    (["-p", "kind=measure"], "kind: nothing named 'measure'; did you mean 'Trade measure' or 'Measure status'? "
                             "(give a label, an alias, an id or an IRI)"),
    (["-p", "from=2019-08-05", "-p", "to=2019-07-01"], "from 2019-08-05 is after to 2019-07-01: the range holds no day"),
    (["-p", "form=2019-07-01"], "query timeline: unknown parameter(s) form; did you mean 'from'? it takes from, to, "
                                "kind, actor")])
def test_a_bad_filter_is_one_line_exit_2(args, message):
    result = run("query", "timeline", *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == message + "\n"


def test_the_timeline_between_two_days_from_the_command_line():
    result = run("query", "timeline", "-p", "from=2019-07-01", "-p", "to=2019-08-05", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and all("2019-06-24" <= r["date"] <= "2019-08-05" for r in rows)
    assert {r["date"][:4] for r in rows} == {"2019"}


def tour_transcripts() -> list[tuple[str, str]]:
    """The README tour's answers: (command, what it printed), one console block each."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    tour = readme[readme.index("## A short tour"):readme.index("### Commands")]
    blocks = re.findall(r"```console\n(\$ tradekb query .*?)```", tour, re.DOTALL)
    return [tuple(block.split("\n", 1)) for block in blocks if "\n$ " not in block]


@pytest.mark.parametrize("command, printed", tour_transcripts())
def test_the_readme_tour_shows_what_each_command_prints_on_120_columns(command, printed):
    out, error, code = in_a_terminal(*shlex.split(command.removeprefix("$ tradekb ")), columns=120)
    assert code == 0, error
    assert out + error == printed


def test_the_tour_answers_each_question():
    assert len(tour_transcripts()) >= 6


def test_the_list_of_queries_fits_a_terminal_and_is_a_line_each_when_piped():
    out, error, code = in_a_terminal("query", "--list", columns=80)
    assert code == 0, error
    assert max(cell_len(line) for line in out.splitlines()) <= 80
    piped = run("query", "--list").stdout.splitlines()
    assert max(len(line) for line in piped) > 80  # so the terminal's list was wrapped, not just short
    # wrapped, each query still starts a line of its own and its continuation lines are indented
    assert [line.split()[0] for line in out.splitlines() if not line.startswith(" ")] == [
        line.split()[0] for line in piped]
    assert " ".join(out.split()) == " ".join(" ".join(piped).split())
