"""YAML read with libyaml (PyYAML's C parser), keeping the line of every mapping and key.

The annotation files are written by people, so every problem must name its line; and a corpus of
thousands of files must load fast, which a pure-Python parser does not. Scalars follow YAML 1.2's
core schema where it matters to people: only true/false are booleans ("no" stays text), and dates
stay text so that a bad date is reported with its line instead of failing inside the parser.
"""

from __future__ import annotations

from typing import Any

import yaml

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml: same results, slower
    _Loader = yaml.SafeLoader

YAMLError = yaml.YAMLError
MarkedYAMLError = yaml.MarkedYAMLError


class LineDict(dict):
    """A mapping that knows its own line and the line of each of its keys (1-based)."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: Any, fallback: int = 0) -> int:
        return self.key_lines.get(key, fallback)


class LineList(list):
    """A sequence that knows its line (1-based)."""

    line: int = 0


class DuplicateKeyError(MarkedYAMLError):
    """The same key twice in one mapping: YAML forbids it, and PyYAML would keep the last silently."""


def _scalar(node: yaml.ScalarNode) -> Any:
    tag, value = node.tag, node.value
    if tag.endswith(":null"):
        return None
    if tag.endswith(":bool"):
        low = value.lower()
        return low == "true" if low in ("true", "false") else value
    if tag.endswith(":int"):
        try:
            return int(value.replace("_", ""))
        except ValueError:
            return value
    if tag.endswith(":float"):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _convert(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = LineDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = _convert(key_node)
            if isinstance(key, (dict, list)):
                raise MarkedYAMLError(problem="a mapping key must be a plain value", problem_mark=key_node.start_mark)
            if key in out.key_lines:
                raise DuplicateKeyError(problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark)
            out.key_lines[key] = key_node.start_mark.line + 1
            out[key] = _convert(value_node)
        return out
    if isinstance(node, yaml.SequenceNode):
        out = LineList(_convert(item) for item in node.value)
        out.line = node.start_mark.line + 1
        return out
    return _scalar(node)


def load_yaml(text: str) -> Any:
    """Parse one YAML document into LineDict / LineList / plain scalars (MarkedYAMLError if broken)."""
    node = yaml.compose(text, Loader=_Loader)
    return None if node is None else _convert(node)
