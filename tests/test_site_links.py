"""The website's links and its Linked Data, without a browser.

The static site (`tradekb site -o DIR`) is walked whole: every href and src of every page, and
every url() of its style sheets, leads to a file of the site (and an `#id` to an element of that
page), every page is reachable from the home page, and nothing is loaded from outside the site,
so it works offline and from a file share.

The served site (`tradekb serve`) gives each minted IRI's RDF by content negotiation and by
suffix; what it gives is held to that thing's part of the export, cut out of the file `tradekb
export` writes (not by the site's code), so that a site that gives too little or too much fails;
each page embeds, as JSON-LD, the thing's own statements, held to the export alike.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from rdflib import Graph, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from kb.graph import TKB
from website import ID, THING_KINDS, members, page_path

# Where an element names another resource, and whether a browser loads it with the page (a load
# from outside the site would break it offline) or only goes there when the reader follows it.
LOADED = {("link", "href"), ("script", "src"), ("img", "src"), ("img", "srcset"), ("source", "src"),
          ("source", "srcset"), ("iframe", "src"), ("embed", "src"), ("object", "data"), ("video", "poster"),
          ("audio", "src"), ("video", "src"), ("track", "src"), ("input", "src")}
FOLLOWED = {("a", "href"), ("area", "href"), ("form", "action")}
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
OUTSIDE = ("http", "https", "ftp", "ws", "wss")
HARMLESS = ("mailto", "data", "javascript", "tel")


@dataclass
class Reference:
    """One place a page names a URL: `where` is file:line, for the failure message."""

    where: str
    url: str
    loaded: bool


@dataclass
class Page:
    ids: set[str] = field(default_factory=set)
    references: list[Reference] = field(default_factory=list)


class _PageReader(HTMLParser):
    def __init__(self, path: Path, name: str) -> None:
        super().__init__(convert_charrefs=True)
        self.name = name
        self.page = Page()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        where = f"{self.name}:{self.getpos()[0]}"
        for attribute, value in attrs:
            if value is None:
                continue
            if attribute == "id" or (tag == "a" and attribute == "name"):
                self.page.ids.add(value)
            elif attribute == "style":
                self.page.references += [Reference(where, m.group(2), True) for m in CSS_URL.finditer(value)]
            elif (tag, attribute) in LOADED or (tag, attribute) in FOLLOWED:
                urls = [part.split()[0] for part in value.split(",") if part.strip()] if attribute == "srcset" \
                    else [value]
                self.page.references += [Reference(where, url, (tag, attribute) in LOADED) for url in urls]


def read_page(path: Path, root: Path) -> Page:
    reader = _PageReader(path, str(path.relative_to(root)))
    reader.feed(path.read_text(encoding="utf-8"))
    reader.close()
    return reader.page


def read_style_sheet(path: Path, root: Path) -> list[Reference]:
    text = path.read_text(encoding="utf-8")
    return [Reference(f"{path.relative_to(root)}:{text.count(chr(10), 0, m.start()) + 1}", m.group(2), True)
            for m in CSS_URL.finditer(text)]


@pytest.fixture(scope="module")
def pages(static_directory) -> dict[Path, Page]:
    """Every page of the static site, by its resolved path."""
    root = static_directory.resolve()
    return {path: read_page(path, root) for path in sorted(root.rglob("*.html"))}


def target_of(reference: Reference, source: Path, root: Path) -> tuple[Path | None, str]:
    """The file of the site a relative reference leads to (None for a harmless or outside one),
    and its fragment."""
    parts = urllib.parse.urlsplit(reference.url)
    if parts.scheme or parts.netloc:
        return None, ""
    path = urllib.parse.unquote(parts.path)
    target = (source.parent / path).resolve() if path else source
    if target.is_dir():
        target = target / "index.html"
    return target, urllib.parse.unquote(parts.fragment)


def test_the_static_site_has_a_home_page_and_pages_of_each_kind(static_directory, pages):
    assert (static_directory.resolve() / "index.html") in pages
    assert len(pages) > 50, f"only {len(pages)} pages for five articles"


def test_every_link_of_every_page_leads_to_a_file_of_the_site_and_an_element_of_it(static_directory, pages):
    root = static_directory.resolve()
    broken = []
    references = [(path, r) for path, page in pages.items() for r in page.references]
    references += [(path, r) for path in sorted(root.rglob("*.css")) for r in read_style_sheet(path, root)]
    for source, reference in references:
        target, fragment = target_of(reference, source, root)
        if target is None:
            continue
        if root not in target.parents:
            broken.append(f"{reference.where}: {reference.url} leads outside the site")
        elif not target.is_file():
            broken.append(f"{reference.where}: {reference.url}: no such file")
        elif fragment and target.suffix == ".html" and fragment not in pages[target].ids:
            broken.append(f"{reference.where}: {reference.url}: no element with id {fragment!r}")
    assert not broken, f"{len(broken)} broken links, e.g.:\n" + "\n".join(broken[:20])


def test_no_page_or_style_sheet_loads_anything_from_outside_the_site(static_directory, pages):
    references = [r for page in pages.values() for r in page.references]
    root = static_directory.resolve()
    references += [r for path in sorted(root.rglob("*.css")) for r in read_style_sheet(path, root)]
    outside = [f"{r.where}: {r.url}" for r in references
               if urllib.parse.urlsplit(r.url).scheme in OUTSIDE and r.loaded or r.url.startswith("//")]
    other = [f"{r.where}: {r.url}" for r in references
             if urllib.parse.urlsplit(r.url).scheme not in OUTSIDE + HARMLESS + ("",)]
    assert not outside, "loaded from outside the site:\n" + "\n".join(outside[:20])
    assert not other, "an unknown URL scheme:\n" + "\n".join(other[:20])


def test_every_page_is_reachable_from_the_home_page(static_directory, pages):
    root = static_directory.resolve()
    home = root / "index.html"
    reached, waiting = {home}, deque([home])
    while waiting:
        source = waiting.popleft()
        for reference in pages[source].references:
            target, _ = target_of(reference, source, root)
            if target is not None and target.suffix == ".html" and target.is_file() and target not in reached:
                reached.add(target)
                waiting.append(target)
    orphans = sorted(str(p.relative_to(root)) for p in pages if p not in reached)
    assert not orphans, f"{len(orphans)} pages no link leads to from index.html, e.g. {orphans[:10]}"


# --- Linked Data ------------------------------------------------------------------------------------

RDF_FORMATS = {"ttl": ("text/turtle", "turtle"), "jsonld": ("application/ld+json", "json-ld"),
               "nt": ("application/n-triples", "nt")}


def sample_things(exported: Graph) -> list[str]:
    """The first and the last thing of each kind, in IRI order."""
    return sorted({str(m) for cls in THING_KINDS.values() for m in (members(exported, cls)[0], members(exported, cls)[-1])})


def part_of_export(exported: Graph, iri: str) -> Graph:
    """A thing's part of the export, as kb/site/model.py defines it (thing_quads), cut out here
    by other means: the triples about the thing, about each of its reports and about the nodes
    minted below a report (spans, selectors, resolved dates) or below an article (its date
    evidence)."""
    reports = {str(r) for r in exported.subjects(TKB.reportOf, URIRef(iri))}
    below = tuple(r + "/" for r in reports) + ((iri + "/",) if iri.startswith(ID + "article/") else ())
    part = Graph()
    for triple in exported:
        subject = str(triple[0])
        if subject == iri or subject in reports or subject.startswith(below):
            part.add(triple)
    return part


def same_graph(got: Graph, expected: Graph, what: str) -> None:
    if not isomorphic(got, expected):
        _, missing, extra = graph_diff(to_isomorphic(got), to_isomorphic(expected))
        pytest.fail(f"{what}: {len(extra)} triples missing (e.g. {sorted(extra)[:2]}), "
                    f"{len(missing)} too many (e.g. {sorted(missing)[:2]})", pytrace=False)


@pytest.fixture(scope="module")
def http():
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy from the environment
    yield session
    session.close()


def alternates(answer: requests.Response) -> set[tuple[str, str]]:
    """The (URL, media type) pairs of the answer's `Link: <…>; rel="alternate"; type=…` headers."""
    links = requests.utils.parse_header_links(answer.headers.get("Link", ""))
    return {(link["url"], link.get("type", "")) for link in links if link.get("rel") == "alternate"}


@pytest.mark.parametrize("suffix", sorted(RDF_FORMATS))
def test_each_things_rdf_by_accept_and_by_suffix_is_its_part_of_the_export(served_site, exported, http, suffix):
    media_type, rdflib_format = RDF_FORMATS[suffix]
    for iri in sample_things(exported):
        expected = part_of_export(exported, iri)
        assert len(expected) > 0, iri
        path = "/" + page_path(iri).removesuffix(".html")
        for url, accept in ((served_site.url(path), media_type), (served_site.url(f"{path}.{suffix}"), "*/*")):
            answer = http.get(url, headers={"Accept": accept}, timeout=60)
            assert answer.status_code == 200, f"{url} ({accept}): {answer.status_code} {answer.text[:200]}"
            assert answer.headers["Content-Type"].split(";")[0] == media_type, url
            same_graph(Graph().parse(data=answer.content, format=rdflib_format), expected, f"{url} ({accept})")
            offered = alternates(answer)
            assert {(f"{path}.{s}", t) for s, (t, _) in RDF_FORMATS.items()} | {(f"{path}.html", "text/html")} \
                <= offered, f"{url}: Link alternates {offered}"


def test_a_browser_asking_for_a_things_iri_gets_its_page_naming_the_other_formats(served_site, exported, http):
    iri = members(exported, THING_KINDS["meeting"])[0]
    path = "/" + page_path(iri).removesuffix(".html")
    answer = http.get(served_site.url(path), headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, timeout=60)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert "Accept" in answer.headers.get("Vary", "")
    assert (f"{path}.ttl", "text/turtle") in alternates(answer)


EMBEDDED_JSONLD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


def embedded_jsonld(html: str, where: str) -> Graph:
    found = EMBEDDED_JSONLD.findall(html)
    assert len(found) == 1, f"{where}: {len(found)} embedded JSON-LD scripts"
    return Graph().parse(data=json.dumps(json.loads(found[0])), format="json-ld")


def own_statements(exported: Graph, iri: str) -> Graph:
    """The triples of the export with the thing as subject: what its page embeds (its whole part
    is linked, not embedded: a government of a large corpus has megabytes of reports)."""
    own = Graph()
    for triple in exported.triples((URIRef(iri), None, None)):
        own.add(triple)
    return own


def test_each_things_page_embeds_its_own_statements_as_json_ld(served_site, static_directory, exported, http):
    for iri in sample_things(exported):
        expected = own_statements(exported, iri)
        answer = http.get(served_site.url(page_path(iri)), timeout=60)
        assert answer.status_code == 200, page_path(iri)
        same_graph(embedded_jsonld(answer.text, page_path(iri)), expected, f"served {page_path(iri)}")
        written = (static_directory / page_path(iri)).read_text(encoding="utf-8")
        same_graph(embedded_jsonld(written, page_path(iri)), expected, f"static {page_path(iri)}")


def test_the_static_site_holds_each_things_rdf_files(static_directory, exported):
    for iri in sample_things(exported):
        expected = part_of_export(exported, iri)
        for suffix, (_, rdflib_format) in RDF_FORMATS.items():
            path = static_directory / page_path(iri).replace(".html", f".{suffix}")
            assert path.is_file(), f"{path.relative_to(static_directory)} is missing"
            same_graph(Graph().parse(path, format=rdflib_format), expected, str(path.relative_to(static_directory)))
