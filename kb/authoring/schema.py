"""The annotation format as JSON Schema (draft 2020-12), generated from kb.annotations' own
definitions (SECTIONS, ARTICLE_KEYS, DATE_KEYS, QUOTE_KEYS, Ref …), so that the loader stays the
one source of truth, and the reference section of docs/annotations.md generated from the schema.

Two schemas are shipped in ontology/: one for an article's annotation file and one for the
registry. An editor with the YAML language server finds them through each file's first line
(`# yaml-language-server: $schema=../ontology/annotations.schema.json`) and completes keys and
closed values as you type. Ids are strings with the loader's slug pattern, not enums of the known
ids: the shipped schema would then go stale with every annotation edit; `tradekb ids` lists them
and `tradekb check` suggests the closest one.

Regenerate after a change to the format: `python -m kb.authoring.schema` (a test fails until then).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kb import annotations as fmt
from kb.dates import PRECISIONS
from kb.export import write_atomically

SCHEMA_DIR = "ontology"
ARTICLE_SCHEMA = "annotations.schema.json"
REGISTRY_SCHEMA = "registry.schema.json"
DOCS = Path("docs") / "annotations.md"
BASE_IRI = "https://w3id.org/tradekb/schema/"
REFERENCE_START = "<!-- reference: generated from the schema by `python -m kb.authoring.schema`; do not edit below -->"
REFERENCE_END = "<!-- end of the generated reference -->"

# What each key means, for editors' hover text and the generated reference. The keys themselves,
# their kinds and which are required come from kb.annotations; a test holds this list to them.
KEY_DOCS = {
    "id": "the thing's id: a lowercase slug, unique across the corpus",
    "type": "what kind of thing it is",
    "label": "its name or a short summary, in our words",
    "part_of": "the larger organization (or meeting) it belongs to",
    "country": "for a Government: the country's name",
    "timezone": "IANA time zone (Asia/Seoul, America/New_York)",
    "within": "the larger place it lies in",
    "definition": "what the topic covers, in our words",
    "person": "the person who holds the post",
    "organization": "the organization the post is in",
    "participants": "the actors taking part",
    "place": "where it takes place; its time zone states the meeting's date",
    "topics": "topic ids",
    "imposer": "who imposes the measure",
    "target": "whom the measure is aimed at",
    "products": "product ids the measure covers",
    "speaker": "who speaks: an actor id, or a list",
    "about": "ids of the meetings, measures, statements or roles it is about",
    "denies": "the statement it denies",
    "quote": "the article's exact words: a string, {exact, prefix, suffix, occurrence}, or a list of them",
    "title": "the article's words for the post (inside the quote); in the header, the headline as printed",
    "acting": "whether the article calls the post acting",
    "status": "what the article says of its status",
    "date": "a date expression printed inside the item's words, or a mapping with expr or value",
    "attribution": "the reporter's framing: who said it, to whom, often when (a quote)",
    "value": "a date given by hand, YYYY-MM-DD, where no expression says it",
    "precision": "how much of a date given by value is known (default day)",
    "basis": "why a date given by value is this date, in words a reader can check",
    "evidence": "the words that date the item, when they are outside its quotes (a quote)",
    "end": "the last day, as a date expression",
    "effective": "the day it takes effect, as a date expression",
    "waits_on": "what it waits on, in free text",
    "justification": "the article's words giving the measure's reason (inside the quote)",
    "via": "the actor the article says it learned this from",
    "cites": "the outlet the article credits for this report",
    "mode": "how the article renders the statement",
    "audience": "to whom it was said, in free text",
    "aliases": "printed forms of the name (added up across files)",
    "publisher": "the organization that published the article, or null",
    "publisher_basis": "why that publisher (free text)",
    "wire_services": "organizations the text credits for the story",
    "authors": "bylined people",
    "published": "the article's own today, YYYY-MM-DD, in its time zone",
    "date_basis": "how the date was inferred (free text)",
    "date_evidence": "quotes the date inference rests on",
    "expr": "the date expression as printed",
    "tz": "the zone the words are told in (default: the article's)",
    "in_tz": "the zone to state the day in (default: the place's, else tz)",
    "anchor": "YYYY-MM-DD to count from (default: the article's published)",
    "tense": "which way a bare weekday points",
    "invert": "the expression says how the anchor relates to this date",
    "exact": "the words, character for character",
    "prefix": "words just before them, to pick one occurrence",
    "suffix": "words just after them, to pick one occurrence",
    "occurrence": "which occurrence, from 1",
}
# The values of the keys inside a date mapping and a quote mapping (kb.annotations names the keys).
ISO_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
DATE_KEY_SCHEMAS = {"expr": {"type": "string", "minLength": 1}, "tz": {"type": "string"},
                    "in_tz": {"type": "string"}, "anchor": ISO_DATE, "tense": {"enum": ["past", "future"]},
                    "invert": {"type": "boolean"}, "value": ISO_DATE, "precision": {"enum": list(PRECISIONS)},
                    "basis": {"type": "string", "minLength": 1}, "evidence": {"$ref": "#/$defs/quote"}}
QUOTE_KEY_SCHEMAS = {"exact": {"type": "string", "minLength": 1}, "prefix": {"type": "string"},
                     "suffix": {"type": "string"}, "occurrence": {"type": "integer", "minimum": 1}}
KIND_SCHEMAS = {fmt.TEXT: {"type": "string", "minLength": 1}, fmt.BOOL: {"type": "boolean"},
                fmt.DATE: {"$ref": "#/$defs/date"}, fmt.QUOTE: {"$ref": "#/$defs/quote"},
                fmt.IN_QUOTE: {"type": "string", "minLength": 1}, fmt.ALIASES: {"$ref": "#/$defs/aliases"}}


def _described(schema: dict, key: str) -> dict:
    return {**schema, "description": KEY_DOCS[key]} if key in KEY_DOCS else schema


def _value(kind: Any) -> dict:
    """The schema of a key's value, from its kind in kb.annotations."""
    if isinstance(kind, fmt.Ref):
        one = {"$ref": "#/$defs/id"}
        if kind.many:
            return {"type": "array", "items": one}
        return {"anyOf": [one, {"type": "array", "items": one, "minItems": 1}]} if kind.one_or_many else one
    if isinstance(kind, tuple):
        return {"enum": list(kind)}
    return dict(KIND_SCHEMAS[kind])


def _keys(section: str, parts: tuple[str, ...]) -> dict[str, dict]:
    """The properties of an item of `section` made of its definition (D) and/or report (R) keys."""
    spec = fmt.SECTIONS[section]
    properties = {"id": _described({"$ref": "#/$defs/id"}, "id")}
    for part in parts:
        properties.update({key: _described(_value(kind), key) for key, kind in spec[part].items()})
    for key, sections in fmt.ADDITIVE.items():
        if section in sections:
            properties[key] = _described(_value(key), key)
    return properties


def _defines_when(spec: dict) -> dict:
    """An article's item defines the thing when it has a definition key: then those are required."""
    return {"if": {"anyOf": [{"required": [key]} for key in spec["D"]]},
            "then": {"required": list(spec.get("required_D", ()))}}


def _article_item(section: str) -> dict:
    spec = fmt.SECTIONS[section]
    required = ["id", *spec.get("required_R", ())] + (["quote"] if "quote" in spec["R"] else [])
    return {"type": "object", "properties": _keys(section, ("D", "R")), "required": required,
            "additionalProperties": False, **_defines_when(spec)}


def _registry_item(section: str) -> dict:
    spec = fmt.SECTIONS[section]
    return {"type": "object", "properties": _keys(section, ("D",)),
            "required": ["id", *spec.get("required_D", ())], "additionalProperties": False}


def _header() -> dict:
    properties = {}
    for key, kind in fmt.ARTICLE_KEYS.items():
        value = ISO_DATE if kind == fmt.DATE else _value(kind)
        if key == "title" or (isinstance(kind, fmt.Ref) and not kind.many):
            value = {"anyOf": [value, {"type": "null"}]}  # the text prints none
        properties[key] = _described(value, key)
    return {"type": "object", "properties": properties, "required": list(fmt.ARTICLE_REQUIRED),
            "additionalProperties": False}


def _common_defs() -> dict:
    span = {"anyOf": [{"type": "string", "minLength": 1},
                      {"type": "object", "properties": {k: _described(v, k) for k, v in QUOTE_KEY_SCHEMAS.items()},
                       "required": ["exact"], "additionalProperties": False}]}
    return {
        "id": {"type": "string", "pattern": f"^{fmt.SLUG.pattern}$"},
        "aliases": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "span": span,
        "quote": {"anyOf": [{"$ref": "#/$defs/span"}, {"type": "array", "items": {"$ref": "#/$defs/span"}, "minItems": 1}]},
        "date": {"anyOf": [{"type": "string", "minLength": 1},
                           {"type": "object", "properties": {k: _described(v, k) for k, v in DATE_KEY_SCHEMAS.items()},
                            "anyOf": [{"required": ["expr"]}, {"required": ["value", "basis"]}],
                            "additionalProperties": False}]},
    }


def _file_schema(name: str, title: str, item, header: bool) -> dict:
    properties = {"article": {"$ref": "#/$defs/article"}} if header else {}
    properties.update({section: {"anyOf": [{"type": "array", "items": {"$ref": f"#/$defs/{section}"}}, {"type": "null"}]}
                       for section in fmt.SECTIONS})
    defs = _common_defs() | ({"article": _header()} if header else {})
    defs |= {section: item(section) for section in fmt.SECTIONS}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": BASE_IRI + name, "title": title,
            "type": "object", "properties": properties, "required": ["article"] if header else [],
            "additionalProperties": False, "$defs": defs}


def schemas() -> dict[str, dict]:
    """The two schemas by file name: an article's annotation file, and the registry."""
    return {ARTICLE_SCHEMA: _file_schema(ARTICLE_SCHEMA, "tradekb: an article's annotation file", _article_item, True),
            REGISTRY_SCHEMA: _file_schema(REGISTRY_SCHEMA, "tradekb: the registry of shared definitions",
                                          _registry_item, False)}


def schema_text(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def schema_line(yaml_name: str) -> str:
    """The first line of an annotation file, naming its schema for the YAML language server."""
    name = REGISTRY_SCHEMA if yaml_name == fmt.REGISTRY else ARTICLE_SCHEMA
    return f"# yaml-language-server: $schema=../{SCHEMA_DIR}/{name}"


# -- the reference section of docs/annotations.md ------------------------------------------------
def _describe_value(schema: dict) -> str:
    """A value's schema in a few words: `id`, `list of ids`, one of the closed values …"""
    if "anyOf" in schema:
        return " or ".join(dict.fromkeys(_describe_value(s) for s in schema["anyOf"]))
    if "enum" in schema:
        return ", ".join(f"`{v}`" for v in schema["enum"])
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if schema.get("type") == "array":
        return f"list of {_describe_value(schema['items'])}s"
    if schema.get("pattern") == ISO_DATE["pattern"]:
        return "YYYY-MM-DD"
    return {"string": "text", "boolean": "true/false", "integer": "number", "null": "null"}[schema["type"]]


def _table(properties: dict, required: set[str], part_of=None) -> list[str]:
    rows = ["| key | value | | meaning |" if part_of is None else "| key | D/R | value | | meaning |",
            "|---|---|---|---|" if part_of is None else "|---|---|---|---|---|"]
    for key, schema in properties.items():
        mark = "**required**" if key in required else ""
        cells = [f"`{key}`", _describe_value(schema), mark, schema.get("description", "")]
        if part_of is not None:
            cells.insert(1, part_of(key))
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def reference() -> str:
    """The reference section of docs/annotations.md, made from the schemas alone."""
    article, registry = schemas()[ARTICLE_SCHEMA], schemas()[REGISTRY_SCHEMA]
    defs = article["$defs"]
    lines = [REFERENCE_START, "", "## Reference", "",
             f"Generated from `{SCHEMA_DIR}/{ARTICLE_SCHEMA}` and `{SCHEMA_DIR}/{REGISTRY_SCHEMA}`, which are "
             "generated from the loader's definitions. **required** marks a key every item must have; in an "
             "article file, the definition keys marked required are required only of an item that defines "
             "its thing (has any D key). D = definition key (registry or article), R = report key (article "
             "files only).", "",
             "An id is a lowercase slug: `" + defs["id"]["pattern"] + "`.", "",
             "### The article header (`article:`)", ""]
    lines += _table(defs["article"]["properties"], set(defs["article"]["required"]))
    for section in fmt.SECTIONS:
        item, definition = defs[section], registry["$defs"][section]
        required = set(definition["required"]) | set(item["required"])
        lines += ["", f"### `{section}`", ""]
        lines += _table(item["properties"], required,
                        lambda key: "D" if key in definition["properties"] else "R")
    for name, title in (("span", "A quote"), ("date", "A date")):
        obj = next(s for s in defs[name]["anyOf"] if s.get("type") == "object")
        lines += ["", f"### {title}: text, or a mapping with these keys", ""]
        if "anyOf" in obj:
            lines += ["Required: " + ", or ".join(" and ".join(f"`{k}`" for k in one["required"]) for one in obj["anyOf"])
                      + ".", ""]
        lines += _table(obj["properties"], set(obj.get("required", ())))
    lines += ["", REFERENCE_END, ""]
    return "\n".join(lines)


def with_reference(docs: str) -> str:
    """The docs with the generated reference in place of the old one (at the end if it has none)."""
    pattern = re.compile(re.escape(REFERENCE_START) + ".*?" + re.escape(REFERENCE_END) + "\n?", re.S)
    if pattern.search(docs):
        return pattern.sub(lambda _: reference(), docs)
    return docs.rstrip("\n") + "\n\n" + reference()


def write_all(root: Path) -> list[Path]:
    """Write the shipped schemas and the docs' reference section of the repository at `root`."""
    written = []
    for name, schema in schemas().items():
        write_atomically(root / SCHEMA_DIR / name, schema_text(schema))
        written.append(root / SCHEMA_DIR / name)
    docs = root / DOCS
    write_atomically(docs, with_reference(docs.read_text(encoding="utf-8")))
    return [*written, docs]


if __name__ == "__main__":
    for path in write_all(Path(__file__).resolve().parents[2]):
        print(path)
