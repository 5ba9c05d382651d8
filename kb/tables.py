"""Query results as tables for people: dates with their precision, sources with their publisher
and date, and a table that fits the terminal (rich wraps the long cells; the least useful columns
are left out, and a note says which and how to get them).

The CSV, TSV, JSON and Markdown of kb.queries stay what any SPARQL client gets; what is done here
is for reading only, so it is done after the query, in Python.
"""

from __future__ import annotations

import enum
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyoxigraph as ox
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from kb.errors import QueryError
from kb.queries import LIST_SEPARATOR, ResultTable, SavedQuery, Term, did_you_mean

# The column that gives a date column's precision: `precision` is the precision of `date`, and
# `X_precision` that of `X`. Tables show the two as one cell; files keep both, machine-readable.
PRECISION_SUFFIX = "_precision"
# Columns whose cells are article stems (or lists of them).
SOURCE_COLUMNS = ("source", "sources", "source_a", "source_b", "sources_a", "sources_b")
CITATIONS = SavedQuery("citations", Path(""), "Each article as publisher and date", "", [], """
PREFIX tkb: <https://w3id.org/tradekb/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?source ?publisher ?published WHERE {
  ?article a tkb:Article ; dcterms:identifier ?source ; dcterms:issued ?published .
  OPTIONAL { ?article dcterms:publisher/rdfs:label ?publisher }
}
""")
# A column this wide or narrower is never squeezed below its header and content; a wider one wraps,
# at this width or its longest word's, up to LONG_WORD (longer words are folded).
NARROW = 16
LONG_WORD = 20
WEB_IRI = re.compile(r"^https?://\S+$")
# What a column costs besides its text: a space either side and a rule between columns.
COLUMN_PADDING = 3


class Sources(enum.Enum):
    """How a cell names an article: its file stem (what the queries give), "publisher, date", or both."""

    STEM = "stem"
    CITE = "cite"
    BOTH = "both"


def select_columns(table: ResultTable, names: list[str]) -> ResultTable:
    """The result with only the columns `names`, in that order (--columns a,b,c).

    >>> select_columns(ResultTable(["a", "b"], [(ox.Literal("1"), ox.Literal("2"))]), ["b"]).rows
    [(<Literal value=2 datatype=<NamedNode value=http://www.w3.org/2001/XMLSchema#string>>,)]
    """
    for name in names:
        if name not in table.variables:
            raise QueryError(f"--columns: no column {name!r}{did_you_mean(name, table.variables) or ';'} "
                             f"the columns are {', '.join(table.variables)}")
    indexes = [table.variables.index(name) for name in names]
    return ResultTable(list(names), [tuple(row[i] for i in indexes) for row in table.rows])


def citations(table: ResultTable) -> dict[str, tuple[str | None, str]]:
    """(publisher or None, YYYY-MM-DD) by article stem, from the answer to CITATIONS."""
    return {source.value: (publisher and publisher.value, published.value)
            for source, publisher, published in table.rows}


def cite_sources(table: ResultTable, cited: dict[str, tuple[str | None, str]], sources: Sources) -> ResultTable:
    """The result with each article stem in a source column named as `sources` says: "publisher,
    YYYY-MM-DD" (the stem stands in for a publisher the article does not name), or the stem with
    that in brackets."""
    if sources is Sources.STEM:
        return table
    indexes = [i for i, name in enumerate(table.variables) if name in SOURCE_COLUMNS]

    def name(stem: str) -> str:
        if stem not in cited:
            return stem
        publisher, published = cited[stem]
        if sources is Sources.CITE:
            return f"{publisher or stem}, {published}"
        return f"{stem} ({publisher}, {published})" if publisher else f"{stem} ({published})"

    rows = [tuple(ox.Literal(LIST_SEPARATOR.join(name(s) for s in cell.value.split(LIST_SEPARATOR)))
                  if i in indexes and isinstance(cell, ox.Literal) else cell for i, cell in enumerate(row))
            for row in table.rows]
    return ResultTable(table.variables, rows)


def as_printed(table: ResultTable, for_people: bool, columns: list[str] | None, sources: Sources | None,
               articles: Callable[[], ResultTable]) -> ResultTable:
    """The answer as `tradekb query` prints it: for people (the table), each date with its
    precision; only `columns`, if given; articles named as `sources` says (by default: "publisher,
    date" in the table, where a stem would be cut in two, and by stem in files). `articles` runs CITATIONS, where the answer came from, and is
    called only if the answer names articles and they are to be named otherwise than by stem."""
    if for_people:  # before choosing columns: a date and its precision are one column here
        table = with_precisions(table)
    if columns:
        table = select_columns(table, columns)
    sources = sources or (Sources.CITE if for_people else Sources.STEM)
    if sources is Sources.STEM or not set(SOURCE_COLUMNS) & set(table.variables):
        return table
    return cite_sources(table, citations(articles()), sources)


def dated(value: str, precision: str) -> str:
    """A date as people read it: a day as is, a coarser date with its precision.

    >>> dated("2019-07-15", "week"), dated("2019-07-01", "month"), dated("2014-01-01", "year")
    ('week of 2019-07-15', '2019-07 (month)', '2014 (year)')
    >>> dated("2019-07-11", "day"), dated("2019-07-11", "")
    ('2019-07-11', '2019-07-11')
    """
    if precision == "week":
        return f"week of {value}"
    if precision == "month":
        return f"{value[:7]} (month)"
    if precision == "year":
        return f"{value[:4]} (year)"
    return value


def with_precisions(table: ResultTable) -> ResultTable:
    """The result with each date shown with its precision, and the precision columns folded in."""
    pairs = {}  # date column index -> its precision column index
    for i, name in enumerate(table.variables):
        date = "date" if name == "precision" else name.removesuffix(PRECISION_SUFFIX)
        if date != name and date in table.variables:
            pairs[table.variables.index(date)] = i
    if not pairs:
        return table
    kept = [i for i in range(len(table.variables)) if i not in pairs.values()]

    def cell(row: tuple, i: int) -> Term | None:
        if i in pairs and row[i] is not None and row[pairs[i]] is not None:
            return ox.Literal(dated(row[i].value, row[pairs[i]].value))
        return row[i]

    return ResultTable([table.variables[i] for i in kept], [tuple(cell(row, i) for i in kept) for row in table.rows])


@dataclass
class RenderedTable:
    """A table as text, and the columns left out to fit the width."""

    text: str
    left_out: list[str]

    @property
    def note(self) -> str:
        """What was left out and how to get it, or "" if nothing was."""
        if not self.left_out:
            return ""
        return (f"left out to fit the terminal: {', '.join(self.left_out)} "
                "(--columns a,b,c chooses the columns, --wide shows them all)")


def _texts(table: ResultTable) -> list[list[str]]:
    return [["" if t is None else t.value for t in row] for row in table.rows]


def _least_useful_first(table: ResultTable) -> list[int]:
    """Column indexes, the first to leave out first: the IRIs (people read the labels beside them),
    then the others from the right, as the saved queries put their columns in order of use."""
    columns = list(reversed(range(len(table.variables))))
    return [i for i in columns if _is_iri(table, i)] + [i for i in columns if not _is_iri(table, i)]


def _is_iri(table: ResultTable, column: int) -> bool:
    """Whether a column holds IRIs: as terms, or as lists of them in text (network's meetings)."""
    bound = [row[column] for row in table.rows if row[column] is not None]
    return bool(bound) and all(isinstance(t, ox.NamedNode) or all(WEB_IRI.match(member) for member in
                                                                   t.value.split(LIST_SEPARATOR)) for t in bound)


def _narrowest(name: str, cells: list[str]) -> int:
    """The fewest screen columns a column can be given: a short column whole, a long one wrapped
    at NARROW, or its header's width, or its longest word's up to LONG_WORD (a Korean character
    takes two)."""
    widest = max([len(name), *(cell_len(line) for c in cells for line in c.split("\n"))])
    longest_word = max([0, *(cell_len(word) for c in cells for word in c.split())])
    return widest if widest <= NARROW else max(NARROW, len(name), min(longest_word, LONG_WORD))


def render(table: ResultTable, width: int | None) -> RenderedTable:
    """The table in `width` characters (None: as wide as its longest cells, one line per row).

    Columns are left out, least useful first, until the rest can fit when their long cells wrap;
    IRIs always, when there is anything else to show: wrapped, they are unreadable and tall."""
    texts = _texts(table)
    shown = list(range(len(table.variables)))
    left_out = []
    if width is not None:
        def needs(columns: list[int]) -> int:
            return sum(_narrowest(table.variables[i], [row[i] for row in texts]) + COLUMN_PADDING for i in columns)
        for i in _least_useful_first(table):
            if (needs(shown) <= width and not _is_iri(table, i)) or len(shown) == 1:
                break
            shown.remove(i)
            left_out.append(table.variables[i])
    lines = _draw(table.variables, texts, shown, width, rules=False)
    if width is not None and len(lines) > len(texts) + 3:  # a row wraps: rules show where each ends
        lines = _draw(table.variables, texts, shown, width, rules=True)
        # rich leaves a blank line where a wrap falls on the space before a word it must fold; a
        # row's first line is blank only if all its cells are, so a blank line after any other goes
        lines = [line for before, line in zip(["─", *lines], lines) if line or not before.strip("─")]
    return RenderedTable("".join(line + "\n" for line in lines), [name for name in table.variables if name in left_out])


def _draw(variables: list[str], texts: list[list[str]], shown: list[int], width: int | None,
          rules: bool) -> list[str]:
    """The lines of the table drawn by rich: the `shown` columns, wrapped to `width` (None: not
    wrapped), with a rule between rows if `rules`, and the count of rows below."""
    grid = Table(box=box.HORIZONTALS, show_edge=False, pad_edge=False, expand=False, show_lines=rules,
                 caption=f"{len(texts)} row{'s' if len(texts) != 1 else ''}", caption_justify="left")
    for i in shown:
        grid.add_column(variables[i], overflow="fold", no_wrap=width is None)
    for row in texts:
        grid.add_row(*(row[i] for i in shown))
    out = io.StringIO()
    console = Console(file=out, width=width or 1_000_000, color_system=None, highlight=False, emoji=False,
                      markup=False, soft_wrap=False)
    console.print(grid, crop=False)
    return [line.rstrip() for line in out.getvalue().splitlines()]
