"""Shared fixtures: a tiny, valid tradekb project copied into a temporary directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from website import exported, served_site, static_directory, static_site  # noqa: F401 (the website's fixtures, one of each per session)

REPO = Path(__file__).resolve().parent.parent
MINI = Path(__file__).resolve().parent / "fixtures" / "mini"


def make_mini_project(target: Path) -> Path:
    """Copy tests/fixtures/mini and the repository's ontology/ into `target`; return `target`."""
    shutil.copytree(MINI, target, dirs_exist_ok=True)
    shutil.copytree(REPO / "ontology", target / "ontology", dirs_exist_ok=True)
    return target


@pytest.fixture
def mini_project(tmp_path: Path) -> Path:
    """A fresh copy of the mini project (seeds/ and ontology/) that a test may break at will."""
    return make_mini_project(tmp_path / "mini")


@pytest.fixture(scope="session")
def seed_kb():
    """The knowledge base built from the repository's own five articles (read-only: do not modify)."""
    from kb.pipeline import load_knowledge_base
    return load_knowledge_base(REPO)


@pytest.fixture(scope="session")
def generated_kb(tmp_path_factory):
    """The knowledge base of a generated corpus of about 10,000 triples (bench/generate.py, seed 7,
    no planted defects; read-only: do not modify)."""
    import sys
    sys.path.insert(0, str(REPO / "bench"))
    from generate import generate
    from kb.pipeline import load_knowledge_base
    project = tmp_path_factory.mktemp("generated") / "corpus"
    generate(10_000, project, seed=7)
    return load_knowledge_base(project)


@pytest.fixture(scope="session")
def seed_store(seed_kb):
    """The seed knowledge base's embedded Oxigraph store."""
    return seed_kb.store


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory):
    """Oxigraph's SPARQL server on a free loopback port with a fresh store (shared by the session)."""
    from servers import start_oxigraph, stop
    server = start_oxigraph(tmp_path_factory.mktemp("oxigraph"))
    yield server
    stop(server)


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory):
    """Virtuoso on free loopback ports with a fresh database (shared by the session)."""
    from servers import start_virtuoso, stop
    server = start_virtuoso(tmp_path_factory.mktemp("virtuoso"))
    yield server
    stop(server)


@pytest.fixture(scope="session", params=["oxigraph", "virtuoso"])
def sparql_server(request):
    """Each real SPARQL server in turn: a test using it runs once against Oxigraph, once against Virtuoso."""
    return request.getfixturevalue(f"{request.param}_server")
