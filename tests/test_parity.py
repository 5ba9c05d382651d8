"""Parity: every saved query gives the same rows (order aside) on the embedded store, Oxigraph's
server and Virtuoso, term for term (datatypes and language tags included). Where an engine
differed, the query was fixed to stay standard SPARQL 1.1 and answer alike everywhere."""

from __future__ import annotations

import pytest
from conftest import REPO
from remote import connection

from kb.push import Layout, push, query
from kb.queries import catalogue, run_query

QUERIES = catalogue(REPO)
# A real value from the seeds for each parameter of each parametrised query.
PARAMETERS = {"meetings-of": {"actor": "Kim Hyun-chong"}, "statements-by": {"actor": "Tokyo"}}


@pytest.fixture(scope="module")
def servers(oxigraph_server, virtuoso_server, seed_kb):
    """The seed KB pushed to both servers: [(connection, layout)]."""
    pushed = []
    for server in (oxigraph_server, virtuoso_server):
        layout = Layout.under(f"http://test.example/parity-{server.name}/")
        push(seed_kb, connection(server), layout)
        pushed.append((connection(server), layout))
    return pushed


def test_every_parametrised_query_has_a_value_here():
    assert set(PARAMETERS) == {name for name, q in QUERIES.items() if q.parameters}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_the_same_rows_on_every_engine(name, servers, seed_kb):
    params = PARAMETERS.get(name, {})
    embedded = run_query(seed_kb.store, QUERIES[name], params)
    assert embedded.rows, f"{name} answers nothing on the seed KB: parity would prove nothing"
    for server, layout in servers:
        remote = query(server, layout, QUERIES[name], params)
        assert remote.variables == embedded.variables, server.endpoint
        assert sorted(remote.rows, key=repr) == sorted(embedded.rows, key=repr), server.endpoint
