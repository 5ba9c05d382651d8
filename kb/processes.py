"""Child processes that end with tradekb: a `kill -9` of tradekb must not leave HermiT's Java or an
Oxigraph server running on its own; nor the temporary directories it worked in, for good.

Linux's PR_SET_DEATHSIG has the kernel send the child SIGKILL when the thread that started it
ends, however it ends. Elsewhere nothing is set (the child may then outlive a killed tradekb).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

_PR_SET_DEATHSIG = 1
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True) if sys.platform == "linux" else None


def die_with_parent() -> None:
    """A `preexec_fn` for subprocess.Popen: the child is killed when its parent thread ends.

    Runs in the child between fork and exec, so it only calls into libc (loaded beforehand). A
    parent that died before the call leaves the child with another parent: it then exits at once.
    Note the signal follows the *thread* that started the child: start it from a thread that lives
    as long as the child should (the main thread, or a worker that waits for it).
    """
    if _libc is None:
        return
    parent = os.getppid()
    _libc.prctl(_PR_SET_DEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def started(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot), or None if it is gone (a zombie
    counts as gone: it has ended, and a parent that is not waiting may leave it unreaped).

    With the pid it names one process for good, where a pid alone is reused. Without /proc (not
    Linux) it is "" for any process that exists.
    """
    if _libc is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:  # it exists, as another user's
            pass
        return ""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()  # the name before ")" may hold spaces
    except OSError:
        return None
    return None if fields[0] == b"Z" else fields[19].decode()  # fields 3 (state) and 22 (starttime)


def owner_tag() -> str:
    """`PID.START` of this process, for the names of files it alone uses (see `owner_gone`).

    >>> owner_gone(owner_tag())
    False
    """
    return f"{os.getpid()}.{started(os.getpid())}"


def owner_gone(tag: str) -> bool:
    """Has the process an `owner_tag` names ended? Then what it left behind is nobody's."""
    pid, _, start = tag.partition(".")
    return not pid.isdigit() or started(int(pid)) != start


@contextmanager
def scratch_directory(prefix: str, say: Callable[[str], None] = lambda _: None) -> Iterator[Path]:
    """A temporary directory named `prefix` + this process's owner tag, removed on the way out;
    and first, the ones of processes that are gone, which a `kill -9` gave no chance to remove
    their own (only this user's, and only those named so).

    >>> with scratch_directory("tradekb-doctest-") as scratch:
    ...     scratch.name.startswith(f"tradekb-doctest-{owner_tag()}-")
    True
    """
    named = re.compile(rf"{re.escape(prefix)}(\d+\.\d*)-")
    removed = 0
    for entry in Path(tempfile.gettempdir()).glob(prefix + "*"):
        tag = named.match(entry.name)
        try:
            mine = entry.is_dir() and not entry.is_symlink() and entry.stat().st_uid == os.getuid()
        except OSError:  # removed meanwhile
            continue
        if tag and mine and owner_gone(tag[1]):
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    if removed:
        say(f"removed the temporary directories of {removed} tradekb process(es) that had been killed")
    with tempfile.TemporaryDirectory(prefix=f"{prefix}{owner_tag()}-") as scratch:
        yield Path(scratch)
