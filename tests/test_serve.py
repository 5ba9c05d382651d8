"""`tradekb serve` as a real process: the served knowledge base answers the saved queries over the
SPARQL protocol with the embedded store's rows, keeps its named graphs, and stops cleanly on
Ctrl-C or SIGTERM; a taken port or an unusable --location is one line and a non-zero exit, before
the build and without touching the directory."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from conftest import REPO
from kb.queries import ResultTable, bind, catalogue, resolve_parameter, run_query, sort_lists
from kb.server import free_port
from servers import STARTUP_TIMEOUT, interrupt, read_endpoints, start_serving

LOOPBACK_ONLY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
QUERIES = catalogue(REPO)


def remote_select(query_url: str, text: str) -> ResultTable:
    """A SELECT over the plain SPARQL protocol (form POST, JSON results read by pyoxigraph's own
    parser, not kb.endpoint's) as pyoxigraph terms."""
    request = urllib.request.Request(query_url, data=urllib.parse.urlencode({"query": text}).encode(),
                                     headers={"Accept": "application/sparql-results+json"})
    with LOOPBACK_ONLY.open(request, timeout=60) as response:
        result = ox.parse_query_results(response.read(), format=ox.QueryResultsFormat.JSON)
    return ResultTable([v.value for v in result.variables], [tuple(solution) for solution in result])


@pytest.fixture(scope="module")
def served_seed():
    """The seed project served by `tradekb serve --port 0` for the module's tests."""
    process = start_serving(REPO, "--port", "0")
    try:
        yield read_endpoints(process)
    finally:
        if process.poll() is None:
            interrupt(process, signal.SIGINT)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_a_saved_query_over_http_gives_the_embedded_rows(served_seed, seed_store, name):
    query = QUERIES[name]
    params = {"actor": "Kim Hyun-chong"} if query.parameters else {}
    assert set(params) == {p.name for p in query.parameters}, "give this query's parameters a value here"
    embedded = run_query(seed_store, query, params)
    bindings = {p.name: resolve_parameter(seed_store, p, params[p.name]) for p in query.parameters}
    served = sort_lists(remote_select(served_seed.query, bind(query.text, bindings)), query.lists)
    assert embedded.rows, f"{name} should give rows on the seed KB"
    assert served.variables == embedded.variables
    assert Counter(served.rows) == Counter(embedded.rows)


def test_every_named_graph_is_served_whole(served_seed, seed_kb):
    served = remote_select(served_seed.query, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    by_graph = {g.value: int(n.value) for g, n in served.rows}
    assert by_graph == {name: sum(1 for _ in seed_kb.quads(name)) for name in seed_kb.graph_names}


@pytest.mark.parametrize("signum, sigint_ignored", [(signal.SIGINT, False), (signal.SIGTERM, False),
                                                    (signal.SIGINT, True)],
                         ids=["SIGINT", "SIGTERM", "SIGINT-after-a-start-with-SIGINT-ignored"])
def test_a_signal_stops_the_server_and_exits_0_leaving_no_temporary_store(mini_project, tmp_path, signum,
                                                                          sigint_ignored):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = start_serving(mini_project, "--port", "0", tmp=scratch, sigint_ignored=sigint_ignored)
    endpoints = read_endpoints(process)
    assert remote_select(endpoints.query, "SELECT * WHERE { ?s ?p ?o } LIMIT 1").rows
    assert interrupt(process, signum) == 0, process.stderr.read()
    assert process.stderr.read().splitlines()[-1] == "stopped"
    with pytest.raises(urllib.error.URLError):  # the Oxigraph server went with it
        remote_select(endpoints.query, "SELECT * WHERE { ?s ?p ?o } LIMIT 1")
    assert list(scratch.iterdir()) == []


def test_location_keeps_the_store_for_pyoxigraph_and_a_second_serve(mini_project, tmp_path):
    location = tmp_path / "store"
    for _ in range(2):  # the second run replaces the store's content with the same graphs
        process = start_serving(mini_project, "--port", "0", "--location", str(location))
        read_endpoints(process)
        assert interrupt(process, signal.SIGINT) == 0, process.stderr.read()
    from kb.pipeline import load_knowledge_base
    kb = load_knowledge_base(mini_project)
    kept = ox.Store.read_only(str(location))
    assert len(kept) == len(kb)
    assert sorted(g.value for g in kept.named_graphs()) == kb.graph_names


def run_to_exit(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kb.cli", "-C", str(project), "serve", *args],
                          check=False, capture_output=True, text=True, timeout=STARTUP_TIMEOUT)


def test_a_port_in_use_is_one_line_and_exit_2_before_any_build(mini_project):
    with socket.socket() as taken:
        port = free_port()
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = run_to_exit(mini_project, "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"cannot serve on 127.0.0.1:{port}: Address already in use"]
    assert result.stdout == ""


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` by relative path, with its bytes."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("files", [{"notes.txt": b"mine"}, {"CURRENT": b"my current notes\n"},
                                   {"CURRENT": b"MANIFEST-000005\n", "MANIFEST-000005": b"", "OPTIONS-000007": b"x"}],
                         ids=["other-files", "a-file-named-CURRENT", "another-program's-rocksdb"])
def test_a_location_holding_no_oxigraph_store_is_refused_before_the_build_and_left_as_it_was(mini_project, tmp_path,
                                                                                             files):
    location = tmp_path / "documents"
    location.mkdir()
    for name, data in files.items():
        (location / name).write_bytes(data)
    before = snapshot(location)
    result = run_to_exit(mini_project, "--port", "0", "--location", str(location))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"{location} is not empty and holds no Oxigraph store: "
                                          "give a new or empty directory"]  # no build before it, no traceback
    assert result.stdout == ""
    assert snapshot(location) == before
    assert sorted(p.name for p in location.iterdir()) == sorted(files)


def test_a_location_another_serve_is_serving_is_refused_before_the_build(mini_project, tmp_path):
    location = tmp_path / "store"
    first = start_serving(mini_project, "--port", "0", "--location", str(location))
    try:
        read_endpoints(first)
        before = snapshot(location)
        result = run_to_exit(mini_project, "--port", "0", "--location", str(location))
        assert result.returncode == 2
        assert result.stderr.splitlines() == [f"{location} is being served by another tradekb serve"]
        assert snapshot(location) == before
    finally:
        assert interrupt(first, signal.SIGINT) == 0
