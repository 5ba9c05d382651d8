"""Reading the project's own files: only inside the project, of bounded size, and as stored.

What tradekb reads from seeds/, ontology/ and queries/ can end up in exports that get published,
so a path that leads outside the project directory (`seeds/999_passwd.txt -> /etc/passwd`) is
refused wherever tradekb would read it, never followed: only paths the user names (`-C DIR`,
`--store oxigraph:PATH`, `-o FILE`) may lie elsewhere. A symbolic link that stays inside the
project is followed, since it reads nothing the project does not already hold.

A text is decoded as strict UTF-8 without newline translation, so that offsets count the code
points of the file as stored (a CRLF is two), and a problem names the line and column.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from kb.errors import Location, Problem, TradeKBError

MIB = 1 << 20
# The largest files read. An article is a news story (the seeds' are 2-20 KB); an annotation file
# grows with the corpus only for registry.yaml (1 MB at a million triples). The article limit also
# keeps its text, escaped, under the 16 MiB that Oxigraph's parser takes in one literal.
ARTICLE_LIMIT = 4 * MIB
ANNOTATION_LIMIT = 16 * MIB
QUERY_LIMIT = 1 * MIB
ONTOLOGY_LIMIT = 16 * MIB

# What XML 1.0 cannot carry (its Char production): RDF/XML, which HermiT reads, would be malformed.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class InputFileError(TradeKBError):
    """A project file cannot be read: outside the project, not a regular file, too large, not UTF-8."""


class NotAProject(TradeKBError):
    """The directory a command was run on holds no tradekb project."""


def require_project(project: Path) -> None:
    """Refuse a directory with neither seeds/ nor queries/: a command run in the wrong place would
    otherwise answer as if the project were empty (no saved queries, an empty list, exit 0).

    >>> require_project(Path("/"))
    Traceback (most recent call last):
    kb.inputfiles.NotAProject: /: not a tradekb project (no seeds/ or queries/ here); run inside one or give -C DIR
    """
    if not (project / "seeds").is_dir() and not (project / "queries").is_dir():
        raise NotAProject(f"{project}: not a tradekb project (no seeds/ or queries/ here); run inside one or give -C DIR")


def line_column(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column (in code points) of `text[index]`; CRLF, CR and LF each end a line.

    >>> line_column("ab\\r\\ncd\\re", 7)
    (3, 1)
    """
    before = text[:index]
    line = 1 + before.count("\n") + before.count("\r") - before.count("\r\n")
    return line, index - max(before.rfind("\n"), before.rfind("\r"))


def as_lf(text: str) -> str:
    """`text` with every line break (CRLF, CR or LF) written LF, as Python's text mode reads it."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


class ProjectFiles:
    """The files of one project, read by the rules above. Each directory's real path is worked out
    once per instance (one load of a corpus reads thousands of files from the same one), then a
    file costs one lstat unless it is itself a symbolic link."""

    def __init__(self, project: Path) -> None:
        self.root = os.path.realpath(project)
        self._directories: dict[str, str] = {}

    def inside(self, path: Path) -> str:
        """`path` with every symbolic link resolved, if that is inside the project; else InputFileError."""
        parent, name = os.path.split(os.fspath(path))
        directory = self._directories.get(parent)
        if directory is None:
            directory = self._directories[parent] = os.path.realpath(parent)
        target = os.path.realpath(path) if os.path.islink(path) else os.path.join(directory, name)
        if not (target + os.sep).startswith(self.root + os.sep):
            raise InputFileError([Problem(Location(Path(path)), f"leads to {target}, outside the project {self.root}; "
                                          "tradekb reads no file outside the project directory (copy it in)")])
        return target

    def read_bytes(self, path: Path, limit: int) -> bytes:
        """The content of the regular file `path` inside the project, at most `limit` bytes (else
        InputFileError): a FIFO or a device would block or never end, a huge file fill the memory."""
        target = self.inside(path)

        def refuse(message: str) -> InputFileError:
            return InputFileError([Problem(Location(Path(path)), message)])
        try:
            fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as e:
            raise refuse(f"cannot read: {e.strerror}") from None
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            os.close(fd)
            raise refuse("not a regular file" + (" but a directory" if stat.S_ISDIR(status.st_mode) else ""))
        with os.fdopen(fd, "rb") as file:
            try:  # as much as it holds (a buffer of `limit` bytes each time would cost more than the
                data = file.read(min(status.st_size, limit) + 1)  # reading), and if it grew meanwhile,
                if len(data) > status.st_size:  # up to the limit
                    data += file.read(limit + 1 - len(data))
            except OSError as e:
                raise refuse(f"cannot read: {e.strerror}") from None
        if len(data) > limit:
            raise refuse(f"larger than the {limit // MIB} MiB tradekb reads in one such file")
        return data

    def read_text(self, path: Path, limit: int) -> str:
        """The UTF-8 text of `path` (read_bytes), line breaks as stored; InputFileError names the
        line and column of the first byte that is not UTF-8."""
        data = self.read_bytes(path, limit)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            good = data[:e.start].decode("utf-8")
            line, column = line_column(good, len(good))
            raise InputFileError([Problem(Location(Path(path), line, column), f"not UTF-8: byte 0x{data[e.start]:02x} "
                                          f"({e.reason}); save the file as UTF-8")]) from None


def read_text(project: Path, path: Path, limit: int) -> str:
    """ProjectFiles.read_text, for one file."""
    return ProjectFiles(project).read_text(path, limit)


def read_turtle(project: Path, name: Path):
    """The project's Turtle file `name` (ontology/tradekb.ttl, ontology/shapes.ttl) as an rdflib
    Graph, read as every project file is; broken Turtle is one InputFileError naming its line."""
    from rdflib import Graph  # imported here: only the stages that read Turtle pay for it
    from rdflib.plugins.parsers.notation3 import BadSyntax
    path = Path(project) / name
    text = read_text(project, path, ONTOLOGY_LIMIT)
    try:
        return Graph().parse(data=text, format="turtle")
    except BadSyntax as e:
        raise InputFileError([Problem(Location(path, e.lines + 1), f"broken Turtle: {e._why}")]) from None


def describe(character: str) -> str:
    """U+0000 and the like, as a person can look it up."""
    return f"U+{ord(character):04X}"
