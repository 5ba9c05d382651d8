"""`tradekb ids [TEXT]`: every defined id, so that an annotator finds the id of a thing without
reading the registry and the other files: its type, label, aliases, where it is defined, and how
many articles' reports name it. TEXT keeps the ids whose id, label or alias contains it (any case).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from kb.authoring.index import index_of_others


@dataclass(frozen=True)
class IdEntry:
    id: str
    type: str
    label: str
    aliases: tuple[str, ...]
    defined_at: str
    reports: int


def defined_ids(project: Path, text: str = "") -> list[IdEntry]:
    """The corpus's ids, sorted, those matching `text` only."""
    index = index_of_others(project)
    reports = Counter(report.fact for name in index.load_order("registry") for report in index.file(name).reports)
    wanted = text.casefold()
    entries = []
    for fact, definition in sorted(index.definitions.items()):
        label = definition.fields.get("label", "")
        if wanted and not any(wanted in name.casefold() for name in (fact, label, *definition.aliases)):
            continue
        where = definition.location
        try:
            where = where.__class__(where.path.relative_to(Path(project).resolve()), where.line)
        except ValueError:
            pass
        entries.append(IdEntry(fact, definition.type, label, tuple(definition.aliases), str(where), reports[fact]))
    return entries


def table(entries: list[IdEntry]) -> str:
    """A readable table: one row an id, columns aligned, aliases last (they run long)."""
    header = ("id", "type", "label", "defined at", "reports", "aliases")
    rows = [header] + [(e.id, e.type, e.label, e.defined_at, str(e.reports), "; ".join(e.aliases)) for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return "\n".join("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[-1]]).rstrip() for row in rows) + "\n"
