"""Which result rows a change of the graph can affect, so that a rebuild recomputes only those.

Pick a key variable ?k of a SELECT. The rows with ?k = n can differ between two graphs only if a
derivation of them (in either graph) matches a changed quad. A derivation reaches each pattern it
matches along a path of patterns from ?k; along that path the first changed quad is reached from n
by unchanged quads, which are in both graphs. So n is affected only if, in the NEW graph, n reaches
along some prefix path x, and x is the subject (or object) of a changed quad with the next step's
predicate. `analyse` finds those prefix paths (the probes) once per query; `affected_keys` asks
them of one `Delta`; `restrict` makes the query compute only the affected keys' rows.

Which paths a derivation is sure to have matched is the crux, and the analysis refuses
(`NotLocal`) whatever it cannot prove:

- Routes (paths from ?k) are followed only through mandatory patterns. A pattern inside OPTIONAL,
  MINUS, (NOT) EXISTS is entered only through a variable that the pattern on its left (for
  EXISTS: the group it filters) binds in every solution: otherwise that group is evaluated
  unconstrained and its answer depends on the whole graph. A route found inside such a group
  stays in it. UNION branches are entered from the group around them, and a variable every
  branch binds leaves the UNION with the alternative of the branches' routes.
- A variable a group may leave unbound carries a route only when every place that can bind it
  has one (their alternative); a BIND or MIN/MAX/SAMPLE is a route when its value is one of its
  variables' values (COALESCE, IF, a plain variable; IRI(STR(...)) gives a *lexical* route, the
  value being the IRI spelt like that node). Constants, and VALUES, are leaves: not traversed.
- A sub-SELECT is a scope: its unprojected variables are its own. With GROUP BY it is entered only
  through its group keys (each group's rows are then all reached); an aggregate with no GROUP BY,
  LIMIT/OFFSET, GRAPH, SERVICE and FROM are refused. An outer GROUP BY must group by ?k.
- Every triple pattern must be entered; ?k must be projected and bound by a mandatory triple
  pattern of the outer query; and for `restrict`, binding ?k at the top of the outer WHERE and of
  each sub-SELECT that projects it must not change what an OPTIONAL, MINUS or BIND there sees.

Blank nodes: a changed quad's blank node is bound as a term (one query each), but a key that is
a blank node cannot be written in VALUES: `restrict` refuses it and the query is run in full.

>>> deps = analyse("SELECT ?s ?o WHERE { ?s <http://x/p>/<http://x/q> ?o }")
>>> deps.key, [(p.path, sorted(p.predicates)) for p in deps.probes]
('s', [(None, ['http://x/p']), ('<http://x/p>', ['http://x/q'])])
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef, Variable
from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, SequencePath

from kb.queries import Term

# rdflib's SPARQL parser is imported only where a query is analysed, which a full build does: a
# rebuild only asks the probes it keeps, and importing the parser took 0.15 s of each rebuild.
if TYPE_CHECKING:
    from rdflib.plugins.sparql.parserutils import CompValue


class NotLocal(Exception):
    """The query's rows cannot be recomputed key by key (the reason says why): recompute it in full."""


@dataclass(frozen=True)
class Probe:
    """One way a changed quad can reach a key: the keys n with `n path x` in the new graph, for x
    the subject (or, `inverse`, the object) of a changed quad whose predicate is one of
    `predicates` (None: any). `path` None: x is the key itself. `lexical`: x may also be a literal
    spelt like the changed quad's IRI (the query turned a node's text into an IRI with IRI())."""

    path: str | None
    inverse: bool
    predicates: frozenset[str] | None
    lexical: bool = False


@dataclass(frozen=True)
class Dependencies:
    """A query's key variable (no '?'), its probes, and where in the query's text `restrict` binds
    the key (the outer WHERE and every sub-SELECT that projects it), from the end backwards."""

    key: str
    probes: tuple[Probe, ...]
    points: tuple[int, ...]


# --------------------------------------------------------------------------------------------
# Property paths, as small hashable trees: ("eps",) the empty path; ("link", iri, inverse);
# ("any", inverse) a variable predicate; ("neg", forward, inverse) a negated property set, kept
# as the directions it steps in (any predicate: a superset, which a route may always be);
# ("seq", parts); ("alt", parts); ("mod", part, "*" | "+" | "?").
# --------------------------------------------------------------------------------------------

EPS = ("eps",)
# Any predicate, forwards: Oxigraph does not take the empty negated set !().
ANY = "(<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>|!<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>)"


def _seq(*parts: tuple) -> tuple:
    flat = [q for p in parts for q in (p[1] if p[0] == "seq" else (p,)) if p != EPS and q != EPS]
    return EPS if not flat else flat[0] if len(flat) == 1 else ("seq", tuple(flat))


def _alt(*parts: tuple) -> tuple:
    flat = {q for p in parts for q in (p[1] if p[0] == "alt" else (p,))}
    ordered = sorted(flat, key=_render)
    return ordered[0] if len(ordered) == 1 else ("alt", tuple(ordered))


def _reverse(p: tuple) -> tuple:
    kind = p[0]
    if kind == "link":
        return ("link", p[1], not p[2])
    if kind == "any":
        return ("any", not p[1])
    if kind == "neg":
        return ("neg", p[2], p[1])
    if kind == "seq":
        return _seq(*(_reverse(q) for q in reversed(p[1])))
    if kind == "alt":
        return _alt(*(_reverse(q) for q in p[1]))
    if kind == "mod":
        return ("mod", _reverse(p[1]), p[2])
    return p


def _render(p: tuple) -> str:
    """SPARQL property-path syntax (EPS renders as "", never asked for alone)."""
    kind = p[0]
    if kind == "link":
        return ("^" if p[2] else "") + f"<{p[1]}>"
    if kind == "any":
        return ("^" if p[1] else "") + ANY
    if kind == "neg":
        return "(" + "|".join([ANY] * p[1] + ["^" + ANY] * p[2]) + ")"
    if kind == "seq":
        return "/".join(_group(q) for q in p[1])
    if kind == "alt":
        if EPS in p[1]:
            return f"({_render(_alt(*(q for q in p[1] if q != EPS)))})?"
        return "|".join(_group(q) for q in p[1])
    if kind == "mod":
        return _group(p[1], always=p[1][0] != "link" or p[1][2]) + p[2]
    return ""


def _group(p: tuple, always: bool = False) -> str:
    return f"({_render(p)})" if always or p[0] in ("seq", "alt") else _render(p)


def _hops(p: tuple) -> int:
    kind = p[0]
    if kind == "eps":
        return 0
    if kind == "seq":
        return sum(map(_hops, p[1]))
    if kind == "alt":
        return max(map(_hops, p[1]))
    if kind == "mod":
        return _hops(p[1]) + 1
    return 1


def _nullable(p: tuple) -> bool:
    """Can the path match no step at all (then the key may be x itself)?"""
    kind = p[0]
    if kind == "seq":
        return all(map(_nullable, p[1]))
    if kind == "alt":
        return any(map(_nullable, p[1]))
    if kind == "mod":
        return p[2] != "+" or _nullable(p[1])
    return kind == "eps"


def _steps(p: tuple) -> list[tuple[tuple, bool, frozenset[str] | None]]:
    """Each single step the path can take, as (the path before it, inverse, predicates)."""
    kind = p[0]
    if kind == "link":
        return [(EPS, p[2], frozenset({p[1]}))]
    if kind == "any":
        return [(EPS, p[1], None)]
    if kind == "neg":
        return [(EPS, False, None)] * p[1] + [(EPS, True, None)] * p[2]
    if kind == "seq":
        return [(_seq(*p[1][:i], before), inverse, preds)
                for i, part in enumerate(p[1]) for before, inverse, preds in _steps(part)]
    if kind == "alt":
        return [step for part in p[1] for step in _steps(part)]
    if kind == "mod":
        loop = ("mod", p[1], "*") if p[2] in "*+" else EPS
        return [(_seq(loop, before), inverse, preds) for before, inverse, preds in _steps(p[1])]
    return []


def _path_of(predicate) -> tuple:
    """An rdflib predicate (IRI, property path or variable) as a path tree."""
    if isinstance(predicate, URIRef):
        return ("link", str(predicate), False)
    if isinstance(predicate, (Variable, BNode)):
        return ("any", False)
    if isinstance(predicate, InvPath):
        return _reverse(_path_of(predicate.arg))
    if isinstance(predicate, SequencePath):
        return _seq(*map(_path_of, predicate.args))
    if isinstance(predicate, AlternativePath):
        return _alt(*map(_path_of, predicate.args))
    if isinstance(predicate, MulPath):
        return ("mod", _path_of(predicate.path), predicate.mod)
    if isinstance(predicate, NegatedPath):
        # rdflib keeps a forward member as an IRI; an inverse one it may keep garbled: count
        # anything else as inverse (the probe then asks for any predicate either way)
        forward = any(isinstance(a, URIRef) for a in predicate.args)
        return ("neg", forward, not all(isinstance(a, URIRef) for a in predicate.args))
    raise NotLocal(f"property path {predicate!r} is not analysed")


# --------------------------------------------------------------------------------------------
# Routes: how the value of a variable is reached from the key
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Route:
    """The value is reached from the key along `plain`, or is the IRI spelt like the node reached
    along `lexical` (either may be None, not both). `string`: the value is that node's STR()."""

    plain: tuple | None
    lexical: tuple | None = None
    string: bool = False

    @property
    def rank(self) -> tuple:
        parts = [p for p in (self.plain, self.lexical) if p is not None]
        return (self.string, max(map(_hops, parts)), sum(len(_render(p)) for p in parts),
                [_render(p) for p in parts], self.lexical is not None)


KEY_ROUTE = _Route(EPS)


def _best(*routes: _Route | None) -> _Route | None:
    found = [r for r in routes if r is not None]
    return min(found, key=lambda r: r.rank) if found else None


def _either(routes: list[_Route | None]) -> _Route | None:
    """The route of a value bound at one of several places: their alternative (None if one has none)."""
    if not routes or any(r is None for r in routes) or len({r.string for r in routes}) > 1:
        return None
    plain = [r.plain for r in routes if r.plain is not None]
    lexical = [r.lexical for r in routes if r.lexical is not None]
    return _Route(_alt(*plain) if plain else None, _alt(*lexical) if lexical else None, routes[0].string)


def _as_text(route: _Route | None) -> _Route | None:
    """STR() of the value: the lexical form of the node reached (IRI(lexical(w)) spells like w)."""
    if route is None:
        return None
    return _Route(_either([_Route(p) for p in (route.plain, route.lexical) if p is not None]).plain, None, True)


def _as_iri(route: _Route | None) -> _Route | None:
    """IRI() of the value: the node itself if an IRI, else the IRI spelt like it."""
    if route is None:
        return None
    spelt = [p for p in (route.plain, route.lexical) if p is not None]
    return _Route(None, _alt(*spelt))


# --------------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Out:
    """What the analysis knows of one algebra node's solutions."""

    routes: dict          # variable name -> _Route, valid whenever the variable is bound
    bound: frozenset      # variables it may bind
    certain: frozenset    # variables it binds in every solution
    mandatory: frozenset  # of those, the ones a mandatory triple pattern binds
    entries: dict         # pattern id -> (rank, probes): how each triple pattern is entered
    patterns: frozenset   # every triple pattern inside


def _merged_entries(*outs: _Out) -> dict:
    entries: dict = {}
    for out in outs:
        for pid, entry in out.entries.items():
            if pid not in entries or entry[0] < entries[pid][0]:
                entries[pid] = entry
    return entries


class _Scope:
    """A SELECT's variable names: its own unprojected ones renamed, so they cannot meet the parent's."""

    def __init__(self, parent: _Scope | None, kept: Iterable[str], sid: int, chain: bool) -> None:
        self.parent, self.kept, self.sid, self.chain = parent, frozenset(kept), sid, chain

    def name(self, term) -> str:
        if isinstance(term, BNode):
            return f"_:{term}@{self.sid}"
        if self.parent is None:
            return str(term)
        return self.parent.name(term) if str(term) in self.kept else f"{term}@{self.sid}"


EXISTS = ("Builtin_EXISTS", "Builtin_NOTEXISTS")
PASS_THROUGH = ("Distinct", "Reduced", "ToMultiSet")
REFUSED = {"Slice": "LIMIT/OFFSET", "Graph": "GRAPH", "ServiceGraphPattern": "SERVICE"}


def _exists_patterns(expr) -> Iterator[CompValue]:
    """The graph patterns of the (NOT) EXISTS inside an expression, translated once."""
    from rdflib.plugins.sparql.algebra import translateGroupGraphPattern
    from rdflib.plugins.sparql.parserutils import CompValue
    if isinstance(expr, CompValue):
        if expr.name in EXISTS:
            if expr.graph.name == "GroupGraphPatternSub":
                expr["graph"] = translateGroupGraphPattern(expr.graph)
            yield expr.graph
            return
        for value in expr.values():
            yield from _exists_patterns(value)
    elif isinstance(expr, (list, tuple)):
        for value in expr:
            yield from _exists_patterns(value)


def _mentions(x, found: set[str] | None = None) -> set[str]:
    """Every variable named anywhere inside (sub-SELECTs and EXISTS included: an over-estimate)."""
    found = set() if found is None else found
    if isinstance(x, Variable):
        found.add(str(x))
    elif isinstance(x, dict):
        for value in x.values():
            _mentions(value, found)
    elif isinstance(x, (list, tuple)):
        for value in x:
            _mentions(value, found)
    return found


class _Analysis:
    """One query analysed for one key: routes found node by node, memoised per context."""

    def __init__(self, key: str, base: str | None) -> None:
        self.key, self.base = key, base
        self.memo: dict = {}
        self.scopes: dict[int, _Scope] = {}
        self.sids = itertools.count(1)
        self.described: dict = {}

    def run(self, query) -> tuple[Probe, ...]:
        node = query.algebra
        if node.name != "SelectQuery":
            raise NotLocal("only SELECT queries are analysed")
        if node.datasetClause:
            raise NotLocal("FROM / FROM NAMED")
        if self.key not in {str(v) for v in node.PV}:
            raise NotLocal(f"?{self.key} is not projected")
        node = node.p
        while node.name != "Project":
            if node.name in REFUSED:
                raise NotLocal(f"{REFUSED[node.name]} in the query")
            node = node.p
        out = self.analyse(node.p, {self.key: KEY_ROUTE}, _Scope(None, (), 0, True), True)
        if self.key not in out.mandatory:
            raise NotLocal(f"?{self.key} is not bound by a mandatory triple pattern of the outer query")
        loose = sorted(self.described[pid] for pid in out.patterns - out.entries.keys())
        if loose:
            raise NotLocal(f"the pattern {loose[0]} is not connected to ?{self.key} by mandatory patterns")
        return tuple(sorted({probe for _, probes in out.entries.values() for probe in probes},
                            key=lambda p: (p.path or "", p.inverse, sorted(p.predicates or ()), p.lexical)))

    def analyse(self, node: CompValue, ctx: dict, scope: _Scope, spine: bool) -> _Out:
        """The node's solutions, given routes to the values its context fixes (`ctx`: a variable
        bound in a solution of this node equals the context's value). `spine`: restrict's
        VALUES for the key would be joined at this node's leftmost leaf."""
        memo_key = (id(node), scope.sid, frozenset(ctx.items()), spine)
        if memo_key not in self.memo:
            self.memo[memo_key] = self._analyse(node, ctx, scope, spine)
        return self.memo[memo_key]

    def _analyse(self, node: CompValue, ctx: dict, scope: _Scope, spine: bool) -> _Out:
        name = node.name
        if name in REFUSED:
            raise NotLocal(f"{REFUSED[name]} in the query")
        if name in PASS_THROUGH:
            return self.analyse(node.p, ctx, scope, spine)
        if name == "BGP":
            return self._bgp(node, ctx, scope)
        if name == "Join":
            return self._join(node, ctx, scope, spine)
        if name in ("LeftJoin", "Minus"):
            return self._left_join(node, ctx, scope, spine)
        if name == "Union":
            return self._union(node, ctx, scope)
        if name in ("Filter", "OrderBy"):
            out = self.analyse(node.p, ctx, scope, spine)
            return self._with_exists(out, node.expr, scope)
        if name == "Extend":
            return self._extend(node, ctx, scope, spine)
        if name == "Project":
            return self._sub_select(node, ctx, scope)
        if name == "AggregateJoin":
            return self._aggregate(node, ctx, scope, spine)
        if name == "values":
            rows = [frozenset(scope.name(v) for v in row) for row in node.res]
            bound = frozenset().union(*rows)
            certain = frozenset.intersection(*rows) if rows else frozenset()
            return _Out({v: ctx[v] for v in bound if v in ctx}, bound, certain, frozenset(), {}, frozenset())
        raise NotLocal(f"{name} is not analysed")

    def _bgp(self, node: CompValue, ctx: dict, scope: _Scope) -> _Out:
        triples = []
        for i, (s, p, o) in enumerate(node.triples):
            pid = (id(node), i)
            self.described[pid] = " ".join(t.n3() if hasattr(t, "n3") else str(t) for t in (s, p, o))
            ends = [scope.name(t) if isinstance(t, (Variable, BNode)) else None for t in (s, o)]
            triples.append((pid, ends[0], _path_of(p), ends[1]))
        known = {v: r for t in triples for v in (t[1], t[3]) if v in ctx and not (r := ctx[v]).string}
        entries = {}
        while True:  # enter the pattern nearest to the key first, so routes stay short
            candidates = []
            for pid, s, path, o in triples:
                if pid in entries:
                    continue
                for here, there, way in ((s, o, path), (o, s, _reverse(path))):
                    if here in known:
                        probes = _probes(known[here], way)
                        if probes is not None:
                            candidates.append((known[here].rank, pid, probes, there, known[here], way))
            if not candidates:
                break
            rank, pid, probes, there, route, way = min(candidates, key=lambda c: (c[0], c[1][1]))
            entries[pid] = (rank, probes)
            if there is not None and route.lexical is None:
                known[there] = _best(known.get(there), _Route(_seq(route.plain, way)))
        variables = frozenset(v for _, s, _, o in triples for v in (s, o) if v is not None) | frozenset(
            scope.name(p) for _, p, _ in node.triples if isinstance(p, Variable))
        routes = {v: _best(known.get(v), ctx.get(v)) for v in variables if v in known or v in ctx}
        return _Out(routes, variables, variables, variables, entries, frozenset(t[0] for t in triples))

    def _join(self, node: CompValue, ctx: dict, scope: _Scope, spine: bool) -> _Out:
        operands, stack = [], [node]
        while stack:  # flatten left to right: the first operand is where restrict's VALUES joins
            n = stack.pop()
            if n.name == "Join":
                stack += [n.p2, n.p1]
            else:
                operands.append(n)
        outs = [self.analyse(o, ctx, scope, spine and i == 0) for i, o in enumerate(operands)]
        for _ in range(50):  # each operand is entered through what the others bind in every solution
            changed = False
            for i, operand in enumerate(operands):
                given = dict(ctx)
                for j, other in enumerate(outs):
                    if j != i:
                        for v in other.certain:
                            given[v] = _best(given.get(v), _node_route(other.routes.get(v)))
                out = self.analyse(operand, {v: r for v, r in given.items() if r is not None}, scope,
                                   spine and i == 0)
                changed |= out != outs[i]
                outs[i] = out
            if not changed:
                break
        else:
            raise NotLocal("the analysis of a join did not settle")
        bound = frozenset().union(*(o.bound for o in outs))
        certain = frozenset().union(*(o.certain for o in outs))
        routes = {}
        for v in bound:
            if v in certain:
                route = _best(*(o.routes.get(v) for o in outs if v in o.certain))
            else:
                route = _either([o.routes.get(v) for o in outs if v in o.bound])
            if (route := _best(route, ctx.get(v))) is not None:
                routes[v] = route
        return _Out(routes, bound, certain, frozenset().union(*(o.mandatory for o in outs)),
                    _merged_entries(*outs), frozenset().union(*(o.patterns for o in outs)))

    def _left_join(self, node: CompValue, ctx: dict, scope: _Scope, spine: bool) -> _Out:
        left = self.analyse(node.p1, ctx, scope, spine)
        if spine and self.key in _mentions(node.p2) | _mentions(node.get("expr")) and self.key not in left.certain:
            raise NotLocal(f"?{self.key} is not bound before an OPTIONAL or MINUS that uses it")
        given = {v: r for v in left.certain if (r := _best(_node_route(left.routes.get(v)), ctx.get(v)))}
        right = self.analyse(node.p2, given, scope, False)
        if node.name == "Minus":
            return _Out(left.routes, left.bound, left.certain, left.mandatory, _merged_entries(left, right),
                        left.patterns | right.patterns)
        routes = {}
        for v in left.bound | right.bound:
            route = left.routes.get(v) if v in left.certain else _either(
                [o.routes.get(v) for o in (left, right) if v in o.bound])
            if (route := _best(route, ctx.get(v))) is not None:
                routes[v] = route
        out = _Out(routes, left.bound | right.bound, left.certain, left.mandatory, _merged_entries(left, right),
                   left.patterns | right.patterns)
        both = _Out({**left.routes, **right.routes}, out.bound, left.certain | right.certain, frozenset(), {},
                    frozenset())
        return self._with_exists(out, node.expr, scope, both)

    def _union(self, node: CompValue, ctx: dict, scope: _Scope) -> _Out:
        branches = [self.analyse(node.p1, ctx, scope, False), self.analyse(node.p2, ctx, scope, False)]
        bound = branches[0].bound | branches[1].bound
        routes = {}
        for v in bound:
            route = _either([b.routes.get(v) for b in branches if v in b.bound])
            if (route := _best(route, ctx.get(v))) is not None:
                routes[v] = route
        return _Out(routes, bound, branches[0].certain & branches[1].certain,
                    branches[0].mandatory & branches[1].mandatory, _merged_entries(*branches),
                    branches[0].patterns | branches[1].patterns)

    def _with_exists(self, out: _Out, expr, scope: _Scope, seen: _Out | None = None) -> _Out:
        """`out` with the (NOT) EXISTS of an expression evaluated on its solutions (`seen`: the
        solutions the expression sees, if not out's own)."""
        seen = seen or out
        given = {v: r for v in seen.certain if (r := _node_route(seen.routes.get(v)))}
        inner = [self.analyse(g, given, scope, False) for g in _exists_patterns(expr)]
        if not inner:
            return out
        return _Out(out.routes, out.bound, out.certain, out.mandatory, _merged_entries(out, *inner),
                    out.patterns.union(*(o.patterns for o in inner)))

    def _extend(self, node: CompValue, ctx: dict, scope: _Scope, spine: bool) -> _Out:
        v, expr = scope.name(node.var), node.expr
        given = dict(ctx)
        if isinstance(expr, Variable) and v in ctx:
            given[scope.name(expr)] = _best(ctx[v], ctx.get(scope.name(expr)))
        inner = self.analyse(node.p, given, scope, spine)
        if scope.chain and v == self.key and not _samples_key(node, self.key):
            raise NotLocal(f"?{self.key} is made by BIND or an expression")
        if spine and self.key in _mentions(expr) and self.key not in inner.certain:
            raise NotLocal(f"?{self.key} is not bound before a BIND that uses it")
        route = _best(ctx.get(v), self._value(expr, inner, scope))
        certain = inner.certain | ({v} if _sure(expr, inner.certain, scope) else set())
        mandatory = inner.mandatory | ({v} if isinstance(expr, Variable) and scope.name(expr) in inner.mandatory
                                       else set())
        out = _Out({**inner.routes, **({v: route} if route else {})}, inner.bound | {v}, certain, mandatory,
                   inner.entries, inner.patterns)
        return self._with_exists(out, expr, scope, inner)

    def _value(self, expr, out: _Out, scope: _Scope) -> _Route | None:
        """The route of an expression's value, if it is one of its variables' values."""
        from rdflib.plugins.sparql.parserutils import CompValue
        if isinstance(expr, (Variable, BNode)):
            return out.routes.get(scope.name(expr))
        if not isinstance(expr, CompValue):
            return None  # a constant: a leaf, never a route
        if expr.name == "Builtin_COALESCE":
            return _either([self._value(a, out, scope) for a in expr.arg])
        if expr.name == "Builtin_IF":
            return _either([self._value(expr.arg2, out, scope), self._value(expr.arg3, out, scope)])
        if expr.name == "Builtin_STR":
            return _as_text(self._value(expr.arg, out, scope))
        if expr.name in ("Builtin_IRI", "Builtin_URI") and self.base is None:
            return _as_iri(self._value(expr.arg, out, scope))
        return None

    def _sub_select(self, node: CompValue, ctx: dict, scope: _Scope) -> _Out:
        kept = {scope.name(v) for v in node.PV}
        if id(node) not in self.scopes:
            chain = scope.chain and self.key in kept
            self.scopes[id(node)] = _Scope(scope, {str(v) for v in node.PV}, next(self.sids), chain)
        inner_scope = self.scopes[id(node)]
        inner = self.analyse(node.p, {v: r for v, r in ctx.items() if v in kept}, inner_scope, inner_scope.chain)
        if inner_scope.chain and self.key not in inner.certain:
            raise NotLocal(f"a sub-SELECT projects ?{self.key} without binding it in every row")
        return _Out({v: r for v, r in inner.routes.items() if v in kept}, inner.bound & kept, inner.certain & kept,
                    inner.mandatory & kept, inner.entries, inner.patterns)

    def _aggregate(self, node: CompValue, ctx: dict, scope: _Scope, spine: bool) -> _Out:
        group = node.p
        if group.name != "Group" or not group.expr:
            raise NotLocal("an aggregate without GROUP BY")
        keys = {str(e) for e in group.expr if isinstance(e, Variable)}
        if scope.parent is None and self.key not in keys:
            raise NotLocal(f"the outer GROUP BY does not group by ?{self.key}")
        names = {k: scope.name(Variable(k)) for k in keys}
        if id(node) not in self.scopes:
            chain = scope.chain and self.key in keys
            self.scopes[id(node)] = _Scope(scope, keys, next(self.sids), chain)
        inner_scope = self.scopes[id(node)]
        given = {n: ctx[n] for n in names.values() if n in ctx}
        for agg in node.A:  # a group key's SAMPLE is the key: the context that fixes one fixes the other
            res = scope.name(agg.res)
            if agg.name == "Aggregate_Sample" and isinstance(agg.vars, Variable) and str(agg.vars) in keys \
                    and res in ctx:
                given[names[str(agg.vars)]] = _best(ctx[res], given.get(names[str(agg.vars)]))
        inner = self.analyse(group.p, given, inner_scope, spine and inner_scope.chain)
        inner = self._with_exists(inner, [group.expr, [a.get("vars") for a in node.A]], inner_scope)
        routes = {n: inner.routes[n] for n in names.values() if n in inner.routes}
        certain = {n for n in names.values() if n in inner.certain}
        mandatory = {n for n in names.values() if n in inner.mandatory}
        bound = set(names.values())
        for agg in node.A:
            res = scope.name(agg.res)
            bound.add(res)
            if agg.name in ("Aggregate_Sample", "Aggregate_Min", "Aggregate_Max") and (
                    route := self._value(agg.vars, inner, inner_scope)) is not None:
                routes[res] = route
            if agg.name == "Aggregate_Sample" and isinstance(agg.vars, Variable):
                key_name = inner_scope.name(agg.vars)
                certain |= {res} if key_name in certain else set()
                mandatory |= {res} if key_name in mandatory else set()
            elif agg.name == "Aggregate_Count":
                certain.add(res)
        routes = {v: r for v in bound if (r := _best(routes.get(v), ctx.get(v)))}
        return _Out(routes, frozenset(bound), frozenset(certain), frozenset(mandatory), inner.entries,
                    inner.patterns)


def _node_route(route: _Route | None) -> _Route | None:
    return None if route is None or route.string else route


def _sure(expr, certain: frozenset, scope: _Scope) -> bool:
    """Is the expression bound in every solution (a certain variable, a constant, or a COALESCE of one)?"""
    from rdflib.plugins.sparql.parserutils import CompValue
    if isinstance(expr, Variable):
        return scope.name(expr) in certain
    if isinstance(expr, (URIRef, Literal)):
        return True
    return isinstance(expr, CompValue) and expr.name == "Builtin_COALESCE" and any(
        _sure(a, certain, scope) for a in expr.arg)


def _samples_key(node: CompValue, key: str) -> bool:
    """Is this Extend rdflib's re-binding of a group key from its SAMPLE (not a BIND of the key)?"""
    inner = node.p
    while inner.name == "Extend":
        inner = inner.p
    return isinstance(node.expr, Variable) and inner.name == "AggregateJoin" and any(
        a.name == "Aggregate_Sample" and a.res == node.expr and str(a.vars) == key for a in inner.A)


def _probes(route: _Route, way: tuple) -> tuple[Probe, ...] | None:
    """The probes for entering a pattern whose path is `way` from a value reached along `route`
    (None: a lexical route cannot be followed past its first step)."""
    probes = []
    for before, inverse, preds in _steps(way):
        if route.plain is not None:
            path = _seq(route.plain, before)
            probes.append(Probe(None if path == EPS else _render(path), inverse, preds))
            if path != EPS and _nullable(path):  # Oxigraph matches an empty path only at nodes still there
                probes.append(Probe(None, inverse, preds))
        if route.lexical is not None:
            if before != EPS:
                return None
            probes.append(Probe(None if route.lexical == EPS else _render(route.lexical), inverse, preds, True))
            if route.lexical != EPS and _nullable(route.lexical):
                probes.append(Probe(None, inverse, preds, True))
    return tuple(probes)


@lru_cache(maxsize=1024)
def _query(query_text: str):
    """The query in rdflib's algebra (kept: analysing it for several keys parses it once)."""
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery
    try:
        return translateQuery(parseQuery(query_text))
    except Exception as e:  # noqa: BLE001 - rdflib's parser and translator raise untyped errors
        raise NotLocal(f"rdflib cannot parse the query: {e}") from None


@lru_cache(maxsize=1024)
def _analysed(query_text: str, key: str) -> Dependencies:
    query = _query(query_text)
    probes = _Analysis(key, query.prologue.base or None).run(query)
    return Dependencies(key, probes, _restriction_points(query_text, key))


def analyse(query_text: str, key: str | None = None) -> Dependencies:
    """The probes of a SELECT for `key` (a variable name without '?'), or for the projected
    variable that can be a key and that VALUES binds in the most places (so that Oxigraph works
    out the fewest rows it does not need: a key no sub-SELECT projects leaves each of them to
    compute every row); the first such in the projection. NotLocal says why not."""
    if key is not None:
        return _analysed(query_text, key)
    reasons, found = [], []
    for variable in _projected(query_text):
        try:
            found.append(_analysed(query_text, variable))
        except NotLocal as e:
            reasons.append(f"?{variable}: {e}")
    if not found:
        raise NotLocal("no projected variable can be the key (" + "; ".join(reasons) + ")")
    return max(found, key=lambda deps: len(deps.points))  # max keeps the first of equals


def _projected(query_text: str) -> list[str]:
    return [str(v) for v in _query(query_text).algebra.get("PV") or ()]


# --------------------------------------------------------------------------------------------
# Asking the probes of a change
# --------------------------------------------------------------------------------------------

class Delta:
    """The change between two graphs (quads removed, quads added), asked by many queries' probes;
    each probe's answer is kept, so queries sharing a probe ask it once. Use it with one store."""

    def __init__(self, removed: Iterable[ox.Quad], added: Iterable[ox.Quad]) -> None:
        self.changed: dict[str, list[tuple[Term, Term]]] = defaultdict(list)
        for quad in itertools.chain(removed, added):
            self.changed[quad.predicate.value].append((quad.subject, quad.object))
        self.answers: dict[Probe, frozenset[Term]] = {}

    def nodes(self, inverse: bool, predicates: frozenset[str] | None) -> set[Term]:
        """The subjects (objects, if `inverse`) of the changed quads with one of the predicates."""
        found = set()
        for predicate in self.changed if predicates is None else predicates & self.changed.keys():
            found.update(pair[inverse] for pair in self.changed[predicate])
        return found

    def answer(self, store: ox.Store, probe: Probe) -> frozenset[Term]:
        if probe not in self.answers:
            self.answers[probe] = frozenset(_ask(store, probe, self.nodes(probe.inverse, probe.predicates)))
        return self.answers[probe]


def _ask(store: ox.Store, probe: Probe, nodes: set[Term]) -> set[Term]:
    """The keys n with `n path x` for x among `nodes` (or spelt like one, for a lexical probe)."""
    if not nodes:
        return set()
    found = set()
    if probe.path is None:
        found |= nodes
    else:
        # VALUES takes IRIs and literals in their N-Triples form; a blank node is bound on its own
        written = sorted(str(n) for n in nodes if isinstance(n, (ox.NamedNode, ox.Literal)))
        if written:
            found |= _keys(store, f"SELECT DISTINCT ?key WHERE {{ VALUES ?x {{ {' '.join(written)} }} "
                                  f"?key {probe.path} ?x }}")
        for node in nodes:
            if not isinstance(node, (ox.NamedNode, ox.Literal)):
                found |= _keys(store, f"SELECT DISTINCT ?key ?x WHERE {{ ?key {probe.path} ?x }}",
                               {ox.Variable("x"): node})
    spellings = sorted(str(ox.Literal(n.value)) for n in nodes if isinstance(n, ox.NamedNode))
    if probe.lexical and spellings:
        test = f"FILTER (isLITERAL(?w) && STR(?w) IN ({', '.join(spellings)}))"
        where = f"?s ?p ?w {test} BIND (?w AS ?key)" if probe.path is None else f"?key {probe.path} ?w {test}"
        found |= _keys(store, f"SELECT DISTINCT ?key WHERE {{ {where} }}")
    return found


def _keys(store: ox.Store, query: str, substitutions: dict | None = None) -> set[Term]:
    solutions = store.query(query, use_default_graph_as_union=True, substitutions=substitutions)
    return {solution["key"] for solution in solutions}


def affected_keys(store: ox.Store, deps: Dependencies, delta: Delta) -> set[Term]:
    """The key values whose rows may differ between the graph before and after `delta`;
    `store` holds the graph after it (a key may be a blank node: restrict refuses those)."""
    return set().union(*(delta.answer(store, probe) for probe in deps.probes))


# --------------------------------------------------------------------------------------------
# Restricting a query to some keys
# --------------------------------------------------------------------------------------------

# SPARQL's tokens as far as finding SELECT, its projection and its WHERE braces needs: comments,
# strings and IRIs are skipped whole, so a brace or keyword inside one is never taken for code.
TOKEN = re.compile(
    r'(?P<comment>#[^\n]*)'
    r'|(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n\r]|\\.)*"|\'(?:[^\'\\\n\r]|\\.)*\')'
    r'|(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)'
    r'|(?P<var>[?$]\w+)'
    r'|(?P<word>[^\s{}()\[\]<>"\',;#?$*]+)'
    r'|(?P<other>\S)')


@dataclass
class _Select:
    start: int           # offset of the SELECT keyword
    projection: list     # its tokens up to WHERE or the opening brace
    open: int            # offset just after the WHERE group's opening brace
    close: int           # offset just after its closing brace


def _selects(text: str) -> list[_Select]:
    tokens = [(m.lastgroup, m.group(), m.start(), m.end()) for m in TOKEN.finditer(text) if m.lastgroup != "comment"]
    found = []
    for i, (kind, word, start, _) in enumerate(tokens):
        if kind != "word" or word.upper() != "SELECT":
            continue
        j, depth = i + 1, 0
        while j < len(tokens) and not (depth == 0 and (tokens[j][1] == "{" or tokens[j][1].upper() == "WHERE")):
            depth += {"(": 1, ")": -1}.get(tokens[j][1], 0)
            j += 1
        projection = tokens[i + 1:j]
        if j < len(tokens) and tokens[j][1].upper() == "WHERE":
            j += 1
        if j >= len(tokens) or tokens[j][1] != "{":
            raise NotLocal("a SELECT without a WHERE group")
        depth, k = 0, j
        for k in range(j, len(tokens)):
            depth += {"{": 1, "}": -1}.get(tokens[k][1], 0)
            if depth == 0:
                break
        found.append(_Select(start, projection, tokens[j][3], tokens[k][3]))
    return found


def _projects(select: _Select, key: str, text: str, prologue: str) -> bool:
    """Does this SELECT project ?key (SELECT * as rdflib counts it, the count analyse checks)?"""
    depth, after_as = 0, False
    for kind, word, _, _ in select.projection:
        if word == "*" and depth == 0:
            return key in _projected(prologue + text[select.start:select.close])
        depth += {"(": 1, ")": -1}.get(word, 0)
        if kind == "var" and word[1:] == key:
            if after_as:
                raise NotLocal(f"?{key} is made by an expression in a projection")
            if depth == 0:
                return True
        after_as = kind == "word" and word.upper() == "AS"
    return False


@lru_cache(maxsize=1024)
def _restriction_points(query_text: str, key: str) -> tuple[int, ...]:
    selects = _selects(query_text)
    if not selects:
        raise NotLocal("no SELECT")
    outer, prologue = selects[0], query_text[:selects[0].start]
    chain = [outer]
    for select in selects[1:]:
        parent = max((s for s in selects if s.open <= select.start < s.close), key=lambda s: s.open, default=None)
        if parent is None:
            raise NotLocal("text after the query's WHERE group holds a SELECT")
        if parent in chain and _projects(select, key, query_text, prologue):
            chain.append(select)
    return tuple(sorted([s.open for s in chain] + _optional_points(query_text, chain, key), reverse=True))


def _optional_points(text: str, chain: list[_Select], key: str) -> list[int]:
    """Where VALUES goes inside each OPTIONAL that is a direct part of a WHERE group the key's
    VALUES opens and that names the key: Oxigraph works out an OPTIONAL's own rows for every key
    before it joins them (a hash join), and VALUES there spares it the others. Sound because the
    VALUES at the top of that WHERE binds the key on the OPTIONAL's left in every row."""
    tokens = [(m.lastgroup, m.group(), m.start(), m.end()) for m in TOKEN.finditer(text) if m.lastgroup != "comment"]
    points = []
    for select in chain:
        depth = 0
        for i, (kind, word, start, end) in enumerate(tokens):
            if not select.open <= start < select.close:
                continue
            if depth == 0 and kind == "word" and word.upper() == "OPTIONAL" and i + 2 < len(tokens) \
                    and tokens[i + 1][1] == "{" and tokens[i + 2][1].upper() != "SELECT":  # that one has its own
                inner, names_key = 0, False
                for kind_, word_, _, _ in tokens[i + 1:]:
                    inner += {"{": 1, "}": -1}.get(word_, 0)
                    names_key = names_key or (kind_ == "var" and word_[1:] == key)
                    if inner == 0:
                        break
                if names_key:
                    points.append(tokens[i + 1][3])
            depth += {"{": 1, "}": -1}.get(word, 0)
    return points


def restrict(query_text: str, deps: Dependencies, keys: Iterable[Term]) -> str:
    """The query computing only the rows whose key is one of `keys`: `VALUES ?key { ... }` at the
    top of the outer WHERE and of every sub-SELECT that projects the key (which joins on it), as
    `deps` (analyse of this very text) found them. No keys: a query with no rows. NotLocal if a key
    is a blank node (VALUES cannot name one: recompute in full).

    >>> text = "SELECT ?s WHERE { ?s <http://x/p> ?o }"
    >>> restrict(text, analyse(text, "s"), [ox.NamedNode("http://x/a")])
    'SELECT ?s WHERE { VALUES ?s { <http://x/a> } ?s <http://x/p> ?o }'
    """
    key = deps.key
    written = []
    for term in keys:
        if not isinstance(term, (ox.NamedNode, ox.Literal)):
            raise NotLocal(f"the key {term} cannot be bound by VALUES")
        written.append(str(term))
    block = f" VALUES ?{key} {{ {' '.join(sorted(set(written)))} }}"
    text = query_text
    for offset in deps.points:
        text = text[:offset] + block + text[offset:]
    return text
