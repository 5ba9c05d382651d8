"""Turn checked annotation records into RDF: one named graph per article, deterministic IRIs.

Every node minted here is remembered with the annotation file and line it came from, so that a
SHACL violation can point a person back to what to fix.

Graphs: `id/graph/registry` (shared definitions), `id/graph/<article stem>` (the article, its reports
and evidence, and the things only it defines), `id/graph/derived` (summary values computed from the
reports), `id/graph/ontology` (the ontology, so that the export is self-contained).
"""

from __future__ import annotations

from datetime import datetime, time, timezone
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox

from rdflib import OWL, RDF, RDFS, XSD, Dataset, Graph, Namespace, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import DCTERMS, ORG, PROV, SKOS, TIME

from kb.annotations import Article, Corpus, Definition, Quote, Report
from kb.dates import PRECISIONS, ResolvedDate, zone
from kb.errors import Location
from kb.inputfiles import read_turtle
from kb.terms import to_oxigraph_term as _ox, to_rdflib_term

TKB = Namespace("https://w3id.org/tradekb/ontology#")
KBID = Namespace("https://w3id.org/tradekb/id/")
OA = Namespace("http://www.w3.org/ns/oa#")
SCHEMA = Namespace("https://schema.org/")
PREFIXES = {"tkb": TKB, "kbid": KBID, "oa": OA, "schema": SCHEMA, "dcterms": DCTERMS, "org": ORG,
            "prov": PROV, "skos": SKOS, "time": TIME, "rdf": RDF, "rdfs": RDFS, "owl": OWL, "xsd": XSD}

ONTOLOGY_FILE = Path("ontology") / "tradekb.ttl"
CLASS_OF_TYPE = {
    "Person": TKB.Person, "Organization": TKB.Organization, "Government": TKB.Government,
    "Place": TKB.Place, "Product": TKB.Product, "Topic": TKB.Topic, "Membership": ORG.Membership,
    "Statement": TKB.Statement,
    "Talks": TKB.Talks, "PhoneCall": TKB.PhoneCall, "Visit": TKB.Visit, "Briefing": TKB.Briefing,
    "MultilateralMeeting": TKB.MultilateralMeeting,
    "ExportControl": TKB.ExportControl, "ListRemoval": TKB.ListRemoval, "WTOAction": TKB.WTOAction,
    "DisputeAction": TKB.DisputeAction,
}
STATUS = {
    "meetings": {"held": TKB.Held, "ongoing": TKB.Ongoing, "planned": TKB.Planned, "proposed": TKB.Proposed,
                 "unconfirmed": TKB.Unconfirmed, "declined": TKB.Declined, "cancelled": TKB.Cancelled},
    "measures": {"in-force": TKB.InForce, "planned": TKB.MeasurePlanned, "proposed": TKB.MeasureProposed,
                 "taken": TKB.Taken, "withdrawn": TKB.Withdrawn},
}
MODE = {"direct-quote": TKB.DirectQuote, "reported-speech": TKB.ReportedSpeech, "denial": TKB.Denial,
        "refusal-to-comment": TKB.RefusalToComment, "allegation": TKB.Allegation}
# A statement's summary mode: what it is (denial, refusal, allegation) wins over how it is rendered.
MODE_PRECEDENCE = ("denial", "refusal-to-comment", "allegation", "direct-quote", "reported-speech")
PRECISION_UNIT = {"day": TIME.unitDay, "week": TIME.unitWeek, "month": TIME.unitMonth, "year": TIME.unitYear}
# Definition keys -> (property, is the value an id?)
DEFINITION_PROPERTIES = {
    "part_of": ORG.subOrganizationOf, "within": SCHEMA.containedInPlace,
    "person": ORG.member, "organization": ORG.organization,
    "participants": TKB.participant, "place": TKB.place, "topics": TKB.topic,
    "imposer": TKB.imposedBy, "target": TKB.imposedOn, "products": TKB.product,
    "speaker": TKB.speaker, "about": TKB.about, "denies": TKB.denies,
}
WORDS_JOINER = " … "  # between the pieces of one article's words, in tkb:words
DATE_PROPERTIES = {"date": (TKB.reportedDate, TKB.date), "end": (TKB.reportedEndDate, TKB.endDate),
                   "effective": (TKB.reportedEffectiveDate, TKB.effectiveDate)}


def report_iri(stem: str, fact: str) -> URIRef:
    return KBID[f"report/{stem}/{fact}"]


def graph_iri(name: str) -> URIRef:
    return KBID[f"graph/{name}"]


class KnowledgeBase:
    """The built graph in an in-memory Oxigraph store (one named graph per article), and where
    each node came from.

    The store is the one copy of the data: the saved queries, the compiled SHACL checks and the
    exports read it directly. The builder adds quads in an order fixed by the annotations, and an
    in-memory store's order follows from the order quads were added, so exports are byte-stable
    (an on-disk store has an order of its own, fixed by content). An rdflib view is made on
    demand for pySHACL and for users of rdflib's API.
    """

    def __init__(self, store: ox.Store, origins: dict[str, Location], corpus: Corpus | None = None) -> None:
        self.store = store
        self.origins = origins
        self.corpus = corpus  # the annotations it was built from, if built in this process

    def __len__(self) -> int:
        return len(self.store)

    @property
    def graph_names(self) -> list[str]:
        return sorted(g.value for g in self.store.named_graphs())

    def quads(self, graph: str | None = None):
        """The quads of one named graph, or of all."""
        return self.store.quads_for_pattern(None, None, None, None if graph is None else ox.NamedNode(graph))

    @cached_property
    def dataset(self) -> Dataset:
        """An rdflib Dataset with the same named graphs (built once, on first use)."""
        dataset = Dataset()
        for prefix, namespace in PREFIXES.items():
            dataset.bind(prefix, namespace)
        for name in self.graph_names:
            graph = dataset.graph(URIRef(name))
            graph.addN((to_rdflib_term(q.subject), to_rdflib_term(q.predicate), to_rdflib_term(q.object), graph)
                       for q in self.quads(name))
        return dataset

    def union(self) -> Graph:
        """All named graphs merged into a new plain rdflib graph (what Turtle, SHACL and HermiT see)."""
        merged = Graph()
        for prefix, namespace in PREFIXES.items():
            merged.bind(prefix, namespace)
        merged.addN((to_rdflib_term(q.subject), to_rdflib_term(q.predicate), to_rdflib_term(q.object), merged)
                    for q in self.quads())
        return merged

    def triples(self) -> list[ox.Triple]:
        """The union as pyoxigraph triples, without duplicates, in a stable order."""
        return list(dict.fromkeys(ox.Triple(q.subject, q.predicate, q.object) for q in self.quads()))

    def origin(self, node: URIRef | str) -> Location | None:
        """The annotation file and line that produced `node` (an IRI)."""
        return self.origins.get(str(node))


def load_ontology(project: Path) -> Graph:
    """The project's ontology (ontology/tradekb.ttl), its blank nodes canonically named.

    Canonical labels (a hash of each blank node's surroundings) keep exports byte-identical
    from one build to the next, where a parser would mint new random labels every time.
    """
    return to_canonical_graph(read_turtle(project, ONTOLOGY_FILE))


# The builder writes N-Quads lines and the store parses them in batches: a term as a string costs
# a fraction of a pyoxigraph object (at a million quads, 5 s against 10 s, store included).
# A term here is its N-Triples form: "<iri>", or a quoted literal.

class _Terms:
    """The IRIs of a namespace in N-Triples form, made once each."""

    def __init__(self, namespace: Namespace) -> None:
        self._base = str(namespace)

    def __getattr__(self, name: str) -> str:
        node = f"<{self._base}{name}>"
        setattr(self, name, node)
        return node


_T, _OA, _RDF, _RDFS, _SKOS, _DCT, _SCHEMA, _XSD = (
    _Terms(ns) for ns in (TKB, OA, RDF, RDFS, SKOS, DCTERMS, SCHEMA, XSD))
_KBID = str(KBID)


def _text(value: str) -> str:
    """A string literal; N-Triples needs only these four characters escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def _typed(lexical: str, datatype: str) -> str:
    return f'"{lexical}"^^{datatype}'


def _date(value) -> str:
    return _typed(value.isoformat(), _XSD.date)


def _nt(term) -> str:
    """The N-Triples form of an rdflib IRI."""
    return f"<{term}>"


def _iri(node: str) -> str:
    """The IRI inside an N-Triples IRI term."""
    return node[1:-1]


def _below(node: str, path: str) -> str:
    """The IRI `path` below an IRI node: <x> -> <x/path>."""
    return f"{node[:-1]}/{path}>"


class _NamedGraph:
    """Collects one named graph's triples as N-Quads lines."""

    def __init__(self, name: str, out: list[str]) -> None:
        self.name = _nt(name)
        self.out = out

    def add(self, s: str, p: str, o: str) -> None:
        self.out.append(f"{s} {p} {o} {self.name} .\n")


# Lines are parsed into the store in batches of this many quads, to keep the text small beside
# the store itself.
BATCH = 200_000


class _Builder:
    def __init__(self, corpus: Corpus, ontology: Graph | None) -> None:
        self.corpus = corpus
        self.store = ox.Store()
        self.quads: list[str] = []
        self.graphs: dict[str, _NamedGraph] = {}
        self.origins: dict[str, Location] = {}
        self.iris: dict[str, str] = {}
        self.status = {section: {k: _nt(v) for k, v in values.items()} for section, values in STATUS.items()}
        self.mode = {k: _nt(v) for k, v in MODE.items()}
        self.unit = {k: _nt(v) for k, v in PRECISION_UNIT.items()}
        self.classes = {k: _nt(v) for k, v in CLASS_OF_TYPE.items()}
        self.properties = {k: _nt(v) for k, v in DEFINITION_PROPERTIES.items()}
        self.dates = {k: (_nt(a), _nt(b)) for k, (a, b) in DATE_PROPERTIES.items()}
        if ontology is not None:
            ontology_graph = ox.NamedNode(str(graph_iri("ontology")))  # blank nodes, language tags: as terms
            self.store.extend(ox.Quad(_ox(s), _ox(p), _ox(o), ontology_graph) for s, p, o in sorted(ontology))

    def graph(self, name: str) -> _NamedGraph:
        if name not in self.graphs:
            self.graphs[name] = _NamedGraph(str(graph_iri(name)), self.quads)
        return self.graphs[name]

    def iri(self, path: str) -> str:
        """The node for an id (or `article/<stem>`), made once."""
        node = self.iris.get(path)
        if node is None:
            node = self.iris[path] = f"<{_KBID}{path}>"
        return node

    def flush(self, at_least: int = 0) -> None:
        if len(self.quads) >= at_least:
            # lenient: the IRIs are made here from checked ids and file names, and checking each
            # again costs 40% of the load
            self.store.load("".join(self.quads), format=ox.RdfFormat.N_QUADS, lenient=True)
            self.quads.clear()

    def build(self, graphs: set[str] | None = None) -> KnowledgeBase:
        """The graph of the whole corpus, or only the named graphs of the articles (and registry)
        in `graphs`, without the ontology and derived graphs. A graph's quads are added in the same
        relative order either way, so its store order, and so its export, is the same."""
        for stem in sorted(self.corpus.articles):
            if graphs is None or stem in graphs:
                self.article(stem)
        for fact in sorted(self.corpus.definitions):
            if graphs is None or self.corpus.definitions[fact].graph in graphs:
                self.definition(self.corpus.definitions[fact])
                self.flush(BATCH)
        for report in self.corpus.reports:
            if graphs is None or report.article in graphs:
                self.report(report)
                self.flush(BATCH)
        self.flush()
        if graphs is None:
            add_derived(self.store, (summary_lines(d, self.corpus.reports_of(d.id), self.corpus.articles)
                                     for d in self.corpus.definitions.values()))
        return KnowledgeBase(self.store, self.origins, self.corpus)

    def article(self, stem: str) -> None:
        article = self.corpus.articles[stem]
        g, node = self.graph(stem), self.iri(f"article/{stem}")
        self.origins[_iri(node)] = article.location
        g.add(node, _RDF.type, _T.Article)
        g.add(node, _DCT.identifier, _text(stem))
        g.add(node, _SCHEMA.text, _text(article.text))
        g.add(node, _T.timeZone, _text(article.timezone))
        g.add(node, _T.dateBasis, _text(article.date_basis))
        if article.title:
            g.add(node, _DCT.title, _text(article.title.exact))
        if article.published:
            g.add(node, _DCT.issued, _date(article.published))
        if article.publisher:
            g.add(node, _DCT.publisher, self.iri(article.publisher))
        if article.publisher_basis:
            g.add(node, _T.publisherBasis, _text(article.publisher_basis))
        for wire in article.wire_services:
            g.add(node, _T.wireService, self.iri(wire))
        for author in article.authors:
            g.add(node, _DCT.creator, self.iri(author))
        for n, quote in enumerate(article.date_evidence, 1):
            span = _below(node, f"date-evidence/{n}")
            self.span(g, span, node, quote, article.location)
            g.add(node, _T.dateEvidence, span)

    def definition(self, d: Definition) -> None:
        g, node = self.graph(d.graph), self.iri(d.id)
        self.origins[_iri(node)] = d.location
        g.add(node, _RDF.type, self.classes[d.type])
        g.add(node, _RDFS.label, _text(d.label))
        for alias in d.aliases:
            g.add(node, _SKOS.altLabel, _text(alias))
        if d.section == "topics":
            g.add(node, _RDF.type, _SKOS.Concept)
            g.add(node, _SKOS.prefLabel, _text(d.label))
            g.add(node, _SKOS.definition, _text(d.fields["definition"]))
            g.add(node, _SKOS.inScheme, _T.topics)
        if "country" in d.fields:
            g.add(node, _T.countryName, _text(d.fields["country"]))
        if "timezone" in d.fields:
            g.add(node, _T.timeZone, _text(d.fields["timezone"]))
        for key, value in d.fields.items():
            prop = _T.partOf if (key == "part_of" and d.section == "meetings") else self.properties.get(key)
            if prop is None:
                continue
            for target in value if isinstance(value, list) else [value]:
                g.add(node, prop, self.iri(target))

    def report(self, r: Report) -> None:
        g, node = self.graph(r.article), f"<{_KBID}report/{r.article}/{r.fact}>"
        self.origins[_iri(node)] = r.location
        article = self.iri(f"article/{r.article}")
        g.add(node, _RDF.type, _T.Report)
        g.add(node, _T.reportOf, self.iri(r.fact))
        g.add(node, _T.inArticle, article)
        for n, quote in enumerate(r.quotes, 1):
            span = _below(node, f"span/{n}")
            self.span(g, span, article, quote, r.location)
            g.add(node, _OA.hasTarget, span)
        if r.quotes:
            g.add(node, _T.words, _text(words(r.quotes)))
        for path, quotes, purpose in (("attribution", r.attribution, _T.attributing),
                                      ("date-evidence", r.date_evidence, _T.dating)):
            for n, quote in enumerate(quotes, 1):
                span = _below(node, f"{path}/{n}")
                self.span(g, span, article, quote, r.location)
                g.add(span, _OA.hasPurpose, purpose)
                g.add(node, _OA.hasTarget, span)
        claims = r.claims
        status = self.status.get(r.section, {}).get(claims.get("status"))
        if status is not None:
            g.add(node, _T.reportedStatus, status)
        if claims.get("mode") in self.mode:
            g.add(node, _T.reportedMode, self.mode[claims["mode"]])
        if r.section == "roles":
            g.add(node, _T.reportedTitle, _text(claims.get("title", "")))
            g.add(node, _T.reportedActing, _typed("true" if claims.get("acting") else "false", _XSD.boolean))
        for key, prop in (("justification", _T.reportedJustification), ("audience", _T.audience),
                          ("waits_on", _T.waitsOn)):
            if key in claims:
                g.add(node, prop, _text(claims[key]))
        for key, prop in (("via", _T.via), ("cites", _T.citesOutlet)):
            if key in claims:
                g.add(node, prop, self.iri(claims[key]))
        for key, resolved in r.dates.items():
            date_node = _below(node, key)
            g.add(node, self.dates[key][0], date_node)
            self.resolved_date(g, date_node, resolved)

    def span(self, g: _NamedGraph, span: str, article: str, quote: Quote, location: Location) -> None:
        """A Web Annotation SpecificResource with a quote selector and a position selector."""
        by_quote, by_position = _below(span, "quote"), _below(span, "position")
        g.add(span, _RDF.type, _T.EvidenceSpan)
        g.add(span, _RDF.type, _OA.SpecificResource)
        g.add(span, _OA.hasSource, article)
        g.add(span, _OA.hasSelector, by_quote)
        g.add(span, _OA.hasSelector, by_position)
        g.add(by_quote, _RDF.type, _OA.TextQuoteSelector)
        g.add(by_quote, _OA.exact, _text(quote.exact))
        g.add(by_quote, _OA.prefix, _text(quote.prefix))
        g.add(by_quote, _OA.suffix, _text(quote.suffix))
        g.add(by_position, _RDF.type, _OA.TextPositionSelector)
        # xsd:integer, not the vocabulary's xsd:nonNegativeInteger: Oxigraph stores the latter as the
        # former anyway, and the values are the same; SHACL checks that they are not negative.
        g.add(by_position, _OA.start, _typed(str(quote.start), _XSD.integer))
        g.add(by_position, _OA.end, _typed(str(quote.end), _XSD.integer))

    def resolved_date(self, g: _NamedGraph, node: str, d: ResolvedDate) -> None:
        g.add(node, _RDF.type, _T.ResolvedDate)
        g.add(node, _T.dateValue, _date(d.value))
        g.add(node, _T.datePrecision, self.unit[d.precision])
        if d.expression is not None:
            g.add(node, _T.dateExpression, _text(d.expression))
        if d.anchor is not None:
            g.add(node, _T.dateAnchor, _date(d.anchor))
        if d.basis is not None:
            g.add(node, _T.valueBasis, _text(d.basis))
        g.add(node, _T.toldInTimeZone, _text(d.tz))
        g.add(node, _T.statedInTimeZone, _text(d.stated_in))


def words(quotes: list[Quote]) -> str:
    """What one article prints of a report's words: its pieces in the article's order, each once.

    >>> from kb.annotations import Quote
    >>> words([Quote("b", 9, 10, "", ""), Quote("a", 0, 1, "", ""), Quote("b", 9, 10, "", "")])
    'a … b'
    """
    return WORDS_JOINER.join(q.exact for q in sorted({(q.start, q.end): q for q in quotes}.values(),
                                                       key=lambda q: (q.start, q.end)))


def add_derived(store: ox.Store, lines: Iterable[list[str]]) -> None:
    """Add the derived graph (summary_lines of each fact) to `store`, in sorted order: a rebuild
    that derives some facts' summaries again puts the graph back in the same order."""
    store.load("".join(sorted(line for some in lines for line in some)), format=ox.RdfFormat.N_QUADS, lenient=True)


def _recency(report: Report, articles: dict[str, Article]) -> tuple:
    """When the report's article appeared, for ordering: its day at noon in its own zone, so that
    11 July in Seoul comes before 11 July in Washington."""
    article = articles[report.article]
    return (datetime.combine(article.published, time(12), tzinfo=zone(article.timezone)).astimezone(timezone.utc),
            report.article)


_DERIVED = f" <{graph_iri('derived')}> .\n"
_SUMMARY_STATUS = {section: {k: _nt(v) for k, v in values.items()} for section, values in STATUS.items()}


# The sections whose things have summary values: a status, a mode or dates (kb.annotations.SECTIONS).
SUMMARISED = ("meetings", "measures", "statements")


def summary_lines(d: Definition, reports: list[Report], articles: dict[str, Article]) -> list[str]:
    """Summary values on a thing, derived from its reports (which keep every source's claim), as
    N-Quads lines of the derived graph. `articles` needs only the reports' articles."""
    if d.section not in SUMMARISED or not reports:
        return []
    reports = sorted(reports, key=lambda r: _recency(r, articles))
    node, out = f"<{_KBID}{d.id}>", []
    statuses = [r.claims["status"] for r in reports if r.claims.get("status") in STATUS.get(d.section, {})]
    if statuses:
        out.append(f"{node} {_T.status} {_SUMMARY_STATUS[d.section][statuses[-1]]}{_DERIVED}")
    modes = {r.claims.get("mode") for r in reports}
    for mode in MODE_PRECEDENCE:
        if mode in modes:
            out.append(f"{node} {_T.statementMode} {_nt(MODE[mode])}{_DERIVED}")
            break
    for key, (_, prop) in DATE_PROPERTIES.items():
        dated = [r.dates[key] for r in reports if key in r.dates]
        if not dated:
            continue
        # The most precise date wins; among equally precise ones, the most recent article's.
        best = min(reversed(dated), key=lambda x: PRECISIONS.index(x.precision))
        out.append(f"{node} {_nt(prop)} {_date(best.value)}{_DERIVED}")
        if key == "date":
            out.append(f"{node} {_T.datePrecision} {_nt(PRECISION_UNIT[best.precision])}{_DERIVED}")
    return out


def build_graph(corpus: Corpus, ontology: Graph, keep_corpus: bool = False) -> KnowledgeBase:
    """The knowledge base for `corpus`, with the `ontology` in its own named graph; it keeps the
    corpus (KnowledgeBase.corpus) only if asked: at a million triples that is 120 MB."""
    kb = _Builder(corpus, ontology).build()
    if not keep_corpus:
        kb.corpus = None
    return kb


def build_graph_part(corpus: Corpus, graphs: set[str]) -> KnowledgeBase:
    """Only the named graphs `graphs` (article stems, or "registry") of `corpus`, each in the same
    order as in a full build."""
    return _Builder(corpus, None).build(graphs)
