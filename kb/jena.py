"""Apache Jena, run as a Java process: its SHACL validator (the fast engine for large graphs) and
its RDF parser, riot (an independent reader of what tradekb exports).

Debian's `libapache-jena-java` puts Jena and its libraries in /usr/share/java. Its jena-core jar
moved the shaded Xerces classes to package `xerces.*` but left their message bundles under
`org/apache/jena/ext/xerces/`, so Jena fails on start; a small jar with the bundles copied to the
expected place, made once and cached, repairs it. TRADEKB_JENA_CLASSPATH overrides the whole
class path (for a Jena installed another way).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph
from rdflib.namespace import SH

from kb.errors import DependencyError, TradeKBError
from kb.shacl_sparql import UnsupportedShape, graph_as_written, prebinding_problem

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
    return os.pathsep.join(map(str, [_xerces_fix(_cache()), *jars]))


def _cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tradekb"


def available() -> bool:
    return classpath() is not None


def _java(main_class: str, *args: str, extra: str | None = None) -> subprocess.CompletedProcess:
    """Run one of Jena's command-line classes (or our driver, on the `extra` class path); stdout as
    bytes, log lines (WARN and up) on stderr."""
    cp = classpath()
    if cp is None:
        raise DependencyError(INSTALL_HINT)
    if extra:
        cp = os.pathsep.join([extra, cp])
    memory = os.environ.get("TRADEKB_JAVA_MEMORY", "1024")
    return subprocess.run(["java", f"-Xmx{memory}m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                           "-cp", cp, main_class, *args], capture_output=True, check=False)


# A small driver around Jena's SHACL, compiled once with javac and cached: it validates many
# (data, shapes) pairs in one JVM (a JVM start is about a second), and it keeps the blank node
# labels of the files it reads, so that a result's blank focus node or value is the very node
# tradekb wrote (Jena's own `shacl validate` gives every blank node a fresh label).
DRIVER = r"""
import java.nio.file.*;
import java.io.*;
import java.util.*;
import org.apache.jena.atlas.lib.EscapeStr;
import org.apache.jena.graph.*;
import org.apache.jena.riot.*;
import org.apache.jena.riot.lang.LabelToNode;
import org.apache.jena.riot.out.NodeFmtLib;
import org.apache.jena.shacl.*;
import org.apache.jena.sparql.graph.GraphFactory;

public class TradekbShacl {
    static Graph read(String path) {
        Graph graph = GraphFactory.createDefaultGraph();
        RDFParser.source(path).labelToNode(LabelToNode.createUseLabelAsGiven()).parse(graph);
        return graph;
    }

    static String term(Node node) {
        if (node.isBlank()) {
            String label = node.getBlankNodeLabel();
            return label.matches("[A-Za-z0-9]+") ? "_:" + label
                : "_:x" + String.format("%x", new java.math.BigInteger(1, label.getBytes()));
        }
        if (node.isLiteral()) {  // written out in full: strNT abbreviates numbers and booleans
            String lexical = "\"" + EscapeStr.stringEsc(node.getLiteralLexicalForm()) + "\"";
            String language = node.getLiteralLanguage();
            if (!language.isEmpty()) return lexical + "@" + language;
            String datatype = node.getLiteralDatatypeURI();
            return datatype.equals("http://www.w3.org/2001/XMLSchema#string") ? lexical : lexical + "^^<" + datatype + ">";
        }
        return NodeFmtLib.strNT(node);
    }

    public static void main(String[] args) throws Exception {
        for (String line : Files.readAllLines(Paths.get(args[0]))) {
            String[] job = line.split("\t");
            try (PrintWriter out = new PrintWriter(job[2], "UTF-8")) {
                try {
                    Graph data = read(job[0]);
                    Graph shapes = job[1].equals(job[0]) ? data : read(job[1]);
                    ValidationReport report = ShaclValidator.get().validate(Shapes.parse(shapes), data);
                    report.getGraph().find().forEachRemaining(t -> out.println(
                        term(t.getSubject()) + " " + term(t.getPredicate()) + " " + term(t.getObject()) + " ."));
                } catch (Exception e) {
                    out.println("# error: " + String.valueOf(e.getMessage()).replace('\n', ' '));
                }
            }
        }
    }
}
"""


def _driver(cp: str) -> Path:
    """The directory holding the compiled driver (made once per version of its source)."""
    digest = hashlib.sha256(DRIVER.encode()).hexdigest()[:16]
    built = _cache() / f"driver-{digest}"
    if (built / "TradekbShacl.class").exists():
        return built
    if shutil.which("javac") is None:
        raise DependencyError("Jena SHACL needs a Java compiler (javac) for its driver: apt-get install default-jdk-headless")
    _cache().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=_cache()) as tmp:
        (Path(tmp) / "TradekbShacl.java").write_text(DRIVER, encoding="utf-8")
        run = subprocess.run(["javac", "-nowarn", "-cp", cp, "-d", tmp, str(Path(tmp) / "TradekbShacl.java")],
                             capture_output=True, check=False)
        if run.returncode != 0:
            raise DependencyError(f"compiling the Jena SHACL driver failed: {run.stderr.decode(errors='replace').strip()}")
        (Path(tmp) / "TradekbShacl.java").unlink()
        try:
            os.replace(tmp, built)
        except OSError:  # another process made it first
            pass
    return built


def refuse_unsupported(shapes: Graph) -> None:
    """UnsupportedShape if a SHACL-SPARQL query of the shapes uses what Jena 4.5 gets wrong: MINUS,
    SERVICE or VALUES, a pre-bound variable bound again with AS, a nested SELECT (all of which the
    spec has an engine reject: Jena runs them, the W3C tests sparql/pre-binding/unsupported-*), or
    $shapesGraph and $currentShape (Jena answers as if unbound: shapesGraph-001)."""
    for key in (SH.select, SH.ask):
        for text in shapes.objects(None, key):
            problem = prebinding_problem(str(text), selects=1 if key == SH.select else 0)
            if problem:
                raise UnsupportedShape(f"a SHACL-SPARQL query uses {problem}, which Jena's SHACL does not handle "
                                       "as the spec says: use pyshacl")


class JenaRefused(TradeKBError):
    """Jena did not validate: it rejected the shapes or the data (its message says why): bad
    input, not a missing tool."""


def validate_many(jobs: list[tuple[Path, Path]]) -> list[Graph | JenaRefused]:
    """Jena's SHACL results graph for each (data file, shapes file), all in one JVM; the data's
    blank nodes keep their labels in the results. A pair Jena rejects gives a JenaRefused in its place."""
    cp = classpath()
    if cp is None:
        raise DependencyError(INSTALL_HINT)
    driver = _driver(cp)
    with tempfile.TemporaryDirectory(prefix="tradekb-jena-") as tmp:
        outputs = [Path(tmp) / f"report-{i}.nt" for i in range(len(jobs))]
        listing = Path(tmp) / "jobs.tsv"
        listing.write_text("".join(f"{data}\t{shapes}\t{out}\n" for (data, shapes), out in zip(jobs, outputs)),
                           encoding="utf-8")
        run = _java("TradekbShacl", str(listing), extra=str(driver))
        if run.returncode != 0:
            lines = [line for line in (run.stderr or run.stdout).decode(errors="replace").splitlines() if line.strip()]
            raise DependencyError(f"Jena SHACL failed: {lines[0] if lines else 'no output'}")
        reports: list[Graph | JenaRefused] = []
        for out in outputs:
            text = out.read_text(encoding="utf-8")
            if text.startswith("# error: "):
                reports.append(JenaRefused(f"Jena SHACL refused: {text[len('# error: '):].strip()}"))
            else:
                # read by Oxigraph: rdflib's reader would relabel blank nodes and rewrite literals
                reports.append(graph_as_written(ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES)))
        return reports


def validate(triples: list[ox.Triple], shapes: Path) -> Graph:
    """Jena's SHACL results graph for `triples` against the shapes file."""
    with tempfile.TemporaryDirectory(prefix="tradekb-jena-") as tmp:
        data = Path(tmp) / "data.nt"
        ox.serialize(triples, str(data), format=ox.RdfFormat.N_TRIPLES)
        [report] = validate_many([(data, shapes)])
    if isinstance(report, JenaRefused):
        raise report
    return report


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
