"""The website in a real browser: Debian's chromium driven by Playwright, against the site
`tradekb serve` serves and the static site `tradekb site -o DIR` writes (opened from its files,
as from a file share). Every test runs on both.

What is expected is derived from the knowledge base as `tradekb export` writes it (the quotes, the
things of each kind, the names) and from the article files, never from the site's own code.

Screenshots of the main pages (docs/screenshots/*.png, shown in the README) are taken from the
served site when TRADEKB_SCREENSHOTS=1, so that an ordinary run leaves the tree as it was:

    TRADEKB_SCREENSHOTS=1 .venv/bin/python -m pytest tests/test_site_browser.py -k screenshot

Chromium comes from `bash scripts/setup.sh --with-browser` (which CI runs): without it these
tests are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import csv
import io
import os
import urllib.parse
from pathlib import Path

import pytest
from rdflib import RDFS, Graph, URIRef

from kb.graph import OA, TKB
from kb.inputfiles import ARTICLE_LIMIT, read_text
from servers import missing
from website import ID, REPO, THING_KINDS, Site, members, misspelled, page_path, run_tradekb

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
SETTLE_MS = 2000  # the timeline and the network animate into place after the page loads
BLOCKING = ("serious", "critical")  # axe-core's impacts that fail a page
# The pages there is one of, by their path in the site (kb/site/templates/base.html's menu).
SINGLE_PAGES = {"home": "index.html", "timeline": "timeline.html", "network": "network.html",
                "disagreements": "disagreements.html", "sources": "sources.html", "queries": "queries/index.html",
                "saved query": "queries/meetings-of.html", "sparql": "sparql.html", "ontology": "ontology.html",
                "search": "search.html"}


@pytest.fixture(scope="session")
def browser():
    """Chromium, headless; as root without its sandbox (which needs an unprivileged user)."""
    if not CHROMIUM.exists():
        missing("chromium is not installed: bash scripts/setup.sh --with-browser (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed: bash scripts/setup.sh (it is in the test extra)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox"] if os.geteuid() == 0 else [])
        yield chromium
        chromium.close()


@pytest.fixture(params=["served", "static"])
def site(request) -> Site:
    return request.getfixturevalue(f"{request.param}_site")


def leaves_the_machine(url: str) -> bool:
    """A request to anywhere but the served site (127.0.0.1) or the files: the site would not work offline."""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme not in ("file", "data", "blob", "about") and parts.hostname != "127.0.0.1"


class Tab:
    """A page in a fresh browser context, with what went wrong while it was open: console
    errors, uncaught exceptions, requests that failed and requests that left the machine."""

    def __init__(self, browser, **options) -> None:
        self.context = browser.new_context(viewport=VIEWPORT, **options)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"console: {m.text} ({m.location.get('url') or self.page.url})"))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url} ({r.failure})"))
        self.page.on("request", lambda r: leaves_the_machine(r.url) and self.errors.append(f"outside: {r.url}"))

    def open(self, url: str):
        answer = self.page.goto(url, wait_until="load")
        assert answer is None or answer.ok, f"{url}: {answer.status}"  # file:// gives no answer
        return self.page


@pytest.fixture
def tab(browser):
    opened = Tab(browser)
    yield opened
    opened.context.close()


def thing_pages(exported: Graph) -> dict[str, str]:
    """A page of each kind of thing: the first thing of the kind, in IRI order."""
    return {kind: page_path(members(exported, cls)[0]) for kind, cls in THING_KINDS.items()}


def every_page_type(exported: Graph) -> dict[str, str]:
    return SINGLE_PAGES | thing_pages(exported)


def page_types() -> list[str]:
    return list(SINGLE_PAGES) + list(THING_KINDS)


# --- evidence in context -------------------------------------------------------------------------

def spans_of(exported: Graph, fact: URIRef) -> list[tuple[URIRef, str, int, int]]:
    """(article, exact quote, start, end) of every evidence span of every report of `fact`."""
    found = []
    for report in exported.subjects(TKB.reportOf, fact):
        for span in exported.objects(report, OA.hasTarget):
            selected = {p: o for selector in exported.objects(span, OA.hasSelector)
                        for p, o in exported.predicate_objects(selector)}
            found.append((exported.value(span, OA.hasSource), str(selected[OA.exact]), int(selected[OA.start]),
                          int(selected[OA.end])))
    return found


def article_text(article: URIRef) -> str:
    """The article's words as the loader reads them (its seeds/ file, by kb.inputfiles), in code points."""
    return read_text(REPO, REPO / "seeds" / f"{article[len(ID + 'article/'):]}.txt", ARTICLE_LIMIT)


HIGHLIGHTED = """anchor => Array.from(document.querySelectorAll("mark"))
    .filter(m => (m.dataset.spans || "").split(" ").includes(anchor)).map(m => m.textContent).join("")"""


def test_from_a_meeting_to_its_article_the_highlighted_words_are_the_quote_byte_for_byte(tab, site, exported):
    meeting = next(m for m in members(exported, THING_KINDS["meeting"]) if spans_of(exported, m))
    spans = spans_of(exported, meeting)
    page = tab.open(site.url(page_path(meeting)))
    quotes = page.locator("blockquote.quote a")
    assert quotes.count() == len(spans), "one quote link per evidence span of the meeting's reports"
    for n in range(len(spans)):
        page = tab.open(site.url(page_path(meeting)))
        link = page.locator("blockquote.quote a").nth(n)
        link.click()
        page.wait_for_load_state("load")
        anchor = page.evaluate("decodeURIComponent(location.hash.slice(1))")
        highlighted = page.evaluate(HIGHLIGHTED, anchor)
        article = URIRef(ID + "article/" + page.url.split("/id/article/")[1].split(".html")[0])
        recorded = [(exact, start, end) for a, exact, start, end in spans if a == article]
        assert highlighted.encode("utf-8") in [exact.encode("utf-8") for exact, _, _ in recorded], \
            f"{page.url}: {highlighted!r} is no quote of {meeting} in {article}"
        exact, start, end = next(r for r in recorded if r[0] == highlighted)
        assert article_text(article)[start:end].encode("utf-8") == highlighted.encode("utf-8")
        assert page.evaluate("document.querySelector(':target') !== null"), f"{page.url}: the link's #id is no element"
    assert not tab.errors, tab.errors


def test_choosing_a_fact_on_its_article_page_highlights_exactly_its_quotes(tab, site, exported):
    article = members(exported, THING_KINDS["article"])[0]
    page = tab.open(site.url(page_path(article)))
    fact = page.locator(".facts li[data-spans]").first
    fact_iri = fact.locator("a").first.get_attribute("href")
    fact.locator(".show-spans").click()
    chosen = page.evaluate("Array.from(document.querySelectorAll('mark.chosen')).map(m => m.textContent).join('')")
    slug = fact_iri.rsplit("/", 1)[1].removesuffix(".html")
    text = article_text(article)
    covered = sorted({i for a, _, start, end in spans_of(exported, URIRef(ID + slug)) if a == article
                      for i in range(start, end)})
    assert covered, f"{slug} has no quote in {article}"
    assert chosen == "".join(text[i] for i in covered), "the highlighted words are those of the fact's quotes"
    assert not tab.errors, tab.errors


# --- timeline, network, queries, search ---------------------------------------------------------

def meetings_of(exported: Graph) -> dict[URIRef, set[URIRef]]:
    """Each actor's meetings (as a participant), from the export."""
    found: dict[URIRef, set[URIRef]] = {}
    for meeting, actor in exported.subject_objects(TKB.participant):
        found.setdefault(actor, set()).add(meeting)
    return found


def busiest_person(exported: Graph, counted=lambda meeting: True) -> URIRef:
    """The person in the most meetings, or the most of those `counted` (ties: the first IRI)."""
    people = set(members(exported, THING_KINDS["person"]))
    meetings = {actor: {m for m in found if counted(m)} for actor, found in meetings_of(exported).items()}
    return min((a for a in meetings if a in people), key=lambda a: (-len(meetings[a]), a))


def label(exported: Graph, node: URIRef) -> str:
    return str(exported.value(node, RDFS.label))


def visible_rows(page, table: str) -> list[list[str]]:
    return page.evaluate("""table => Array.from(document.querySelectorAll(table + " tbody tr"))
        .filter(row => !row.hidden).map(row => Array.from(row.cells).map(cell => cell.textContent.trim()))""", table)


DRAWN_ITEMS = "#timeline .vis-item:not(.vis-dot):not(.vis-line)"  # vis-timeline draws a point as item and dot


def test_the_timeline_filtered_by_actor_status_and_date_shows_exactly_those_facts(tab, site, exported):
    def dated_and_held(meeting: URIRef) -> bool:
        return exported.value(meeting, TKB.status) == TKB.Held and exported.value(meeting, TKB.date) is not None
    actor = busiest_person(exported, dated_and_held)
    held = label(exported, TKB.Held)
    expected = set(filter(dated_and_held, meetings_of(exported)[actor]))
    assert expected, f"{actor} took part in no dated meeting that was held"
    page = tab.open(site.url("timeline.html"))
    page.wait_for_selector("#timeline .vis-item")
    every = len(visible_rows(page, "#timeline-table"))
    page.select_option("#filters select[name=actor]", label(exported, actor))
    page.select_option("#filters select[name=status]", held)
    rows = visible_rows(page, "#timeline-table")
    assert 0 < len(rows) < every
    header = page.evaluate("Array.from(document.querySelectorAll('#timeline-table thead th')).map(h => h.textContent.trim())")
    column = {name: header.index(name) for name in ("date", "to", "fact", "status", "actors")}
    assert all(row[column["status"]] == held and label(exported, actor) in row[column["actors"]].split("; ")
               for row in rows), rows
    assert {label(exported, m) for m in expected} <= {row[column["fact"]] for row in rows}
    assert page.locator(DRAWN_ITEMS).count() == len(rows), "the chart draws the rows the table keeps"
    latest = max(str(exported.value(m, TKB.date)) for m in expected)  # only facts ending on or after it remain
    page.fill("#filters input[name=from]", latest)
    page.dispatch_event("#filters input[name=from]", "change")
    later = visible_rows(page, "#timeline-table")
    assert 0 < len(later) < len(rows)
    assert all((row[column["to"]] or row[column["date"]]) >= latest for row in later), later
    assert page.locator(DRAWN_ITEMS).count() == len(later)
    assert not tab.errors, tab.errors


def test_the_network_opens_and_choosing_an_edge_lists_the_meetings_the_pair_shared(tab, site, exported):
    meetings = meetings_of(exported)
    pairs = {(a, b): meetings[a] & meetings[b] for a in meetings for b in meetings if str(a) < str(b)}
    (a, b), shared = min(pairs.items(), key=lambda pair: (-len(pair[1]), pair[0]))
    page = tab.open(site.url("network.html"))
    page.wait_for_function("window.tradekbNetwork && window.tradekbNetwork.cy && window.tradekbNetwork.cy.edges().length")
    # where the edge is drawn, in the page: a real click on the canvas there
    x, y = page.evaluate("""([a, b]) => {
        const cy = window.tradekbNetwork.cy;
        const edge = cy.edges().filter(e => e.source().id() === a && e.target().id() === b)[0];
        cy.fit(edge.connectedNodes(), 200);
        const box = cy.container().getBoundingClientRect(), middle = edge.renderedMidpoint();
        return [box.left + middle.x, box.top + middle.y];
    }""", [str(a), str(b)])
    page.mouse.click(x, y)
    page.wait_for_selector("#edge-meetings:not([hidden])")
    listed = page.locator("#edge-meetings li a").all_inner_texts()
    assert sorted(listed) == sorted(label(exported, m) for m in shared)
    assert not tab.errors, tab.errors


def query_rows(name: str, **params: str) -> list[dict[str, str]]:
    """A saved query's rows as `tradekb query` gives them."""
    args = [arg for name_, value in params.items() for arg in ("-p", f"{name_}={value}")]
    return list(csv.DictReader(io.StringIO(run_tradekb("query", name, *args, "-f", "csv").stdout)))


def test_a_saved_query_runs_from_its_form_with_the_rows_of_the_command_line(tab, site, exported):
    actor = label(exported, busiest_person(exported))
    page = tab.open(site.url("queries/meetings-of.html"))
    page.fill("form input[name=actor]", actor)
    page.click("form button[type=submit]")
    page.wait_for_load_state("load")
    if site.name == "static":  # files cannot run a query: the page says where it runs
        assert "tradekb serve" in page.locator("p.note").inner_text()
        return
    expected = query_rows("meetings-of", actor=actor)
    header = page.evaluate("Array.from(document.querySelectorAll('main table thead th')).map(h => h.textContent.trim())")
    table = visible_rows(page, "main table")
    assert len(table) == len(expected) > 0
    meeting = header.index("meeting")
    assert [row[meeting] for row in table] == [label(exported, URIRef(row["meeting"])) for row in expected]
    links = page.evaluate("""column => Array.from(document.querySelectorAll("main table tbody tr"))
        .map(row => row.cells[column].querySelector("a").href)""", meeting)
    assert all(link.endswith("/" + page_path(row["meeting"])) for link, row in zip(links, expected)), links
    page.click("main table thead th:nth-child(%d) button" % (header.index("date") + 1))  # sortable
    dates = [row[header.index("date")] for row in visible_rows(page, "main table")]
    assert dates == sorted(dates, key=lambda d: (d == "", d)) or dates == sorted(dates)
    assert not tab.errors, tab.errors


def test_search_finds_a_misspelled_name_and_leads_to_its_page(tab, site, exported):
    actor = busiest_person(exported)
    typed = misspelled(label(exported, actor))
    assert typed != label(exported, actor)
    page = tab.open(site.url("search.html"))
    page.fill("#q", typed)
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#name-results li a")
    found = page.locator("#name-results li a").all_inner_texts()
    assert label(exported, actor) in found[:3], f"searching {typed!r} found {found[:5]}"
    page.locator("#name-results li a", has_text=label(exported, actor)).first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith(page_path(actor)), page.url
    assert page.locator("main h1").inner_text() == label(exported, actor)
    assert not tab.errors, tab.errors


# --- every page type ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", page_types())
def test_every_page_type_opens_without_a_console_error(tab, site, exported, kind):
    page = tab.open(site.url(every_page_type(exported)[kind]))
    page.wait_for_load_state("networkidle")
    assert page.locator("main h1").count() == 1, "a page has one main heading"
    assert not tab.errors, "\n".join(tab.errors)


@pytest.mark.parametrize("kind", page_types())
def test_every_page_type_has_no_serious_or_critical_accessibility_violation(browser, site, exported, kind):
    checked = Tab(browser, bypass_csp=True)  # axe is injected as a script of the page's own
    try:
        page = checked.open(site.url(every_page_type(exported)[kind]))
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    finally:
        checked.context.close()
    blocking = [f"{v['impact']}: {v['id']}: {v['help']} ({len(v['nodes'])}×, e.g. {v['nodes'][0]['html'][:120]})"
                for v in result["violations"] if v["impact"] in BLOCKING]
    assert not blocking, "\n".join(blocking)


# --- screenshots for the README -----------------------------------------------------------------

@pytest.mark.skipif(os.environ.get("TRADEKB_SCREENSHOTS") != "1",
                    reason="writes docs/screenshots/*.png only when TRADEKB_SCREENSHOTS=1")
def test_screenshots_of_the_main_pages(tab, served_site, exported):
    meeting = max(members(exported, THING_KINDS["meeting"]), key=lambda m: (len(spans_of(exported, m)), m))
    article = spans_of(exported, meeting)[0][0]
    shots = {"home": "index.html", "meeting": page_path(meeting), "article": page_path(article) + "#text",
             "timeline": "timeline.html", "network": "network.html", "query": "queries/meetings.html"}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in shots.items():
        page = tab.open(served_site.url(path))
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(SETTLE_MS)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    assert not tab.errors, tab.errors


def test_the_served_sparql_editor_asks_nothing_of_anywhere_else(tab, served_site):
    """Oxigraph's YASGUI page, at /sparql-ui, fetches prefixes from a web service of its own
    choosing; tradekb serve's Content-Security-Policy keeps it to this machine."""
    answer = tab.page.goto(served_site.url("sparql-ui"), wait_until="load")
    assert answer.ok and "connect-src 'self'" in answer.headers.get("content-security-policy", "")
    tab.page.wait_for_load_state("networkidle")
    assert tab.page.locator(".yasqe").count() == 1, "YASGUI's editor is on the page"
    assert not [error for error in tab.errors if error.startswith("outside:")], "\n".join(tab.errors)
