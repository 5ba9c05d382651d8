"""Tables for people (kb.tables) on the seed KB: every default table fits 120 and 80 columns
without losing a word of what it shows, and says what it left out; dates carry their precision;
sources are named by publisher and day."""

from __future__ import annotations

import re

import pyoxigraph as ox
import pytest
from rich.cells import cell_len

from kb.errors import QueryError
from kb.queries import LIST_SEPARATOR, ResultTable, catalogue, run_query, run_sparql
from kb.tables import (CITATIONS, Sources, as_printed, citations, cite_sources, dated, render, select_columns,
                       with_precisions)
from conftest import REPO

QUERIES = catalogue(REPO)
DEFAULTS = sorted(name for name, query in QUERIES.items() if not query.parameters)


def for_people(store: ox.Store, name: str) -> ResultTable:
    """What `tradekb query NAME` shows: dates with precisions, sources as "publisher, date"."""
    return as_printed(run_query(store, QUERIES[name], {}), True, None, None, lambda: run_sparql(store, CITATIONS.text))


def cells(text: str, start: int, end: int) -> str:
    """The characters of a line between two screen columns (a Korean character takes two)."""
    out, at = [], 0
    for char in text:
        if start <= at < end:
            out.append(char)
        at += cell_len(char)
    return "".join(out)


def printed_cells(rendered: str, columns: list[str]) -> list[list[str]]:
    """Each row's cells as printed, read back by the header's column positions, wrapped lines
    joined: rows are the blocks between rules, or each a line where there are none."""
    lines = rendered.splitlines()
    starts = []
    for column in columns:
        starts.append(lines[0].index(column, starts[-1] if starts else 0))
    ends = starts[1:] + [10 ** 6]
    starts = [cell_len(lines[0][:s]) for s in starts]
    ends = [cell_len(lines[0][:e]) if e < 10 ** 6 else e for e in ends]
    body = lines[2:-1]

    def is_rule(line: str) -> bool:
        return bool(line) and not line.strip("─")
    if not any(is_rule(line) for line in body):
        blocks = [[line] for line in body]
    else:
        blocks, block = [], []
        for line in body + ["─"]:
            if is_rule(line):
                blocks.append(block)
                block = []
            else:
                block.append(line)
    return [[" ".join(cells(line, a, b).strip() for line in block) for a, b in zip(starts, ends)] for block in blocks]


def joined(text: str) -> str:
    """The text without its spaces: wrapping moves them, folding a long word adds some."""
    return "".join(text.split())


@pytest.mark.parametrize("width", [120, 80])
@pytest.mark.parametrize("name", DEFAULTS)
def test_every_default_table_fits_the_width_and_keeps_every_word_it_shows(seed_store, name, width):
    table = for_people(seed_store, name)
    rendered = render(table, width)
    lines = rendered.text.splitlines()
    assert max(cell_len(line) for line in lines) <= width, name
    assert all(lines), "rows are between rules: no blank line"
    shown = [i for i, column in enumerate(table.variables) if column not in rendered.left_out]
    assert lines[0].split() == [table.variables[i] for i in shown]  # the header, in the query's order
    assert lines[-1] == f"{len(table.rows)} row{'s' if len(table.rows) != 1 else ''}"
    printed = printed_cells(rendered.text, [table.variables[i] for i in shown])
    assert len(printed) == len(table.rows)
    for row, cells_printed in zip(table.rows, printed):  # no cell cut short, none spilled into another
        assert [joined(c) for c in cells_printed] == [joined(row[i].value if row[i] else "") for i in shown]


def test_iris_are_left_out_first_and_the_note_says_how_to_get_them(seed_store):
    rendered = render(for_people(seed_store, "meetings"), 120)
    assert rendered.left_out[0] == "meeting"  # the IRI: its label is shown
    assert rendered.note.startswith(f"left out to fit the terminal: {', '.join(rendered.left_out)} ")
    assert "--columns" in rendered.note and "--wide" in rendered.note
    # IRIs given as text, as network lists its meetings, are IRIs too
    assert render(for_people(seed_store, "network"), 120).left_out == ["actor_a", "actor_b", "meetings"]


def test_full_width_is_one_line_per_row_with_nothing_left_out(seed_store):
    table = for_people(seed_store, "statements")
    rendered = render(table, None)
    assert rendered.left_out == [] and rendered.note == ""
    lines = rendered.text.splitlines()
    assert len(lines) == len(table.rows) + 3  # header, rule, rows, count
    longest_quote = max(len(row[table.variables.index("quote")].value) for row in table.rows)
    assert max(len(line) for line in lines) > longest_quote


def test_a_date_shows_its_precision_and_the_precision_column_is_folded_in(seed_store):
    raw = run_query(seed_store, QUERIES["timeline"], {})
    shown = with_precisions(raw)
    assert "precision" in raw.variables and "precision" not in shown.variables
    date, precision = raw.variables.index("date"), raw.variables.index("precision")
    for before, after in zip(raw.rows, shown.rows):
        assert after[0].value == dated(before[date].value, before[precision].value)
    assert {after[0].value for after in shown.rows} >= {"week of 2019-07-15", "2019-07 (month)", "2014 (year)"}
    measures = with_precisions(run_query(seed_store, QUERIES["measures"], {}))
    controls = next(row for row in measures.rows if row[0].value.endswith("/jp-export-controls"))
    # "last week" in articles of 2019-07-11: in force from the week of 1 July, not the day
    assert controls[measures.variables.index("effective")].value == "week of 2019-07-01"


def test_sources_are_named_by_publisher_and_day(seed_store):
    articles = run_query(seed_store, QUERIES["articles"], {})
    by_stem = {row[0].value: row for row in articles.rows}
    publisher, published = articles.variables.index("publisher"), articles.variables.index("published")
    cited = citations(run_sparql(seed_store, CITATIONS.text))
    raw = run_query(seed_store, QUERIES["meetings"], {})
    column = raw.variables.index("sources")
    for how in Sources:
        named = cite_sources(raw, cited, how)
        for before, after in zip(raw.rows, named.rows):
            for stem, name in zip(before[column].value.split(LIST_SEPARATOR),
                                  after[column].value.split(LIST_SEPARATOR)):
                article = by_stem[stem]
                day = article[published].value
                who = article[publisher].value if article[publisher] is not None else None
                expected = {Sources.STEM: stem, Sources.CITE: f"{who or stem}, {day}",
                            Sources.BOTH: f"{stem} ({who}, {day})" if who else f"{stem} ({day})"}[how]
                assert name == expected


def test_columns_are_chosen_and_ordered_and_a_mistyped_one_is_named(seed_store):
    table = run_query(seed_store, QUERIES["meetings"], {})
    chosen = select_columns(table, ["date", "label"])
    assert chosen.variables == ["date", "label"]
    assert [row[1] for row in chosen.rows] == [row[table.variables.index("label")] for row in table.rows]
    with pytest.raises(QueryError, match=re.escape("--columns: no column 'lable'; did you mean 'label'")):
        select_columns(table, ["lable"])
