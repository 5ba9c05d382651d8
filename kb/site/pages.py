"""The website's pages: one set of Jinja2 templates, rendered for `tradekb serve` and for
`tradekb site` alike.

A page is named by its path in the static site (`index.html`, `id/kim-visit.html`,
`id/kim-visit.ttl`, `queries/actors.html` …), and every link is relative with an explicit file
name, so the written site works from `file://` or a file share and the served one answers the same
URLs. A minted IRI `https://w3id.org/tradekb/id/X` is the page `id/X.html` (and `id/X.ttl`,
`.jsonld`, `.nt`): published where w3id.org redirects to, the IRIs resolve.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property, partial
from itertools import islice
from pathlib import Path
from urllib.parse import urlencode

import jinja2
import pyoxigraph as ox
from markupsafe import Markup, escape
from rdflib.namespace import OWL, RDF

from kb.errors import QueryError
from kb.export import PREFIX_IRIS
from kb.graph import TKB
from kb.inputfiles import ARTICLE_LIMIT, read_text
from kb.queries import (LIST_SEPARATOR, ResultFormat, ResultTable, SavedQuery, catalogue, format_results, run_query,
                        run_sparql)
from kb.site.model import ID, ONTOLOGY_GRAPH, SPAN_PATHS, Describer, Source, Value, is_thing, owner, span_anchor, thing_triples
from kb.site.network import MissingQuery, NetworkFormat, network_file, network_graph, network_table, saved_query


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
    >>> page_of(ID + "report/000_x/kim-says/attribution/1")
    'id/article/000_x.html#kim-says-attribution-1'

    >>> page_of(str(TKB.Meeting))
    'ontology.html#Meeting'
    """
    if iri.startswith(str(TKB)):
        return "ontology.html#" + iri[len(str(TKB)):]
    if not iri.startswith(ID):
        return iri
    parts = iri[len(ID):].split("/")
    if parts[0] == "report" and len(parts) >= 5 and parts[3] in SPAN_PATHS:
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
    here, there = page.split("/")[:-1], path.split("/")
    common = 0  # directories the two share (posixpath.relpath does the same, 10x slower: it was a third of a page's time)
    while common < len(here) and common < len(there) - 1 and here[common] == there[common]:
        common += 1
    return "../" * (len(here) - common) + "/".join(there[common:]) + hash_ + anchor


SCRIPTS = ((re.compile(r"[\u3040-\u30ff]"), "ja"), (re.compile(r"[\uac00-\ud7af\u1100-\u11ff]"), "ko"))


def language_tagged(text: str) -> Markup:
    """The text as HTML, each line in Korean or Japanese script marked as such (`lang`), so that a
    screen reader reads a Korean headline in Korean and a browser picks a font for it (the
    articles are in English but for such lines; kana before Hangul: Japanese text has kanji too).

    >>> str(language_tagged('Kim\\n김현종 방미 "日"'))
    'Kim\\n<span lang="ko">김현종 방미 &#34;日&#34;</span>'
    """
    lines = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        lang = next((code for script, code in SCRIPTS if script.search(body)), None)
        lines.append(Markup('<span lang="{}">{}</span>{}').format(lang, body, line[len(body):]) if lang else escape(line))
    return Markup("").join(lines)


def json_for_script(data) -> Markup:
    """JSON to put inside a <script> element: "<" escaped, so no "</script>" can end it early."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, sort_keys=True)
    return Markup(text.replace("<", "\\u003c"))


# The site's own questions, beside the saved queries: the names of things (lists, search, home), the
# actors a dated fact involves (the timeline's actor filter), every quote (search by words), the
# ontology's terms. Each is asked once for the whole knowledge base.
NAMES = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX org: <http://www.w3.org/ns/org#>
SELECT ?thing ?label ?kind (GROUP_CONCAT(DISTINCT ?alias; separator="\\u001f") AS ?aliases) WHERE {
  ?thing rdfs:label ?label ; a ?class .
  FILTER (STRSTARTS(STR(?thing), "%(id)s"))
  FILTER (STRSTARTS(STR(?class), "%(tkb)s") || ?class = org:Membership)
  OPTIONAL { ?class rdfs:label ?classLabel }
  BIND (IF(?class = org:Membership, "Post", STR(?classLabel)) AS ?kind)
  OPTIONAL { ?thing skos:altLabel ?alias }
} GROUP BY ?thing ?label ?kind ORDER BY ?kind ?label ?thing
""" % {"id": ID, "tkb": str(TKB)}
ACTORS_OF_FACTS = """
PREFIX tkb: <https://w3id.org/tradekb/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?fact ?actor ?label WHERE {
  ?fact tkb:participant|tkb:speaker|tkb:imposedBy|tkb:imposedOn ?actor . ?actor rdfs:label ?label .
} ORDER BY ?fact ?label ?actor
"""
QUOTES = """
PREFIX tkb: <https://w3id.org/tradekb/ontology#>
PREFIX oa: <http://www.w3.org/ns/oa#>
SELECT ?span ?exact ?fact WHERE {
  ?report tkb:reportOf ?fact ; oa:hasTarget ?span . ?span oa:hasSelector/oa:exact ?exact .
} ORDER BY ?fact ?span
"""
ONTOLOGY_TERMS = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?term ?type ?label ?definition ?domain ?range ?super WHERE {
  GRAPH <%(graph)s> {
    ?term a ?type ; rdfs:label ?label .
    FILTER (STRSTARTS(STR(?term), "%(tkb)s"))
    OPTIONAL { ?term skos:definition|rdfs:comment ?definition }
    OPTIONAL { ?term rdfs:domain ?domain FILTER (isIRI(?domain)) }
    OPTIONAL { ?term rdfs:range ?range FILTER (isIRI(?range)) }
    OPTIONAL { ?term rdfs:subClassOf|rdfs:subPropertyOf ?super FILTER (isIRI(?super)) }
  }
} ORDER BY ?term
""" % {"graph": ONTOLOGY_GRAPH, "tkb": str(TKB)}
TERM_KINDS = {str(OWL.Class): "Classes", str(OWL.ObjectProperty): "Object properties",
              str(OWL.DatatypeProperty): "Datatype properties", str(OWL.AnnotationProperty): "Annotation properties"}
INDIVIDUALS = "Named individuals (closed lists)"
EXAMPLES = 3  # instances, or uses, shown for each term of the ontology
QUOTE_HITS = 50  # quotes shown for the words searched
ROWS_SHOWN = 1000  # rows of a query's answer on its page (`reports` has 100,000 at 1M triples); downloads hold all
SOURCE_COLUMNS = re.compile(r"^sources?(_[ab])?$")  # result columns that hold article stems
MEDIA_TYPES = {ResultFormat.CSV: "text/csv; charset=utf-8", ResultFormat.TSV: "text/tab-separated-values; charset=utf-8",
               ResultFormat.JSON: "application/sparql-results+json", ResultFormat.MD: "text/markdown; charset=utf-8"}
DOWNLOADS = [fmt for fmt in ResultFormat if fmt.extension]


def cells(table: ResultTable) -> list[dict[str, str]]:
    """A result's rows as {column: text}, an unbound cell as ""."""
    return [{v: (t.value if t is not None else "") for v, t in zip(table.variables, row)} for row in table.rows]


def date_range(day: str, precision: str) -> tuple[str, str | None]:
    """The start and the end (exclusive; None for a day) of a date of some precision, given its first day.

    >>> date_range("2019-07-01", "month"), date_range("2019-07-08", "week"), date_range("2019-07-08", "day")
    (('2019-07-01', '2019-08-01'), ('2019-07-08', '2019-07-15'), ('2019-07-08', None))
    """
    start = dt.date.fromisoformat(day)
    if precision == "week":
        return day, (start + dt.timedelta(days=7)).isoformat()
    if precision == "month":
        return day, (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1).isoformat()
    if precision == "year":
        return day, start.replace(year=start.year + 1, month=1, day=1).isoformat()
    return day, None


class Pages:
    """Renders the site's pages from the knowledge base's store; `source` answers the per-thing
    lookups (kb.site.model). Each whole-knowledge-base question is asked once and its answer kept
    for every page: the store does not change under a site (serve's pages show the knowledge base
    as it was built, whatever --writable updates do to the SPARQL server's copy)."""

    def __init__(self, store: ox.Store, source: Source, project: Path, served: bool = False) -> None:
        self.store = store
        self.project = Path(project)
        self.describer = Describer(source)
        self.source = source
        self.served = served
        self._tables: dict[str, ResultTable] = {}
        self._by_fact: dict[str, dict[str, list[dict[str, str]]]] = {}

    @cached_property
    def environment(self) -> jinja2.Environment:
        environment = jinja2.Environment(loader=jinja2.PackageLoader("kb.site", "templates"),
                                         autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                         undefined=jinja2.StrictUndefined)
        environment.filters["articles"] = self.articles
        environment.globals["page_of"] = page_of
        environment.globals["corpus_name"], environment.globals["corpus_introduction"] = self.corpus
        environment.filters["language_tagged"] = language_tagged
        return environment

    @cached_property
    def corpus(self) -> tuple[str, str]:
        """The corpus's name and introduction, as the site's title and home page say them: the first
        heading of the project's README.md and the paragraph after it (`tradekb init` writes both
        for the user to fill in), so that a corpus about another dispute does not present itself as
        this one; without a README, the project directory's name."""
        readme = self.project / "README.md"
        if not readme.is_file():
            return self.project.resolve().name, ""
        lines = read_text(self.project, readme, ARTICLE_LIMIT).splitlines()
        heading = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
        if heading is None:
            return self.project.resolve().name, ""
        paragraph = []
        for line in lines[heading + 1:]:
            if line.startswith(("#", "```")):  # no paragraph before the next heading or code
                break
            if line.strip():
                paragraph.append(line.strip())
            elif paragraph:
                break
        return lines[heading][2:].strip(), " ".join(paragraph)

    @cached_property
    def queries(self) -> dict[str, SavedQuery]:
        return catalogue(self.project)

    def articles(self, stems: str) -> list[Value]:
        """The articles a cell names by file stem ("000_x; 001_y"), as readers name them."""
        return [Value(self.describer.label(ID + "article/" + stem), ID + "article/" + stem)
                for stem in stems.split(LIST_SEPARATOR) if stem]

    def cell(self, column: str, text: str) -> list[Value]:
        """A result cell as a reader sees it: the articles a `source…` column names by file stem,
        the nodes of the knowledge base an IRI (or a list of them) names, else the text."""
        if SOURCE_COLUMNS.match(column) and text:
            return self.articles(text)
        items = text.split(LIST_SEPARATOR)
        if text.startswith(ID) and all(item.startswith(ID) for item in items):
            return [Value(self.describer.label(item), item) for item in items]
        return [Value(text)]

    def render(self, template: str, page: str, **context) -> Rendered:
        """The template rendered as the page at site path `page`: its links relative to it."""
        def href(target: str) -> str:
            return relative(target, page)

        def link(iri: str) -> str:
            return relative(page_of(iri), page)

        def value(v: Value) -> Markup:
            """A value as HTML: a link to the page of the node it names, if any (a Python function,
            not a macro: there are hundreds on a page, and a macro call costs ten times as much)."""
            return Markup('<a href="{}">{}</a>').format(link(v.iri), language_tagged(v.text)) if v.iri else \
                language_tagged(v.text)

        def values(vs: list[Value], separator: str = ", ") -> Markup:
            return Markup(separator).join(value(v) for v in vs)
        html = self.environment.get_template(template).render(
            page=page, href=href, link=link, value=value, values=values, served=self.served, **context)
        return Rendered(html.encode("utf-8"), HTML)

    def table(self, name: str) -> ResultTable:
        """A saved query's answer without parameters (kept: the store does not change under a site)."""
        if name not in self._tables:
            self._tables[name] = run_query(self.store, saved_query(self.queries, name), {})
        return self._tables[name]

    def optional(self, name: str) -> list[dict[str, str]]:
        """The rows of a saved query a page can do without: none if the project lacks it."""
        return cells(self.table(name)) if name in self.queries else []

    def _ask(self, text: str) -> list[dict[str, str]]:
        if text not in self._tables:
            self._tables[text] = run_sparql(self.store, text)
        return cells(self._tables[text])

    def rows_about(self, name: str, fact: str) -> list[dict[str, str]]:
        """The rows of a saved query whose ?fact is `fact`: the query is asked once, for every fact,
        and its rows kept by fact. (Asked with ?fact bound, `conflicts` and `corroboration` still
        evaluate their subqueries for every fact: 0.9 s a page at a million triples, where the
        whole answer takes 1 s once.)"""
        if name not in self.queries:
            return []
        if name not in self._by_fact:
            grouped = defaultdict(list)
            for row in cells(self.table(name)):
                grouped[row["fact"]].append(row)
            self._by_fact[name] = grouped
        return self._by_fact[name].get(fact, [])

    def thing(self, iri: str, suffix: str = "html") -> Rendered | None:
        """A thing's page, or its RDF in the format of `suffix`; None if there is no such thing."""
        if suffix == "html":
            return self._thing_page(iri)
        rdf = next((f for f in RDF_FILES if f.suffix == suffix), None)
        triples = thing_triples(self.source, iri) if rdf else []
        return Rendered(_serialize(triples, rdf.rdf_format), rdf.media_type) if triples else None

    def thing_files(self, iri: str) -> dict[str, Rendered]:
        """A thing's page and its RDF in every format, by file suffix, its triples gathered once
        (what the static site writes); {} if there is no such thing."""
        page = self._thing_page(iri)
        if page is None:
            return {}
        triples = thing_triples(self.source, iri)
        return {"html": page, **{f.suffix: Rendered(_serialize(triples, f.rdf_format), f.media_type) for f in RDF_FILES}}

    def _thing_page(self, iri: str) -> Rendered | None:
        """A thing's page, with the thing's own statements (it as subject) embedded as JSON-LD; its
        whole part, reports and evidence included, is in its .jsonld (a government of the 1M
        corpus has 1.5 MB of it)."""
        article = self.describer.article(iri) if iri.startswith(ID + "article/") else None
        view = article.thing if article else self.describer.thing(iri)
        if view is None:
            return None
        jsonld = _serialize(thing_triples(self.source, iri, whole=False), ox.RdfFormat.JSON_LD)
        facts_of_span = {}
        if article:
            facts_of_span = {s.anchor: (f"fact-{n}", r.fact.text, n) for n, r in enumerate(article.facts, 1)
                             for s in r.spans}
            facts_of_span.update({s.anchor: ("fact-date", "the article's date", "d") for s in article.date_evidence})
        corroboration = None if article else next(iter(self.rows_about("corroboration", iri)), None)
        conflicts = [] if article else self.rows_about("conflicts", iri)
        return self.render("article.html" if article else "thing.html", f"id/{iri[len(ID):]}.html", thing=view,
                           article=article, facts_of_span=facts_of_span, corroboration=corroboration,
                           conflicts=conflicts, jsonld=json_for_script(jsonld.decode("utf-8")), rdf_files=RDF_FILES,
                           stem=iri.rsplit("/", 1)[-1])

    # The pages at fixed paths: each takes the request's parameters (none, in the static site).

    def home(self, params: dict[str, str]) -> Rendered:
        kinds = Counter(row["kind"] for row in self._ask(NAMES))
        return self.render("index.html", "index.html", kinds=sorted(kinds.items()),
                           articles=self.optional("articles"), n_conflicts=len(self.optional("conflicts")))

    def names(self) -> list[dict]:
        """Every named thing, and every article, for the search index and the list of names."""
        found = [{"label": row["label"], "kind": row["kind"], "iri": row["thing"],
                  "aliases": [a for a in row["aliases"].split("\u001f") if a]} for row in self._ask(NAMES)]
        for row in self.optional("articles"):
            article = self.articles(row["source"])[0]
            found.append({"label": article.text, "kind": "Article", "iri": article.iri,
                          "aliases": [a for a in (row["title"], row["source"]) if a]})
        return found

    @cached_property
    def name_index(self) -> "NameIndex":
        return NameIndex(self.names())

    @cached_property
    def folded_quotes(self) -> list[tuple[str, dict[str, str]]]:
        return [(row["exact"].casefold(), row) for row in self._ask(QUOTES)]

    def search(self, params: dict[str, str]) -> Rendered:
        """Served with a query (q), its matches; else (and in the written site, where a script
        searches) the list of every name, which is also the page's answer without JavaScript."""
        wanted = params.get("q", "").strip()
        hits, quotes, by_kind = [], [], defaultdict(list)
        if wanted and self.served:
            hits = self.name_index.search(wanted)
            first, *rest = wanted.casefold().split()
            quotes = list(islice((row for text, row in self.folded_quotes
                                  if first in text and all(w in text for w in rest)), QUOTE_HITS))
        else:
            for name in self.names():
                by_kind[name["kind"]].append(name)
        return self.render("search.html", "search.html", wanted=wanted, hits=hits, quotes=quotes,
                           by_kind=sorted(by_kind.items()))

    def search_names(self, params: dict[str, str]) -> Rendered:
        """The names, for the search page's script (the static site has no server to ask). A script
        that sets a variable, not a JSON file: a page opened from file:// may load a script but
        not fetch a file."""
        index = [{"l": n["label"], "a": n["aliases"], "k": n["kind"], "h": page_of(n["iri"])} for n in self.names()]
        return _script_data("tradekbNames", index)

    def search_quotes(self, params: dict[str, str]) -> Rendered:
        """Every quote, for the search page's script: loaded only when words are searched for."""
        index = [{"q": row["exact"], "f": self.describer.label(row["fact"]), "h": page_of(row["span"])}
                 for row in self._ask(QUOTES)]
        return _script_data("tradekbQuotes", index)

    def timeline_data(self) -> dict:
        """Every dated fact (the saved query `timeline`) as timeline items: a week, month or year
        as the span it is; and, for a fact whose articles give different statuses (planned in one,
        held in a later one), each article's claim as an item of its own."""
        actors = defaultdict(list)
        for row in self._ask(ACTORS_OF_FACTS):
            actors[row["fact"]].append(row["label"])
        items = []
        for row in cells(self.table("timeline")):
            start, end = date_range(row["date"], row["precision"] or "day")
            items.append({"id": len(items), "group": "summary", "content": row["label"], "start": start, "end": end,
                          "kind": row["kind"], "status": row["status"], "precision": row["precision"] or "day",
                          "actors": actors[row["fact"]], "href": page_of(row["fact"]),
                          "sources": [a.text for a in self.articles(row["sources"])]})
        dated = {row["fact"]: row for row in cells(self.table("timeline"))}
        claims = defaultdict(list)
        for row in self.optional("reports"):
            if row["fact"] in dated and row["status"]:
                claims[row["fact"]].append(row)
        for fact, rows in claims.items():
            if len({r["status"] for r in rows}) < 2:
                continue
            for r in rows:
                day = r["date"] or dated[fact]["date"]
                article = self.articles(r["source"])[0].text
                items.append({"id": len(items), "group": "reported", "content": f"{r['label']}: {r['status']} ({article})",
                              "start": day, "end": None, "kind": dated[fact]["kind"], "status": r["status"],
                              "precision": "day", "actors": actors[fact], "href": page_of(r["report"]),
                              "sources": [article]})
        return {"items": items, "groups": [{"id": "summary", "content": "What happened (summary)"},
                                           {"id": "reported", "content": "As each article reported it"}]}

    def timeline(self, params: dict[str, str]) -> Rendered:
        data = self.timeline_data()
        facets = {key: sorted({i[key] for i in data["items"] if i[key]}) for key in ("kind", "status")}
        facets["actor"] = sorted({a for i in data["items"] for a in i["actors"]})
        return self.render("timeline.html", "timeline.html", data=data, facets=facets,
                           data_json=json_for_script(data))

    def network_data(self) -> dict:
        """Who met whom (the saved query `network`), with the shared meetings' dates and statuses
        (the saved query `meetings`), for the network page to filter."""
        graph = network_graph(network_table(self.store, self.project))
        meetings = {row["meeting"]: {"label": row["label"], "date": row["date"], "status": row["status"],
                                     "precision": row["precision"], "href": page_of(row["meeting"])}
                    for row in cells(self.table("meetings"))}
        nodes = [{"id": node, "label": data["label"], "href": page_of(node)} for node, data in graph.nodes(data=True)]
        edges = [{"id": f"{a} {b}", "source": a, "target": b, "weight": data["weight"], "statuses": data["statuses"],
                  "meetings": data["meetings"].split(LIST_SEPARATOR)} for a, b, data in graph.edges(data=True)]
        return {"nodes": nodes, "edges": edges, "meetings": meetings}

    def network(self, params: dict[str, str]) -> Rendered:
        data = self.network_data()
        statuses = sorted({m["status"] for m in data["meetings"].values() if m["status"]})
        labels = {n["id"]: n["label"] for n in data["nodes"]}
        return self.render("network.html", "network.html", data=data, labels=labels, statuses=statuses,
                           data_json=json_for_script(data), formats=list(NetworkFormat))

    def network_download(self, fmt: NetworkFormat) -> Callable[[dict[str, str]], Rendered]:
        def render(params: dict[str, str]) -> Rendered:
            graph = network_graph(network_table(self.store, self.project))
            return Rendered(network_file(graph, fmt), fmt.media_type)
        return render

    def disagreements(self, params: dict[str, str]) -> Rendered:
        return self.render("disagreements.html", "disagreements.html", rows=cells(self.table("conflicts")))

    def sources(self, params: dict[str, str]) -> Rendered:
        rows = cells(self.table("articles"))
        return self.render("sources.html", "sources.html", rows=rows)

    def query_index(self, params: dict[str, str]) -> Rendered:
        return self.render("queries.html", "queries/index.html", queries=list(self.queries.values()))

    def query_page(self, name: str, params: dict[str, str], fmt: ResultFormat | None = None) -> Rendered | None:
        """A saved query's page for the parameters given (its form alone until they are all
        given), or with `fmt` its answer as a download (QueryError if a parameter names nothing)."""
        query = self.queries.get(name)
        if query is None:
            return None
        complete = all(p.name in params for p in query.parameters)

        def answer() -> ResultTable:
            return run_query(self.store, query, params) if query.parameters else self.table(name)
        if fmt is not None:
            return Rendered(format_results(answer(), fmt).encode("utf-8"), MEDIA_TYPES[fmt]) if complete else None
        table, error = None, None
        if complete:
            try:
                table = answer()
            except QueryError as e:
                error = str(e)
        rows = cells(ResultTable(table.variables, table.rows[:ROWS_SHOWN])) if table else []
        return self.render("query.html", f"queries/{name}.html", query=query, params=params, table=table,
                           rows=rows, error=error, downloads=DOWNLOADS, cell=self.cell,
                           query_string=urlencode(params))

    def sparql(self, params: dict[str, str]) -> Rendered:
        return self.render("sparql.html", "sparql.html")

    @cached_property
    def _ontology(self) -> list[tuple[str, list[dict]]]:
        """The ontology's terms by kind, each with label, definition, domains, ranges, parents and
        examples from the data (asked once: the ontology does not change under a site)."""
        terms: dict[str, dict] = {}
        for row in self._ask(ONTOLOGY_TERMS):
            term = terms.setdefault(row["term"], {"iri": row["term"], "name": row["term"][len(str(TKB)):],
                                                  "label": row["label"], "definition": row["definition"],
                                                  "types": set(), "domain": set(), "range": set(), "super": set()})
            term["types"].add(row["type"])
            for key in ("domain", "range", "super"):
                if row[key]:
                    term[key].add(row[key])
        sections = defaultdict(list)
        for term in terms.values():
            kind = next((TERM_KINDS[t] for t in sorted(term["types"]) if t in TERM_KINDS), INDIVIDUALS)
            node = ox.NamedNode(term["iri"])
            if kind == "Classes":
                uses = self.store.quads_for_pattern(None, ox.NamedNode(str(RDF.type)), node, None)
                term["examples"] = [[Value(self.describer.label(q.subject.value), q.subject.value)] for q in
                                    islice((q for q in uses if is_thing(q.subject.value)), EXAMPLES)]
            elif kind == INDIVIDUALS:
                uses = self.store.quads_for_pattern(None, None, node, None)
                term["examples"] = [[self.describer.value(q.subject), Value(self.describer.label(q.predicate.value))]
                                    for q in islice((q for q in uses if q.graph_name != ox.NamedNode(ONTOLOGY_GRAPH)),
                                                    EXAMPLES)]
            else:
                uses = self.store.quads_for_pattern(None, node, None, None)
                term["examples"] = [[self.describer.value(q.subject), self.describer.value(q.object)]
                                    for q in islice(uses, EXAMPLES)]
            for key in ("domain", "range", "super"):
                term[key] = [Value(self.describer.label(v), v) for v in sorted(term[key])]
            sections[kind].append(term)
        order = [*TERM_KINDS.values(), INDIVIDUALS]
        return [(kind, sorted(sections[kind], key=lambda t: t["name"])) for kind in order if sections[kind]]

    def ontology(self, params: dict[str, str]) -> Rendered:
        return self.render("ontology.html", "ontology.html", sections=self._ontology)

    def fixed(self) -> dict[str, Callable[[dict[str, str]], Rendered]]:
        """The pages at fixed paths, by path."""
        pages = {"index.html": self.home, "search.html": self.search, "search-names.js": self.search_names,
                 "search-quotes.js": self.search_quotes, "timeline.html": self.timeline, "network.html": self.network,
                 "disagreements.html": self.disagreements, "sources.html": self.sources,
                 "queries/index.html": self.query_index, "sparql.html": self.sparql, "ontology.html": self.ontology}
        for fmt in NetworkFormat:
            pages[f"network.{fmt.extension}"] = self.network_download(fmt)
        return pages

    def page(self, path: str, params: dict[str, str]) -> Rendered | None:
        """The page at site path `path` other than a thing's (those are `thing`), or None."""
        render = self.fixed().get(path)
        if render is not None:
            return render(params)
        if path.startswith("queries/") and "/" not in path[len("queries/"):]:
            name, _, extension = path[len("queries/"):].rpartition(".")
            if extension == "html":
                return self.query_page(name, params)
            fmt = next((f for f in DOWNLOADS if f.extension == extension), None)
            return self.query_page(name, params, fmt) if fmt else None
        return None

    def site_pages(self, say: Callable[[str], None] = lambda _: None) -> Iterator[tuple[str, Rendered]]:
        """Every page but the things' own, as (site path, Rendered): what the static site holds,
        with each saved query's page and, for those without parameters, its answer in every format."""
        for path, render in self.fixed().items():
            try:
                yield path, render({})
            except MissingQuery as missing:
                say(f"no {path}: {missing}")
        for path, render in self.query_pages().items():
            yield path, render({})

    def query_pages(self) -> dict[str, Callable[[dict[str, str]], Rendered]]:
        """Each saved query's page and, for those without parameters, its answer in every format,
        by path."""
        pages = {}
        for name, query in self.queries.items():
            pages[f"queries/{name}.html"] = partial(self.query_page, name)
            if not query.parameters:
                for fmt in DOWNLOADS:
                    pages[f"queries/{name}.{fmt.extension}"] = partial(self.query_page, name, fmt=fmt)
        return pages


class NameIndex:
    """Names and aliases, folded for search: `search` finds a name in any case, whole or in part,
    or spelled a little differently (difflib's close matches, as `did you mean` finds them: its
    quick upper bounds spare most of the exact comparisons, 20,000 names in a few milliseconds).

    >>> [n["label"] for n in NameIndex([{"label": "Kim Hyun-chong", "aliases": [], "iri": "x"}]).search("kim hyun chong")]
    ['Kim Hyun-chong']
    """

    def __init__(self, names: list[dict]) -> None:
        self.by_text: dict[str, list[dict]] = defaultdict(list)
        for name in names:
            for text in dict.fromkeys(t.casefold() for t in [name["label"], *name["aliases"]]):
                self.by_text[text].append(name)

    def search(self, wanted: str, limit: int = 20) -> list[dict]:
        folded = wanted.casefold()
        containing = sorted((text for text in self.by_text if folded in text), key=lambda t: (len(t), t))
        close = difflib.get_close_matches(folded, self.by_text, n=limit, cutoff=0.6)
        found: dict[str, dict] = {}
        for text in [*containing, *close]:
            for name in self.by_text[text]:
                found.setdefault(name["iri"], name)
        return list(found.values())[:limit]


def _script_data(name: str, data) -> Rendered:
    """A script that sets window.`name` to `data`."""
    return Rendered(f"window.{name} = {json_for_script(data)};\n".encode("utf-8"), "text/javascript; charset=utf-8")


def _serialize(triples: list[ox.Triple], rdf_format: ox.RdfFormat) -> bytes:
    prefixes = PREFIX_IRIS if rdf_format is ox.RdfFormat.TURTLE else None
    return ox.serialize(triples, format=rdf_format, prefixes=prefixes) if prefixes else \
        ox.serialize(triples, format=rdf_format)


def static_files() -> list[tuple[str, Path]]:
    """The site's own CSS and scripts and the vendored libraries: (site path, file)."""
    root = Path(__file__).parent / "static"
    return sorted((f"static/{path.relative_to(root).as_posix()}", path) for path in root.rglob("*") if path.is_file())
