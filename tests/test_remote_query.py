"""`tradekb query --endpoint` against the real servers: the same parameters and output as the
local run, every answer paged (past Virtuoso's 10,000-row cap), and a clear line when the server
holds nothing to query."""

from __future__ import annotations

import csv
import io
import shutil

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from conftest import REPO
from remote import as_user, connection
from servers import VIRTUOSO_ROW_CAP

from kb.cli import cli
from kb.endpoint import DEFAULT_PAGE_SIZE
from kb.errors import ServerError
from kb.pipeline import load_knowledge_base
from kb.push import Layout, local_name, push, query, select_all
from kb.queries import ResultFormat, catalogue, format_results, run_query, run_sparql

QUERIES = catalogue(REPO)
EVERY_TRIPLE = "SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o }"


@pytest.fixture(scope="module")
def pushed(sparql_server, seed_kb):
    """The seed KB pushed to the server under a base of this module's: (server, layout)."""
    layout = Layout.under(f"http://test.example/remote-query-{sparql_server.name}/")
    push(seed_kb, connection(sparql_server), layout)
    return sparql_server, layout


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("fmt", ["csv", "json", "md", "table", "tsv"])
def test_the_output_is_the_local_output(pushed, fmt, monkeypatch):
    server, layout = pushed
    as_user(server, monkeypatch)
    args = ["-C", str(REPO), "query", "meetings-of", "-p", "actor=kim hyun-chong", "-f", fmt]
    remote = run(*args, "--endpoint", server.query_url, "--graph-base", layout.base)
    assert remote.exit_code == 0, remote.output
    assert remote.stdout == run(*args).stdout


@pytest.mark.parametrize("question", [
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
    "SELECT ?actor ?label WHERE { ?actor rdfs:label ?label } ORDER BY ?label ?actor",
    "SELECT ?actor WHERE { ?actor <http://www.w3.org/2004/02/skos/core#altLabel> ?alias } ORDER BY ?actor"])
def test_an_ad_hoc_question_gets_the_local_answer(pushed, question, monkeypatch):
    server, layout = pushed
    as_user(server, monkeypatch)
    args = ["-C", str(REPO), "sparql", question, "-p", "actor=kim hyun-chong", "-f", "csv"]
    remote = run(*args, "--endpoint", server.query_url, "--graph-base", layout.base)
    assert remote.exit_code == 0, remote.output
    assert remote.stdout == run(*args).stdout
    assert len(remote.stdout.splitlines()) > 1


def test_a_result_larger_than_a_page_comes_whole_and_in_order(pushed, seed_kb):
    server, layout = pushed
    local = run_query(seed_kb.store, QUERIES["reports"], {})
    assert len(local.rows) > 7 * 20  # twenty pages and more
    assert query(connection(server), layout, QUERIES["reports"], {}, page_size=7) == local


def test_more_rows_than_virtuosos_cap_come_whole(pushed, seed_kb):
    server, layout = pushed
    graphs = [layout.graph(local_name(g)) for g in seed_kb.graph_names]
    everything = select_all(connection(server), EVERY_TRIPLE, graphs, "every triple")
    assert len(everything.rows) == len(seed_kb.triples()) > VIRTUOSO_ROW_CAP > DEFAULT_PAGE_SIZE


def test_a_page_the_server_cuts_is_an_error_not_a_short_answer(virtuoso_server, seed_kb):
    layout = Layout.under("http://test.example/remote-query-cut/")
    server = connection(virtuoso_server)
    push(seed_kb, server, layout)
    graphs = [layout.graph(local_name(g)) for g in seed_kb.graph_names]
    with pytest.raises(ServerError, match=rf"cut the answer at {VIRTUOSO_ROW_CAP} rows \(X-SPARQL-MaxRows\)"):
        select_all(server, EVERY_TRIPLE, graphs, "every triple", page_size=VIRTUOSO_ROW_CAP * 2)


def test_a_parameter_is_resolved_on_the_server(pushed, monkeypatch):
    server, layout = pushed
    as_user(server, monkeypatch)
    result = run("-C", str(REPO), "query", "statements-by", "-p", "actor=Nobody Atall", "--endpoint",
                 server.query_url, "--graph-base", layout.base)
    assert result.exit_code == 2, result.output
    assert result.stderr == "actor: nothing named 'Nobody Atall' (give a label, an alias, an id or an IRI)\n"


def test_graphs_loaded_without_a_push_are_found_under_the_base(oxigraph_server, seed_kb):
    """As `tradekb serve` or a TriG import leaves them: no manifest, so the graphs are listed."""
    layout = Layout.under("http://test.example/remote-query-no-manifest/")
    server = connection(oxigraph_server)
    for graph in seed_kb.graph_names:
        server.put_graph(layout.graph(local_name(graph)),
                         seed_kb.store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph)))
    saved = QUERIES["articles"]
    assert query(server, layout, saved, {}) == run_query(seed_kb.store, saved, {})


def test_a_server_without_the_knowledge_base_says_so(oxigraph_server):
    result = run("-C", str(REPO), "query", "actors", "--endpoint", oxigraph_server.query_url,
                 "--graph-base", "http://test.example/nothing-here/")
    assert result.exit_code == 4, result.output
    port = oxigraph_server.query_url.split(":")[2].split("/")[0]
    assert result.stderr == (f"Oxigraph at 127.0.0.1:{port}: holds no tradekb graphs under "
                             "http://test.example/nothing-here/ (push the knowledge base there first: tradekb push)\n")


def test_a_query_project_of_its_own_runs_remotely(pushed, tmp_path, seed_kb, monkeypatch):
    """A user's own saved query (here one without ORDER BY) is paged all the same."""
    server, layout = pushed
    as_user(server, monkeypatch)
    shutil.copytree(REPO / "queries", tmp_path / "queries")
    (tmp_path / "queries" / "labels.rq").write_text(
        "#+ summary: Every label\n#+ description: Every rdfs:label in the KB.\n"
        "SELECT ?thing ?label WHERE { ?thing <http://www.w3.org/2000/01/rdf-schema#label> ?label }\n")
    result = run("-C", str(tmp_path), "query", "labels", "-f", "csv", "--page-size", "50",
                 "--endpoint", server.query_url, "--graph-base", layout.base)
    assert result.exit_code == 0, result.output
    local = format_results(run_query(seed_kb.store, catalogue(tmp_path)["labels"], {}), ResultFormat.CSV)
    assert len(local.splitlines()) > 50 * 3
    assert sorted(csv.reader(io.StringIO(result.stdout))) == sorted(csv.reader(io.StringIO(local)))


def test_a_query_endpoint_behind_digest_auth(virtuoso_server, mini_project, monkeypatch):
    """Virtuoso's /sparql-auth asks every query for HTTP Digest: SPARQLWrapper answers it."""
    layout = Layout.under("http://test.example/remote-query-digest/")
    push(load_knowledge_base(mini_project), connection(virtuoso_server), layout)
    as_user(virtuoso_server, monkeypatch)
    shutil.copytree(REPO / "queries", mini_project / "queries")
    args = ("-C", str(mini_project), "query", "articles", "-f", "csv")
    remote = run(*args, "--endpoint", virtuoso_server.update_url, "--graph-base", layout.base)
    assert remote.exit_code == 0, remote.output
    assert remote.stdout == run(*args).stdout


def test_long_cells_are_paged(pushed, seed_kb):
    """Virtuoso refuses a sort key over 1,900 bytes, and any sort on a cell of several kB: a
    short answer keeps the query's own order, a long one breaks ties by the MD5 of each cell."""
    server, layout = pushed
    graphs = [layout.graph(local_name(g)) for g in seed_kb.graph_names]
    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    everything = f"SELECT (GROUP_CONCAT(?label; separator=' ') AS ?labels) WHERE {{ ?thing {label} ?label }}"
    [(labels,)] = select_all(connection(server), everything, graphs, "every label").rows
    assert len(labels.value.encode()) > 10_000
    padded = (f"SELECT ?thing ?long WHERE {{ ?thing {label} ?label "
              f"BIND(CONCAT(STR(?label), \"{'.' * 2000}\") AS ?long) }}")
    paged = select_all(connection(server), padded, graphs, "padded labels", page_size=100)
    assert len(paged.rows) > 300
    assert sorted(paged.rows, key=repr) == sorted(run_sparql(seed_kb.store, padded).rows, key=repr)
