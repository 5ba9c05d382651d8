"""Apache Jena, run as a Java process: its SHACL validator (the fast engine for large graphs) and
its RDF parser, riot (an independent reader of what tradekb exports).

Debian's `libapache-jena-java` puts Jena and its libraries in /usr/share/java. Its jena-core jar
moved the shaded Xerces classes to package `xerces.*` but left their message bundles under
`org/apache/jena/ext/xerces/`, so Jena fails on start; a small jar with the bundles copied to the
expected place, made once and cached, repairs it. TRADEKB_JENA_CLASSPATH overrides the whole
class path (for a Jena installed another way).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from kb.errors import DependencyError

JAVA_DIR = Path("/usr/share/java")
# The jars `shacl validate` and `riot` need, by their unversioned Debian names. Logging goes through
# slf4j-simple at WARN to stderr (see _java): riot reports a parse warning or error only as a log line.
JARS = ("jena-arq", "jena-base", "jena-cmds", "jena-core", "jena-iri", "jena-shacl", "jena-shex",
        "jena-dboe-base", "jena-dboe-index", "jena-dboe-storage", "jena-dboe-trans-data",
        "jena-dboe-transaction", "jena-tdb", "jena-rdfconnection", "commons-cli", "commons-codec",
        "commons-compress", "commons-csv", "commons-io", "commons-lang3", "dexx.collection", "gson",
        "guava", "httpclient", "httpcore", "jackson-annotations", "jackson-core", "jackson-databind",
        "jakarta.json-api", "jsonld-java", "protobuf", "slf4j-api", "slf4j-simple", "thrift",
        "titanium-json-ld")
INSTALL_HINT = "Apache Jena is not installed: apt-get install libapache-jena-java (or set TRADEKB_JENA_CLASSPATH)"


def _xerces_fix(cache: Path) -> Path:
    """A jar with jena-core's Xerces message bundles where the relocated classes look for them."""
    fix = cache / "jena-xerces-bundles.jar"
    if fix.exists():
        return fix
    cache.mkdir(parents=True, exist_ok=True)
    prefix = "org/apache/jena/ext/xerces/"
    with zipfile.ZipFile(JAVA_DIR / "jena-core.jar") as core, \
            tempfile.NamedTemporaryFile(dir=cache, suffix=".jar", delete=False) as tmp:
        with zipfile.ZipFile(tmp, "w") as out:
            for name in core.namelist():
                if name.startswith(prefix) and name.endswith(".properties"):
                    out.writestr("xerces/" + name[len(prefix):], core.read(name))
    os.replace(tmp.name, fix)
    return fix


def classpath() -> str | None:
    """Jena's class path on this machine, or None when Jena (or Java) is missing."""
    if shutil.which("java") is None:
        return None
    if os.environ.get("TRADEKB_JENA_CLASSPATH"):
        return os.environ["TRADEKB_JENA_CLASSPATH"]
    jars = [JAVA_DIR / f"{name}.jar" for name in JARS]
    if not all(jar.exists() for jar in jars):
        return None
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tradekb"
    return os.pathsep.join(map(str, [_xerces_fix(cache), *jars]))


def available() -> bool:
    return classpath() is not None


def _java(main_class: str, *args: str) -> subprocess.CompletedProcess:
    """Run one of Jena's command-line classes; stdout as bytes, log lines (WARN and up) on stderr."""
    cp = classpath()
    if cp is None:
        raise DependencyError(INSTALL_HINT)
    memory = os.environ.get("TRADEKB_JAVA_MEMORY", "1024")
    return subprocess.run(["java", f"-Xmx{memory}m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                           "-cp", cp, main_class, *args], capture_output=True, check=False)


def validate(triples: list[ox.Triple], shapes: Path) -> Graph:
    """Jena's SHACL results graph for `triples` against the shapes file."""
    with tempfile.TemporaryDirectory(prefix="tradekb-jena-") as tmp:
        data = Path(tmp) / "data.nt"
        ox.serialize(triples, str(data), format=ox.RdfFormat.N_TRIPLES)
        run = _java("shacl.shacl", "validate", "--shapes", str(shapes), "--data", str(data))
    if run.returncode != 0 or not run.stdout.strip():
        lines = [line for line in (run.stderr or run.stdout).decode(errors="replace").splitlines() if line.strip()]
        raise DependencyError(f"Jena SHACL failed: {lines[0] if lines else 'no output'}")
    return Graph().parse(data=run.stdout, format="turtle")


@dataclass(frozen=True)
class Parsed:
    """What Jena's riot read from an RDF file: its statements, and every warning or error it gave."""

    quads: list[ox.Quad]
    messages: list[str]


def parse(path: Path) -> Parsed:
    """Parse an RDF file (syntax from its extension) with Jena's riot, strictly and with its checks
    of RDF terms: an independent reader of what tradekb writes. A file riot rejects gives the
    quads read before the error, and the error among the messages."""
    run = _java("riotcmd.riot", "--strict", "--check", "--output=nquads", str(path))
    messages = [line for line in run.stderr.decode(errors="replace").splitlines() if line.strip()]
    if run.returncode != 0 and not messages:
        messages = [f"riot exited with code {run.returncode}"]
    return Parsed(list(ox.parse(run.stdout, format=ox.RdfFormat.N_QUADS)), messages)
