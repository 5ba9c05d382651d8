"""The website's pages: one set of Jinja2 templates, rendered for `tradekb serve` and for
`tradekb site` alike.

A page is named by its path in the static site (`index.html`, `id/kim-visit.html`,
`id/kim-visit.ttl`, `queries/actors.html` …), and every link is relative with an explicit file
name, so the written site works from `file://` or a file share and the served one answers the same
URLs. A minted IRI `https://w3id.org/tradekb/id/X` is the page `id/X.html` (and `id/X.ttl`,
`.jsonld`, `.nt`): published where w3id.org redirects to, the IRIs resolve.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import jinja2
import pyoxigraph as ox
from markupsafe import Markup

from kb.export import PREFIX_IRIS
from kb.graph import TKB
from kb.site.model import ID, Describer, Source, owner, span_anchor, thing_triples


@dataclass(frozen=True)
class RdfFile:
    """A serialization a thing's RDF is offered in: its file suffix, media type, pyoxigraph format."""

    suffix: str
    rdf_format: ox.RdfFormat

    @property
    def media_type(self) -> str:
        return self.rdf_format.media_type


RDF_FILES = (RdfFile("ttl", ox.RdfFormat.TURTLE), RdfFile("jsonld", ox.RdfFormat.JSON_LD),
             RdfFile("nt", ox.RdfFormat.N_TRIPLES))
HTML = "text/html; charset=utf-8"


@dataclass
class Rendered:
    """A page's bytes and media type."""

    body: bytes
    media_type: str


def page_of(iri: str) -> str:
    """The site path (and anchor) where a reader finds a node: a thing's own page; a report on
    its fact's page; an evidence span (or its selectors) highlighted on its article's page; a term
    of the ontology in the ontology page; any other IRI as it is.

    >>> page_of(ID + "kim-visit"), page_of(ID + "report/000_x/kim-visit/span/1/quote")
    ('id/kim-visit.html', 'id/article/000_x.html#kim-visit-span-1')
    >>> page_of(str(TKB.Meeting))
    'ontology.html#Meeting'
    """
    if iri.startswith(str(TKB)):
        return "ontology.html#" + iri[len(str(TKB)):]
    if not iri.startswith(ID):
        return iri
    parts = iri[len(ID):].split("/")
    if parts[0] == "report" and len(parts) >= 5 and parts[3] == "span":
        return f"id/article/{parts[1]}.html#{span_anchor(ID + '/'.join(parts[:5]))}"
    if parts[0] == "report" and len(parts) >= 3:
        return f"id/{parts[2]}.html#report-{parts[1]}"
    if parts[0] == "article" and len(parts) >= 4:
        return f"id/article/{parts[1]}.html#{span_anchor(ID + '/'.join(parts[:4]))}"
    return f"id/{owner(iri)[len(ID):]}.html"


def relative(target: str, page: str) -> str:
    """The link from the page at `page` to the site path `target` (an absolute URL stays).

    >>> relative("id/article/000_x.html#s", "id/kim-visit.html")
    'article/000_x.html#s'
    >>> relative("index.html", "id/article/000_x.html")
    '../../index.html'
    """
    if "://" in target:
        return target
    path, hash_, anchor = target.partition("#")
    if path == page and hash_:
        return "#" + anchor
    return posixpath.relpath(path, posixpath.dirname(page) or ".") + hash_ + anchor


def json_for_script(data) -> Markup:
    """JSON to put inside a <script> element: "<" escaped, so no "</script>" can end it early."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, sort_keys=True)
    return Markup(text.replace("<", "\\u003c"))


class Pages:
    """Renders the site's pages from the knowledge base's store; `source` answers the per-thing
    lookups (kb.site.model)."""

    def __init__(self, store: ox.Store, source: Source, project: Path, served: bool = False) -> None:
        self.store = store
        self.project = Path(project)
        self.describer = Describer(source)
        self.source = source
        self.served = served

    @cached_property
    def environment(self) -> jinja2.Environment:
        environment = jinja2.Environment(loader=jinja2.PackageLoader("kb.site", "templates"),
                                         autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                         undefined=jinja2.StrictUndefined)
        environment.globals["page_of"] = page_of
        return environment

    def render(self, template: str, page: str, **context) -> Rendered:
        """The template rendered as the page at site path `page`: its links relative to it."""
        def href(target: str) -> str:
            return relative(target, page)

        def link(iri: str) -> str:
            return relative(page_of(iri), page)
        html = self.environment.get_template(template).render(
            page=page, href=href, link=link, served=self.served, **context)
        return Rendered(html.encode("utf-8"), HTML)

    def thing(self, iri: str, suffix: str = "html") -> Rendered | None:
        """A thing's page, or its RDF in the format of `suffix`; None if there is no such thing."""
        page = f"id/{iri[len(ID):]}.{suffix}"
        if suffix != "html":
            rdf = next((f for f in RDF_FILES if f.suffix == suffix), None)
            triples = thing_triples(self.source, iri) if rdf else []
            if not triples:
                return None
            return Rendered(_serialize(triples, rdf.rdf_format), rdf.media_type)
        article = self.describer.article(iri) if iri.startswith(ID + "article/") else None
        view = article.thing if article else self.describer.thing(iri)
        if view is None:
            return None
        jsonld = _serialize(thing_triples(self.source, iri), ox.RdfFormat.JSON_LD).decode("utf-8")
        facts_of_span = {}
        if article:
            facts_of_span = {s.anchor: (f"fact-{n}", r.fact.text, n) for n, r in enumerate(article.facts, 1)
                             for s in r.spans}
            facts_of_span.update({s.anchor: ("fact-date", "the article's date", "d") for s in article.date_evidence})
        return self.render("article.html" if article else "thing.html", page, thing=view, article=article,
                           facts_of_span=facts_of_span, corroboration=None, conflicts=[],
                           jsonld=json_for_script(jsonld), rdf_files=RDF_FILES, stem=iri.rsplit("/", 1)[-1])

    def home(self, params: dict[str, str]) -> Rendered:
        return self.render("index.html", "index.html")

    def _fixed(self) -> dict[str, Callable[[dict[str, str]], Rendered]]:
        """The pages at fixed paths, by path: each renders from the request's parameters."""
        return {"index.html": self.home}

    def page(self, path: str, params: dict[str, str]) -> Rendered | None:
        """The page at site path `path` other than a thing's (those are `thing`), or None."""
        render = self._fixed().get(path)
        return render(params) if render else None

    def site_pages(self) -> Iterator[tuple[str, Rendered]]:
        """Every page but the things' own, as (site path, Rendered): what the static site holds."""
        for path, render in self._fixed().items():
            yield path, render({})


def _serialize(triples: list[ox.Triple], rdf_format: ox.RdfFormat) -> bytes:
    prefixes = PREFIX_IRIS if rdf_format is ox.RdfFormat.TURTLE else None
    return ox.serialize(triples, format=rdf_format, prefixes=prefixes) if prefixes else \
        ox.serialize(triples, format=rdf_format)


def static_files() -> list[tuple[str, Path]]:
    """The site's own CSS and scripts and the vendored libraries: (site path, file)."""
    root = Path(__file__).parent / "static"
    return sorted((f"static/{path.relative_to(root).as_posix()}", path) for path in root.rglob("*") if path.is_file())
