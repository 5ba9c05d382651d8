"""The website as `tradekb serve` answers it: a request's path (and query string) to a response.

The served site answers the static site's URLs (`/index.html`, `/id/kim-visit.html`, …) with the
same pages, rendered on request from the store (kb.site.model.StoreSource: indexed lookups, never a
scan), plus what only a server can do: a minted IRI's own path (`/id/kim-visit`) gives HTML,
Turtle, JSON-LD or N-Triples by the request's `Accept` (content negotiation, `Vary: Accept`),
and each representation names the others in `Link: <…>; rel="alternate"` headers; a node that
has no page of its own (a report, an evidence span) answers 303 See Other with the page that
shows it, and a named graph's IRI with the Graph Store URL of its triples; a saved query's page
runs the query with the parameters its form sends. A bad request (an IRI no IRI can be, an Accept
header that names no media type) is one line of text, 400, as a missing page is 404.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode

import mimeparse
import pyoxigraph as ox

from kb.errors import TradeKBError
from kb.site.model import ID, StoreSource, is_thing
from kb.site.network import MissingQuery
from kb.site.pages import RDF_FILES, Pages, Rendered, page_of, static_files

# Offered by content negotiation, the HTML last: mimeparse prefers the later of equal matches,
# so that a client that takes anything (*/*) gets the page.
NEGOTIATED = [*(f.media_type for f in RDF_FILES), "text/html"]
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".json": "application/json", ".txt": "text/plain; charset=utf-8"}


@dataclass
class Response:
    status: HTTPStatus
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _text(status: HTTPStatus, message: str) -> Response:
    return Response(status, (message + "\n").encode(), {"Content-Type": "text/plain; charset=utf-8"})


class SiteApp:
    """The site's pages for the knowledge base in `store`."""

    def __init__(self, store: ox.Store, project: Path) -> None:
        self.pages = Pages(store, StoreSource(store), project, served=True)
        self.static = dict(static_files())
        self.graphs = {graph.value for graph in store.named_graphs()}
        # The pages made from whole-knowledge-base queries, as first rendered without parameters:
        # the store does not change under the site, and the timeline of a million triples takes
        # 0.7 s to render (a thing's page is rendered each time: 7-60 ms at a million triples).
        self.rendered: dict[str, Rendered] = {}

    def warm_in_background(self) -> threading.Thread:
        """Render the pages made from whole-knowledge-base queries, and keep them, before anyone
        asks: at a million triples a saved query's page took up to 0.55 s at its first view (100 ms
        at p95 over all views), the timeline's 1.6 s, the first thing page's 0.9 s (corroboration and
        conflicts of every fact) and search's 1 s (its index), where a kept page takes 0.3 ms
        (bench/site.py). A page that fails here is left to fail, and say why, when it is asked for."""
        pages = self.pages

        def keep(path: str, render: Callable[[dict[str, str]], Rendered]) -> None:
            self.rendered.setdefault(path, render({}))

        def warm() -> None:
            steps = [partial(pages.rows_about, "corroboration", ""), partial(pages.rows_about, "conflicts", ""),
                     lambda: pages.name_index, lambda: pages.folded_quotes,  # a thing's page; search
                     *(partial(keep, path, render)
                       for path, render in [*pages.fixed().items(), *pages.query_pages().items()])]
            for step in steps:
                try:
                    step()
                except Exception:  # noqa: BLE001 - only a head start: the request does it again
                    continue
        thread = threading.Thread(target=warm, name="site-warm-up", daemon=True)
        thread.start()
        return thread

    def respond(self, path: str, query: str = "", accept: str | None = None) -> Response:
        """The response to GET `path`?`query` with the request's Accept header."""
        path = unquote(path)
        if path in ("", "/"):
            path = "/index.html"
        site_path = path.lstrip("/")
        if site_path in self.static:
            file = self.static[site_path]
            return Response(HTTPStatus.OK, file.read_bytes(),
                            {"Content-Type": STATIC_TYPES.get(file.suffix, "application/octet-stream")})
        if site_path.startswith("id/"):
            return self._node(site_path, accept)
        params = {name: values[-1] for name, values in parse_qs(query, keep_blank_values=False).items()}
        try:
            rendered = self.rendered.get(site_path) if not params else None
            if rendered is None:
                rendered = self.pages.page(site_path, params)
                if not params and rendered is not None:
                    self.rendered[site_path] = rendered
        except MissingQuery as missing:  # a page made from a saved query the project lacks
            return _text(HTTPStatus.NOT_FOUND, f"{path}: {missing}")
        except TradeKBError as error:  # a query's parameter names nothing, for one
            return _text(HTTPStatus.BAD_REQUEST, str(error))
        if rendered is None:
            return _text(HTTPStatus.NOT_FOUND, f"{path}: no such page on this site")
        return Response(HTTPStatus.OK, rendered.body, {"Content-Type": rendered.media_type})

    def _node(self, site_path: str, accept: str | None) -> Response:
        """A minted IRI's path, bare (negotiated) or with a file suffix."""
        stem, dot, suffix = site_path.rpartition(".")
        if not dot or suffix not in {"html", *(f.suffix for f in RDF_FILES)}:
            stem, suffix = site_path, None
        iri = ID + stem[len("id/"):]
        try:
            ox.NamedNode(iri)
        except ValueError:
            return _text(HTTPStatus.BAD_REQUEST, f"/{site_path}: {iri} is not an IRI")
        if suffix is None and iri in self.graphs:
            # a named graph: its triples, from the SPARQL server's Graph Store (negotiated there)
            return Response(HTTPStatus.SEE_OTHER, b"", {"Location": "/store?" + urlencode({"graph": iri})})
        if not is_thing(iri):
            target = page_of(iri)
            if suffix is None and target.startswith("id/") and self.pages.source.about(iri):
                return Response(HTTPStatus.SEE_OTHER, b"", {"Location": "/" + target})
            return _text(HTTPStatus.NOT_FOUND, f"/{site_path}: no such node in the knowledge base")
        headers = {"Link": ", ".join(f'</{stem}.{f.suffix}>; rel="alternate"; type="{f.media_type}"'
                                     for f in RDF_FILES) + f', </{stem}.html>; rel="alternate"; type="text/html"'}
        if suffix is None:
            try:
                chosen = mimeparse.best_match(NEGOTIATED, accept or "*/*")
            except mimeparse.MimeTypeParseException as error:
                return _text(HTTPStatus.BAD_REQUEST, f"Accept: {error}")
            if not chosen:
                return _text(HTTPStatus.NOT_ACCEPTABLE, f"/{site_path} is offered as {', '.join(NEGOTIATED)}")
            suffix = "html" if chosen == "text/html" else next(f.suffix for f in RDF_FILES if f.media_type == chosen)
            headers |= {"Vary": "Accept", "Content-Location": f"/{stem}.{suffix}"}
        rendered = self.pages.thing(iri, suffix)
        if rendered is None:
            return _text(HTTPStatus.NOT_FOUND, f"/{site_path}: no such node in the knowledge base")
        return Response(HTTPStatus.OK, rendered.body, headers | {"Content-Type": rendered.media_type})

