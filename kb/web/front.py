"""The HTTP front of `tradekb serve`: it checks each request (kb.web.policy) and passes the ones
it allows to Oxigraph's server, streaming both ways.

Oxigraph's server answers the SPARQL protocols well and fast, but it checks no Origin or Host and
fetches any URL a LOAD or SERVICE names; so it listens on a port that browsers refuse to connect
to (kb.server picks one), and what reaches it comes through here. A page of our own (the website
to come) is one more route in `Front.route`.

Answers are relayed as they come, a chunk at a time: a CONSTRUCT of the whole knowledge base is
never held here whole, and a Graph Store upload goes on to Oxigraph as it arrives. The query or
update text of a SPARQL request is read whole first (Oxigraph caps it at 128 MiB too), since it
has to be checked before Oxigraph sees any of it.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from urllib.parse import parse_qs, urlsplit

from kb.web.policy import LOOPBACK, Refusal, host_refusal, keyword_refusal, origin_refusal

READS = ("GET", "HEAD")
PAGES = ("/", "/yasgui.min.css", "/yasgui.min.js", "/logo.svg")  # Oxigraph's YASGUI, from `/`
SPARQL_PATHS = ("/query", "/update", "/sparql")  # /sparql takes queries and updates (YASGUI's)
SPARQL_METHODS = ("GET", "HEAD", "POST", "QUERY")
STORE_WRITES = ("PUT", "POST", "DELETE")
MAX_SPARQL_BODY = 128 * 1024 * 1024  # bytes: Oxigraph's own limit on a query or update body
CHUNK = 64 * 1024
CLIENT_TIMEOUT = 300  # seconds a client may stay silent (an idle keep-alive connection) or stall a read
# Headers about one connection, not the request: each side of the front has its own.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailer", "transfer-encoding", "upgrade", "proxy-connection"})
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
        try:
            self.server_bind()
        except BaseException:
            self.server_close()
            raise
        self.port = self.server_address[1]

    def server_bind(self) -> None:
        TCPServer.server_bind(self)  # HTTPServer's also looks up a host name for 127.0.0.1: not needed

    def start(self, backend_port: int, writable: bool) -> None:
        """Listen, and pass the allowed requests to Oxigraph's server on `backend_port`."""
        self.backend_port, self.writable = backend_port, writable
        self.server_activate()
        threading.Thread(target=self.serve_forever, name="tradekb front", daemon=True).start()

    def stop(self) -> None:
        if self.backend_port:
            self.shutdown()
        self.server_close()

    def route(self, method: str, path: str) -> str | None:
        """What a request is: "page", "sparql" or "store"; None if it is not one we pass on."""
        if path in PAGES:
            return "page" if method in READS else None
        if path in SPARQL_PATHS:
            return "sparql" if method in SPARQL_METHODS else None
        if path == "/store" or path.startswith("/store/"):
            return "store" if method in READS + STORE_WRITES else None
        return None


def sparql_operations(path: str, query_string: str, content_type: str | None,
                      body: bytes) -> tuple[list[str], bool]:
    """The query and update texts a SPARQL protocol request carries, read as Oxigraph reads them
    (URL parameters, a form body, or the body itself), and whether it asks for an update.

    >>> sparql_operations("/sparql", "", "application/x-www-form-urlencoded", b"update=CLEAR+ALL")
    (['CLEAR ALL'], True)
    >>> sparql_operations("/query", "query=ASK%7B%7D", None, b"")
    (['ASK{}'], False)
    """
    params = parse_qs(query_string, keep_blank_values=True, errors="replace")
    media_type = (content_type or "").split(";")[0].strip().lower()
    text = body.decode("utf-8", errors="replace")
    raw = []
    if media_type == "application/x-www-form-urlencoded":
        for name, values in parse_qs(text, keep_blank_values=True, errors="replace").items():
            params.setdefault(name, []).extend(values)
    elif body:
        raw = [text]  # a query or an update by its media type; checked whatever it says it is
    texts = params.get("query", []) + params.get("update", []) + raw
    update = path == "/update" or "update" in params or media_type == "application/sparql-update"
    return texts, update


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = CLIENT_TIMEOUT
    server: Front

    def do_GET(self) -> None:
        front = self.server
        url = urlsplit(self.path)
        try:
            length = self._length()
            refusal = self._refusal(url.path, length)
            body = b""
            if refusal is None and front.route(self.command, url.path) == "sparql":
                body = self.rfile.read(length)
                length = 0
                texts, update = sparql_operations(url.path, url.query, self.headers.get("Content-Type"), body)
                refusal = keyword_refusal(texts)
                if refusal is None and update and not front.writable:
                    refusal = Refusal(HTTPStatus.FORBIDDEN, READ_ONLY)
        except _Refused as refused:
            refusal = refused.refusal
        if refusal is not None:
            front.say(f"refused {self.command} {url.path}: {refusal.reason}")
            self._answer(refusal)
            return
        self._forward(body, length)

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_QUERY = do_GET

    def _length(self) -> int:
        """The body's length; a body without one (chunked) is refused, so as not to read it blind."""
        if self.headers.get("Transfer-Encoding"):
            raise _Refused(Refusal(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length"))
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            raise _Refused(Refusal(HTTPStatus.BAD_REQUEST, "Content-Length is not a length"))
        return length

    def _refusal(self, path: str, length: int) -> Refusal | None:
        """Why not to pass the request on, as far as its line and headers tell."""
        front = self.server
        refusal = host_refusal(self.headers.get("Host"), front.port)
        if refusal is None and self.command not in READS:
            refusal = origin_refusal(self.headers.get("Origin"), self.headers.get("Sec-Fetch-Site"), front.port)
        kind = front.route(self.command, path)
        if refusal is None and kind is None:
            refusal = Refusal(HTTPStatus.NOT_FOUND, f"{self.command} {path} is not served here: tradekb serve "
                                                    "answers SPARQL on /query, /update, /sparql and /store")
        if refusal is None and kind == "store" and self.command not in READS and not front.writable:
            refusal = Refusal(HTTPStatus.FORBIDDEN, READ_ONLY)
        if refusal is None and kind == "sparql" and length > MAX_SPARQL_BODY:
            refusal = Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a query or update is limited to "
                                                                   f"{MAX_SPARQL_BODY} bytes")
        return refusal

    def _answer(self, refusal: Refusal) -> None:
        """The refusal, as one line of text; the connection is closed, as the body went unread."""
        data = (refusal.reason + "\n").encode()
        self.close_connection = True
        self.send_response(refusal.status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _forward(self, body: bytes, length: int) -> None:
        """The request to Oxigraph (with `body`, then the `length` bytes still unread), and its
        answer back as it comes."""
        backend = http.client.HTTPConnection(LOOPBACK, self.server.backend_port)
        try:
            backend.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    backend.putheader(name, value)
            backend.endheaders()
            if body:
                backend.send(body)
            for chunk in self._unread(length):
                backend.send(chunk)
            response = backend.getresponse()
        except OSError as e:
            backend.close()
            self.server.say(f"Oxigraph's server did not answer {self.command} {self.path}: {e}")
            self._answer(Refusal(HTTPStatus.BAD_GATEWAY, f"Oxigraph's server did not answer: {e}"))
            return
        try:
            self._relay(response)
        except OSError:  # the client went away: so does the request to Oxigraph
            self.close_connection = True
        finally:
            backend.close()

    def _unread(self, length: int) -> Iterator[bytes]:
        while length > 0:
            chunk = self.rfile.read(min(CHUNK, length))
            if not chunk:
                raise ConnectionResetError("the client sent less than its Content-Length")
            length -= len(chunk)
            yield chunk

    def _relay(self, response: http.client.HTTPResponse) -> None:
        """Oxigraph's answer, as it streams: with its length if it gave one, else in chunks (or,
        to an HTTP/1.0 client, up to the closing of the connection)."""
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
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
        while data := response.read1(CHUNK):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if framed else data)
        if framed:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def log_message(self, format: str, *args) -> None:
        """Quiet: refusals are said through `Front.say`, one line each."""


class _Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
