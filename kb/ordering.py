"""Oxigraph's ORDER BY in Python, so that rows computed apart can be merged into the order a full
run of the query gives.

The comparison is Oxigraph's own (spareval's `cmp_terms`, 0.5): unbound (or an expression that
fails) < blank nodes < IRIs < literals. Two literals of one family compare by value: numbers
across xsd:integer (and its derived types), decimal, float and double, with NaN after every other
number; each date and time type, on the time line; durations. Any other pair of literals (strings,
language strings, booleans, unknown datatypes, ill-typed values, or two families) compares by
(lexical form, datatype IRI, language tag). Strings thus come out by code point, each language
string just before the plain string of the same text.

That fallback disagrees with the values' own order (9 < 10, but "10" < "5" < "9"), so a condition
whose literals mix a family with other literals has no total order: Oxigraph then gives whatever
order its sort reaches from the order it found the rows in, as it does among rows that tie, or
(pyoxigraph 0.5.13) aborts the whole process when Rust's sort notices the inconsistency.
`RowOrder.ties` says when either can happen; the caller must then not merge.
"""

from __future__ import annotations

import math
import re
import struct
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Context, Decimal
from functools import cmp_to_key
from itertools import pairwise
from typing import TypeVar

import pyoxigraph as ox
from rdflib.term import Variable

from kb.errors import TradeKBError
from kb.queries import Term
from kb.terms import XSD_STRING

XSD = "http://www.w3.org/2001/XMLSchema#"
Row = tuple[Term | None, ...]
Item = TypeVar("Item")


class UnsupportedOrder(TradeKBError):
    """The query's order cannot be computed in Python: run the query whole."""


@dataclass(frozen=True)
class Condition:
    """One ORDER BY condition: a projected column, the functions (STR, LCASE, UCASE) applied to it,
    innermost first, and its direction. Plain data, so that an order can be pickled with the keys."""

    column: int
    functions: tuple[str, ...]
    descending: bool

    def value(self, row: Row) -> Term | None:
        """The row's value for the condition: None when unbound, or when a function fails."""
        term = row[self.column]
        for name in self.functions:
            term = _FUNCTIONS[name](term)
        return term


@dataclass(frozen=True)
class RowOrder:
    """The order of a SELECT query's rows, as Oxigraph sorts them."""

    conditions: tuple[Condition, ...]

    @classmethod
    def of(cls, query_text: str, variables: list[str]) -> RowOrder:
        """The order of the query's outer ORDER BY over its projected `variables` (no conditions
        without one); UnsupportedOrder for a condition Python cannot evaluate from the row.

        >>> order = RowOrder.of("SELECT ?a ?b WHERE { ?a ?p ?b } ORDER BY DESC(LCASE(?b)) ?a", ["a", "b"])
        >>> rows = [(ox.NamedNode("http://x/2"), ox.Literal("b")), (ox.NamedNode("http://x/1"), ox.Literal("B")),
        ...         (ox.NamedNode("http://x/3"), ox.Literal("a"))]
        >>> [row[0].value for row in order.sort(rows, key=order.key)]
        ['http://x/1', 'http://x/2', 'http://x/3']
        >>> RowOrder.of("SELECT ?a WHERE { ?a ?p ?b } ORDER BY ?b", ["a"])
        Traceback (most recent call last):
        kb.ordering.UnsupportedOrder: ORDER BY ?b: the variable is not projected
        """
        # imported here: a rebuild only merges rows, and need not import the parser (see kb.dependencies)
        from rdflib.plugins.sparql.algebra import translateQuery
        from rdflib.plugins.sparql.parser import parseQuery
        node = translateQuery(parseQuery(query_text)).algebra
        if node.name != "SelectQuery":
            raise UnsupportedOrder(f"a {node.name} has no rows to order")
        node = node.p
        if node.name == "Slice":  # the rows kept depend on every other row: nothing to merge
            raise UnsupportedOrder("LIMIT or OFFSET: the rows kept depend on all the others")
        while node.name in ("Distinct", "Reduced", "Project"):
            node = node.p
        if node.name != "OrderBy":
            return cls(())
        return cls(tuple(_condition(c.expr, variables, c.order == "DESC") for c in node.expr))

    def key(self, row: Row) -> tuple:
        """The row's sort key, one tuple per condition, of plain values (picklable, comparable with
        the keys of other rows of the same query)."""
        return tuple(_term_key(condition.value(row)) for condition in self.conditions)

    def sort(self, items: Iterable[Item], key: Callable[[Item], tuple]) -> list[Item]:
        """`items` in the query's order, by their `key` (from RowOrder.key): one stable sort per
        condition, the last first, so that DESC reverses only its own condition."""
        keyed = [(key(item), item) for item in items]
        for i in reversed(range(len(self.conditions))):
            keyed.sort(key=lambda pair: pair[0][i], reverse=self.conditions[i].descending)
        return [item for _, item in keyed]

    def merge(self, ordered: list[Item], others: Iterable[Item], key: Callable[[Item], tuple]) -> list[Item]:
        """`ordered` (already in the query's order) with `others` put in their places: for a few
        others, a binary search each, not a sort of them all."""
        merged = list(ordered)
        compare = cmp_to_key(self._compare)
        for item in others:
            merged.insert(bisect_right(merged, compare(key(item)), key=lambda other: compare(key(other))), item)
        return merged

    def _compare(self, a: tuple, b: tuple) -> int:
        for condition, x, y in zip(self.conditions, a, b):
            if x != y:
                return (1 if x > y else -1) * (-1 if condition.descending else 1)
        return 0

    def ties(self, keys_in_order: Iterable[tuple]) -> bool:
        """Whether Oxigraph, not the query, decides the order of some of these rows (given by their
        keys, in order): two rows tie on every condition, or, as good as a tie, a condition mixes
        literals of a family with other literals, or dates with and without a time zone, or
        integers or decimals that Oxigraph rounds to compare them with floats and doubles, or
        durations of which one has more months and the other more seconds (where Oxigraph's
        comparison is, or may be, no total order)."""
        keys = list(keys_in_order)
        if any(a == b for a, b in pairwise(keys)):
            return True
        return any(_not_total([key[i] for key in keys]) for i in range(len(self.conditions)))


# --------------------------------------------------------------------------------------------
# The ORDER BY expressions: a projected variable, and STR, LCASE, UCASE of an expression
# --------------------------------------------------------------------------------------------

def _condition(expr, variables: list[str], descending: bool) -> Condition:
    from rdflib.plugins.sparql.parserutils import CompValue
    functions = []
    while isinstance(expr, CompValue) and expr.name.removeprefix("Builtin_") in _FUNCTIONS:
        functions.append(expr.name.removeprefix("Builtin_"))
        expr = expr.arg
    if not isinstance(expr, Variable):
        shown = expr.name.removeprefix("Builtin_") if isinstance(expr, CompValue) else repr(expr)
        raise UnsupportedOrder(f"ORDER BY {shown}: only projected variables and STR, LCASE, UCASE of them")
    if str(expr) not in variables:
        raise UnsupportedOrder(f"ORDER BY ?{expr}: the variable is not projected")
    return Condition(variables.index(str(expr)), tuple(reversed(functions)), descending)


def _str(term: Term | None) -> Term | None:
    if isinstance(term, (ox.NamedNode, ox.Literal)):
        return ox.Literal(term.value)
    return None  # STR of a blank node is an error


def _changing_case(change: Callable[[str], str]) -> Callable[[Term | None], Term | None]:
    """LCASE or UCASE: defined on strings and language strings only (Rust's Unicode case mapping,
    as Python's: "ß" -> "SS", final sigma)."""
    def apply(term: Term | None) -> Term | None:
        if isinstance(term, ox.Literal) and (term.language or term.datatype.value == XSD_STRING):
            return ox.Literal(change(term.value), language=term.language, direction=term.direction)
        return None
    return apply


_FUNCTIONS = {"STR": _str, "LCASE": _changing_case(str.lower), "UCASE": _changing_case(str.upper)}


# --------------------------------------------------------------------------------------------
# Keys: (0,) unbound, (1, id) blank node, (2, IRI), (3, family, ...) literal
# --------------------------------------------------------------------------------------------

LEXICAL = ""  # the family of literals compared by (lexical form, datatype, language)
NUMBER = "number"
DURATION = "duration"


def _term_key(term: Term | None) -> tuple:
    if term is None:
        return (0,)
    if isinstance(term, ox.BlankNode):
        return (1, term.value)
    if isinstance(term, ox.NamedNode):
        return (2, term.value)
    datatype = term.datatype.value
    parse = None if term.language else _PARSERS.get(datatype)
    valued = parse(term.value) if parse else None
    if valued is not None:
        return (3, *valued)
    lexical = _BOOLEANS.get(term.value, term.value) if datatype == XSD + "boolean" else term.value
    return (3, LEXICAL, lexical, datatype, term.language or "")


def _not_total(keys: list[tuple]) -> bool:
    """Whether Oxigraph's comparison of these keys' literals is not the keys' own order."""
    families = {key[1] for key in keys if key[0] == 3}
    if len(families) > 1:
        return True
    if families == {NUMBER}:
        numbers = [key[3] for key in keys if key[:3] == (3, NUMBER, 0)]
        return (any(isinstance(n, float) for n in numbers)
                and not all(isinstance(n, float) or _binary_exact(n) for n in numbers))
    if families == {DURATION}:
        durations = sorted({key[2:] for key in keys if key[0] == 3})
        return any(a[1] > b[1] for a, b in pairwise(durations))  # more months, fewer seconds
    return False


# Numbers: (NUMBER, 0, value) with value an int, Decimal or float; NaN is (NUMBER, 1, datatype),
# after every number (its fallback lexical form "NaN" sorts after digits, "-" and "INF").

_BOOLEANS = {"1": "true", "0": "false"}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_FLOAT = re.compile(r"[+-]?(?:inf|infinity|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?)", re.IGNORECASE)
_SCALE = 10 ** 18  # Oxigraph's xsd:decimal: an i128 count of 10^-18
_WIDE = Context(prec=60)


def _integer(text: str) -> tuple | None:
    if _INTEGER.fullmatch(text) and -2 ** 63 <= int(text) < 2 ** 63:
        return (NUMBER, 0, int(text))
    return None


def _decimal_value(text: str) -> Decimal | None:
    """An xsd:decimal as Oxigraph reads it: at most 18 digits after the point (trailing zeros
    aside), within an i128 of 10^-18."""
    if not _DECIMAL.fullmatch(text) or len(text.partition(".")[2].rstrip("0")) > 18:
        return None
    value = Decimal(text)
    return value if -2 ** 127 <= _scaled(value) < 2 ** 127 else None


def _scaled(value: Decimal) -> int:
    return int(value.scaleb(18, _WIDE))


def _decimal(text: str) -> tuple | None:
    value = _decimal_value(text)
    return None if value is None else (NUMBER, 0, value)


def _floating(datatype: str, width: Callable[[float], float]) -> Callable[[str], tuple | None]:
    """A parser of xsd:double or xsd:float (Rust's grammar for f64 and f32, then the value's width)."""
    def parse(text: str) -> tuple | None:
        if not _FLOAT.fullmatch(text):
            return None
        value = width(float(text))
        return (NUMBER, 1, datatype) if math.isnan(value) else (NUMBER, 0, value)
    return parse


def _single(value: float) -> float:
    """The nearest xsd:float (an f32), as Rust's cast rounds."""
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def _binary_exact(number: int | Decimal) -> bool:
    """Whether Oxigraph turns this integer or decimal into a double and a float without rounding:
    it compares them with doubles and floats that way, and then exactly as Python compares values."""
    if isinstance(number, int):
        double = float(number)
    else:  # Oxigraph's Double::from(Decimal): the i128 over its power of ten, trailing zeros dropped
        value, shift = _scaled(number), _SCALE
        while value and shift != 1 and value % 10 == 0:
            value, shift = value // 10, shift // 10
        double = float(value) / float(shift)
    return double == number and _single(double) == double


# Dates and times: (type, or type + " local" without a time zone, seconds on the time line, fraction).

_YEAR = r"(?P<year>-?(?:[1-9][0-9]{3,}|0[0-9]{3}))"
_MONTH = r"(?P<month>0[1-9]|1[0-2])"
_DAY = r"(?P<day>0[1-9]|[12][0-9]|3[01])"
_TIME = (r"(?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9]):(?P<second>[0-5][0-9](?:\.[0-9]+)?)"
         r"|(?P<midnight>24:00:00(?:\.0+)?)")
_ZONE = r"(?P<zone>Z|(?P<sign>[+-])(?P<zh>0[0-9]|1[0-3]|14(?=:00)):(?P<zm>[0-5][0-9]))?"
_CALENDAR = {name: re.compile(pattern + _ZONE) for name, pattern in {
    "dateTime": f"{_YEAR}-{_MONTH}-{_DAY}T(?:{_TIME})", "date": f"{_YEAR}-{_MONTH}-{_DAY}",
    "time": f"(?:{_TIME})", "gYearMonth": f"{_YEAR}-{_MONTH}", "gYear": _YEAR,
    "gMonthDay": f"--{_MONTH}-{_DAY}", "gDay": f"---{_DAY}", "gMonth": f"--{_MONTH}"}.items()}


def _calendar(name: str) -> Callable[[str], tuple | None]:
    """A parser of one date or time type, placing a value on the time line: the parts it lacks are
    the same for every value of the type (1972-12-01T00:00:00), so its order is the type's own."""
    pattern = _CALENDAR[name]

    def parse(text: str) -> tuple | None:
        m = pattern.fullmatch(text)
        if m is None:
            return None
        parts = m.groupdict()
        fraction = Decimal(0)
        seconds = 86400 if parts.get("midnight") else 0
        if parts.get("hour"):
            second = _decimal_value(parts["second"])
            if second is None:
                return None
            fraction = second % 1
            seconds = int(parts["hour"]) * 3600 + int(parts["minute"]) * 60 + int(second)
        try:
            day = _day_number(int(parts.get("year") or 1972), int(parts.get("month") or 12), int(parts.get("day") or 1))
        except ValueError:  # 30 February
            return None
        fraction = fraction or 0  # a whole second: 0 compares as Decimal(0) does, and pickles 20x faster
        if parts["zone"] is None:
            return (f"{name} local", day * 86400 + seconds, fraction)
        offset = 0 if parts["zone"] == "Z" else int(parts["zh"]) * 60 + int(parts["zm"])
        return (name, day * 86400 + seconds - (offset if parts["sign"] == "+" else -offset) * 60, fraction)
    return parse


def _day_number(year: int, month: int, day: int) -> int:
    """Days since an epoch in the proleptic Gregorian calendar, for any year (the calendar repeats
    every 400 years, 146097 days); ValueError for a day the month lacks."""
    cycles, year = divmod(year, 400)
    return cycles * 146097 + date(year + 400, month, day).toordinal()


_DURATION = re.compile(r"(?P<sign>-)?P(?=.)(?:(?P<Y>[0-9]+)Y)?(?:(?P<M>[0-9]+)M)?(?:(?P<D>[0-9]+)D)?"
                       r"(?:T(?=.)(?:(?P<h>[0-9]+)H)?(?:(?P<m>[0-9]+)M)?(?:(?P<s>[0-9]+(?:\.[0-9]+)?)S)?)?")


def _duration(kind: str) -> Callable[[str], tuple | None]:
    """A parser of xsd:duration, yearMonthDuration (months only) or dayTimeDuration (days and time
    only): (DURATION, months, seconds)."""
    def parse(text: str) -> tuple | None:
        m = _DURATION.fullmatch(text)
        if m is None or text.endswith("T"):
            return None
        p = {k: v for k, v in m.groupdict().items() if v is not None and k != "sign"}
        if (kind == "yearMonth" and p.keys() - {"Y", "M"}) or (kind == "dayTime" and p.keys() & {"Y", "M"}):
            return None
        seconds = _decimal_value(p.get("s", "0"))
        if seconds is None:
            return None
        months = int(p.get("Y", 0)) * 12 + int(p.get("M", 0))
        seconds += int(p.get("D", 0)) * 86400 + int(p.get("h", 0)) * 3600 + int(p.get("m", 0)) * 60
        return (DURATION, -months, -seconds) if m["sign"] else (DURATION, months, seconds)
    return parse


_INTEGER_TYPES = ("integer", "byte", "short", "int", "long", "unsignedByte", "unsignedShort", "unsignedInt",
                  "unsignedLong", "positiveInteger", "negativeInteger", "nonPositiveInteger", "nonNegativeInteger")
_PARSERS: dict[str, Callable[[str], tuple | None]] = {
    **{XSD + name: _integer for name in _INTEGER_TYPES},
    XSD + "decimal": _decimal,
    XSD + "double": _floating(XSD + "double", float),
    XSD + "float": _floating(XSD + "float", _single),
    **{XSD + name: _calendar(name) for name in _CALENDAR},
    XSD + "duration": _duration(""),
    XSD + "yearMonthDuration": _duration("yearMonth"),
    XSD + "dayTimeDuration": _duration("dayTime"),
}
