"""`tradekb site -o DIR`: the whole website as files, for a newsroom to publish anywhere.

The site is written into a new directory beside DIR and then put in DIR's place in one step
(kb.export.replace_file: an exchange of the two directories on Linux), as a build's outputs are
published (kb.outputs): a reader of DIR, or a web server serving it, sees the old site or the new,
never half of one; a failed or killed run leaves DIR as it was. The old site, and whatever a
killed run left, are removed by the next run, beside its own work (as kb.outputs removes old
generations). Runs for one DIR take turns (kb.locks.exclusive on `.DIR.lock` beside it). A DIR
that holds something other than a site written here (no SITE_MARK) is refused.

Everything a page needs is read from the store in one pass (kb.site.model.IndexedSource) and a
few whole-knowledge-base queries (kb.site.pages), never one query per page. At a million triples
(bench/generate.py) the site is about 34,000 files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox

from kb import progress
from kb.errors import TradeKBError, writing_to
from kb.export import replace_file
from kb.locks import exclusive
from kb.site.model import ID, IndexedSource, StoreSource
from kb.site.pages import Pages, static_files

SITE_MARK = ".tradekb-site"  # in every site written here: what may be replaced
_PARTIAL = ".site-partial-"  # the prefix of a site being written, beside DIR


def write_site(store: ox.Store, target: Path, project: Path, say: Callable[[str], None] = lambda _: None) -> int:
    """Write the site of the knowledge base in `store` to `target`, atomically; the number of files."""
    target = Path(target)
    if target.exists() and not (target / SITE_MARK).exists() and (not target.is_dir() or any(target.iterdir())):
        raise TradeKBError(f"{target}: not a site tradekb wrote (no {SITE_MARK} in it); give a new or empty directory")
    parent = target.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    with exclusive(parent / f".{target.name}.lock", f"another tradekb site writing {target}", say), \
            ThreadPoolExecutor(max_workers=1) as remover:
        # What a killed run left, and the site the last run replaced, are removed beside this run:
        # at a million triples a site is tens of thousands of files, and unlinking each took 1-2 ms.
        for left in parent.glob(f"{_PARTIAL}{target.name}-*"):
            remover.submit(shutil.rmtree, left, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=f"{_PARTIAL}{target.name}-", dir=parent))
        try:
            count = _write_files(store, work, project, say)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(work, 0o777 & ~umask)  # mkdtemp makes 0700: a web server must read it
            replace_file(work, target)  # the old site, if any, is now at `work`: the next run removes it
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return count


def _write_files(store: ox.Store, root: Path, project: Path, say: Callable[[str], None]) -> int:
    """The pages made from whole-knowledge-base queries first (their answers are then let go), then
    every thing's files from one pass over the store: the two never hold memory at once."""
    count = 0

    def put(path: str, data: bytes) -> None:
        nonlocal count
        file = root / path
        with writing_to(file):
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(data)
        count += 1

    (root / SITE_MARK).write_text("a website written by tradekb site; tradekb site -o replaces it whole\n")
    for path, file in static_files():
        put(path, file.read_bytes())
    with progress.stage("writing the site: the pages made from whole queries"):
        for path, rendered in Pages(store, StoreSource(store), project).site_pages(say):
            put(path, rendered.body)
    with progress.stage("writing the site: a page and three RDF files per thing"):
        source = IndexedSource(store)
        pages = Pages(store, source, project)
        for iri in source.things():
            for suffix, rendered in pages.thing_files(iri).items():
                put(f"id/{iri[len(ID):]}.{suffix}", rendered.body)
    say(f"wrote the site: {count} files")
    return count

