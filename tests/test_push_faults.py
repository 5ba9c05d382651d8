"""`kill -9` of `tradekb push` at any instant, against a real Oxigraph server: a reader meanwhile
gets the old knowledge base or the new one, never a mix; the server then holds one of them, whole;
and the next push just works, dropping the staging graphs a killed one left.

Two projects of different content take turns (the seed's five articles and the mini project's
two), so that old and new can be told apart. Each push is killed at an instant evenly spaced over
a measured push of the same project, from its first upload to its end (the swap included), and
once at the line that says the uploads are counted and the swap begins."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO
from remote import as_user, connection, layout_for
from servers import Server
from test_push import local_counts

from kb.cli import cli
from kb.errors import ServerError
from kb.pipeline import load_knowledge_base
from kb.push import Layout, graphs_under, query, snapshot, triples_per_graph
from kb.queries import ResultFormat, catalogue, format_results, run_query

KILLS = 8  # instants, evenly spaced over a push; and one at the swap line
LINE_TIMEOUT = 120.0  # seconds for a push to print its next line (it builds and validates first)
QUERY = catalogue(REPO)["actors"]
# What a tradekb reader says rather than mix two pushes: one landed while it read, or (where a
# swap is applied one operation at a time: Virtuoso) one is under way or failed halfway.
SAID_NOT_MIXED = ("pushed again", "being swapped in")


def start_push(project: Path, server: Server, base: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("TRADEKB_STORE", "TRADEKB_USER", "TRADEKB_PASSWORD")}
    if server.user:
        env.update(TRADEKB_USER=server.user, TRADEKB_PASSWORD=server.password)
    return subprocess.Popen([sys.executable, "-m", "kb.cli", "-C", str(project), "push", "--endpoint",
                             server.query_url, "--graph-base", base, "--shacl", "sparql"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(process: subprocess.Popen, start: str) -> float:
    """Read the push's progress until a line beginning with `start`; when it came."""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while selector.select(timeout=LINE_TIMEOUT):
            line = process.stderr.readline()
            if not line:
                break
            if line.startswith(start):
                return time.monotonic()
    process.kill()
    pytest.fail(f"push printed no line beginning {start!r} (exit {process.wait()})")


def held(server, layout: Layout, kbs: dict) -> str:
    """Which knowledge base the server holds, whole: the name in `kbs`; fails on anything else."""
    seen = snapshot(server, layout)
    counts = triples_per_graph(server, [*seen.graphs, seen.union])
    for name, kb in kbs.items():
        if counts == {**local_counts(kb, layout), seen.union: len(kb.triples())}:
            return name
    pytest.fail(f"the server holds neither knowledge base whole: {counts}")


class Reader:
    """Runs a saved query on the server over and over (as `tradekb query --endpoint` does) while
    a push is under way and killed, and keeps every answer."""

    def __init__(self, server_fixture, layout: Layout) -> None:
        self.server, self.layout = connection(server_fixture, timeout=2), layout
        self.answers: set[str] = set()
        self.running = True
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self) -> None:
        while self.running:
            try:
                self.answers.add(format_results(query(self.server, self.layout, QUERY, {}), ResultFormat.CSV))
            except ServerError as e:  # said and refused, never mixed
                assert any(said in str(e) for said in SAID_NOT_MIXED), e

    def stop(self) -> set[str]:
        self.running = False
        self.thread.join(60)
        return self.answers


def test_kill_push_at_any_instant_then_the_next_push_just_works(oxigraph_server, mini_project, seed_kb, request):
    layout, server = layout_for(request), connection(oxigraph_server)
    projects = {"seed": REPO, "mini": mini_project}
    kbs = {"seed": seed_kb, "mini": load_knowledge_base(mini_project)}
    answers = {name: format_results(run_query(kb.store, QUERY, {}), ResultFormat.CSV) for name, kb in kbs.items()}
    assert answers["seed"] != answers["mini"]
    span = {}
    for name in ("mini", "seed"):  # measured: from the first upload to the end
        measured = start_push(projects[name], oxigraph_server, layout.base)
        began = wait_for(measured, "uploading")
        assert measured.wait(LINE_TIMEOUT) == 0, measured.stderr.read()
        span[name] = time.monotonic() - began
    live, staging_left = "seed", 0
    for fraction in [i / KILLS for i in range(KILLS)] + [None]:
        name = "mini" if live == "seed" else "seed"  # an old and a new that differ
        reader = Reader(oxigraph_server, layout)
        pushing = start_push(projects[name], oxigraph_server, layout.base)
        began = wait_for(pushing, "uploading")
        if fraction is None:
            wait_for(pushing, "uploaded")
        else:
            time.sleep(max(0.0, began + fraction * span[name] - time.monotonic()))
        pushing.kill()
        pushing.wait()
        seen = reader.stop()
        assert seen and seen <= {answers[live], answers[name]}, "a reader saw a mix of two pushes"
        live = held(server, layout, kbs)
        kept = {*local_counts(kbs[live], layout), layout.manifest, snapshot(server, layout).union}
        staging_left += len(set(graphs_under(server, layout)) - kept)
    assert staging_left, "no kill left staging graphs: the instants missed the uploads"
    final = "mini" if live == "seed" else "seed"
    result = CliRunner().invoke(cli, ["-C", str(projects[final]), "push", "--endpoint", oxigraph_server.query_url,
                                      "--graph-base", layout.base, "--shacl", "sparql"])
    assert result.exit_code == 0, result.output
    assert held(server, layout, kbs) == final
    seen = snapshot(server, layout)
    assert graphs_under(server, layout) == sorted([*local_counts(kbs[final], layout), layout.manifest, seen.union])
    remote = CliRunner().invoke(cli, ["-C", str(REPO), "query", "actors", "-f", "csv", "--endpoint",
                                      oxigraph_server.query_url, "--graph-base", layout.base])
    assert remote.exit_code == 0 and remote.stdout == answers[final], remote.output


class Killed(BaseException):
    """tradekb dying: no `except` of push's runs (it catches TradeKBError only)."""


class SwapHeldBack:
    """A connection on which push's swap never leaves: the push dies just before, as if killed
    with its request on the wire; `swap` is what the server would still have run."""

    def __init__(self, connection) -> None:
        self.connection, self.swap = connection, None

    def __getattr__(self, name):
        return getattr(self.connection, name)

    def update(self, text: str, about: str, retry: bool = True) -> None:
        if about.startswith("swap"):
            self.swap = text
            raise Killed()
        self.connection.update(text, about, retry)


def test_a_killed_push_whose_swap_lands_while_the_next_push_starts_is_not_undone(oxigraph_server, mini_project,
                                                                                  seed_kb, request):
    """The next push lists the graphs, then the killed push's swap lands, then the next push
    drops what it took for leftovers: the union just made live must not be among them."""
    layout, server = layout_for(request), connection(oxigraph_server)
    kbs = {"seed": seed_kb, "mini": load_knowledge_base(mini_project)}
    from kb.push import push
    push(kbs["mini"], server, layout)
    held_back = SwapHeldBack(server)
    with pytest.raises(Killed):
        push(kbs["seed"], held_back, layout)
    states = []

    def progress(line: str) -> None:
        if line.startswith("dropping"):  # listed, about to drop: now the killed push's swap lands
            server.update(held_back.swap, "the killed push's swap")
        if line.startswith("uploading"):
            states.append(held(server, layout, kbs))
    push(kbs["mini"], server, layout, progress)
    assert states == ["seed"]  # whole, between the next push's cleanup and its uploads
    assert held(server, layout, kbs) == "mini"
    seen = snapshot(server, layout)
    assert graphs_under(server, layout) == sorted([*local_counts(kbs["mini"], layout), layout.manifest, seen.union])


def test_a_push_killed_at_its_swap_on_virtuoso_leaves_old_new_or_a_flagged_swap(virtuoso_server, mini_project,
                                                                                seed_kb, monkeypatch, request):
    """Virtuoso applies a swap one operation at a time, and the manifest loses its push id first:
    killed at the swap, a reader gets the old answer, the new one, or is told a swap is under way
    or failed halfway, never a mix; and the next push puts one knowledge base back, whole."""
    layout = layout_for(request)
    server = connection(virtuoso_server, timeout=2)
    kbs = {"seed": seed_kb, "mini": load_knowledge_base(mini_project)}
    answers = {name: format_results(run_query(kb.store, QUERY, {}), ResultFormat.CSV) for name, kb in kbs.items()}
    from kb.push import push
    push(kbs["mini"], server, layout)
    reader = Reader(virtuoso_server, layout)
    pushing = start_push(REPO, virtuoso_server, layout.base)
    wait_for(pushing, "uploaded")
    pushing.kill()
    pushing.wait()
    assert reader.stop() <= set(answers.values()), "a reader saw a mix of two pushes"
    as_user(virtuoso_server, monkeypatch)
    result = CliRunner().invoke(cli, ["-C", str(mini_project), "push", "--endpoint", virtuoso_server.query_url,
                                      "--graph-base", layout.base, "--shacl", "sparql"])
    assert result.exit_code == 0, result.output
    assert held(server, layout, kbs) == "mini"
    assert graphs_under(server, layout) == sorted([*local_counts(kbs["mini"], layout), layout.manifest,
                                                   snapshot(server, layout).union])
