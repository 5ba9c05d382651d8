"""YAML read with libyaml (PyYAML's C parser), keeping the line of every mapping and key.

The annotation files are written by people, so every problem must name its line; and a corpus of
thousands of files must load fast, which a pure-Python parser does not. Scalars follow YAML 1.2's
core schema where it matters to people: only true/false are booleans ("no" stays text), and dates
stay text so that a bad date is reported with its line instead of failing inside the parser.

What a person does not need in an annotation, and an attacker could use, is refused with its
line and column rather than left to fail deep inside (a traceback, or all the memory there is):
aliases (`*name`: ten lines of them expand to a billion items, or refer to themselves), nesting
deeper than MAX_DEPTH (Python's recursion would give out), characters YAML forbids (NUL, DEL,
even in a comment) and values XML 1.0 cannot carry (a NUL written as an escape), values longer
than MAX_VALUE, and more than MAX_NODES values in a file. The file's size is bounded where it is
read (kb.inputfiles).
"""

from __future__ import annotations

from typing import Any

import yaml

from kb.inputfiles import NOT_XML, MIB, describe, line_column

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml: same results, slower
    _Loader = yaml.SafeLoader

YAMLError = yaml.YAMLError
MarkedYAMLError = yaml.MarkedYAMLError
MAX_DEPTH = 32  # annotations nest 5 deep; Python's recursion gives out near 500
MAX_VALUE = MIB  # characters in one value (an article's words are quoted a sentence at a time)
# Values (nodes) in one file, as counted from above by _most_nodes: each costs ~300 bytes while
# it is parsed, so a file of 16 MiB of "1," would take 2.6 GB. The registry of a generated corpus
# of a million triples has 70,000 (counted as 100,000).
MAX_NODES = 1_000_000


class LineDict(dict):
    """A mapping that knows its own line and the line of each of its keys (1-based)."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: Any, fallback: int = 0) -> int:
        return self.key_lines.get(key, fallback)


class LineList(list):
    """A sequence that knows its line and the line of each of its items (1-based)."""

    line: int = 0
    item_lines: list

    def line_of(self, index: int) -> int:
        return self.item_lines[index]


class DuplicateKeyError(MarkedYAMLError):
    """The same key twice in one mapping: YAML forbids it, and PyYAML would keep the last silently."""


def _check(node: yaml.ScalarNode) -> None:
    """Refuse a value too long, or one with a character XML 1.0 cannot carry (written as an escape,
    "\\0": libyaml has refused those in the text itself)."""
    if len(node.value) > MAX_VALUE:
        raise MarkedYAMLError(problem=f"a value longer than {MAX_VALUE:,} characters", problem_mark=node.start_mark)
    bad = NOT_XML.search(node.value)
    if bad:
        raise MarkedYAMLError(problem=f"character {describe(bad.group())} in a value: RDF/XML (XML 1.0) "
                                      "cannot carry it", problem_mark=node.start_mark)


def _scalar(node: yaml.ScalarNode, check: bool) -> Any:
    if check:
        _check(node)
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


def _convert(node: yaml.Node, check: bool, depth: int = 0) -> Any:
    """`check`: whether the values need _check (see load_yaml)."""
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, check)
    if depth == MAX_DEPTH:
        raise MarkedYAMLError(problem=f"nested more than {MAX_DEPTH} deep", problem_mark=node.start_mark)
    depth += 1
    if isinstance(node, yaml.MappingNode):
        out = LineDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, check, depth)
            if isinstance(key, (dict, list)):
                raise MarkedYAMLError(problem="a mapping key must be a plain value", problem_mark=key_node.start_mark)
            if key in out.key_lines:
                raise DuplicateKeyError(problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark)
            out.key_lines[key] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, check, depth)
        return out
    out = LineList([_convert(item, check, depth) for item in node.value])
    out.line = node.start_mark.line + 1
    out.item_lines = [item.start_mark.line + 1 for item in node.value]
    return out


def _most_nodes(text: str) -> int:
    """At most how many nodes `text` holds: every one but the first starts after one of these
    characters (a block item after "-" or a line break, a value after ":", a flow item after "[",
    "{" or ","); real files have about two-thirds of this count."""
    return 1 + sum(text.count(c) for c in "\n-:?,[{")


def _mark(text: str, index: int) -> yaml.Mark:
    line, column = line_column(text, index)
    return yaml.Mark("<text>", index, line - 1, column - 1, None, None)


def load_yaml(text: str) -> Any:
    """Parse one YAML document into LineDict / LineList / plain scalars; MarkedYAMLError, with the
    line and column, if it is broken or holds what the module docstring says is refused."""
    if _most_nodes(text) > MAX_NODES:
        raise MarkedYAMLError(problem=f"more than {MAX_NODES:,} values in one file")
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.reader.ReaderError as e:
        # The first unacceptable character: its first occurrence (libyaml gives a byte offset).
        bad = chr(e.character) if isinstance(e.character, int) else e.character
        raise MarkedYAMLError(problem=f"character {describe(bad)} is not allowed in YAML, not even in a comment",
                              problem_mark=_mark(text, text.index(bad))) from None
    if node is None:
        return None
    if "*" in text:  # an alias is written *name; the composer has made it the very node it names
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                raise MarkedYAMLError(problem=f"an alias (*{event.anchor}): write the value out instead",
                                      problem_mark=event.start_mark)
    # Only a file this long can hold a value too long, and only an escape a character XML forbids.
    return _convert(node, len(text) > MAX_VALUE or "\\" in text)
