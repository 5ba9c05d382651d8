"""kb.annotations: quotes located in code points, selectors, dates across zones, and every loader error.

Each error test breaks a copy of the mini project and checks the problem's file, line and words.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import shutil

import pytest
from rdflib import Literal, URIRef

from kb.annotations import find_quote, load_corpus
from kb.errors import AnnotationError, Problem
from kb.graph import OA, TKB, KBID, graph_iri
from kb.pipeline import load_knowledge_base

REPO = Path(__file__).resolve().parent.parent

CONSTRUCTIVE = "We asked Washington to play a constructive role"
INTEGER = URIRef("http://www.w3.org/2001/XMLSchema#integer")


# -- helpers ---------------------------------------------------------------------------------------

def seeds(project: Path) -> Path:
    return project / "seeds"


def edit(project: Path, name: str, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in seeds/`name` by `new`."""
    path = seeds(project) / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not unique in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(project: Path, name: str, needle: str) -> int:
    """The 1-based number of the one line of seeds/`name` that contains `needle`."""
    lines = (seeds(project) / name).read_text(encoding="utf-8").splitlines()
    found = [n for n, line in enumerate(lines, 1) if needle in line]
    assert len(found) == 1, f"{needle!r} is on lines {found} of {name}"
    return found[0]


def problems(project: Path) -> list[Problem]:
    with pytest.raises(AnnotationError) as caught:
        load_corpus(project)
    return caught.value.problems


def single_problem(project: Path) -> Problem:
    found = problems(project)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def assert_problem(problem: Problem, name: str, line: int, *words: str, column: int | None = None) -> None:
    """`problem` names the file `name`, the line (and the column, if given) and says `words`."""
    assert problem.location.path.name == name, str(problem)
    assert problem.location.line == line, str(problem)
    if column is not None:
        assert problem.location.column == column, str(problem)
    for word in words:
        assert word in problem.message, f"{word!r} not in {problem.message!r}"
    where = f"{problem.location.path}:{line}" if line else f"{problem.location.path}"
    where += f":{problem.location.column}" if problem.location.column else ""
    assert str(problem) == f"{where}: {problem.message}"


def report(corpus, article: str, fact: str):
    [found] = [r for r in corpus.reports if r.article == article and r.fact == fact]
    return found


def article_text(project: Path, stem: str) -> str:
    return (seeds(project) / f"{stem}.txt").read_text(encoding="utf-8")


# -- the mini project loads --------------------------------------------------------------------------

def test_mini_project_loads(mini_project):
    corpus = load_corpus(mini_project)
    assert sorted(corpus.articles) == ["a01_mini", "a02_mini"]
    assert corpus.definitions["park-bennett-talks"].graph == "registry"
    assert corpus.definitions["hanbit-daily"].graph == "a01_mini"
    assert corpus.definitions["bennett-listened-carefully"].graph == "a02_mini"
    assert len(corpus.reports_of("park-bennett-talks")) == 2
    assert corpus.articles["a01_mini"].published == date(2019, 7, 13)
    assert corpus.articles["a01_mini"].timezone == "Asia/Seoul"


# -- offsets and selectors ----------------------------------------------------------------------------

def test_offsets_are_unicode_code_points(mini_project):
    text = article_text(mini_project, "a01_mini")
    quote = report(load_corpus(mini_project), "a01_mini", "park-constructive-role").quotes[0]
    assert quote.exact == CONSTRUCTIVE
    assert quote.start == text.index(CONSTRUCTIVE)
    assert quote.end == text.index(CONSTRUCTIVE) + len(CONSTRUCTIVE)
    assert text[quote.start:quote.end] == CONSTRUCTIVE
    # The fixture is only a test of code points if UTF-8 bytes would count differently here
    # (the Korean name and a curly quotation mark stand before the quote).
    assert len(text[:quote.start].encode("utf-8")) > quote.start
    assert "박민준" in text[:quote.start] and "“" in text[:quote.start]


def test_non_ascii_quote_is_located_in_code_points(mini_project):
    text = article_text(mini_project, "a01_mini")
    quotes = report(load_corpus(mini_project), "a01_mini", "park-min-jun").quotes
    assert [q.exact for q in quotes] == ["Park Min-jun", "박민준"]
    korean = quotes[1]
    assert (korean.start, korean.end) == (text.index("박민준"), text.index("박민준") + 3)


def test_text_quote_selector_prefix_and_suffix(mini_project):
    quote = report(load_corpus(mini_project), "a01_mini", "park-constructive-role").quotes[0]
    # 32 characters either side, counted by hand from a01_mini.txt.
    assert quote.prefix == "ST), the trade ministry said.\n\n“"
    assert quote.suffix == ",” Park told reporters after the"
    assert len(quote.prefix) == len(quote.suffix) == 32


def test_selector_context_is_cut_at_the_ends_of_the_text(mini_project):
    corpus = load_corpus(mini_project)
    title = corpus.articles["a01_mini"].title
    assert (title.start, title.prefix) == (0, "")
    assert title.suffix.startswith("\n\nSouth Korea's deputy")
    publisher = report(corpus, "a01_mini", "hanbit-daily").quotes[0]
    assert publisher.suffix == " staff\n"


def test_selectors_in_the_graph(mini_project):
    kb = load_knowledge_base(mini_project)
    g = kb.dataset.graph(graph_iri("a01_mini"))
    span = URIRef(f"{KBID}report/a01_mini/park-constructive-role/span/1")
    text = article_text(mini_project, "a01_mini")
    start = text.index(CONSTRUCTIVE)
    position, by_quote = URIRef(f"{span}/position"), URIRef(f"{span}/quote")
    assert g.value(position, OA.start) == Literal(start, datatype=INTEGER)
    assert g.value(position, OA.end) == Literal(start + len(CONSTRUCTIVE), datatype=INTEGER)
    assert str(g.value(by_quote, OA.exact)) == CONSTRUCTIVE
    assert str(g.value(by_quote, OA.prefix)) == text[start - 32:start]
    assert g.value(span, OA.hasSource) == URIRef(f"{KBID}article/a01_mini")


# -- line endings: offsets count the code points of the file as stored --------------------------------

SELECTORS = """
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?stem ?exact ?prefix ?suffix ?start ?end WHERE {
  ?span oa:hasSource ?article ; oa:hasSelector ?quote, ?position .
  ?article dcterms:identifier ?stem .
  ?quote a oa:TextQuoteSelector ; oa:exact ?exact ; oa:prefix ?prefix ; oa:suffix ?suffix .
  ?position a oa:TextPositionSelector ; oa:start ?start ; oa:end ?end .
}"""


def with_line_breaks(project: Path, newline: str) -> None:
    """Save every article and annotation file of `project` with `newline` for a line break."""
    for path in seeds(project).iterdir():
        text = path.read_bytes().decode("utf-8").replace("\r\n", "\n")
        path.write_bytes(text.replace("\n", newline).encode("utf-8"))


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_every_seed_selector_applies_to_the_file_as_stored(tmp_path, newline):
    """Every position selector of the seed articles, saved with LF, CRLF or CR line breaks, picks
    out of the file's code points as stored exactly its quote, prefix and suffix (an article read
    with newline translation had 59 of 528 wrong once saved with CRLF)."""
    project = tmp_path / "project"
    for part in ("seeds", "ontology"):
        shutil.copytree(REPO / part, project / part)
    with_line_breaks(project, newline)
    kb = load_knowledge_base(project)
    stored = {path.stem: path.read_bytes().decode("utf-8") for path in seeds(project).glob("*.txt")}
    for text in stored.values():  # every line break is `newline`
        assert newline in text and not set(text.replace(newline, "")) & {"\r", "\n"}
    rows = list(kb.store.query(SELECTORS, use_default_graph_as_union=True))
    corpus = load_corpus(project)  # every span the annotations cite: words, framing, date evidence
    assert len(rows) == (sum(len(r.quotes) + len(r.attribution) + len(r.date_evidence) for r in corpus.reports)
                         + sum(len(a.date_evidence) for a in corpus.articles.values())) > 500
    for row in rows:
        text, start, end = stored[row["stem"].value], int(row["start"].value), int(row["end"].value)
        assert text[start:end] == row["exact"].value
        assert text[max(0, start - 32):start] == row["prefix"].value
        assert text[end:end + 32] == row["suffix"].value


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_a_quote_across_a_line_break_matches_any_line_break(mini_project, newline):
    """A quote written with a line break ("\\n" in YAML) is found whatever the article's line
    endings, and its selector gives the words as stored (a CRLF is two code points)."""
    edit(mini_project, "a01_mini.yaml", 'quote: "Tokyo denied that the curbs were retaliation"',
         'quote: "were retaliation.\\n\\nBy Hanbit Daily"')
    with_line_breaks(mini_project, newline)
    corpus = load_corpus(mini_project)
    [quote] = report(corpus, "a01_mini", "jp-retaliation-denial").quotes
    text = (seeds(mini_project) / "a01_mini.txt").read_bytes().decode("utf-8")
    assert quote.exact == f"were retaliation.{newline * 2}By Hanbit Daily"
    assert text[quote.start:quote.end] == quote.exact


def test_find_quote_prefix_suffix_and_occurrence():
    text = "Kim said no. Then Kim said yes. Kim said maybe."
    assert find_quote(text, {"exact": "Kim said", "occurrence": 2}).start == 18
    assert find_quote(text, {"exact": "Kim said", "prefix": "Then "}).start == 18
    assert find_quote(text, {"exact": "Kim said", "suffix": " maybe"}).start == 32
    with pytest.raises(ValueError, match="ambiguous: it occurs 3 times"):
        find_quote(text, "Kim said")
    with pytest.raises(ValueError, match="not with the prefix/suffix given"):
        find_quote(text, {"exact": "Kim said", "prefix": "Now "})
    with pytest.raises(ValueError, match="occurrence must be 1..3"):
        find_quote(text, {"exact": "Kim said", "occurrence": 4})


# -- dates through the loader ----------------------------------------------------------------------------

def test_same_day_told_in_two_zones_is_one_date(mini_project):
    corpus = load_corpus(mini_project)
    seoul = report(corpus, "a01_mini", "park-bennett-talks").dates["date"]
    washington = report(corpus, "a02_mini", "park-bennett-talks").dates["date"]
    # "early Saturday (KST)" counted from Saturday 13 July (Seoul), stated in the place's zone.
    assert (seoul.value, seoul.tz, seoul.stated_in) == (date(2019, 7, 12), "Asia/Seoul", "America/New_York")
    # "on Friday" counted from Friday 12 July (New York).
    assert (washington.value, washington.tz) == (date(2019, 7, 12), "America/New_York")
    kb = load_knowledge_base(mini_project)
    derived = kb.dataset.graph(graph_iri("derived"))
    assert list(derived.objects(KBID["park-bennett-talks"], TKB.date)) == [Literal(date(2019, 7, 12))]


def test_plain_date_in_another_zone_is_not_moved(mini_project):
    corpus = load_corpus(mini_project)
    for stem in ("a01_mini", "a02_mini"):
        assert report(corpus, stem, "jp-export-curbs").dates["effective"].value == date(2019, 7, 4)


# -- every loader error --------------------------------------------------------------------------------------

def test_broken_yaml(mini_project):
    edit(mini_project, "a01_mini.yaml", "  timezone: Asia/Seoul\n", "  timezone: Asia/Seoul\n  colour: red: blue\n")
    assert_problem(single_problem(mini_project), "a01_mini.yaml",
                   line_of(mini_project, "a01_mini.yaml", "colour: red: blue"), "broken YAML", "mapping values",
                   column=len("  colour: red") + 1)


def test_broken_yaml_in_the_registry(mini_project):
    edit(mini_project, "registry.yaml", "\nproducts:\n", "\nproducts: a: b\n")
    # Nothing of the registry is loaded, so every id it defines is unknown: the articles' reports
    # of them are not reported as such, which would bury the one line that matters.
    assert_problem(single_problem(mini_project), "registry.yaml",
                   line_of(mini_project, "registry.yaml", "products: a: b"), "broken YAML")


def test_quote_not_in_the_article(mini_project):
    edit(mini_project, "a01_mini.yaml", 'quote: "Tokyo denied that the curbs were retaliation"',
         'quote: "Tokyo denied that the curbs were reprisals"')
    assert_problem(single_problem(mini_project), "a01_mini.yaml",
                   line_of(mini_project, "a01_mini.yaml", "were reprisals"),
                   "not found", "Tokyo denied that the curbs were reprisals", "a01_mini.txt")


def test_quote_with_other_quotation_marks_gets_a_hint(mini_project):
    edit(mini_project, "a01_mini.yaml", 'quote: "We asked Washington to play a constructive role"',
         "quote: '\"We asked Washington to play a constructive role,\"'")
    assert_problem(single_problem(mini_project), "a01_mini.yaml",
                   line_of(mini_project, "a01_mini.yaml", "constructive role,"),
                   "not found", "other case, spacing or quotation marks")


def test_ambiguous_quote(mini_project):
    # "Seoul" is in the title and in "a court ruling in Seoul".
    edit(mini_project, "a01_mini.yaml", '{exact: "Seoul", occurrence: 1}', '"Seoul"')
    assert_problem(single_problem(mini_project), "a01_mini.yaml",
                   line_of(mini_project, "a01_mini.yaml", '{id: gov-kr, quote: "Seoul"}'),
                   '"Seoul" is ambiguous', "occurs 2 times", "occurrence, prefix or suffix")


@pytest.mark.parametrize("spec", ['{exact: "Seoul", occurrence: 2}', '{exact: "Seoul", prefix: "ruling in "}',
                                  '{exact: "Seoul", suffix: ". Tokyo"}'])
def test_ambiguous_quote_fixed_by_occurrence_prefix_or_suffix(mini_project, spec):
    edit(mini_project, "a01_mini.yaml", '{exact: "Seoul", occurrence: 1}', spec)
    text = article_text(mini_project, "a01_mini")
    second = text.index("Seoul", text.index("Seoul") + 1)
    assert second == text.index("ruling in Seoul") + len("ruling in ")
    quote = report(load_corpus(mini_project), "a01_mini", "gov-kr").quotes[0]
    assert (quote.start, quote.end) == (second, second + len("Seoul"))


def test_unknown_id_in_a_reference(mini_project):
    edit(mini_project, "a01_mini.yaml", "    speaker: park-min-jun\n", "    speaker: kim-nobody\n")
    assert_problem(single_problem(mini_project), "a01_mini.yaml",
                   line_of(mini_project, "a01_mini.yaml", "speaker: kim-nobody"),
                   "park-constructive-role", "speaker", "unknown id 'kim-nobody'")


def test_unknown_id_in_a_report(mini_project):
    edit(mini_project, "a02_mini.yaml", "{id: gov-jp, quote: \"Tokyo\"}", "{id: gov-japan, quote: \"Tokyo\"}")
    assert_problem(single_problem(mini_project), "a02_mini.yaml",
                   line_of(mini_project, "a02_mini.yaml", "gov-japan"), "unknown id 'gov-japan'")


def test_duplicate_id(mini_project):
    edit(mini_project, "a01_mini.yaml", '  - {id: gov-jp, quote: "Tokyo"}',
         '  - {id: gov-jp, type: Government, label: Japan, quote: "Tokyo"}')
    problem = single_problem(mini_project)
    assert_problem(problem, "a01_mini.yaml", line_of(mini_project, "a01_mini.yaml", "{id: gov-jp"),
                   "duplicate id 'gov-jp'", "already defined")
    assert problem.message.endswith(f"registry.yaml:{line_of(mini_project, 'registry.yaml', '{id: gov-jp')}")


def test_wrong_type_meeting_where_an_actor_belongs(mini_project):
    edit(mini_project, "a01_mini.yaml", "    speaker: park-min-jun\n", "    speaker: park-bennett-talks\n")
    assert_problem(single_problem(mini_project), "a01_mini.yaml",
                   line_of(mini_project, "a01_mini.yaml", "speaker: park-bennett-talks"),
                   "speaker", "park-bennett-talks is a meeting", "actor")


def test_wrong_type_organization_where_a_person_belongs(mini_project):
    edit(mini_project, "registry.yaml", "person: park-min-jun,", "person: kr-trade-ministry,")
    assert_problem(single_problem(mini_project), "registry.yaml",
                   line_of(mini_project, "registry.yaml", "person: kr-trade-ministry"),
                   "kr-trade-ministry is a", "Organization", "not a Person")


@pytest.mark.parametrize("bad", ["2019-13-45", "2019-02-30", '"13 July 2019"'])
def test_malformed_or_impossible_published_date(mini_project, bad):
    edit(mini_project, "a01_mini.yaml", "  published: 2019-07-13\n", f"  published: {bad}\n")
    assert_problem(single_problem(mini_project), "a01_mini.yaml",
                   line_of(mini_project, "a01_mini.yaml", "published:"),
                   "published", repr(bad.strip('"')), "not a real date")


def test_impossible_anchor_date(mini_project):
    edit(mini_project, "a02_mini.yaml", '    date: "on Friday"\n',
         '    date: {expr: "on Friday", anchor: 2019-02-30}\n')
    assert_problem(single_problem(mini_project), "a02_mini.yaml",
                   line_of(mini_project, "a02_mini.yaml", "anchor: 2019-02-30"),
                   "park-bennett-talks", "anchor", "not a real date")


def test_unreadable_date_expression(mini_project):
    # "held talks" is inside the quote, so the only complaint is that it is not a date.
    edit(mini_project, "a02_mini.yaml", '    date: "on Friday"\n', '    date: "held talks"\n')
    assert_problem(single_problem(mini_project), "a02_mini.yaml",
                   line_of(mini_project, "a02_mini.yaml", 'date: "held talks"'),
                   "meetings park-bennett-talks: date", "cannot read the date expression 'held talks'")


def test_date_expression_not_inside_the_quote(mini_project):
    edit(mini_project, "a02_mini.yaml", '    date: "on Friday"\n', '    date: "on Thursday"\n')
    assert_problem(single_problem(mini_project), "a02_mini.yaml",
                   line_of(mini_project, "a02_mini.yaml", 'date: "on Thursday"'),
                   '"on Thursday" is not inside the item\'s quote')


def test_unknown_time_zone_in_a_date(mini_project):
    edit(mini_project, "a01_mini.yaml", "tz: Asia/Seoul}", "tz: Asia/Atlantis}")
    assert_problem(single_problem(mini_project), "a01_mini.yaml",
                   line_of(mini_project, "a01_mini.yaml", "Asia/Atlantis"),
                   "park-bennett-talks", "unknown time zone 'Asia/Atlantis'")


def test_missing_article_text_beside_an_annotation_file(mini_project):
    (seeds(mini_project) / "a03_mini.yaml").write_text(
        (seeds(mini_project) / "a02_mini.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert_problem(single_problem(mini_project), "a03_mini.yaml", 1, "a03_mini.txt is missing")


def test_article_text_without_an_annotation_file(mini_project):
    (seeds(mini_project) / "a03_mini.txt").write_text("Nothing annotated here.\n", encoding="utf-8")
    problem = single_problem(mini_project)
    assert problem.location.path.name == "a03_mini.txt"
    assert "has no annotation file a03_mini.yaml" in problem.message


def test_article_file_name_that_cannot_be_part_of_an_iri(mini_project):
    for suffix in ("txt", "yaml"):
        (seeds(mini_project) / f"a02_mini.{suffix}").rename(seeds(mini_project) / f"a02 mini.{suffix}")
    problem = single_problem(mini_project)
    assert problem.location.path.name == "a02 mini.txt"
    assert "cannot name the article in IRIs" in problem.message


def test_unknown_key_in_an_item(mini_project):
    edit(mini_project, "a01_mini.yaml", "    audience: reporters\n", "    audience: reporters\n    colour: red\n")
    assert_problem(single_problem(mini_project), "a01_mini.yaml",
                   line_of(mini_project, "a01_mini.yaml", "colour: red"),
                   "park-constructive-role", "unknown key 'colour'")


def test_unknown_key_in_the_article_header(mini_project):
    edit(mini_project, "a02_mini.yaml", "  authors: []\n", "  authors: []\n  byline: Staff\n")
    assert_problem(single_problem(mini_project), "a02_mini.yaml",
                   line_of(mini_project, "a02_mini.yaml", "byline: Staff"), "article: unknown key 'byline'")


def test_unknown_section(mini_project):
    with (seeds(mini_project) / "a02_mini.yaml").open("a", encoding="utf-8") as f:
        f.write("\npeople:\n  - {id: laura-bennett, quote: \"Laura Bennett\"}\n")
    assert_problem(single_problem(mini_project), "a02_mini.yaml",
                   line_of(mini_project, "a02_mini.yaml", "people:"), "unknown section 'people'")


def test_closed_list_value(mini_project):
    edit(mini_project, "a02_mini.yaml", "    status: held\n", "    status: finished\n")
    assert_problem(single_problem(mini_project), "a02_mini.yaml",
                   line_of(mini_project, "a02_mini.yaml", "status: finished"),
                   "status must be one of", "'finished'")


def test_actor_quote_must_be_its_label_or_an_alias(mini_project):
    edit(mini_project, "a01_mini.yaml", '{id: gov-jp, quote: "Tokyo"}', '{id: gov-jp, quote: "Japan\'s curbs"}')
    assert_problem(single_problem(mini_project), "a01_mini.yaml",
                   line_of(mini_project, "a01_mini.yaml", "{id: gov-jp"),
                   "actors gov-jp", "not its label or an alias")


def test_several_problems_are_all_reported(mini_project):
    edit(mini_project, "a01_mini.yaml", "    speaker: park-min-jun\n", "    speaker: kim-nobody\n")
    edit(mini_project, "a02_mini.yaml", "  timezone: America/New_York\n",
         "  timezone: America/New_York\n  colour: red\n")
    edit(mini_project, "registry.yaml", "label: Deputy Minister of Trade}", "label: Deputy Minister of Trade, rank: 2}")
    (seeds(mini_project) / "a03_mini.yaml").write_text("article: {}\n", encoding="utf-8")
    found = problems(mini_project)
    where = [(p.location.path.name, p.location.line) for p in found]
    assert sorted(where) == sorted([
        ("a01_mini.yaml", line_of(mini_project, "a01_mini.yaml", "kim-nobody")),
        ("a02_mini.yaml", line_of(mini_project, "a02_mini.yaml", "colour: red")),
        ("registry.yaml", line_of(mini_project, "registry.yaml", "rank: 2")),
        ("a03_mini.yaml", 1),
    ]), "\n".join(map(str, found))
    messages = " | ".join(p.message for p in found)
    for words in ("unknown id 'kim-nobody'", "unknown key 'colour'", "unknown key 'rank'", "a03_mini.txt is missing"):
        assert words in messages
    # The exception's text is one line per problem, in the same order.
    with pytest.raises(AnnotationError) as caught:
        load_corpus(mini_project)
    assert str(caught.value).splitlines() == [str(p) for p in found]


def test_no_seeds_directory(tmp_path):
    assert_problem(single_problem(tmp_path), "seeds", 0, "no seeds directory")


def test_an_article_without_a_headline_has_no_title(mini_project):
    edit(mini_project, "a01_mini.yaml", 'title: "Seoul asks Washington to help end export row with Japan"',
         "title: null")
    kb = load_knowledge_base(mini_project)
    article = KBID["article/a01_mini"]
    assert (article, URIRef("http://purl.org/dc/terms/title"), None) not in kb.union()


def test_overlapping_repeats_are_ambiguous():
    with pytest.raises(ValueError, match="occurs 2 times"):
        find_quote("ha ha ha", "ha ha")
    assert find_quote("ha ha ha", {"exact": "ha ha", "occurrence": 2}).start == 3


# -- statements: the speaker's words apart from the reporter's framing ---------------------------------

PARK_QUOTE = '''    audience: reporters
    quote: "We asked Washington to play a constructive role"'''
PARK_TALKS = "met U.S. Deputy Trade Representative Laura Bennett in Washington early Saturday (KST)"
WORDS = TKB.words


def test_attribution_and_date_evidence_are_spans_of_their_own(mini_project):
    edit(mini_project, "a01_mini.yaml", PARK_QUOTE, PARK_QUOTE + f'''
    attribution: "Park told reporters after the talks"
    date: {{expr: "early Saturday (KST)", tz: Asia/Seoul, evidence: "{PARK_TALKS}"}}''')
    kb = load_knowledge_base(mini_project)
    said = report(load_corpus(mini_project), "a01_mini", "park-constructive-role")
    assert [q.exact for q in said.quotes] == [CONSTRUCTIVE]
    assert [q.exact for q in said.attribution] == ["Park told reporters after the talks"]
    assert [q.exact for q in said.date_evidence] == [PARK_TALKS]
    g, node = kb.dataset.graph(graph_iri("a01_mini")), KBID["report/a01_mini/park-constructive-role"]
    exact = {g.value(t, OA.hasPurpose): str(g.value(URIRef(f"{t}/quote"), OA.exact)) for t in g.objects(node, OA.hasTarget)}
    assert exact == {None: CONSTRUCTIVE, TKB.attributing: "Park told reporters after the talks", TKB.dating: PARK_TALKS}
    assert str(g.value(node, WORDS)) == CONSTRUCTIVE  # the words alone, without the framing
    assert g.value(URIRef(f"{node}/date"), TKB.dateExpression).value == "early Saturday (KST)"


def test_a_date_outside_the_words_and_the_attribution_needs_its_evidence(mini_project):
    edit(mini_project, "a01_mini.yaml", PARK_QUOTE, PARK_QUOTE + '''
    date: {tz: Asia/Seoul, expr: "early Saturday (KST)"}''')
    assert_problem(single_problem(mini_project), "a01_mini.yaml",
                   line_of(mini_project, "a01_mini.yaml", 'date: {tz: Asia/Seoul, expr: "early Saturday (KST)"}'),
                   "statements park-constructive-role: date", "not inside the item's quote or attribution",
                   "evidence")


def test_a_date_in_the_attribution_needs_no_evidence_of_its_own():
    said = report(load_corpus(REPO), "000_f0205f4675e93af6", "kim-trilateral-offer")
    assert [q.exact for q in said.attribution] == ["a top South Korean presidential official said Thursday"]
    assert "Thursday" not in said.quotes[0].exact and not said.date_evidence
    assert (said.dates["date"].expression, said.dates["date"].value) == ("Thursday", date(2019, 7, 11))


def test_the_words_are_in_the_article_order_each_once(mini_project):
    edit(mini_project, "a01_mini.yaml",
         '''    quote: "Park said Japan's curbs on fluorinated polyimide, in force since July 4, were retaliation for a court ruling in Seoul"''',
         '''    quote: ["were retaliation for a court ruling in Seoul", "Japan's curbs on fluorinated polyimide",
            "were retaliation for a court ruling in Seoul"]
    attribution: {exact: "Park said", suffix: " Japan's"}''')
    g = load_knowledge_base(mini_project).dataset.graph(graph_iri("a01_mini"))
    words = g.value(KBID["report/a01_mini/park-retaliation-allegation"], WORDS)
    assert str(words) == "Japan's curbs on fluorinated polyimide … were retaliation for a court ruling in Seoul"


def test_the_statements_query_gives_one_wording_per_article_named_by_it(mini_project):
    from kb.queries import catalogue, run_query
    kb = load_knowledge_base(mini_project)
    table = run_query(kb.store, catalogue(REPO)["statements"], {})
    [row] = [r for r in table.rows if r[0].value.endswith("/park-retaliation-allegation")]
    cell = row[table.variables.index("quote")].value
    assert cell == ('a01_mini: "Park said Japan\'s curbs on fluorinated polyimide, in force since July 4, were '
                    'retaliation for a court ruling in Seoul" | a02_mini: "Park has called the curbs "retaliation,""')


# -- a status only where the article states one ---------------------------------------------------------

def test_a_report_may_state_no_status_and_the_summary_comes_from_those_that_do(mini_project):
    edit(mini_project, "a01_mini.yaml", "    status: held\n", "")
    kb = load_knowledge_base(mini_project)
    talks = KBID["park-bennett-talks"]
    reported = set(kb.union().objects(None, TKB.reportedStatus))
    assert reported and KBID["report/a01_mini/park-bennett-talks"] not in set(kb.union().subjects(TKB.reportedStatus, None))
    assert kb.union().value(talks, TKB.status) == TKB.Held  # a02's


def test_a_thing_no_article_gives_a_status_has_none(mini_project):
    for name in ("a01_mini.yaml", "a02_mini.yaml"):
        text = (seeds(mini_project) / name).read_text(encoding="utf-8")
        (seeds(mini_project) / name).write_text(text.replace("    status: held\n", ""), encoding="utf-8")
    kb = load_knowledge_base(mini_project)
    assert kb.union().value(KBID["park-bennett-talks"], TKB.status) is None


# -- a date given by value, with its basis ----------------------------------------------------------------

CURBS_EFFECTIVE = '    effective: "since July 4"'


def test_a_date_given_by_value_keeps_its_basis_and_no_expression(mini_project):
    edit(mini_project, "a01_mini.yaml", CURBS_EFFECTIVE,
         '    effective: {value: 2019-07-04, precision: day, basis: "a02 dates the licences from July 4"}')
    kb = load_knowledge_base(mini_project)
    g, node = kb.union(), KBID["report/a01_mini/jp-export-curbs/effective"]
    assert g.value(node, TKB.dateValue).toPython() == date(2019, 7, 4)
    assert str(g.value(node, TKB.valueBasis)) == "a02 dates the licences from July 4"
    assert g.value(node, TKB.dateExpression) is None and g.value(node, TKB.dateAnchor) is None


@pytest.mark.parametrize("spec, words", [
    ('{value: 2019-07-04}', "needs its basis"),
    ('{value: 2019-07-04, basis: "why", anchor: 2019-07-01}', "anchor belong to a date read from expr"),
    ('{value: 2019-07-04, basis: "why", precision: fortnight}', "precision must be one of"),
    ('{value: 2019-07-44, basis: "why"}', "not a real date"),
    ('{basis: "why"}', "a mapping with expr or value"),
])
def test_a_date_given_by_value_is_checked(mini_project, spec, words):
    edit(mini_project, "a01_mini.yaml", CURBS_EFFECTIVE, f"    effective: {spec}")
    assert_problem(single_problem(mini_project), "a01_mini.yaml",
                   line_of(mini_project, "a01_mini.yaml", "    effective: {"), "measures jp-export-curbs: effective", words)


# -- where a thing is defined: the index of ids ------------------------------------------------------------

def test_every_seed_id_is_defined_where_the_rule_puts_it():
    from kb.annotations import CorpusIndex
    misplaced = [(e.id, e.defined_in, e.home) for e in CorpusIndex(load_corpus(REPO).files).ids() if e.home != e.defined_in]
    assert misplaced == []


def test_the_index_gives_each_id_its_definition_and_who_names_it(mini_project):
    from kb.annotations import CorpusIndex
    index = CorpusIndex(load_corpus(mini_project).files)
    entries = {e.id: e for e in index.ids()}
    talks = entries["park-bennett-talks"]
    assert (talks.defined_at.path.name, talks.defined_at.line) == (
        "registry.yaml", line_of(mini_project, "registry.yaml", "id: park-bennett-talks"))
    assert talks.reported_by == ("a01_mini", "a02_mini") and talks.home == "registry"
    listened = entries["bennett-listened-carefully"]
    assert (listened.defined_in, listened.reported_by, listened.home) == ("a02_mini", ("a02_mini",), "a02_mini")
    assert listened.defined_at.line == line_of(mini_project, "a02_mini.yaml", "id: bennett-listened-carefully")
    assert [e.id for e in index.ids()] == sorted(entries)


def test_a_thing_a_second_article_names_belongs_in_the_registry(mini_project):
    from kb.annotations import CorpusIndex
    assert CorpusIndex(load_corpus(mini_project).files).home_of("hanbit-daily") == "a01_mini"
    edit(mini_project, "a02_mini.yaml", '    quote: "We listened carefully"', '    quote: "We listened carefully"\n    cites: hanbit-daily')
    assert CorpusIndex(load_corpus(mini_project).files).home_of("hanbit-daily") == "registry"


def test_a_date_given_by_value_may_keep_the_words_it_stands_for(mini_project):
    edit(mini_project, "a01_mini.yaml", CURBS_EFFECTIVE,
         '    effective: {expr: "since July 4", value: 2019-07-01, precision: month, basis: "why"}')
    resolved = report(load_corpus(mini_project), "a01_mini", "jp-export-curbs").dates["effective"]
    assert (resolved.expression, resolved.value, resolved.precision, resolved.anchor) == (
        "since July 4", date(2019, 7, 1), "month", None)


def test_the_index_without_a_file_forgets_what_it_reported_and_defined(mini_project):
    from kb.annotations import CorpusIndex
    index = CorpusIndex(load_corpus(mini_project).files).replaced("a02_mini", None)
    entries = {e.id: e for e in index.ids()}
    assert "bennett-listened-carefully" not in entries
    assert entries["park-bennett-talks"].reported_by == ("a01_mini",)
    assert entries["park-bennett-talks"].home == "a01_mini"  # now only a01 names it
