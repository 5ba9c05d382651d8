"""The index of a corpus's annotation files (kb.annotations.CorpusIndex), kept on disk between
commands: `tradekb check` checks one file against the others in well under a second at a million
triples, where reading them all takes four.

The index of every file but the one last checked is kept under .build/authoring/, with a
fingerprint of what it was read from (each other seeds file's name, size and modification time,
and tradekb's modules'); while that holds, it is read back instead of the files. An edit of the file being checked leaves
it valid, which is the loop of an annotator: edit, check, edit.
"""

from __future__ import annotations

import gc
import os
import pickle
from pathlib import Path

from kb import annotations

# Under kb.outputs.WORK (a test holds them equal): importing kb.outputs, kb.export or kb.rebuild
# brings in rdflib and Oxigraph, 0.3 s of CPU that a check, which needs neither, would pay each time.
CACHE = Path(".build") / "authoring"


def _fingerprint(project: Path, stem: str) -> tuple:
    mine = {f"{stem}.yaml", f"{stem}.txt"} if stem != "registry" else {annotations.REGISTRY}
    with os.scandir(Path(project) / "seeds") as entries:
        files = sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in entries if e.name not in mine)
    return _stats(Path(annotations.__file__).parent), tuple(files)


def _stats(code: Path) -> tuple:
    """Each module of tradekb's by name, size and modification time: the loader reads with
    kb.dates, kb.yamlfile and kb.inputfiles too, so a change to any of them makes a new index."""
    with os.scandir(code) as entries:
        return tuple(sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in entries if e.name.endswith(".py")))


def index_of_others(project: Path, stem: str = "") -> annotations.CorpusIndex:
    """What every annotation file but `stem`'s gives the others (every file's, for ""), from the
    kept copy while the files are as they were, else read and kept."""
    # One kept index for the file last checked, one for the whole corpus (ids, new): ten megabytes
    # each at a million triples, so not one for every file ever checked.
    path = Path(project) / CACHE / ("others.pickle" if stem else "corpus.pickle")
    fingerprint = (stem, _fingerprint(project, stem))
    collecting = gc.isenabled()
    gc.disable()  # many objects, no garbage: the collector's passes cost more than the reading (as kb.rebuild)
    try:
        kept_fingerprint, index = pickle.loads(path.read_bytes())
        if kept_fingerprint == fingerprint:
            return index
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        pass
    finally:
        if collecting:
            gc.enable()
    index = annotations.index_of_others(project, stem)
    from kb.export import write_atomically
    try:
        write_atomically(path, pickle.dumps((fingerprint, index), protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass  # a read-only project is checked all the same, only not faster next time
    return index
