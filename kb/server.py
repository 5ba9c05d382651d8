"""`tradekb serve`: the validated knowledge base behind Oxigraph's own SPARQL server, on loopback,
through a front that keeps other web pages out.

pyoxigraph and the `oxigraph` server (PyPI package `oxigraph`, pinned to the same 0.5 release)
share one on-disk format, so the knowledge base is written with pyoxigraph into the store
directory that `oxigraph serve` then opens: no export and reload, and every named graph (one per
article, registry, derived, ontology) is there as it is in memory. Its default graph is the union
of the named graphs, as for the embedded store, so a saved query gives the same rows over HTTP;
`GRAPH ?g` still sees each graph.

Any web page the user opens can send requests to 127.0.0.1, and Oxigraph's server checks neither
who sends them nor what it is asked to fetch. So it runs read-only unless `--writable`, it listens
on a port browsers refuse to connect to (BROWSER_BLOCKED_PORTS), and the port we print is that of
a front in this process (kb.web.front) that checks each request first (kb.web.policy).

A `kill -9` leaves nothing running and nothing the next serve does not clear: Linux kills the
Oxigraph server with us (kb.processes.die_with_parent), and the next serve removes the temporary
store of a serve that is gone (its directory's name says whose it was).

The process helpers (`start_process`, `wait_until_answers`, `stop`, `free_port`) also start the
test suite's servers (tests/servers.py).
"""

from __future__ import annotations

import os
import re
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
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kb.errors import DependencyError, TradeKBError
from kb.graph import KnowledgeBase
from kb.locks import locked_directory
from kb.pipeline import validated_knowledge_base
from kb.processes import die_with_parent, scratch_directory
from kb.site.app import SiteApp
from kb.storage import MEMORY, StoreChoice
from kb.validate import Engine
from kb.web.front import Front
from kb.web.policy import LOOPBACK

INSTALL_HINT = "the Oxigraph server is not installed: pip install 'oxigraph>=0.5,<0.6' (a tradekb dependency)"
READY_TIMEOUT = 30.0  # seconds for a server to answer its first query
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SCRATCH_PREFIX = "tradekb-serve-"  # a serve's temporary directory (its store, the server's log)
# The ports of the Fetch standard's "bad port" list that a user may bind: every current browser
# refuses to connect to them, so no web page reaches Oxigraph's server past the front. Those
# blocked longest come first (4190 and 6679 since 2024).
BROWSER_BLOCKED_PORTS = (6665, 6666, 6667, 6668, 6669, 6697, 10080, 1719, 1720, 1723, 3659, 4045, 5060, 5061,
                         6566, 2049, 6000, 4190, 6679)
# What RocksDB (Oxigraph's storage) keeps in a store directory, by name.
_ROCKSDB_FILE = re.compile(r"CURRENT|IDENTITY|LOCK|LOG(?:\.old\.\d+)?|(?:MANIFEST|OPTIONS)-\d+(?:\.dbtmp)?"
                           r"|\d+\.(?:log|sst|blob|dbtmp)|bulk-\d+\.sst")  # bulk-: Oxigraph's bulk loader
_OXIGRAPH_COLUMN = '[CFOptions "id2str"]'  # a column family of Oxigraph's, named in RocksDB's OPTIONS file

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


def port_is_free(port: int) -> bool:
    """Could a server bind 127.0.0.1:`port` now?"""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no obstacle
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def bind_front(port: int, say: Callable[[str], None]) -> Front:
    """The front, bound to 127.0.0.1:`port` (0: a free one) before any work; ServeError if taken."""
    try:
        return Front(port, say)
    except OSError as e:
        raise ServeError(f"cannot serve on {LOOPBACK}:{port}: {e.strerror}") from None


def is_oxigraph_store(directory: Path) -> bool:
    """Does the non-empty `directory` hold an Oxigraph store, or one whose creation a kill cut
    short? Judged by file names and RocksDB's OPTIONS file, without opening the store (opening
    writes LOCK and LOG into the directory): a file of anyone else's there means no.
    """
    names = [entry.name for entry in directory.iterdir()]
    if not all(_ROCKSDB_FILE.fullmatch(name) for name in names):
        return False
    options = [name for name in names if name.startswith("OPTIONS-") and not name.endswith(".dbtmp")]
    if not options:  # RocksDB writes them last when it creates a store: one begun, by its LOCK
        return "LOCK" in names
    return any(_OXIGRAPH_COLUMN in (directory / name).read_text(encoding="utf-8", errors="replace")
               for name in options)


@contextmanager
def kept_store(location: Path) -> Iterator[Path]:
    """`--location DIR`, checked before anything touches it, and this serve's alone until the end.

    DIR must be new, empty, or an Oxigraph store (whose content the serve replaces), so that no
    one's files get a database written among them. It is locked (flock) while served: a read-only
    Oxigraph server takes no lock of its own, and a second serve must not rewrite it underneath.
    """
    location = Path(location)
    if location.exists() and not location.is_dir():
        raise ServeError(f"{location} is not a directory: give a new or empty directory")
    if location.is_dir() and any(location.iterdir()) and not is_oxigraph_store(location):
        raise ServeError(f"{location} is not empty and holds no Oxigraph store: give a new or empty directory")
    held = ExitStack()
    try:
        location.mkdir(parents=True, exist_ok=True)
        held.enter_context(locked_directory(location, wait=False))
    except BlockingIOError:
        raise ServeError(f"{location} is being served by another tradekb serve") from None
    except OSError as e:
        raise ServeError(f"cannot use {location}: {e.strerror}") from None
    with held:
        yield location


def write_store(kb: KnowledgeBase, location: Path) -> None:
    """Write the knowledge base into the on-disk Oxigraph store at `location` (checked by
    `kept_store`, or a new temporary directory), replacing what it held.

    The files of a bulk load that a kill cut short are removed first: RocksDB took in (hard
    linked) those it got before the kill, and would leave the others there for good.
    """
    for unfinished in Path(location).glob("bulk-*.sst"):
        unfinished.unlink(missing_ok=True)
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

    The server gets its own session, so a Ctrl-C in the terminal reaches only us: we stop it; and
    it dies with the thread that starts it (call this from one that lives as long as the server
    should), so that a `kill -9` of ours leaves no server running on its own.
    """
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)
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


def start_oxigraph(location: Path, port: int, log: Path, union_default_graph: bool = False,
                   read_only: bool = False) -> subprocess.Popen:
    """`oxigraph serve` (or `serve-read-only`) on 127.0.0.1:`port` over the store at `location`,
    once it answers."""
    command = "serve-read-only" if read_only else "serve"
    argv = [oxigraph_binary(), command, "--location", str(location), "--bind", f"{LOOPBACK}:{port}"]
    if union_default_graph:
        argv.append("--union-default-graph")
    return start_process(argv, oxigraph_endpoints(port).query, log)


def blocked_ports() -> Iterator[int]:
    """The browser-blocked ports that are free now, in order."""
    return (port for port in BROWSER_BLOCKED_PORTS if port_is_free(port))


def no_blocked_port() -> ServeError:
    return ServeError(f"no port that browsers refuse is free for Oxigraph's server behind the front (tried "
                      f"{', '.join(map(str, BROWSER_BLOCKED_PORTS))})")


def start_behind_front(store: Path, log: Path, writable: bool) -> tuple[subprocess.Popen, int]:
    """Oxigraph's server over `store`, on the first browser-blocked port it can take, and that port.

    Serves starting at once take turns (a lock on the temporary directory itself, which leaves no
    file behind): else two would pick the same port, and one take the other's server, answering
    there, for its own. Another program may still bind the port between our look and Oxigraph's
    bind: then the next one.
    """
    with locked_directory(Path(tempfile.gettempdir())):
        for port in blocked_ports():
            try:
                return start_oxigraph(store, port, log, union_default_graph=True, read_only=not writable), port
            except ServeError:
                if port_is_free(port):  # it failed for another reason than the port
                    raise
    raise no_blocked_port()


def serve(project: Path, port: int, location: Path | None = None, engine: Engine = Engine.AUTO,
          say: Callable[[str], None] = lambda _: None,
          on_ready: Callable[[Endpoints], None] = lambda _: None, store: StoreChoice = MEMORY,
          writable: bool = False) -> None:
    """Build and validate the project's knowledge base and serve it until SIGINT (Ctrl-C) or
    SIGTERM; then stop the server and return. Read-only unless `writable`.

    A missing server, a taken port or an unusable `location` is said before the build, and the
    location is not touched. ServeError if the server cannot start or stops by itself;
    InvalidKnowledgeBase if the graph does not validate.
    """
    # Ctrl-C and SIGTERM both end it, even where SIGINT came ignored (a job started with `&`)
    previous = {signum: signal.signal(signum, signal.default_int_handler) for signum in STOP_SIGNALS}
    try:
        oxigraph_binary()
        front = bind_front(port, say)
        try:
            with (kept_store(location) if location is not None else nullcontext()) as kept, \
                    scratch_directory(SCRATCH_PREFIX, say) as scratch:
                if next(blocked_ports(), None) is None:
                    raise no_blocked_port()
                store_dir = kept or scratch / "store"
                kb = validated_knowledge_base(project, engine, say, store)
                write_store(kb, store_dir)
                process, backend_port = start_behind_front(store_dir, scratch / "oxigraph.log", writable)
                try:
                    site = SiteApp(kb.store, project)
                    front.start(backend_port, writable, site)
                    site.warm_in_background()
                    on_ready(oxigraph_endpoints(front.port))
                    code = process.wait()
                    raise ServeError(f"the Oxigraph server stopped by itself with code {code}")
                finally:
                    stop(process)
        finally:
            front.stop()
    except KeyboardInterrupt:
        return
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

