"""`tradekb serve` against other web pages, with real HTTP requests to a real serve: read-only by
default (every update and Graph Store write refused, saying so); with --writable, a same-origin or
non-browser update is taken, and one from another page (a foreign Origin, Sec-Fetch-Site:
cross-site, a re-pointed Host) is not; LOAD and SERVICE never reach Oxigraph, in any spelling
that Oxigraph itself reads as one; Oxigraph listens where browsers cannot go.

Each refusal is checked against its control: the bare Oxigraph server (tests/servers.py) takes the
same request, and fetches the URL, so the tests fail if the front lets it through."""

from __future__ import annotations

import http.client
import signal
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kb.server import BROWSER_BLOCKED_PORTS
from kb.web.front import READ_ONLY
from servers import Server, interrupt, read_endpoints, start_serving

FORM = "application/x-www-form-urlencoded"
TRIPLE = b"<http://example.org/s> <http://example.org/p> <http://example.org/o> .\n"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


class Listener:
    """A loopback HTTP server that records who fetched from it (for LOAD and SERVICE)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/turtle")
                self.end_headers()
                self.wfile.write(TRIPLE)

            do_POST = do_GET

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


@pytest.fixture(scope="module")
def serves(tmp_path_factory) -> Iterator[dict[str, tuple[str, object]]]:
    """The mini project served twice: read-only (the default) and --writable."""
    from conftest import make_mini_project
    project = make_mini_project(tmp_path_factory.mktemp("mini"))
    processes = {"read-only": start_serving(project, "--port", "0"),
                 "writable": start_serving(project, "--port", "0", "--writable")}
    try:
        yield {mode: (read_endpoints(process).query.rsplit("/", 1)[0], process) for mode, process in processes.items()}
    finally:
        for process in processes.values():
            if process.poll() is None:
                interrupt(process, signal.SIGINT)


def send(base: str, method: str, path: str, body: bytes | str = b"", headers: dict | None = None,
         host: str | None = None) -> tuple[int, str]:
    """One request as a browser or a script would send it; (status, body)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    data = body.encode() if isinstance(body, str) else body
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host or parts.netloc)
        for name, value in {"Content-Length": str(len(data)), **(headers or {})}.items():
            connection.putheader(name, value)
        connection.endheaders(data)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", errors="replace")
    finally:
        connection.close()


def form(**fields: str) -> str:
    return urllib.parse.urlencode(fields)


def count(base: str) -> int:
    status, text = send(base, "POST", "/query", form(query=COUNT), {"Content-Type": FORM, "Accept": "text/csv"})
    assert status == 200, text
    return int(text.splitlines()[1])


def base_of(server: Server) -> str:
    return server.query_url.rsplit("/", 1)[0]


GRAPH = "http://example.org/tradekb-test/security"
WRITES = [("POST", "/update", form(update=f"INSERT DATA {{ GRAPH <{GRAPH}> {{ <a:s> <a:p> 1 }} }}"),
           {"Content-Type": FORM}),
          ("POST", "/update", f"DROP SILENT GRAPH <{GRAPH}>", {"Content-Type": "application/sparql-update"}),
          ("POST", "/sparql", form(update=f"DROP SILENT GRAPH <{GRAPH}>"), {"Content-Type": FORM}),  # YASGUI's
          ("POST", "/store", TRIPLE, {"Content-Type": "text/plain"}),  # a text/plain form: N-Triples to Oxigraph
          ("PUT", "/store?" + form(graph=GRAPH), TRIPLE, {"Content-Type": "application/n-triples"}),
          ("DELETE", "/store?" + form(graph=GRAPH), b"", {})]
WRITE_IDS = ["update-form", "update-body", "sparql-update-form", "store-post-text-plain", "store-put", "store-delete"]


@pytest.mark.parametrize("method, path, body, headers", WRITES, ids=WRITE_IDS)
def test_read_only_refuses_every_write_and_says_so(serves, oxigraph_server, method, path, body, headers):
    base, process = serves["read-only"]
    before = count(base)
    assert send(base, method, path, body, headers) == (403, READ_ONLY + "\n")
    assert count(base) == before
    control = base_of(oxigraph_server)  # a writable Oxigraph takes it (in a graph of this test's own)
    if method == "DELETE":
        send(control, *WRITES[4])
    status, text = send(control, method, path, body, headers)
    assert status in (200, 201, 204), text


def test_read_only_answers_queries_as_yasgui_and_scripts_send_them(serves):
    base, _ = serves["read-only"]
    assert count(base) > 0
    status, text = send(base, "POST", "/sparql", form(query="ASK {}"),
                        {"Content-Type": FORM, "Accept": "application/sparql-results+json",
                         "Origin": base, "Sec-Fetch-Site": "same-origin"})
    assert (status, '"boolean":true' in text) == (200, True), text
    assert send(base, "GET", "/")[0] == 200  # YASGUI's page


def test_writable_takes_an_update_from_a_script_and_from_its_own_page(serves):
    base, _ = serves["writable"]
    before = count(base)
    insert = "INSERT DATA { GRAPH <http://example.org/added> { <http://example.org/s> <http://example.org/p> %d } }"
    assert send(base, "POST", "/update", form(update=insert % 1), {"Content-Type": FORM})[0] == 204
    for value, origin in enumerate((base, base.replace("127.0.0.1", "localhost")), start=2):
        status, text = send(base, "POST", "/update", form(update=insert % value),
                            {"Content-Type": FORM, "Origin": origin, "Sec-Fetch-Site": "same-origin"})
        assert status == 204, text
    assert count(base) == before + 3
    assert send(base, "PUT", "/store?graph=http%3A%2F%2Fexample.org%2Fput", TRIPLE,
                {"Content-Type": "application/n-triples"})[0] == 201


FOREIGN = [({"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"}, "attacker.example"),
           ({"Origin": "null"}, "null"),  # a sandboxed frame, a data: URL
           ({"Sec-Fetch-Site": "cross-site"}, "cross-site"),
           ({"Origin": "http://localhost:3000", "Sec-Fetch-Site": "same-site"}, "localhost:3000")]


@pytest.mark.parametrize("method, path, body, headers", WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize("foreign, named", FOREIGN, ids=["foreign-origin", "origin-null", "cross-site", "same-site"])
def test_writable_refuses_a_write_from_another_web_page(serves, method, path, body, headers, foreign, named):
    base, _ = serves["writable"]
    before = count(base)
    status, text = send(base, method, path, body, {**headers, **foreign})
    assert status == 403 and named in text and "cross-origin" in text, text
    assert count(base) == before


def test_a_query_posted_by_another_web_page_is_refused_too(serves):
    """It could only burn CPU (the page cannot read the answer), but no page of ours sends one."""
    base, _ = serves["read-only"]
    status, text = send(base, "POST", "/query", form(query="ASK {}"),
                        {"Content-Type": FORM, "Origin": "https://attacker.example"})
    assert status == 403 and "cross-origin" in text


def test_another_site_may_link_to_a_query_but_not_load_one_in_the_background(serves):
    """An <img> or a script of another site's page would keep the server busy, unseen."""
    base, _ = serves["read-only"]
    query = "/query?" + form(query="ASK {}")
    for mode in ("no-cors", "cors"):
        status, text = send(base, "GET", query, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": mode})
        assert status == 403 and "in the background" in text, text
    for site, mode in (("cross-site", "navigate"), ("same-origin", "cors"), ("none", "navigate")):
        assert send(base, "GET", query, headers={"Sec-Fetch-Site": site, "Sec-Fetch-Mode": mode})[0] == 200


@pytest.mark.parametrize("mode", ["read-only", "writable"])
def test_a_request_with_a_host_that_is_not_ours_is_refused_as_dns_rebinding(serves, mode):
    base, _ = serves[mode]
    port = urlsplit(base).port
    query = "/query?" + form(query="ASK {}")
    assert send(base, "GET", query, host=f"localhost:{port}")[0] == 200
    for host in (f"attacker.example:{port}", f"127.0.0.1:{port + 1}", "attacker.example"):
        status, text = send(base, "GET", query, host=host)
        assert status == 421 and f"Host {host} is not this server" in text, text
    status, _ = send(base, "POST", "/update", form(update="CLEAR ALL"), {"Content-Type": FORM},
                     host=f"attacker.example:{port}")  # a same-origin request, to the page that rebound its name
    assert status == 421


# Spellings that Oxigraph's parser reads as LOAD or SERVICE (its keywords may be glued to the
# token before and after them); each must be refused whatever the mode.
FETCHING = [("update", "LOAD <URL/load> INTO GRAPH <G>"),
            ("update", "insert data { graph <G> { <a:s> <a:p> true } };load<URL/glued> into graph <G>"),
            ("update", "CLEAR SILENT GRAPH <G>;LOADSILENT<URL/silent> INTO GRAPH <G>"),
            ("update", "INSERT { GRAPH <G> { <a:s> <a:p> ?o } } WHERE { SERVICE <URL/in-update> { ?s ?p ?o } }"),
            ("query", "SELECT * WHERE { SERVICE <URL/service> { ?s ?p ?o } }"),
            ("query", "SELECT * WHERE { VALUES ?x { UNDEF }SERVICE <URL/glued> { ?s ?p ?o } }"),
            ("query", "SELECT * WHERE { ?s ?p trueSERVICE <URL/after-true> {} }"),
            ("query", "SELECT * WHERE { VALUES ?e { <URL/variable> } SERVICE ?e { ?s ?p ?o } }"),
            # `<?b)SERVICE?e#>` looks like an IRI, but Oxigraph reads less-than, SERVICE, then a comment
            ("query", "SELECT * WHERE { VALUES (?a ?b ?e) { (1 2 <URL/fake-iri>) } FILTER(?a<?b)SERVICE?e#>\n"
                      "{ ?s ?p ?o } }")]


def fetching_request(kind: str, text: str, url: str) -> tuple[str, str]:
    """The request for one of FETCHING: URL is the listener's, G a graph of these tests' own."""
    sparql = text.replace("URL", url).replace("<G>", f"<{GRAPH}>")
    return ("/update" if kind == "update" else "/query"), form(**{kind: sparql})


@pytest.mark.parametrize("kind, text", FETCHING)
def test_load_and_service_never_reach_oxigraph(serves, oxigraph_server, listener, kind, text):
    path, body = fetching_request(kind, text, listener.url)
    for mode in ("writable", "read-only"):
        status, answer = send(serves[mode][0], "POST", path, body, {"Content-Type": FORM})
        assert status == 403, answer
        assert ("SERVICE" in answer if "service" in text.lower() else "LOAD" in answer), answer
    assert listener.paths == []
    # the control: Oxigraph's own server parses it (a syntax error would be 400), to fetch
    status, answer = send(base_of(oxigraph_server), "POST", path, body, {"Content-Type": FORM})
    assert status != 400, answer


def test_the_bare_oxigraph_server_does_fetch_what_the_front_refuses(oxigraph_server, listener):
    """Why the front refuses them: the control behind every test above."""
    for kind, text in (FETCHING[0], FETCHING[4]):
        path, body = fetching_request(kind, text, listener.url)
        send(base_of(oxigraph_server), "POST", path, body, {"Content-Type": FORM})
    assert listener.paths == ["/load", "/service"]


@pytest.mark.parametrize("query", ["SELECT ?service WHERE { ?service ?p ?o } LIMIT 1",
                                   "PREFIX ex: <http://example.org/> SELECT * WHERE { ?s ex:load ?o } LIMIT 1",
                                   "#+ summary: the wire service that ran it\nSELECT * WHERE { ?s ?p ?o } LIMIT 1",
                                   'SELECT * WHERE { ?s ?p ?o FILTER(?o != "download") } LIMIT 1'])
def test_the_words_in_names_and_comment_lines_pass(serves, query):
    status, text = send(serves["read-only"][0], "POST", "/query", form(query=query), {"Content-Type": FORM})
    assert status == 200, text


def test_oxigraph_still_reads_u_escapes_outside_strings_literally(serves, oxigraph_server, listener):
    """`fetching_keyword` relies on it (SPARQL 1.1 would have `\\u004cOAD` mean LOAD): if an
    Oxigraph release starts to, this fails, and the check must decode them."""
    body = form(update=f"\\u004cOAD <{listener.url}/escaped> INTO GRAPH <{GRAPH}>")
    assert send(serves["writable"][0], "POST", "/update", body, {"Content-Type": FORM})[0] == 400
    assert send(base_of(oxigraph_server), "POST", "/update", body, {"Content-Type": FORM})[0] == 400
    assert listener.paths == []


def oxigraph_argv(process) -> list[str]:
    """The command line of the Oxigraph server a serve started."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    for child in children:
        argv = Path(f"/proc/{child}/cmdline").read_bytes().decode().split("\0")
        if Path(argv[0]).name == "oxigraph":
            return argv
    pytest.fail(f"no Oxigraph server among the children {children} of serve")


@pytest.mark.parametrize("mode, command", [("read-only", "serve-read-only"), ("writable", "serve")])
def test_oxigraph_itself_listens_on_a_port_browsers_refuse(serves, mode, command):
    argv = oxigraph_argv(serves[mode][1])
    assert argv[1] == command
    host, _, port = argv[argv.index("--bind") + 1].rpartition(":")
    assert host == "127.0.0.1" and int(port) in BROWSER_BLOCKED_PORTS


def test_a_large_construct_is_streamed_not_buffered(serves):
    """Relayed in chunks as Oxigraph writes them: a front that held the answer would know its length."""
    base, _ = serves["read-only"]
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    connection.request("POST", "/query", form(query="CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"),
                       {"Content-Type": FORM, "Accept": "application/n-triples"})
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked" and response.getheader("Content-Length") is None
    lines = response.read().splitlines()
    connection.close()
    distinct = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } }"
    status, text = send(base, "POST", "/query", form(query=distinct), {"Content-Type": FORM, "Accept": "text/csv"})
    assert sorted(set(lines)) == sorted(lines) and len(lines) == int(text.splitlines()[1])


def test_a_push_to_a_read_only_serve_fails_in_one_line_saying_why(serves, mini_project, request):
    from click.testing import CliRunner
    from kb.cli import cli
    result = CliRunner().invoke(cli, ["-C", str(mini_project), "push", "--endpoint", serves["read-only"][0] + "/query",
                                      "--shacl", "sparql"])
    assert result.exit_code == 4, result.output
    assert result.stderr.splitlines()[-1].endswith(f"403 Forbidden: {READ_ONLY}")


def test_a_client_that_waits_to_send_its_body_hears_the_refusal_first(serves):
    """As curl uploads a large file: `Expect: 100-continue`, and the body only after a 100."""
    parts = urlsplit(serves["read-only"][0])
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest("PUT", "/store?" + form(graph=GRAPH))
    for name, value in (("Content-Type", "application/n-triples"), ("Content-Length", str(10 ** 9)),
                        ("Expect", "100-continue")):
        connection.putheader(name, value)
    connection.endheaders()  # and no body: a gigabyte that is never sent
    response = connection.getresponse()
    assert (response.status, response.read().decode()) == (403, READ_ONLY + "\n")
    connection.close()


def send_chunked(base: str, path: str, chunks: list[bytes], headers: dict) -> tuple[int, str]:
    """A POST whose body goes in chunks (Transfer-Encoding: chunked), as a streaming client sends it."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("POST", path, body=iter(chunks), headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.mark.parametrize("path, chunks, headers", [
    ("/update", [form(update="INSERT DATA { GRAPH <http://example.org/chunked> { <a:s> <a:p> 1 } }").encode()],
     {"Content-Type": FORM}),
    ("/store?" + form(graph="http://example.org/chunked"), [TRIPLE[:20], TRIPLE[20:]],
     {"Content-Type": "application/n-triples"})], ids=["update", "store"])
def test_a_body_sent_in_chunks_is_checked_and_passed_on_too(serves, path, chunks, headers):
    writable, read_only = serves["writable"][0], serves["read-only"][0]
    assert send_chunked(read_only, path, chunks, headers) == (403, READ_ONLY + "\n")
    before = count(writable)
    assert send_chunked(writable, path, chunks, headers)[0] in (201, 204)
    assert count(writable) == before + 1
    load = [form(update="LOAD <http://127.0.0.1:1/chunked>").encode()]
    assert send_chunked(writable, "/update", load, {"Content-Type": FORM})[0] == 403


@pytest.mark.parametrize("content_types", [["text/plain", FORM], [FORM, "text/plain"]])
def test_a_load_hidden_behind_a_second_content_type_is_refused(serves, listener, content_types):
    """Whichever of two Content-Type headers each side reads, a %-escaped LOAD in a form is seen.
    (Oxigraph 0.5 reads the first, as the front does, and answers 415 to text/plain: this holds
    the front to it should either side change.)"""
    parts = urlsplit(serves["writable"][0])
    body = f"update=%4COAD+%3C{urllib.parse.quote(listener.url, safe='')}%2Fhidden%3E".encode()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest("POST", "/update")
    for content_type in content_types:
        connection.putheader("Content-Type", content_type)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    assert connection.getresponse().status == 403
    connection.close()
    assert listener.paths == []
