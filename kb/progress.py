"""Progress on a terminal: a long stage says what it is doing, then how long it took.

At a million triples a build takes half a minute; a person at a terminal should see where it is.
When stderr is not a terminal (piped, redirected, under CI) nothing is shown, so logs, scripts
and tests see only the results.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Iterator, TextIO


def shown(stream: TextIO) -> bool:
    """Whether progress goes to `stream`: a terminal, outside CI."""
    return stream.isatty() and not os.environ.get("CI")


@contextmanager
def stage(label: str, stream: TextIO | None = None) -> Iterator[None]:
    """Show `label` while the block runs, then `label: N.N s` (or `label: failed`) on its own line."""
    stream = stream or sys.stderr
    if not shown(stream):
        yield
        return
    stream.write(f"\r\x1b[K{label} ...")
    stream.flush()
    started = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = f"{time.perf_counter() - started:.1f} s"
    finally:
        stream.write(f"\r\x1b[K{label}: {outcome}\n")
        stream.flush()
