"""The test servers themselves work, so that a broken harness fails loudly here and not as a
puzzle in the remote tests: a graph goes in over the Graph Store protocol (with Digest auth on
Virtuoso) and comes back over the query protocol, and the servers listen on loopback only."""

from __future__ import annotations

import ipaddress
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from kb import server as kb_server
from servers import Server, free_port, start_oxigraph, stop

GRAPH = "http://example.org/tradekb-test/harness"
DATA = '<http://example.org/s> <http://example.org/p> "café, 東京" .\n'.encode()


def opener(server: Server, authenticated: bool = True) -> urllib.request.OpenerDirector:
    """Loopback only (no proxy), with the server's Digest credentials when it has them."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if authenticated and server.user:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, server.store_url, server.user, server.password)
        handlers.append(urllib.request.HTTPDigestAuthHandler(passwords))
    return urllib.request.build_opener(*handlers)


def graph_request(server: Server, method: str, data: bytes | None = None) -> urllib.request.Request:
    url = f"{server.store_url}?{urllib.parse.urlencode({'graph': GRAPH})}"
    headers = {"Content-Type": "application/n-triples"} if data is not None else {}
    return urllib.request.Request(url, data=data, method=method, headers=headers)


def select(server: Server, query: str) -> list[dict]:
    url = f"{server.query_url}?{urllib.parse.urlencode({'query': query})}"
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    with opener(server).open(request, timeout=30) as response:
        return json.load(response)["results"]["bindings"]


def test_a_graph_put_over_the_graph_store_protocol_is_read_back_by_a_query(sparql_server):
    with opener(sparql_server).open(graph_request(sparql_server, "PUT", DATA), timeout=30) as response:
        assert response.status in (200, 201, 204)
    try:
        rows = select(sparql_server, f"SELECT ?s ?p ?o WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}")
        assert [{k: v["value"] for k, v in row.items()} for row in rows] == [
            {"s": "http://example.org/s", "p": "http://example.org/p", "o": "café, 東京"}]
    finally:
        opener(sparql_server).open(graph_request(sparql_server, "DELETE"), timeout=30).close()
    assert select(sparql_server, f"SELECT ?s WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}") == []


def test_virtuoso_refuses_a_graph_store_write_without_credentials(virtuoso_server):
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener(virtuoso_server, authenticated=False).open(graph_request(virtuoso_server, "PUT", DATA), timeout=30)
    assert refused.value.code == 401


def listening_addresses(pid: int) -> set[str]:
    """The addresses the process's listening TCP sockets are bound to (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    addresses = set()
    for table, width in (("tcp", 4), ("tcp6", 16)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                raw = bytes.fromhex(local.split(":")[0])
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, width, 4))  # each 32-bit word is little-endian
                addresses.add(str(ipaddress.ip_address(words)))
    return addresses


def test_servers_listen_on_loopback_only(sparql_server):
    assert listening_addresses(sparql_server.process.pid) == {"127.0.0.1"}
    for url in (sparql_server.query_url, sparql_server.update_url, sparql_server.store_url):
        assert urllib.parse.urlsplit(url).hostname == "127.0.0.1"


def test_a_stopped_server_no_longer_answers(tmp_path):
    server = start_oxigraph(tmp_path)
    assert select(server, "SELECT ?s WHERE { ?s ?p ?o }") == []
    stop(server)
    assert server.process.returncode is not None
    with pytest.raises(urllib.error.URLError):
        select(server, "SELECT ?s WHERE { ?s ?p ?o }")


def test_a_server_that_cannot_start_says_why_in_one_line(tmp_path):
    first = start_oxigraph(tmp_path)
    try:
        with pytest.raises(kb_server.ServeError, match=r"^oxigraph exited with code 1: Error: .*lock") as failed:
            kb_server.start_oxigraph(tmp_path / "store", free_port(), tmp_path / "second.log")
        assert "\n" not in str(failed.value)
    finally:
        stop(first)
