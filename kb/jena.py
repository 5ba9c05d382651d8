"""Apache Jena's SHACL validator, run as a Java process: the fast engine for large graphs.

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
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from kb.errors import DependencyError

JAVA_DIR = Path("/usr/share/java")
# The jars `shacl validate` needs, by their unversioned Debian names.
JARS = ("jena-arq", "jena-base", "jena-cmds", "jena-core", "jena-iri", "jena-shacl", "jena-shex",
        "jena-dboe-base", "jena-dboe-index", "jena-dboe-storage", "jena-dboe-trans-data",
        "jena-dboe-transaction", "jena-tdb", "jena-rdfconnection", "commons-cli", "commons-codec",
        "commons-compress", "commons-csv", "commons-io", "commons-lang3", "dexx.collection", "gson",
        "guava", "httpclient", "httpcore", "jackson-annotations", "jackson-core", "jackson-databind",
        "jakarta.json-api", "jsonld-java", "protobuf", "slf4j-api", "slf4j-nop", "thrift",
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


def validate(triples: list[ox.Triple], shapes: Path) -> Graph:
    """Jena's SHACL results graph for `triples` against the shapes file."""
    cp = classpath()
    if cp is None:
        raise DependencyError(INSTALL_HINT)
    memory = os.environ.get("TRADEKB_JAVA_MEMORY", "1024")
    with tempfile.TemporaryDirectory(prefix="tradekb-jena-") as tmp:
        data = Path(tmp) / "data.nt"
        ox.serialize(triples, str(data), format=ox.RdfFormat.N_TRIPLES)
        run = subprocess.run(["java", f"-Xmx{memory}m", "-cp", cp, "shacl.shacl", "validate",
                              "--shapes", str(shapes), "--data", str(data)],
                             capture_output=True, text=True)
    if run.returncode != 0 or not run.stdout.strip():
        lines = [line for line in (run.stderr or run.stdout).splitlines() if line.strip()]
        raise DependencyError(f"Jena SHACL failed: {lines[0] if lines else 'no output'}")
    return Graph().parse(data=run.stdout, format="turtle")
