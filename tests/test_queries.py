"""Saved queries: catalogue drift, parameter binding, and golden answers on the seed KB."""

from __future__ import annotations

import csv
import datetime
import io
import json
from pathlib import Path

import pyoxigraph as ox
import pytest

from kb.endpoint import results_table
from kb.errors import QueryError
from kb.graph import KBID
from kb.queries import (Parameter, ResultFormat, bind, catalogue, format_results, read_query,
                        resolve_parameter, run_query, run_sparql)

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
QUERIES = catalogue(ROOT)
REQUIRED = {
    "actors": ["label", "type", "aliases"],
    "roles": ["actor", "title", "organization", "sources"],
    "meetings": ["meeting", "label", "status", "date", "place", "participants", "sources"],
    "meetings-of": ["meeting", "label", "status", "date", "place", "participants", "sources"],
    "measures": ["measure", "label", "imposer", "target", "status", "announced", "effective", "products", "sources"],
    "statements": ["statement", "speaker", "date", "mode", "quote", "sources"],
    "statements-by": ["statement", "speaker", "date", "mode", "quote", "sources"],
    "timeline": ["date", "kind", "label", "status", "sources"],
    "reports": ["fact", "kind", "label", "source", "published", "status", "date", "quote"],
    "corroboration": ["fact", "kind", "label", "n_sources", "n_independent", "sources"],
    "conflicts": ["subject", "property", "value_a", "sources_a", "quote_a", "value_b", "sources_b", "quote_b"],
    "pending": ["meeting", "label", "status"],
}
# Golden files for the parametrised queries: file name -> (query, parameters)
PARAMETRISED = {
    "meetings-of--kim-hyun-chong": ("meetings-of", {"actor": "Kim Hyun-chong"}),
    "statements-by--kim-hyun-chong": ("statements-by", {"actor": "kim hyun-chong"}),
    "statements-by--gov-jp": ("statements-by", {"actor": "Tokyo"}),
}


def rows(store: ox.Store, name: str, params: dict[str, str] | None = None) -> list[dict[str, str]]:
    text = format_results(run_query(store, QUERIES[name], params or {}), ResultFormat.CSV)
    return list(csv.DictReader(io.StringIO(text)))


def test_the_required_queries_exist_with_their_columns(seed_store):
    for name, columns in REQUIRED.items():
        assert name in QUERIES, f"queries/{name}.rq is missing"
        table = run_query(seed_store, QUERIES[name], {p.name: "Kim Hyun-chong" for p in QUERIES[name].parameters})
        assert table.variables[:len(columns)] == columns, name


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_header_parameters_and_lists_match_the_query(name):
    query = QUERIES[name]
    assert query.summary and query.description
    for parameter in query.parameters + query.filters:
        assert parameter.variable in query.variables, f"{name}: parameter {parameter.name} is not a variable"
        assert parameter.description
    for parameter in query.filters:  # the query is whole without it
        assert f"!BOUND(?{parameter.variable})" in query.text, f"{name}: filter {parameter.name} is never optional"
    projected = run_sparql(ox.Store(), query.text).variables
    for column in query.lists:
        assert column in projected, f"{name}: lists names {column}, which the query does not return"


@pytest.mark.parametrize("name", sorted(n for n, q in QUERIES.items() if not q.parameters))
def test_golden(name, seed_store):
    """Each answer on the seed KB equals the golden CSV that was checked by hand."""
    expected = (GOLDEN / f"{name}.csv").read_text(encoding="utf-8")
    actual = format_results(run_query(seed_store, QUERIES[name], {}), ResultFormat.CSV)
    assert actual == expected


@pytest.mark.parametrize("golden", sorted(PARAMETRISED))
def test_golden_parametrised(golden, seed_store):
    name, params = PARAMETRISED[golden]
    expected = (GOLDEN / f"{golden}.csv").read_text(encoding="utf-8")
    assert format_results(run_query(seed_store, QUERIES[name], params), ResultFormat.CSV) == expected


def test_every_saved_query_has_a_golden_file():
    goldens = {p.stem for p in GOLDEN.glob("*.csv")}
    plain = {n for n, q in QUERIES.items() if not q.parameters}
    assert plain <= goldens
    assert {q for q, _ in PARAMETRISED.values()} == {n for n, q in QUERIES.items() if q.parameters}


def test_meetings_of_kim_lists_his_talks_with_mulvaney(seed_store):
    """The issue's own example: held, 2019-07-10, reported by 000 and 001."""
    found = [r for r in rows(seed_store, "meetings-of", {"actor": "Kim Hyun-chong"})
             if "Mick Mulvaney" in r["participants"]]
    assert len(found) == 1
    talks = found[0]
    assert (talks["status"], talks["date"]) == ("held", "2019-07-10")
    assert talks["sources"] == "000_f0205f4675e93af6; 001_3b887b2a4a309624"


@pytest.mark.parametrize("value", ["Kim Hyun-chong", "KIM HYUN-CHONG", "김현종", str(KBID["kim-hyun-chong"]),
                                   f"<{KBID['kim-hyun-chong']}>"])
def test_a_parameter_is_a_label_an_alias_or_an_iri(seed_store, value):
    assert rows(seed_store, "meetings-of", {"actor": value}) == rows(seed_store, "meetings-of",
                                                                     {"actor": "Kim Hyun-chong"})


def test_a_misspelling_in_the_text_finds_the_person(seed_store):
    assert rows(seed_store, "statements-by", {"actor": "Mulvane"}) == \
        rows(seed_store, "statements-by", {"actor": "Mick Mulvaney"})


def test_a_parameter_is_never_pasted_into_the_query(seed_store):
    with pytest.raises(QueryError, match="nothing named"):
        run_query(seed_store, QUERIES["meetings-of"], {"actor": 'x")) } } SELECT * WHERE { ?s ?p ?o } #'})


def test_binding_uses_a_values_block_with_the_terms_n3():
    text = bind("PREFIX x: <http://x/#>\n# WHERE { in a comment\nSELECT ?a WHERE { ?a ?b ?c }",
                {"a": ox.Literal('say "hi" } #')})
    assert text.endswith('SELECT ?a WHERE { VALUES (?a) { ("say \\"hi\\" } #") } ?a ?b ?c }')
    found = run_sparql(ox.Store(), bind("SELECT ?a WHERE { }", {"a": ox.Literal('say "hi" } #')}))
    assert found.rows == [(ox.Literal('say "hi" } #'),)]


def test_an_iri_parameter_must_be_a_valid_iri(seed_store):
    with pytest.raises(QueryError, match="not a valid IRI"):
        run_query(seed_store, QUERIES["meetings-of"], {"actor": 'http://x/"y'})


def test_unknown_and_missing_parameters_are_errors(seed_store):
    with pytest.raises(QueryError, match="unknown parameter"):
        run_query(seed_store, QUERIES["meetings"], {"actor": "Kim"})
    with pytest.raises(QueryError, match="--param actor"):
        run_query(seed_store, QUERIES["meetings-of"], {})


def test_an_ambiguous_name_asks_for_an_iri(seed_store):
    """"Washington" is both the U.S. government (as a metonym) and the city."""
    anything = Parameter("thing", "any node", "")
    with pytest.raises(QueryError, match="names 2 things.*give an IRI"):
        resolve_parameter(seed_store, anything, "Washington")
    actor = QUERIES["meetings-of"].parameters[0]
    assert resolve_parameter(seed_store, actor, "Washington") == ox.NamedNode(KBID["gov-us"])


def test_conflicts_has_the_real_disagreements_and_not_the_false_ones(seed_store):
    conflicts = rows(seed_store, "conflicts")
    acting = {(r["fact"].rsplit("/", 1)[1], r["sources_a"], r["sources_b"]) for r in conflicts
              if r["property"] == "acting"}
    assert ("mulvaney-chief-of-staff", "000_f0205f4675e93af6", "001_3b887b2a4a309624") in acting
    assert any(f == "knapper-deputy-assistant-secretary" and a == "001_3b887b2a4a309624" for f, a, _ in acting)
    # Friday in Washington (000) and early Saturday KST (001) are one instant: no date conflict
    assert not [r for r in conflicts if r["fact"].endswith("/kim-kupperman-talks") and r["property"] == "date"]


def test_reports_lists_every_report_in_the_knowledge_base(seed_store):
    # every article's account of a meeting, measure, statement or post (org:Membership has no rdfs:label)
    from kb.annotations import load_corpus
    from kb.graph import report_iri
    everything = {str(report_iri(r.article, r.fact)) for r in load_corpus(ROOT).reports
                  if r.section in ("meetings", "measures", "statements", "roles")}
    reports = rows(seed_store, "reports")
    listed = [r["report"] for r in reports]
    assert len(listed) == len(set(listed)) == len(everything)
    assert set(listed) == everything
    assert any(r["kind"] == "Post" for r in reports)


def test_wire_copies_are_one_independent_source(seed_store):
    corroboration = {r["fact"].rsplit("/", 1)[1]: r for r in rows(seed_store, "corroboration")}
    offer = corroboration["kim-trilateral-offer"]
    assert int(offer["n_sources"]) > int(offer["n_independent"])  # 003 cites Yonhap, which is 000's wire


def test_result_formats(seed_store):
    table = run_query(seed_store, QUERIES["meetings-of"], {"actor": "Mick Mulvaney"})
    data = json.loads(format_results(table, ResultFormat.JSON))
    assert data["head"]["vars"] == table.variables
    assert len(data["results"]["bindings"]) == len(table.rows)
    assert data["results"]["bindings"][0]["meeting"]["type"] == "uri"
    tsv = format_results(table, ResultFormat.TSV).splitlines()
    assert tsv[0].split("\t") == table.variables and len(tsv) == len(table.rows) + 1
    md = format_results(table, ResultFormat.MD).splitlines()
    assert md[0].startswith("| meeting |") and len(md) == len(table.rows) + 2
    with pytest.raises(ValueError, match="kb.tables.render"):
        format_results(table, ResultFormat.TABLE)


def test_a_bad_header_names_the_file(tmp_path):
    bad = tmp_path / "bad.rq"
    bad.write_text("#+ summary: one: two\nSELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8")
    with pytest.raises(QueryError) as e:
        read_query(bad, tmp_path)
    assert str(e.value).startswith(f"{bad}:1: bad #+ header")


def test_a_parameter_class_must_be_an_iri(tmp_path):
    bad = tmp_path / "bad.rq"
    bad.write_text("#+ summary: s\n#+ params:\n#+   - {name: actor, class: not an iri}\n"
                   "SELECT ?actor WHERE { ?actor ?p ?o }\n", encoding="utf-8")
    with pytest.raises(QueryError) as e:
        read_query(bad, tmp_path)
    assert str(e.value).startswith(f"{bad}:1: #+ params actor: class 'not an iri' is not an IRI")


def test_each_kind_of_term_in_json_and_back():
    """Rows hold pyoxigraph terms, from the store or from a server's JSON alike: a simple literal
    is written without a datatype, a language-tagged one with its language, a typed one with its
    datatype, an unbound variable not at all."""
    table = run_sparql(ox.Store(), 'SELECT ?iri ?simple ?tagged ?typed ?none WHERE { '
                                   'BIND(<http://x/y> AS ?iri) BIND("a" AS ?simple) BIND("b"@en AS ?tagged) '
                                   'BIND("2019-03-01"^^<http://www.w3.org/2001/XMLSchema#date> AS ?typed) }')
    data = json.loads(format_results(table, ResultFormat.JSON))
    assert data["results"]["bindings"] == [{
        "iri": {"type": "uri", "value": "http://x/y"},
        "simple": {"type": "literal", "value": "a"},
        "tagged": {"type": "literal", "value": "b", "xml:lang": "en"},
        "typed": {"type": "literal", "value": "2019-03-01", "datatype": "http://www.w3.org/2001/XMLSchema#date"}}]
    assert results_table(data) == table
    assert format_results(table, ResultFormat.CSV) == "iri,simple,tagged,typed,none\nhttp://x/y,a,b,2019-03-01,\n"


# The filters. Each is checked against the unfiltered answer, filtered here in Python by the rule the
# queries' descriptions give: a day in the range, or a week, month or year any of whose days is.
def last_day(day: str, precision: str) -> datetime.date:
    first = datetime.date.fromisoformat(day)
    if precision == "week":
        return first + datetime.timedelta(days=6)
    if precision == "month":
        return (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)
    if precision == "year":
        return first.replace(month=12, day=31)
    return first


def in_range(day: str, precision: str, start: str, end: str) -> bool:
    return bool(day) and day <= end and last_day(day, precision) >= datetime.date.fromisoformat(start)


@pytest.mark.parametrize("start, end", [("2019-07-01", "2019-08-05"), ("2019-07-17", "2019-07-20"),
                                        ("2019-07-20", "2019-07-31"), ("2014-06-01", "2014-06-01")])
def test_timeline_between_two_days_keeps_what_overlaps_them(seed_store, start, end):
    everything = rows(seed_store, "timeline")
    expected = [r for r in everything if in_range(r["date"], r["precision"], start, end)]
    assert rows(seed_store, "timeline", {"from": start, "to": end}) == expected
    assert expected and len(expected) < len(everything)


def test_a_week_a_month_and_a_year_are_in_a_range_that_holds_one_of_their_days(seed_store):
    found = {(r["date"], r["precision"]) for r in rows(seed_store, "timeline", {"from": "2019-07-20", "to": "2019-07-20"})}
    assert ("2019-07-15", "week") in found and ("2019-07-01", "month") in found
    assert ("2014-01-01", "year") in {(r["date"], r["precision"]) for r in
                                      rows(seed_store, "timeline", {"from": "2014-12-31"})}


def test_meetings_statements_and_measures_between_two_days(seed_store):
    start, end = "2019-07-12", "2019-07-19"
    meetings = rows(seed_store, "meetings")
    assert rows(seed_store, "meetings", {"from": start, "to": end}) == \
        [r for r in meetings if in_range(r["date"], r["precision"], start, end)]
    precision = {r["fact"]: r["precision"] for r in rows(seed_store, "timeline")}
    statements = rows(seed_store, "statements")
    assert rows(seed_store, "statements", {"from": start}) == \
        [r for r in statements if in_range(r["date"], precision.get(r["statement"], ""), start, "9999-12-31")]
    measures = rows(seed_store, "measures")
    expected = [r for r in measures if in_range(r["announced"], r["announced_precision"], "2019-07-02", "2019-07-08")
                or in_range(r["effective"], r["effective_precision"], "2019-07-02", "2019-07-08")]
    assert rows(seed_store, "measures", {"from": "2019-07-02", "to": "2019-07-08"}) == expected
    # the export controls are in force from "last week" of 11 July: the week of 1 July holds 2 July
    assert [r["measure"].rsplit("/", 1)[1] for r in expected] == ["jp-export-controls", "kr-wto-action"]


@pytest.mark.parametrize("name, column, value, shown", [
    ("meetings", "status", "planned", "planned"), ("meetings", "status", "HELD", "held"),
    ("meetings", "kind", "phone call", "Phone call"), ("measures", "status", "in force", "in-force"),
    ("measures", "kind", "Dispute action", "Dispute action"), ("measures", "imposer", "Japan", "Government of Japan"),
    ("statements", "mode", "denial", "denial")])
def test_kind_status_and_mode_filters_keep_the_rows_that_have_them(seed_store, name, column, value, shown):
    expected = [r for r in rows(seed_store, name) if r[column] == shown]
    assert expected and rows(seed_store, name, {column: value}) == expected


def test_timeline_by_kind_and_by_actor(seed_store):
    timeline = rows(seed_store, "timeline")
    assert rows(seed_store, "timeline", {"kind": "Statement"}) == [r for r in timeline if r["kind"] == "statement"]
    assert rows(seed_store, "timeline", {"kind": "Meeting"}) == [r for r in timeline if r["kind"].startswith("meeting: ")]
    theirs = {r["meeting"] for r in rows(seed_store, "meetings-of", {"actor": "Kim Hyun-chong"})}
    theirs |= {r["statement"] for r in rows(seed_store, "statements-by", {"actor": "Kim Hyun-chong"})}
    assert rows(seed_store, "timeline", {"actor": "Kim Hyun-chong"}) == [r for r in timeline if r["fact"] in theirs]


@pytest.mark.parametrize("value", ["2019-7-1", "2019-07-32", "July 1", "20190701", ""])
def test_a_malformed_date_is_one_clear_error(seed_store, value):
    with pytest.raises(QueryError) as error:
        run_query(seed_store, QUERIES["timeline"], {"from": value})
    assert str(error.value) == f"from: {value!r} is not a date; give a day as YYYY-MM-DD, e.g. 2019-07-01"


def test_status_changes_are_every_pair_of_articles_in_time_order_with_different_statuses(seed_store):
    reports = [r for r in rows(seed_store, "reports") if r["status"] and r["kind"] != "Statement"]
    expected = {(a["fact"], a["source"], a["status"], b["source"], b["status"]) for a in reports for b in reports
                if a["fact"] == b["fact"] and a["published"] < b["published"] and a["status"] != b["status"]}
    changes = rows(seed_store, "status-changes")
    assert {(r["fact"], r["source_a"], r["status_a"], r["source_b"], r["status_b"]) for r in changes} == expected
    assert len(changes) == len(expected)
    quotes = {(r["fact"], r["source"]): r["quote"] for r in reports}
    for r in changes:
        assert (r["quote_a"], r["quote_b"]) == (quotes[r["fact"], r["source_a"]], quotes[r["fact"], r["source_b"]])
    yoo = [r for r in changes if r["fact"].endswith("/yoo-us-visit")]
    assert [(r["status_a"], r["published_a"], r["status_b"], r["published_b"]) for r in yoo] == \
        [("planned", "2019-07-11", "held", "2019-07-31")]
