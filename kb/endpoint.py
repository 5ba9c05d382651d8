"""Talking to a SPARQL 1.1 server: where its endpoints are, who we are, and one line when it fails.

Queries go through SPARQLWrapper; graph uploads and downloads (Graph Store protocol) and updates
through `requests`. Both share one retry policy (urllib3's `Retry`): a bounded number of retries
with backoff for 5xx answers and dropped connections, never for 4xx and never for a timeout, and
no retry at all for an update that is not safe to send twice. Every failure becomes a ServerError
whose one line names the server, the request and what the server answered.
"""

from __future__ import annotations

import ast
import hashlib
import http.client
import json
import math
import os
import re
import socket
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from netrc import NetrcParseError
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import pyoxigraph as ox
import requests
from rdflib import Literal, URIRef
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth, HTTPDigestAuth, _basic_auth_str
from SPARQLWrapper import BASIC, DIGEST, JSON, POST, URLENCODED, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException, Unauthorized
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.util import Retry

from kb.errors import ServerError, TradeKBError
from kb.queries import ResultTable, Term, run_sparql
from kb.terms import XSD_STRING

RETRIES = 3
BACKOFF = 0.25  # seconds: retries wait 0, 0.5 and 1 s
DEFAULT_TIMEOUT = 60
# Below Virtuoso's default cap of 10,000 rows (ResultSetMaxRows), so a page is never cut.
DEFAULT_PAGE_SIZE = 5000
N_TRIPLES = "application/n-triples"
NO_CREDENTIALS = " (no credentials given: set TRADEKB_USER and TRADEKB_PASSWORD, or a netrc entry for the host)"


@dataclass(frozen=True)
class ServerKind:
    """A server whose update and Graph Store URLs follow from its query URL."""

    name: str
    query_path: str
    update_path: str
    store_path: str
    auth: str  # what `--auth auto` means for it: "challenge" (answer the 401) or "digest"
    atomic_updates: bool  # does it apply an update request all at once, as SPARQL 1.1 Update asks?


KNOWN_SERVERS = (ServerKind("Oxigraph", "/query", "/update", "/store", "challenge", True),
                 ServerKind("Virtuoso", "/sparql", "/sparql-auth", "/sparql-graph-crud-auth", "digest", False))
GENERIC = ServerKind("SPARQL server", "", "", "", "challenge", False)


@dataclass(frozen=True)
class Endpoint:
    """Where one server takes queries, updates and graphs (None: it has no such endpoint)."""

    kind: ServerKind
    query_url: str
    update_url: str | None
    store_url: str | None

    def __str__(self) -> str:
        return f"{self.kind.name} at {urlsplit(self.query_url).netloc}"


def _checked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TradeKBError(f"{url!r} is not an http(s) URL of a SPARQL endpoint")
    if parts.username or parts.password:
        raise TradeKBError("credentials do not belong in the URL (they would land in shell history and logs): "
                           "set TRADEKB_USER and TRADEKB_PASSWORD, or use a netrc file")
    return url


def resolve_endpoint(query_url: str, update_url: str | None = None, store_url: str | None = None) -> Endpoint:
    """The endpoint of the server at `query_url`, deriving the other URLs for a known server.

    >>> e = resolve_endpoint("http://127.0.0.1:7878/query")
    >>> str(e), e.update_url, e.store_url
    ('Oxigraph at 127.0.0.1:7878', 'http://127.0.0.1:7878/update', 'http://127.0.0.1:7878/store')
    >>> resolve_endpoint("http://127.0.0.1:8890/sparql").store_url
    'http://127.0.0.1:8890/sparql-graph-crud-auth'
    """
    parts = urlsplit(_checked_url(query_url))
    kind = next((k for k in KNOWN_SERVERS if parts.path.endswith(k.query_path)), GENERIC)

    def sibling(path: str) -> str | None:
        if not path:
            return None
        return urlunsplit(parts._replace(path=parts.path[:-len(kind.query_path)] + path, query=""))

    return Endpoint(kind, query_url, _checked_url(update_url) if update_url else sibling(kind.update_path),
                    _checked_url(store_url) if store_url else sibling(kind.store_path))


@dataclass(frozen=True)
class Credentials:
    """A user name and password (the password is never shown, not even by repr)."""

    user: str
    password: str = field(repr=False)


def credentials_for(url: str) -> Credentials | None:
    """Credentials from TRADEKB_USER / TRADEKB_PASSWORD, else from netrc (NETRC or ~/.netrc) by host."""
    user, password = os.environ.get("TRADEKB_USER"), os.environ.get("TRADEKB_PASSWORD")
    if user or password:
        if not (user and password):
            raise TradeKBError("set both TRADEKB_USER and TRADEKB_PASSWORD, or neither")
        return Credentials(user, password)
    try:
        found = requests.utils.get_netrc_auth(url, raise_errors=True)
    except NetrcParseError as e:  # its message may quote a token, so only file and line are said
        raise TradeKBError(f"{e.filename}:{e.lineno}: cannot read this netrc file") from None
    except OSError as e:
        raise TradeKBError(f"cannot read the netrc file: {e.strerror}") from None
    return Credentials(*found) if found else None


class _Retry(Retry):
    """urllib3's Retry, but a timeout is final: waiting as long again would only double the wait."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        timed_out = isinstance(error, ReadTimeoutError) or (
            isinstance(error, ConnectTimeoutError) and not isinstance(error, NewConnectionError))
        if timed_out:
            raise error.with_traceback(_stacktrace)
        return super().increment(method, url, response, error, _pool, _stacktrace)


def retry_policy(answers_too: bool = True) -> Retry:
    """Retries for dropped connections and (if `answers_too`) 5xx answers, with backoff, bounded."""
    return _Retry(total=RETRIES, connect=RETRIES, read=RETRIES if answers_too else 0, other=0,
                  status=RETRIES if answers_too else 0, status_forcelist=range(500, 600) if answers_too else (),
                  allowed_methods=None, backoff_factor=BACKOFF, raise_on_status=False,
                  respect_retry_after_header=False)


class ChallengeAuth(HTTPDigestAuth):
    """Credentials in the scheme the server's 401 challenge asks for: Digest (requests' own
    handling) or Basic. Nothing is sent to a server that does not ask."""

    def __init__(self, credentials: Credentials) -> None:
        super().__init__(credentials.user, credentials.password)
        self.basic = False

    def __call__(self, request):
        if self.basic:
            request.headers["Authorization"] = _basic_auth_str(self.username, self.password)
            return request
        return super().__call__(request)

    def handle_401(self, response, **kwargs):
        if challenge_scheme(response.headers) != "basic" or self.basic:
            return super().handle_401(response, **kwargs)
        self.basic = True
        _ = response.content  # read and release the connection, as requests' digest handling does
        response.close()
        again = self(response.request.copy())
        answer = response.connection.send(again, **kwargs)
        answer.history.append(response)
        answer.request = again
        return answer


def challenge_scheme(headers) -> str:
    """The scheme a 401 answer asks for ("digest", "basic"), lower case; "" if none."""
    return (headers.get("WWW-Authenticate") or "").strip().split(" ", 1)[0].lower()


MARKUP = re.compile(r"<!DOCTYPE[^>]*>|<(head|title|style|script)\b.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)


def _first_lines(text: str | bytes, lines: int = 2, width: int = 240, markup: bool = True) -> str:
    """The first non-blank lines of a body, joined; `markup=False` drops HTML tags (an error page's
    words are what a person needs, its layout is not)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not markup:
        text = MARKUP.sub("", text)
    kept = [" ".join(line.split()) for line in text.strip().splitlines() if line.strip()][:lines]
    joined = " / ".join(kept)
    return joined if len(joined) <= width else joined[:width - 1] + "…"


def _answered(response: requests.Response) -> str:
    said = _first_lines(response.content, markup=False)
    return f"{response.status_code} {response.reason}" + (f": {said}" if said else "")


def _no_answer(error: BaseException, timeout: float) -> str:
    """What happened to a request that got no HTTP answer, in words."""
    while isinstance(error, (requests.RequestException, urllib.error.URLError, MaxRetryError)):
        inner = getattr(error, "reason", None) or (error.args[0] if error.args else None)
        if not isinstance(inner, BaseException):
            break
        error = inner
    text = str(error)
    if isinstance(error, (socket.timeout, TimeoutError, ReadTimeoutError)) or "timed out" in text:
        return f"no answer within {timeout} s (timed out)"
    if isinstance(error, ConnectionRefusedError) or "Connection refused" in text:
        return "no answer: connection refused (is the server running, and on this port?)"
    if isinstance(error, (http.client.RemoteDisconnected, ConnectionResetError)) or "aborted" in text:
        return "the server dropped the connection without an answer"
    return f"no answer: {_first_lines(text, 1)}"


T = TypeVar("T")


class Connection:
    """A session with one server: credentials, auth, timeout and retries, for every request."""

    def __init__(self, endpoint: Endpoint, credentials: Credentials | None = None, auth: str = "auto",
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.endpoint = endpoint
        self.credentials = credentials
        self.auth = endpoint.kind.auth if auth == "auto" else auth
        self.timeout = timeout
        self.retrying = self._session(retry_policy())
        self.once = self._session(retry_policy(answers_too=False))
        self.query_auth: tuple[str, str] | None = None  # SPARQLWrapper's (scheme, realm), once asked for

    def _session(self, retry: Retry) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # credentials come from credentials_for(), proxies are not wanted on loopback
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", HTTPAdapter(max_retries=retry))
        if self.credentials:
            user, password = self.credentials.user, self.credentials.password
            session.auth = {"basic": HTTPBasicAuth(user, password), "digest": HTTPDigestAuth(user, password),
                            "challenge": ChallengeAuth(self.credentials)}[self.auth]
        return session

    def need(self, url: str | None, what: str, option: str) -> str:
        if url is None:
            raise TradeKBError(f"{self.endpoint} has no known {what} URL: give {option}")
        return url

    def request(self, method: str, url: str, about: str = "", retry: bool = True, only_ok: bool = True,
                **kwargs) -> requests.Response:
        """Send one request (retried where safe); ServerError if no answer comes, or (`only_ok`)
        if the answer is not 2xx."""
        session = self.retrying if retry else self.once
        request = f"{method} {url}" + (f" ({about})" if about else "")
        try:
            response = session.request(method, url, timeout=self.timeout, **kwargs)
        except (requests.RequestException, ReadTimeoutError, ConnectTimeoutError) as e:
            raise ServerError(f"{self.endpoint}: {request}: {_no_answer(e, self.timeout)}") from None
        if only_ok and not response.ok:
            raise ServerError(f"{self.endpoint}: {request}: {_answered(response)}{self._hint(response.status_code)}")
        return response

    def _hint(self, status: int) -> str:
        return NO_CREDENTIALS if status == 401 and not self.credentials else ""

    def update(self, text: str, about: str, retry: bool = True) -> None:
        """Run a SPARQL Update; `retry=False` for one that must not run twice (a retried MOVE whose
        first try did land would move an empty graph over the target)."""
        url = self.need(self.endpoint.update_url, "update", "--update-endpoint")
        self.request("POST", url, about, retry, data={"update": text})

    def put_graph(self, graph: str, ntriples: bytes) -> None:
        """Replace one graph (Graph Store protocol PUT, N-Triples body)."""
        url = self.need(self.endpoint.store_url, "Graph Store", "--store-endpoint")
        self.request("PUT", url, f"graph {graph}", params={"graph": graph}, data=ntriples,
                     headers={"Content-Type": N_TRIPLES})

    def get_graph(self, graph: str) -> bytes:
        """One graph as N-Triples (Graph Store protocol GET)."""
        url = self.need(self.endpoint.store_url, "Graph Store", "--store-endpoint")
        return self.request("GET", url, f"graph {graph}", params={"graph": graph},
                            headers={"Accept": N_TRIPLES}).content

    def select(self, text: str, dataset: list[str] | None = None, about: str = "") -> ResultTable:
        """One SELECT through SPARQLWrapper over the union of `dataset` (default-graph-uri)."""
        request = f"POST {self.endpoint.query_url}" + (f" ({about})" if about else "")

        def send() -> tuple[dict, bytes]:  # the body is read here too: a server may stall or drop in it
            result = self._wrapper(text, dataset).query()
            return result.info(), result.response.read()
        headers, body = self._sparqlwrapper_call(send, request)
        cap = headers.get("x-sparql-maxrows")
        if cap:  # Virtuoso says so when it has cut the answer
            raise ServerError(f"{self.endpoint}: {request}: the server cut the answer at {cap} rows "
                              f"(X-SPARQL-MaxRows); give a page size below {cap}")
        try:
            return results_table(json.loads(body))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ServerError(f"{self.endpoint}: {request}: 200, but not SPARQL JSON results: "
                              f"{_first_lines(body) or 'an empty body'}") from None

    def _wrapper(self, text: str, dataset: list[str] | None) -> SPARQLWrapper:
        wrapper = SPARQLWrapper(self.endpoint.query_url)
        wrapper.setMethod(POST)  # long queries and many graphs do not fit in a URL
        wrapper.setRequestMethod(URLENCODED)
        wrapper.setReturnFormat(JSON)
        wrapper.setOnlyConneg(True)
        wrapper.setTimeout(math.ceil(self.timeout))  # SPARQLWrapper takes whole seconds
        for graph in dataset or []:
            wrapper.addDefaultGraph(graph)
        if self.query_auth and self.credentials:
            scheme, realm = self.query_auth
            wrapper.setHTTPAuth(scheme)
            wrapper.setCredentials(self.credentials.user, self.credentials.password, realm=realm)
        wrapper.setQuery(text)
        return wrapper

    def _sparqlwrapper_call(self, call: Callable[[], T], request: str) -> T:
        """`call` with the shared retry policy; a 401 is answered once with the scheme it asks for."""
        retry = retry_policy()
        while True:
            try:
                return call()
            except Unauthorized:
                if self.query_auth is not None or not self.credentials:
                    raise ServerError(f"{self.endpoint}: {request}: 401 Unauthorized{self._hint(401)}") from None
                self.query_auth = self._ask_challenge()
            except (SPARQLWrapperException, OSError, http.client.HTTPException) as e:
                if not _worth_retrying(e):
                    raise ServerError(f"{self.endpoint}: {request}: {_sparqlwrapper_answer(e, self.timeout)}") from None
                try:
                    retry = retry.increment(error=e)
                except MaxRetryError:
                    raise ServerError(f"{self.endpoint}: {request}: "
                                      f"{_sparqlwrapper_answer(e, self.timeout)}") from None
                retry.sleep()

    def _ask_challenge(self) -> tuple[str, str]:
        """SPARQLWrapper's auth for the query URL: the scheme (and realm) its 401 challenge names."""
        response = self.request("GET", self.endpoint.query_url, "ask how it wants credentials", retry=False,
                                only_ok=False, auth=lambda r: r)  # no credentials: this asks which
        scheme = self.auth if self.auth in ("basic", "digest") else challenge_scheme(response.headers) or "basic"
        realm = requests.utils.parse_dict_header(
            (response.headers.get("WWW-Authenticate") or "").partition(" ")[2]).get("realm") or "SPARQL"
        return {"basic": BASIC, "digest": DIGEST}.get(scheme, BASIC), realm


def _http_error(error: Exception) -> urllib.error.HTTPError | None:
    """The HTTP answer behind a SPARQLWrapper exception (it raises its own from urllib's)."""
    for candidate in (error, error.__context__):
        if isinstance(candidate, urllib.error.HTTPError):
            return candidate
    return None


def _worth_retrying(error: Exception) -> bool:
    """A 5xx answer or a dropped or refused connection; never a 4xx, never a timeout."""
    answer = _http_error(error)
    if answer is not None:
        return answer.code >= 500
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return False
    return isinstance(reason, (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine))


def _sparqlwrapper_answer(error: Exception, timeout: float) -> str:
    """What the server answered SPARQLWrapper (status and first lines of the body), or why nothing."""
    answer = _http_error(error)
    if answer is None:
        return _no_answer(error, timeout)
    if answer is error:
        body = answer.read()
    else:  # SPARQLWrapper has read the body and kept only its repr, in its message
        shown = str(error).partition("Response:\n")[2]
        body = ast.literal_eval(shown) if shown else b""
    said = _first_lines(body, markup=False)
    return f"{answer.code} {answer.reason}" + (f": {said}" if said else "")


def results_table(data: dict) -> ResultTable:
    """SPARQL 1.1 Query Results JSON as a ResultTable of pyoxigraph terms, as the embedded store gives.

    >>> results_table({"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "uri", "value": "http://a"}}]}})
    ResultTable(variables=['x'], rows=[(<NamedNode value=http://a>,)])
    """
    variables = list(data["head"]["vars"])
    rows = [tuple(_term(binding[v]) if v in binding else None for v in variables)
            for binding in data["results"]["bindings"]]
    return ResultTable(variables, rows)


def _term(value: dict) -> Term:
    """One term of SPARQL JSON results (ValueError for one that is not an RDF term)."""
    kind, text = value["type"], value["value"]
    if kind == "uri":
        return ox.NamedNode(text)
    if kind == "bnode":
        return blank_node(text)
    if kind not in ("literal", "typed-literal"):  # typed-literal: Virtuoso's name from the 2007 draft
        raise ValueError(f"unknown term type {kind!r}")
    if "xml:lang" in value:
        return ox.Literal(text, language=value["xml:lang"])
    datatype = value.get("datatype")
    if not datatype or datatype == XSD_STRING:
        return ox.Literal(text)
    return ox.Literal(canonical(text, datatype), datatype=ox.NamedNode(datatype))


def canonical(text: str, datatype: str) -> str:
    """The canonical form of a typed value, as rdflib writes it and so as the knowledge base holds
    it: a server may answer with another form of the same value (Virtuoso gives booleans as 0 and 1).

    >>> XSD = "http://www.w3.org/2001/XMLSchema#"
    >>> canonical("0", XSD + "boolean"), canonical("007", XSD + "integer"), canonical("x", "http://x/y")
    ('false', '7', 'x')
    """
    return str(Literal(text, datatype=URIRef(datatype)))


def blank_node(label: str) -> ox.BlankNode:
    """The blank node a server labelled `label`. A label only names a node within one answer, so
    one that RDF does not allow (Virtuoso's `nodeID://b10001`) is replaced by one made from it:
    the same label gives the same node, on every page of an answer.

    >>> blank_node("b0").value, blank_node("nodeID://b10001").value
    ('b0', 'x1fde67f22c77e8aab64a38026f5a418f')
    """
    try:
        return ox.BlankNode(label)
    except ValueError:
        return ox.BlankNode("x" + hashlib.sha256(label.encode()).hexdigest()[:32])


def projected_variables(text: str) -> list[str]:
    """The variables a SELECT returns, in order (parsed by the embedded engine, run on nothing)."""
    return run_sparql(ox.Store(), text).variables


def connect(query_url: str, update_url: str | None = None, store_url: str | None = None, auth: str = "auto",
            timeout: float = DEFAULT_TIMEOUT) -> Connection:
    """A connection to the server at `query_url`, with the credentials the environment gives for it."""
    return Connection(resolve_endpoint(query_url, update_url, store_url), credentials_for(query_url), auth, timeout)
