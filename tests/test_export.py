"""Export: every format re-parses to the same graph, output is byte-stable, writes are atomic."""

from __future__ import annotations


import pytest
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from kb.export import ExportFormat, serialize, write_atomically
from kb.graph import graph_iri


def test_turtle_is_the_union_of_all_graphs(seed_kb):
    parsed = Graph().parse(data=serialize(seed_kb, ExportFormat.TURTLE), format="turtle")
    assert len(parsed) == len(seed_kb.union())
    assert isomorphic(parsed, seed_kb.union())


@pytest.mark.parametrize("fmt", [ExportFormat.TRIG, ExportFormat.NQUADS, ExportFormat.JSONLD])
def test_quad_formats_keep_one_named_graph_per_article(seed_kb, fmt):
    parsed = Dataset()
    parsed.parse(data=serialize(seed_kb, fmt), format={"trig": "trig", "nquads": "nquads",
                                                        "jsonld": "json-ld"}[fmt.label])
    expected = {g.identifier: g for g in seed_kb.dataset.graphs() if len(g)}
    actual = {g.identifier: g for g in parsed.graphs() if len(g)}
    assert set(actual) == set(expected)
    assert graph_iri("000_f0205f4675e93af6") in actual and graph_iri("registry") in actual
    for name, graph in expected.items():
        assert isomorphic(actual[name], graph), name


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_output_is_byte_stable(seed_kb, fmt):
    assert serialize(seed_kb, fmt) == serialize(seed_kb, fmt)


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
