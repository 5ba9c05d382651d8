"""Export: every format re-parses to the same graph, output is byte-stable, writes are atomic, and
an export is the concatenation of per-graph pieces that a rebuild can copy from the previous file."""

from __future__ import annotations

import pickle
import json
import os
import random
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from kb.annotations import load_corpus
from kb.export import (PREFIX_IRIS, ExportFormat, ExportLayout, graph_piece, previous_pieces, replace_file,
                       serialize, write_atomically, write_export)
from kb.graph import build_graph, graph_iri, load_ontology

REPO = Path(__file__).resolve().parents[1]
ONTOLOGY = str(graph_iri("ontology"))
RDFLIB_FORMAT = {"turtle": "turtle", "trig": "trig", "nquads": "nquads", "jsonld": "json-ld"}


def filled(quads: list[ox.Quad], batch: int = 1000) -> ox.Store:
    """A new memory store holding `quads`, added in their order as kb/graph.py adds them: the
    ontology's as terms (N-Quads text would rename its blank nodes), the others as N-Quads text
    loaded in batches."""
    store = ox.Store()
    store.extend(q for q in quads if q.graph_name.value == ONTOLOGY)
    lines = [f"{q} .\n" for q in quads if q.graph_name.value != ONTOLOGY]
    for start in range(0, len(lines), batch):
        store.load("".join(lines[start:start + batch]), format=ox.RdfFormat.N_QUADS, lenient=True)
    return store


def graphs_of(store: ox.Store) -> list[str]:
    return [g.value for g in store.named_graphs()]


def full_export(store: ox.Store, fmt: ExportFormat, path: Path) -> ExportLayout:
    return write_export(fmt, path, graphs_of(store), lambda g: graph_piece(store, g, fmt))


def test_turtle_is_the_union_of_all_graphs(seed_kb):
    data = serialize(seed_kb, ExportFormat.TURTLE)
    parsed = Graph().parse(data=data, format="turtle")
    assert len(parsed) == len(seed_kb.union())
    assert isomorphic(parsed, seed_kb.union())
    assert {q.triple for q in ox.parse(data, format=ox.RdfFormat.TURTLE)} == {q.triple for q in seed_kb.quads()}


@pytest.mark.parametrize("fmt", [ExportFormat.TRIG, ExportFormat.NQUADS, ExportFormat.JSONLD], ids=lambda f: f.label)
def test_quad_formats_keep_one_named_graph_per_article(seed_kb, fmt):
    data = serialize(seed_kb, fmt)
    parsed = Dataset()
    parsed.parse(data=data, format=RDFLIB_FORMAT[fmt.label])
    expected = {g.identifier: g for g in seed_kb.dataset.graphs() if len(g)}
    actual = {g.identifier: g for g in parsed.graphs() if len(g)}
    assert set(actual) == set(expected)
    assert graph_iri("000_f0205f4675e93af6") in actual and graph_iri("registry") in actual
    for name, graph in expected.items():
        assert isomorphic(actual[name], graph), name
    # pyoxigraph's parsers keep blank node labels, so the quads come back exactly
    assert set(ox.parse(data, format=fmt.rdf_format)) == set(seed_kb.quads())


def test_json_ld_is_an_array_of_one_graph_object_per_graph_in_order(seed_kb):
    document = json.loads(serialize(seed_kb, ExportFormat.JSONLD))
    assert [graph["@id"] for graph in document] == seed_kb.graph_names


@pytest.mark.parametrize("fmt", list(ExportFormat), ids=lambda f: f.label)
def test_a_piece_is_what_pyoxigraph_writes_for_the_graphs_quads_alone(seed_kb, fmt):
    for graph in seed_kb.graph_names:
        quads = list(seed_kb.quads(graph))
        document = ox.serialize(quads if fmt.keeps_graphs else [q.triple for q in quads],
                                format=fmt.rdf_format, prefixes=PREFIX_IRIS)
        body = b"".join(line for line in document.splitlines(keepends=True) if not line.startswith(b"@prefix "))
        if fmt is ExportFormat.JSONLD:
            body = body.removeprefix(b"[").removesuffix(b"]")
        assert graph_piece(seed_kb.store, graph, fmt) == body, graph


@pytest.mark.parametrize("fmt", list(ExportFormat), ids=lambda f: f.label)
def test_output_is_byte_stable(seed_kb, fmt):
    again = build_graph(load_corpus(REPO), load_ontology(REPO))
    assert serialize(again, fmt) == serialize(seed_kb, fmt) == serialize(seed_kb, fmt)


def test_a_graphs_store_order_depends_only_on_the_order_its_quads_were_added(seed_kb):
    # every graph's quads interleaved with the others', in batches that cut across graphs
    quads = random.Random(1).sample(list(seed_kb.quads()), len(seed_kb))
    everything = filled(quads)
    for graph in seed_kb.graph_names:
        own = [q for q in quads if q.graph_name.value == graph]
        alone = filled(own, batch=333)
        for fmt in ExportFormat:
            assert graph_piece(alone, graph, fmt) == graph_piece(everything, graph, fmt), (graph, fmt)
        # and that order is what the piece follows
        assert graph_piece(filled(own[::-1]), graph, ExportFormat.NQUADS) != graph_piece(alone, graph, ExportFormat.NQUADS)


def test_a_quad_removed_and_added_again_keeps_its_old_place_in_a_memory_store():
    # why a rebuild renders a changed graph from a new store, never from one it removed quads from
    graph, p = ox.NamedNode("http://example.com/g"), ox.NamedNode("http://example.com/p")
    quads = [ox.Quad(ox.NamedNode(f"http://example.com/s{i}"), p, ox.Literal(str(i)), graph) for i in range(3)]
    store = filled(quads)
    store.remove(quads[0])
    store.add(quads[0])
    assert graph_piece(store, graph.value, ExportFormat.NQUADS) == graph_piece(filled(quads), graph.value, ExportFormat.NQUADS)
    assert graph_piece(store, graph.value, ExportFormat.NQUADS) != graph_piece(
        filled([*quads[1:], quads[0]]), graph.value, ExportFormat.NQUADS)


@pytest.mark.parametrize("fmt", list(ExportFormat), ids=lambda f: f.label)
def test_an_export_with_two_pieces_replaced_from_another_store_is_that_stores_full_export(seed_kb, tmp_path, fmt):
    quads = list(seed_kb.quads())
    article, derived = str(graph_iri("000_f0205f4675e93af6")), str(graph_iri("derived"))
    dropped = next(q for q in quads if q.graph_name.value == article)
    added = ox.Quad(ox.NamedNode("https://example.com/new"), ox.NamedNode("https://example.com/p"), ox.Literal("new"),
                    ox.NamedNode(derived))
    before, after = filled(quads), filled([q for q in quads if q != dropped] + [added])
    layout = full_export(before, fmt, tmp_path / "before")
    previous = previous_pieces(tmp_path / "before", layout)
    rebuilt = write_export(fmt, tmp_path / "rebuilt", graphs_of(after),
                           lambda g: graph_piece(after, g, fmt) if g in (article, derived) else previous(g))
    full = full_export(after, fmt, tmp_path / "full")
    assert (tmp_path / "rebuilt").read_bytes() == (tmp_path / "full").read_bytes() != (tmp_path / "before").read_bytes()
    assert rebuilt.pieces == full.pieces
    assert [graph for graph, _, _ in full.pieces] == sorted(graphs_of(after))


@pytest.mark.parametrize("fmt", list(ExportFormat), ids=lambda f: f.label)
def test_an_empty_named_graph_adds_nothing_to_an_export(seed_kb, tmp_path, fmt):
    store = filled(list(seed_kb.quads()))
    full_export(store, fmt, tmp_path / "without")
    store.add_graph(ox.NamedNode(str(graph_iri("000_zzz"))))  # sorts between two articles
    full_export(store, fmt, tmp_path / "with")
    assert (tmp_path / "with").read_bytes() == (tmp_path / "without").read_bytes()


def test_previous_pieces_reads_the_layouts_pieces_and_refuses_a_touched_file(seed_kb, tmp_path):
    path = tmp_path / "tradekb.trig"
    written = full_export(seed_kb.store, ExportFormat.TRIG, path)
    layout = pickle.loads(pickle.dumps(written))  # as a build keeps it for the next
    assert layout == written and layout.size == path.stat().st_size
    previous = previous_pieces(path, layout)
    assert [previous(g) for g in seed_kb.graph_names] == [
        graph_piece(seed_kb.store, g, ExportFormat.TRIG) for g in seed_kb.graph_names]

    def touched(atime_ns: int, mtime_ns: int) -> bool:
        os.utime(path, ns=(atime_ns, mtime_ns))
        return previous_pieces(path, layout) is None
    written = path.stat()
    assert touched(written.st_atime_ns, written.st_mtime_ns + 1)  # only its time changed
    assert not touched(written.st_atime_ns, written.st_mtime_ns)
    with open(path, "r+b") as file:
        file.truncate(written.st_size - 1)
    assert touched(written.st_atime_ns, written.st_mtime_ns)  # only its size changed
    path.unlink()
    assert previous_pieces(path, layout) is None


def test_format_names_and_extensions():
    assert ExportFormat.named("ttl") is ExportFormat.TURTLE
    assert ExportFormat.named("trig").extension == "trig"
    assert ExportFormat.TURTLE.media_type == "text/turtle"


def test_an_atomic_write_leaves_the_old_file_when_it_fails(tmp_path):
    target = tmp_path / "out.ttl"
    target.write_text("old", encoding="utf-8")

    with pytest.raises(TypeError):
        write_atomically(target, object())  # not bytes: fails while writing
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.ttl"]  # no temporary file left behind
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.ttl"]


def test_replacing_a_file_swaps_it_in_whole_and_leaves_the_old_one_to_delete(tmp_path):
    target, new = tmp_path / "out.nq", tmp_path / ".out.nq.tmp"
    target.write_bytes(b"old")
    with open(target, "rb") as reader:  # a reader of the old file keeps reading the old file
        new.write_bytes(b"new")
        replace_file(new, target)
        assert reader.read() == b"old"
    assert target.read_bytes() == b"new"
    assert not new.exists() or new.read_bytes() == b"old"  # exchanged (Linux), or renamed over
    new.unlink(missing_ok=True)
    fresh = tmp_path / ".other.tmp"
    fresh.write_bytes(b"first")
    replace_file(fresh, tmp_path / "other.nq")  # nothing to exchange with: a plain rename
    assert (tmp_path / "other.nq").read_bytes() == b"first" and not fresh.exists()
    with pytest.raises(FileNotFoundError):
        replace_file(tmp_path / "missing", target)
    assert target.read_bytes() == b"new"
