"""The website without a browser (kb/site): the static site written from the seed knowledge base,
the served site's answers (kb.site.app, in process), the highlights of an article's evidence, the
atomic writer (killed midway as a real process), and the network's GEXF/GraphML read back by
networkx. The browser tests, link walk and screenshots are in tests/test_site_browser.py."""

from __future__ import annotations

import html
import http.client
import json
import re
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import networkx as nx
import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from conftest import REPO
from servers import interrupt, read_endpoints, start_serving
from kb.cli import cli
from kb.graph import OA, TKB
from kb.queries import catalogue, run_query
from kb.site.app import SiteApp
from kb.site.model import ID, Span, StoreSource, highlight, is_thing, span_anchor, thing_triples
from kb.site.network import NetworkFormat, network_file, network_graph, network_table
from kb.site.static import SITE_MARK, write_site

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def site(seed_kb, tmp_path_factory) -> Path:
    """The seed knowledge base's static site."""
    target = tmp_path_factory.mktemp("site") / "site"
    write_site(seed_kb.store, target, REPO)
    return target


@pytest.fixture(scope="module")
def app(seed_kb) -> SiteApp:
    return SiteApp(seed_kb.store, REPO)


def things(store: ox.Store) -> list[str]:
    return sorted({q.subject.value for q in store if isinstance(q.subject, ox.NamedNode) and is_thing(q.subject.value)})


class Marks(HTMLParser):
    """The text inside each <mark> of an article page, with the spans it carries, in page order;
    and the ids of every element."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[tuple[list[str], str]] = []
        self.ids: set[str] = set()
        self._open: list[str] | None = None
        self.scripts: list[tuple[dict, str]] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "mark":
            self._open = attrs["data-spans"].split()
            self.marks.append((self._open, ""))
        if tag == "script":
            self._script = attrs
            self.scripts.append((attrs, ""))

    def handle_endtag(self, tag):
        if tag == "mark":
            self._open = None
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._open is not None:
            spans, text = self.marks[-1]
            self.marks[-1] = (spans, text + data)
        if self._script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)


def triples_in(data: bytes, fmt: ox.RdfFormat) -> set[ox.Triple]:
    return {quad.triple for quad in ox.parse(data, format=fmt)}


def parsed(path: Path) -> Marks:
    marks = Marks()
    marks.feed(path.read_text(encoding="utf-8"))
    return marks


def test_every_thing_has_a_page_and_its_rdf(site, seed_kb):
    found = things(seed_kb.store)
    assert len(found) > 100
    for iri in found:
        stem = site / "id" / iri[len(ID):]
        for suffix in ("html", "ttl", "jsonld", "nt"):
            assert stem.with_name(stem.name + "." + suffix).is_file(), f"{iri} has no .{suffix}"


def test_every_highlight_is_its_quote_at_its_offsets(site, seed_kb):
    """On each article's page, the marked pieces of each span, joined, are the span's quote, and
    the quote is the article's text (the seed file, byte for byte) at the span's code-point offsets."""
    spans = {}
    for quad in seed_kb.store.quads_for_pattern(None, ox.NamedNode(str(OA.hasSelector)), None, None):
        selector = {q.predicate.value: q.object.value for q in seed_kb.store.quads_for_pattern(quad.object, None, None, None)}
        spans.setdefault(quad.subject.value, {}).update(selector)
    assert len(spans) > 300
    for stem in sorted(p.stem for p in (REPO / "seeds").glob("*.txt")):
        text = (REPO / "seeds" / f"{stem}.txt").read_bytes().decode("utf-8")
        page = parsed(site / "id" / "article" / f"{stem}.html")
        pieces: dict[str, str] = {}
        for covering, piece in page.marks:
            for anchor in covering:
                pieces[anchor] = pieces.get(anchor, "") + piece
        mine = {span_anchor(iri): s for iri, s in spans.items() if f"/{stem}/" in iri}
        assert mine and set(pieces) == set(mine), stem
        for anchor, span in mine.items():
            start, end = int(span[str(OA.start)]), int(span[str(OA.end)])
            assert pieces[anchor] == span[str(OA.exact)] == text[start:end], (stem, anchor)
            assert anchor in page.ids, f"{stem}: no element with id {anchor} to link to"


def test_overlapping_spans_each_keep_their_extent():
    text = "The United States has offered talks"
    spans = [Span("a", "", 4, 17, ""), Span("b", "", 0, 17, ""), Span("c", "", 11, 35, ""), Span("d", "", 11, 17, "")]
    segments = highlight(text, spans)
    assert "".join(s.text for s in segments) == text
    for span in spans:
        assert "".join(s.text for s in segments if span.anchor in s.spans) == text[span.start:span.end]
        assert sum(span.anchor in s.starts for s in segments) == 1  # one place to anchor it
        assert sum(span.anchor in s.ends for s in segments) == 1


def test_a_quote_on_a_thing_page_links_to_its_span_and_the_fact_list_back(site):
    page = (site / "id" / "kim-lighthizer-meeting.html").read_text(encoding="utf-8")
    assert 'href="article/000_f0205f4675e93af6.html#kim-lighthizer-meeting-span-1"' in page
    article = (site / "id" / "article" / "000_f0205f4675e93af6.html").read_text(encoding="utf-8")
    assert re.search(r'<li id="fact-\d+" data-spans="[^"]*kim-lighthizer-meeting-span-1', article)
    assert 'href="../kim-lighthizer-meeting.html"' in article
    assert "The Korea Herald, 2019-07-11" in article  # an article is named by publisher and date


def test_each_page_embeds_its_statements_as_json_ld_and_links_its_whole_part(site, seed_kb):
    source = StoreSource(seed_kb.store)
    iri = ID + "kim-kupperman-talks"
    scripts = [text for attrs, text in parsed(site / "id" / "kim-kupperman-talks.html").scripts
               if attrs.get("type") == "application/ld+json"]
    assert len(scripts) == 1
    embedded = triples_in(scripts[0].encode(), ox.RdfFormat.JSON_LD)
    assert embedded == {t for t in thing_triples(source, iri) if t.subject.value == iri} and len(embedded) > 5
    for suffix, fmt in (("ttl", ox.RdfFormat.TURTLE), ("nt", ox.RdfFormat.N_TRIPLES), ("jsonld", ox.RdfFormat.JSON_LD)):
        data = (site / "id" / f"kim-kupperman-talks.{suffix}").read_bytes()
        assert triples_in(data, fmt) == set(thing_triples(source, iri))


def test_a_things_rdf_holds_its_reports_and_their_evidence(seed_kb):
    triples = thing_triples(StoreSource(seed_kb.store), ID + "kim-kupperman-talks")
    reports = {t.subject.value for t in triples if t.predicate.value == str(TKB.reportOf)}
    assert reports == {ID + "report/000_f0205f4675e93af6/kim-kupperman-talks",
                       ID + "report/001_3b887b2a4a309624/kim-kupperman-talks"}
    exact = {t.object.value for t in triples if t.predicate.value == str(OA.exact)}
    assert "On Friday, Kim is scheduled for talks with Deputy National Security Adviser Charles Kupperman." in exact


@pytest.mark.parametrize("accept, media_type", [
    ("text/turtle", "text/turtle"), ("application/ld+json", "application/ld+json"),
    ("application/n-triples", "application/n-triples"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html; charset=utf-8"),
    (None, "text/html; charset=utf-8")])
def test_a_minted_iri_is_negotiated(app, seed_kb, accept, media_type):
    response = app.respond("/id/kim-kupperman-talks", "", accept)
    assert response.status == 200
    assert response.headers["Content-Type"] == media_type
    assert response.headers["Vary"] == "Accept"
    assert '</id/kim-kupperman-talks.ttl>; rel="alternate"; type="text/turtle"' in response.headers["Link"]
    if not media_type.startswith("text/html"):
        fmt = ox.RdfFormat.from_media_type(media_type)
        assert triples_in(response.body, fmt) == set(thing_triples(StoreSource(seed_kb.store), ID + "kim-kupperman-talks"))


def test_the_served_site_answers_the_static_sites_files(app, site):
    for path in ("id/kim-kupperman-talks.html", "id/kim-kupperman-talks.ttl", "id/article/000_f0205f4675e93af6.html",
                 "queries/actors.csv", "network.graphml"):
        response = app.respond("/" + path)
        assert response.status == 200, path
        if not path.endswith(".html"):  # a page says whether it is served (the SPARQL page's link)
            assert response.body == (site / path).read_bytes(), path


def test_a_node_without_a_page_redirects_to_the_page_that_shows_it(app):
    response = app.respond("/id/report/000_f0205f4675e93af6/kim-kupperman-talks")
    assert (response.status, response.headers["Location"]) == (303, "/id/kim-kupperman-talks.html#report-000_f0205f4675e93af6")
    span = app.respond("/id/report/000_f0205f4675e93af6/kim-kupperman-talks/span/1")
    assert span.headers["Location"] == "/id/article/000_f0205f4675e93af6.html#kim-kupperman-talks-span-1"
    graph = app.respond("/id/graph/000_f0205f4675e93af6")
    assert (graph.status, graph.headers["Location"]) == (303, "/store?graph=https%3A%2F%2Fw3id.org%2Ftradekb%2Fid%2Fgraph%2F000_f0205f4675e93af6")
    assert app.respond("/id/no-such-thing").status == 404
    assert app.respond("/no-such-page.html").status == 404
    assert app.respond("/id/kim-kupperman-talks", "", "image/png").status == 406
    assert app.respond("/id/kim-kupperman-talks", "", "text").status == 400  # no media type
    assert app.respond("/id/kim%20kupperman").status == 400  # no IRI has a space


def test_a_saved_query_runs_from_its_form(app, seed_store):
    response = app.respond("/queries/meetings-of.html", "actor=kim+HYUN-chong")
    assert response.status == 200
    page = response.body.decode()
    expected = run_query(seed_store, catalogue(REPO)["meetings-of"], {"actor": "Kim Hyun-chong"})
    assert f"{len(expected.rows)} row(s)" in page and "Kim Hyun-chong–Mick Mulvaney talks" in page
    csv = app.respond("/queries/meetings-of.csv", "actor=Kim Hyun-chong")
    assert csv.body.decode() == (GOLDEN / "meetings-of--kim-hyun-chong.csv").read_text(encoding="utf-8")
    unknown = app.respond("/queries/meetings-of.html", "actor=Kim Hyun-chonk").body.decode()
    assert "nothing named &#39;Kim Hyun-chonk&#39;" in unknown and "did you mean" in unknown


def test_the_static_sites_query_answers_are_the_golden_ones(site):
    for name, query in catalogue(REPO).items():
        assert (site / "queries" / f"{name}.html").is_file()
        if not query.parameters:
            assert (site / "queries" / f"{name}.csv").read_text(encoding="utf-8") == \
                (GOLDEN / f"{name}.csv").read_text(encoding="utf-8")


def test_search_finds_a_misspelled_name_and_the_words_of_a_quote(app, site):
    page = app.respond("/search.html", "q=kim+hyun+chon").body.decode()
    hits = page.split('id="name-results"')[1].split("</ul>")[0]
    assert 'href="id/kim-hyun-chong.html"' in hits
    quotes = app.respond("/search.html", "q=Kupperman+SCHEDULED").body.decode().split('id="quote-results"')[1]
    assert "On Friday, Kim is scheduled for talks" in quotes.split("</ul>")[0]
    names = (site / "search-names.js").read_text(encoding="utf-8")
    index = json.loads(names.removeprefix("window.tradekbNames = ").rstrip().removesuffix(";"))
    assert {"l": "Kim Hyun-chong", "k": "Person", "h": "id/kim-hyun-chong.html"}.items() <= \
        next(n for n in index if n["l"] == "Kim Hyun-chong").items()


def test_the_timeline_draws_a_month_as_a_span_and_both_claims_of_a_changed_status(site):
    page = (site / "timeline.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="timeline-data">(.*?)</script>', page, re.S)[1])
    month = [i for i in data["items"] if i["precision"] == "month"]
    assert month and all(i["end"] > i["start"] for i in month)
    reported = [i for i in data["items"] if i["group"] == "reported"]
    assert {i["status"] for i in reported if "Stilwell" in i["content"]} >= {"planned"}
    assert len({(i["href"].split("#")[0], i["status"]) for i in reported}) > len({i["href"].split("#")[0] for i in reported})


@pytest.mark.parametrize("fmt", list(NetworkFormat))
def test_the_network_reads_back_with_networkx(seed_store, fmt, tmp_path):
    table = network_table(seed_store, REPO)
    path = tmp_path / f"network.{fmt.extension}"
    path.write_bytes(network_file(network_graph(table), fmt))
    graph = nx.read_gexf(path) if fmt is NetworkFormat.GEXF else nx.read_graphml(path)
    rows = [dict(zip(table.variables, (t.value for t in row))) for row in table.rows]
    assert graph.number_of_edges() == len(rows) > 20
    for row in rows:
        edge = graph.edges[row["actor_a"], row["actor_b"]]
        assert float(edge["weight"]) == int(row["n_meetings"])
        assert edge["meetings"] == row["meetings"]
        assert graph.nodes[row["actor_a"]]["label"] == row["label_a"]
    assert network_file(network_graph(table), fmt) == path.read_bytes()  # the same bytes every time


def test_export_writes_the_network_by_its_extension(tmp_path):
    result = CliRunner().invoke(cli, ["-C", str(REPO), "export", "-o", str(tmp_path / "who.graphml")])
    assert result.exit_code == 0, result.output
    assert nx.read_graphml(tmp_path / "who.graphml").number_of_edges() > 20
    refused = CliRunner().invoke(cli, ["-C", str(REPO), "export", "-f", "gexf", "-o", str(tmp_path / "who.ttl")])
    assert refused.exit_code == 2 and "--format gexf disagrees with" in refused.output


def test_site_refuses_a_directory_it_did_not_write(tmp_path):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["-C", str(REPO), "site", "-o", str(mine)])
    assert result.exit_code == 2
    assert result.output.strip().endswith(f"{mine}: not a site tradekb wrote (no {SITE_MARK} in it); give a new or empty directory")
    assert [p.name for p in mine.iterdir()] == ["keep.txt"]


def beside(target: Path) -> list[str]:
    """What is beside a site in its directory, but the lock of the runs."""
    return sorted(p.name for p in target.parent.iterdir() if p.name not in (target.name, f".{target.name}.lock"))


def test_site_replaces_the_old_site_whole(seed_kb, tmp_path, site):
    target = tmp_path / "site"
    write_site(seed_kb.store, target, REPO)
    assert beside(target) == []
    (target / "stale.html").write_text("from an older site")
    write_site(seed_kb.store, target, REPO)
    assert not (target / "stale.html").exists() and (target / "index.html").is_file()
    [old] = beside(target)  # the replaced site, left for the next run to remove
    assert (tmp_path / old / "stale.html").is_file()
    write_site(seed_kb.store, target, REPO)
    assert old not in beside(target) and len(beside(target)) == 1

    def files(root: Path) -> dict[Path, bytes]:
        return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert files(target) == files(site)  # the same knowledge base, the same bytes


def test_a_site_killed_midway_leaves_the_old_one_whole(tmp_path):
    """`tradekb site` as a process, killed (SIGKILL) once it has begun writing the new site: the
    old site is as it was; the next run clears what the killed one left and writes the new."""
    target = tmp_path / "site"
    run = [sys.executable, "-m", "kb.cli", "-C", str(REPO), "site", "-o", str(target)]
    subprocess.run(run, check=True, capture_output=True)
    before = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    (target / "index.html").write_bytes(b"the old site")
    before[Path("index.html")] = b"the old site"
    process = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not any(p.is_dir() and any(p.rglob("*.html")) for p in tmp_path.glob(".site-partial-*")):
        assert process.poll() is None and time.monotonic() < deadline, "the site was written before it could be killed"
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()} == before
    assert list(tmp_path.glob(".site-partial-*"))
    left = beside(target)
    subprocess.run(run, check=True, capture_output=True)
    assert (target / "index.html").read_bytes() != b"the old site"
    assert not set(left) & set(beside(target))  # what the killed run left is gone


def test_the_site_loads_nothing_from_elsewhere(site):
    """No CDN, no web font: every src and stylesheet href of every page is a file of the site."""
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for url in re.findall(r'(?:src|<link rel="stylesheet" href)="([^"]+)"', text):
            assert "://" not in url and (page.parent / url).resolve().is_file(), (page, url)


def test_a_project_without_the_saved_queries_gets_the_pages_it_can_have(mini_project):
    """The mini project has no queries/: its things get their pages, the pages made from a saved
    query are left out (and said so), and the network export is one line, exit 2."""
    result = CliRunner().invoke(cli, ["-C", str(mini_project), "site", "-o", str(mini_project / "site")])
    assert result.exit_code == 0, result.output
    assert "no timeline.html: this project has no saved query timeline (queries/timeline.rq)" in result.output
    assert (mini_project / "site" / "index.html").is_file() and not (mini_project / "site" / "timeline.html").exists()
    assert len(list((mini_project / "site" / "id").glob("*.html"))) > 5
    refused = CliRunner().invoke(cli, ["-C", str(mini_project), "export", "-f", "graphml"])
    assert refused.exit_code == 2
    assert refused.output.strip().splitlines()[-1] == \
        "this project has no saved query network (queries/network.rq), which this is made from"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`tradekb serve --port 0` on the seed project, as a process: the site behind serve's front."""
    process = start_serving(REPO, "--port", "0")
    try:
        yield urlsplit(read_endpoints(process).query).port
    finally:
        if process.poll() is None:
            interrupt(process, signal.SIGINT)


def ask(port: int, method: str, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_serve_shows_the_site_at_its_root_and_yasgui_below_sparql_ui(served, site):
    status, headers, body = ask(served, "GET", "/")
    assert (status, headers["content-type"]) == (200, "text/html; charset=utf-8") and b"<h1>" in body
    status, headers, body = ask(served, "GET", "/id/kim-kupperman-talks", {"Accept": "text/turtle"})
    assert (status, headers["content-type"], headers["vary"]) == (200, "text/turtle", "Accept")
    assert body == (site / "id" / "kim-kupperman-talks.ttl").read_bytes()
    status, _, body = ask(served, "GET", "/sparql-ui")
    assert status == 200 and b"Yasgui" in body  # Oxigraph's own page, which asks /sparql-ui/sparql
    status, headers, body = ask(served, "GET", "/sparql-ui/sparql?query=ASK%7B%7D",
                                {"Accept": "application/sparql-results+json"})
    assert status == 200 and b'"boolean":true' in body
    status, headers, _ = ask(served, "GET", "/id/graph/000_f0205f4675e93af6")
    status, headers, body = ask(served, "GET", headers["location"], {"Accept": "application/n-triples"})
    assert status == 200 and len(list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))) > 100  # the article's graph


def test_serve_keeps_its_policy_for_the_pages(served):
    """A page is only read: any other method is refused; a page loaded in the background by another
    site's page, and a request for another host (DNS rebinding), are refused as a query is."""
    assert ask(served, "POST", "/index.html")[0] == 404
    assert ask(served, "GET", "/id/kim-kupperman-talks.html",
               {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"})[0] == 403
    assert ask(served, "GET", "/index.html", {"Host": "attacker.example:80"})[0] == 421
    assert ask(served, "GET", "/index.html", {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})[0] == 200


def test_the_warm_up_keeps_every_whole_knowledge_base_page_as_a_request_renders_it(seed_kb):
    warmed = SiteApp(seed_kb.store, REPO)
    warmed.warm_in_background().join(timeout=300)
    paths = [*warmed.pages.fixed(), *warmed.pages.query_pages()]
    assert set(warmed.rendered) == set(paths)
    cold = SiteApp(seed_kb.store, REPO)
    for path in paths:
        assert warmed.rendered[path].body == cold.respond("/" + path).body, path


def test_the_site_is_titled_and_introduced_by_its_project_s_readme(mini_project):
    """A corpus about another dispute presents itself, not the seeds' dispute."""
    (mini_project / "README.md").write_text("# Lumber duties, 2018\n\nCanada and the U.S. over softwood lumber.\n"
                                             "Second line of it.\n\n## Other\n\nNot this.\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(mini_project), "site", "-o", str(mini_project / "site")])
    assert result.exit_code == 0, result.output
    home = (mini_project / "site" / "index.html").read_text(encoding="utf-8")
    assert "<h1>Lumber duties, 2018</h1>" in home
    assert "Canada and the U.S. over softwood lumber. Second line of it." in home and "Not this" not in home
    assert "<title>Home · Lumber duties, 2018</title>" in home and "Japan" not in home


def test_the_seeds_site_says_what_the_repository_s_readme_says(app):
    readme = (REPO / "README.md").read_text(encoding="utf-8").split("\n\n")
    title, introduction = readme[0].removeprefix("# "), " ".join(readme[1].split())
    home = app.respond("/index.html").body.decode()
    assert f"<h1>{title}</h1>" in home and introduction in html.unescape(home)
