"""One error type for every mistake a user can make, each pointing back to where it was made."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Location:
    """A place in an input file: the path, a 1-based line number (0 when unknown) and, where the
    line alone would leave a person searching (a control character, a bad byte), a 1-based column."""

    path: Path
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not str(self.path) or str(self.path) == ".":
            return ""
        if not self.line:
            return str(self.path)
        return f"{self.path}:{self.line}:{self.column}" if self.column else f"{self.path}:{self.line}"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, said in one line."""

    location: Location
    message: str

    def __str__(self) -> str:
        where = str(self.location)
        return f"{where}: {self.message}" if where else self.message


class TradeKBError(Exception):
    """A user's mistake (bad input, unknown name): reported as one line per problem, no traceback."""

    def __init__(self, problems: list[Problem | str] | str):
        if isinstance(problems, str):
            problems = [problems]
        located = [p if isinstance(p, Problem) else Problem(Location(Path("")), p) for p in problems]
        self.problems = sorted(dict.fromkeys(located), key=lambda p: p.location)
        super().__init__("\n".join(str(p) for p in self.problems))


class AnnotationError(TradeKBError):
    """The annotations or articles cannot be loaded."""


class QueryError(TradeKBError):
    """A saved query is unknown, malformed, or given a bad parameter."""


class DependencyError(TradeKBError):
    """A tool tradekb runs is missing or failed: Java, HermiT, Jena."""


class ServerError(TradeKBError):
    """A SPARQL server could not be reached, or refused or garbled a request: one line naming the
    server, the request (method and URL, never credentials) and what it answered."""


class FileSystemError(TradeKBError):
    """The file system refused to read or write a file: a full disk, a read-only file system, a
    permission denied. One line naming the path and the cause; what was there before stays."""


def io_error(error: OSError, doing: str | None = None) -> FileSystemError:
    """An OSError as one line naming the path and the cause (RocksDB's errors carry no errno, and
    name the path in their message), after what was being done, if said.

    >>> str(io_error(OSError(28, "No space left on device", "build/tradekb.nq")))
    'build/tradekb.nq: No space left on device'
    >>> str(io_error(OSError("IO error: While mkdir if missing: /p/s: Read-only file system"), "cannot write the store"))
    'cannot write the store: IO error: While mkdir if missing: /p/s: Read-only file system'
    """
    if error.filename is not None:
        where = f"{error.filename} -> {error.filename2}" if error.filename2 is not None else str(error.filename)
        detail = f"{where}: {error.strerror or error}"
    else:
        detail = " ".join(str(error).split()) or type(error).__name__
    return FileSystemError(f"{doing}: {detail}" if doing else detail)


@contextmanager
def writing_to(path: Path) -> Iterator[None]:
    """An OSError raised in the block names `path` if it names no file: a write(2) that fails on a
    full disk raises one that names nothing."""
    try:
        yield
    except OSError as error:
        if error.filename is None:
            error.filename = str(path)
        raise
