"""Real SPARQL servers for the tests: Oxigraph's and Virtuoso, each on free loopback ports with a
fresh database in a directory of its own; and `tradekb serve` as a process of its own.

The fixtures in conftest.py (`oxigraph_server`, `virtuoso_server`, `sparql_server`) start one of
each per test session; a test that must stop or break a server starts its own with
`start_oxigraph(tmp_path)` / `start_virtuoso(tmp_path)` and ends it with `stop(server)`.
CI installs both (scripts/setup.sh --with-servers), so there a missing server fails the run;
elsewhere its tests are skipped.

What each engine offers (see also shared/STACK-NOTES.md):
- Oxigraph: no authentication; Graph Store protocol with `?graph=` only; its default graph is
  only the default graph (not the union of the named graphs, unlike `tradekb serve`).
- Virtuoso: anonymous reads on /sparql; updates on /sparql-auth and the Graph Store protocol on
  /sparql-graph-crud-auth, both with HTTP Digest (dba/dba on a fresh database). Its default graph
  is the union of all graphs, its own system graphs included; a result set is cut at
  VIRTUOSO_ROW_CAP rows without notice.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from kb import server as kb_server
from kb.errors import DependencyError
from kb.server import LOOPBACK, Endpoints, free_port

__all__ = ["STARTUP_TIMEOUT", "VIRTUOSO_ROW_CAP", "Server", "free_port", "interrupt", "read_endpoints",
           "start_oxigraph", "start_serving", "start_virtuoso", "stop"]

VIRTUOSO_HINT = ("Virtuoso is not installed: apt-get install virtuoso-opensource "
                 "(bash scripts/setup.sh --with-servers does it)")
VIRTUOSO_READY_TIMEOUT = 120.0  # seconds; it starts in about 3-4 s on an idle machine
STOP_TIMEOUT = 30.0  # seconds between SIGTERM and SIGKILL (Virtuoso checkpoints on the way out)
STARTUP_TIMEOUT = 180.0  # seconds for `tradekb serve`: the build and validation come first, on a shared machine
SIGNAL_TIMEOUT = 10.0  # seconds for `tradekb serve` to exit after a signal
VIRTUOSO_ROW_CAP = 10_000  # [SPARQL] ResultSetMaxRows: Virtuoso's default, kept so paging is tested

# Database, logs and HTTP root in the test's directory; both ports on loopback; memory and
# threads sized for a shared 2-core machine (10,000 buffers of 8 kB is about 80 MB).
VIRTUOSO_INI = """\
[Database]
DatabaseFile       = {dir}/virtuoso.db
ErrorLogFile       = {dir}/virtuoso.log
LockFile           = {dir}/virtuoso.lck
TransactionFile    = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = {dir}/virtuoso-temp.db
TransactionFile    = {dir}/virtuoso-temp.trx

[Parameters]
ServerPort           = {loopback}:{sql_port}
DisableUnixSocket    = 1
DirsAllowed          = ., {dir}
NumberOfBuffers      = 10000
MaxDirtyBuffers      = 6000
MaxQueryMem          = 256M
ThreadsPerQuery      = 2
AsyncQueueMaxThreads = 4
MaxClientConnections = 10
CheckpointInterval   = 60

[HTTPServer]
ServerPort           = {loopback}:{http_port}
ServerRoot           = {dir}/vsp
ServerThreads        = 4
MaxClientConnections = 10

[SPARQL]
ResultSetMaxRows      = {row_cap}
MaxQueryExecutionTime = 60
"""


@dataclass(frozen=True)
class Server:
    """A running SPARQL server and where it answers each protocol."""

    name: str  # "oxigraph" or "virtuoso"
    query_url: str  # Oxigraph http://127.0.0.1:P/query, Virtuoso http://127.0.0.1:P/sparql
    update_url: str  # Oxigraph .../update, Virtuoso .../sparql-auth (HTTP Digest)
    store_url: str  # Oxigraph .../store, Virtuoso .../sparql-graph-crud-auth (HTTP Digest)
    user: str | None  # None for Oxigraph; "dba" for Virtuoso
    password: str | None
    process: subprocess.Popen  # so that a failure test can stop it


def missing(hint: str) -> NoReturn:
    """A server that is not installed: a failure under CI (which installs both), else a skip."""
    if os.environ.get("CI"):
        pytest.fail(hint, pytrace=False)
    pytest.skip(hint)


def start_oxigraph(tmp_dir: Path) -> Server:
    """Oxigraph's server on a free loopback port over a new store in `tmp_dir`, once it answers."""
    try:
        kb_server.oxigraph_binary()
    except DependencyError as e:
        missing(str(e))
    port = free_port()
    process = kb_server.start_oxigraph(Path(tmp_dir) / "store", port, Path(tmp_dir) / "oxigraph.log")
    urls = kb_server.oxigraph_endpoints(port)
    return Server("oxigraph", urls.query, urls.update, urls.store, None, None, process)


def start_virtuoso(tmp_dir: Path) -> Server:
    """Virtuoso (`virtuoso-t +foreground`) with a fresh database in `tmp_dir`, once /sparql answers."""
    binary = shutil.which("virtuoso-t") or missing(VIRTUOSO_HINT)
    tmp_dir = Path(tmp_dir).resolve()
    (tmp_dir / "vsp").mkdir(parents=True, exist_ok=True)
    sql_port = free_port()
    http_port = free_port()
    while http_port == sql_port:
        http_port = free_port()
    config = tmp_dir / "virtuoso.ini"
    config.write_text(VIRTUOSO_INI.format(dir=tmp_dir, loopback=LOOPBACK, sql_port=sql_port,
                                          http_port=http_port, row_cap=VIRTUOSO_ROW_CAP), encoding="utf-8")
    base = f"http://{LOOPBACK}:{http_port}"
    process = kb_server.start_process([binary, "+foreground", "+configfile", str(config)], f"{base}/sparql",
                                      tmp_dir / "virtuoso.out", cwd=tmp_dir, timeout=VIRTUOSO_READY_TIMEOUT)
    return Server("virtuoso", f"{base}/sparql", f"{base}/sparql-auth", f"{base}/sparql-graph-crud-auth",
                  "dba", "dba", process)


def stop(server: Server) -> None:
    """Stop a server cleanly (SIGTERM, then SIGKILL after a timeout); a stopped one is left alone."""
    kb_server.stop(server.process, STOP_TIMEOUT)


def start_serving(project: Path, *args: str, tmp: Path | None = None,
                  sigint_ignored: bool = False) -> subprocess.Popen:
    """`tradekb -C project serve ARGS` as its own process (temporary files under `tmp`, if given;
    optionally started with SIGINT ignored, as a shell starts a job with `&`)."""
    env = dict(os.environ, TMPDIR=str(tmp)) if tmp else None
    ignore_sigint = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
    return subprocess.Popen([sys.executable, "-m", "kb.cli", "-C", str(project), "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=ignore_sigint)


def read_endpoints(process: subprocess.Popen) -> Endpoints:
    """The URLs the command prints (query, update, store: one write, so they arrive together)."""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=STARTUP_TIMEOUT):
            process.kill()
            pytest.fail(f"tradekb serve printed no URLs within {STARTUP_TIMEOUT:.0f} s")
    lines = [process.stdout.readline().split() for _ in range(3)]  # empty once the process has exited
    urls = dict(fields for fields in lines if len(fields) == 2)
    if set(urls) != {"query", "update", "store"}:
        pytest.fail(f"tradekb serve printed {urls} and exited ({process.wait()}): {process.stderr.read()}")
    return Endpoints(urls["query"], urls["update"], urls["store"])


def interrupt(process: subprocess.Popen, signum: int) -> int:
    """Send the signal and return the exit code, failing if it takes longer than SIGNAL_TIMEOUT."""
    process.send_signal(signum)
    try:
        return process.wait(SIGNAL_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"tradekb serve did not exit within {SIGNAL_TIMEOUT:.0f} s of signal {signum}")
