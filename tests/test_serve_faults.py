"""`kill -9` of `tradekb serve` at any instant, for real: its Oxigraph server goes with it, and the
next serve just works, removing the temporary store the killed one left, in the same temporary
directory or --location."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from kb.processes import started
from kb.server import SCRATCH_PREFIX
from servers import interrupt, read_endpoints, start_serving
from test_serve import remote_select

DEATH_TIMEOUT = 5.0  # seconds for Linux to kill the server of a killed serve
KILL_POINTS = (0.2, 0.4, 0.6, 0.8, 0.95)  # fractions of a measured startup, then once it serves

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux (/proc, PR_SET_DEATHSIG)")


def servers_under(*directories: Path) -> list[int]:
    """Running processes whose command line names one of `directories` or a path under one."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        named = any(arg.startswith(str(directory)) for arg in argv for directory in directories)
        if named and started(int(entry.name)) is not None:
            found.append(int(entry.name))
    return found


def kill(process: subprocess.Popen, *directories: Path) -> None:
    """SIGKILL the serve; fail unless every server it started in `directories` is gone soon after."""
    process.kill()
    process.wait()
    deadline = time.monotonic() + DEATH_TIMEOUT
    while servers_under(*directories) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert servers_under(*directories) == [], "a server outlived its killed tradekb serve"


def query_count(process: subprocess.Popen) -> int:
    endpoints = read_endpoints(process)
    return int(remote_select(endpoints.query, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows[0][0].value)


def test_a_killed_serve_leaves_no_server_and_the_next_clears_its_temporary_store(mini_project, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    first = start_serving(mini_project, "--port", "0", tmp=scratch)
    answered = query_count(first)
    assert servers_under(scratch), "the control: its Oxigraph server runs from the temporary directory"
    kill(first, scratch)
    assert [p.name.startswith(SCRATCH_PREFIX) for p in scratch.iterdir()] == [True]  # left by the kill
    second = start_serving(mini_project, "--port", "0", tmp=scratch)
    assert query_count(second) == answered
    assert interrupt(second, signal.SIGINT) == 0
    said = second.stderr.read().splitlines()
    assert "removed the temporary directories of 1 tradekb process(es) that had been killed" in said
    assert list(scratch.iterdir()) == []


def test_kills_at_any_instant_of_serve_leave_nothing_the_next_serve_does_not_clear(mini_project, tmp_path):
    """Killed at evenly spaced instants of a measured startup (build, store written, server
    starting) and once serving, alternately with a temporary store and with --location."""
    scratch, location = tmp_path / "tmp", tmp_path / "kept"
    scratch.mkdir()
    begun = time.monotonic()
    measured = start_serving(mini_project, "--port", "0", tmp=scratch)
    answered = query_count(measured)
    startup = time.monotonic() - begun
    assert interrupt(measured, signal.SIGINT) == 0
    for number, fraction in enumerate((*KILL_POINTS, None)):
        kept = ("--location", str(location)) if number % 2 else ()
        process = start_serving(mini_project, "--port", "0", *kept, tmp=scratch)
        if fraction is None:
            read_endpoints(process)
        else:
            time.sleep(fraction * startup)
        kill(process, scratch, location)
    final = start_serving(mini_project, "--port", "0", "--location", str(location), tmp=scratch)
    assert query_count(final) == answered
    assert interrupt(final, signal.SIGINT) == 0, final.stderr.read()
    assert list(scratch.iterdir()) == []
    assert list(location.glob("bulk-*")) == []  # what a killed bulk load left went with the next write


def test_a_store_whose_creation_a_kill_cut_short_is_still_taken_for_one(tmp_path, seed_kb):
    """RocksDB writes a new store's OPTIONS file last: before it, a LOCK and RocksDB's own files
    are all a killed serve leaves in --location, and the next serve must take that for a store."""
    import pyoxigraph as ox
    from kb.server import is_oxigraph_store, write_store
    location = tmp_path / "store"
    write_store(seed_kb, location)
    assert is_oxigraph_store(location)
    for unfinished in [*location.glob("OPTIONS-*"), location / "CURRENT"]:
        unfinished.unlink()
    assert is_oxigraph_store(location)
    (location / "notes.txt").write_text("mine", encoding="utf-8")
    assert not is_oxigraph_store(location)
    other = tmp_path / "not-oxigraph"  # a RocksDB directory of another program: its own column families
    ox.Store(str(other)).flush()
    for options in other.glob("OPTIONS-*"):
        options.write_text(options.read_text(encoding="utf-8").replace('"id2str"', '"theirs"'), encoding="utf-8")
    assert not is_oxigraph_store(other)


def test_an_oxigraph_server_killed_under_a_serve_ends_it_in_one_line(mini_project, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = start_serving(mini_project, "--port", "0", tmp=scratch)
    read_endpoints(process)
    [server] = servers_under(scratch)
    os.kill(server, signal.SIGKILL)
    assert process.wait(30) == 2
    assert process.stderr.read().splitlines()[-1] == "the Oxigraph server stopped by itself with code -9"
    assert list(scratch.iterdir()) == []
