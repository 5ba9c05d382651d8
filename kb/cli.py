"""The command line: each command parses, calls one library function, prints, and maps to an exit code.

Exit codes: 0 success; 1 the knowledge base does not validate or is inconsistent; 2 bad input
(annotations, query name or parameter, options); 3 a missing dependency (Java for HermiT); 4 a
SPARQL server failed (unreachable, timed out, refused or garbled a request); 5 the file system
refused a read or write (full disk, read-only, permission denied), said in one line with the path,
and the previous outputs are as they were.
"""

from __future__ import annotations

import functools
import shutil
import sys
import textwrap
from pathlib import Path

import click

from kb.errors import DependencyError, FileSystemError, QueryError, ServerError, TradeKBError, io_error

EXIT_INVALID, EXIT_BAD_INPUT, EXIT_MISSING_DEPENDENCY, EXIT_SERVER, EXIT_FILE_SYSTEM = 1, 2, 3, 4, 5


def _fail(error: TradeKBError) -> None:
    for problem in error.problems:
        click.echo(str(problem), err=True)
    from kb.pipeline import InvalidKnowledgeBase
    if isinstance(error, InvalidKnowledgeBase):
        raise SystemExit(EXIT_INVALID)
    if isinstance(error, DependencyError):
        raise SystemExit(EXIT_MISSING_DEPENDENCY)
    if isinstance(error, ServerError):
        raise SystemExit(EXIT_SERVER)
    if isinstance(error, FileSystemError):
        raise SystemExit(EXIT_FILE_SYSTEM)
    raise SystemExit(EXIT_BAD_INPUT)


class _Group(click.Group):
    """Turns a user's mistake (a TradeKBError), or a file the system would not read or write (an
    OSError: a full disk, a read-only project), into one line per problem and an exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TradeKBError as error:
            _fail(error)
        except OSError as error:
            _fail(io_error(error))


@click.group(cls=_Group)
@click.option("-C", "--project", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="The project directory (seeds/, ontology/, queries/).")
@click.version_option(package_name="tradekb")
@click.pass_context
def cli(ctx: click.Context, project: Path) -> None:
    """tradekb: a knowledge base of the 2019 Japan–South Korea export-control dispute."""
    ctx.obj = project


def _in_project(command):
    """Pass the project directory to `command`, refusing one that is no tradekb project. Checked when
    the command runs, not in the group: `tradekb -C /tmp query --help` needs no project."""
    @click.pass_obj
    @functools.wraps(command)
    def checked(project: Path, *args, **kwargs):
        from kb.inputfiles import require_project
        require_project(project)
        return command(project, *args, **kwargs)
    return checked


def _say(message: str) -> None:
    click.echo(message, err=True)


SHACL_OPTION = click.option(
    "--shacl", "engine", type=click.Choice(["auto", "pyshacl", "sparql", "jena"]), default="auto",
    show_default=True,
    help="SHACL engine: pyshacl (the validator of record), sparql (each constraint one SPARQL query on "
         "the store: fast), jena (Apache Jena, if installed), or auto (sparql above 50,000 quads). The "
         "tests hold sparql and jena to pyshacl's verdicts.")


STORE_OPTION = click.option(
    "--store", "store", metavar="memory|oxigraph[:PATH]", default="memory", show_default=True,
    envvar="TRADEKB_STORE",
    help="Where the knowledge base is: built in memory each time (fastest queries), or kept in an "
         "on-disk Oxigraph store (default PATH: build/store) that later commands reopen without "
         "parsing the annotations, while they are unchanged. Also TRADEKB_STORE.")


def _store(text: str, project: Path):
    from kb.storage import StoreChoice
    return StoreChoice.parse(text, project)


def _options(*options):
    """Apply several click options as one decorator."""
    def apply(command):
        for option in reversed(options):
            command = option(command)
        return command
    return apply


ENDPOINT_HELP = "The server's SPARQL query URL (Oxigraph's http://HOST:PORT/query, Virtuoso's http://HOST:PORT/sparql)."
SERVER_OPTIONS = _options(
    click.option("--graph-base", metavar="IRI",
                 help="The base IRI the graph names are under on the server (default: the local build's, "
                      "https://w3id.org/tradekb/id/graph/)."),
    click.option("--auth", type=click.Choice(["auto", "basic", "digest"]), default="auto", show_default=True,
                 help="HTTP auth scheme; auto answers the server's challenge (Digest for Virtuoso). Credentials "
                      "come from TRADEKB_USER / TRADEKB_PASSWORD or a netrc file, never from the command line."),
    click.option("--timeout", type=click.IntRange(min=1), default=60, show_default=True,
                 help="Seconds to wait for each answer from the server."))
STORE_ENDPOINT_OPTION = click.option("--store-endpoint", metavar="URL",
                            help="The Graph Store protocol URL, if it is not the known one for the server.")


def _connection(endpoint: str, auth: str, timeout: int, update_endpoint: str | None = None,
                store_endpoint: str | None = None):
    from kb.endpoint import connect
    return connect(endpoint, update_endpoint, store_endpoint, auth, timeout)


@cli.command()
@click.option("--no-reason", is_flag=True, help="Skip the HermiT consistency check.")
@SHACL_OPTION
@STORE_OPTION
@_in_project
def build(project: Path, no_reason: bool, engine: str, store: str) -> None:
    """Build, validate, reason, run every saved query into build/queries/, and export build/tradekb.*.

    The outputs change as one set, only when every stage has passed; a second build of the same
    project waits for the first. The work is done in memory; with --store oxigraph[:PATH] the
    validated graph is kept there too, and the next build redoes only what an edit changed."""
    from kb.pipeline import build as run_build
    from kb.validate import Engine
    result = run_build(project, run_reasoner=not no_reason, engine=Engine(engine), say=_say,
                       store=_store(store, project))
    for path in result.written:
        click.echo(str(path))


@cli.command()
@SHACL_OPTION
@click.option("--endpoint", metavar="URL", help="Validate what this server holds (see push) instead. " + ENDPOINT_HELP)
@STORE_ENDPOINT_OPTION
@SERVER_OPTIONS
@STORE_OPTION
@_in_project
def validate(project: Path, engine: str, endpoint: str | None, store_endpoint: str | None, graph_base: str | None,
             auth: str, timeout: int, store: str) -> None:
    """Check the annotations and validate the graph against the SHACL shapes (exit 1 on violations).

    With --endpoint, the graphs pushed to the server are fetched and validated in the same way;
    violations name the local annotation file and line where the project knows the node."""
    from kb.pipeline import load_knowledge_base
    from kb.validate import Engine, load_shapes, shapes_file, validate as run_validate
    if endpoint:
        from kb.push import Layout, fetch
        connection = _connection(endpoint, auth, timeout, store_endpoint=store_endpoint)
        kb = fetch(connection, Layout.under(graph_base), _local_origins(project))
        _say(f"fetched {len(kb.graph_names)} graphs ({len(kb)} quads) from {connection.endpoint}")
    else:
        kb = load_knowledge_base(project, _store(store, project), _say)
    report = run_validate(kb, load_shapes(project), Engine(engine), shapes_file(project))
    for violation in report.violations:
        click.echo(str(violation))
    if not report.conforms:
        _say(f"{sum(v.severity == 'Violation' for v in report.violations)} violation(s)")
        raise SystemExit(EXIT_INVALID)
    _say("conforms: no violations")


def _local_origins(project: Path) -> dict:
    """Where the local project's annotations put each node, or nothing if they do not load."""
    from kb.errors import AnnotationError
    from kb.pipeline import load_knowledge_base
    try:
        return load_knowledge_base(project).origins
    except AnnotationError:
        _say("note: the local annotations do not load, so violations cannot name their file and line")
        return {}


@cli.command()
@click.option("--endpoint", metavar="URL", required=True, help=ENDPOINT_HELP)
@click.option("--update-endpoint", metavar="URL",
              help="The SPARQL Update URL, if it is not the known one for the server.")
@STORE_ENDPOINT_OPTION
@SERVER_OPTIONS
@SHACL_OPTION
@STORE_OPTION
@_in_project
def push(project: Path, endpoint: str, update_endpoint: str | None, store_endpoint: str | None,
         graph_base: str | None, auth: str, timeout: int, engine: str, store: str) -> None:
    """Upload the validated knowledge base to a SPARQL server, one named graph per article.

    The graphs are loaded beside the old ones and swapped in by one SPARQL Update; a failed push
    leaves the old graphs as they were, and a re-push replaces (README: Remote servers)."""
    from kb.pipeline import validated_knowledge_base
    from kb.push import Layout, push as run_push
    from kb.validate import Engine
    kb = validated_knowledge_base(project, Engine(engine), _say, _store(store, project))
    connection = _connection(endpoint, auth, timeout, update_endpoint, store_endpoint)
    layout = Layout.under(graph_base)
    result = run_push(kb, connection, layout, _say)
    click.echo(f"pushed {result.graphs} graphs ({result.triples} triples) to {connection.endpoint} under {layout.base}"
               + (f"; dropped {len(result.dropped)} graph(s) no longer in the knowledge base" if result.dropped else ""))


@cli.command()
@STORE_OPTION
@_in_project
def reason(project: Path, store: str) -> None:
    """Run HermiT over ontology and data; report consistency and unsatisfiable classes (exit 1 if not)."""
    from kb.pipeline import load_knowledge_base
    from kb.reason import reason_kb
    report = reason_kb(load_knowledge_base(project, _store(store, project), _say))
    click.echo(str(report))
    if not report.ok:
        raise SystemExit(EXIT_INVALID)


def _parse_params(values: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise QueryError(f"--param takes NAME=VALUE, not {value!r}")
        params[name.strip()] = text
    return params


QUESTION_OPTIONS = _options(
    click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
                 help="A parameter or filter (query --list shows them): an IRI, a label or alias (any case), an id "
                      "(tradekb ids), or a day (YYYY-MM-DD) for from and to."),
    click.option("--format", "-f", "fmt", type=click.Choice(["table", "csv", "tsv", "json", "md"]),
                 help="Output format (default: from -o FILE's extension, else table)."),
    click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                 help="Write atomically to FILE, in the format its extension names (.csv .tsv .json .md)."),
    click.option("--columns", metavar="A,B,C", help="Only these columns, in this order."),
    click.option("--wide", is_flag=True,
                 help="The table at full width, one line per row (as when piped or redirected), not fitted to "
                      "the terminal."),
    click.option("--sources", type=click.Choice(["stem", "cite", "both"]),
                 help="Name articles by file stem, as 'publisher, YYYY-MM-DD', or both (default: both in "
                      "the table, stem in files)."),
    click.option("--endpoint", metavar="URL", help="Run it on this server (see push) instead. " + ENDPOINT_HELP),
    click.option("--page-size", type=click.IntRange(min=1), default=5000, show_default=True,
                 help="Rows per request to the server: every answer is fetched a page at a time, below "
                      "Virtuoso's 10,000-row cap, so that no server cuts it short."),
    SERVER_OPTIONS,
    STORE_OPTION)


def _answer(project: Path, question, params: dict[str, str], fmt: str | None, output: Path | None,
            columns: str | None, wide: bool, sources: str | None, endpoint: str | None, page_size: int,
            graph_base: str | None, auth: str, timeout: int, store: str) -> None:
    """Run `question` (a kb.queries.SavedQuery) with its parameters on the embedded store, or on the
    server at `endpoint`, and print or write its answer: the one way saved and ad hoc queries go."""
    from kb.export import format_for_output
    from kb.queries import ResultFormat, format_results, run_query
    from kb.tables import CITATIONS, Sources, as_printed, render
    result_format = format_for_output(ResultFormat, output, fmt, ResultFormat.TABLE)
    if endpoint:
        from kb.push import Layout, query as run_remote
        connection, layout = _connection(endpoint, auth, timeout), Layout.under(graph_base)

        def run(asked, values):
            return run_remote(connection, layout, asked, values, page_size)
    else:
        from kb.pipeline import load_knowledge_base
        run = functools.partial(run_query, load_knowledge_base(project, _store(store, project), _say).store)
    for_people = result_format is ResultFormat.TABLE
    table = as_printed(run(question, params), for_people, columns and [name.strip() for name in columns.split(",")],
                       sources and Sources(sources), lambda: run(CITATIONS, {}))
    if not for_people:
        _emit(format_results(table, result_format).encode("utf-8"), output)
        return
    fitted = not wide and output is None and sys.stdout.isatty()
    rendered = render(table, shutil.get_terminal_size().columns if fitted else None)
    _emit(rendered.text.encode("utf-8"), output)
    if rendered.note:
        _say(rendered.note)


@cli.command()
@click.argument("name", required=False)
@click.option("--list", "list_queries", is_flag=True, help="List the saved queries and their parameters.")
@QUESTION_OPTIONS
@_in_project
def query(project: Path, name: str | None, list_queries: bool, params: tuple[str, ...], **answer) -> None:
    """Run the saved query NAME (queries/NAME.rq) on the embedded store, or with --endpoint on a server."""
    from kb.queries import catalogue, did_you_mean
    queries = catalogue(project)
    if list_queries or name is None:
        if name is None and not list_queries:
            raise QueryError("give a query NAME, or --list to see them")
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None  # piped: a line each
        for q in queries.values():
            args = " ".join(f"--param {p.name}=..." for p in q.parameters)
            filters = ", ".join(p.name for p in q.filters)
            line = (f"{q.name:<14} {q.summary}" + (f"  [{args}]" if args else "")
                    + (f"  [filters: {filters}]" if filters else ""))
            click.echo(textwrap.fill(line, width, subsequent_indent=" " * 15, break_on_hyphens=False) if width else line)
        return
    if name not in queries:
        raise QueryError(f"unknown query {name!r}{did_you_mean(name, queries) or ';'} saved queries: {', '.join(queries)}")
    _answer(project, queries[name], _parse_params(params), **answer)


@cli.command()
@click.argument("text", metavar="QUERY", required=False)
@click.option("--file", "query_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the query from FILE (anywhere: you name it) instead.")
@QUESTION_OPTIONS
@_in_project
def sparql(project: Path, text: str | None, query_file: Path | None, params: tuple[str, ...], **answer) -> None:
    """Ask an ad hoc SELECT query, with the parameters, formats and --endpoint of `query`; read-only.

    A question no saved query answers, without starting a server: a --param NAME=VALUE binds ?NAME
    to the node a label, alias or IRI names, as for saved queries. An update is refused."""
    from kb.queries import ad_hoc_query, read_ad_hoc_query
    if (text is None) == (query_file is None):
        raise QueryError("give the query as QUERY or with --file FILE" + (", not both" if text is not None else ""))
    parsed = _parse_params(params)
    question = ad_hoc_query(text, parsed) if query_file is None else read_ad_hoc_query(query_file, parsed)
    _answer(project, question, parsed, **answer)


@cli.command()
@click.option("--format", "-f", "fmt", type=click.Choice(["turtle", "trig", "nquads", "jsonld", "gexf", "graphml"]),
              help="turtle: all graphs merged; trig, nquads, jsonld: one named graph per article; gexf, "
                   "graphml: who met whom, the network of actors and their shared meetings "
                   "(default: from -o FILE's extension, else turtle).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write atomically to FILE, in the format its extension names (.ttl .trig .nq .jsonld "
                   ".gexf .graphml).")
@SHACL_OPTION
@STORE_OPTION
@_in_project
def export(project: Path, fmt: str | None, output: Path | None, engine: str, store: str) -> None:
    """Export the validated knowledge base, or its network of who met whom (to stdout, or atomically to FILE)."""
    from kb.export import ExportFormat, format_for_output, serialize
    from kb.pipeline import validated_knowledge_base
    from kb.site.network import NetworkFormat, network_file, network_graph, network_table
    from kb.validate import Engine
    chosen = format_for_output((ExportFormat, NetworkFormat), output, fmt, ExportFormat.TURTLE)
    kb = validated_knowledge_base(project, Engine(engine), store=_store(store, project))
    if isinstance(chosen, NetworkFormat):
        _emit(network_file(network_graph(network_table(kb.store, project)), chosen), output)
    else:
        _emit(serialize(kb, chosen), output)


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=7878, show_default=True,
              help="The port on 127.0.0.1; 0 picks a free one.")
@click.option("--location", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the server's store in DIR (new, empty, or a store from an earlier serve); "
                   "by default it is a temporary directory removed on exit.")
@click.option("--writable", is_flag=True,
              help="Accept SPARQL updates and Graph Store writes (from this machine's programs and the "
                   "server's own pages; never from other web pages). Read-only by default.")
@SHACL_OPTION
@STORE_OPTION
@_in_project
def serve(project: Path, port: int, location: Path | None, writable: bool, engine: str, store: str) -> None:
    """Serve the validated knowledge base over SPARQL (Oxigraph's server on 127.0.0.1) until Ctrl-C.

    Prints the query, update and Graph Store URLs. Queries see the union of the named graphs as
    their default graph, as `tradekb query` does; GRAPH ?g names one article's graph. Read-only
    unless --writable; requests from other web pages that would change anything, and any LOAD or
    SERVICE (which make the server fetch URLs), are refused (README: Serve).
    """
    from kb.server import serve as run_server
    from kb.validate import Engine

    def announce(endpoints) -> None:
        click.echo(f"query   {endpoints.query}\nupdate  {endpoints.update}\nstore   {endpoints.store}")
        mode = "writable" if writable else "read-only (--writable accepts updates)"
        _say(f"serving on 127.0.0.1, {mode}; Ctrl-C stops the server")

    run_server(project, port, location, Engine(engine), _say, announce, _store(store, project), writable)
    _say("stopped")



@cli.command()
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("site"),
              show_default=True, help="The directory to write the site to (replaced whole, atomically).")
@SHACL_OPTION
@STORE_OPTION
@_in_project
def site(project: Path, output: Path, engine: str, store: str) -> None:
    """Write the knowledge base as a static website: a page per thing, article, query and more.

    It works offline and from a file share (open DIR/index.html); published where w3id.org
    redirects to, the knowledge base's IRIs resolve (README: The website)."""
    from kb.pipeline import validated_knowledge_base
    from kb.site.static import write_site
    from kb.validate import Engine
    # the store alone: what else the knowledge base holds (where each node was annotated) goes
    write_site(validated_knowledge_base(project, Engine(engine), _say, _store(store, project)).store, output, project, _say)
    click.echo(str(output / "index.html"))


@cli.command()
@click.argument("article", type=click.Path(dir_okay=False, path_type=Path))
@_in_project
def new(project: Path, article: Path) -> None:
    """Copy ARTICLE into seeds/ byte for byte and write the scaffold of its annotations beside it.

    The scaffold holds the guesses a person confirms: the header from the dateline, every known
    name found with its id, each quotation as a candidate statement, the date expressions found;
    each guess is marked TODO (docs/annotations.md)."""
    from kb.authoring.scaffold import new_article
    made = new_article(project, article)
    click.echo(str(made.text_path))
    click.echo(str(made.yaml_path))
    _say(f"{made.todos} TODO(s) to confirm or fill in; then: tradekb check {made.yaml_path}")


@cli.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@_in_project
def check(project: Path, file: Path | None) -> None:
    """Check one annotation FILE against the rest of the corpus (all files if none), with hints.

    Unknown ids, keys and values get the closest known ones; a quote not found, the closest passage
    of the article; a thing other articles report too, a note to define it in the registry; every
    TODO left is a problem. Exit 2 if any problem."""
    from kb.authoring.check import check as check_file
    from kb.errors import AnnotationError
    result = check_file(project, file)
    for advice in result.advice:
        click.echo(f"note: {advice}")
    if result.problems:
        raise AnnotationError(result.problems)
    click.echo(f"no problems: {result.checked}")


@cli.command()
@click.argument("text", required=False, default="")
@_in_project
def ids(project: Path, text: str) -> None:
    """List every defined id (type, label, defining file:line, reports, aliases); TEXT filters them."""
    from kb.authoring.ids import defined_ids, table
    entries = defined_ids(project, text)
    if not entries:
        _say(f"no id, label or alias contains {text!r}" if text else "no ids defined yet")
        return
    click.echo(table(entries, project), nl=False)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path) -> None:
    """Start a new, empty corpus in DIRECTORY: ontology, shapes, schemas and saved queries copied,
    an empty registry, a README stub. Then add articles with `tradekb -C DIRECTORY new`."""
    from kb.authoring.corpus import init_corpus
    for path in init_corpus(directory):
        click.echo(str(path))


def _emit(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        from kb.export import write_atomically
        write_atomically(output, data)


def main() -> None:
    cli(prog_name="tradekb")


if __name__ == "__main__":
    main()
