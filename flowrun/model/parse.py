"""YAML text -> a `Document` with the line and column of every part (flows and flowrun.yaml alike)."""

from __future__ import annotations

from typing import Any

import yaml

from flowrun.errors import InvalidFlowError, Problem
from flowrun.model.document import Document, Path_
from flowrun.model.yaml_nodes import Loader, check_node_graph

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_BOOL = "tag:yaml.org,2002:bool"
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


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


def parse_yaml(text: str, file: str) -> Document:
    """Parse one YAML document; raise InvalidFlowError with file:line:column on any syntax problem."""
    doc = Document(data=None, file=file, text=text)
    loader = Loader(text)
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
