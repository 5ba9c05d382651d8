"""The file formats tradekb writes (query results, RDF exports, the network), each an enum whose
value starts with (name, file extension)."""

from __future__ import annotations

import enum


class FileFormat(enum.Enum):
    """A format's name (as `--format` takes it) and file extension: value[0] and value[1]."""

    @property
    def label(self) -> str:
        return self.value[0]

    @property
    def extension(self) -> str | None:
        return self.value[1]
