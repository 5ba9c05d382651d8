"""A fast SHACL path: each constraint of the shapes compiled to one SPARQL query over the whole store.

pySHACL evaluates constraints focus node by focus node in Python, minutes for a million triples.
The same constraints asked as one query each, of the Oxigraph store the build has already loaded,
take seconds. A constraint is compiled as a *violation pattern*: a graph pattern whose solutions,
for a focus node, are exactly its validation results. A top-level check joins it with the shape's
targets; a nested shape (sh:node, sh:not, sh:and, sh:or, sh:xone, a qualified value shape) is the
conjunction of NOT EXISTS of its constraints' patterns. So one definition of each constraint
component serves both, and a result carries the shape SHACL names (the property shape, not the
node shape around it) and the constraint component.

What is not compiled is refused with an error naming it, never skipped: `compile_shapes` raises
UnsupportedShape; `compile_partially` returns the shapes it could not compile beside the checks,
for a caller that hands exactly those to another engine. tests/test_w3c_shacl.py holds this engine
to the W3C SHACL test suite: every test is answered right or refused.

Oxigraph stores a literal by its value where it can ("01"^^xsd:integer as "1", "5"^^xsd:int as
"5"^^xsd:integer), so a shape naming a datatype derived from xsd:integer is refused, and
`store_of` refuses data holding a literal that the store would change (a build writes none).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import pyoxigraph as ox
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH, Namespace
from rdflib.term import Node

from kb.errors import TradeKBError
from kb.terms import XSD_STRING, to_oxigraph_term

XSD = Namespace("http://www.w3.org/2001/XMLSchema#")  # rdflib's own makes pytest's doctest collector warn
SUBCLASS = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>/<http://www.w3.org/2000/01/rdf-schema#subClassOf>*"
TARGETS = (SH.targetNode, SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)

# Datatypes whose well-formed literals Oxigraph can tell (a cast of the lexical form succeeds),
# and those that have no ill-formed lexical form worth telling; any other is refused.
CHECKED_DATATYPES = {XSD[n] for n in ("boolean", "integer", "decimal", "double", "float", "date", "dateTime",
                                      "time", "duration", "dayTimeDuration", "yearMonthDuration")}
FREE_DATATYPES = {XSD.string, RDF.langString}

# SHACL's keys of a shape that are not constraints (or that a component below reads as a
# parameter). Another vocabulary's keys are no constraint unless a constraint component of the
# shapes names them as its parameter (then refused).
NOT_CONSTRAINTS = {SH.path, SH.message, SH.name, SH.description, SH.severity, SH.order, SH.group, SH.deactivated,
                   SH.defaultValue, SH.declare, SH.prefixes, *TARGETS, SH.qualifiedMinCount, SH.qualifiedMaxCount,
                   SH.qualifiedValueShapesDisjoint, SH.flags, SH.ignoredProperties}
# sh:property is compiled as the shape it names; the rest as constraint components below.
COMPONENTS = {
    SH["class"]: SH.ClassConstraintComponent, SH.datatype: SH.DatatypeConstraintComponent,
    SH.nodeKind: SH.NodeKindConstraintComponent, SH.minCount: SH.MinCountConstraintComponent,
    SH.maxCount: SH.MaxCountConstraintComponent, SH.minExclusive: SH.MinExclusiveConstraintComponent,
    SH.minInclusive: SH.MinInclusiveConstraintComponent, SH.maxExclusive: SH.MaxExclusiveConstraintComponent,
    SH.maxInclusive: SH.MaxInclusiveConstraintComponent, SH.minLength: SH.MinLengthConstraintComponent,
    SH.maxLength: SH.MaxLengthConstraintComponent, SH.pattern: SH.PatternConstraintComponent,
    SH.languageIn: SH.LanguageInConstraintComponent, SH.uniqueLang: SH.UniqueLangConstraintComponent,
    SH.equals: SH.EqualsConstraintComponent, SH.disjoint: SH.DisjointConstraintComponent,
    SH.lessThan: SH.LessThanConstraintComponent, SH.lessThanOrEquals: SH.LessThanOrEqualsConstraintComponent,
    SH["not"]: SH.NotConstraintComponent, SH["and"]: SH.AndConstraintComponent, SH["or"]: SH.OrConstraintComponent,
    SH.xone: SH.XoneConstraintComponent, SH.node: SH.NodeConstraintComponent, SH["in"]: SH.InConstraintComponent,
    SH.hasValue: SH.HasValueConstraintComponent, SH.closed: SH.ClosedConstraintComponent,
    SH.sparql: SH.SPARQLConstraintComponent,
    SH.qualifiedValueShape: None,  # Min or Max, by the bound
}
NODE_KINDS = {SH.IRI: "isIRI({v})", SH.BlankNode: "isBlank({v})", SH.Literal: "isLiteral({v})",
              SH.BlankNodeOrIRI: "(isBlank({v}) || isIRI({v}))", SH.BlankNodeOrLiteral: "(isBlank({v}) || isLiteral({v}))",
              SH.IRIOrLiteral: "(isIRI({v}) || isLiteral({v}))"}
COMPARISONS = {SH.minExclusive: ">", SH.minInclusive: ">=", SH.maxExclusive: "<", SH.maxInclusive: "<="}


class UnsupportedShape(TradeKBError):
    """The shapes (or the data) use a SHACL feature an engine does not support; the message names
    it. The engine refuses rather than answer wrongly."""


@dataclass(frozen=True)
class Result:
    """One validation result, as SHACL defines it: the focus node, the result path (SPARQL
    property-path text with full IRIs; None for a node shape), the value (None where SHACL gives
    none), the source shape, its constraint component, severity and message."""

    focus: Node
    path: str | None
    value: Node | None
    shape: Node
    component: URIRef
    severity: URIRef
    message: str


@dataclass(frozen=True)
class Check:
    """One compiled constraint: a SELECT of ?this (and ?value when results carry one, ?n for a
    count), and what each row's result says besides."""

    shape: Node
    path: str | None
    component: URIRef
    severity: URIRef
    message: str
    query: str
    # a count's (least, most, component when too few, when too many): its row's ?n says which
    counted: tuple[int | None, int | None, URIRef, URIRef] | None = None


@dataclass
class Compiled:
    """The checks of the shapes that compile, and each shape with a target that does not, with why."""

    checks: list[Check] = field(default_factory=list)
    refused: dict[Node, str] = field(default_factory=dict)


def path_text(graph: Graph, path: Node) -> str:
    """A SHACL path as SPARQL property-path text, full IRIs (the form results are compared in); a
    sequence within a sequence is spliced into it, as is an alternative within an alternative
    (the same path: Jena writes `(a b) c` where the shapes said `a b c`).

    >>> g = Graph().parse(data="@prefix sh: <http://www.w3.org/ns/shacl#> . "
    ...     "<http://x/s> sh:path ( ( <http://x/a> [ sh:inversePath <http://x/b> ] ) <http://x/c> ) .", format="turtle")
    >>> path_text(g, g.value(URIRef("http://x/s"), SH.path))
    '(<http://x/a>/^(<http://x/b>)/<http://x/c>)'
    """
    kind, parts = _path_parts(graph, path)
    return parts[0] if kind is None else "(" + kind.join(parts) + ")"


def _path_parts(graph: Graph, path: Node) -> tuple[str | None, list[str]]:
    """("/" or "|", the members' texts) for a sequence or an alternative, else (None, [its text])."""
    if isinstance(path, URIRef):
        return None, [path.n3()]
    for kind, members in (("/", path if (path, RDF.first, None) in graph else None),
                          ("|", graph.value(path, SH.alternativePath))):
        if members is not None:
            parts = []
            for member in Collection(graph, members):
                inner, texts = _path_parts(graph, member)
                parts += texts if inner == kind else [path_text(graph, member)]
            return kind, parts
    for key, form in ((SH.inversePath, "^({})"), (SH.zeroOrMorePath, "({})*"), (SH.oneOrMorePath, "({})+"),
                      (SH.zeroOrOnePath, "({})?")):
        inner = graph.value(path, key)
        if inner is not None:
            return None, [form.format(path_text(graph, inner))]
    raise UnsupportedShape(f"a path that is not a SHACL path: {path.n3()}")


def as_written(term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> Node | None:
    """The rdflib term for an Oxigraph term, its lexical form kept: rdflib would otherwise rewrite
    an ill-formed "2011-01-01"^^xsd:dateTime as "2011-01-01T00:00:00", a different term."""
    if term is None or isinstance(term, (ox.NamedNode, ox.BlankNode)):
        return None if term is None else URIRef(term.value) if isinstance(term, ox.NamedNode) else BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    datatype = None if term.datatype.value == XSD_STRING else URIRef(term.datatype.value)
    return Literal(term.value, datatype=datatype, normalize=False)


def graph_as_written(triples: Iterable[ox.Triple | ox.Quad]) -> Graph:
    """An rdflib graph of Oxigraph's triples (or quads' triples), blank node labels and literals
    as written (see as_written)."""
    graph = Graph()
    for t in triples:
        graph.add((as_written(t.subject), as_written(t.predicate), as_written(t.object)))
    return graph


def _count(term: Node | None) -> int | None:
    """A count parameter (sh:minCount, sh:maxLength, ...) as an int; UnsupportedShape if it is none."""
    if term is None:
        return None
    if not (isinstance(term, Literal) and isinstance(term.toPython(), int) and not isinstance(term.toPython(), bool)):
        raise UnsupportedShape(f"{term.n3()} is not an integer, where SHACL needs one")
    return term.toPython()


def _true(term: Node) -> bool:
    """Is the term the literal true itself ("1"^^xsd:boolean is another term: SHACL names true)?"""
    return isinstance(term, Literal) and term.datatype == XSD.boolean and str(term) == "true"


def _n3(term: Node) -> str:
    if isinstance(term, BNode):
        raise UnsupportedShape(f"a blank node as a constraint's value ({term.n3()}) cannot be written in a query")
    return term.n3()


def _name(shape: Node) -> str:
    return shape.n3() if isinstance(shape, URIRef) else "a blank-node shape"


class _Compiler:
    def __init__(self, shapes: Graph) -> None:
        self.g = shapes
        self.fresh = itertools.count(1)
        self.nesting: list[Node] = []  # the shapes whose conformance is being written, outermost first
        # the parameters of the shapes' own constraint components (SPARQL-based): refused where used
        self.parameters = {path for parameter in shapes.objects(None, SH.parameter)
                           for path in shapes.objects(parameter, SH.path)}
        self.classes = set(shapes.transitive_subjects(RDFS.subClassOf, RDFS.Class))  # rdfs:Class and its subclasses

    def var(self, stem: str) -> str:
        return f"?{stem}{next(self.fresh)}"

    def items(self, head: Node) -> list[Node]:
        """The members of an RDF list; UnsupportedShape if `head` is no list."""
        if head != RDF.nil and (head, RDF.first, None) not in self.g:
            raise UnsupportedShape(f"{head.n3()} is not a list, where SHACL needs one")
        return list(Collection(self.g, head))

    def deactivated(self, shape: Node) -> bool:
        return any(map(_true, self.g.objects(shape, SH.deactivated)))

    def prologue(self) -> str:
        """PREFIX lines for every sh:declare of the shapes (SPARQL targets use them)."""
        declared = {(str(self.g.value(d, SH.prefix)), str(self.g.value(d, SH.namespace)))
                    for d in self.g.objects(None, SH.declare)}
        return "\n".join(f"PREFIX {prefix}: <{namespace}>" for prefix, namespace in sorted(declared))

    # ---- which shapes are validated, on which focus nodes ------------------------------------

    def targeted(self) -> list[Node]:
        """Every shape with a target (explicit, or implicit: a shape that is also an rdfs:Class)."""
        shapes = {s for key in TARGETS for s in self.g.subjects(key, None)}
        shapes |= {s for c in self.classes for s in self.g.subjects(RDF.type, c) if self.is_class(s)}
        return sorted(shapes, key=lambda s: (isinstance(s, BNode), str(s)))

    def is_class(self, shape: Node) -> bool:
        """Is the shape also a class (an instance of rdfs:Class or of a subclass of it), so that
        its instances are its focus nodes? Only a node or property shape counts."""
        return ((shape, RDF.type, SH.NodeShape) in self.g or (shape, RDF.type, SH.PropertyShape) in self.g) and any(
            (shape, RDF.type, c) in self.g for c in self.classes)

    def focus(self, shape: Node, this: str) -> str:
        """A group pattern binding `this` to each focus node of the shape (a node may come more than
        once: the checks select DISTINCT, and count DISTINCT values)."""
        parts = []
        nodes = sorted(self.g.objects(shape, SH.targetNode))
        if nodes:
            parts.append(f"VALUES {this} {{ {' '.join(map(_n3, nodes))} }}")
        classes = sorted(self.g.objects(shape, SH.targetClass))
        if self.is_class(shape):
            classes.append(shape)
        parts += [f"{this} {SUBCLASS} {_n3(c)}" for c in classes]
        parts += [f"{this} {_n3(p)} []" for p in sorted(self.g.objects(shape, SH.targetSubjectsOf))]
        parts += [f"[] {_n3(p)} {this}" for p in sorted(self.g.objects(shape, SH.targetObjectsOf))]
        for target in self.g.objects(shape, SH.target):
            select = self.g.value(target, SH.select)
            if select is None:
                raise UnsupportedShape(f"{_name(shape)}: only SPARQL targets (sh:select) are compiled")
            parts.append(f"{{ {select} }}" if this == "?this" else f"{{ SELECT (?this AS {this}) WHERE {{ {{ {select} }} }} }}")
        return " UNION ".join(f"{{ {p} }}" for p in parts)

    # ---- checks ------------------------------------------------------------------------------

    def compile(self) -> Compiled:
        compiled = Compiled()
        prologue = self.prologue()
        for shape in self.targeted():
            if self.deactivated(shape):
                continue
            try:
                checks = [replace(c, query=f"{prologue}\n{c.query}" if prologue else c.query)
                          for c in self.checks(shape, lambda v, shape=shape: self.focus(shape, v))]
                for check in checks:  # a shape's own SPARQL that rdflib reads and Oxigraph does not
                    try:
                        ox.Store().query(check.query)
                    except SyntaxError as e:
                        raise UnsupportedShape(f"{_name(shape)}: a query of it does not run on Oxigraph ({e})") from None
                compiled.checks += checks
            except UnsupportedShape as e:  # named by the shape with the target, whatever shape inside it was refused
                said = str(e)
                compiled.refused[shape] = said if said.startswith(_name(shape)) else f"{_name(shape)}: {said}"
        return compiled

    def checks(self, shape: Node, focus) -> list[Check]:
        """The top-level checks of `shape` on the focus nodes `focus(var)` binds, and those of its
        property shapes (on its value nodes)."""
        checks = []
        path = self.g.value(shape, SH.path)
        path_str = path_text(self.g, path) if path is not None else None
        severity = self.g.value(shape, SH.severity) or SH.Violation
        messages = sorted(str(m) for m in self.g.objects(shape, SH.message))

        def check(key, param, select, where, component):
            checks.append(Check(shape, path_str, component, severity,
                                messages[0] if messages else _default_message(key, param),
                                f"SELECT DISTINCT {select} WHERE {{ {focus('?this')} {where} }}"))

        for constraint in sorted(self.g.objects(shape, SH.sparql), key=str):
            if not self.deactivated(constraint):
                checks.append(self.sparql_check(shape, path, severity, messages, focus, constraint))
        for c in self.constraints(shape, "?this", "?value"):
            if c.count is not None:
                checks.append(self.count_check(shape, path_str, severity, messages, focus, c))
            else:
                check(c.key, c.param, "?this ?value ?closedPath" if c.key == SH.closed else "?this ?uniqueLang"
                      if c.key == SH.uniqueLang else "?this ?value" if c.has_value else "?this", c.pattern,
                      component=c.component)
        for prop in sorted(self.g.objects(shape, SH.property), key=str):
            if self.deactivated(prop):
                continue
            if path is None:
                checks += self.checks(prop, focus)
            else:
                def values(v, focus=focus, path_str=path_str):
                    f = self.var("f")
                    return f"{focus(f)} {f} {path_str} {v} ."
                checks += self.checks(prop, values)
        return checks

    def sparql_check(self, shape: Node, path: Node | None, severity: Node, messages: list[str], focus,
                     constraint: Node) -> Check:
        """A SPARQL-based constraint (sh:sparql, sh:select): its query joined with the focus nodes.
        SHACL pre-binds $this; the join gives the same rows when $this is bound by a mandatory
        pattern and binding it first changes what no OPTIONAL, MINUS or BIND sees: exactly what the
        rebuild's analysis proves (kb.dependencies), so a query it cannot prove so is refused."""
        from kb.dependencies import NotLocal, analyse  # it imports rdflib's SPARQL parser
        select = self.g.value(constraint, SH.select)
        if select is None:
            raise UnsupportedShape(f"{_name(shape)}: a SPARQL constraint without sh:select is not compiled")
        text = str(select)
        problem = prebinding_problem(text) or (
            "?failure" if re.search(r"[?$]failure\b", text) else None) or _filter_before_binding(text)
        if problem:
            raise UnsupportedShape(f"{_name(shape)}: a SPARQL constraint using {problem} is not compiled")
        if path is not None:
            text = re.sub(r"\$PATH\b", path_text(self.g, path), text)
        try:
            analyse(f"{self.prologue()}\n{text}", key="this")
        except NotLocal as e:
            raise UnsupportedShape(f"{_name(shape)}: a SPARQL constraint whose $this pre-binding cannot be "
                                   f"compiled as a join ({e})") from None
        constraint_messages = sorted(str(m) for m in self.g.objects(constraint, SH.message))
        start = re.search(r"\bSELECT\b", text, re.IGNORECASE).start()  # its own PREFIX lines go before ours
        value = "" if path is not None else " BIND (?this AS ?focusValue)"  # a node shape's value: the focus node
        return Check(shape, path_text(self.g, path) if path is not None else None, SH.SPARQLConstraintComponent,
                     severity, (constraint_messages or messages or ["breaks a SPARQL constraint"])[0],
                     f"{text[:start]}SELECT DISTINCT ?this ?value ?sparqlPath ?focusValue WHERE {{ {focus('?this')} "
                     f"{{ {text[start:]} }} BIND (?path AS ?sparqlPath){value} }}")

    def count_check(self, shape: Node, path: str | None, severity: Node, messages: list[str], focus,
                    c: _Constraint) -> Check:
        """A count constraint at the top: one GROUP BY over the focus nodes for both bounds (a
        lower bound of 1 alone is a plain NOT EXISTS, an upper bound of 0 alone a plain join)."""
        least, most, v, values = c.count
        message = messages[0] if messages else _default_message(c.key, c.param)
        if least == 1 and most is None:
            return Check(shape, path, c.component, severity, message,
                         f"SELECT DISTINCT ?this WHERE {{ {focus('?this')} FILTER NOT EXISTS {{ {values} }} }}")
        if not least and most == 0:  # any value breaks it: no need to count them
            return Check(shape, path, c.components[1], severity, message,
                         f"SELECT DISTINCT ?this WHERE {{ {focus('?this')} {values} }}")
        optional = f"OPTIONAL {{ {values} }}" if least else values  # without a lower bound no value breaks nothing
        test = " || ".join([f"?n < {least}"] * bool(least) + [f"?n > {most}"] * (most is not None))
        return Check(shape, path, c.component, severity, message,
                     f"SELECT ?this ?n WHERE {{ {{ SELECT ?this (COUNT(DISTINCT {v}) AS ?n) WHERE {{ {focus('?this')} "
                     f"{optional} }} GROUP BY ?this }} FILTER ({test}) }}", (least, most, *c.components))

    def conforms(self, shape: Node, x: str) -> str:
        """A SPARQL boolean expression: does the node `x` conform to `shape`? A shape reached again
        through itself is refused (SHACL leaves recursive shapes undefined)."""
        if self.deactivated(shape):
            return "true"
        if shape in self.nesting:
            raise UnsupportedShape(f"{_name(shape)}: a shape that refers to itself (recursion) is not compiled")
        self.nesting.append(shape)
        try:
            return self.conformance(shape, x)
        finally:
            self.nesting.pop()

    def conformance(self, shape: Node, x: str) -> str:
        path = self.g.value(shape, SH.path)
        tests = []
        for c in self.constraints(shape, x, x if path is None else self.var("v")):
            if c.count is not None:
                least, most, v, values = c.count
                if least:
                    having = f"SELECT {x} WHERE {{ {values} }} GROUP BY {x} HAVING (COUNT(DISTINCT {v}) >= {least})"
                    tests.append(f"EXISTS {{ {values} }}" if least == 1 else f"EXISTS {{ {having} }}")
                if most == 0:
                    tests.append(f"NOT EXISTS {{ {values} }}")
                elif most is not None:
                    tests.append(f"NOT EXISTS {{ SELECT {x} WHERE {{ {values} }} GROUP BY {x} "
                                 f"HAVING (COUNT(DISTINCT {v}) > {most}) }}")
            else:
                tests.append(f"!({c.condition})" if c.condition else f"NOT EXISTS {{ {c.pattern} }}")
        for prop in sorted(self.g.objects(shape, SH.property), key=str):
            if path is None:
                tests.append(self.conforms(prop, x))
            else:
                v = self.var("p")
                tests.append(f"NOT EXISTS {{ {x} {path_text(self.g, path)} {v} FILTER (!({self.conforms(prop, v)})) }}")
        return "(" + " && ".join(tests) + ")" if tests else "true"

    def constraints(self, shape: Node, this: str, value: str) -> list[_Constraint]:
        """Each constraint of the shape at the focus node `this`: a violation pattern (binding
        `value` when its results carry one), or a count of values with its bounds. A node shape's
        value node is its focus node; a property shape's are the nodes its path reaches."""
        path = self.g.value(shape, SH.path)
        route = path_text(self.g, path) if path is not None else None
        step = f"{this} {route} {value} ." if path is not None else "" if value == this else f"BIND ({this} AS {value})"
        found = []
        for key, param in sorted(self.g.predicate_objects(shape)):
            if key in NOT_CONSTRAINTS or key == SH.property or key == SH.maxCount and (shape, SH.minCount, None) in self.g:
                continue
            if key == SH.select and (None, SH.sparql, shape) in self.g:
                continue  # the shape is its own SPARQL constraint: sh:select is that constraint's query
            if key == SH.sparql:
                if this == "?this":
                    continue  # compiled by sparql_check
                raise UnsupportedShape(f"{_name(shape)}: a SPARQL constraint inside sh:node or a logical constraint "
                                       "is not compiled")
            if key not in COMPONENTS:
                if key in self.parameters or key.startswith(str(SH)):
                    raise UnsupportedShape(f"{_name(shape)}: {key.n3(SH_NAMES)} is not compiled")
                continue  # not a parameter of any constraint component: SHACL ignores it
            if key in (SH.minCount, SH.maxCount):  # both bounds in one count
                if path is None:
                    raise UnsupportedShape(f"{_name(shape)}: sh:minCount/sh:maxCount on a node shape is not compiled")
                least, most = (_count(self.g.value(shape, k)) for k in (SH.minCount, SH.maxCount))
                if not least and most is None:
                    continue  # sh:minCount 0: nothing breaks it
                v = self.var("c")
                found.append(_Constraint(key, param, COMPONENTS[key], "", False, count=(least, most, v,
                    f"{this} {route} {v} ."), components=(SH.MinCountConstraintComponent, SH.MaxCountConstraintComponent)))
            elif key == SH.qualifiedValueShape:
                found += self.qualified(shape, this, route, param)
            elif key in PAIRWISE:
                found += [_Constraint(key, param, COMPONENTS[key], pattern, key not in (SH.uniqueLang, SH.hasValue),
                                      condition=condition)
                          for pattern, condition in self.pairwise(shape, key, param, this, value, route, step)]
            else:
                condition = self.violates(shape, key, param, value)
                found.append(_Constraint(key, param, COMPONENTS[key], f"{step} FILTER ({condition})", True,
                                         condition=condition if not step else None))
        return found

    def violates(self, shape: Node, key: Node, param: Node, v: str) -> str:
        """A filter true when the value node `v` breaks the constraint `key` `param` of the shape."""
        if key == SH["class"]:
            return f"NOT EXISTS {{ {v} {SUBCLASS} {_n3(param)} }}"
        if key == SH.datatype:
            if param in FREE_DATATYPES:
                return f"!isLiteral({v}) || DATATYPE({v}) != {_n3(param)}"
            if param not in CHECKED_DATATYPES:
                raise UnsupportedShape(f"sh:datatype {param.n3()} is not compiled (Oxigraph cannot tell its well-formed "
                                       "literals, or stores it as another datatype)")
            return f"!isLiteral({v}) || DATATYPE({v}) != {_n3(param)} || !COALESCE(isLiteral({_n3(param)}(STR({v}))), false)"
        if key == SH.nodeKind:
            if param not in NODE_KINDS:
                raise UnsupportedShape(f"sh:nodeKind {param.n3()} is not a node kind")
            return "!" + NODE_KINDS[param].format(v=v)
        if key in COMPARISONS:
            return f"!COALESCE({v} {COMPARISONS[key]} {_n3(param)}, false)"
        if key in (SH.minLength, SH.maxLength):
            return f"isBlank({v}) || STRLEN(STR({v})) {'<' if key == SH.minLength else '>'} {_count(param)}"
        if key == SH.pattern:
            flags = list(self.g.objects(shape, SH.flags))
            args = _n3(Literal(str(param))) + (f", {_n3(Literal(str(flags[0])))}" if flags else "")
            return f"isBlank({v}) || !REGEX(STR({v}), {args})"
        if key == SH.languageIn:
            tags = " || ".join(f"langMatches(LANG({v}), {_n3(Literal(str(t)))})" for t in self.items(param))
            return f"!isLiteral({v}) || !({tags or 'false'})"
        if key == SH["in"]:
            return "!(" + (" || ".join(f"sameTerm({v}, {_n3(m)})" for m in self.items(param)) or "false") + ")"
        if key == SH.node:
            return f"!{self.conforms(param, v)}"
        if key == SH["not"]:
            return self.conforms(param, v)
        if key == SH["and"]:
            return "!(" + (" && ".join(self.conforms(m, v) for m in self.items(param)) or "true") + ")"
        if key == SH["or"]:
            return "!(" + (" || ".join(self.conforms(m, v) for m in self.items(param)) or "false") + ")"
        members = " + ".join(f"IF({self.conforms(m, v)}, 1, 0)" for m in self.items(param))  # sh:xone
        return f"({members or '0'}) != 1"

    def qualified(self, shape: Node, this: str, route: str | None, inner: Node) -> list[_Constraint]:
        """sh:qualifiedValueShape: the number of values conforming to it (and, when the shapes are
        to be disjoint, to none of the sibling shapes' qualified value shapes) within the bounds."""
        if route is None:
            raise UnsupportedShape(f"{_name(shape)}: sh:qualifiedValueShape on a node shape is not compiled")
        v = self.var("q")
        test = self.conforms(inner, v)
        if any(map(_true, self.g.objects(shape, SH.qualifiedValueShapesDisjoint))):
            siblings = {q for parent in self.g.subjects(SH.property, shape) for s in self.g.objects(parent, SH.property)
                        for q in self.g.objects(s, SH.qualifiedValueShape) if q != inner}
            test = " && ".join([test] + [f"!{self.conforms(q, v)}" for q in sorted(siblings, key=str)])
        least, most = (_count(self.g.value(shape, k)) for k in (SH.qualifiedMinCount, SH.qualifiedMaxCount))
        if not least and most is None:
            return []
        return [_Constraint(SH.qualifiedValueShape, inner, SH.QualifiedMinCountConstraintComponent, "", False, count=(
            least, most, v,
            f"{this} {route} {v} FILTER ({test})"),
            components=(SH.QualifiedMinCountConstraintComponent, SH.QualifiedMaxCountConstraintComponent))]

    def pairwise(self, shape: Node, key: Node, param: Node, this: str, value: str, route: str | None,
                 step: str) -> list[tuple[str, str | None]]:
        """The components that compare the value nodes with another property's values, or with each
        other (sh:equals is two patterns, one for each side's values missing on the other); each
        with its condition when it is a bare filter on `this`."""
        if key == SH.hasValue:
            condition = (f"!sameTerm({this}, {_n3(param)})" if route is None
                         else f"NOT EXISTS {{ {this} {route} {_n3(param)} }}")
            return [(f"{step} FILTER ({condition})" if route is None else f"FILTER ({condition})",
                     condition if route is not None or not step else None)]
        if value == this and key in (SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals, SH.closed):
            value = self.var("w")  # nested in a node shape: the value node is the focus node, renamed
            step = f"BIND ({this} AS {value})"
        if key == SH.closed:
            if route is not None:
                raise UnsupportedShape(f"{_name(shape)}: sh:closed on a property shape is not compiled")
            if not _true(param):
                return []
            allowed = {p for prop in self.g.objects(shape, SH.property) for p in [self.g.value(prop, SH.path)]
                       if isinstance(p, URIRef)}
            ignored = self.g.value(shape, SH.ignoredProperties)
            allowed |= set(self.items(ignored)) if ignored is not None else set()
            listed = ", ".join(map(_n3, sorted(allowed)))
            predicate = "?closedPath" if this == "?this" else self.var("cp")
            return [(f"{this} {predicate} {value} ." + (f" FILTER ({predicate} NOT IN ({listed}))" if listed else ""), None)]
        if key == SH.uniqueLang:
            if route is None:
                raise UnsupportedShape(f"{_name(shape)}: sh:uniqueLang on a node shape is not compiled")
            if not _true(param):
                return []
            other = self.var("u")  # one result per language tag used twice: ?uniqueLang tells them apart
            return [(f"{step} {this} {route} {other} . FILTER (LANG({value}) != \"\" && LANG({value}) = LANG({other}) "
                     f"&& !sameTerm({value}, {other})) BIND (LANG({value}) AS ?uniqueLang)", None)]
        if key == SH.equals:
            o = self.var("e")
            theirs = f"{this} {route} {o} ." if route else f"BIND ({this} AS {o})"
            return [(f"{step} FILTER NOT EXISTS {{ {this} {_n3(param)} {value} }}", None),
                    (f"{this} {_n3(param)} {value} . FILTER NOT EXISTS {{ {theirs} FILTER (sameTerm({o}, {value})) }}", None)]
        if key == SH.disjoint:
            return [(f"{step} {this} {_n3(param)} {value} .", None)]
        o = self.var("o")
        op = "<" if key == SH.lessThan else "<="
        return [(f"{step} {this} {_n3(param)} {o} . FILTER (!COALESCE({value} {op} {o}, false))", None)]


@dataclass(frozen=True)
class _Constraint:
    """One constraint at a focus node: its violation pattern, whether that binds a value, and
    its condition when the pattern is a bare FILTER (nested, `!condition` reads simpler than
    NOT EXISTS { FILTER }, for Oxigraph and for the rebuild's analysis). A count constraint
    has instead (least, most, the counted variable, the pattern reaching each value) and the
    components of its two bounds."""

    key: URIRef
    param: Node
    component: URIRef
    pattern: str
    has_value: bool
    condition: str | None = None
    count: tuple[int | None, int | None, str, str] | None = None
    components: tuple[URIRef, URIRef] | None = None


PAIRWISE = {SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals, SH.uniqueLang, SH.hasValue, SH.closed}


def _default_message(key: Node, param: Node) -> str:
    return f"breaks {key.n3(SH_NAMES)} {param.n3(SH_NAMES) if not isinstance(param, BNode) else '[...]'}"


SH_NAMES = Graph(bind_namespaces="core").namespace_manager
SH_NAMES.bind("sh", SH)


# SHACL-SPARQL (section 5.2.1) forbids these in a query whose variables are pre-bound; the pre-bound
# $shapesGraph and $currentShape are not supported by this engine (nor by Jena 4.5, which answers
# as if they were unbound).
FORBIDDEN = re.compile(r"\b(MINUS|SERVICE|VALUES)\b|\bAS\s*[?$](this|value|currentShape|shapesGraph)\b"
                       r"|[?$](shapesGraph|currentShape)\b", re.IGNORECASE)
STRINGS_AND_COMMENTS = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
                                  r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>\s]*>|#[^\n]*')


def prebinding_problem(query: str, selects: int = 1) -> str | None:
    """What a SHACL-SPARQL query uses that pre-binding rules out (MINUS, SERVICE, VALUES, a
    pre-bound variable bound again with AS, a nested SELECT beyond `selects`), or $shapesGraph /
    $currentShape; None if nothing."""
    code = STRINGS_AND_COMMENTS.sub(" ", query)
    found = FORBIDDEN.search(code)
    if found:
        return " ".join(found[0].split())
    return "a nested SELECT" if len(re.findall(r"\bSELECT\b", code, re.IGNORECASE)) > selects else None


def _filter_before_binding(query: str) -> str | None:
    """A FILTER inside a nested group whose group names $this: pre-bound, $this is bound there;
    joined, that group is evaluated before it is (W3C test pre-binding-005). None if there is none."""
    code = STRINGS_AND_COMMENTS.sub(" ", query)
    depth = 0
    for token in re.finditer(r"[{}]|\bFILTER\b", code, re.IGNORECASE):
        if token[0] in "{}":
            depth += 1 if token[0] == "{" else -1
        elif depth > 1:
            level, end = depth, token.end()
            while level >= depth and end < len(code):  # to the end of the FILTER's group
                level += {"{": 1, "}": -1}.get(code[end], 0)
                end += 1
            if re.search(r"[?$]this\b", code[token.end():end]):
                return "a FILTER on $this inside a nested group"
    return None


def compile_partially(shapes: Graph) -> Compiled:
    """The checks of every shape with a target that compiles, and the others with the reason."""
    return _Compiler(shapes).compile()


def compile_shapes(shapes: Graph) -> list[Check]:
    """Every constraint of `shapes` as one SPARQL query; UnsupportedShape (naming the feature) if
    any shape with a target does not compile."""
    compiled = compile_partially(shapes)
    if compiled.refused:
        raise UnsupportedShape(sorted(compiled.refused.values()))
    return compiled.checks


def _run(store: ox.Store, check: Check) -> list[Result]:
    results = []
    for row in store.query(check.query, use_default_graph_as_union=True):
        path, value = check.path, as_written(row["value"])
        if (predicate := row["closedPath"] or row["sparqlPath"]) is not None:
            path = f"<{predicate.value}>"
        value = value if value is not None else as_written(row["focusValue"])
        components = [check.component]
        if check.counted is not None:
            least, most, too_few, too_many = check.counted
            n = int(row["n"].value)
            components = [c for c, broken in ((too_few, least is not None and n < least),
                                              (too_many, most is not None and n > most)) if broken]
        results += [Result(as_written(row["this"]), path, value, check.shape, c, check.severity, check.message)
                    for c in components]
    return results


def store_of(triples: Iterable[tuple[Node, Node, Node]]) -> ox.Store:
    """An Oxigraph store holding the triples; UnsupportedShape if one holds a literal Oxigraph
    would store as another term ("4.0"^^xsd:decimal as "4"): this engine would then compare and
    report a term that is not in the data."""
    quads = [ox.Quad(*map(to_oxigraph_term, t)) for t in triples]
    store = ox.Store()
    store.extend(quads)
    written = {q.object for q in quads if isinstance(q.object, ox.Literal)}
    stored = {q.object for q in store.quads_for_pattern(None, None, None) if isinstance(q.object, ox.Literal)}
    if written - stored:
        changed = sorted(map(str, written - stored))
        raise UnsupportedShape(f"the data holds {changed[0]}, which Oxigraph stores in another form "
                               f"(its canonical one): the compiled engine cannot check it as written")
    return store


def find_violations(store: ox.Store, checks: list[Check]) -> list[Result]:
    """Run every compiled check over the union of the store's graphs, on all cores (Oxigraph
    evaluates a query without holding Python's lock), results in the order of the checks."""
    # the longest queries first (they tend to take longest), so that no core waits long at the end
    order = sorted(range(len(checks)), key=lambda i: -len(checks[i].query))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        running = {i: pool.submit(_run, store, checks[i]) for i in order}
        return [result for i in range(len(checks)) for result in running[i].result()]
