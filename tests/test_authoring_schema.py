"""The shipped JSON Schema is what the loader's definitions make, every seed file conforms to it,
and broken files are rejected by the schema as by the loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from kb import annotations as fmt
from kb.authoring import schema
from kb.yamlfile import load_yaml

REPO = Path(__file__).resolve().parents[1]
SEEDS = sorted((REPO / "seeds").glob("*.yaml"))


def validator(name: str) -> Draft202012Validator:
    shipped = json.loads((REPO / schema.SCHEMA_DIR / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(shipped)
    return Draft202012Validator(shipped)


def schema_for(path: Path) -> str:
    return schema.REGISTRY_SCHEMA if path.name == fmt.REGISTRY else schema.ARTICLE_SCHEMA


@pytest.mark.parametrize("name", [schema.ARTICLE_SCHEMA, schema.REGISTRY_SCHEMA])
def test_the_shipped_schema_is_current(name):
    shipped = (REPO / schema.SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert shipped == schema.schema_text(schema.schemas()[name]), "run: python -m kb.authoring.schema"


def test_the_docs_reference_is_current():
    docs = (REPO / schema.DOCS).read_text(encoding="utf-8")
    assert schema.REFERENCE_START in docs
    assert docs == schema.with_reference(docs), "run: python -m kb.authoring.schema"


def test_the_schema_covers_every_key_the_loader_knows():
    defs = schema.schemas()[schema.ARTICLE_SCHEMA]["$defs"]
    assert set(defs["article"]["properties"]) == set(fmt.ARTICLE_KEYS)
    assert set(schema.DATE_KEY_SCHEMAS) == set(fmt.DATE_KEYS)
    assert set(schema.QUOTE_KEY_SCHEMAS) == set(fmt.QUOTE_KEYS)
    for section, spec in fmt.SECTIONS.items():
        assert set(defs[section]["properties"]) >= {"id", *spec["D"], *spec["R"]}
    every_key = {*fmt.ARTICLE_KEYS, *fmt.DATE_KEYS, *fmt.QUOTE_KEYS, *fmt.ADDITIVE, "id",
                 *(key for spec in fmt.SECTIONS.values() for part in ("D", "R") for key in spec[part])}
    assert every_key <= set(schema.KEY_DOCS), f"undocumented: {sorted(every_key - set(schema.KEY_DOCS))}"


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_every_seed_file_conforms_and_names_its_schema(path):
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == schema.schema_line(path.name)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(schema_for(path)).iter_errors(load_yaml(text))]
    assert errors == []


HEADER = "article: {title: null, published: 2019-07-11, timezone: Asia/Seoul, date_basis: the dateline}\n"
# Each is wrong in one way; the schema and the loader must both refuse it.
BROKEN_ARTICLES = {
    "unknown section": HEADER + "people: []\n",
    "unknown key in an item": HEADER + "actors:\n  - {id: gov-kr, quote: Seoul, nickname: x}\n",
    "status outside its closed list": HEADER + "meetings:\n  - {id: m, status: happened, quote: Seoul}\n",
    "statement report without its required mode": HEADER + "statements:\n  - {id: s, quote: Seoul}\n",
    "date mapping with neither expr nor value": HEADER + "meetings:\n  - {id: m, quote: Seoul, date: {tz: UTC}}\n",
    "date by value without its basis": HEADER + "meetings:\n  - {id: m, quote: Seoul, date: {value: 2019-07-01}}\n",
    "precision outside its closed list": HEADER + "meetings:\n  - {id: m, quote: Seoul, date: {value: 2019-07-01, precision: hour, basis: x}}\n",
    "definition without its required label": HEADER + "meetings:\n  - {id: m, type: Talks, participants: [a], status: held, quote: Seoul}\n",
    "id that is no slug": HEADER + "actors:\n  - {id: Gov_KR, quote: Seoul}\n",
    "header without its date": "article: {title: null, timezone: Asia/Seoul, date_basis: x}\n",
    "no header": "actors: []\n",
    "published that is no date": HEADER.replace("2019-07-11", "July 11") + "actors: []\n",
    "unknown quote key": HEADER + "actors:\n  - {id: gov-kr, quote: {exact: Seoul, nth: 2}}\n",
    "unknown date key": HEADER + "meetings:\n  - {id: m, status: held, quote: Seoul, date: {expr: Seoul, zone: UTC}}\n",
    "occurrence of zero": HEADER + "actors:\n  - {id: gov-kr, quote: {exact: Seoul, occurrence: 0}}\n",
    "list where one id goes": HEADER + "statements:\n  - {id: s, speaker: a, label: x, denies: [t], mode: denial, quote: Seoul}\n",
    "acting that is no boolean": HEADER + "roles:\n  - {id: r, title: Seoul, acting: maybe, quote: Seoul}\n",
}
BROKEN_REGISTRY = {
    "report key in the registry": "actors:\n  - {id: gov-kr, type: Government, label: Korea, quote: Korea}\n",
    "registry definition without its type": "actors:\n  - {id: gov-kr, label: Korea}\n",
    "article header in the registry": HEADER,
    "type outside its closed list": "actors:\n  - {id: gov-kr, type: Country, label: Korea}\n",
}


@pytest.mark.parametrize("case", BROKEN_ARTICLES)
def test_the_schema_rejects_a_broken_article_file(case, tmp_path):
    data = load_yaml(BROKEN_ARTICLES[case])
    assert list(validator(schema.ARTICLE_SCHEMA).iter_errors(data)), case
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("Seoul said so.\n", encoding="utf-8")
    (seeds / "a.yaml").write_text(BROKEN_ARTICLES[case], encoding="utf-8")
    with pytest.raises(fmt.AnnotationError):  # the loader agrees: the schema asks nothing it does not
        fmt.load_corpus(tmp_path)


@pytest.mark.parametrize("case", BROKEN_REGISTRY)
def test_the_schema_rejects_a_broken_registry(case, tmp_path):
    assert list(validator(schema.REGISTRY_SCHEMA).iter_errors(load_yaml(BROKEN_REGISTRY[case]))), case
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / fmt.REGISTRY).write_text(BROKEN_REGISTRY[case], encoding="utf-8")
    with pytest.raises(fmt.AnnotationError):
        fmt.load_corpus(tmp_path)
