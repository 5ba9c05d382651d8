"""`tradekb init DIR`: a new, empty corpus in tradekb's layout, so that a newsroom covering another
trade dispute can start its own: the ontology, the shapes, the schemas and the saved queries of
this tradekb copied (they hold nothing specific to one dispute), an empty registry naming its
schema, a README stub and a .gitignore for the build outputs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from kb.annotations import REGISTRY
from kb.authoring.schema import schema_line
from kb.errors import TradeKBError
from kb.export import write_atomically
from kb.outputs import BUILD, WORK

TOOL_ROOT = Path(__file__).resolve().parents[2]  # where this tradekb's ontology/ and queries/ are
COPIED = ("ontology", "queries")

REGISTRY_STUB = """{schema}
# The things several articles share, each defined once (docs/annotations.md): governments,
# organizations, people, places, products, topics, and the meetings, measures and statements that
# more than one article reports. Definitions only: quotes, statuses and dates live in the articles.

actors: []
places: []
products: []
topics: []
"""

README_STUB = """# {name}

News articles about one trade dispute, annotated and built into a knowledge base with tradekb.
(Say here which dispute: this heading and this paragraph are the website's title and introduction.)

```sh
tradekb new ARTICLE.txt      # copy an article into seeds/ and scaffold its annotations
tradekb check seeds/NNN_….yaml   # check them, until no problem is left
tradekb ids [TEXT]           # the ids already defined
tradekb build                # load, validate, reason, run the saved queries, export into build/
```

The annotation format is described in tradekb's docs/annotations.md.
"""


class CorpusExists(TradeKBError):
    """`init` was given a directory that already holds files."""


def init_corpus(directory: Path) -> list[Path]:
    """Create the new corpus at `directory` (absent or empty); the paths written."""
    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise CorpusExists(f"{directory}: already exists and is not an empty directory; init makes a new corpus")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in COPIED:
        shutil.copytree(TOOL_ROOT / name, directory / name, ignore=shutil.ignore_patterns("__pycache__", ".*"))
        written.append(directory / name)
    write_atomically(directory / "seeds" / REGISTRY, REGISTRY_STUB.format(schema=schema_line(REGISTRY)))
    write_atomically(directory / "README.md", README_STUB.format(name=directory.resolve().name))
    write_atomically(directory / ".gitignore", f"/{BUILD}\n/{WORK}/\n")
    return [*written, directory / "seeds" / REGISTRY, directory / "README.md", directory / ".gitignore"]
