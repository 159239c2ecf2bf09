"""File positions inside YAML scalar values: where a line and column of a templated property sit in the file."""

from __future__ import annotations

from typing import Any

import yaml

from flowrun.model.document import Path_
from flowrun.model.yaml_nodes import Loader


class ScalarSpans:
    """Maps (document path, template line, template column) to a 1-based (line, column) of the file.

    The YAML is composed again on first use only (a flow with no problem never pays for it)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._root: yaml.Node | None = None
        self._loader: Any = None
        self._composed = False

    def _compose(self) -> yaml.Node | None:
        if not self._composed:
            self._composed = True
            self._loader = Loader(self.text)
            try:
                self._root = self._loader.get_single_node()
            except yaml.YAMLError:
                self._root = None
        return self._root

    def node(self, path: Path_) -> yaml.Node | None:
        """The node at `path` (keys and list indexes), or None."""
        node = self._compose()
        for part in path:
            if isinstance(node, yaml.MappingNode):
                self._loader.flatten_mapping(node)
                node = next((v for k, v in node.value if self._key(k) == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
            else:
                return None
        return node

    def _key(self, key_node: yaml.Node) -> Any:
        if isinstance(key_node, yaml.ScalarNode):
            try:
                return self._loader.construct_object(key_node, deep=True)
            except yaml.YAMLError:
                return key_node.value
        return None

    def position(self, path: Path_, line: int = 1, column: int = 1) -> tuple[int, int] | None:
        """Where the template's `line`:`column` of the scalar at `path` is in the file (None: unknown)."""
        node = self.node(path)
        if not isinstance(node, yaml.ScalarNode):
            return None
        start, end = node.start_mark, node.end_mark
        if node.style == "|":
            return self._in_literal_block(start.line, line, column)
        if node.style == ">" or start.line != end.line or line != 1:
            return start.line + 1, start.column + 1
        quote = 1 if node.style in ("'", '"') else 0
        return start.line + 1, start.column + 1 + quote + column - 1

    def _in_literal_block(self, indicator_line: int, line: int, column: int) -> tuple[int, int]:
        lines = self.text.split("\n")
        content = [row for row in lines[indicator_line + 1:] if row.strip()][:1]
        indent = len(content[0]) - len(content[0].lstrip(" ")) if content else 0
        return indicator_line + 1 + line, indent + column
