"""Read the hand-written annotations (YAML) into typed records, each knowing its file and line.

The loader is strict so that the graph can be trusted: every quote is found in the article text
(it works out the offsets itself), every reference names a thing of the right kind, every date
expression is resolved, and every problem in a run is reported, one line each, before anything
is built. The format is described in docs/annotations.md.
"""

from __future__ import annotations

import copy
import pickle
import re
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from functools import cached_property
from datetime import date
from pathlib import Path
from typing import Any, Callable


from kb.dates import ResolvedDate, given_date, resolve_date, zone
from kb.errors import AnnotationError, Location, Problem
from kb.inputfiles import (ANNOTATION_LIMIT, ARTICLE_LIMIT, NOT_XML, InputFileError, ProjectFiles, as_lf, describe,
                           line_column)
from kb.yamlfile import LineDict, LineList, MarkedYAMLError, load_yaml

REGISTRY = "registry.yaml"
CONTEXT_CHARS = 32  # prefix/suffix length recorded in a TextQuoteSelector
REMEMBER_ABOVE = 100_000  # code points of an article above which its quotes' places are remembered
SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
ARTICLE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # becomes part of IRIs as it is

ACTOR_TYPES = ("Person", "Organization", "Government")
ORGANIZATION_TYPES = ("Organization", "Government")
MEETING_TYPES = ("Talks", "PhoneCall", "Visit", "Briefing", "MultilateralMeeting")
MEASURE_TYPES = ("ExportControl", "ListRemoval", "WTOAction", "DisputeAction")
MEETING_STATUSES = ("held", "ongoing", "planned", "proposed", "unconfirmed", "declined", "cancelled")
MEASURE_STATUSES = ("in-force", "planned", "proposed", "taken", "withdrawn")
STATEMENT_MODES = ("direct-quote", "reported-speech", "denial", "refusal-to-comment", "allegation")


@dataclass(frozen=True)
class Ref:
    """A key whose value names other things: which sections (and types) it may name."""

    sections: tuple[str, ...]
    types: tuple[str, ...] = ()
    many: bool = False
    one_or_many: bool = False


# Each section's keys. D = defines the thing, R = one article's report of it.
TEXT, BOOL, DATE, QUOTE, ALIASES, IN_QUOTE = "text", "bool", "date", "quote", "aliases", "in-quote"
SECTIONS: dict[str, dict[str, dict[str, Any]]] = {
    "actors": {
        "D": {"type": ACTOR_TYPES, "label": TEXT, "part_of": Ref(("actors",), ORGANIZATION_TYPES),
              "country": TEXT},
        "R": {"quote": QUOTE},
        "required_D": ("type", "label"),
    },
    "places": {
        "D": {"label": TEXT, "timezone": TEXT, "within": Ref(("places",))},
        "R": {"quote": QUOTE},
        "required_D": ("label",),
    },
    "products": {"D": {"label": TEXT}, "R": {"quote": QUOTE}, "required_D": ("label",)},
    "topics": {"D": {"label": TEXT, "definition": TEXT}, "R": {}, "required_D": ("label", "definition")},
    "roles": {
        "D": {"person": Ref(("actors",), ("Person",)), "organization": Ref(("actors",), ORGANIZATION_TYPES),
              "label": TEXT},
        "R": {"title": IN_QUOTE, "acting": BOOL, "quote": QUOTE},
        "required_D": ("person", "organization", "label"),
        "required_R": ("title",),
    },
    "meetings": {
        "D": {"type": MEETING_TYPES, "label": TEXT, "participants": Ref(("actors",), many=True),
              "place": Ref(("places",)), "topics": Ref(("topics",), many=True), "part_of": Ref(("meetings",))},
        "R": {"status": MEETING_STATUSES, "date": DATE, "end": DATE, "waits_on": TEXT,
              "via": Ref(("actors",)), "cites": Ref(("actors",), ORGANIZATION_TYPES), "quote": QUOTE},
        "required_D": ("type", "label", "participants"),
    },
    "measures": {
        "D": {"type": MEASURE_TYPES, "label": TEXT, "imposer": Ref(("actors",)), "target": Ref(("actors",)),
              "products": Ref(("products",), many=True), "topics": Ref(("topics",), many=True)},
        "R": {"status": MEASURE_STATUSES, "date": DATE, "effective": DATE, "justification": IN_QUOTE,
              "via": Ref(("actors",)), "cites": Ref(("actors",), ORGANIZATION_TYPES), "quote": QUOTE},
        "required_D": ("type", "label", "imposer"),
    },
    "statements": {
        "D": {"speaker": Ref(("actors",), one_or_many=True), "label": TEXT,
              "topics": Ref(("topics",), many=True),
              "about": Ref(("meetings", "measures", "statements", "roles"), many=True),
              "denies": Ref(("statements",))},
        # quote: the speaker's own words only; attribution: the reporter's words saying who said
        # it (and often when: "a top South Korean presidential official said Thursday")
        "R": {"mode": STATEMENT_MODES, "date": DATE, "audience": TEXT, "via": Ref(("actors",)),
              "cites": Ref(("actors",), ORGANIZATION_TYPES), "quote": QUOTE, "attribution": QUOTE},
        "required_D": ("speaker", "label"),
        "required_R": ("mode",),
    },
}
# Printed name forms: allowed on any actor item, in the registry or an article, and added up.
ADDITIVE = {"aliases": ("actors", "places", "products")}
ARTICLE_KEYS = {"title": QUOTE, "publisher": Ref(("actors",), ORGANIZATION_TYPES), "publisher_basis": TEXT,
                "wire_services": Ref(("actors",), ORGANIZATION_TYPES, many=True),
                "authors": Ref(("actors",), ("Person",), many=True), "published": DATE,
                "timezone": TEXT, "date_basis": TEXT, "date_evidence": QUOTE}
ARTICLE_REQUIRED = ("title", "published", "timezone", "date_basis")
# A date is read from `expr` (with tz, in_tz, anchor, tense, invert), or given by hand as `value`
# with its `precision` (day by default) and `basis` (why); `evidence` quotes the words that date
# the item when they are outside its quotes.
DATE_KEYS = {"expr", "tz", "in_tz", "anchor", "tense", "invert", "value", "precision", "basis", "evidence"}
EXPRESSION_ONLY = ("in_tz", "anchor", "tense", "invert")  # keys that mean nothing for a date given by value
QUOTE_KEYS = {"exact", "prefix", "suffix", "occurrence"}


@dataclass(frozen=True)
class Quote:
    """Words of an article, located: [start, end) in Unicode code points of its text."""

    exact: str
    start: int
    end: int
    prefix: str
    suffix: str


@dataclass
class Article:
    """One article: its verbatim text and the metadata its annotation file gives."""

    stem: str
    text: str
    text_path: Path
    location: Location
    title: Quote | None = None
    publisher: str | None = None
    publisher_basis: str | None = None
    wire_services: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    published: date | None = None
    timezone: str = "UTC"
    date_basis: str = ""
    date_evidence: list[Quote] = field(default_factory=list)


@dataclass
class Definition:
    """What a thing is: defined once in the corpus (`graph` is "registry" or an article stem)."""

    id: str
    section: str
    type: str
    fields: dict[str, Any]
    location: Location
    graph: str
    aliases: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.fields.get("label", "")  # missing in a broken definition, reported as such


@dataclass
class Report:
    """What one article says about one thing: its words and its claims."""

    article: str
    fact: str
    section: str
    quotes: list[Quote]
    claims: dict[str, Any]
    dates: dict[str, ResolvedDate]
    location: Location
    raw_dates: dict[str, tuple[Any, Location]] = field(default_factory=dict)
    attribution: list[Quote] = field(default_factory=list)  # a statement's framing: who said it
    date_evidence: list[Quote] = field(default_factory=list)  # words that date it, outside its quotes


@dataclass
class FileIndex:
    """What one annotation file gives the rest of the corpus, kept between builds so that a rebuild
    after an edit of one article can check that file against the others without reading them."""

    article: Article | None  # without its text; None for the registry
    defines: dict[str, Definition]  # the things it defines, with every file's aliases merged in
    aliases: dict[str, list[str]]  # the names it adds to things, by id
    uses: set[str]  # every id it reports, names or adds names to
    reports: list[Report]  # only what the derived graph is made from: status, mode, dates
    # (Locations here name the file only, one object for all: a line per item would make this
    # twice as slow to read back, and only the file's own items need lines, when it is reloaded.)
    definition_lines: dict[str, int] = field(default_factory=dict)  # id -> the line defining it


@dataclass(frozen=True)
class IdEntry:
    """One defined id as an annotator looks it up (`tradekb ids`, `tradekb check`): what it is,
    where it is defined, and which files name it, so that the home the rule gives it
    (`CorpusIndex.home_of`) can be compared with where it is."""

    id: str
    section: str
    type: str
    label: str
    aliases: tuple[str, ...]
    defined_at: Location  # file and line
    defined_in: str  # "registry" or an article stem
    reported_by: tuple[str, ...]  # the article stems whose files report it, sorted
    named_by: tuple[str, ...]  # every file that reports it, refers to it or names it, sorted
    home: str  # where the rule says it is defined: "registry" or an article stem


class CorpusIndex:
    """What every annotation file gives the others, kept between builds (kb.rebuild): every
    definition, which files use each id and name each thing, the articles' dates, and each file's
    FileIndex pickled on its own, to be read only when that file is reloaded or its reports are
    needed (a million triples' worth of reports takes a second to read back, one file's nothing)."""

    def __init__(self, files: dict[str, FileIndex]) -> None:
        self.definitions: dict[str, Definition] = {}
        self.users: dict[str, set[str]] = {}  # id -> the files that use it
        self.reporters: dict[str, set[str]] = {}  # id -> the files that report it
        self.lines: dict[str, int] = {}  # id -> the line of its definition, in its file
        self.names: dict[str, dict[str, list[str]]] = {}  # id -> file -> the names it gives it
        self.articles: dict[str, Article] = {}
        self._files: dict[str, bytes] = {}
        for name, index in files.items():
            self._add(name, index)

    def _add(self, name: str, index: FileIndex) -> None:
        self.definitions.update(index.defines)
        self.lines.update(index.definition_lines)
        for fact in index.uses:
            self.users.setdefault(fact, set()).add(name)
        for report in index.reports:
            self.reporters.setdefault(report.fact, set()).add(name)
        for fact, aliases in index.aliases.items():
            self.names.setdefault(fact, {})[name] = aliases
        if index.article is not None:
            self.articles[name] = index.article
        self._files[name] = pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL)

    def file(self, name: str) -> FileIndex:
        """What the file gave the others (nothing, for a file that was not there)."""
        return pickle.loads(self._files[name]) if name in self._files else FileIndex(None, {}, {}, set(), [])

    def replaced(self, name: str, index: FileIndex | None) -> "CorpusIndex":
        """The index with the file's entry replaced (removed, if `index` is None)."""
        new = copy.copy(self)
        before = self.file(name)
        new.definitions = {k: v for k, v in self.definitions.items() if k not in before.defines}
        new.users = {fact: files - {name} if fact in before.uses else files for fact, files in self.users.items()}
        new.users = {fact: files for fact, files in new.users.items() if files}
        new.reporters = {fact: files - {name} for fact, files in self.reporters.items() if files - {name}}
        new.lines = {k: v for k, v in self.lines.items() if k not in before.defines}
        new.names = {fact: {n: a for n, a in given.items() if n != name} for fact, given in self.names.items()}
        new.names = {fact: given for fact, given in new.names.items() if given}
        new.articles = {n: a for n, a in self.articles.items() if n != name}
        new._files = {n: b for n, b in self._files.items() if n != name}
        if index is not None:
            new._add(name, index)
        return new

    def home_of(self, fact: str) -> str:
        """Where the id `fact` is to be defined, by the rule of docs/annotations.md: in the registry
        if two or more files name it (report it, refer to it or add a name to it; the registry
        names what its own definitions refer to), else in the one article file that names it."""
        graph = self.definitions[fact].graph
        files = self.users.get(fact, set()) | ({graph} - {"registry"})  # an article names what it defines
        return files.pop() if len(files) == 1 else graph if not files else "registry"

    def ids(self) -> list[IdEntry]:
        """Every defined id, in id order, with its defining file:line and the files that name it."""
        return [IdEntry(fact, d.section, d.type, d.label, tuple(d.aliases), replace(d.location, line=self.lines.get(fact, 0)),
                        d.graph, tuple(sorted(self.reporters.get(fact, ()))), tuple(sorted(self.users.get(fact, ()))),
                        self.home_of(fact))
                for fact, d in sorted(self.definitions.items())]

    def load_order(self, extra: str) -> list[str]:
        """The files as a full load reads them (registry first, then the articles' annotation
        files by name), with `extra` among them."""
        return ["registry", *sorted(set(self._files) - {"registry"} | {extra}, key=lambda name: f"{name}.yaml")]


@dataclass
class Corpus:
    """Everything the annotations say, checked: articles, definitions by id, and reports; and, by
    file ("registry" or an article stem), what each file gives the others."""

    root: Path
    articles: dict[str, Article]
    definitions: dict[str, Definition]
    reports: list[Report]
    indexer: Callable[[], dict[str, FileIndex]] = field(default=dict, repr=False, compare=False)

    @cached_property
    def files(self) -> dict[str, FileIndex]:
        """What each file gives the others, worked out when first asked (a second at a million
        triples, which only a build keeping its state for a rebuild needs)."""
        return self.indexer()

    def reports_of(self, fact: str) -> list[Report]:
        return self._by_fact.get(fact, [])

    @cached_property
    def _by_fact(self) -> dict[str, list[Report]]:
        by_fact: dict[str, list[Report]] = {}
        for report in self.reports:
            by_fact.setdefault(report.fact, []).append(report)
        return by_fact


class _Collector:
    """Gathers problems so that one run reports all of them."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, location: Location, message: str) -> None:
        self.problems.append(Problem(location, message))


def _a(noun: str) -> str:
    """The noun with its indefinite article: "an actor", "a meeting"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _line(node: Any, key: Any = None, fallback: int = 0) -> int:
    """1-based line of a mapping or sequence (or of one of a mapping's keys) in its YAML file."""
    if key is not None and isinstance(node, LineDict):
        return node.line_of(key, fallback)
    return getattr(node, "line", 0) or fallback


class ArticleText:
    """An article's text as stored, in which quotes are found. A line break in a quote (LF, CRLF
    or CR) matches any line break in the text, so that saving an article with other line endings
    changes no annotation; positions and the words recorded are those of the text as stored, in
    code points (a CRLF counts two), so that the selectors apply to the file itself."""

    def __init__(self, stored: str) -> None:
        self.stored = stored
        self.plain = as_lf(stored)
        # the offsets in `plain` of the LFs that stand for a CRLF (one code point fewer each)
        self._crlf = [m.start() - i for i, m in enumerate(re.finditer("\r\n", stored))] if "\r\n" in stored else []
        self._starts: dict[tuple[str, str, str], list[int]] = {}

    def stored_offset(self, plain: int) -> int:
        """The offset in the stored text of the code point at `plain` in the LF text."""
        return plain + bisect_left(self._crlf, plain) if self._crlf else plain

    def starts(self, exact: str, prefix: str = "", suffix: str = "") -> list[int]:
        """Every start of `exact` in the LF text that `prefix` precedes and `suffix` follows,
        overlapping ones included ("ha ha" twice in "ha ha ha"). Remembered in a long article: a
        file that gives one frequent quote a million times must not search for it a million times
        (in a news story, a search costs less than remembering it)."""
        key = (exact, prefix, suffix)
        found = self._starts.get(key)
        if found is None:
            plain, found, i = self.plain, [], self.plain.find(exact)
            while i != -1:
                if plain[max(0, i - len(prefix)):i] == prefix and plain.startswith(suffix, i + len(exact)):
                    found.append(i)
                i = plain.find(exact, i + 1)
            if len(plain) > REMEMBER_ABOVE:
                self._starts[key] = found
        return found

    @cached_property
    def folded(self) -> str:
        """The LF text as _fold makes it, once (it takes longer than a search)."""
        return _fold(self.plain)


def find_quote(text: str | ArticleText, spec: Any) -> Quote:
    r"""Locate `spec` (a string or {exact, prefix, suffix, occurrence}) in `text`; ValueError says why not.

    >>> find_quote("Kim said no. Kim said yes.", {"exact": "Kim said", "occurrence": 2}).start
    13
    >>> q = find_quote("Kim said\r\nno.", "said\nno")  # the quote's LF matches the text's CRLF
    >>> q.start, q.end, q.exact  # of the text as stored: the CRLF is two code points
    (4, 12, 'said\r\nno')
    """
    article = text if isinstance(text, ArticleText) else ArticleText(text)
    if isinstance(spec, str):
        spec = {"exact": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("exact"), str) or not spec["exact"]:
        raise ValueError("a quote is a string or a mapping with a non-empty 'exact'")
    unknown = set(spec) - QUOTE_KEYS
    if unknown:
        raise ValueError(f"unknown quote key(s) {', '.join(sorted(map(str, unknown)))}; use {', '.join(sorted(QUOTE_KEYS))}")
    exact, prefix, suffix = spec["exact"], str(spec.get("prefix") or ""), str(spec.get("suffix") or "")
    if "\r" in exact or "\r" in prefix or "\r" in suffix:
        exact, prefix, suffix = as_lf(exact), as_lf(prefix), as_lf(suffix)
    starts = article.starts(exact, prefix, suffix)
    if not starts and not article.starts(exact):
        raise ValueError(f"quote not found in the article: \"{spec['exact']}\"{_near_miss(article, exact)}")
    if not starts:
        raise ValueError(f"quote \"{spec['exact']}\" is in the article, but not with the prefix/suffix given")
    occurrence = spec.get("occurrence")
    if occurrence is not None:
        if not isinstance(occurrence, int) or not 1 <= occurrence <= len(starts):
            raise ValueError(f"quote \"{spec['exact']}\": occurrence must be 1..{len(starts)}, not {occurrence!r}")
        starts = [starts[occurrence - 1]]
    if len(starts) > 1:
        raise ValueError(f"quote \"{spec['exact']}\" is ambiguous: it occurs {len(starts)} times in the article; "
                         "add occurrence, prefix or suffix")
    stored = article.stored
    start, end = article.stored_offset(starts[0]), article.stored_offset(starts[0] + len(exact))
    return Quote(stored[start:end], start, end, stored[max(0, start - CONTEXT_CHARS):start], stored[end:end + CONTEXT_CHARS])


def _fold(text: str) -> str:
    """Text with case, spacing and quotation marks made alike."""
    text = text.translate(str.maketrans("“”‘’–—", "\"\"''--"))
    return " ".join(text.split()).casefold()


def _near_miss(article: ArticleText, exact: str) -> str:
    """A hint when the words are there but differ in case, spacing or quotation marks."""
    return " (it is there with other case, spacing or quotation marks)" if _fold(exact) in article.folded else ""


class _Loader:
    """One pass over the project's seeds directory; every problem goes to the collector."""

    def __init__(self, seeds: Path) -> None:
        self.seeds = seeds
        self.files = ProjectFiles(seeds.parent)
        self.out = _Collector()
        self.articles: dict[str, Article] = {}
        self.definitions: dict[str, Definition] = {}
        self.reports: list[Report] = []
        self.reported: set[tuple[str, str]] = set()
        # (location, key, value, Ref, owner) checked once every definition is known
        self.pending_refs: list[tuple[Location, str, Any, Ref]] = []
        self.aliases: dict[str, list[tuple[str, Location]]] = {}
        # by article stem; an article whose text could not be read has none, and its quotes go
        # unchecked: its annotations are loaded all the same, so that other files find their ids
        self.texts: dict[str, ArticleText] = {}
        # Annotation files that could not be read or parsed: the ids they define are unknown, and
        # saying so at every use in other files would bury the one line that matters.
        self.unread: list[Path] = []

    # -- files -----------------------------------------------------------------------------
    def load(self) -> Corpus:
        if not self.seeds.is_dir():
            raise AnnotationError([Problem(Location(self.seeds), "no seeds directory here "
                                           "(run in a tradekb project, or pass --project)")])
        registry = self.seeds / REGISTRY
        if registry.exists():
            self._load_file(registry, None)
        texts = {p.stem: p for p in sorted(self.seeds.glob("*.txt"))}
        yamls = {p.stem: p for p in sorted(self.seeds.glob("*.yaml")) if p.name != REGISTRY}
        for stem, path in texts.items():
            if not ARTICLE_STEM.fullmatch(stem):
                self.out.add(Location(path), f"article file name {path.name!r} cannot name the article in IRIs: "
                                             "use letters, digits, '_', '-' and '.' only")
        for stem, path in yamls.items():
            if stem not in texts:
                self.out.add(Location(path, 1), f"article file {stem}.txt is missing beside this annotation file")
                continue
            self._load_file(path, texts[stem])
        for stem, path in texts.items():
            if stem not in yamls:
                self.out.add(Location(path), f"article {path.name} has no annotation file {stem}.yaml")
        self._check_references()
        self._check_aliases()
        self._resolve_dates()
        if self.out.problems:
            raise AnnotationError(self.out.problems)
        return Corpus(self.seeds.parent, self.articles, self.definitions, self.reports,
                      lambda: self._index(["registry", *self.articles]))

    def reload(self, previous: CorpusIndex, stem: str) -> Corpus | None:
        """The corpus of one article's files alone (none if it was deleted), checked against the
        other files as `previous` has them. None if the change reaches beyond the article (a
        definition or name another file uses, a name it gives another file's thing, a problem to
        report): only a full load can then say exactly what follows."""
        before = previous.file(stem)
        self.definitions.update({k: v for k, v in previous.definitions.items() if k not in before.defines})
        text, annotations = self.seeds / f"{stem}.txt", self.seeds / f"{stem}.yaml"
        if text.exists() != annotations.exists():
            return None
        if annotations.exists():
            self._load_file(annotations, text)
        self._check_references()
        ours = self._index([stem])[stem] if annotations.exists() else FileIndex(None, {}, {}, set(), [])
        if ({k: v for k, v in ours.aliases.items() if k not in ours.defines}
                != {k: v for k, v in before.aliases.items() if k not in before.defines}):
            return None  # it names another file's thing differently
        for fact in ours.defines:  # every file's names for it, in load order
            given = {**previous.names.get(fact, {}), stem: ours.aliases.get(fact, [])}
            self.definitions[fact].aliases = list(dict.fromkeys(
                alias for name in previous.load_order(stem) for alias in given.get(name, ())))
        for fact in set(ours.defines) | set(before.defines):
            if previous.users.get(fact, set()) - {stem}:  # another file uses it
                old, new = before.defines.get(fact), self.definitions.get(fact) if fact in ours.defines else None
                if old is None or new is None or _definition_content(old) != _definition_content(new):
                    return None
        self._check_aliases()
        self._resolve_dates()
        if self.out.problems:
            return None
        files = {stem: self._index([stem])[stem]} if annotations.exists() else {}
        return Corpus(self.seeds.parent, self.articles, self.definitions, self.reports, lambda: files)

    def _index(self, names: list[str]) -> dict[str, FileIndex]:
        """What each of the files `names` gives the others."""
        files: dict[Path, Location] = {}

        def file(where: Location) -> Location:
            return files.setdefault(where.path, Location(where.path))

        index = {name: FileIndex(None if name == "registry" else replace(
                     self.articles[name], text="", location=file(self.articles[name].location)),
                                 {}, {}, set(), []) for name in names}
        for definition in self.definitions.values():
            if definition.graph in index:
                index[definition.graph].defines[definition.id] = replace(definition, location=file(definition.location))
                index[definition.graph].definition_lines[definition.id] = definition.location.line
        for fact, given in self.aliases.items():
            for alias, where in given:
                name = _file_of(where, self.seeds)
                if name in index:
                    index[name].aliases.setdefault(fact, []).append(alias)
                    index[name].uses.add(fact)
        for where, _, value, _ in self.pending_refs:
            name = _file_of(where, self.seeds)
            if name in index:
                index[name].uses.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
        for report in self.reports:
            if report.article in index:
                index[report.article].uses.add(report.fact)
                index[report.article].reports.append(replace(
                    report, quotes=[], raw_dates={}, attribution=[], date_evidence=[], location=file(report.location),
                    claims={key: report.claims[key] for key in ("status", "mode") if key in report.claims}))
        return index

    def _read(self, path: Path, limit: int) -> str | None:
        """The file's text, or None (the problem said) if it cannot be read."""
        try:
            return self.files.read_text(path, limit)
        except InputFileError as e:
            self.out.problems += e.problems
            return None

    def _load_file(self, path: Path, text_path: Path | None) -> None:
        text = self._read(path, ANNOTATION_LIMIT)
        if text is None:
            self.unread.append(path)
            return
        try:
            data = load_yaml(text)
        except MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            where = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
            self.out.add(where, f"broken YAML: {e.problem or e.context}")
            self.unread.append(path)
            return
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.out.add(Location(path, 1), "an annotation file is a mapping of sections")
            return
        article = None
        if text_path is not None:
            article = self._load_article(path, text_path, data)
            if article is None:
                return
        for key in data:
            if key == "article" and article is not None:
                continue
            if key not in SECTIONS:
                allowed = ", ".join((["article"] if article else []) + list(SECTIONS))
                self.out.add(Location(path, _line(data, key)), f"unknown section {key!r}; sections are {allowed}")
                continue
            items = data[key] or []
            if not isinstance(items, list):
                self.out.add(Location(path, _line(data, key)), f"section {key} must be a list of items")
                continue
            for item in items:
                self._load_item(path, key, item, article, _line(data, key))

    def _load_article(self, path: Path, text_path: Path, data: dict) -> Article | None:
        text = self._read(text_path, ARTICLE_LIMIT)
        bad = NOT_XML.search(text) if text else None
        if bad:
            others = len(NOT_XML.findall(text)) - 1
            self.out.add(Location(text_path, *line_column(text, bad.start())),
                         f"character {describe(bad.group())} cannot be carried by RDF/XML (XML 1.0), which HermiT "
                         f"reads: remove it" + (f" (and {others} more like it)" if others else ""))
            text = None
        if text is not None:
            self.texts[text_path.stem] = ArticleText(text)
        header = data.get("article")
        where = Location(path, _line(data, "article", 1))
        article = Article(text_path.stem, text or "", text_path, where)
        if not isinstance(header, dict):
            self.out.add(where, "the file must start with an 'article:' mapping (title, published, timezone, ...)")
            return None
        for key in ARTICLE_REQUIRED:
            if key not in header:
                self.out.add(where, f"article: {key} is missing")
        for key, value in header.items():
            at = Location(path, _line(header, key, where.line))
            kind = ARTICLE_KEYS.get(key)
            if kind is None:
                self.out.add(at, f"article: unknown key {key!r}; keys are {', '.join(ARTICLE_KEYS)}")
            elif key == "title":
                if value is None:  # the text prints no headline
                    continue
                quotes = self._quotes(article, value, at)
                article.title = quotes[0] if quotes else None
            elif key == "date_evidence":
                article.date_evidence = self._quotes(article, value, at)
            elif key == "published":
                article.published = self._iso_date(value, at, "article: published")
            elif key == "timezone":
                try:
                    article.timezone = zone(str(value)).key
                except ValueError as e:
                    self.out.add(at, f"article: {e}")
            elif isinstance(kind, Ref):
                if value is not None:
                    self.pending_refs.append((at, f"article: {key}", value, kind))
                    setattr(article, key, list(value) if kind.many else value)
            else:
                if not isinstance(value, str):
                    self.out.add(at, f"article: {key} must be text")
                setattr(article, key, value if isinstance(value, str) else str(value))
        self.articles[article.stem] = article
        return article

    # -- items -----------------------------------------------------------------------------
    def _load_item(self, path: Path, section: str, item: Any, article: Article | None, fallback: int) -> None:
        if not isinstance(item, dict):
            self.out.add(Location(path, fallback), f"{section}: each item is a mapping with an id")
            return
        at = Location(path, _line(item, fallback=fallback))
        spec = SECTIONS[section]
        fact = item.get("id")
        if not isinstance(fact, str) or not SLUG.fullmatch(fact):
            self.out.add(at, f"{section}: id must be a lowercase slug like 'kim-hyun-chong', not {fact!r}")
            return
        d_keys = {k for k in item if k in spec["D"]}
        r_keys = {k for k in item if k in spec["R"]}
        for key in item:
            if key != "id" and key not in spec["D"] and key not in spec["R"] and section not in ADDITIVE.get(key, ()):
                keys = ", ".join(["id", *spec["D"], *spec["R"]])
                self.out.add(Location(path, _line(item, key, at.line)), f"{section} {fact}: unknown key {key!r}; keys are {keys}")
        if "aliases" in item and section in ADDITIVE["aliases"]:
            aliases = item["aliases"]
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                self.out.add(Location(path, _line(item, "aliases", at.line)), f"{section} {fact}: aliases must be a list of names")
            else:
                for alias in aliases:
                    self.aliases.setdefault(fact, []).append((alias, at))
        if d_keys or article is None:
            self._define(path, section, fact, item, at, article)
        if article is None:
            if r_keys:
                self.out.add(at, f"{section} {fact}: {', '.join(sorted(r_keys))} belong in an article file, not the registry")
            return
        if section == "topics":
            return
        self._report(path, section, fact, item, at, article)

    def _define(self, path: Path, section: str, fact: str, item: dict, at: Location, article: Article | None) -> None:
        spec = SECTIONS[section]
        if fact in self.definitions:
            first = self.definitions[fact].location
            self.out.add(at, f"duplicate id {fact!r}: already defined at {first}")
            return
        for key in spec.get("required_D", ()):
            if key not in item:
                self.out.add(at, f"{section} {fact}: {key} is missing")
        fields: dict[str, Any] = {}
        kind_of_type = spec["D"].get("type")
        for key, kind in spec["D"].items():
            if key not in item:
                continue
            value, where = item[key], Location(path, _line(item, key, at.line))
            if isinstance(kind, Ref):
                self.pending_refs.append((where, f"{section} {fact}: {key}", value, kind))
                fields[key] = (list(value) if isinstance(value, list) else [value]) if (kind.many or kind.one_or_many) else value
            elif isinstance(kind, tuple):
                if value not in kind:
                    self.out.add(where, f"{section} {fact}: {key} must be one of {', '.join(kind)}, not {value!r}")
                fields[key] = value
            elif key == "timezone":
                try:
                    fields[key] = zone(str(value)).key
                except ValueError as e:
                    self.out.add(where, f"{section} {fact}: {e}")
            else:
                if not isinstance(value, str) or not value.strip():
                    self.out.add(where, f"{section} {fact}: {key} must be non-empty text")
                fields[key] = str(value)
        type_ = fields.get("type") if kind_of_type else {"places": "Place", "products": "Product", "topics": "Topic",
                                                         "roles": "Membership", "statements": "Statement"}[section]
        self.definitions[fact] = Definition(fact, section, str(type_), fields, at,
                                            article.stem if article else "registry")

    def _report(self, path: Path, section: str, fact: str, item: dict, at: Location, article: Article) -> None:
        spec = SECTIONS[section]
        if (article.stem, fact) in self.reported:
            self.out.add(at, f"{section} {fact}: reported twice in this article; put all its quotes in one item")
            return
        for key in spec.get("required_R", ()):
            if key not in item:
                self.out.add(at, f"{section} {fact}: {key} is missing (each article's report gives it)")
        if "quote" not in item:
            self.out.add(at, f"{section} {fact}: quote is missing: every report cites the article's words")
        quotes = self._quotes(article, item.get("quote"), Location(path, _line(item, "quote", at.line))) if "quote" in item else []
        report = Report(article.stem, fact, section, quotes, {}, {}, at)
        for key, kind in spec["R"].items():
            if key not in item or key == "quote":
                continue
            value, where = item[key], Location(path, _line(item, key, at.line))
            if isinstance(kind, Ref):
                self.pending_refs.append((where, f"{section} {fact}: {key}", value, kind))
                report.claims[key] = value
            elif isinstance(kind, tuple):
                if value not in kind:
                    self.out.add(where, f"{section} {fact}: {key} must be one of {', '.join(kind)}, not {value!r}")
                report.claims[key] = value
            elif kind == BOOL:
                if not isinstance(value, bool):
                    self.out.add(where, f"{section} {fact}: {key} must be true or false, not {value!r}")
                report.claims[key] = bool(value)
            elif kind == DATE:
                report.raw_dates[key] = (value, where)
            elif key == "attribution":
                report.attribution = self._quotes(article, value, where)
            elif kind == IN_QUOTE:
                if article.stem in self.texts and (not isinstance(value, str) or not any(value in q.exact for q in quotes)):
                    self.out.add(where, f"{section} {fact}: {key} \"{value}\" is not inside the item's quote")
                report.claims[key] = str(value)
            else:
                if not isinstance(value, str) or not value.strip():
                    self.out.add(where, f"{section} {fact}: {key} must be non-empty text")
                report.claims[key] = str(value)
        self.reports.append(report)
        self.reported.add((article.stem, fact))

    def _quotes(self, article: Article, spec: Any, at: Location) -> list[Quote]:
        specs = spec if isinstance(spec, list) else [spec]
        quotes = []
        if article.stem not in self.texts:  # the article's text is unreadable: said once, for its file
            return quotes
        for n, one in enumerate(specs):
            try:
                quotes.append(find_quote(self.texts[article.stem], one))
            except ValueError as e:  # a list's item has a line of its own
                where = replace(at, line=spec.line_of(n)) if isinstance(spec, LineList) else at
                self.out.add(where, f"{e} (in {article.text_path.name})")
        return quotes

    def _iso_date(self, value: Any, at: Location, what: str) -> date | None:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.out.add(at, f"{what}: {value!r} is not a real date in YYYY-MM-DD form")
            return None

    # -- whole-corpus checks ---------------------------------------------------------------
    def _check_references(self) -> None:
        for where, what, value, ref in self.pending_refs:
            values = value if isinstance(value, list) else [value]
            if ref.many and not isinstance(value, list):
                self.out.add(where, f"{what}: expected a list of ids")
            if not (ref.many or ref.one_or_many) and isinstance(value, list):
                self.out.add(where, f"{what}: expected one id, not a list")
            for n, target in enumerate(values):
                at = replace(where, line=value.line_of(n)) if isinstance(value, LineList) else where
                definition = self.definitions.get(target) if isinstance(target, str) else None
                if definition is None:
                    if not self.unread:  # else it may well be defined in a file that was not read
                        self.out.add(at, f"{what}: unknown id {target!r}")
                elif definition.section not in ref.sections:
                    wanted = " or ".join(_a(s.rstrip("s")) for s in ref.sections)
                    self.out.add(at, f"{what}: {target} is {_a(definition.section.rstrip('s'))}, not {wanted}")
                elif ref.types and definition.type not in ref.types:
                    self.out.add(at, f"{what}: {target} is {_a(definition.type)}, not {' or '.join(map(_a, ref.types))}")

    def _check_aliases(self) -> None:
        for fact, aliases in self.aliases.items():
            definition = self.definitions.get(fact)
            if definition is None:
                continue  # reported as an unknown id
            for alias, _ in aliases:
                if alias not in definition.aliases:
                    definition.aliases.append(alias)
        for report in self.reports:
            definition = self.definitions.get(report.fact)
            if definition is None:
                if not self.unread:
                    self.out.add(report.location, f"{report.section}: unknown id {report.fact!r} (define it here "
                                 "with its definition keys, or in registry.yaml)")
                continue
            if definition.section != report.section:
                self.out.add(report.location, f"{report.fact} is {_a(definition.section.rstrip('s'))}, "
                             f"reported under {report.section}")
                continue
            if report.section == "actors":
                names = {n.casefold() for n in [definition.label, *definition.aliases]}
                for quote in report.quotes:
                    if quote.exact.casefold() not in names:
                        self.out.add(report.location, f"actors {report.fact}: the quote \"{quote.exact}\" is not "
                                     "its label or an alias; add it to aliases")

    def _resolve_dates(self) -> None:
        for report in self.reports:
            article = self.articles[report.article]
            definition = self.definitions.get(report.fact)
            place = self.definitions.get(definition.fields.get("place", "")) if definition else None
            place_zone = place.fields.get("timezone") if place else None
            for key, (spec, where) in report.raw_dates.items():
                resolved = self._resolve_one(spec, where, report, article, place_zone, key)
                if resolved is not None:
                    report.dates[key] = resolved

    def _resolve_one(self, spec: Any, where: Location, report: Report, article: Article,
                     place_zone: str | None, key: str) -> ResolvedDate | None:
        what = f"{report.section} {report.fact}: {key}"
        if isinstance(spec, str):
            spec = {"expr": spec}
        if (not isinstance(spec, dict) or not isinstance(spec.get("expr", ""), str)
                or ("expr" not in spec and "value" not in spec)):
            self.out.add(where, f"{what}: a date is the printed expression, or a mapping with expr or value")
            return None
        unknown = set(spec) - DATE_KEYS
        if unknown:
            self.out.add(where, f"{what}: unknown date key(s) {', '.join(sorted(map(str, unknown)))}")
            return None
        if "evidence" in spec:
            report.date_evidence += self._quotes(article, spec["evidence"], where)
        words = [*report.quotes, *report.attribution, *report.date_evidence]
        if article.stem in self.texts and "expr" in spec and not any(spec["expr"] in q.exact for q in words):
            place = "the item's quote or attribution" if report.section == "statements" else "the item's quote"
            self.out.add(where, f"{what}: the expression \"{spec['expr']}\" is not inside {place} "
                                "(or give the words that date it as the date's evidence)")
        tz = str(spec.get("tz", article.timezone))
        if "value" in spec:
            return self._given_date(spec, where, what, tz)
        anchor = article.published
        if "anchor" in spec:
            anchor = self._iso_date(spec["anchor"], where, f"{what}: anchor")
        if anchor is None:
            return None
        try:
            return resolve_date(spec["expr"], anchor, tz, spec.get("in_tz") or place_zone, str(spec.get("tense", "past")),
                                bool(spec.get("invert", False)), zone_given="tz" in spec or "in_tz" in spec)
        except ValueError as e:
            self.out.add(where, f"{what}: {e}")
            return None

    def _given_date(self, spec: dict, where: Location, what: str, tz: str) -> ResolvedDate | None:
        """A date given by hand: value, precision and basis (and the words it stands for, if any)."""
        misplaced = [k for k in EXPRESSION_ONLY if k in spec]
        if misplaced:
            self.out.add(where, f"{what}: {', '.join(misplaced)} belong to a date read from expr, not one given by value")
            return None
        value = self._iso_date(spec["value"], where, f"{what}: value")
        if value is None:
            return None
        try:
            return given_date(value, str(spec.get("precision", "day")), str(spec.get("basis") or ""), tz, spec.get("expr"))
        except ValueError as e:
            self.out.add(where, f"{what}: {e}")
            return None


def _file_of(where: Location, seeds: Path) -> str:
    return "registry" if where.path == seeds / REGISTRY else where.path.stem


def _definition_content(definition: Definition) -> tuple:
    """A definition as other files see it (not where it is written)."""
    return definition.section, definition.type, definition.fields, definition.graph, definition.aliases


def reload_article(project: Path, previous: CorpusIndex, stem: str) -> Corpus | None:
    """The corpus of one edited, added or deleted article alone, checked against the rest of the
    corpus as `previous` has it; None if a full load is needed."""
    return _Loader(Path(project) / "seeds").reload(previous, stem)


def load_corpus(project: Path) -> Corpus:
    """Load and check every annotation of the project at `project` (its `seeds/` directory).

    Raises AnnotationError listing every problem found, one per line, each with file and line.
    """
    return _Loader(Path(project) / "seeds").load()


def index_of_others(project: Path, stem: str = "") -> CorpusIndex:
    """What every annotation file but `stem`'s ("registry" or an article stem) gives the others,
    read without checking them against each other: what `tradekb check` checks one file against
    (kb.authoring.check), whether or not the rest of the corpus loads."""
    loader = _Loader(Path(project) / "seeds")
    registry = loader.seeds / REGISTRY
    if registry.exists() and stem != "registry":
        loader._load_file(registry, None)
    for text in sorted(loader.seeds.glob("*.txt")):
        annotations = text.with_suffix(".yaml")
        if text.stem != stem and annotations.exists():
            loader._load_file(annotations, text)
    loader._check_aliases()  # merges every file's names into the definitions
    return CorpusIndex(loader._index(["registry", *loader.articles]))


def check_article(project: Path, others: CorpusIndex, stem: str) -> tuple[list[Problem], FileIndex]:
    """Every problem a full load would find in one article's annotations, checked against the
    other files as `others` has them, and what the file gives the others."""
    loader, before = _Loader(Path(project) / "seeds"), others.file(stem).defines
    loader.definitions.update({k: v for k, v in others.definitions.items() if k not in before})
    loader._load_file(loader.seeds / f"{stem}.yaml", loader.seeds / f"{stem}.txt")
    loader._check_references()
    loader._check_aliases()
    loader._resolve_dates()
    return loader.out.problems, loader._index([stem])[stem]
