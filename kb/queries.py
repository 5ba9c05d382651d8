"""The saved queries: a catalogue of .rq files, parameters bound as RDF terms, results as tables.

A saved query is a plain SPARQL file whose comment header (`#+ ` lines, read as YAML, as grlc and
the SIB sparql-examples do) says what it answers and which parameters it takes. A parameter is
resolved to an RDF term (an IRI, or a name looked up among labels and aliases) and bound with a
VALUES block built from the term's N-Triples form: the user's text is never pasted into the query.
"""

from __future__ import annotations

import csv
import datetime
import difflib
import enum
import io
import json
import os
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Iterable

import pyoxigraph as ox

from kb.annotations import SLUG
from kb.errors import Location, Problem, QueryError
from kb.formats import FileFormat
from kb.graph import KBID
from kb.inputfiles import QUERY_LIMIT, InputFileError, as_lf, read_text
from kb.terms import XSD_STRING
from kb.yamlfile import YAMLError, load_yaml

QUERIES_DIR = Path("queries")
HEADER = re.compile(r"^#\+ ?(.*)$")
WHERE_OPEN = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)
UNDECLARED_PREFIX = re.compile(r"expected one of Prefix not found.*", re.DOTALL)  # as Oxigraph 0.5 says it
VARIABLE = re.compile(r"[?$]([A-Za-z_][A-Za-z0-9_]*)")
NAME_LOOKUP = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?node ?label WHERE {
  ?node a/rdfs:subClassOf* ?class ; rdfs:label ?label ; rdfs:label|skos:altLabel ?name .
  FILTER(LCASE(STR(?name)) = LCASE(STR(?wanted)))
}
ORDER BY ?node
"""
OF_CLASS = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?node WHERE { ?node a/rdfs:subClassOf* ?class }
"""
NAMES = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?name WHERE { ?node a/rdfs:subClassOf* ?class ; rdfs:label|skos:altLabel ?name . }
"""
# An RDF term as pyoxigraph gives it: what result rows hold, whether the embedded store or a server answered.
Term = ox.NamedNode | ox.BlankNode | ox.Literal


XSD_DATE = "http://www.w3.org/2001/XMLSchema#date"
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ParameterType(enum.Enum):
    """What a parameter's value is bound as: the node a name or IRI names, or an xsd:date literal."""

    NODE = "node"
    DATE = "date"


@dataclass(frozen=True)
class Parameter:
    """A query parameter: a variable the query binds to one node of `cls`, or to a date.

    A filter is a parameter that may be left out: it binds ?wanted_NAME, which the query tests
    with `!BOUND(?wanted_NAME) || ...`, so that the query is whole without it (a build runs it so)
    and names of its own (?status, ?kind) stay free for what it shows."""

    name: str
    description: str
    cls: str
    type: ParameterType = ParameterType.NODE
    optional: bool = False

    @property
    def variable(self) -> str:
        return f"wanted_{self.name}" if self.optional else self.name


@dataclass
class SavedQuery:
    """One .rq file: its name (the file stem), its header, and its SPARQL text."""

    name: str
    path: Path
    summary: str
    description: str
    parameters: list[Parameter]
    text: str
    # the GROUP_CONCAT columns, each with the separator between its items (`#+ lists: [sources,
    # {quote: " | "}]`: "; " unless given)
    lists: dict[str, str] = field(default_factory=dict)
    filters: list[Parameter] = field(default_factory=list)

    @property
    def variables(self) -> set[str]:
        return set(VARIABLE.findall(without_comments(self.text)))


@dataclass
class ResultTable:
    """A SELECT result: column names and rows of pyoxigraph terms (None where a variable is unbound)."""

    variables: list[str]
    rows: list[tuple[Term | None, ...]] = field(default_factory=list)


class ResultFormat(FileFormat):
    """Output formats of a query result: value = (name, file extension). The table, for people at a
    terminal, has none: a file named for no format gets no table by guess."""

    TABLE = ("table", None)
    CSV = ("csv", "csv")
    TSV = ("tsv", "tsv")
    JSON = ("json", "json")
    MD = ("md", "md")

    @classmethod
    def named(cls, name: str) -> "ResultFormat":
        for fmt in cls:
            if fmt.label == name:
                return fmt
        raise QueryError(f"unknown result format {name!r}; use one of {', '.join(f.label for f in cls)}")


def without_comments(text: str) -> str:
    """The text with whole-line comments blanked (offsets kept), so headers can't match code."""
    return "\n".join(" " * len(line) if line.lstrip().startswith("#") else line for line in text.split("\n"))


def did_you_mean(wanted: str, names: Iterable[str]) -> str:
    """"; did you mean 'x'?" for the names closest to a mistyped one (any case), or "" if none is close.

    >>> did_you_mean("meeting", ["actors", "meetings", "meetings-of"])
    "; did you mean 'meetings' or 'meetings-of'?"
    >>> did_you_mean("zzz", ["actors"])
    ''
    """
    by_fold: dict[str, str] = {}
    for name in names:
        by_fold.setdefault(name.casefold(), name)
    close = [by_fold[f] for f in difflib.get_close_matches(wanted.casefold(), by_fold, n=3)]
    return f"; did you mean {' or '.join(repr(name) for name in close)}?" if close else ""


def read_query(path: Path, project: Path) -> SavedQuery:
    """Parse one saved query file of `project`; QueryError names the file and line of a bad header."""
    try:
        text = as_lf(read_text(project, path, QUERY_LIMIT))
    except InputFileError as e:
        raise QueryError(e.problems) from None
    header_lines = []
    for line in text.split("\n"):
        m = HEADER.match(line)
        if m:
            header_lines.append(m.group(1))
        elif line.strip() and not line.startswith("#"):
            break
    try:
        header = load_yaml("\n".join(header_lines)) or {}
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).split("\n")[0]
        raise QueryError([Problem(Location(path, (mark.line + 1) if mark else 1), f"bad #+ header: {problem}")]) from None
    if not isinstance(header, dict) or "summary" not in header:
        raise QueryError([Problem(Location(path, 1), "the #+ header must give at least a summary")])
    params = {key: [_parameter(path, key, p) for p in header.get(key) or []] for key in ("params", "filters")}
    return SavedQuery(path.stem, path, str(header["summary"]), str(header.get("description", "")).strip(),
                      params["params"], text, _list_columns(header.get("lists") or [], path), params["filters"])


def _list_columns(entries: list, path: Path) -> dict[str, str]:
    """`#+ lists` as column -> separator: a name, or a {name: separator} mapping."""
    columns = {}
    for entry in entries:
        if isinstance(entry, dict):
            columns.update({str(k): str(v) for k, v in entry.items()})
        else:
            columns[str(entry)] = LIST_SEPARATOR
    if not all(columns.values()):
        raise QueryError([Problem(Location(path, 1), "#+ lists: a separator cannot be empty")])
    return columns


def _parameter(path: Path, key: str, entry) -> Parameter:
    """One entry of the header's `params` (each required) or `filters` (each optional)."""
    if not isinstance(entry, dict) or "name" not in entry:
        raise QueryError([Problem(Location(path, 1), f"each #+ {key} entry needs a name")])
    cls = str(entry.get("class", ""))
    if cls and not _is_iri(cls):
        raise QueryError([Problem(Location(path, 1), f"#+ {key} {entry['name']}: class {cls!r} is not an IRI")])
    try:
        kind = ParameterType(str(entry.get("type", "node")))
    except ValueError:
        raise QueryError([Problem(Location(path, 1), f"#+ {key} {entry['name']}: type must be one of "
                                  f"{', '.join(t.value for t in ParameterType)}")]) from None
    return Parameter(str(entry["name"]), str(entry.get("description", "")), cls, kind, key == "filters")


def ad_hoc_query(text: str, params: Iterable[str], path: Path | None = None) -> SavedQuery:
    """A question asked on the command line (`tradekb sparql`), or in the file `path`, as a query
    taking the parameters named, so that it runs by the saved queries' own paths, here or on a
    server. Asking is read-only: an update is refused, and so is anything but a SELECT (the answer
    is a table). Both are told by rdflib's SPARQL parser, not by keywords, which a comment, a
    string or an IRI can hold.

    >>> ad_hoc_query("SELECT ?a WHERE { ?a ?b ?c }", ["a"]).parameters[0].name
    'a'
    >>> ad_hoc_query("CLEAR ALL", [])
    Traceback (most recent call last):
    kb.errors.QueryError: the query is an update (Clear); tradekb sparql only asks, and never changes the knowledge base
    """
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
    try:
        kind = parseQuery(text)[1].name
    except ParseException as error:
        try:
            operations = parseUpdate(text).get("request") or []
        except ParseException:
            operations = []
        if operations:
            raise QueryError(f"the query is an update ({', '.join(op.name for op in operations)}); tradekb sparql only "
                             "asks, and never changes the knowledge base") from None
        message = "SPARQL syntax error: " + str(error).split("  (at char")[0]
        if path is None:
            message = f"{message} (line {error.lineno}, column {error.col})"
        raise QueryError([Problem(Location(path or Path(""), error.lineno, error.col), message)]) from None
    if kind != "SelectQuery":
        raise QueryError(f"the query is {kind.removesuffix('Query').upper()}; tradekb sparql answers SELECT queries, "
                         "as a table")
    variables = set(VARIABLE.findall(without_comments(text)))
    params = list(params)
    for name in params:
        if name not in variables:
            raise QueryError(f"--param {name}: the query has no variable ?{name}{did_you_mean(name, variables)}")
    name = path.stem if path else "sparql"
    return SavedQuery(name, path or Path(""), "", "", [Parameter(n, "", "") for n in params], text)


def read_ad_hoc_query(path: Path, params: Iterable[str]) -> SavedQuery:
    """The question in the file `path`, which may be anywhere (the user names it), read as the
    project's own queries are: a regular file, at most 1 MiB, UTF-8."""
    real = Path(os.path.realpath(path))
    try:
        text = as_lf(read_text(real.parent, real, QUERY_LIMIT))
    except InputFileError as e:
        raise QueryError([Problem(Location(path), e.problems[0].message)]) from None
    return ad_hoc_query(text, params, path)


def catalogue(project: Path) -> dict[str, SavedQuery]:
    """Every saved query of the project (queries/*.rq), by name."""
    folder = Path(project) / QUERIES_DIR
    queries, problems = {}, []
    for path in sorted(folder.glob("*.rq")):
        try:
            queries[path.stem] = read_query(path, project)
        except QueryError as e:
            problems += e.problems
    if problems:
        raise QueryError(problems)
    return queries


def _is_iri(text: str) -> bool:
    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return True


def bind(text: str, bindings: dict[str, Term]) -> str:
    """`text` with a VALUES block binding each variable to its term (written in its N-Triples form,
    which pyoxigraph gives as the term's str), at the top of the outer WHERE.

    >>> bind("SELECT ?a WHERE { ?a ?b ?c }", {"a": ox.NamedNode("http://x/y")})
    'SELECT ?a WHERE { VALUES (?a) { (<http://x/y>) } ?a ?b ?c }'
    """
    if not bindings:
        return text
    m = WHERE_OPEN.search(without_comments(text))
    if m is None:
        raise QueryError("the query has no WHERE { ... } to bind parameters in")
    names = sorted(bindings)
    block = (f" VALUES ({' '.join('?' + n for n in names)}) "
             f"{{ ({' '.join(str(bindings[n]) for n in names)}) }}")
    return text[:m.end()] + block + text[m.end():]


def run_sparql(store: ox.Store, text: str) -> ResultTable:
    """Run a SELECT query on the store, over the union of its named graphs."""
    try:
        solutions = store.query(text, use_default_graph_as_union=True)
    except SyntaxError as e:  # one line: Oxigraph's may list every character it would have taken
        detail = UNDECLARED_PREFIX.sub("a prefix that no PREFIX line declares", str(e)).splitlines()[0]
        raise QueryError(f"SPARQL syntax error: {detail}") from None
    return ResultTable([v.value for v in solutions.variables], [tuple(solution) for solution in solutions])


# Runs one SELECT somewhere: on the embedded store (run_sparql) or on a server (kb.endpoint).
Select = Callable[[str], ResultTable]


def _select(source: ox.Store | Select) -> Select:
    return partial(run_sparql, source) if isinstance(source, ox.Store) else source


def resolve_parameter(source: ox.Store | Select, parameter: Parameter, value: str) -> Term:
    """The node a parameter value names: an IRI as is, or the one node of the class with that name;
    for a date parameter, the date as an xsd:date literal.

    `source` is the embedded store, or a function that runs a SELECT elsewhere (a server)."""
    value = value.strip()
    if parameter.type is ParameterType.DATE:
        return date_literal(parameter, value)
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    if re.match(r"^[a-z][a-z0-9+.-]*://", value):
        if not _is_iri(value):
            raise QueryError(f"{parameter.name}: {value!r} is not a valid IRI")
        return ox.NamedNode(value)
    bindings: dict[str, Term] = {"wanted": ox.Literal(value)}
    if parameter.cls:
        bindings["class"] = ox.NamedNode(parameter.cls)
    found = _select(source)(bind(NAME_LOOKUP, bindings)).rows
    nodes = sorted({row[0] for row in found}, key=lambda node: node.value)
    if not nodes and SLUG.fullmatch(value):  # an id, as the annotations and `tradekb ids` write it
        nodes = [row[0] for row in _select(source)(bind(OF_CLASS, {**bindings, "node": ox.NamedNode(KBID + value)})).rows]
    if not nodes:
        bindings.pop("wanted")
        names = (row[0].value for row in _select(source)(bind(NAMES, bindings)).rows)
        raise QueryError(f"{parameter.name}: nothing named {value!r}{did_you_mean(value, names)} "
                         "(give a label, an alias, an id or an IRI)")
    if len(nodes) > 1:
        named = ", ".join(node.value for node in nodes)
        raise QueryError(f"{parameter.name}: {value!r} names {len(nodes)} things ({named}); give an IRI")
    return nodes[0]


def date_literal(parameter: Parameter, value: str) -> ox.Literal:
    """A day given as YYYY-MM-DD, as an xsd:date literal.

    >>> date_literal(Parameter("from", "", "", ParameterType.DATE), "2019-07-01").value
    '2019-07-01'
    >>> date_literal(Parameter("from", "", "", ParameterType.DATE), "2019-7-1")
    Traceback (most recent call last):
    kb.errors.QueryError: from: '2019-7-1' is not a date; give a day as YYYY-MM-DD, e.g. 2019-07-01
    """
    try:
        if not ISO_DAY.match(value):
            raise ValueError(value)
        datetime.date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{parameter.name}: {value!r} is not a date; give a day as YYYY-MM-DD, e.g. 2019-07-01") from None
    return ox.Literal(value, datatype=ox.NamedNode(XSD_DATE))


def run_query(source: ox.Store | Select, query: SavedQuery, params: dict[str, str]) -> ResultTable:
    """Run a saved query with its parameters and filters (name -> IRI, name or date) on the
    embedded store, or through `source`, a function that runs a SELECT elsewhere."""
    declared = {p.name: p for p in query.parameters + query.filters}
    unknown = sorted(set(params) - set(declared))
    if unknown:
        names = ", ".join(declared) or "none"
        raise QueryError(f"query {query.name}: unknown parameter(s) {', '.join(unknown)}"
                         f"{did_you_mean(unknown[0], declared) or ';'} it takes {names}")
    missing = sorted({p.name for p in query.parameters} - set(params))
    if missing:
        raise QueryError(f"query {query.name}: give --param {missing[0]}=... ({declared[missing[0]].description})")
    select = _select(source)
    bindings = {declared[name].variable: resolve_parameter(select, declared[name], value)
                for name, value in params.items()}
    days = {name: bindings[p.variable].value for name, p in declared.items()
            if name in params and p.type is ParameterType.DATE}
    if "from" in days and "to" in days and days["from"] > days["to"]:  # YYYY-MM-DD: text order is day order
        raise QueryError(f"from {days['from']} is after to {days['to']}: the range holds no day")
    return sort_lists(select(bind(query.text, bindings)), query.lists)


LIST_SEPARATOR = "; "


def sort_lists(table: ResultTable, columns: dict[str, str]) -> ResultTable:
    """Sort the items of each GROUP_CONCAT cell named in `columns` (column -> separator).

    SPARQL leaves the order inside GROUP_CONCAT to the engine; sorting makes a cell the same on
    every engine and every run.
    """
    indexes = [i for i, v in enumerate(table.variables) if v in columns]
    if not indexes:
        return table
    rows = []
    for row in table.rows:
        cells = list(row)
        for i in indexes:
            if isinstance(cells[i], ox.Literal):
                cells[i] = ox.Literal(_sorted_list(cells[i].value, columns[table.variables[i]]))
        rows.append(tuple(cells))
    return ResultTable(table.variables, rows)


def _sorted_list(text: str, separator: str) -> str:
    """The items of a list cell, each once, in order (case aside first)."""
    if separator not in text:  # one item, as in most cells: nothing to sort
        return text
    return separator.join(sorted(set(text.split(separator)), key=lambda s: (s.casefold(), s)))


def _cell(term: Term | None) -> str:
    return "" if term is None else term.value


def format_results(table: ResultTable, fmt: ResultFormat) -> str:
    """The result in one of the file formats (JSON is SPARQL 1.1 Query Results JSON); the table for
    people is kb.tables.render's."""
    if fmt is ResultFormat.TABLE:
        raise ValueError("a table for people is drawn by kb.tables.render")
    if fmt is ResultFormat.JSON:
        return json.dumps({"head": {"vars": table.variables},
                           "results": {"bindings": [
                               {v: _json_term(t) for v, t in zip(table.variables, row) if t is not None}
                               for row in table.rows]}}, ensure_ascii=False, indent=1) + "\n"
    if fmt is ResultFormat.CSV:
        return "".join(csv_lines(table))
    cells = [[_cell(t) for t in row] for row in table.rows]
    if fmt is ResultFormat.TSV:
        return "".join("\t".join(c.replace("\t", " ").replace("\n", " ") for c in row) + "\n"
                       for row in [table.variables, *cells])
    def esc(c: str) -> str:
        return c.replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(table.variables) + " |", "|" + "---|" * len(table.variables)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in cells]
    return "\n".join(lines) + "\n"


def csv_lines(table: ResultTable) -> list[str]:
    """The CSV of a result, line by line (a line per row, after the header): a rebuild replaces
    some rows' lines and keeps the others."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    lines = []
    for row in [table.variables, *([_cell(t) for t in row] for row in table.rows)]:
        writer.writerow(row)
        lines.append(out.getvalue())
        out.seek(0)
        out.truncate()
    return lines


def _json_term(term: Term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:  # a simple literal is written without one
            out["datatype"] = term.datatype.value
        return out
    return {"type": "bnode", "value": term.value}
