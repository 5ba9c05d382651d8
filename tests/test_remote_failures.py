"""When a server fails: each case ends in one line naming the server, the request and what it
answered, exit code 4, a bounded number of requests, and (for a push) the server's earlier
content intact. Faults come from loopback stand-ins: a proxy in front of the real Oxigraph server
(tests/remote.py) that answers chosen requests itself, and a socket that accepts and never answers."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from conftest import REPO
from remote import Answer, Fault, Proxy, as_user, connection, layout_for
from servers import Server, free_port, start_oxigraph, stop

from kb.cli import cli
from kb.endpoint import GENERIC, Connection, Endpoint
from kb.errors import ServerError
from kb.pipeline import load_knowledge_base
from kb.push import Layout, graphs_under, push, query, snapshot, triples_per_graph
from kb.queries import catalogue


@pytest.fixture
def proxy(oxigraph_server) -> Iterator[Callable[[Fault], Proxy]]:
    """Proxies in front of the session's Oxigraph server, closed after the test."""
    made: list[Proxy] = []

    def make(fault: Fault) -> Proxy:
        made.append(Proxy(oxigraph_server.query_url, fault))
        return made[-1]
    yield make
    for each in made:
        each.close()


class Silent:
    """A loopback socket that accepts connections and never answers."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                self.accepted.append(self.socket.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.socket.close()
        for accepted in self.accepted:
            accepted.close()


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


INJECTED = Answer(500, b"injected failure\nsecond line\nthird line")
PROGRESS = ("built the graph: ", "SHACL (", "dropping ", "uploading ", "uploaded ")  # what push says as it goes


def one_line(result, code: int = 4) -> str:
    """The one line that says what failed (after any progress lines of the push)."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    *progress, line = result.stderr.splitlines()
    assert all(said.startswith(PROGRESS) for said in progress), result.stderr
    return line


def test_a_server_that_went_down(tmp_path):
    server = start_oxigraph(tmp_path)
    stop(server)
    port = urlsplit(server.query_url).port
    line = one_line(run("-C", str(REPO), "query", "actors", "--endpoint", server.query_url))
    assert line == (f"Oxigraph at 127.0.0.1:{port}: POST {server.query_url} (the push manifest): "
                    "no answer: connection refused (is the server running, and on this port?)")


def test_a_wrong_port(mini_project):
    url = f"http://127.0.0.1:{free_port()}/sparql"
    line = one_line(run("-C", str(mini_project), "push", "--endpoint", url))
    assert line == (f"Virtuoso at {urlsplit(url).netloc}: POST {url} (graphs under the base, rows 1-5000): "
                    "no answer: connection refused (is the server running, and on this port?)")


def test_a_server_that_never_answers_times_out_once():
    silent = Silent()
    try:
        url = f"http://127.0.0.1:{silent.port}/query"
        line = one_line(run("-C", str(REPO), "query", "actors", "--endpoint", url, "--timeout", "1"))
        assert line == (f"Oxigraph at 127.0.0.1:{silent.port}: POST {url} (the push manifest): "
                        "no answer within 1 s (timed out)")
        assert len(silent.accepted) == 1  # a timeout is not retried
    finally:
        silent.close()


def test_an_upload_that_gets_no_answer_times_out_once(proxy, mini_project, request):
    def hang(number: int, request: BaseHTTPRequestHandler) -> None:
        if request.command == "PUT":
            threading.Event().wait(3)
    front = proxy(hang)
    base = layout_for(request).base
    line = one_line(run("-C", str(mini_project), "push", "--endpoint", front.url("/query"), "--graph-base", base,
                        "--timeout", "1"))
    assert re.fullmatch(rf"Oxigraph at 127\.0\.0\.1:{front.port}: PUT {front.url('/store')} \(graph "
                        rf"{re.escape(base)}push/[^/]+/a01_mini\): no answer within 1 s \(timed out\)", line), line
    assert [m for m, _ in front.seen].count("PUT") == 1


def test_a_wrong_password_is_a_401_and_never_shown(virtuoso_server, mini_project, monkeypatch, request):
    as_user(virtuoso_server, monkeypatch)
    monkeypatch.setenv("TRADEKB_PASSWORD", "not-the-password-4711")
    result = run("-C", str(mini_project), "push", "--endpoint", virtuoso_server.query_url,
                 "--graph-base", layout_for(request).base)
    line = one_line(result)
    assert re.fullmatch(rf"Virtuoso at 127\.0\.0\.1:\d+: PUT {virtuoso_server.store_url} \(graph \S+\): "
                        r"401 Unauthorized", line), line
    assert "not-the-password-4711" not in result.output


def earlier_push(oxigraph_server: Server, mini_project, layout: Layout):
    """The mini KB pushed straight to the server: what a failed push must leave intact."""
    direct = connection(oxigraph_server)
    push(load_knowledge_base(mini_project), direct, layout)
    before = snapshot(direct, layout)
    return direct, before, triples_per_graph(direct, before.graphs)


def test_a_500_in_the_middle_of_a_push_leaves_the_earlier_content(oxigraph_server, proxy, mini_project, request):
    layout = layout_for(request)
    direct, before, counts = earlier_push(oxigraph_server, mini_project, layout)
    front = proxy(lambda number, request: INJECTED if number >= 4 else None)  # from the third upload on
    line = one_line(run("-C", str(REPO), "push", "--endpoint", front.url("/query"), "--graph-base", layout.base))
    assert re.fullmatch(rf"Oxigraph at 127\.0\.0\.1:{front.port}: PUT {front.url('/store')} \(graph "
                        rf"{re.escape(layout.base)}push/[^/]+/002_\w+\): 500 Internal Server Error: "
                        r"injected failure / second line", line), line
    # the listing, two uploads, the third upload and its 3 retries, the clean-up and its 3 retries
    assert len(front.seen) == 1 + 2 + 4 + 4
    assert snapshot(direct, layout) == before
    assert triples_per_graph(direct, before.graphs) == counts
    push(load_knowledge_base(mini_project), direct, layout)  # the next push clears the leftovers
    after = snapshot(direct, layout)
    assert after.graphs == before.graphs
    assert graphs_under(direct, layout) == sorted([*before.graphs, layout.manifest, after.union])


def test_a_500_on_the_swap_is_not_retried_and_leaves_the_earlier_content(oxigraph_server, proxy, seed_kb,
                                                                        mini_project, request):
    layout = layout_for(request)
    direct, before, counts = earlier_push(oxigraph_server, mini_project, layout)
    swap = 1 + len(seed_kb.graph_names) + 4  # listing, the uploads and the union's, the count, listing, the swap
    front = proxy(lambda number, request: INJECTED if number == swap else None)
    with pytest.raises(ServerError, match=r"POST \S+/update \(swap the staging graphs in\): 500 Internal"):
        push(seed_kb, connection(oxigraph_server, front.url("/query")), layout)
    assert front.seen[swap - 1:] == [("POST", "/update"), ("POST", "/update")]  # the swap once, then the clean-up
    assert snapshot(direct, layout) == before
    assert triples_per_graph(direct, before.graphs) == counts
    assert graphs_under(direct, layout) == sorted([*before.graphs, layout.manifest, before.union])


def test_a_passing_500_is_retried(oxigraph_server, proxy, seed_kb, request):
    layout = layout_for(request)
    front = proxy(lambda number, request: INJECTED if number == 4 else None)
    result = push(seed_kb, connection(oxigraph_server, front.url("/query")), layout)
    assert result.triples == len(seed_kb)
    assert len(front.seen) == 2 + len(seed_kb.graph_names) + 3 + 1  # one retry more than the push needs
    assert sum(triples_per_graph(connection(oxigraph_server), snapshot(connection(oxigraph_server), layout).graphs)
               .values()) == len(seed_kb)


def test_a_malformed_query_answer(proxy):
    front = proxy(lambda number, request: Answer(200, b"<html>\n<body>oops</body>\n</html>",
                                                "application/sparql-results+json"))
    line = one_line(run("-C", str(REPO), "query", "actors", "--endpoint", front.url("/query")))
    assert line == (f"Oxigraph at 127.0.0.1:{front.port}: POST {front.url('/query')} (the push manifest): "
                    "200, but not SPARQL JSON results: <html> / <body>oops</body>")


def test_a_malformed_graph(oxigraph_server, proxy, mini_project, request, monkeypatch):
    layout = layout_for(request)
    push(load_knowledge_base(mini_project), connection(oxigraph_server), layout)
    front = proxy(lambda number, request: Answer(200, b"<http://a> is not N-Triples\n", "application/n-triples")
                  if request.command == "GET" else None)
    as_user(oxigraph_server, monkeypatch)
    line = one_line(run("-C", str(mini_project), "validate", "--endpoint", front.url("/query"),
                        "--graph-base", layout.base))
    assert line.startswith(f"Oxigraph at 127.0.0.1:{front.port}: GET {front.url('/store')} (graph "
                           f"{layout.base}a01_mini): 200, but not N-Triples: "), line


def test_a_push_between_two_pages_is_caught(oxigraph_server, proxy, seed_kb, mini_project, request):
    layout = layout_for(request)
    direct = connection(oxigraph_server)
    push(seed_kb, direct, layout)
    mini = load_knowledge_base(mini_project)

    def push_meanwhile(number: int, request: BaseHTTPRequestHandler) -> None:
        if number == 3:  # the manifest, the first page, then this: the second page
            push(mini, direct, layout)
    front = proxy(push_meanwhile)
    with pytest.raises(ServerError, match="the knowledge base was pushed again while query reports ran"):
        query(connection(oxigraph_server, front.url("/query")), layout, catalogue(REPO)["reports"], {}, page_size=20)


def test_no_credentials_say_how_to_give_them(virtuoso_server, mini_project, monkeypatch, request):
    as_user(virtuoso_server, monkeypatch)
    monkeypatch.delenv("TRADEKB_USER")
    monkeypatch.delenv("TRADEKB_PASSWORD")
    monkeypatch.setenv("NETRC", str(mini_project / "no-netrc-here"))
    line = one_line(run("-C", str(mini_project), "push", "--endpoint", virtuoso_server.query_url,
                        "--graph-base", layout_for(request).base))
    assert line.endswith(": 401 Unauthorized (no credentials given: set TRADEKB_USER and TRADEKB_PASSWORD, "
                         "or a netrc entry for the host)"), line


def test_a_swap_that_fails_halfway_where_updates_are_not_atomic_is_flagged(oxigraph_server, proxy, seed_kb,
                                                                          mini_project, request):
    """Where a server may leave an update request half done (Virtuoso), the manifest loses its
    push id before the swap; a swap that fails leaves it so, and readers say so until a new push."""
    layout = layout_for(request)
    direct, before, _ = earlier_push(oxigraph_server, mini_project, layout)
    swap = 1 + len(seed_kb.graph_names) + 5  # listing, the uploads and the union's, count, listing, mark, swap
    front = proxy(lambda number, asked: INJECTED if number == swap else None)
    unknown = Endpoint(GENERIC, front.url("/query"), front.url("/update"), front.url("/store"))
    with pytest.raises(ServerError, match=r"\(swap the staging graphs in\): 500 Internal Server Error"):
        push(seed_kb, Connection(unknown, timeout=1), layout)
    assert front.seen[swap - 2:swap] == [("POST", "/update"), ("POST", "/update")]  # the mark, the swap
    with pytest.raises(ServerError, match=r"was still being swapped in after 1 s, or it failed halfway \(push again\)"):
        snapshot(connection(oxigraph_server, timeout=1), layout)
    push(load_knowledge_base(mini_project), direct, layout)
    assert snapshot(direct, layout).graphs == before.graphs
