"""YAML text -> plain Python data, with the line and column of every key and item."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flowrun.errors import InvalidFlowError, Problem

try:  # the C loader is several times faster; fall back to pure Python
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path_ = tuple[str | int, ...]
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_BOOL = "tag:yaml.org,2002:bool"
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
#: Values of one document once its aliases are expanded (a "billion laughs" file stops here).
MAX_YAML_VALUES = 200_000
#: Levels of nesting of one document.
MAX_YAML_DEPTH = 128


@dataclass
class Document:
    """A parsed YAML file: its data and where each part of it was written."""

    data: Any
    file: str
    text: str
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path_) -> tuple[int | None, int | None]:
        """Line and column of `path`, or of its nearest located ancestor."""
        while True:
            if path in self.positions:
                return self.positions[path]
            if not path:
                return None, None
            path = path[:-1]

    def problem(self, path: Path_, message: str, where: str | None = None) -> Problem:
        line, col = self.locate(path)
        return Problem(message, file=self.file, line=line, column=col, where=where)


class _Builder:
    def __init__(self, loader: Any, doc: Document) -> None:
        self.loader = loader
        self.doc = doc
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.doc.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if node.tag == _BOOL and node.value.lower() not in ("true", "false"):
            return node.value  # YAML 1.2: yes/no/on/off are plain strings, as in Kestra
        if node.tag == _TIMESTAMP or (node.tag in _NUMBERS and ":" in node.value):
            return node.value  # dates and sexagesimal-looking values stay text, as Kestra reads them
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):
                key = str(key)
            if key in result:
                mark = key_node.start_mark
                self.problems.append(Problem(f"duplicate key `{key}`", file=self.doc.file,
                                             line=mark.line + 1, column=mark.column + 1))
            result[key] = self.build(value_node, (*path, key))
            self.doc.positions[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return result


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


def parse_yaml(text: str, file: str) -> Document:
    """Parse one YAML document; raise InvalidFlowError with file:line:column on any syntax problem."""
    doc = Document(data=None, file=file, text=text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InvalidFlowError([Problem("the file is empty", file=file, line=1)],
                                   hint="a flow needs at least id, namespace and tasks")
        check_node_graph(node, file)
        builder = _Builder(loader, doc)
        doc.data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        message = f"invalid YAML: {exc.problem or exc.context}"
        if exc.context and exc.problem:
            message += f" ({exc.context})"
        raise InvalidFlowError([Problem(message, file=file, line=line, column=col)]) from None
    except yaml.YAMLError as exc:
        raise InvalidFlowError([Problem(f"invalid YAML: {exc}", file=file)]) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise InvalidFlowError(builder.problems)
    return doc


def read_yaml(path: Path) -> Document:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidFlowError([Problem("file not found", file=str(path))],
                               hint="check the path, or name the flow as NAMESPACE/FLOW_ID") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidFlowError([Problem(f"cannot read the file: {exc}", file=str(path))]) from None
    return parse_yaml(text, str(path))
