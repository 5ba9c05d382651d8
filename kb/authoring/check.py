"""`tradekb check [FILE]`: the loader's own checks, with what a person needs to fix each problem.

One article's file is checked against an index of the other files (kb.authoring.index), so that
the edit-check loop stays under half a second at a million triples; the registry, or no FILE,
is a full load. Each problem keeps its one line, with a hint added: the closest known ids for an
unknown one (by id, its parts, label or alias), the closest key or closed value (difflib), and for
a quote not found, the closest passage of the article with the words that differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from difflib import SequenceMatcher, get_close_matches
from pathlib import Path

from kb import annotations
from kb.annotations import AnnotationError, Definition, Location, Problem
from kb.authoring.index import index_of_others
from kb.inputfiles import ANNOTATION_LIMIT, ARTICLE_LIMIT, InputFileError, ProjectFiles, line_column

SEARCHED_ABOVE = 200_000  # code points of an article above which no closest passage is looked for
UNKNOWN_ID = re.compile(r"unknown id '([^']*)'")
UNKNOWN_KEY = re.compile(r"unknown (?:key|section) '([^']*)'; (?:keys|sections) are (.*)$")
CLOSED_VALUE = re.compile(r"must be one of (.*), not '([^']*)'$")
QUOTE_NOT_FOUND = re.compile(r'quote not found in the article: "(.*)"(?: \(it is there[^)]*\))? \(in ([^()]+)\)$')


@dataclass
class CheckResult:
    """What `check` found: problems (each with its hint) and advice that does not stop a build."""

    checked: str
    problems: list[Problem]
    advice: list[str]


def stem_of(project: Path, file: Path) -> str:
    """The stem a FILE argument names: seeds/X.yaml, X.txt, X, or the registry."""
    name = Path(file).name
    stem = "registry" if name == annotations.REGISTRY else name.removesuffix(".yaml").removesuffix(".txt")
    seeds = Path(project) / "seeds"
    if stem != "registry" and not (seeds / f"{stem}.yaml").exists():
        raise AnnotationError(f"{file}: no annotation file seeds/{stem}.yaml in {project}")
    return stem


def check(project: Path, file: Path | None = None) -> CheckResult:
    """Check one file against the rest (all of them if `file` is None or the registry)."""
    stem = stem_of(project, file) if file is not None else "registry"
    if stem == "registry":
        try:
            annotations.load_corpus(project)
            problems = []
        except AnnotationError as error:
            problems = error.problems
        index = index_of_others(project)
        problems += _reported_by_none(index)
        checked, advice = "the whole corpus", _misplaced(index)
    else:
        index = index_of_others(project, stem)
        problems, mine = annotations.check_article(project, index, stem)
        checked = f"seeds/{stem}.yaml against {len(index.articles)} other article(s) and the registry"
        advice = _misplaced(index.replaced(stem, mine), set(mine.defines) | mine.uses)
    hints = Hints(project, index.definitions)
    problems = [replace(p, message=p.message + hints.hint(p.message)) for p in problems]
    return CheckResult(checked, problems + _todos(project, stem), advice)


def _todos(project: Path, stem: str) -> list[Problem]:
    """Each line that still says TODO (a scaffold's guess not yet confirmed), in the article's
    file, or in every file for the whole corpus."""
    seeds, files, problems = Path(project) / "seeds", ProjectFiles(project), []
    for path in sorted(seeds.glob("*.yaml")) if stem == "registry" else [seeds / f"{stem}.yaml"]:
        try:
            text = files.read_text(path, ANNOTATION_LIMIT)
        except InputFileError:
            continue  # the loader has said why
        problems += [Problem(Location(path, n), f"TODO left: {line.strip()}")
                     for n, line in enumerate(text.splitlines(), 1) if "TODO" in line]
    return problems


def _reported_by_none(index: annotations.CorpusIndex) -> list[Problem]:
    """A registry definition no article reports: the SHACL shapes refuse it at build time (every
    fact is reported by some article), so say it here, where it is cheap."""
    return [Problem(entry.defined_at, f"{entry.id} is reported by no article: report it (with a quote) in an "
                    "article, or remove it") for entry in index.ids()
            if entry.defined_in == "registry" and entry.section != "topics" and not entry.reported_by]


def _misplaced(index: annotations.CorpusIndex, facts: set[str] | None = None) -> list[str]:
    """Where an id is defined against where the rule of docs/annotations.md puts it (the registry
    when two or more files name it, else the one article that does): of the ids `facts`, or all."""
    advice = []
    for fact in sorted(index.definitions if facts is None else facts & set(index.definitions)):
        definition, home = index.definitions[fact], index.home_of(fact)
        if home == definition.graph:
            continue
        where = replace(definition.location, line=index.lines.get(fact, 0))
        if home == "registry":
            named = sorted(index.users.get(fact, set()) | {definition.graph})
            advice.append(f"{where}: {fact} is named by {len(named)} files ({', '.join(named[:4])}"
                          f"{', …' if len(named) > 4 else ''}): define it in {annotations.REGISTRY}")
        else:
            advice.append(f"{where}: {fact} is named by {home} alone: define it in {home}.yaml")
    return advice


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


class Hints:
    """The hint for one problem's message; the names are gathered only if an id is unknown."""

    def __init__(self, project: Path, definitions: dict[str, Definition]) -> None:
        self.project, self.definitions = project, definitions
        self._names: dict[str, set[str]] | None = None

    def hint(self, message: str) -> str:
        if m := UNKNOWN_ID.search(message):
            return _did_you_mean(self.closest_ids(m[1], _sections_wanted(message)))
        if m := UNKNOWN_KEY.search(message):
            return _did_you_mean(get_close_matches(m[1], m[2].split(", "), n=2, cutoff=0.6))
        if m := CLOSED_VALUE.search(message):
            return _did_you_mean(get_close_matches(m[2], m[1].split(", "), n=2, cutoff=0.5))
        if m := QUOTE_NOT_FOUND.search(message):
            return self.closest_passage(m[1], m[2])
        return ""

    def closest_ids(self, unknown: str, sections: tuple[str, ...] = ()) -> list[str]:
        """Ids (of `sections`, if given) whose id, one of its words, label or alias is close to
        `unknown` ('seko' finds 'hiroshige-seko'), the best first."""
        if self._names is None:
            self._names = {}
            for fact, definition in self.definitions.items():
                for name in {fact, *fact.split("-"), _slug(definition.fields.get("label", "")),
                             *map(_slug, definition.aliases)}:
                    self._names.setdefault(name, set()).add(fact)
        found: list[str] = []
        for name in get_close_matches(_slug(unknown), self._names, n=10, cutoff=0.75):
            found += sorted(fact for fact in self._names[name] - set(found)
                            if not sections or self.definitions[fact].section in sections)
        return found[:3]

    def closest_passage(self, quote: str, article_name: str) -> str:
        """The article's words closest to `quote`, with the words that differ."""
        try:
            text = ProjectFiles(self.project).read_text(Path(self.project) / "seeds" / article_name, ARTICLE_LIMIT)
        except InputFileError:
            return ""
        if len(text) > SEARCHED_ABOVE:
            return ""
        found = closest_passage(text, quote)
        if found is None:
            return ""
        start, passage = found
        line, _ = line_column(text, start)
        return f"; closest, at line {line}: \"{passage}\" ({word_difference(quote, passage)})"


def _sections_wanted(message: str) -> tuple[str, ...]:
    """The sections an unknown id should be in, from where the loader says it was used:
    "meetings m: participants: unknown id …" (a key's Ref) or "actors: unknown id …" (a report)."""
    words = message.split(": ")
    section, key = words[0].split(" ")[0], words[1] if len(words) > 2 else None
    if section == "article":
        ref = annotations.ARTICLE_KEYS.get(key)
    elif section in annotations.SECTIONS:
        spec = annotations.SECTIONS[section]
        ref = (spec["D"].get(key) or spec["R"].get(key)) if key else None
    else:
        return ()
    return ref.sections if isinstance(ref, annotations.Ref) else (section,)


def _did_you_mean(names: list[str]) -> str:
    return f"; did you mean {' or '.join(repr(n) for n in names)}?" if names else ""


def closest_passage(text: str, quote: str) -> tuple[int, str] | None:
    """(start, words) of the passage of `text` most like `quote`, or None if nothing is alike.

    >>> closest_passage("Kim told reporters on Friday that talks went well.", "Kim said to reporters on Friday")
    (0, 'Kim told reporters on Friday')
    """
    match = SequenceMatcher(None, text, quote, autojunk=False).find_longest_match(0, len(text), 0, len(quote))
    if match.size < min(8, len(quote) // 2):
        return None
    slack = max(8, len(quote) // 4)

    def alike(start: int, end: int) -> float:
        return SequenceMatcher(None, text[start:end], quote, autojunk=False).ratio()

    guess = max(0, match.a - match.b)
    start = max(range(max(0, guess - slack), min(match.a, guess + slack) + 1),
                key=lambda s: (alike(s, s + len(quote)), -abs(s - guess)))
    end = max(range(max(match.a + match.size, start + len(quote) - slack), min(len(text), start + len(quote) + slack) + 1),
              key=lambda e: (alike(start, e), -abs(e - start - len(quote))))
    return start, text[start:end]


def word_difference(quote: str, passage: str) -> str:
    """The words `passage` has where `quote` differs, in a few words.

    >>> word_difference("Kim said to reporters", "Kim told reporters")
    "the article has 'told' for 'said to'"
    """
    ours, theirs = quote.split(), passage.split()
    changes = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, ours, theirs, autojunk=False).get_opcodes():
        if op == "replace":
            changes.append(f"'{' '.join(theirs[j1:j2])}' for '{' '.join(ours[i1:i2])}'")
        elif op == "delete":
            changes.append(f"no '{' '.join(ours[i1:i2])}'")
        elif op == "insert":
            changes.append(f"'{' '.join(theirs[j1:j2])}' added")
    return "the article has " + "; ".join(changes) if changes else "differs in spacing or punctuation"
