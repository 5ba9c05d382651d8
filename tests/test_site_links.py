"""The website's links and its Linked Data, without a browser.

The static site (`tradekb site -o DIR`) is walked whole: every href and src of every page, and
every url() of its style sheets, leads to a file of the site (and an `#id` to an element of that
page), every page is reachable from the home page, and nothing is loaded from outside the site,
so it works offline and from a file share.

The served site (`tradekb serve`) gives each minted IRI's RDF by content negotiation and by
suffix; what it gives is held to that thing's part of the export, cut out of the file `tradekb
export` writes (not by the site's code), so that a site that gives too little or too much fails.
"""

from __future__ import annotations

import re
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from website import served_site, static_directory, static_site  # noqa: F401 (fixtures)

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
