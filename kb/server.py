"""`tradekb serve`: the validated knowledge base behind Oxigraph's own SPARQL server, on loopback.

pyoxigraph and the `oxigraph` server (PyPI package `oxigraph`, pinned to the same 0.5 release)
share one on-disk format, so the knowledge base is written with pyoxigraph into the store
directory that `oxigraph serve` then opens: no export and reload, and every named graph (one per
article, registry, derived, ontology) is there as it is in memory. The server listens on
127.0.0.1 only, and its default graph is the union of the named graphs, as for the embedded
store, so a saved query gives the same rows over HTTP; `GRAPH ?g` still sees each graph.

The process helpers (`start_process`, `wait_until_answers`, `stop`, `free_port`) also start the
test suite's servers (tests/servers.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kb.errors import DependencyError, TradeKBError
from kb.graph import KnowledgeBase
from kb.pipeline import validated_knowledge_base
from kb.storage import MEMORY, StoreChoice
from kb.validate import Engine

LOOPBACK = "127.0.0.1"
INSTALL_HINT = "the Oxigraph server is not installed: pip install 'oxigraph>=0.5,<0.6' (a tradekb dependency)"
READY_TIMEOUT = 30.0  # seconds for a server to answer its first query
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

# Only ever talks to loopback servers: no proxy from the environment is consulted.
_LOOPBACK_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServeError(TradeKBError):
    """A local server could not be started or stopped by itself: the port is taken, the store
    directory is unusable or locked (exit 2, like any bad option)."""


@dataclass(frozen=True)
class Endpoints:
    """Where a server answers the three SPARQL 1.1 protocols."""

    query: str
    update: str
    store: str


def oxigraph_endpoints(port: int) -> Endpoints:
    """
    >>> oxigraph_endpoints(7878).store
    'http://127.0.0.1:7878/store'
    """
    base = f"http://{LOOPBACK}:{port}"
    return Endpoints(f"{base}/query", f"{base}/update", f"{base}/store")


def oxigraph_binary() -> str:
    """The `oxigraph` program: the one installed beside this Python (the venv's), else on PATH."""
    beside = Path(sys.executable).parent / "oxigraph"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("oxigraph")
    if found is None:
        raise DependencyError(INSTALL_HINT)
    return found


def free_port() -> int:
    """A loopback TCP port nobody listens on now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def claim_port(port: int) -> int:
    """`port`, checked free, or a free one for 0; ServeError if something listens there.

    Checked before any work, and so that a server already on the port is never taken for ours.
    """
    if port == 0:
        return free_port()
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no obstacle
        try:
            probe.bind((LOOPBACK, port))
        except OSError as e:
            raise ServeError(f"cannot serve on {LOOPBACK}:{port}: {e.strerror}") from None
    return port


def write_store(kb: KnowledgeBase, location: Path) -> None:
    """Write the knowledge base into the on-disk Oxigraph store at `location`, replacing what it held.

    `location` must be new, empty or an Oxigraph store already (a RocksDB directory has CURRENT),
    so that no one's files get a database written among them.
    """
    location = Path(location)
    if location.is_dir() and any(location.iterdir()) and not (location / "CURRENT").is_file():
        raise ServeError(f"{location} is not empty and holds no Oxigraph store: give a new or empty directory")
    try:
        store = ox.Store(str(location))
        store.clear()
        store.bulk_extend(kb.quads())
        store.flush()
    except OSError as e:
        raise ServeError(f"cannot write the store at {location}: {e}") from None
    # `store` goes with this frame: RocksDB's lock is released for the server


def start_process(argv: list[str], query_url: str, log: Path, cwd: Path | None = None,
                  timeout: float = READY_TIMEOUT) -> subprocess.Popen:
    """Start a server (output to `log`) and return once `query_url` answers; ServeError if not.

    The server gets its own session, so a Ctrl-C in the terminal reaches only us: we stop it.
    """
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_answers(query_url, process, log, timeout)
    except BaseException:
        stop(process)
        raise
    return process


def wait_until_answers(query_url: str, process: subprocess.Popen, log: Path,
                       timeout: float = READY_TIMEOUT) -> None:
    """Return once `query_url` answers `ASK {}`; ServeError if the process exits first (with the
    line of its log that says why) or the deadline passes."""
    name = Path(process.args[0]).name
    url = f"{query_url}?{urllib.parse.urlencode({'query': 'ASK {}'})}"
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        try:
            with _LOOPBACK_OPENER.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # refused while it starts, or an HTTP error
            pass
        if time.monotonic() > deadline:
            raise ServeError(f"{name} did not answer {query_url} within {timeout:.0f} s (log: {log})")
        time.sleep(0.05)
    raise ServeError(f"{name} exited with code {process.returncode}: {failure_line(log)}")


def failure_line(log: Path) -> str:
    """The line of a server's log that says why it failed: the first naming an error, else the last."""
    lines = [line.strip() for line in Path(log).read_text(encoding="utf-8", errors="replace").splitlines()
             if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    if errors:
        return errors[0]
    return lines[-1] if lines else "no output"


def stop(process: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> None:
    """Stop a server cleanly: SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_oxigraph(location: Path, port: int, log: Path, union_default_graph: bool = False) -> subprocess.Popen:
    """`oxigraph serve` on 127.0.0.1:`port` over the store at `location`, once it answers."""
    argv = [oxigraph_binary(), "serve", "--location", str(location), "--bind", f"{LOOPBACK}:{port}"]
    if union_default_graph:
        argv.append("--union-default-graph")
    return start_process(argv, oxigraph_endpoints(port).query, log)


@contextmanager
def running(kb: KnowledgeBase, port: int,
            location: Path | None = None) -> Iterator[tuple[Endpoints, subprocess.Popen]]:
    """The knowledge base served by Oxigraph on loopback for the duration of the `with`.

    Port 0 picks a free one. Without `location` the store lives in a temporary directory that is
    removed afterwards.
    """
    oxigraph_binary()
    port = claim_port(port)
    with tempfile.TemporaryDirectory(prefix="tradekb-serve-") as scratch:
        store = Path(location) if location is not None else Path(scratch) / "store"
        write_store(kb, store)
        process = start_oxigraph(store, port, Path(scratch) / "oxigraph.log", union_default_graph=True)
        try:
            yield oxigraph_endpoints(port), process
        finally:
            stop(process)


def serve(project: Path, port: int, location: Path | None = None, engine: Engine = Engine.AUTO,
          say: Callable[[str], None] = lambda _: None,
          on_ready: Callable[[Endpoints], None] = lambda _: None, store: StoreChoice = MEMORY) -> None:
    """Build and validate the project's knowledge base and serve it until SIGINT (Ctrl-C) or
    SIGTERM; then stop the server and return.

    A missing server or a taken port is said before the build. ServeError if the server cannot
    start or stops by itself; InvalidKnowledgeBase if the graph does not validate.
    """
    # Ctrl-C and SIGTERM both end it, even where SIGINT came ignored (a job started with `&`)
    previous = {signum: signal.signal(signum, signal.default_int_handler) for signum in STOP_SIGNALS}
    try:
        oxigraph_binary()
        port = claim_port(port)
        kb = validated_knowledge_base(project, engine, say, store)
        with running(kb, port, location) as (endpoints, process):
            on_ready(endpoints)
            code = process.wait()
            raise ServeError(f"the Oxigraph server stopped by itself with code {code}")
    except KeyboardInterrupt:
        return
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
