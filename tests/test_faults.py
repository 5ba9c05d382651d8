"""Faults, tried on real processes: `kill -9` of `tradekb build` at many points, a full disk, a
read-only project, a permission denied, two builds at once.

After every kill: the outputs are the old set or the new one, whole (read through one resolution
of `build`); HermiT's Java has died with its parent; the store answers a query; the next plain
`tradekb build` succeeds, with no manual step, and leaves nothing behind (temporary files, scratch
directories, generations, store data, HermiT's temporary directory). The kills land at evenly
spaced offsets over a measured build, at each stage boundary its progress output shows, and, under
strace, just before and just after each rename (the publishing of the outputs and the store's
commit among them). The mini project keeps each build at a few seconds.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest

from conftest import make_mini_project

REPO = Path(__file__).resolve().parent.parent
TRADEKB = str(Path(sys.executable).parent / "tradekb")
ARTICLE = "a01_mini.yaml"
EDIT = ("  - id: park-bennett-talks\n    status: held", "  - id: park-bennett-talks\n    status: planned")
STAGE_START = re.compile(r"\r\x1b\[K([^\r\n]+?) \.\.\.")
STAGE_END = re.compile(r"\r\x1b\[K([^\r\n]+?): \d+\.\d s\r?\n")
EXIT_FILE_SYSTEM = 5


@dataclass(frozen=True)
class Mode:
    """A build to kill: its arguments, and the build that made the outputs it replaces (if any)."""

    args: tuple[str, ...]
    before: tuple[str, ...] | None

    @property
    def store(self) -> bool:
        return "--store" in self.args


MODES = {
    "build": Mode(("build",), ("build", "--no-reason")),
    "first build --store": Mode(("build", "--store", "oxigraph"), None),
    "rebuild --store": Mode(("build", "--store", "oxigraph"), ("build", "--store", "oxigraph", "--no-reason")),
}


def tradekb(project: Path, *args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run([TRADEKB, "-C", str(project), *args], capture_output=True, text=True,
                          env=dict(os.environ, CI="1"), timeout=300, **options)


def outputs(project: Path) -> dict[str, bytes]:
    """Every output file, read through one resolution of `build` (as a careful reader does)."""
    link = project / "build"
    if not link.exists():
        return {}
    root = link.resolve()
    return {str(Path(folder, name).relative_to(root)): Path(folder, name).read_bytes()
            for folder, _, names in os.walk(root) for name in names if not Path(folder, name).is_symlink()}


def assert_parseable(files: dict[str, bytes]) -> None:
    for name, data in files.items():
        if name.endswith(".jsonld"):
            json.loads(data)
        elif name.endswith((".nq", ".trig", ".ttl")):
            ox.parse(data, format=ox.RdfFormat.from_extension(name.rsplit(".", 1)[1]))
        else:
            assert data.decode("utf-8").startswith(tuple("abcdefghijklmnopqrstuvwxyz")), name


def java_of(pid: int) -> list[int]:
    """HermiT's Java processes started by tradekb process `pid` (its input is in a directory named after it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"java" in command and f"tradekb-reason-{pid}.".encode() in command:
                found.append(int(entry.name))
    return found


def reasoning_scratch(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"tradekb-reason-{pid}.*"))


@dataclass
class Scenario:
    """A project ready to be built (`template`), the outputs before and after that build, and the
    progress of one such build: what it shows on a terminal at each stage boundary, and its duration."""

    mode: Mode
    template: Path
    old: dict[str, bytes]
    new: dict[str, bytes]
    boundaries: list[str]
    seconds: float


def copy(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, symlinks=True)  # copy2 keeps the exports' times: a rebuild trusts them
    return target


@contextmanager
def started(project: Path, args: tuple[str, ...], wrap: tuple[str, ...] = ()) -> Iterator[tuple[subprocess.Popen, "Progress"]]:
    """tradekb running on the project, its stderr on a terminal (so that it shows its progress)."""
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    process = subprocess.Popen([*wrap, TRADEKB, "-C", str(project), *args], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    try:
        yield process, Progress(master)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        os.close(master)


class Progress:
    """What a process wrote to its terminal, read as it comes."""

    def __init__(self, fd: int) -> None:
        self.fd, self.text, self.started = fd, "", time.monotonic()

    def read(self, timeout: float) -> bool:
        """Read what is there within `timeout` seconds; False at the end of the output."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # the other end is closed
            return False
        self.text += chunk.decode("utf-8", "replace")
        return bool(chunk)

    def until(self, marker: str | None, seconds: float | None) -> None:
        """Wait until `marker` appears, or `seconds` have passed since the start, or the output ends."""
        while True:
            if marker is not None and marker in self.text:
                return
            left = None if seconds is None else seconds - (time.monotonic() - self.started)
            if left is not None and left <= 0:
                return
            if not self.read(0.05 if left is None else min(0.05, left)):
                return


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> dict[str, Scenario]:
    made = {}
    for name, mode in MODES.items():
        root = tmp_path_factory.mktemp(name.replace(" ", "-"))
        template = make_mini_project(root / "template")
        shutil.copytree(REPO / "queries", template / "queries")
        if mode.before:
            assert tradekb(template, *mode.before).returncode == 0
        old = outputs(template)
        article = template / "seeds" / ARTICLE
        article.write_text(article.read_text(encoding="utf-8").replace(*EDIT), encoding="utf-8")
        fresh = copy(template, root / "fresh")
        for path in (fresh / "build", fresh / ".build"):
            if path.is_symlink():
                path.unlink()
            shutil.rmtree(path, ignore_errors=True)
        assert tradekb(fresh, "build", "--no-reason").returncode == 0
        new = outputs(fresh)
        assert new and new != old
        assert_parseable(new)
        measured = copy(template, root / "measured")
        with started(measured, mode.args) as (process, progress):
            progress.until(None, None)
            seconds = time.monotonic() - progress.started
            assert process.wait() == 0, progress.text
        if mode.before and mode.store:
            assert "rebuilt after a change to a01_mini" in progress.text, progress.text
        assert outputs(measured) == new
        starts = [f"\r\x1b[K{m[1]} ..." for m in STAGE_START.finditer(progress.text)]
        ends = [f"\r\x1b[K{m[1]}: " for m in STAGE_END.finditer(progress.text)]
        made[name] = Scenario(mode, template, old, new, starts + ends[-1:], seconds)
    return made


def check_after_kill(scenario: Scenario, project: Path, pid: int, query: bool = True) -> None:
    """What a kill of tradekb process `pid` may leave, and what the next run must do with it
    (`query`: a query from the store first, as well as the next build)."""
    now = outputs(project)
    assert now in (scenario.old, scenario.new), f"a mix: {sorted(k for k in now if now[k] != scenario.new.get(k))}"
    deadline = time.monotonic() + 5
    while java_of(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not java_of(pid), "HermiT's Java outlived tradekb"
    if scenario.mode.store and query:
        answer = tradekb(project, "query", "actors", "-f", "csv", "--store", "oxigraph")
        assert answer.returncode == 0 and "Traceback" not in answer.stderr, answer.stderr
        assert answer.stdout == scenario.new["queries/actors.csv"].decode("utf-8")
    reasoned = bool(reasoning_scratch(pid))  # then the next build reasons too, which clears it
    again = tradekb(project, *scenario.mode.args, *(() if reasoned else ("--no-reason",)))
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    assert outputs(project) == scenario.new
    assert_nothing_left(project, pid)


def assert_nothing_left(project: Path, pid: int | None = None) -> None:
    """Nothing but the current generation, the one before it, the lock and the store's one version."""
    stray = [str(Path(folder, name).relative_to(project)) for folder, dirs, names in os.walk(project)
             for name in dirs + names if name.endswith((".tmp", ".swap", ".trash"))]
    assert not stray, stray
    work = project / ".build"
    current = (project / "build").resolve()
    generations = sorted(p for p in work.iterdir() if p.name.startswith("build-"))
    assert current in generations and len(generations) <= 2, generations
    assert {p.name for p in work.iterdir()} - {g.name for g in generations} <= {"lock", "store"}
    store = work / "store"
    if store.exists():
        manifest = json.loads((store / "manifest.json").read_text(encoding="utf-8"))
        assert {p.name for p in store.iterdir()} == {"manifest.json", "tradekb.lock", manifest["data"]}
    if pid is not None:
        assert not reasoning_scratch(pid)


def kill_trial(scenario: Scenario, project: Path, marker: str | None, seconds: float | None, query: bool) -> None:
    """Start the scenario's build on `project`, kill it with SIGKILL at the marker or the offset, check."""
    with started(project, scenario.mode.args) as (process, progress):
        progress.until(marker, seconds)
        process.send_signal(signal.SIGKILL)
        process.wait()
    check_after_kill(scenario, project, process.pid, query)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_kill_at_evenly_spaced_instants_leaves_old_or_new_and_the_next_build_works(scenarios, mode, tmp_path):
    scenario = scenarios[mode]
    for n in range(1, 3):
        kill_trial(scenario, copy(scenario.template, tmp_path / f"at-{n}"), None, scenario.seconds * n / 3, query=True)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_kill_at_each_stage_boundary_leaves_old_or_new_and_the_next_build_works(scenarios, mode, tmp_path):
    scenario = scenarios[mode]
    assert scenario.boundaries, "the build showed no progress on a terminal"
    for n, marker in enumerate(scenario.boundaries):
        # the next build reads the store as well as a query would (the query is left to the test above, for time)
        kill_trial(scenario, copy(scenario.template, tmp_path / f"at-{n}"), marker, None, query=False)


@pytest.mark.parametrize("mode", ["build", "rebuild --store"])
def test_a_kill_while_hermit_runs_takes_its_java_with_it(scenarios, mode, tmp_path):
    scenario = scenarios[mode]
    project = copy(scenario.template, tmp_path / "p")
    with started(project, scenario.mode.args) as (process, progress):
        deadline = time.monotonic() + 60
        while not (java := java_of(process.pid)) and process.poll() is None and time.monotonic() < deadline:
            progress.read(0.02)
        assert java, "HermiT never ran: the check below would prove nothing"
        for pid in java:  # stopped, it cannot finish by itself: only the kernel's SIGKILL ends it
            os.kill(pid, signal.SIGSTOP)
        process.send_signal(signal.SIGKILL)
        process.wait()
    try:
        check_after_kill(scenario, project, process.pid)
    finally:
        for pid in java_of(process.pid):
            os.kill(pid, signal.SIGKILL)


STRACE = shutil.which("strace")


# (system call, before the call or after it): renameat2 is how outputs are published and how a
# file of the store (the manifest, the rebuild's state) is replaced. The first build makes the
# same calls as the rebuild, in the same order, and takes twice as long: it is left out for time.
RENAMES = {"build": [("renameat2", True), ("renameat2", False)],
           "rebuild --store": [("renameat2", True), ("renameat2", False)]}


@pytest.mark.parametrize("mode", sorted(RENAMES))
def test_a_kill_just_before_or_after_each_rename_leaves_old_or_new(scenarios, mode, tmp_path):
    """strace kills the build at its Nth call of a kind (counted per thread), before the call has
    any effect (it fails, and the kill lands as it returns) or just after it, for every N the build
    reaches."""
    if STRACE is None:  # CI installs it (scripts/setup.sh --with-servers): there its absence fails
        (pytest.fail if os.environ.get("CI") else pytest.skip)("strace is needed to kill at a chosen system call")
    scenario = scenarios[mode]
    killed = 0
    for syscall, before in RENAMES[mode]:
        for n in range(1, 50):
            project = copy(scenario.template, tmp_path / f"{syscall}-{before}-{n}")
            wrap = (STRACE, "-f", "-qq", "-e", "signal=none", "-e", f"trace={syscall}", "-o", os.devnull,
                    "-e", f"inject={syscall}:{'error=EIO:' if before else ''}signal=KILL:when={n}")
            with started(project, (*scenario.mode.args, "--no-reason"), wrap) as (process, progress):
                progress.until(None, None)
                code = process.wait()
            if code == 0:  # the build makes fewer such calls
                assert outputs(project) == scenario.new
                break
            if code != -signal.SIGKILL:
                pytest.skip(f"strace could not run the build here (exit {code}): {progress.text[-300:]}")
            killed += 1
            check_after_kill(scenario, project, process.pid, query=False)
    assert killed >= len(RENAMES[mode])  # at least one of each kind


@pytest.fixture
def mounted(tmp_path) -> Iterator[Path]:
    """A small tmpfs of our own (root only), removed after the test."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system to fill needs root")
    point = tmp_path / "mount"
    point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(point)], capture_output=True).returncode:
        pytest.skip("this root may not mount a tmpfs (no CAP_SYS_ADMIN here)")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=True)


def built_project(target: Path, *build: str) -> Path:
    project = make_mini_project(target)
    shutil.copytree(REPO / "queries", project / "queries")
    result = tradekb(project, *build)
    assert result.returncode == 0, result.stderr
    article = project / "seeds" / ARTICLE
    article.write_text(article.read_text(encoding="utf-8").replace(*EDIT), encoding="utf-8")
    return project


def assert_one_line(result: subprocess.CompletedProcess, path: Path, cause: str) -> None:
    assert result.returncode == EXIT_FILE_SYSTEM, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert str(path) in last and cause in last, result.stderr


@pytest.mark.parametrize("store", [(), ("--store", "oxigraph")], ids=["memory", "store"])
def test_a_full_disk_is_one_line_and_keeps_the_old_outputs(mounted, store):
    project = built_project(mounted / "p", "build", "--no-reason", *store)
    before = outputs(project)
    free = shutil.disk_usage(mounted).free
    filler = mounted / "filler"
    with open(filler, "wb") as out:
        out.truncate(0)
        out.write(b"\0" * (free - 64 * 1024))  # 64 kB left: the exports need more
    full = tradekb(project, "build", "--no-reason", *store)
    assert_one_line(full, mounted, "No space left on device")
    assert outputs(project) == before
    assert_nothing_left(project)  # what it had written is gone
    filler.unlink()
    again = tradekb(project, "build", "--no-reason", *store)
    assert again.returncode == 0, again.stderr
    assert_nothing_left(project)


def test_a_read_only_project_is_one_line_and_keeps_the_old_outputs(mounted):
    project = built_project(mounted / "p", "build", "--no-reason", "--store", "oxigraph")
    article = project / "seeds" / ARTICLE
    article.write_text(article.read_text(encoding="utf-8").replace(EDIT[1], EDIT[0]), encoding="utf-8")
    before = outputs(project)
    subprocess.run(["mount", "-o", "remount,ro", str(mounted)], check=True)
    result = tradekb(project, "build", "--no-reason", "--store", "oxigraph")
    assert_one_line(result, project, "Read-only file system")
    assert outputs(project) == before
    query = tradekb(project, "query", "actors", "-f", "csv", "--store", "oxigraph")  # unchanged inputs: read only
    assert query.returncode == 0, query.stderr
    assert query.stdout == before["queries/actors.csv"].decode("utf-8")


SETPRIV = shutil.which("setpriv")


@pytest.mark.skipif(SETPRIV is None and os.geteuid() == 0, reason="root needs setpriv to give up overriding permissions")
def test_a_permission_denied_is_one_line_and_keeps_the_old_outputs(tmp_path):
    """Root ignores permission bits; without CAP_DAC_OVERRIDE it obeys them like any owner."""
    project = built_project(tmp_path / "p", "build", "--no-reason")
    before = outputs(project)
    as_owner = [SETPRIV, "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps", "-all"] if os.geteuid() == 0 else []
    (project / ".build").chmod(0o555)
    try:
        result = subprocess.run([*as_owner, TRADEKB, "-C", str(project), "build", "--no-reason"],
                                capture_output=True, text=True, env=dict(os.environ, CI="1"), timeout=300)
    finally:
        (project / ".build").chmod(0o755)
    assert_one_line(result, project / ".build", "Permission denied")
    assert outputs(project) == before


def test_two_first_builds_at_once_take_turns(tmp_path):
    project = make_mini_project(tmp_path / "p")
    shutil.copytree(REPO / "queries", project / "queries")
    args = [TRADEKB, "-C", str(project), "build", "--no-reason", "--store", "oxigraph"]
    env = dict(os.environ, CI="1")
    first = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    lock = project / ".build" / "lock"
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.read_text().strip() == str(first.pid)) and time.monotonic() < deadline:
        time.sleep(0.01)  # the second starts once the first holds the lock, however slow the machine
    second = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    said = [process.communicate(timeout=300)[1] for process in (first, second)]
    assert first.returncode == second.returncode == 0, said
    waited = [text for text in said if "waiting for another tradekb build of" in text]
    assert len(waited) == 1 and "holds no tradekb store" not in "".join(said), said
    assert_parseable(outputs(project))
    assert_nothing_left(project)


def test_two_commands_writing_a_new_store_at_once_take_turns(tmp_path):
    """Two queries on a project with no store yet: each builds the graph, and they write the store
    one after the other (the second finds the first's, and keeps it)."""
    project = make_mini_project(tmp_path / "p")
    shutil.copytree(REPO / "queries", project / "queries")
    args = [TRADEKB, "-C", str(project), "query", "actors", "-f", "csv", "--store", "oxigraph"]
    queries = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, CI="1")) for _ in range(2)]
    answers = [process.communicate(timeout=300) for process in queries]
    assert [process.returncode for process in queries] == [0, 0], answers
    assert answers[0][0] == answers[1][0] and "holds no tradekb store" not in "".join(e for _, e in answers)
    store = project / ".build" / "store"
    manifest = json.loads((store / "manifest.json").read_text(encoding="utf-8"))
    assert {p.name for p in store.iterdir()} == {"manifest.json", "tradekb.lock", manifest["data"]}
