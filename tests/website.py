"""The website two ways, for tests/test_site_browser.py and tests/test_site_links.py: the static
site `tradekb site -o DIR` writes, and the site `tradekb serve` serves, each made by a real
process of its own from the repository's five articles.

tests/conftest.py imports the fixtures (`exported`, `static_directory`, `static_site`,
`served_site`), so that each is made once per session however many modules use it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, Graph, URIRef
from rdflib.namespace import ORG

from kb.graph import KBID, TKB
from servers import interrupt, read_endpoints, start_serving

REPO = Path(__file__).resolve().parent.parent
ID = str(KBID)
# The kinds of thing that have a page of their own, by the class their members belong to.
THING_KINDS = {"person": TKB.Person, "organization": TKB.Organization, "meeting": TKB.Meeting,
               "measure": TKB.TradeMeasure, "statement": TKB.Statement, "post": ORG.Membership,
               "place": TKB.Place, "product": TKB.Product, "topic": TKB.Topic, "article": TKB.Article}
SITE_TIMEOUT = 300.0  # seconds for `tradekb site`: the build and validation come first, on a shared machine


@dataclass(frozen=True)
class Site:
    """Where a reader opens the website: `home` is the URL of its first page; `url(path)` makes
    the URL of a page from its path relative to the site's root (`id/meeting/x.html`)."""

    name: str  # "served" or "static"
    root: str  # ends with "/"
    directory: Path | None  # the static site's files; None when served

    @property
    def home(self) -> str:
        return self.url("index.html")

    def url(self, path: str) -> str:
        return urllib.parse.urljoin(self.root, path)


def run_tradekb(*args: str, timeout: float = SITE_TIMEOUT) -> subprocess.CompletedProcess:
    """`tradekb ARGS` on the repository as a process of its own; a failure fails the test with its
    output."""
    done = subprocess.run([sys.executable, "-m", "kb.cli", "-C", str(REPO), *args], capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"tradekb {' '.join(args)} exited {done.returncode}: {done.stderr}{done.stdout}", pytrace=False)
    return done


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> Graph:
    """Every triple of the knowledge base (all graphs merged), read back from the Turtle file
    `tradekb export` writes: what the site shows is checked against this, not against the site's
    own code."""
    path = tmp_path_factory.mktemp("export") / "tradekb.ttl"
    run_tradekb("export", "-o", str(path))
    return Graph().parse(path, format="turtle")


def members(graph: Graph, cls: URIRef) -> list[URIRef]:
    """The minted IRIs of `cls` and its subclasses, in IRI order."""
    classes = set(graph.transitive_subjects(RDFS.subClassOf, cls))
    return sorted({s for c in classes for s in graph.subjects(RDF.type, c)
                   if isinstance(s, URIRef) and s.startswith(ID)})


def misspelled(name: str) -> str:
    """`name` with the two letters after its middle swapped, as a reader might type it.

    >>> misspelled("Kim Hyun-chong")
    'Kim Hyu-nchong'
    """
    i = len(name) // 2
    return name[:i] + name[i + 1] + name[i] + name[i + 2:]


def page_path(iri: str) -> str:
    """A thing's page in the site (the path of its minted IRI, as HTML: kb/site/pages.py's rule)."""
    return "id/" + iri[len(ID):] + ".html"


@pytest.fixture(scope="session")
def static_directory(tmp_path_factory) -> Path:
    """The static site of the five articles, as `tradekb site -o DIR` writes it."""
    directory = tmp_path_factory.mktemp("static") / "site"
    run_tradekb("site", "-o", str(directory))
    return directory


@pytest.fixture(scope="session")
def static_site(static_directory) -> Site:
    """The static site opened from its files (file://), as from a file share."""
    return Site("static", static_directory.as_uri() + "/", static_directory)


@pytest.fixture(scope="session")
def served_site(tmp_path_factory):
    """`tradekb serve` of the five articles on a free loopback port, until the session ends."""
    process = start_serving(REPO, "--port", "0", tmp=tmp_path_factory.mktemp("serve"))
    try:
        query_url = read_endpoints(process).query
        yield Site("served", urllib.parse.urljoin(query_url, "/"), None)
    finally:
        if process.poll() is None:
            interrupt(process, signal.SIGINT)
