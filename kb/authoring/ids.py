"""`tradekb ids [TEXT]`: every defined id, so that an annotator finds the id of a thing without
reading the registry and the other files: its type, label, where it is defined, how many articles
report it, and its aliases (kb.annotations.CorpusIndex.ids). TEXT keeps the ids whose id, label
or alias contains it (any case). An id defined where the rule of docs/annotations.md does not put
it is marked with the file it belongs in.
"""

from __future__ import annotations

from pathlib import Path

from kb.annotations import IdEntry, REGISTRY
from kb.authoring.index import index_of_others

LABEL_WIDTH = 60  # a longer label is cut, so that a row fits a wide terminal


def defined_ids(project: Path, text: str = "") -> list[IdEntry]:
    """The corpus's ids, in id order, those matching `text` only."""
    wanted = text.casefold()
    return [entry for entry in index_of_others(project).ids()
            if not wanted or any(wanted in name.casefold() for name in (entry.id, entry.label, *entry.aliases))]


def _where(entry: IdEntry, project: Path) -> str:
    where = entry.defined_at
    try:
        where = type(where)(where.path.relative_to(project), where.line)
    except ValueError:
        pass
    if entry.home != entry.defined_in:
        home = REGISTRY if entry.home == "registry" else f"{entry.home}.yaml"
        return f"{where} (belongs in {home})"
    return str(where)


def table(entries: list[IdEntry], project: Path) -> str:
    """A readable table: one row an id, columns aligned, aliases last (they run long)."""
    header = ("id", "type", "label", "defined at", "reports", "aliases")
    rows = [header] + [(e.id, e.type, e.label if len(e.label) <= LABEL_WIDTH else e.label[:LABEL_WIDTH - 1] + "…",
                        _where(e, project), str(len(e.reported_by)), "; ".join(e.aliases)) for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return "\n".join("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[-1]]).rstrip() for row in rows) + "\n"
