"""Composed YAML node graphs: the fastest safe loader and the guards against alias bombs, cycles and deep nesting."""

from __future__ import annotations

import yaml

from flowrun.errors import InvalidFlowError, Problem

__all__ = ["MAX_YAML_DEPTH", "MAX_YAML_VALUES", "Loader", "check_node_graph"]

try:  # the C loader is several times faster; fall back to pure Python
    from yaml import CSafeLoader as Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as Loader  # type: ignore[assignment]

#: Values of one document once its aliases are expanded (a "billion laughs" file stops here).
MAX_YAML_VALUES = 200_000
#: Levels of nesting of one document.
MAX_YAML_DEPTH = 128


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _refuse(node: yaml.Node, file: str, message: str, hint: str) -> InvalidFlowError:
    mark = node.start_mark
    return InvalidFlowError([Problem(message, file=file, line=mark.line + 1, column=mark.column + 1)], hint=hint)


def check_node_graph(root: yaml.Node, file: str) -> int:
    """Refuse a recursive alias, nesting deeper than MAX_YAML_DEPTH, or aliases that expand the document
    beyond MAX_YAML_VALUES values; return the number of values. Iterative: a hostile file never reaches
    Python's recursion limit."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_YAML_VALUES:
                raise _refuse(node, file, f"YAML aliases expand this value to more than {MAX_YAML_VALUES:,} values",
                              "an anchor repeated through nested aliases grows exponentially; write the data out")
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise _refuse(node, file, "recursive YAML alias: this value contains itself",
                          "an alias (*name) cannot point to an anchor (&name) that encloses it")
        if depth > MAX_YAML_DEPTH:
            raise _refuse(node, file, f"the YAML is nested more than {MAX_YAML_DEPTH} levels deep",
                          "flatten the structure")
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]
