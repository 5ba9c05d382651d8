"""The bad-input catalogue: every way of breaking a project's files that we know of, each run
through the real `tradekb` command line on a broken copy of the mini project.

Each must give exit 2, one line per problem on stderr naming the file and line (and the column
where a line alone would leave a person searching), no traceback, and nothing written to build/.
Those that used to exhaust memory or recursion (an alias bomb, deep nesting, files of many MiB)
run as real processes under a memory and CPU limit, and say how long they took and how much they
used; the rest run in-process (click's CliRunner), where a real process would add nothing.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from kb.cli import cli

TRADEKB = Path(sys.executable).with_name("tradekb")
LOCATED = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+)(?::(?P<column>\d+))?: (?P<message>.+)$")
MIB = 1 << 20
# A process refusing bad input needs ~300 MB of address space (Python, rdflib, Oxigraph); the
# alias bomb used to take more than 2.3 GB, deep nesting all of Python's stack.
MEMORY_LIMIT = 1024 * MIB
CPU_SECONDS = 60


@dataclass
class Outcome:
    """What a run of tradekb gave: exit code, stderr's lines, and (for a real process) its cost."""

    code: int
    stdout: str
    lines: list[str]
    seconds: float = 0.0
    peak_mb: float = 0.0


def in_process(project: Path, *args: str) -> Outcome:
    """tradekb in this process; an exception that escaped it counts as a traceback on stderr."""
    result = CliRunner().invoke(cli, ["-C", str(project), *args])
    escaped = [] if isinstance(result.exception, (SystemExit, type(None))) else traceback.format_exception(
        result.exception)
    return Outcome(result.exit_code, result.stdout, result.stderr.splitlines() + "".join(escaped).splitlines())


def real_process(project: Path, *args: str) -> Outcome:
    """tradekb in a process of its own, limited to MEMORY_LIMIT of address space and CPU_SECONDS of
    CPU (and killed after twice that in wall time, should it block), with its peak memory."""
    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    stdout, stderr = project.parent / "stdout", project.parent / "stderr"  # outside the project
    started = time.monotonic()
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        process = subprocess.Popen([str(TRADEKB), "-C", str(project), *args], stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL, preexec_fn=limits)
    watchdog = threading.Timer(2 * CPU_SECONDS, process.kill)
    watchdog.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)  # wait4: this process's own peak memory
    finally:
        watchdog.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Outcome(process.returncode, stdout.read_text(), stderr.read_text().splitlines(),
                   time.monotonic() - started, usage.ru_maxrss / 1024)


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the file holding `needle` (any line breaks)."""
    lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    found = [n for n, line in enumerate(lines, 1) if needle in line]
    assert len(found) == 1, f"{needle!r} is on lines {found} of {path}"
    return found[0]


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as file:
        file.write(data)


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


@dataclass(frozen=True)
class Case:
    """One bad input: how to break the project, and the one line it must give (the file, relative
    to the project; the line, or a needle on it; the column, if it matters; words of the message)."""

    name: str
    make: Callable[[Path], None]
    file: str
    line: int | str
    words: str
    column: int | None = None
    args: tuple[str, ...] = ("validate",)


BILLION_LAUGHS = "l0: &l0 [lol]\n" + "".join(f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]\n" for n in range(1, 10))


def _outside_file(project: Path, name: str, content: str) -> Path:
    """A file beside the project, not inside it, as a secret would be."""
    path = project.parent / name
    path.write_text(content, encoding="utf-8")
    return path


def _link_article_out(project: Path) -> None:
    secret = _outside_file(project, "secret.txt", "root:x:0:0:root:/root:/bin/bash\n")
    (project / "seeds" / "999_passwd.txt").symlink_to(secret)
    (project / "seeds" / "999_passwd.yaml").write_text(
        "article: {title: null, published: 2019-07-12, timezone: UTC, date_basis: none}\n", encoding="utf-8")


def _move_out(project: Path, name: str) -> None:
    """Move the project's file `name` out of the project, leaving a symbolic link to it."""
    path = project / name
    outside = _outside_file(project, path.name, path.read_text(encoding="utf-8"))
    path.unlink()
    path.symlink_to(outside)


def _link_query_out(project: Path) -> None:
    (project / "queries").mkdir(exist_ok=True)
    (project / "queries" / "passwd.rq").symlink_to(_outside_file(project, "secret.rq", "#+ summary: s\nASK {}\n"))


def _many_quotes(project: Path) -> None:
    """An article grown to nearly 4 MiB, and 50,000 quotes of its most frequent words (each
    search used to list all 90,000 of their occurrences again), then one that is not there."""
    append(project / A01_TEXT, b"Kim met Mulvaney. " * (3_900_000 // 18))
    quotes = "".join(f'      - {{exact: "Kim met Mulvaney", occurrence: {n}}}\n' for n in range(1, 50_001))
    replace_in(project / A01, '    quote: "Tokyo denied that the curbs were retaliation"\n',
               f'    quote:\n      - "Tokyo denied that the curbs were retaliation"\n{quotes}      - "not in the article"\n')


def _deep(depth: int) -> bytes:
    return ("deep: " + "[" * depth + "]" * depth + "\n").encode()


A01, A02, REG = "seeds/a01_mini.yaml", "seeds/a02_mini.yaml", "seeds/registry.yaml"
A01_TEXT = "seeds/a01_mini.txt"

# Run as real processes: each used to take unbounded memory, time or stack.
BOUNDED = [
    Case("alias bomb", lambda p: append(p / A01, BILLION_LAUGHS.encode()), A01, "l1: &l1", "alias (*l0)", column=10),
    Case("alias to itself", lambda p: append(p / A01, b"loop: &me [*me]\n"), A01, "loop: &me", "alias (*me)", column=12),
    Case("nesting 400 deep", lambda p: append(p / A01, _deep(400)), A01, "deep: [[[", "nested more than 32 deep"),
    Case("nesting 5000 deep", lambda p: append(p / A01, _deep(5000)), A01, "deep: [[[", "maximum nesting depth"),
    Case("block nesting 400 deep", lambda p: append(p / A01, b"deep:\n" + b"- " * 400 + b"x\n"), A01, "- - - -",
         "nested more than 32 deep"),
    Case("annotation file over 16 MiB", lambda p: append(p / A01, b"# " + b"x" * (16 * MIB) + b"\n"), A01, 0,
         "larger than the 16 MiB"),
    Case("8 million values in 16 MiB", lambda p: append(p / A01, b"many: [" + b"1," * (8 * MIB - 4096) + b"1]\n"), A01, 0,
         "more than 1,000,000 values in one file"),
    Case("one value over 1 MiB", lambda p: append(p / A01, b"long: " + b"x" * (2 * MIB) + b"\n"), A01, "long: xxx",
         "a value longer than 1,048,576 characters", column=7),
    Case("article over 4 MiB", lambda p: append(p / A01_TEXT, b"x" * (17 * MIB)), A01_TEXT, 0, "larger than the 4 MiB"),
    Case("NUL in an article, building", lambda p: replace_in(p / A01_TEXT, "By Hanbit", "By\x00Hanbit"), A01_TEXT, 9,
         "character U+0000 cannot be carried by RDF/XML", column=3, args=("build",)),
    Case("50,000 quotes of a 4 MiB article", _many_quotes, A01, '- "not in the article"', "quote not found"),
    Case("a FIFO for an article", lambda p: (os.unlink(p / A01_TEXT), os.mkfifo(p / A01_TEXT)), A01_TEXT, 0,
         "not a regular file"),
]

# Run in-process.
CATALOGUE = [
    # characters
    Case("NUL in a YAML comment", lambda p: append(p / A01, b"# a \x00 here\n"), A01, "# a ", "U+0000 is not allowed in YAML",
         column=5),
    Case("DEL in a YAML comment", lambda p: append(p / A01, b"# a \x7f here\n"), A01, "# a ", "U+007F is not allowed in YAML",
         column=5),
    Case("NUL written as an escape", lambda p: append(p / A01, b'x: "a\\0b"\n'), A01, 'x: "a', "U+0000 in a value",
         column=4),
    Case("vertical tab in an article", lambda p: replace_in(p / A01_TEXT, "By Hanbit", "\vBy Hanbit"), A01_TEXT, 9,
         "U+000B cannot be carried", column=1),
    Case("U+FFFE in an article", lambda p: replace_in(p / A01_TEXT, "By Hanbit", "By\ufffeHanbit"), A01_TEXT, 9,
         "U+FFFE cannot be carried", column=3),
    Case("an article not UTF-8", lambda p: _latin1(p / A01_TEXT), A01_TEXT, 5, "not UTF-8: byte 0xe9", column=4),
    Case("an article with CR line breaks not UTF-8", lambda p: (_latin1(p / A01_TEXT), _line_breaks(p / A01_TEXT, b"\r")),
         A01_TEXT, 5, "not UTF-8: byte 0xe9", column=4),
    Case("NUL in an annotation file with CRLF line breaks", lambda p: (append(p / A01, b"# a \x00 here\n"),
                                                                       _line_breaks(p / A01, b"\r\n")),
         A01, "# a ", "U+0000 is not allowed in YAML", column=5),
    Case("an annotation file not UTF-8", lambda p: _latin1(p / REG), REG, "# Caf", "not UTF-8: byte 0xe9", column=6),
    # YAML
    Case("broken YAML", lambda p: replace_in(p / A01, "  timezone: Asia/Seoul\n", "  timezone: Asia/Seoul\n  a: b: c\n"),
         A01, "  a: b: c", "mapping values are not allowed", column=7),
    Case("duplicate key", lambda p: replace_in(p / A01, "  timezone: Asia/Seoul\n", "  timezone: Asia/Seoul\n  timezone: UTC\n"),
         A01, "timezone: UTC", "duplicate key 'timezone'", column=3),
    Case("two YAML documents", lambda p: append(p / A01, b"---\nmore: 1\n"), A01, "---", "another document"),
    Case("annotation file not a mapping", lambda p: (p / A01).write_text("- a\n- b\n", encoding="utf-8"), A01, 1,
         "a mapping of sections"),
    # quotes
    Case("quote not found", lambda p: replace_in(p / A02, 'quote: "a charge Tokyo rejects"', 'quote: "a charge Tokyo denies"'),
         A02, "a charge Tokyo denies", "quote not found"),
    Case("one quote of a list not found", lambda p: replace_in(p / A01, '    - "early Saturday (KST)"\n',
                                                                '    - "early Saturday (KST)"\n    - "early Sunday"\n'),
         A01, '- "early Sunday"', "quote not found in the article: \"early Sunday\""),
    Case("a date before the year 1", lambda p: replace_in(p / A02, '    date: "on Friday"\n',
                                                           '    date: {expr: "on Friday", anchor: 0001-01-01}\n'),
         A02, "anchor: 0001-01-01", "falls outside the years 1-9999"),
    # references
    Case("unknown id", lambda p: replace_in(p / A01, "    speaker: park-min-jun\n", "    speaker: kim-nobody\n"), A01,
         "kim-nobody", "unknown id 'kim-nobody'"),
    Case("unknown id in one item of a list", lambda p: replace_in(p / REG, "participants: [park-min-jun, laura-bennett]",
                                                                   "participants: [park-min-jun,\n       laura-nobody]"),
         REG, "       laura-nobody]", "unknown id 'laura-nobody'"),
    # files that lead outside the project
    Case("an article linked to a file outside", _link_article_out, "seeds/999_passwd.txt", 0, "outside the project",
         args=("build",)),
    Case("the registry linked to a file outside", lambda p: _move_out(p, REG), REG, 0, "outside the project"),
    Case("a saved query linked to a file outside", _link_query_out, "queries/passwd.rq", 0, "outside the project",
         args=("query", "--list")),
    Case("the ontology linked to a file outside", lambda p: _move_out(p, "ontology/tradekb.ttl"), "ontology/tradekb.ttl", 0,
         "outside the project"),
    Case("any file in seeds/ linked outside, hashed for the store", lambda p: (p / "seeds" / "notes").symlink_to(
        _outside_file(p, "notes", "secret")), "seeds/notes", 0, "outside the project",
         args=("validate", "--store", "oxigraph")),
    # other files
    Case("a directory for an article", lambda p: (os.unlink(p / A01_TEXT), os.mkdir(p / A01_TEXT)), A01_TEXT, 0,
         "not a regular file but a directory"),
    Case("the shapes linked to a file outside", lambda p: _move_out(p, "ontology/shapes.ttl"),
         "ontology/shapes.ttl", 0, "outside the project"),
    Case("broken Turtle in the shapes", lambda p: append(p / "ontology" / "shapes.ttl", b"{{{\n"),
         "ontology/shapes.ttl", "{{{", "broken Turtle"),
    Case("broken Turtle in the ontology", lambda p: append(p / "ontology" / "tradekb.ttl", b"{{{\n"),
         "ontology/tradekb.ttl", "{{{", "broken Turtle"),
    Case("a saved query not UTF-8", lambda p: (p / "queries").mkdir() or (p / "queries" / "q.rq").write_bytes(
        b"#+ summary: caf\xe9\nASK {}\n"), "queries/q.rq", 1, "not UTF-8", column=16, args=("query", "--list")),
]


def _line_breaks(path: Path, newline: bytes) -> None:
    """Save the file with `newline` for every line break."""
    path.write_bytes(path.read_bytes().replace(b"\n", newline))


def _latin1(path: Path) -> None:
    """An é saved as Latin-1 (byte 0xE9) on a line of its own at the top of the file."""
    data = path.read_bytes()
    comment = b"# Caf\xe9\n" if path.suffix == ".yaml" else b""
    if path.suffix == ".txt":  # line 5 of the article: "“We asked ..." -> "“We\xe9 asked"
        data = data.replace("\u201cWe asked".encode(), "\u201cWe".encode() + b"\xe9 asked")
    path.write_bytes(comment + data)


def check(outcome: Outcome, project: Path, case: Case) -> None:
    """Exit 2, one located line naming the case's file, line and column, no traceback, no build/."""
    assert outcome.code == 2, (outcome.code, outcome.lines)
    assert not any("Traceback" in line for line in outcome.lines)
    assert len(outcome.lines) == 1, "\n".join(outcome.lines)
    expected_line = case.line if isinstance(case.line, int) else line_of(project / case.file, case.line)
    if expected_line:
        match = LOCATED.match(outcome.lines[0])
        assert match, outcome.lines[0]
        assert Path(match["path"]) == project / case.file, outcome.lines[0]
        assert int(match["line"]) == expected_line, outcome.lines[0]
        if case.column is not None:
            assert match["column"] and int(match["column"]) == case.column, outcome.lines[0]
        message = match["message"]
    else:  # the file as a whole: too large, a link, not a regular file
        prefix = f"{project / case.file}: "
        assert outcome.lines[0].startswith(prefix), outcome.lines[0]
        message = outcome.lines[0][len(prefix):]
    assert case.words in message, outcome.lines[0]
    build = project / "build"
    assert not build.exists() or not any(build.iterdir()), sorted(build.rglob("*"))


@pytest.mark.parametrize("case", CATALOGUE, ids=[getattr(c, "values", [c])[0].name for c in CATALOGUE])
def test_bad_input_gives_one_located_line(mini_project, case):
    case.make(mini_project)
    check(in_process(mini_project, *case.args), mini_project, case)


@pytest.mark.parametrize("case", BOUNDED, ids=[c.name for c in BOUNDED])
def test_bad_input_in_bounded_memory_and_time(mini_project, case, record_property):
    case.make(mini_project)
    outcome = real_process(mini_project, *case.args)
    record_property("seconds", round(outcome.seconds, 2))
    record_property("peak_mb", round(outcome.peak_mb))
    check(outcome, mini_project, case)
    assert outcome.seconds < 30 and outcome.peak_mb < 600, (outcome.seconds, outcome.peak_mb)


def test_a_link_out_puts_nothing_in_the_exports(mini_project):
    """The original report: `ln -s /etc/passwd seeds/999_passwd.txt` put it in tradekb.ttl."""
    _link_article_out(mini_project)
    outcome = in_process(mini_project, "export")
    assert outcome.code == 2 and "root:x:0:0" not in outcome.stdout


def test_a_link_inside_the_project_is_followed(mini_project):
    """A symbolic link that stays inside the project reads nothing the project does not hold."""
    shared = mini_project / "shared"
    shared.mkdir()
    (mini_project / "seeds" / "a02_mini.txt").rename(shared / "a02_mini.txt")
    (mini_project / "seeds" / "a02_mini.txt").symlink_to(Path("..") / "shared" / "a02_mini.txt")
    outcome = in_process(mini_project, "validate")
    assert outcome.code == 0, outcome.lines


def test_an_unreadable_article_gives_no_knock_on_errors(mini_project):
    """Its annotations still load, unchecked against the text: no "quote not found" for each of
    them, and no "unknown id" in other files for the things it defines."""
    _latin1(mini_project / A01_TEXT)
    outcome = in_process(mini_project, "validate")
    assert outcome.code == 2 and len(outcome.lines) == 1, outcome.lines
    assert outcome.lines[0].startswith(f"{mini_project / A01_TEXT}:5:4: not UTF-8")


def test_several_bad_files_give_one_line_each(mini_project):
    append(mini_project / A01, b"# \x00\n")
    _latin1(mini_project / A02)
    append(mini_project / REG, b"x: &a [*a]\n")
    outcome = in_process(mini_project, "validate")
    assert outcome.code == 2, outcome.lines
    assert [Path(LOCATED.match(line)["path"]).name for line in outcome.lines] == [
        "a01_mini.yaml", "a02_mini.yaml", "registry.yaml"], outcome.lines


@pytest.mark.parametrize("args, words", [
    (("validate", "--store", "sqlite"), "--store 'sqlite': use memory, oxigraph or oxigraph:PATH"),
    (("query", "nosuch"), "unknown query 'nosuch'"),
    (("query",), "give a query NAME, or --list"),
])
def test_a_bad_command_line_gives_one_line(mini_project, args, words):
    """Mistakes on the command line name no file, but are one line and exit 2 as well."""
    outcome = in_process(mini_project, *args)
    assert outcome.code == 2 and len(outcome.lines) == 1, (outcome.code, outcome.lines)
    assert words in outcome.lines[0]
