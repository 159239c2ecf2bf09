"""The syntax tree of a parsed template: expression nodes and template (tag) nodes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Node:
    """Base of every node; `line` is the template line the node starts on."""

    line: int = 1


# --- expressions -------------------------------------------------------------------------------
@dataclass(slots=True)
class Literal(Node):
    value: Any
    line: int = 1


@dataclass(slots=True)
class Var(Node):
    name: str
    line: int = 1


@dataclass(slots=True)
class GetAttr(Node):
    obj: Node
    key: Node
    line: int = 1


@dataclass(slots=True)
class ListLit(Node):
    items: list[Node]
    line: int = 1


@dataclass(slots=True)
class MapLit(Node):
    pairs: list[tuple[Node, Node]]
    line: int = 1


@dataclass(slots=True)
class Unary(Node):
    op: str
    operand: Node
    line: int = 1


@dataclass(slots=True)
class Binary(Node):
    op: str
    left: Node
    right: Node
    line: int = 1


@dataclass(slots=True)
class Args:
    positional: list[Node] = field(default_factory=list)
    named: list[tuple[str, Node]] = field(default_factory=list)


@dataclass(slots=True)
class FilterCall(Node):
    input: Node
    name: str
    args: Args
    line: int = 1


@dataclass(slots=True)
class TestCall(Node):
    input: Node
    name: str
    negate: bool
    args: Args
    line: int = 1


@dataclass(slots=True)
class Call(Node):
    name: str
    args: Args
    line: int = 1


@dataclass(slots=True)
class MethodCall(Node):
    obj: Node
    name: str
    args: Args
    line: int = 1


@dataclass(slots=True)
class Ternary(Node):
    cond: Node
    then: Node
    otherwise: Node
    line: int = 1


@dataclass(slots=True)
class Interpolation(Node):
    parts: list[Node]
    line: int = 1


# --- template nodes ----------------------------------------------------------------------------
@dataclass(slots=True)
class Text(Node):
    text: str
    line: int = 1


@dataclass(slots=True)
class Print(Node):
    expr: Node
    line: int = 1


@dataclass(slots=True)
class If(Node):
    branches: list[tuple[Node, list[Node]]]
    otherwise: list[Node] | None
    line: int = 1


@dataclass(slots=True)
class For(Node):
    var: str
    iterable: Node
    body: list[Node]
    otherwise: list[Node] | None
    line: int = 1


@dataclass(slots=True)
class Set(Node):
    name: str
    expr: Node
    line: int = 1


@dataclass(slots=True)
class Macro(Node):
    name: str
    params: list[tuple[str, Node | None]]
    body: list[Node]
    line: int = 1
    compiled: Any = field(default=None, compare=False, repr=False)  # filled by the compiler


@dataclass(slots=True)
class FilterBlock(Node):
    filters: list[tuple[str, Args]]
    body: list[Node]
    line: int = 1


@dataclass(slots=True)
class Block(Node):
    name: str
    body: list[Node]
    line: int = 1
