"""Helpers for the tests that talk to the real servers of tests/servers.py (push, remote query,
parity, failures): a connection as the server's user, a base IRI of the test's own, and a
loopback proxy in front of a real server that can answer chosen requests itself."""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from servers import Server

from kb.endpoint import Connection, Credentials, resolve_endpoint
from kb.push import Layout


def connection(server: Server, query_url: str | None = None, **options) -> Connection:
    """A connection to `server` (or to `query_url` in front of it) with the server's credentials."""
    credentials = Credentials(server.user, server.password) if server.user else None
    return Connection(resolve_endpoint(query_url or server.query_url), credentials, **options)


def layout_for(request: pytest.FixtureRequest) -> Layout:
    """A graph base of the test's own, so tests sharing a session server never see each other's graphs."""
    return Layout.under(f"http://test.example/{re.sub(r'[^A-Za-z0-9_-]+', '-', request.node.name)}/")


def as_user(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's credentials in the environment, where the command line reads them."""
    for name, value in (("TRADEKB_USER", server.user), ("TRADEKB_PASSWORD", server.password)):
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NETRC", raising=False)


@dataclass(frozen=True)
class Answer:
    """What a stand-in answers instead of the server."""

    status: int
    body: bytes = b""
    kind: str = "text/plain"
    headers: tuple[tuple[str, str], ...] = ()


# A fault: given the request's number (from 1) and the request, an Answer to give instead of the
# server's, or None to pass the request on.
Fault = Callable[[int, BaseHTTPRequestHandler], "Answer | None"]


class Proxy:
    """A loopback HTTP proxy in front of a real server; `fault` may answer a request itself."""

    def __init__(self, backend: str, fault: Fault) -> None:
        self.backend, self.fault = urlsplit(backend), fault
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.answer(self)

            do_POST = do_PUT = do_DELETE = do_GET

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.port = self.http.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self.lock:
            self.seen.append((handler.command, urlsplit(handler.path).path))
            number = len(self.seen)
        answer = self.fault(number, handler) or self.forward(handler, body)
        try:
            handler.send_response(answer.status)
            for name, value in (("Content-Type", answer.kind), *answer.headers):
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(answer.body)))
            handler.end_headers()
            handler.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting: that was the point
            pass

    def forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> Answer:
        backend = http.client.HTTPConnection(self.backend.hostname, self.backend.port, timeout=60)
        headers = {k: v for k, v in handler.headers.items() if k.lower() in ("content-type", "accept")}
        backend.request(handler.command, handler.path, body=body, headers=headers)
        response = backend.getresponse()
        answer = Answer(response.status, response.read(), response.getheader("Content-Type", ""))
        backend.close()
        return answer

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
