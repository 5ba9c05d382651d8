"""A fast SHACL path: each constraint of the shapes compiled to one SPARQL query over the whole store.

pySHACL evaluates constraints focus node by focus node in Python, minutes for a million triples.
The same constraints asked as one query each, of the Oxigraph store the build has already loaded,
take seconds. Only the SHACL features our shapes use are compiled; anything else is refused with
an error naming it, never silently skipped. The tests hold this engine to pySHACL's verdicts on
every failing fixture and on a generated corpus with planted defects.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH
from rdflib.term import Node

from kb.errors import TradeKBError

SUBCLASS = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>/<http://www.w3.org/2000/01/rdf-schema#subClassOf>*"
# Keys of a property shape that only describe it: not constraints.
DESCRIPTIVE = {SH.path, SH.message, SH.name, SH.description, SH.severity, SH.order, SH.group,
               RDF.type, SH.deactivated}
NODE_DESCRIPTIVE = DESCRIPTIVE | {SH.targetClass, SH.target, SH.property, URIRef(
    "http://www.w3.org/2000/01/rdf-schema#comment"), URIRef("http://www.w3.org/2000/01/rdf-schema#label")}


@dataclass(frozen=True)
class Finding:
    """One violation: the focus node, the path (None for a node constraint), the value if any."""

    focus: str
    path: Node | None
    value: str | None
    node_shape: URIRef
    message: str


@dataclass(frozen=True)
class CountRange:
    """A lower and an upper bound on a count checked by one query (each count is a GROUP BY over
    the whole store, so a min and a max on the same values are counted once, not twice)."""

    least: int | None
    most: int | None
    too_few: str
    too_many: str

    def test(self) -> str:
        """The SPARQL condition that a count ?n breaks a bound."""
        broken = []
        if self.least is not None:
            broken.append(f"?n < {self.least}")
        if self.most is not None:
            broken.append(f"?n > {self.most}")
        return " || ".join(broken)

    def message(self, n: int) -> str:
        return self.too_few if self.least is not None and n < self.least else self.too_many


@dataclass(frozen=True)
class Check:
    """One compiled constraint: its query and what to say when it returns a row (for a count
    check, which bound the row's ?n breaks)."""

    node_shape: URIRef
    path: Node | None
    message: str
    query: str
    counts: CountRange | None = None


class UnsupportedShape(TradeKBError):
    """The shapes use a SHACL feature this engine does not compile: use pyshacl or jena."""


def _n3(term: Node) -> str:
    return term.n3()


XSD = "http://www.w3.org/2001/XMLSchema#"


def _not_of_datatype(datatype: URIRef) -> str:
    """A filter true when ?value is not a literal of `datatype`.

    Oxigraph stores the types derived from xsd:integer as xsd:integer, so a shape naming one of
    them is refused rather than checked wrongly (use xsd:integer with sh:minInclusive).
    """
    if str(datatype).startswith(XSD) and str(datatype)[len(XSD):] in (
            "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger", "int", "long",
            "short", "byte", "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte"):
        raise UnsupportedShape(f"sh:datatype {datatype.n3()} is not compiled (Oxigraph stores it as xsd:integer)")
    return f"!isLiteral(?value) || DATATYPE(?value) != {_n3(datatype)}"


class _Compiler:
    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes
        self.checks: list[Check] = []

    def _list(self, head: Node) -> list[Node]:
        return list(Collection(self.shapes, head))

    def compile(self) -> list[Check]:
        for shape in sorted(set(self.shapes.subjects(RDF.type, SH.NodeShape))):
            if not isinstance(shape, URIRef) or (shape, SH.deactivated, Literal(True)) in self.shapes:
                continue
            focus = self._focus(shape)
            if focus is None:
                continue
            message = self._message(shape)
            for key, value in self.shapes.predicate_objects(shape):
                if key in NODE_DESCRIPTIVE or key == SH.message or key in (SH.declare, SH.prefixes):
                    continue
                if key in (SH["or"], SH.xone, SH["not"], SH["and"], SH["class"]):
                    expr = self._conforms_expr(shape, only=key)
                    self._add(shape, None, message or f"does not conform to {key.n3()}",
                              f"SELECT DISTINCT ?this WHERE {{ {focus} FILTER (!({expr})) }}")
                else:
                    raise UnsupportedShape(f"{shape.n3()}: node constraint {key.n3()} is not compiled")
            for prop in self.shapes.objects(shape, SH.property):
                if (prop, SH.deactivated, Literal(True)) in self.shapes:
                    continue
                self._property(shape, focus, prop, message)
        return self.checks

    def _add(self, shape: URIRef, path: Node | None, message: str, query: str,
             counts: CountRange | None = None) -> None:
        self.checks.append(Check(shape, path, message, query, counts))

    def _count(self, shape: URIRef, path: Node, counted: str, counts: CountRange) -> None:
        """One query for both bounds on the number of values `counted` (a subquery binding ?n)."""
        self._add(shape, path, counts.too_few if counts.least is not None else counts.too_many,
                  f"SELECT ?this ?n WHERE {{ {counted} FILTER ({counts.test()}) }}", counts)

    def _message(self, shape: Node) -> str:
        messages = sorted(str(m) for m in self.shapes.objects(shape, SH.message))
        return messages[0] if messages else ""

    def prologue(self) -> str:
        """PREFIX lines for every sh:declare of the shapes (SPARQL targets use them)."""
        declared = {(str(self.shapes.value(d, SH.prefix)), str(self.shapes.value(d, SH.namespace)))
                    for d in self.shapes.objects(None, SH.declare)}
        return "\n".join(f"PREFIX {prefix}: <{namespace}>" for prefix, namespace in sorted(declared))

    def _focus(self, shape: URIRef) -> str | None:
        """A group pattern binding ?this to each focus node of the shape (None: no target)."""
        parts = [f"{{ ?this {SUBCLASS} {_n3(c)} }}" for c in sorted(self.shapes.objects(shape, SH.targetClass))]
        for target in self.shapes.objects(shape, SH.target):
            select = self.shapes.value(target, SH.select)
            if select is None:
                raise UnsupportedShape(f"{shape.n3()}: only SPARQL targets (sh:select) are compiled")
            parts.append(f"{{ {select} }}")
        for key in (SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf):
            if (shape, key, None) in self.shapes:
                raise UnsupportedShape(f"{shape.n3()}: {key.n3()} is not compiled")
        return " UNION ".join(parts) if parts else None

    def _path(self, prop: Node, subject: str = "?this", obj: str = "?value") -> tuple[Node, str]:
        """The shape's path, and a triple pattern from `subject` along it to `obj`."""
        path = self.shapes.value(prop, SH.path)
        if isinstance(path, URIRef):
            return path, f"{subject} {_n3(path)} {obj}"
        inverse = self.shapes.value(path, SH.inversePath)
        if isinstance(inverse, URIRef):
            return path, f"{obj} {_n3(inverse)} {subject}"
        raise UnsupportedShape(f"path {path!r} is not compiled (only IRIs and sh:inversePath)")

    def _property(self, shape: URIRef, focus: str, prop: Node, node_message: str) -> None:
        path, step = self._path(prop)
        message = self._message(prop) or node_message
        seen = set()
        for key, value in sorted(self.shapes.predicate_objects(prop)):
            if key in DESCRIPTIVE or key in seen:
                continue
            seen.add(key)
            per_value = f"SELECT DISTINCT ?this ?value WHERE {{ {focus} {step} . FILTER (%s) }}"
            if key in (SH.minCount, SH.maxCount):
                least, most = self.shapes.value(prop, SH.minCount), self.shapes.value(prop, SH.maxCount)
                seen |= {SH.minCount, SH.maxCount}
                if most is None and int(least) == 1:
                    self._add(shape, path, message or "fewer than 1 values",
                              f"SELECT DISTINCT ?this WHERE {{ {focus} FILTER NOT EXISTS {{ {step} }} }}")
                    continue
                # without a lower bound a node with no value breaks nothing: no OPTIONAL needed
                optional = f"OPTIONAL {{ {step} }}" if least is not None else step
                self._count(shape, path, f"{{ SELECT ?this (COUNT(DISTINCT ?value) AS ?n) WHERE {{ {focus} "
                                         f"{optional} }} GROUP BY ?this }}",
                            CountRange(None if least is None else int(least), None if most is None else int(most),
                                       message or f"fewer than {least} values", message or f"more than {most} values"))
            elif key == SH.datatype:
                self._add(shape, path, message or f"value is not of datatype {value.n3()}",
                          per_value % _not_of_datatype(value))
            elif key == SH["class"]:
                self._add(shape, path, message or f"value is not a {value.n3()}",
                          per_value % f"NOT EXISTS {{ ?value {SUBCLASS} {_n3(value)} }}")
            elif key == SH["in"]:
                members = ", ".join(_n3(m) for m in self._list(value))
                self._add(shape, path, message or "value is not in the list", per_value % f"?value NOT IN ({members})")
            elif key in (SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive):
                op = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">", SH.maxExclusive: "<"}[key]
                self._add(shape, path, message or f"not {op} {value}",
                          per_value % f"!COALESCE(?value {op} {_n3(value)}, false)")
            elif key == SH.minLength:
                self._add(shape, path, message or f"shorter than {value}",
                          per_value % f"isBlank(?value) || STRLEN(STR(?value)) < {int(value)}")
            elif key in (SH.lessThan, SH.lessThanOrEquals):
                op = "<" if key == SH.lessThan else "<="
                self._add(shape, path, message or f"not {op} {value.n3()}",
                          f"SELECT DISTINCT ?this ?value WHERE {{ {focus} {step} . ?this {_n3(value)} ?other . "
                          f"FILTER (!COALESCE(?value {op} ?other, false)) }}")
            elif key == SH.disjoint:
                self._add(shape, path, message or f"shares a value with {value.n3()}",
                          f"SELECT DISTINCT ?this ?value WHERE {{ {focus} {step} . ?this {_n3(value)} ?value }}")
            elif key == SH.hasValue:
                _, has = self._path(prop, obj=_n3(value))
                self._add(shape, path, message or f"lacks the value {value.n3()}",
                          f"SELECT DISTINCT ?this WHERE {{ {focus} FILTER NOT EXISTS {{ {has} }} }}")
            elif key == SH.node:
                inner = f"{{ SELECT DISTINCT ?this ?value WHERE {{ {focus} {step} }} }}"
                expr = self._conforms_expr(value, subject="?value")
                self._add(shape, path, message or f"value does not conform to {value.n3()}",
                          f"SELECT DISTINCT ?this ?value WHERE {{ {inner} FILTER (!({expr})) }}")
            elif key == SH.qualifiedValueShape:
                cls = self.shapes.value(value, SH["class"])
                if cls is None or set(self.shapes.predicates(value)) - {SH["class"], RDF.type}:
                    raise UnsupportedShape(f"{shape.n3()}: only sh:class qualified value shapes are compiled")
                low = self.shapes.value(prop, SH.qualifiedMinCount)
                high = self.shapes.value(prop, SH.qualifiedMaxCount)
                counted = (f"{{ SELECT ?this (COUNT(DISTINCT ?value) AS ?n) WHERE {{ {focus} OPTIONAL {{ {step} . "
                           f"?value {SUBCLASS} {_n3(cls)} }} }} GROUP BY ?this }}")
                self._count(shape, path, counted,
                            CountRange(None if low is None else int(low), None if high is None else int(high),
                                       message or f"qualified count < {low}", message or f"qualified count > {high}"))
                seen |= {SH.qualifiedMinCount, SH.qualifiedMaxCount}
            elif key in (SH.qualifiedMinCount, SH.qualifiedMaxCount):
                continue
            else:
                raise UnsupportedShape(f"{shape.n3()}: property constraint {key.n3()} is not compiled")

    def _conforms_expr(self, shape: Node, subject: str = "?this", only: Node | None = None) -> str:
        """A SPARQL boolean expression: does `subject` conform to `shape` (its logical constraints)?"""
        parts = []
        for key, value in self.shapes.predicate_objects(shape):
            if only is not None and key != only:
                continue
            if key == SH["class"]:
                parts.append(f"EXISTS {{ {subject} {SUBCLASS} {_n3(value)} }}")
            elif key == SH["not"]:
                parts.append(f"!({self._conforms_expr(value, subject)})")
            elif key == SH["or"]:
                parts.append("(" + " || ".join(self._conforms_expr(m, subject) for m in self._list(value)) + ")")
            elif key == SH["and"]:
                parts.append("(" + " && ".join(self._conforms_expr(m, subject) for m in self._list(value)) + ")")
            elif key == SH.xone:
                members = " + ".join(f"IF({self._conforms_expr(m, subject)}, 1, 0)" for m in self._list(value))
                parts.append(f"(({members}) = 1)")
            elif key == SH.property:
                parts.append(self._conforms_expr(value, subject))
            elif key == SH.path:
                continue
            elif key == SH.hasValue:
                _, step = self._path(shape, subject, _n3(value))
                parts.append(f"EXISTS {{ {step} }}")
            elif key == SH.minCount and int(value) == 1:
                _, step = self._path(shape, subject, "?any")
                parts.append(f"EXISTS {{ {step} }}")
            elif key in DESCRIPTIVE or key in NODE_DESCRIPTIVE:
                continue
            else:
                raise UnsupportedShape(f"{shape.n3() if isinstance(shape, URIRef) else 'a nested shape'}: "
                                       f"{key.n3()} is not compiled inside a logical constraint")
        return " && ".join(parts) if parts else "true"


def compile_shapes(shapes: Graph) -> list[Check]:
    """Every constraint of `shapes` as one SPARQL query; UnsupportedShape if a feature is not compiled."""
    compiler = _Compiler(shapes)
    prologue = compiler.prologue()
    return [Check(c.node_shape, c.path, c.message, f"{prologue}\n{c.query}") for c in compiler.compile()]


def _run(store: ox.Store, check: Check) -> list[Finding]:
    solutions = store.query(check.query, use_default_graph_as_union=True)
    has_value = "value" in {v.value for v in solutions.variables}
    return [Finding(row["this"].value, check.path, str(row["value"]) if has_value else None, check.node_shape,
                    check.counts.message(int(row["n"].value)) if check.counts else check.message)
            for row in solutions]


def find_violations(store: ox.Store, checks: list[Check]) -> list[Finding]:
    """Run every compiled check over the union of the store's graphs, on all cores (Oxigraph
    evaluates a query without holding Python's lock), findings in the order of the checks."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return [finding for found in pool.map(lambda check: _run(store, check), checks) for finding in found]
