"""kb.processes: a child started with die_with_parent ends when its parent is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

PARENT = textwrap.dedent("""
    import subprocess, sys, time
    from kb.processes import die_with_parent
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             preexec_fn=die_with_parent if sys.argv[1] == "yes" else None)
    print(child.pid, flush=True)
    time.sleep(60)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for its new parent counts as gone
        return stat.read().split(") ")[1][0] != "Z"


def _child_after_parent_killed(die: str, wait: float) -> int:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, die], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + wait
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    return child


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_DEATHSIG is Linux's")
def test_a_child_dies_with_its_killed_parent():
    assert not _alive(_child_after_parent_killed("yes", wait=5))


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_DEATHSIG is Linux's")
def test_without_it_the_child_outlives_the_parent():
    """The control: the test above can fail."""
    child = _child_after_parent_killed("no", wait=0.5)
    try:
        assert _alive(child)
    finally:
        os.kill(child, signal.SIGKILL)
