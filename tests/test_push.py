"""`tradekb push` and `validate --endpoint` against the real servers (Oxigraph's and Virtuoso):
one named graph per graph of the KB under a base, a re-push replaces, graphs an earlier push had
are dropped, only a valid KB goes, and what the server holds validates as the local KB does."""

from __future__ import annotations

import base64
import re
import shutil
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pyoxigraph as ox
from click.testing import CliRunner
from conftest import REPO
from remote import Answer, Proxy, as_user, connection, layout_for

from kb.cli import cli
from kb.endpoint import Endpoint
from kb.graph import graph_iri
from kb.pipeline import load_knowledge_base
from kb.push import Layout, graphs_under, local_name, push, snapshot, triples_per_graph

LOCATED = re.compile(r"^(?P<path>\S+?):(?P<line>\d+): (?P<message>.+)$")


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def local_counts(kb, layout: Layout) -> dict[str, int]:
    """Triples per graph of the local KB, under the server's graph names."""
    return {layout.graph(local_name(g)): sum(1 for _ in kb.quads(g)) for g in kb.graph_names}


def line_of(path: Path, needle: str) -> int:
    [line] = [n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in text]
    return line


def test_push_then_push_again_replaces_and_never_duplicates(sparql_server, seed_kb, request):
    layout, server = layout_for(request), connection(sparql_server)
    expected = local_counts(seed_kb, layout)
    push(seed_kb, server, layout)
    first = snapshot(server, layout)
    assert first.graphs == sorted(expected)
    assert triples_per_graph(server, first.graphs) == expected
    push(seed_kb, server, layout)
    second = snapshot(server, layout)
    assert second.graphs == first.graphs and second.push_id != first.push_id
    assert triples_per_graph(server, second.graphs) == expected  # the same triple count: replaced
    assert graphs_under(server, layout) == sorted([*expected, layout.manifest, second.union])  # no staging left
    assert triples_per_graph(server, [second.union]) == {second.union: len(seed_kb.triples())}


def test_graphs_an_earlier_push_had_and_stale_staging_graphs_are_dropped(sparql_server, seed_kb, mini_project,
                                                                          request):
    layout, server = layout_for(request), connection(sparql_server)
    push(seed_kb, server, layout)
    stale = layout.staging("20190701T000000Z-dead01", "000_f0205f4675e93af6")  # as an interrupted push leaves
    server.update(f"INSERT DATA {{ GRAPH <{stale}> {{ <http://example.org/s> <http://example.org/p> 1 }} }}", "plant")
    mini = load_knowledge_base(mini_project)
    result = push(mini, server, layout)
    expected = local_counts(mini, layout)
    assert result.dropped == sorted(set(local_counts(seed_kb, layout)) - set(expected))  # the seed's articles
    assert graphs_under(server, layout) == sorted([*expected, layout.manifest, snapshot(server, layout).union])
    assert triples_per_graph(server, sorted(expected)) == expected


def test_cli_push_under_a_base_then_validate_what_the_server_holds(sparql_server, mini_project, monkeypatch,
                                                                   request):
    as_user(sparql_server, monkeypatch)
    base = layout_for(request).base
    graphs = len(load_knowledge_base(mini_project).graph_names)
    for _ in ("push", "push again"):
        pushed = run("-C", str(mini_project), "push", "--endpoint", sparql_server.query_url, "--graph-base", base)
        assert pushed.exit_code == 0, pushed.output
        assert re.fullmatch(rf"pushed {graphs} graphs \(\d+ triples\) to \w+ at 127\.0\.0\.1:\d+ under {base}\n",
                            pushed.stdout)
    checked = run("-C", str(mini_project), "validate", "--endpoint", sparql_server.query_url, "--graph-base", base)
    assert checked.exit_code == 0, checked.output
    assert checked.stdout == ""
    assert f"fetched {graphs} graphs" in checked.stderr and "conforms: no violations" in checked.stderr


def test_remote_violations_name_the_local_annotation_file_and_line(sparql_server, mini_project, monkeypatch,
                                                                   request):
    layout, server = layout_for(request), connection(sparql_server)
    push(load_knowledge_base(mini_project), server, layout)
    # One graph named: Virtuoso 7.2 deletes from the first graph only when DELETE WHERE says GRAPH ?g.
    server.update(f"DELETE WHERE {{ GRAPH <{layout.graph('registry')}> {{ <https://w3id.org/tradekb/id/laura-bennett> "
                  "<http://www.w3.org/2000/01/rdf-schema#label> ?label } }", "break the KB on the server")
    as_user(sparql_server, monkeypatch)
    result = run("-C", str(mini_project), "validate", "--endpoint", sparql_server.query_url,
                 "--graph-base", layout.base)
    assert result.exit_code == 1, result.output
    located = [LOCATED.match(line) for line in result.stdout.splitlines()]
    registry = mini_project / "seeds" / "registry.yaml"
    about_bennett = [m for m in located if m and "laura-bennett" in m["message"]]
    assert about_bennett and all(Path(m["path"]) == registry for m in about_bennett), result.stdout
    assert {int(m["line"]) for m in about_bennett} == {line_of(registry, "{id: laura-bennett,")}
    assert "rdfs:label" in about_bennett[0]["message"]
    assert re.search(r"^\d+ violation\(s\)$", result.stderr, re.MULTILINE)


def test_only_a_valid_knowledge_base_is_pushed(oxigraph_server, mini_project, request):
    registry = mini_project / "seeds" / "registry.yaml"
    text = registry.read_text(encoding="utf-8")
    registry.write_text(text.replace("  - {id: laura-bennett,",
                                     "  - {id: ghost-official, type: Person, label: Ghost Official}\n"
                                     "  - {id: laura-bennett,", 1), encoding="utf-8")
    layout = layout_for(request)
    result = run("-C", str(mini_project), "push", "--endpoint", oxigraph_server.query_url,
                 "--graph-base", layout.base)
    assert result.exit_code == 1, result.output
    assert "no article reports this" in result.stderr
    assert graphs_under(connection(oxigraph_server), layout) == []


def test_a_server_without_graph_store_gets_the_graphs_by_sparql_update(oxigraph_server, seed_kb, request):
    """Blank nodes (the ontology's) stay one node each: a graph goes in one INSERT DATA."""
    layout = layout_for(request)
    direct = connection(oxigraph_server)
    server = type(direct)(Endpoint(direct.endpoint.kind, oxigraph_server.query_url, oxigraph_server.update_url,
                                   None), direct.credentials)
    push(seed_kb, server, layout)
    expected = local_counts(seed_kb, layout)
    assert triples_per_graph(server, sorted(expected)) == expected
    bnodes = (f"SELECT (COUNT(DISTINCT ?b) AS ?n) WHERE {{ GRAPH <{layout.graph('ontology')}> "
              "{ ?b ?p ?o FILTER(isBlank(?b)) } }")
    local = {q.subject for q in seed_kb.quads(str(graph_iri("ontology"))) if isinstance(q.subject, ox.BlankNode)}
    assert local and int(server.select(bnodes).rows[0][0].value) == len(local)


def test_credentials_from_a_netrc_file(virtuoso_server, mini_project, tmp_path, monkeypatch, request):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {virtuoso_server.user} password {virtuoso_server.password}\n")
    netrc.chmod(0o600)
    monkeypatch.delenv("TRADEKB_USER", raising=False)
    monkeypatch.delenv("TRADEKB_PASSWORD", raising=False)
    monkeypatch.setenv("NETRC", str(netrc))
    result = run("-C", str(mini_project), "push", "--endpoint", virtuoso_server.query_url,
                 "--graph-base", layout_for(request).base)
    assert result.exit_code == 0, result.output
    assert virtuoso_server.password not in result.output


def test_a_server_that_asks_for_basic_auth_gets_it_and_only_when_it_asks(oxigraph_server, mini_project,
                                                                          monkeypatch, request):
    """Push (requests) and query (SPARQLWrapper) both answer a Basic challenge; the first request
    of each carries no credentials, since nothing said they were wanted."""
    wanted = "Basic " + base64.b64encode(b"reader:s3cret").decode()
    carried: list[bool] = []

    def guard(number: int, asked: BaseHTTPRequestHandler) -> Answer | None:
        carried.append("Authorization" in asked.headers)
        if asked.headers.get("Authorization") != wanted:
            return Answer(401, b"who are you?", headers=(("WWW-Authenticate", 'Basic realm="tradekb test"'),))
        return None
    front = Proxy(oxigraph_server.query_url, guard)
    try:
        monkeypatch.setenv("TRADEKB_USER", "reader")
        monkeypatch.setenv("TRADEKB_PASSWORD", "s3cret")
        base = layout_for(request).base
        pushed = run("-C", str(mini_project), "push", "--endpoint", front.url("/query"), "--graph-base", base)
        assert pushed.exit_code == 0, pushed.output
        assert carried[0] is False
        carried.clear()
        shutil.copytree(REPO / "queries", mini_project / "queries")
        args = ("-C", str(mini_project), "query", "actors", "-f", "csv")
        remote = run(*args, "--endpoint", front.url("/query"), "--graph-base", base)
        assert remote.exit_code == 0, remote.output
        assert remote.stdout == run(*args).stdout
        assert carried[0] is False and all(carried[2:])  # asked once, then answered every time
    finally:
        front.close()
