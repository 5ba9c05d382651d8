"""What a page shows, gathered from the store: a thing, its reports and their evidence, an article
with its spans.

Every page is made from a `Source`, which answers two indexed questions: what the quads about a
node say (it as subject) and who names it (it as object). `StoreSource` asks the store for each
page (what `tradekb serve` does: a page costs a few dozen index lookups, whatever the size of the
knowledge base); `IndexedSource` reads every quad once and keeps both indexes in memory (what
`tradekb site` does: one pass over the store, instead of one set of lookups per page).

A thing's RDF, the file its IRI resolves to, is defined by `thing_statements`: the quads about it, and
about each of its reports and the nodes minted below a report (its evidence spans, their
selectors, its resolved dates); for an article, the nodes minted below it (its date evidence).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol

import pyoxigraph as ox
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS, TIME

from kb.graph import KBID, OA, SCHEMA, TKB, graph_iri

ID = str(KBID)


class _IRIs:
    """A namespace's IRIs as plain strings, each made once: rdflib's Namespace makes a new URIRef
    at every use, which cost a twentieth of the site's time."""

    def __init__(self, namespace: str) -> None:
        self._base = str(namespace)

    def __getattr__(self, name: str) -> str:
        iri = self._base + name
        setattr(self, name, iri)
        return iri


_T, _OA, _RDF, _RDFS, _SKOS, _DCT, _SCHEMA = (_IRIs(ns) for ns in (TKB, OA, RDF, RDFS, SKOS, DCTERMS, SCHEMA))
ONTOLOGY_GRAPH = graph_iri("ontology")
# Properties a page shows in its own place (the heading, the article text), not in its table.
SHOWN_APART = {_RDF.type, _RDFS.label, _SKOS.altLabel, _SKOS.prefLabel, _SCHEMA.text,
               _DCT.identifier, _T.datePrecision, _T.dateEvidence}
REPORT_OF, IN_ARTICLE, HAS_TARGET = _T.reportOf, _T.inArticle, _OA.hasTarget
SPAN_PATHS = ("span", "attribution", "date-evidence")  # a report's targets: its words, their framing, its date's words
# Reports shown on a thing's page, oldest first: a government in a million triples is reported by
# over a thousand articles (a 1.8 MB page); its RDF and the `reports` query hold them all.
REPORTS_SHOWN = 100
RELATED_SHOWN = 100  # things shown for each property that names a thing (the first by IRI)
PRECISION_OF_UNIT = {str(TIME.unitDay): "day", str(TIME.unitWeek): "week", str(TIME.unitMonth): "month",
                     str(TIME.unitYear): "year"}


def owner(iri: str) -> str:
    """The thing whose page shows a node: a report and the nodes below it belong to the fact it
    reports, the nodes below an article (its date evidence) to the article.

    >>> owner(ID + "report/000_x/kim-visit/span/1")[len(ID):]
    'kim-visit'
    >>> owner(ID + "article/000_x/date-evidence/1")[len(ID):]
    'article/000_x'
    """
    if not iri.startswith(ID):
        return iri
    parts = iri[len(ID):].split("/")
    if parts[0] == "report" and len(parts) >= 3:
        return ID + parts[2]
    if parts[0] == "article" and len(parts) >= 2:
        return ID + "article/" + parts[1]
    return iri


def is_thing(iri: str) -> bool:
    """Whether a node of the knowledge base has a page of its own (not a report, span, date or graph)."""
    return iri.startswith(ID) and owner(iri) == iri and not iri.startswith(ID + "graph/")


Term = ox.NamedNode | ox.BlankNode | ox.Literal
Statement = tuple[str, Term]  # (predicate IRI, object): what a node says, graphs merged
Pointer = tuple[str, str]  # (subject IRI, predicate IRI): a statement naming a node


class Source(Protocol):
    def about(self, node: str) -> list[Statement]:
        """What the quads with `node` as subject say, in every graph."""

    def pointing_at(self, node: str) -> list[Pointer]:
        """Who names `node` (an IRI) as object, and by which predicate, in every graph."""


class StoreSource:
    """Each question asked of the store's indexes, when it is asked."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    def about(self, node: str) -> list[Statement]:
        return [(q.predicate.value, q.object) for q in self.store.quads_for_pattern(ox.NamedNode(node), None, None, None)]

    def pointing_at(self, node: str) -> list[Pointer]:
        return [(q.subject.value, q.predicate.value) for q in self.store.quads_for_pattern(None, None, ox.NamedNode(node))
                if isinstance(q.subject, ox.NamedNode)]


class IndexedSource:
    """Every quad read once, indexed by subject and by IRI object (rdf:type's objects are left
    out of the second: no page asks what points at a class). Kept small: a statement is a pair of
    a shared predicate string and an object, each IRI one shared NamedNode; at a million triples
    the indexes take 280 MB, where pyoxigraph's Quad objects took 560 MB."""

    def __init__(self, store: ox.Store) -> None:
        self.subjects: dict[str, list[Statement]] = defaultdict(list)
        self.objects: dict[str, list[Pointer]] = defaultdict(list)
        shared: dict[str, str | ox.NamedNode] = {}
        rdf_type = _RDF.type
        for quad in store:
            if not isinstance(quad.subject, ox.NamedNode):
                continue
            subject = shared.setdefault(quad.subject.value, quad.subject.value)
            predicate = shared.setdefault(quad.predicate.value, quad.predicate.value)
            target = quad.object
            if isinstance(target, ox.NamedNode):
                target = shared.setdefault(" " + target.value, target)  # " ": a NamedNode, not the string
                if predicate != rdf_type:
                    self.objects[target.value].append((subject, predicate))
            self.subjects[subject].append((predicate, target))

    def about(self, node: str) -> list[Statement]:
        return self.subjects.get(node, [])

    def pointing_at(self, node: str) -> list[Pointer]:
        return self.objects.get(node, [])

    def things(self) -> list[str]:
        """Every node with a page of its own, in IRI order."""
        return sorted(iri for iri in self.subjects if is_thing(iri))


def values(statements: list[Statement]) -> dict[str, list[Term]]:
    """Each predicate's objects, each once, in the order found."""
    found: dict[str, list] = defaultdict(list)
    for predicate, target in statements:
        if target not in found[predicate]:
            found[predicate].append(target)
    return found


def thing_statements(source: Source, iri: str, whole: bool = True) -> list[tuple[str, str, Term]]:
    """The thing's part of the knowledge base (see the module's docstring) as (subject, predicate,
    object), in every graph; not `whole`, only what it says itself (it as subject)."""
    if not whole:
        return [(iri, predicate, target) for predicate, target in source.about(iri)]
    todo = [iri] + [subject for subject, predicate in source.pointing_at(iri) if predicate == REPORT_OF]
    found = []
    while todo:
        node = todo.pop()
        for predicate, target in source.about(node):
            found.append((node, predicate, target))
            if isinstance(target, ox.NamedNode) and target.value.startswith(node + "/"):
                todo.append(target.value)
    return found


def thing_triples(source: Source, iri: str, whole: bool = True) -> list[ox.Triple]:
    """The thing's part (or, not `whole`, its own statements) as a set of triples (graphs merged,
    as the Turtle export merges them), sorted so that the same knowledge base always gives the
    same files."""
    nodes: dict[str, ox.NamedNode] = {}

    def node(value: str) -> ox.NamedNode:
        return nodes.setdefault(value, ox.NamedNode(value))
    return sorted({ox.Triple(node(s), node(p), o) for s, p, o in thing_statements(source, iri, whole)}, key=str)


@dataclass
class Value:
    """A value as a reader sees it: text, and the IRI of the node it names, if any."""

    text: str
    iri: str | None = None


@dataclass
class ResolvedDate:
    value: str
    precision: str
    expression: str


@dataclass
class Span:
    """One quote of an article, at code-point offsets [start, end) of its text."""

    anchor: str  # the HTML id of its first highlight on the article's page
    exact: str
    start: int
    end: int
    article: str
    purpose: str = ""  # what the words are for, if not the report's own words: "attributing", "dating"


@dataclass
class ReportView:
    """One article's account of a fact."""

    iri: str
    article: Value
    fact: Value
    claims: list[tuple[str, list[Value]]]  # (property label, values): status, mode, title, via ...
    dates: list[tuple[str, ResolvedDate]]  # (property label, date)
    spans: list[Span]


@dataclass
class ThingView:
    iri: str
    label: str
    kinds: list[Value]
    aliases: list[str]
    properties: list[tuple[str, list[Value]]]
    reports: list[ReportView]  # the first REPORTS_SHOWN, oldest article first
    n_reports: int
    pointed_from: list[tuple[str, list[Value], int]]  # (property label, things whose property names this one, how many)


@dataclass
class Segment:
    """A stretch of an article's text and the spans that cover it (none: plain text)."""

    text: str
    spans: list[str] = field(default_factory=list)  # anchors of the spans covering it
    starts: list[str] = field(default_factory=list)  # anchors of the spans that begin here
    ends: list[str] = field(default_factory=list)  # anchors of the spans that end here


@dataclass
class ArticleView:
    thing: ThingView
    text: str
    segments: list[Segment]
    facts: list[ReportView]  # its reports, in the order of their first quote in the text
    date_evidence: list[Span]


class Describer:
    """Builds the views of pages from a Source, remembering the labels it has looked up."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._labels: dict[str, str] = {}

    def label(self, iri: str) -> str:
        """What a reader calls a node: its label; an article is "publisher, date"; else its IRI's last part."""
        if iri not in self._labels:
            found = values(self.source.about(iri))
            name = found.get(_RDFS.label) or found.get(_SKOS.prefLabel)
            if name:
                text = name[0].value
            elif _DCT.issued in found:
                publisher = found.get(_DCT.publisher)
                who = self.label(publisher[0].value) if publisher else found[_DCT.identifier][0].value
                text = f"{who}, {found[_DCT.issued][0].value}"
            else:
                text = iri.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
            self._labels[iri] = text
        return self._labels[iri]

    def article_of(self, report: str) -> str:
        return values(self.source.about(report))[IN_ARTICLE][0].value

    def issued(self, article: str) -> str:
        """The day an article appeared ("" if not known)."""
        found = values(self.source.about(article)).get(_DCT.issued)
        return found[0].value if found else ""

    def value(self, term: ox.NamedNode | ox.Literal) -> Value:
        if isinstance(term, ox.NamedNode):
            return Value(self.label(term.value), term.value)
        return Value(term.value)

    def _properties(self, found: dict[str, list], skip: set[str]) -> list[tuple[str, list[Value]]]:
        rows = []
        for predicate, objects in found.items():
            if predicate in skip:
                continue
            shown = [self.value(o) for o in objects]
            if predicate == _T.date and _T.datePrecision in found:
                unit = found[_T.datePrecision][0].value
                shown = [Value(f"{v.text} ({PRECISION_OF_UNIT.get(unit, self.label(unit))})") for v in shown]
            rows.append((self.label(predicate), shown))
        return sorted(rows, key=lambda row: row[0].casefold())

    def thing(self, iri: str) -> ThingView | None:
        """The view of a thing's page, or None if the knowledge base says nothing about `iri`."""
        about = self.source.about(iri)
        if not about or not is_thing(iri):
            return None
        found = values(about)
        pointing = self.source.pointing_at(iri)
        articles = {subject: self.article_of(subject) for subject, predicate in pointing if predicate == REPORT_OF}
        oldest_first = sorted(articles, key=lambda r: (self.issued(articles[r]), self.label(articles[r]), r))
        reports = [self.report(r) for r in oldest_first[:REPORTS_SHOWN]]
        from_others: dict[str, set[str]] = defaultdict(set)  # predicate -> the things, each once
        for subject, predicate in pointing:
            if predicate not in (REPORT_OF, IN_ARTICLE) and owner(subject) != iri:
                from_others[predicate].add(owner(subject))
        return ThingView(
            iri, self.label(iri),
            [self.value(t) for t in found.get(_RDF.type, [])],
            [a.value for a in found.get(_SKOS.altLabel, [])],
            self._properties(found, SHOWN_APART),
            reports, len(articles),
            sorted(((self.label(p), self._named(sorted(others)[:RELATED_SHOWN]), len(others))
                    for p, others in from_others.items()), key=lambda row: row[0].casefold()))

    def _named(self, nodes: list[str]) -> list[Value]:
        return sorted((Value(self.label(node), node) for node in nodes), key=lambda v: v.text.casefold())

    def report(self, iri: str) -> ReportView:
        found = values(self.source.about(iri))
        article = found[IN_ARTICLE][0].value
        dates = []
        for predicate in (_T.reportedDate, _T.reportedEndDate, _T.reportedEffectiveDate):
            for node in found.get(predicate, []):
                dates.append((self.label(predicate), self.resolved_date(node.value)))
        skip = {_RDF.type, REPORT_OF, IN_ARTICLE, HAS_TARGET, _T.reportedDate, _T.reportedEndDate,
                _T.reportedEffectiveDate}
        spans = [self.span(node.value, article) for node in found.get(HAS_TARGET, [])]
        return ReportView(iri, Value(self.label(article), article), self.value(found[REPORT_OF][0]),
                          self._properties(found, skip), dates, sorted(spans, key=lambda s: s.start))

    def resolved_date(self, node: str) -> ResolvedDate:
        found = values(self.source.about(node))
        unit = found[_T.datePrecision][0].value
        return ResolvedDate(found[_T.dateValue][0].value, PRECISION_OF_UNIT.get(unit, unit),
                            found[_T.dateExpression][0].value)

    def span(self, node: str, article: str) -> Span:
        exact, start, end = "", 0, 0
        found = values(self.source.about(node))
        purpose = self.label(found[_OA.hasPurpose][0].value) if _OA.hasPurpose in found else ""
        for selector in found.get(_OA.hasSelector, []):
            found = values(self.source.about(selector.value))
            if _OA.exact in found:
                exact = found[_OA.exact][0].value
            if _OA.start in found:
                start, end = int(found[_OA.start][0].value), int(found[_OA.end][0].value)
        return Span(span_anchor(node), exact, start, end, article, purpose)

    def article(self, iri: str) -> ArticleView | None:
        thing = self.thing(iri)
        if thing is None or not iri.startswith(ID + "article/"):
            return None
        found = values(self.source.about(iri))
        text = found[_SCHEMA.text][0].value if _SCHEMA.text in found else ""
        facts = [self.report(subject) for subject, predicate in self.source.pointing_at(iri) if predicate == IN_ARTICLE]
        facts.sort(key=lambda r: (min((s.start for s in r.spans), default=len(text)), r.fact.text))
        evidence = sorted((self.span(n.value, iri) for n in found.get(_T.dateEvidence, [])),
                          key=lambda s: s.start)
        spans = [s for r in facts for s in r.spans] + evidence
        return ArticleView(thing, text, highlight(text, spans), facts, evidence)


def span_anchor(span: str) -> str:
    """The HTML id of a span on its article's page: its IRI below the report or article, e.g.
    `kim-visit-span-1` for …/report/000_x/kim-visit/span/1, `date-evidence-1` for
    …/article/000_x/date-evidence/1 (unique within the article: one report per fact).

    >>> span_anchor(ID + "report/000_x/kim-visit/span/1")
    'kim-visit-span-1'
    """
    parts = span[len(ID):].split("/")
    return "-".join(parts[2:])


def highlight(text: str, spans: list[Span]) -> list[Segment]:
    """The text cut where any span begins or ends, each piece with the spans that cover it, so
    that overlapping spans each keep their exact extent (the pieces of a span, joined, are its
    quote). One sweep over the sorted boundaries: an article of 50,000 quotes is cut in linear time
    (plus the sort).

    >>> [(s.text, s.spans) for s in highlight("abcdef", [Span("x", "bcd", 1, 4, ""), Span("y", "de", 3, 5, "")])]
    [('a', []), ('bc', ['x']), ('d', ['x', 'y']), ('e', ['y']), ('f', [])]
    """
    events: dict[int, tuple[list[Span], list[Span]]] = defaultdict(lambda: ([], []))
    for span in spans:
        events[span.start][0].append(span)
        events[span.end][1].append(span)
    segments, active, at = [], {}, 0
    for position in sorted(set(events) | {len(text)}):
        if position > at:
            covering = sorted(active, key=lambda a: (active[a].start, a))
            segments.append(Segment(text[at:position], covering, [a for a in covering if active[a].start == at]))
            at = position
        opening, closing = events.get(position, ([], []))
        for span in closing:
            active.pop(span.anchor, None)
        if segments:
            segments[-1].ends = [s.anchor for s in closing if s.start < s.end]
        for span in opening:
            if span.start < span.end:
                active[span.anchor] = span
    return segments
