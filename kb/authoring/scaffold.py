"""`tradekb new ARTICLE.txt`: put a new article into the corpus and write the start of its
annotations, so that an annotator confirms and completes instead of typing from nothing.

The article is copied into seeds/ byte for byte as NNN_<16 hex>.txt: NNN one more than the
highest number there, the hex the start of the SHA-256 of its bytes, so that the same article is
recognised if it comes again. The scaffold beside it holds what can be found mechanically:

- the header, with guesses from the dateline ("WASHINGTON, July 11 (Yonhap) --"): the credited
  wire service, the date, the zone of the dateline's city; where no guess can be made the value
  is `TODO`, which the loader refuses on its line;
- every name the registry or another file defines (label or alias) found in the text, as a report
  with its id; names found nowhere are listed in a comment, to be defined;
- each passage between quotation marks as a candidate statement, with the nearest known actor
  as its likely speaker;
- the date expressions found, in a comment, each with the day it resolves to.

Every guess is marked `# TODO` on its line; `tradekb check` lists the TODOs left, one per line.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Iterable

from kb import annotations
from kb.annotations import Article, ArticleText, Definition
from kb.authoring.index import index_of_others
from kb.authoring.schema import schema_line
from kb.dates import MONTH_NAME, MONTHS, WEEKDAYS, resolve_date
from kb.errors import AnnotationError
from kb.export import write_atomically
from kb.inputfiles import ARTICLE_LIMIT, NOT_XML, ProjectFiles, describe, line_column

TODO = "TODO"
NUMBERED = re.compile(r"(\d{3})_")
DASH = r"(?:--|—|–|-)"
DATELINE = re.compile(rf"^(?P<city>[A-Z][A-Z.' ]+?)(?:,\s*(?P<date>[A-Z][a-z]+\.? \d{{1,2}}(?:,? \d{{4}})?))?"
                      rf"\s*\((?P<wire>[^)\n]+)\)\s*{DASH}", re.M)
QUOTED = re.compile(r"“([^”\n]{3,})”|\"([^\"\n]{3,})\"")
_WEEKDAYS = "|".join(w.title() for w in WEEKDAYS)
_MONTHS = "|".join(m.title() for m in MONTH_NAME.split("|"))  # names and wire abbreviations ("Aug.")
DATE_EXPRESSION = re.compile(  # the forms kb.dates reads, as printed (a month or weekday capitalised)
    rf"\b(?:(?:[Oo]n|[Ll]ast|[Nn]ext|[Tt]his|[Ee]arly|[Ll]ate)\s+)?(?:(?:early|late)\s+)?(?:{_WEEKDAYS})\b"
    rf"(?:\s+(?:morning|afternoon|evening|night))?"
    rf"|\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,\s+\d{{4}})?|\b\d{{1,2}}\s+(?:{_MONTHS})\b"
    rf"|\b(?:mid|early|late)-(?:{_MONTHS})\b"
    r"|\b(?:yesterday|today|tonight|tomorrow|(?:last|this|next|earlier this|later this|later in the|earlier in the)"
    r"\s+(?:week|month)|(?:the\s+)?(?:end|beginning|start|middle)\s+of\s+(?:the|this)\s+month)\b")
SPEECH = re.compile(r"\b(?:said|says|told|added|noted|stated|asked|wrote|according to)\b")
NAME_LIKE = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)+\b")
SPEAKER_WINDOW = 160  # characters around a quotation searched for its speaker


@dataclass
class Mention:
    """A thing of the corpus named in the article: where first, and the quote that finds it."""

    definition: Definition
    start: int
    quote: object


@dataclass
class Scaffold:
    stem: str
    text_path: Path
    yaml_path: Path
    todos: int


def stem_for(seeds: Path, data: bytes) -> str:
    """The stem of a new article: the next number and the start of the SHA-256 of its bytes."""
    numbers = [int(m[1]) for p in seeds.glob("*.txt") if (m := NUMBERED.match(p.name))]
    return f"{max(numbers, default=-1) + 1:03d}_{hashlib.sha256(data).hexdigest()[:16]}"


def quote_spec(text: ArticleText, exact: str, start: int) -> object:
    """The shortest quote that finds `exact` at `start` (a plain string when it occurs once)."""
    starts = text.starts(exact)
    spec = exact if len(starts) == 1 else {"exact": exact, "occurrence": starts.index(start) + 1}
    return spec


def _yaml(value: object) -> str:
    """A value in YAML flow style (JSON is YAML; a plain id or word stays plain)."""
    if isinstance(value, str) and annotations.SLUG.fullmatch(value):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def find_names(text: ArticleText, definitions: dict[str, Definition]) -> list[Mention]:
    """Each named thing (actor, place, product) the text names by its label or an alias, as
    whole words, at its first mention; the longest name wins where names overlap."""
    forms: dict[str, list[Definition]] = {}
    for definition in definitions.values():
        if definition.section in annotations.ADDITIVE["aliases"]:
            for form in {definition.fields.get("label", ""), *definition.aliases}:
                if len(form) > 1:
                    forms.setdefault(form, []).append(definition)
    first: dict[str, Mention] = {}
    taken: list[tuple[int, int]] = []
    for form in sorted(forms, key=len, reverse=True):
        for m in re.finditer(rf"(?<!\w){re.escape(form)}(?!\w)", text.plain):
            if any(s < m.end() and m.start() < e for s, e in taken) and forms[form][0].section == "actors":
                continue  # "Kim" inside "Kim Hyun-chong" names no second actor
            taken.append(m.span())
            for definition in forms[form]:
                if definition.id not in first or m.start() < first[definition.id].start:
                    first[definition.id] = Mention(definition, m.start(), quote_spec(text, form, m.start()))
            break
    return sorted(first.values(), key=lambda mention: mention.start)


def _speaker(text: str, start: int, end: int, mentions: list[tuple[int, Definition]]) -> str | None:
    """The actor named nearest the quotation in its paragraph, after it first ("…," Park said), a
    person first."""
    low, high = max(start - SPEAKER_WINDOW, text.rfind("\n\n", 0, start)), text.find("\n\n", end)
    high = min(end + SPEAKER_WINDOW, len(text) if high == -1 else high)
    near = [(at, d) for at, d in mentions if low <= at <= high and not start <= at < end]
    if not near:
        return None
    return min(near, key=lambda n: (n[1].type != "Person", n[0] < start, abs(n[0] - (end if n[0] >= end else start))))[1].id


def _actor_mentions(text: str, names: list[Mention]) -> list[tuple[int, Definition]]:
    """Where each found actor is named, by its label or any alias, as whole words."""
    return sorted(((m.start(), n.definition) for n in names if n.definition.section == "actors"
                  for form in {n.definition.label, *n.definition.aliases}
                  for m in re.finditer(rf"(?<!\w){re.escape(form)}(?!\w)", text)), key=lambda mention: mention[0])


def _attribution(text: str, start: int, end: int) -> tuple[int, str] | None:
    """(start, words) of the reporter's framing of the quotation at [start, end): the clause after
    it up to the sentence's end ("…," a ministry official told reporters), or the one before it
    ("Kim said:"), if it has a verb of saying."""
    after = re.match(r"[\s,]*([^.“”\"\n]{3,160}?)(?=[.\n]|$)", text[end:])
    if after and SPEECH.search(after[1]):
        return end + after.start(1), after[1].rstrip(" ,")
    sentence = re.split(r"(?<=[.!?])\s+|\n", text[max(0, start - 160):start])[-1]
    words = sentence.rstrip(" :,")
    if len(words) > 2 and SPEECH.search(words) and re.search(r"[:,]\s*$", sentence):  # leads into the quotation
        return start - len(sentence), words
    return None


def _unknown_names(text: str, names: list[Mention]) -> list[str]:
    """Runs of capitalised words that are no known name and hold none, in order of appearance."""
    for form in sorted({f for m in names for f in (m.definition.label, *m.definition.aliases)}, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(form)}(?!\w)", lambda m: "\0" * len(m.group()), text)
    return list(dict.fromkeys(m.group() for m in NAME_LIKE.finditer(text)))


def _dateline(text: str) -> re.Match | None:
    return DATELINE.search(text[:2000])


def _year(text: str, corpus_years: Counter) -> tuple[int | None, str]:
    """The year the article most likely counts in, and why: the one most of the corpus's articles
    are from (an article names past years more often than its own), else the one it names most."""
    years = corpus_years or Counter(int(y) for y in re.findall(r"\b(19[5-9]\d|20\d\d)\b", text))
    if not years:
        return None, ""
    return max(years, key=lambda y: (years[y], y)), "the corpus's year" if corpus_years else "the year it names"


def _credited(text: str, definitions: dict[str, Definition]) -> list[Definition]:
    """Known organizations the text credits: a name in parentheses that ends a dateline or a line
    ("SEOUL, July 31 (Yonhap) --", a closing "(Yonhap)"), or a line that is nothing but their
    names ("• Reuters, Bloomberg, Kyodo"); not "(NSO)" in a sentence."""
    by_name = {form.casefold(): d for d in definitions.values() if d.type == "Organization"
               for form in (d.fields.get("label", ""), *d.aliases)}
    found: dict[str, Definition] = {}
    for m in re.finditer(rf"\(([^()\n]{{2,40}})\)\s*(?:{DASH}|$)", text, re.M):
        if m[1].casefold() in by_name:
            found.setdefault(by_name[m[1].casefold()].id, by_name[m[1].casefold()])
    for line in text.splitlines():
        names = [n.strip().casefold() for n in re.split(r",|;|\band\b", line.strip(" •*-–—\t")) if n.strip()]
        if names and len(line) <= 80 and all(n in by_name for n in names):
            for n in names:
                found.setdefault(by_name[n].id, by_name[n])
    return list(found.values())


def _weekday_hint(text: str, year: int | None) -> str:
    """For an article with no dated dateline: the days its "said Thursday" may be, counted from the
    latest date it names (news says "said Thursday" of the article's own day or the day before)."""
    said = re.search(rf"\bsaid (?:on )?({'|'.join(w.title() for w in WEEKDAYS)})\b", text)
    named = [m.group() for m in re.finditer(rf"\b(?:{'|'.join(m.title() for m in MONTHS)}) \d{{1,2}}\b", text)]
    if not said or not named or year is None:
        return ""
    latest = max(resolve_date(n, date(year, 12, 31), "UTC").value for n in named)
    first = resolve_date(said[1], latest, "UTC", tense="future").value
    days = ", ".join(str(first + timedelta(days=7 * n)) for n in range(3))
    return f"; it says \"{said.group()}\", and names {latest:%B} {latest.day}: {days}, …?"


def _header(text: str, definitions: dict[str, Definition], corpus: Counter) -> tuple[list[str], date | None, str | None]:
    """The header's lines, the guessed date and zone."""
    lines, dateline = [], _dateline(text)
    headline = next((line.strip() for line in text.splitlines() if line.strip()), "")
    lines.append(f"  title: {_yaml(headline)}  # TODO confirm: the headline as printed (null if none)")
    credited = _credited(text, definitions)
    lines.append("  publisher: null  # TODO: the outlet that published it (an organization id), or null")
    lines.append(f"  publisher_basis: {_yaml(TODO + ': why that publisher, or why none')}")
    if credited:
        lines.append(f"  wire_services: [{', '.join(d.id for d in credited)}]  # TODO confirm: the text credits "
                     + ", ".join(d.label for d in credited))
    else:
        unknown = f" (the dateline credits {dateline['wire']}: define it)" if dateline else ""
        lines.append(f"  wire_services: []  # TODO: organizations the text credits{unknown}")
    lines.append("  authors: []  # TODO: bylined people (person ids)")
    published = None
    year, year_basis = _year(text, corpus)
    if dateline and dateline["date"] and year:
        try:
            published = resolve_date(dateline["date"], date(year, 1, 1), "UTC").value
        except ValueError:
            published = None
    if published:
        lines.append(f"  published: {published}  # TODO confirm: from the dateline \"{dateline['date']}\" and {year_basis}, {year}")
    else:
        lines.append("  published: TODO  # the article's own day, YYYY-MM-DD" + _weekday_hint(text, year))
    zone = None
    if dateline:
        city = dateline["city"].strip().casefold()
        place = next((d for d in definitions.values() if d.section == "places" and d.fields.get("timezone")
                      and city in {f.casefold() for f in (d.fields.get("label", ""), *d.aliases)}), None)
        zone = place.fields["timezone"] if place else None
    if zone:
        lines.append(f"  timezone: {zone}  # TODO confirm: the dateline's city, {dateline['city'].strip()}")
    else:
        lines.append("  timezone: TODO  # the IANA zone the article counts its days in (e.g. Asia/Seoul, America/New_York)")
    basis = f"the dateline \"{dateline.group().strip()}\"" if dateline else "TODO"
    lines.append(f"  date_basis: {_yaml(TODO + ': how the date was inferred; ' + basis)}")
    return lines, published, zone


def scaffold_text(stem: str, text: str, definitions: dict[str, Definition],
                  articles: Iterable[Article] = ()) -> tuple[str, int]:
    """The scaffold YAML for the article `text`, and how many TODOs it holds; the corpus's other
    `articles` tell its likely year."""
    years = Counter(a.published.year for a in articles if a.published)
    article = ArticleText(text)
    names = find_names(article, definitions)
    header, published, zone = _header(article.plain, definitions, years)
    out = [schema_line(f"{stem}.yaml"),
           f"# Annotations for {stem}.txt, scaffolded by `tradekb new`: confirm or fix each guess marked below,",
           "# add what it missed (tradekb's docs/annotations.md), then `tradekb check` this file until it prints no problem.",
           "", "article:", *header, ""]
    sections: dict[str, list[str]] = {"actors": [], "places": [], "products": []}
    actor_forms = {f for m in names if m.definition.section == "actors" for f in (m.definition.label, *m.definition.aliases)}
    for mention in names:
        line = f"- {{id: {mention.definition.id}, quote: {_yaml(mention.quote)}}}"
        form = mention.quote if isinstance(mention.quote, str) else mention.quote["exact"]
        if mention.definition.section == "places" and form in actor_forms:  # "Seoul" mostly names the government
            sections["places"].append(f"  # {line}  (if it names the place, not only the government)")
        else:
            sections[mention.definition.section].append(f"  {line}  # {mention.definition.label}")
    unknown = _unknown_names(article.plain, names)
    for section in ("actors", "places", "products"):
        out += [f"{section}:", *sections[section]] if any(not s.startswith("  #") for s in sections[section]) \
            else [f"{section}: []", *sections[section]]
        if section == "actors" and unknown:
            out.append("  # TODO: names found in no file: define those that are actors (type, label, quote)")
            out.append("  #   " + "; ".join(unknown))
        out.append("")
    out += ["roles: []", "meetings: []", "measures: []", "", "statements:"]
    actor_mentions = _actor_mentions(article.plain, names)
    statements = 0
    for n, m in enumerate(QUOTED.finditer(article.plain), 1):
        words = (m[1] or m[2]).strip(" ,.")
        start = article.plain.index(words, m.start())
        speaker = _speaker(article.plain, m.start(), m.end(), actor_mentions)
        line, _ = line_column(article.plain, m.start())
        out += [f"  - id: statement-{n}  # TODO: a readable id ({speaker or 'speaker'}-what-it-is-about)",
                f"    speaker: {speaker or TODO}  # TODO "
                + (f"confirm: the nearest actor named (line {line})" if speaker else f"who said it, an actor id (line {line})"),
                f"    label: {_yaml(TODO + ': what it says, in our words')}",
                "    mode: direct-quote",
                f"    quote: {_yaml(quote_spec(article, words, start))}"]
        framing = _attribution(article.plain, m.start(), m.end())
        if framing:
            out.append(f"    attribution: {_yaml(quote_spec(article, framing[1], framing[0]))}  # TODO confirm: the framing")
            said_when = DATE_EXPRESSION.search(framing[1])
            if said_when:
                out.append(f"    date: {_yaml(said_when.group())}  # TODO confirm: when it was said")
        statements += 1
    if not statements:
        out.append("  []")
    out += ["", "# Date expressions found (resolved against the published date guessed above):"]
    for m in DATE_EXPRESSION.finditer(article.plain):
        line, _ = line_column(article.plain, m.start())
        resolved = "(no published date yet)"
        if published:
            try:
                resolved = f"-> {resolve_date(m.group(), published, zone or 'UTC').value}"
            except ValueError:
                resolved = "-> not understood: give it as a mapping (docs/annotations.md, Dates)"
        out.append(f"#   line {line}: \"{m.group()}\" {resolved}")
    scaffold = "\n".join(out) + "\n"
    return scaffold, sum(line.count(TODO) for line in out)


def new_article(project: Path, article: Path) -> Scaffold:
    """Copy `article` into the project's seeds/ and write its scaffold beside it."""
    seeds = Path(project) / "seeds"
    data = ProjectFiles(Path(article).resolve().parent).read_bytes(Path(article).resolve(), ARTICLE_LIMIT)
    text = ProjectFiles(Path(article).resolve().parent).read_text(Path(article).resolve(), ARTICLE_LIMIT)
    bad = NOT_XML.search(text)
    if bad:
        raise AnnotationError([f"{article}:{':'.join(map(str, line_column(text, bad.start())))}: character "
                               f"{describe(bad.group())} cannot be carried by RDF/XML (XML 1.0): remove it"])
    digest = hashlib.sha256(data).hexdigest()[:16]
    for existing in seeds.glob(f"*_{digest}.txt"):
        if existing.read_bytes() == data:
            raise AnnotationError(f"{article}: already in the corpus as {existing.relative_to(project)}")
    stem = stem_for(seeds, data)
    index = index_of_others(project)
    scaffold, todos = scaffold_text(stem, text, index.definitions, index.articles.values())
    text_path, yaml_path = seeds / f"{stem}.txt", seeds / f"{stem}.yaml"
    write_atomically(text_path, data)
    write_atomically(yaml_path, scaffold)
    return Scaffold(stem, text_path, yaml_path, todos)
