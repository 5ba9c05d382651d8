"""Progress shows on a terminal and stays out of pipes and CI logs: the real CLI, in a real pseudo-terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

STAGES = ("loading the annotations: ", "building the graph: ", "validating (")


def run_validate(project, *, terminal: bool, ci: bool) -> str:
    """What `tradekb validate` writes to stderr, with stderr a pseudo-terminal or a pipe."""
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": "true"} if ci else {})
    command = [sys.executable, "-m", "kb.cli", "-C", str(project), "validate"]
    if not terminal:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stderr
    controller, terminal_end = pty.openpty()
    with subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=terminal_end) as process:
        os.close(terminal_end)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=120) == 0
    os.close(controller)
    return b"".join(chunks).decode()


def test_a_terminal_sees_each_stage_with_its_time(mini_project):
    shown = run_validate(mini_project, terminal=True, ci=False)
    for label in STAGES:
        assert label in shown, shown
    assert " s\r\n" in shown  # each finished stage ends in its time in seconds


def test_a_pipe_sees_no_progress(mini_project):
    logged = run_validate(mini_project, terminal=False, ci=False)
    assert "conforms" in logged
    assert not any(label in logged for label in STAGES), logged


def test_ci_sees_no_progress_even_on_a_terminal(mini_project):
    shown = run_validate(mini_project, terminal=True, ci=True)
    assert "conforms" in shown
    assert not any(label in shown for label in STAGES), shown
