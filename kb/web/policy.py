"""Which requests `tradekb serve` passes on to Oxigraph's server, and why the others are refused.

Any web page open in the user's browser can send requests to 127.0.0.1. A form posts across
origins with no CORS preflight, as `application/x-www-form-urlencoded` (a SPARQL update),
`multipart/form-data` or `text/plain` (which Oxigraph's Graph Store takes for N-Triples); and a
page whose own host name it re-points at 127.0.0.1 (DNS rebinding) reads the answers as its own.
Oxigraph's server checks neither the Origin nor the Host of a request, and it fetches whatever
URL a `LOAD` or a `SERVICE` names, from inside the user's network. So every request is checked:

- its Host is this server (127.0.0.1 or localhost, and the port): else it comes from a page
  that re-pointed its name here;
- if it may change anything (any method but GET and HEAD), it comes from no web page (curl,
  scripts, `tradekb push` send no Origin) or from a page this server served: browsers send an
  Origin with every such request, and a Sec-Fetch-Site header too;
- if it only reads, another site's page did not load it in the background (Sec-Fetch-Site and
  Sec-Fetch-Mode say so): it could not read the answer, only keep the server busy;
- no query or update in it can make the server fetch a URL (`fetching_keyword`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus

LOOPBACK = "127.0.0.1"  # the only address tradekb serves on
LOOPBACK_NAMES = (LOOPBACK, "localhost")
_KEYWORDS = re.compile(r"load|service", re.IGNORECASE)
_NAME_PART = re.compile(r"[^\W\d]|[_:?$@-]")  # a letter, or a character names are made of
_AFTER_KEYWORD_LITERAL = re.compile(r"(?:true|false)$", re.IGNORECASE)
_LINE_COMMENT = re.compile(r"(^|[\r\n])[ \t]*#[^\r\n]*")


@dataclass(frozen=True)
class Refusal:
    """A request not passed on: its HTTP status and one line saying why, for client and log."""

    status: HTTPStatus
    reason: str


def own_origins(port: int) -> set[str]:
    """The origins of the pages this server serves itself (YASGUI at `/`).

    >>> sorted(own_origins(7878))
    ['http://127.0.0.1:7878', 'http://localhost:7878']
    """
    return {f"http://{name}:{port}" for name in LOOPBACK_NAMES}


def host_refusal(host: str | None, port: int) -> Refusal | None:
    """None if `host` (the Host header) names this server; else a page that re-pointed its own
    name at 127.0.0.1 sent the request (DNS rebinding), and could read the answer.

    >>> host_refusal("localhost:7878", 7878) is None
    True
    >>> print(host_refusal("attacker.example:7878", 7878).reason)  # doctest: +ELLIPSIS
    Host attacker.example:7878 is not this server (127.0.0.1:7878 or localhost:7878): refused, ...
    """
    names = {f"{name}:{port}" for name in LOOPBACK_NAMES} | (set(LOOPBACK_NAMES) if port == 80 else set())
    if host is not None and host.strip().lower() in names:
        return None
    return Refusal(HTTPStatus.MISDIRECTED_REQUEST,
                   f"Host {host or '(none)'} is not this server (127.0.0.1:{port} or localhost:{port}): "
                   "refused, as sent by a web page that points its own name at 127.0.0.1")


def origin_refusal(origin: str | None, fetch_site: str | None, port: int) -> Refusal | None:
    """None if a request that may change state comes from no web page, or from one of this
    server's own; else another page sent it (a form post needs no CORS preflight).

    >>> origin_refusal(None, None, 7878) is None  # curl, a script
    True
    >>> origin_refusal("http://127.0.0.1:7878", "same-origin", 7878) is None
    True
    >>> print(origin_refusal("https://attacker.example", "cross-site", 7878).reason)
    a request from the web page at https://attacker.example may not change anything here: refused (cross-origin)
    """
    if origin is not None and origin.strip().lower() not in own_origins(port):
        return Refusal(HTTPStatus.FORBIDDEN, f"a request from the web page at {origin} may not change anything "
                                             "here: refused (cross-origin)")
    if fetch_site is not None and fetch_site.strip().lower() not in ("same-origin", "none"):
        return Refusal(HTTPStatus.FORBIDDEN, f"a request from another web page ({fetch_site}) may not change "
                                             "anything here: refused (cross-origin)")
    return None


def background_refusal(fetch_site: str | None, fetch_mode: str | None) -> Refusal | None:
    """None unless another web page loads this read in the background (an image, a script, a
    fetch: it cannot read the answer, but it can keep the server busy); a link the user follows
    from another site (a navigation) still reaches it. The Fetch Metadata "resource isolation
    policy"; a client that sends no Sec-Fetch-* header (not a browser) passes.

    >>> background_refusal("cross-site", "navigate") is None
    True
    >>> print(background_refusal("cross-site", "no-cors").reason)
    another web page may not load this in the background (cross-site, no-cors): refused; a link to it works
    """
    site, mode = (fetch_site or "").strip().lower(), (fetch_mode or "").strip().lower()
    if site in ("cross-site", "same-site") and mode != "navigate":
        return Refusal(HTTPStatus.FORBIDDEN, f"another web page may not load this in the background ({site}, "
                                             f"{mode or 'no mode'}): refused; a link to it works")
    return None


def fetching_keyword(sparql: str) -> str | None:
    """`LOAD` or `SERVICE` if the query or update may use it (which makes the server fetch a
    URL), else None.

    Not a parser, so that no SPARQL can fool it: Oxigraph's parser reads `<` as an IRI or as
    less-than by context (so an apparent IRI can hold a `#` that ends the line as a comment),
    and takes a keyword glued to the token before it (`trueSERVICE`, `1SERVICE` and `;LOAD` are
    keywords there). So the word counts wherever it stands, in strings and IRIs too, unless it
    continues a name (a letter, `_`, `:`, `?`, `$`, `@` or `-` before it, as in `?service`,
    `ex:load`, "download"; but `true` and `false` end a token and start none). Comments alone on
    their lines are skipped: a line cannot begin inside an IRI or a short string, so what follows
    such a `#` is a comment or the text of a long string. Oxigraph 0.5 takes `\\u` escapes
    outside strings literally, so `\\u004cOAD` spells nothing (tests/test_serve_security.py
    checks that it still does not).

    >>> fetching_keyword("SELECT ?service WHERE { ?s <http://example.org/download> ?o }") is None
    True
    >>> fetching_keyword("INSERT DATA { <a> <b> true };LOAD<http://example.org/x>")
    'LOAD'
    >>> fetching_keyword("SELECT * { ?s ?p trueSERVICE <http://example.org/sparql> {} }")
    'SERVICE'
    >>> fetching_keyword("#+ summary: the wire service that ran it\\nSELECT * { ?s ?p ?o }") is None
    True
    """
    code = _LINE_COMMENT.sub(r"\1", sparql)
    for found in _KEYWORDS.finditer(code):
        before = code[:found.start()]
        continues_a_name = bool(before) and _NAME_PART.fullmatch(before[-1]) is not None
        if not continues_a_name or _AFTER_KEYWORD_LITERAL.search(before):
            return found.group().upper()
    return None


def keyword_refusal(texts: list[str]) -> Refusal | None:
    """None unless one of the queries or updates may make the server fetch a URL."""
    for text in texts:
        keyword = fetching_keyword(text)
        if keyword:
            return Refusal(HTTPStatus.FORBIDDEN,
                           f"{keyword} makes the server fetch a URL of the sender's choosing: refused (the word "
                           f"counts anywhere outside a comment line, even in a string: write it as "
                           f'CONCAT("{keyword[:len(keyword) // 2]}", "{keyword[len(keyword) // 2:]}") there)')
    return None
