"""What a plain SPARQL client gets from `tradekb serve` for a saved query, against what `tradekb
query -f csv` prints: the same rows and cells, but for the two differences the README names (the
order of the members of a list cell, and CSV's CRLF line ends)."""

from __future__ import annotations

import csv
import io
import signal
import urllib.parse
import urllib.request

import pytest
from click.testing import CliRunner

from conftest import REPO
from kb.cli import cli
from kb.queries import catalogue
from servers import interrupt, read_endpoints, start_serving

QUERIES = catalogue(REPO)
LOOPBACK_ONLY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def query_url():
    process = start_serving(REPO, "--port", "0")
    try:
        yield read_endpoints(process).query
    finally:
        if process.poll() is None:
            interrupt(process, signal.SIGINT)


def served_csv(url: str, text: str) -> bytes:
    """The answer as curl would get it: a form POST asking for text/csv."""
    request = urllib.request.Request(url, data=urllib.parse.urlencode({"query": text}).encode(),
                                     headers={"Accept": "text/csv"})
    with LOOPBACK_ONLY.open(request, timeout=60) as response:
        return response.read()


def members_sorted(text: str, lists: dict[str, str]) -> list[dict[str, str]]:
    """The rows, with each list cell's members in one order (case aside first), as tradekb prints
    them (`lists`: the query's list columns, each with its separator)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        for column, separator in lists.items():
            members = row[column].split(separator)
            row[column] = separator.join(sorted(members, key=lambda m: (m.casefold(), m)))
    return rows


@pytest.mark.parametrize("name", sorted(n for n, q in QUERIES.items() if not q.parameters))
def test_a_plain_client_gets_the_same_cells_but_for_list_order_and_line_ends(query_url, name):
    query = QUERIES[name]
    printed = CliRunner().invoke(cli, ["-C", str(REPO), "query", name, "-f", "csv"]).stdout
    served = served_csv(query_url, query.text).decode("utf-8")
    assert served.count("\r\n") == printed.count("\n") and "\n" not in served.replace("\r\n", "")
    served = served.replace("\r\n", "\n")
    assert members_sorted(served, query.lists) == list(csv.DictReader(io.StringIO(printed)))
    if not query.lists:
        assert served == printed


@pytest.mark.parametrize("args", [["measures", "--sources", "cite"], ["timeline", "-p", "from=2019-07-29",
                                                                      "-p", "to=2019-08-05", "-p", "kind=meeting"]])
def test_the_tables_options_and_filters_work_the_same_through_endpoint(query_url, args):
    local = CliRunner().invoke(cli, ["-C", str(REPO), "query", *args, "-f", "csv"])
    remote = CliRunner().invoke(cli, ["-C", str(REPO), "query", *args, "-f", "csv", "--endpoint", query_url])
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert remote.stdout == local.stdout and len(local.stdout.splitlines()) > 2
