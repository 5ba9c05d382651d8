"""Turn checked annotation records into RDF: one named graph per article, deterministic IRIs.

Every node minted here is remembered with the annotation file and line it came from, so that a
SHACL violation can point a person back to what to fix.

Graphs: `id/graph/registry` (shared definitions), `id/graph/<article stem>` (the article, its reports
and evidence, and the things only it defines), `id/graph/derived` (summary values computed from the
reports), `id/graph/ontology` (the ontology, so that the export is self-contained).
"""

from __future__ import annotations

from datetime import datetime, time, timezone
from functools import cached_property, lru_cache
from pathlib import Path

import pyoxigraph as ox

from rdflib import OWL, RDF, RDFS, XSD, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.term import Node
from rdflib.compare import to_canonical_graph
from rdflib.namespace import DCTERMS, ORG, PROV, SKOS, TIME

from kb.annotations import Corpus, Definition, Quote, Report
from kb.dates import PRECISIONS, ResolvedDate, zone
from kb.errors import Location
from kb.terms import to_oxigraph_term, to_rdflib_term

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
MEETING_PART_OF = TKB.partOf
DATE_PROPERTIES = {"date": (TKB.reportedDate, TKB.date), "end": (TKB.reportedEndDate, TKB.endDate),
                   "effective": (TKB.reportedEffectiveDate, TKB.effectiveDate)}


def fact_iri(fact: str) -> URIRef:
    return KBID[fact]


def article_iri(stem: str) -> URIRef:
    return KBID[f"article/{stem}"]


def report_iri(stem: str, fact: str) -> URIRef:
    return KBID[f"report/{stem}/{fact}"]


def graph_iri(name: str) -> URIRef:
    return KBID[f"graph/{name}"]


class KnowledgeBase:
    """The built graph as quads (one named graph per article), and where each node came from.

    The quads are the source of truth, in pyoxigraph terms, in a deterministic order: the embedded
    store, the exports and the SHACL engines are all fed from them. An rdflib view is made on
    demand for pySHACL and for users of rdflib's API.
    """

    def __init__(self, quads: list[ox.Quad], origins: dict[URIRef, Location]) -> None:
        self.quads = quads
        self.origins = origins

    def __len__(self) -> int:
        return len(self.quads)

    @property
    def graph_names(self) -> list[str]:
        return sorted({q.graph_name.value for q in self.quads if isinstance(q.graph_name, ox.NamedNode)})

    @cached_property
    def dataset(self) -> Dataset:
        """An rdflib Dataset with the same named graphs (built once, on first use)."""
        dataset = Dataset()
        for prefix, namespace in PREFIXES.items():
            dataset.bind(prefix, namespace)
        for name in self.graph_names:
            graph = dataset.graph(URIRef(name))
            graph.addN((to_rdflib_term(q.subject), to_rdflib_term(q.predicate), to_rdflib_term(q.object), graph)
                       for q in self.quads if q.graph_name.value == name)
        return dataset

    def union(self) -> Graph:
        """All named graphs merged into a new plain rdflib graph (what Turtle, SHACL and HermiT see)."""
        merged = Graph()
        for prefix, namespace in PREFIXES.items():
            merged.bind(prefix, namespace)
        merged.addN((to_rdflib_term(q.subject), to_rdflib_term(q.predicate), to_rdflib_term(q.object), merged)
                    for q in self.quads)
        return merged

    def triples(self) -> list[ox.Triple]:
        """The union as pyoxigraph triples, without duplicates, in a stable order."""
        return list(dict.fromkeys(ox.Triple(q.subject, q.predicate, q.object) for q in self.quads))

    def origin(self, node: URIRef) -> Location | None:
        return self.origins.get(node)


def load_ontology(project: Path) -> Graph:
    """The project's ontology (ontology/tradekb.ttl), its blank nodes canonically named.

    Canonical labels (a hash of each blank node's surroundings) keep exports byte-identical
    from one build to the next, where a parser would mint new random labels every time.
    """
    return to_canonical_graph(Graph().parse(Path(project) / ONTOLOGY_FILE, format="turtle"))


class _NamedGraph:
    """Collects one named graph's triples as pyoxigraph quads (cheaper than an rdflib store)."""

    def __init__(self, name: URIRef, out: list[ox.Quad], convert) -> None:
        self.name = convert(name)
        self.out = out
        self.convert = convert

    def add(self, triple: tuple[Node, Node, Node]) -> None:
        s, p, o = triple
        self.out.append(ox.Quad(self.convert(s), self.convert(p), self.convert(o), self.name))


class _Builder:
    def __init__(self, corpus: Corpus, ontology: Graph) -> None:
        self.corpus = corpus
        self.quads: list[ox.Quad] = []
        self.graphs: dict[str, _NamedGraph] = {}
        self.origins: dict[URIRef, Location] = {}
        self.convert = lru_cache(maxsize=None)(to_oxigraph_term)
        ontology_graph = self.graph("ontology")
        for triple in sorted(ontology):
            ontology_graph.add(triple)

    def graph(self, name: str) -> _NamedGraph:
        if name not in self.graphs:
            self.graphs[name] = _NamedGraph(graph_iri(name), self.quads, self.convert)
        return self.graphs[name]

    def build(self) -> KnowledgeBase:
        for stem in sorted(self.corpus.articles):
            self.article(stem)
        for fact in sorted(self.corpus.definitions):
            self.definition(self.corpus.definitions[fact])
        for report in self.corpus.reports:
            self.report(report)
        for fact in sorted(self.corpus.definitions):
            self.summary(self.corpus.definitions[fact])
        order = {name: i for i, name in enumerate(sorted(str(g.name.value) for g in self.graphs.values()))}
        self.quads.sort(key=lambda q: order[q.graph_name.value])  # stable: emission order within a graph
        return KnowledgeBase(self.quads, self.origins)

    def article(self, stem: str) -> None:
        article = self.corpus.articles[stem]
        g, node = self.graph(stem), article_iri(stem)
        self.origins[node] = article.location
        g.add((node, RDF.type, TKB.Article))
        g.add((node, DCTERMS.identifier, Literal(stem)))
        g.add((node, SCHEMA.text, Literal(article.text)))
        g.add((node, TKB.timeZone, Literal(article.timezone)))
        g.add((node, TKB.dateBasis, Literal(article.date_basis)))
        if article.title:
            g.add((node, DCTERMS.title, Literal(article.title.exact)))
        if article.published:
            g.add((node, DCTERMS.issued, Literal(article.published, datatype=XSD.date)))
        if article.publisher:
            g.add((node, DCTERMS.publisher, fact_iri(article.publisher)))
        if article.publisher_basis:
            g.add((node, TKB.publisherBasis, Literal(article.publisher_basis)))
        for wire in article.wire_services:
            g.add((node, TKB.wireService, fact_iri(wire)))
        for author in article.authors:
            g.add((node, DCTERMS.creator, fact_iri(author)))
        for n, quote in enumerate(article.date_evidence, 1):
            span = URIRef(f"{node}/date-evidence/{n}")
            self.span(g, span, stem, quote, article.location)
            g.add((node, TKB.dateEvidence, span))

    def definition(self, d: Definition) -> None:
        g, node = self.graph(d.graph), fact_iri(d.id)
        self.origins[node] = d.location
        g.add((node, RDF.type, CLASS_OF_TYPE[d.type]))
        g.add((node, RDFS.label, Literal(d.label)))
        for alias in d.aliases:
            g.add((node, SKOS.altLabel, Literal(alias)))
        if d.section == "topics":
            g.add((node, RDF.type, SKOS.Concept))
            g.add((node, SKOS.prefLabel, Literal(d.label)))
            g.add((node, SKOS.definition, Literal(d.fields["definition"])))
            g.add((node, SKOS.inScheme, TKB.topics))
        if "country" in d.fields:
            g.add((node, TKB.countryName, Literal(d.fields["country"])))
        if "timezone" in d.fields:
            g.add((node, TKB.timeZone, Literal(d.fields["timezone"])))
        for key, value in d.fields.items():
            prop = MEETING_PART_OF if (key == "part_of" and d.section == "meetings") else DEFINITION_PROPERTIES.get(key)
            if prop is None:
                continue
            for target in value if isinstance(value, list) else [value]:
                g.add((node, prop, fact_iri(target)))

    def report(self, r: Report) -> None:
        g, node = self.graph(r.article), report_iri(r.article, r.fact)
        self.origins[node] = r.location
        g.add((node, RDF.type, TKB.Report))
        g.add((node, TKB.reportOf, fact_iri(r.fact)))
        g.add((node, TKB.inArticle, article_iri(r.article)))
        for n, quote in enumerate(r.quotes, 1):
            span = URIRef(f"{node}/span/{n}")
            self.span(g, span, r.article, quote, r.location)
            g.add((node, OA.hasTarget, span))
        claims = r.claims
        if "status" in claims and claims["status"] in STATUS.get(r.section, {}):
            g.add((node, TKB.reportedStatus, STATUS[r.section][claims["status"]]))
        if "mode" in claims and claims["mode"] in MODE:
            g.add((node, TKB.reportedMode, MODE[claims["mode"]]))
        if r.section == "roles":
            g.add((node, TKB.reportedTitle, Literal(claims.get("title", ""))))
            g.add((node, TKB.reportedActing, Literal(bool(claims.get("acting", False)))))
        for key, prop in (("justification", TKB.reportedJustification), ("audience", TKB.audience),
                          ("waits_on", TKB.waitsOn)):
            if key in claims:
                g.add((node, prop, Literal(claims[key])))
        for key, prop in (("via", TKB.via), ("cites", TKB.citesOutlet)):
            if key in claims:
                g.add((node, prop, fact_iri(claims[key])))
        for key, resolved in r.dates.items():
            date_node = URIRef(f"{node}/{key}")
            self.origins[date_node] = r.location
            g.add((node, DATE_PROPERTIES[key][0], date_node))
            self.resolved_date(g, date_node, resolved)

    def span(self, g: Graph, span: URIRef, stem: str, quote: Quote, location: Location) -> None:
        """A Web Annotation SpecificResource with a quote selector and a position selector."""
        self.origins[span] = location
        by_quote, by_position = URIRef(f"{span}/quote"), URIRef(f"{span}/position")
        g.add((span, RDF.type, TKB.EvidenceSpan))
        g.add((span, RDF.type, OA.SpecificResource))
        g.add((span, OA.hasSource, article_iri(stem)))
        g.add((span, OA.hasSelector, by_quote))
        g.add((span, OA.hasSelector, by_position))
        g.add((by_quote, RDF.type, OA.TextQuoteSelector))
        g.add((by_quote, OA.exact, Literal(quote.exact)))
        g.add((by_quote, OA.prefix, Literal(quote.prefix)))
        g.add((by_quote, OA.suffix, Literal(quote.suffix)))
        g.add((by_position, RDF.type, OA.TextPositionSelector))
        g.add((by_position, OA.start, Literal(quote.start, datatype=XSD.nonNegativeInteger)))
        g.add((by_position, OA.end, Literal(quote.end, datatype=XSD.nonNegativeInteger)))

    @staticmethod
    def resolved_date(g: Graph, node: URIRef, d: ResolvedDate) -> None:
        g.add((node, RDF.type, TKB.ResolvedDate))
        g.add((node, TKB.dateValue, Literal(d.value, datatype=XSD.date)))
        g.add((node, TKB.datePrecision, PRECISION_UNIT[d.precision]))
        g.add((node, TKB.dateExpression, Literal(d.expression)))
        g.add((node, TKB.dateAnchor, Literal(d.anchor, datatype=XSD.date)))
        g.add((node, TKB.toldInTimeZone, Literal(d.tz)))
        g.add((node, TKB.statedInTimeZone, Literal(d.stated_in)))

    def summary(self, d: Definition) -> None:
        """Summary values on the thing, derived from its reports (which keep every source's claim)."""
        reports = sorted(self.corpus.reports_of(d.id), key=self._recency)
        if not reports:
            return
        g, node = self.graph("derived"), fact_iri(d.id)
        statuses = [r.claims["status"] for r in reports if r.claims.get("status") in STATUS.get(d.section, {})]
        if statuses:
            g.add((node, TKB.status, STATUS[d.section][statuses[-1]]))
        modes = {r.claims.get("mode") for r in reports}
        for mode in MODE_PRECEDENCE:
            if mode in modes:
                g.add((node, TKB.statementMode, MODE[mode]))
                break
        for key, (_, prop) in DATE_PROPERTIES.items():
            dated = [r.dates[key] for r in reports if key in r.dates]
            if not dated:
                continue
            # The most precise date wins; among equally precise ones, the most recent article's.
            best = min(reversed(dated), key=lambda x: PRECISIONS.index(x.precision))
            g.add((node, prop, Literal(best.value, datatype=XSD.date)))
            if key == "date":
                g.add((node, TKB.datePrecision, PRECISION_UNIT[best.precision]))

    def _recency(self, r: Report) -> tuple:
        """Order reports by when their article appeared: its day at noon in its own zone, so that
        11 July in Seoul comes before 11 July in Washington."""
        article = self.corpus.articles[r.article]
        noon = datetime.combine(article.published, time(12), tzinfo=zone(article.timezone))
        return (noon.astimezone(timezone.utc), r.article)


def build_graph(corpus: Corpus, ontology: Graph) -> KnowledgeBase:
    """The knowledge base for `corpus`, with the `ontology` in its own named graph."""
    return _Builder(corpus, ontology).build()
