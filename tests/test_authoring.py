"""The kit's commands in-process on the mini project: check's hints, ids, new's copy and stem,
init's layout; and the ontology holds nothing specific to the seeds' dispute."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.authoring import check as checking
from kb.authoring.schema import schema_line
from kb.cli import cli

REPO = Path(__file__).resolve().parents[1]
A01 = "a01_mini.yaml"


def run(project: Path, *args: str):
    return CliRunner().invoke(cli, ["-C", str(project), *args])


def edit(project: Path, old: str, new: str, name: str = A01) -> int:
    """Replace `old` (once) in an annotation file; the line it was on."""
    path = project / "seeds" / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[:text.index(old)].count("\n") + 1


def one_problem(result, line: int) -> str:
    assert result.exit_code == 2, result.output
    [problem] = result.stderr.splitlines()
    where, message = problem.split(": ", 1)
    assert where.endswith(f"seeds/{A01}:{line}")
    return message


def test_a_clean_file_checks_clean(mini_project):
    result = run(mini_project, "check", f"seeds/{A01}")
    assert result.exit_code == 0, result.output
    assert result.stdout == "no problems: seeds/a01_mini.yaml against 1 other article(s) and the registry\n"


def test_an_unknown_id_gets_the_closest_of_its_kind(mini_project):
    line = edit(mini_project, "{id: laura-bennett, quote:", "{id: bennet, quote:")
    assert one_problem(run(mini_project, "check", A01), line).endswith("did you mean 'laura-bennett'?")


def test_an_id_is_found_by_one_of_its_words(mini_project):
    line = edit(mini_project, "{id: park-min-jun, quote:", "{id: park, quote:")
    assert one_problem(run(mini_project, "check", A01), line).endswith("did you mean 'park-min-jun'?")


def test_an_unknown_key_and_a_closed_value_get_the_closest(mini_project):
    line = edit(mini_project, "    label: Hanbit Daily", "    lable: Hanbit Daily")
    assert any(p.endswith(f"{A01}:{line}: actors hanbit-daily: unknown key 'lable'; keys are id, type, label, part_of, "
                          "country, quote; did you mean 'label'?") for p in run(mini_project, "check", A01).stderr.splitlines())
    edit(mini_project, "    lable: Hanbit Daily", "    label: Hanbit Daily")
    line = edit(mini_project, "status: held", "status: helt")
    assert one_problem(run(mini_project, "check", A01), line).endswith("did you mean 'held'?")


def test_a_quote_not_found_shows_the_closest_passage_and_the_difference(mini_project):
    article = (mini_project / "seeds" / "a01_mini.txt").read_text(encoding="utf-8")
    line = edit(mini_project, 'quote: "We asked Washington to play', 'quote: "We urged Washington to play')
    message = one_problem(run(mini_project, "check", A01), line)
    passage_line = article[:article.index("We asked Washington")].count("\n") + 1
    assert f'closest, at line {passage_line}: "We asked Washington to play a constructive role' in message
    assert message.endswith("(the article has 'asked' for 'urged')")


def test_the_closest_passage_of_a_long_article():
    text = "Words before. " * 200 + "The minister said the curbs were unfair and would be challenged. " + "After. " * 200
    start, passage = checking.closest_passage(text, "the curbs are unfair and will be challenged")
    assert passage == text[start:start + len(passage)]
    assert "curbs were unfair and would be challenged" in passage
    assert checking.closest_passage(text, "nothing like anything here at all") is None


def test_every_todo_left_is_a_problem_on_its_line(mini_project):
    line = edit(mini_project, "  publisher: hanbit-daily", "  publisher: hanbit-daily  # TODO confirm")
    assert one_problem(run(mini_project, "check", A01), line) == "TODO left: publisher: hanbit-daily  # TODO confirm"


def test_a_thing_two_articles_use_should_be_in_the_registry(mini_project):
    a02 = (mini_project / "seeds" / "a02_mini.yaml").read_text(encoding="utf-8")
    defined_in_a01 = [m[1] for m in re.finditer(r"- id: ([a-z0-9-]+)\n    type:", (mini_project / "seeds" / A01).read_text(encoding="utf-8"))]
    shared = [fact for fact in defined_in_a01 if re.search(rf"\b{fact}\b", a02)]
    result = run(mini_project, "check", A01)
    for fact in shared:
        assert f"note: {fact} is defined here and used by 1 other article(s) (a02_mini)" in result.stdout
    result = run(mini_project, "check", "a02_mini.yaml")
    for fact in shared:
        assert f"note: {fact} is defined in " in result.stdout


def test_check_without_a_file_checks_everything_and_the_registry_is_all_reported(mini_project):
    assert run(mini_project, "check").stdout == "no problems: the whole corpus\n"
    registry = mini_project / "seeds" / "registry.yaml"
    registry.write_text(registry.read_text(encoding="utf-8").replace(
        "actors:\n", "actors:\n  - {id: nobody, type: Person, label: Nobody}\n", 1), encoding="utf-8")
    result = run(mini_project, "check")
    assert result.exit_code == 2
    assert result.stderr.endswith("registry.yaml:5: nobody is reported by no article: report it (with a quote) in an "
                                  "article, or remove it\n")


def test_check_of_a_file_that_is_not_there(mini_project):
    result = run(mini_project, "check", "seeds/zz.yaml")
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("no annotation file seeds/zz.yaml in " + str(mini_project))


def test_ids_lists_every_definition_with_where_and_how_often(mini_project):
    from kb.annotations import load_corpus
    corpus = load_corpus(mini_project)
    result = run(mini_project, "ids")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "type", "label", "defined", "at", "reports", "aliases"]
    assert [line.split()[0] for line in lines[1:]] == sorted(corpus.definitions)
    bennett = next(line for line in lines if line.startswith("laura-bennett "))
    definition = corpus.definitions["laura-bennett"]
    reports = sum(report.fact == "laura-bennett" for report in corpus.reports)
    assert f"seeds/registry.yaml:{definition.location.line}" in bennett
    assert re.search(rf"\s{reports}\s+{'; '.join(definition.aliases)}$", bennett)


def test_ids_filters_by_id_label_or_alias(mini_project):
    assert [line.split()[0] for line in run(mini_project, "ids", "박민준").stdout.splitlines()[1:]] == ["park-min-jun"]
    assert all("bennett" in line.casefold() for line in run(mini_project, "ids", "BENNETT").stdout.splitlines()[1:])


def test_new_copies_the_article_byte_for_byte_under_the_next_stem(mini_project, tmp_path):
    article = tmp_path / "story.txt"
    data = "Headline\r\n\r\nWASHINGTON (Wire) -- Laura Bennett said \u201cthe talks went well\u201d on Monday.\r\n".encode("utf-8")
    article.write_bytes(data)
    result = run(mini_project, "new", str(article))
    assert result.exit_code == 0, result.output
    stem = f"000_{hashlib.sha256(data).hexdigest()[:16]}"  # the mini articles are a01, a02: no number yet
    assert result.stdout.splitlines() == [str(mini_project / "seeds" / f"{stem}.txt"), str(mini_project / "seeds" / f"{stem}.yaml")]
    assert (mini_project / "seeds" / f"{stem}.txt").read_bytes() == data
    scaffold = (mini_project / "seeds" / f"{stem}.yaml").read_text(encoding="utf-8")
    assert scaffold.splitlines()[0] == schema_line(f"{stem}.yaml")
    assert "  - {id: laura-bennett, quote: \"Laura Bennett\"}" in scaffold
    assert "timezone: America/New_York  # TODO confirm" in scaffold  # WASHINGTON is a place with a zone
    assert "    speaker: laura-bennett" in scaffold
    again = run(mini_project, "new", str(article))
    assert again.exit_code == 2
    assert again.stderr == f"{article}: already in the corpus as seeds/{stem}.txt\n"


@pytest.mark.parametrize("data, message", [(b"caf\xe9\n", ":1:4: not UTF-8"), (b"a\x01b\n", ":1:2: character U+0001")])
def test_new_refuses_an_article_the_build_would_refuse(mini_project, tmp_path, data, message):
    article = tmp_path / "bad.txt"
    article.write_bytes(data)
    result = run(mini_project, "new", str(article))
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.splitlines()) == 1
    assert sorted(p.name for p in (mini_project / "seeds").iterdir()) == ["a01_mini.txt", "a01_mini.yaml",
                                                                        "a02_mini.txt", "a02_mini.yaml", "registry.yaml"]


def test_init_makes_the_layout_and_refuses_a_directory_in_use(tmp_path):
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    for part in ("ontology/tradekb.ttl", "ontology/shapes.ttl", "ontology/annotations.schema.json", "README.md"):
        assert (tmp_path / "new" / part).is_file(), part
    assert (tmp_path / "new" / "seeds" / "registry.yaml").read_text(encoding="utf-8").startswith(schema_line("registry.yaml"))
    again = CliRunner().invoke(cli, ["init", str(tmp_path / "new")])
    assert again.exit_code == 2
    assert "not an empty directory" in again.stderr


def test_the_ontology_holds_nothing_specific_to_one_dispute():
    for name in ("tradekb.ttl", "shapes.ttl"):
        text = (REPO / "ontology" / name).read_text(encoding="utf-8")
        assert not re.search(r"Japan|Korea|Seoul|Tokyo|KST|Yonhap|2019", text), name


def test_the_kept_index_lies_under_the_build_work_directory():
    from kb.authoring.index import CACHE
    from kb.outputs import WORK
    assert CACHE.parent == Path(WORK)



def test_the_kept_index_is_read_back_only_while_what_it_was_read_from_is_unchanged(mini_project):
    import kb
    from kb.authoring.index import _fingerprint, index_of_others
    first = index_of_others(mini_project, "a01_mini")
    assert index_of_others(mini_project, "a01_mini") is not first  # read back from the kept copy
    kept = (mini_project / ".build" / "authoring" / "others.pickle").stat().st_mtime_ns
    mine = mini_project / "seeds" / "a01_mini.yaml"
    mine.write_text(mine.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # the file checked: the index holds
    index_of_others(mini_project, "a01_mini")
    assert (mini_project / ".build" / "authoring" / "others.pickle").stat().st_mtime_ns == kept
    other = mini_project / "seeds" / "a02_mini.yaml"
    other.write_text(other.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # another file: read anew
    index_of_others(mini_project, "a01_mini")
    assert (mini_project / ".build" / "authoring" / "others.pickle").stat().st_mtime_ns != kept
    # every module the loader reads with counts, not the loader's file alone
    modules = {name for name, _, _ in _fingerprint(mini_project, "a01_mini")[0]}
    assert modules == {p.name for p in Path(kb.__file__).parent.glob("*.py")} and "dates.py" in modules

def test_ids_that_match_nothing_say_so(mini_project):
    result = run(mini_project, "ids", "zzz")
    assert result.exit_code == 0
    assert (result.stdout, result.stderr) == ("", "no id, label or alias contains 'zzz'\n")


@pytest.mark.parametrize("text_path", sorted((REPO / "seeds").glob("*.txt")), ids=lambda p: p.stem)
def test_every_quote_a_scaffold_writes_finds_its_words(text_path):
    """Each seed article scaffolded as if new (against the other files): every quote and
    attribution it proposes is found in the article, once, and an actor's is its name."""
    from kb.annotations import find_quote, index_of_others  # not the kept copy: nothing written in the repository
    from kb.authoring.scaffold import scaffold_text
    from kb.yamlfile import load_yaml
    others = index_of_others(REPO, text_path.stem)
    text = text_path.read_text(encoding="utf-8")
    scaffold = load_yaml(scaffold_text(text_path.stem, text, others.definitions, others.articles.values())[0])
    proposed = 0
    for section in ("actors", "places", "products", "statements"):
        for item in scaffold.get(section) or []:
            for key in ("quote", "attribution"):
                if key in item:
                    found = find_quote(text, item[key])
                    proposed += 1
                    if section == "actors":
                        definition = others.definitions[item["id"]]
                        assert found.exact.casefold() in {n.casefold() for n in (definition.label, *definition.aliases)}
    assert proposed
