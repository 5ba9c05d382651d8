"""The HTTP front of `tradekb serve`: it checks each request (kb.web.policy) and passes the ones
it allows to Oxigraph's server, streaming both ways.

Oxigraph's server answers the SPARQL protocols well and fast, but it checks no Origin or Host and
fetches any URL a LOAD or SERVICE names; so it listens on a port that browsers refuse to connect
to (kb.server picks one), and what reaches it comes through here. A page of our own (the website
to come) is one more route in `Front.route`: the website (kb.site.app), on every other path read
with GET or HEAD; Oxigraph's YASGUI moves from `/` to `/sparql-ui`.

Answers are relayed as they come (what has come, up to 64 kB at once): a CONSTRUCT of the whole
knowledge base is never held here whole, and a Graph Store upload goes on to Oxigraph as it
arrives. The query or update text of a SPARQL request is read whole first (Oxigraph caps it at
128 MiB too), since it has to be checked before Oxigraph sees any of it.
"""

from __future__ import annotations

import http.client
import select
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from urllib.parse import parse_qs, urlsplit

from kb.web.policy import LOOPBACK, Refusal, background_refusal, host_refusal, keyword_refusal, origin_refusal

READS = ("GET", "HEAD")
PAGES = ("/sparql-ui", "/yasgui.min.css", "/yasgui.min.js", "/logo.svg")  # Oxigraph's YASGUI (its `/`)
YASGUI = "/sparql-ui"  # its SPARQL requests come to /sparql-ui/sparql: the same as /sparql
# YASGUI fetches a list of prefixes from a web service (prefix.cc): the site asks nothing of anywhere else.
YASGUI_POLICY = "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:; connect-src 'self'"
SPARQL_PATHS = ("/query", "/update", "/sparql")  # /sparql takes queries and updates (YASGUI's)
SPARQL_METHODS = ("GET", "HEAD", "POST", "QUERY")
STORE_WRITES = ("PUT", "POST", "DELETE")
MAX_SPARQL_BODY = 128 * 1024 * 1024  # bytes: Oxigraph's own limit on a query or update body
CHUNK = 64 * 1024
CLIENT_TIMEOUT = 300  # seconds a client may stay silent (an idle keep-alive connection) or stall a read
# Headers about one connection, not the request: each side of the front has its own.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailer", "transfer-encoding", "upgrade", "proxy-connection",
                        "expect"})  # "100 Continue" was said here already
READ_ONLY = ("tradekb serve is read-only: updates and Graph Store writes are refused (start it with --writable "
             "to take them from this machine's programs and its own pages)")


class Front(ThreadingHTTPServer):
    """The server on 127.0.0.1:`port`, bound at once (so that a taken port is known before any
    work) and answering from `start` on. `port` 0 picks a free one (see `.port`)."""

    daemon_threads = True  # a streaming answer does not hold up the exit
    request_queue_size = 128  # connections waiting to be accepted (socketserver's default is 5)

    def __init__(self, port: int, say: Callable[[str], None] = lambda _: None) -> None:
        super().__init__((LOOPBACK, port), _Handler, bind_and_activate=False)
        self.say = say
        self.backend_port = 0
        self.writable = False
        self.site = None  # a kb.site.app.SiteApp: the website, on the paths Oxigraph does not answer
        try:
            self.server_bind()
        except BaseException:
            self.server_close()
            raise
        self.port = self.server_address[1]

    def server_bind(self) -> None:
        TCPServer.server_bind(self)  # HTTPServer's also looks up a host name for 127.0.0.1: not needed

    def start(self, backend_port: int, writable: bool, site=None) -> None:
        """Listen, and pass the allowed requests to Oxigraph's server on `backend_port` (and the
        website's to `site`, if given)."""
        self.backend_port, self.writable, self.site = backend_port, writable, site
        self.server_activate()
        threading.Thread(target=self.serve_forever, name="tradekb front", daemon=True).start()

    def stop(self) -> None:
        """Stop answering (if it had begun) and close the port."""
        if self.backend_port:
            self.shutdown()
        self.server_close()

    def handle_error(self, request, client_address) -> None:
        """A request that failed midway (the client went away): one line, not a traceback."""
        self.say(f"a request from {client_address[0]}:{client_address[1]} failed midway: {sys.exc_info()[1]}")

    def route(self, method: str, path: str) -> str | None:
        """What a request is: "page", "sparql" or "store"; None if it is not one we pass on."""
        if path in PAGES:
            return "page" if method in READS else None
        if path in SPARQL_PATHS:
            return "sparql" if method in SPARQL_METHODS else None
        if path == "/store" or path.startswith("/store/"):
            return "store" if method in READS + STORE_WRITES else None
        return "site" if self.site is not None and method in READS else None


def sparql_operations(path: str, query_string: str, content_type: str | None,
                      body: bytes) -> tuple[list[str], bool]:
    """The query and update texts a SPARQL protocol request carries, read in every way Oxigraph
    could read them (URL parameters, the body as a form, the body itself: so that a second
    Content-Type header, read by one side and not the other, hides nothing), and whether it asks
    for an update.

    >>> sparql_operations("/sparql", "", "application/x-www-form-urlencoded", b"update=CLEAR+ALL")
    (['CLEAR ALL'], True)
    >>> sparql_operations("/query", "query=ASK%7B%7D", None, b"")
    (['ASK{}'], False)
    """
    params = parse_qs(query_string, keep_blank_values=True, errors="replace")
    text = body.decode("utf-8", errors="replace")
    as_form = parse_qs(text, keep_blank_values=True, errors="replace")
    media_type = (content_type or "").split(";")[0].strip().lower()
    # A form's own text is not SPARQL: scanned as text, its %-escapes would look like words.
    raw = [text] if body and media_type != "application/x-www-form-urlencoded" else []
    queries, updates = (params.get(name, []) + as_form.get(name, []) for name in ("query", "update"))
    update = path == "/update" or bool(updates) or media_type == "application/sparql-update"
    return queries + updates + raw, update


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = CLIENT_TIMEOUT
    # An answer's headers and body go out in two writes; with Nagle's algorithm the body waited for
    # the client's delayed ACK of the headers, 40 ms on every page of a keep-alive connection.
    disable_nagle_algorithm = True
    server: Front

    def do_GET(self) -> None:
        if self.path.startswith(YASGUI + "/"):  # YASGUI's page asks for its endpoint below its own URL
            self.path = self.path[len(YASGUI):]
        url = urlsplit(self.path)
        refusal = self._refusal(url.path)
        body = None  # None: streamed on to Oxigraph as it comes (a Graph Store upload)
        if refusal is None and self.server.route(self.command, url.path) == "sparql":
            body, refusal = self._sparql_body()
            if refusal is None:
                texts, update = sparql_operations(url.path, url.query, self.headers.get("Content-Type"), body)
                refusal = keyword_refusal(texts)
                if refusal is None and update and not self.server.writable:
                    refusal = Refusal(HTTPStatus.FORBIDDEN, READ_ONLY)
        if refusal is None and self.server.route(self.command, url.path) == "site":
            self._page(url.path, url.query)
        elif refusal is None:
            self._forward(body)
        else:
            self._refuse(refusal)

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_QUERY = do_GET

    def handle_expect_100(self) -> bool:
        """A client that waits for "100 Continue" before it sends a body (curl, for a large one)
        hears a refusal instead, and sends nothing."""
        refusal = self._refusal(urlsplit(self.path).path)
        if refusal is None:
            return super().handle_expect_100()
        self.body = iter(())  # never sent
        self._refuse(refusal)
        return False

    def _refusal(self, path: str) -> Refusal | None:
        """Why not to pass the request on, as far as its line and headers tell."""
        front = self.server
        self.chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        length = self.headers.get("Content-Length") or "0"
        self.body = iter(())
        if not (self.chunked or length.strip().isdigit()):
            return Refusal(HTTPStatus.BAD_REQUEST, "Content-Length is not a length")
        self.body = self._chunks() if self.chunked else self._sized(int(length))
        refusal = host_refusal(self.headers.get("Host"), front.port)
        if refusal is None and self.command not in READS:
            refusal = origin_refusal(self.headers.get("Origin"), self.headers.get("Sec-Fetch-Site"), front.port)
        elif refusal is None:
            refusal = background_refusal(self.headers.get("Sec-Fetch-Site"), self.headers.get("Sec-Fetch-Mode"))
        kind = front.route(self.command, path)
        if refusal is None and kind is None:
            refusal = Refusal(HTTPStatus.NOT_FOUND, f"{self.command} {path} is not served here: tradekb serve "
                                                    "answers SPARQL on /query, /update, /sparql and /store")
        if refusal is None and kind == "store" and self.command not in READS and not front.writable:
            refusal = Refusal(HTTPStatus.FORBIDDEN, READ_ONLY)
        return refusal

    def _sparql_body(self) -> tuple[bytes, Refusal | None]:
        """The body of a query or update, read whole to be checked (up to MAX_SPARQL_BODY)."""
        body = bytearray()
        try:
            for chunk in self.body:
                body += chunk
                if len(body) > MAX_SPARQL_BODY:
                    return b"", Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                        f"a query or update is limited to {MAX_SPARQL_BODY} bytes")
        except ValueError:
            return b"", Refusal(HTTPStatus.BAD_REQUEST, "the body's chunks are not chunks")
        return bytes(body), None

    def _sized(self, length: int) -> Iterator[bytes]:
        """A body of `length` bytes, a chunk at a time."""
        while length > 0:
            chunk = self.rfile.read(min(CHUNK, length))
            if not chunk:
                raise ConnectionResetError("the client sent less than its Content-Length")
            length -= len(chunk)
            yield chunk

    def _chunks(self) -> Iterator[bytes]:
        """A body sent in chunks (Transfer-Encoding: chunked), a chunk at a time."""
        while size := int(self.rfile.readline(CHUNK).split(b";")[0], 16):
            chunk = self.rfile.read(size)
            if len(chunk) < size or self.rfile.readline(CHUNK).strip():
                raise ConnectionResetError("the client's chunks do not add up")
            yield chunk
        while self.rfile.readline(CHUNK).strip():  # trailer fields: not passed on
            pass

    def _refuse(self, refusal: Refusal) -> None:
        """The refusal, as one line of text, said on our side too. The connection is closed after
        it; a body not yet read is read first (up to MAX_SPARQL_BODY), as closing a socket with
        data unread resets it, and the client might not get to read the answer."""
        self.server.say(f"refused {self.command} {urlsplit(self.path).path}: {refusal.reason}")
        drained = 0
        try:
            for chunk in self.body:
                drained += len(chunk)
                if drained > MAX_SPARQL_BODY:
                    break
        except (OSError, ValueError):  # the client is gone, or sent junk: it will not read the answer
            pass
        data = (refusal.reason + "\n").encode()
        self.close_connection = True
        self.send_response(refusal.status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _page(self, path: str, query: str) -> None:
        """A page of the website, from `Front.site`."""
        response = self.server.site.respond(path, query, self.headers.get("Accept"))
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _forward(self, body: bytes | None) -> None:
        """The request to Oxigraph, with `body` (read here) or the body as it comes, and its
        answer back as it comes."""
        backend = http.client.HTTPConnection(LOOPBACK, self.server.backend_port)
        framed = body is None and self.chunked
        try:
            path = "/" + self.path[len(YASGUI):] if urlsplit(self.path).path == YASGUI else self.path
            backend.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
            as_sent = body is None and not self.chunked  # else the length is ours to give, or none
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP and (as_sent or name.lower() != "content-length"):
                    backend.putheader(name, value)
            if body is not None:
                backend.putheader("Content-Length", str(len(body)))
            elif framed:
                backend.putheader("Transfer-Encoding", "chunked")
            backend.endheaders()
            for chunk in [body] if body is not None else self.body:
                backend.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) if framed else chunk)
            if framed:
                backend.send(b"0\r\n\r\n")
            response = backend.getresponse()
        except (OSError, ValueError) as e:
            backend.close()
            self._refuse(Refusal(HTTPStatus.BAD_GATEWAY, f"the request did not reach Oxigraph's server whole: {e}"))
            return
        try:
            self._relay(response, backend.sock)
        except OSError:  # the client went away: so does the request to Oxigraph
            self.close_connection = True
        finally:
            backend.close()

    def _relay(self, response: http.client.HTTPResponse, source: socket.socket) -> None:
        """Oxigraph's answer, as it streams: with its length if it gave one, else in chunks (or,
        to an HTTP/1.0 client, up to the closing of the connection). What has come is sent on at
        once unless more is already waiting on `source`, the connection to Oxigraph."""
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        if urlsplit(self.path).path == YASGUI:
            self.send_header("Content-Security-Policy", YASGUI_POLICY)
        bodiless = self.command == "HEAD" or response.status in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED)
        unsized = not bodiless and response.getheader("Content-Length") is None
        framed = unsized and self.request_version == "HTTP/1.1"
        if framed:
            self.send_header("Transfer-Encoding", "chunked")
        elif unsized:
            self.close_connection = True
        self.end_headers()
        if bodiless:
            return
        pending = bytearray()  # Oxigraph writes about 1 kB at a time: sent on together, as far as it is there
        while data := response.read1(CHUNK):
            pending += data
            if len(pending) >= CHUNK or not select.select([source], [], [], 0)[0]:
                self._send(pending, framed)
                pending.clear()
        if pending:  # held back because more was waiting, and what was waiting was the end
            self._send(pending, framed)
        if framed:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _send(self, data: bytes, framed: bool) -> None:
        """Part of an answer to the client, as a chunk if `framed`."""
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if framed else data)

    def log_message(self, format: str, *args) -> None:
        """Quiet: refusals are said through `Front.say`, one line each."""
