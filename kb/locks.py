"""Locks between tradekb processes, that a `kill -9` cannot leave behind.

A lock is flock(2) on a file: the kernel drops it when the process that holds it ends, however it
ends, so no later run ever finds a stale lock to be removed by hand. The holder writes its pid
into the file, so that a process that has to wait can say for whom.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(path: Path, holder: str, say: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock at `path` for the block; if another process holds it, say so in one line
    (`holder` says who that is) and wait for it, as Cargo does for its build directory.

    >>> import tempfile
    >>> with exclusive(Path(tempfile.mkdtemp()) / "lock", "another build", print):
    ...     "held"
    'held'
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            say(f"waiting for {holder}{f' (pid {pid})' if pid else ''} to finish: {path} is locked")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def exclusive_or_none(path: Path) -> Iterator[bool]:
    """Hold the lock at `path` for the block if nobody does (True), else go on without it (False):
    for work that may be skipped, such as recording a verdict that the next command can redo."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError:  # a read-only store: nothing will be recorded anyway
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            held = False
        yield held
    finally:
        os.close(fd)


@contextmanager
def locked_directory(directory: Path, wait: bool = True) -> Iterator[None]:
    """An exclusive flock on `directory` itself, which leaves no lock file behind; BlockingIOError
    at once if another process holds it and not `wait`. For a directory that is the thing guarded:
    a served store, a data directory about to be removed, the turn to pick a port."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        yield
    finally:
        os.close(fd)
