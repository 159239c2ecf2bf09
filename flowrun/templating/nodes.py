"""The syntax tree of a parsed template: expression nodes and template (tag) nodes.

Plain classes with `__slots__` and their own `__init__`, not dataclasses: every template-using run imports this
module, and generating 22 slotted dataclasses cost ~7 ms of start-up (`python -X importtime`). `FIELDS` names
each node's children and values in order (what `__eq__`, `__repr__` and tree walks read).
"""

from __future__ import annotations

from typing import Any


class Node:
    """Base of every node; `line` is the template line the node starts on."""

    __slots__ = ("line",)
    line: int
    FIELDS: tuple[str, ...] = ()
    __hash__ = None  # type: ignore[assignment]  # compared by value, as the dataclasses they were

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, f) == getattr(other, f) for f in (*self.FIELDS, "line")
        )

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in (*self.FIELDS, "line"))
        return f"{type(self).__name__}({shown})"


# --- expressions -------------------------------------------------------------------------------


class Literal(Node):
    __slots__ = ("value",)
    FIELDS = ("value",)

    def __init__(self, value: Any, line: int = 1) -> None:
        self.value = value
        self.line = line


class Var(Node):
    __slots__ = ("name",)
    FIELDS = ("name",)

    def __init__(self, name: str, line: int = 1) -> None:
        self.name = name
        self.line = line


class GetAttr(Node):
    __slots__ = ("obj", "key")
    FIELDS = ("obj", "key")

    def __init__(self, obj: Node, key: Node, line: int = 1) -> None:
        self.obj = obj
        self.key = key
        self.line = line


class ListLit(Node):
    __slots__ = ("items",)
    FIELDS = ("items",)

    def __init__(self, items: list[Node], line: int = 1) -> None:
        self.items = items
        self.line = line


class MapLit(Node):
    __slots__ = ("pairs",)
    FIELDS = ("pairs",)

    def __init__(self, pairs: list[tuple[Node, Node]], line: int = 1) -> None:
        self.pairs = pairs
        self.line = line


class Unary(Node):
    __slots__ = ("op", "operand")
    FIELDS = ("op", "operand")

    def __init__(self, op: str, operand: Node, line: int = 1) -> None:
        self.op = op
        self.operand = operand
        self.line = line


class Binary(Node):
    __slots__ = ("op", "left", "right")
    FIELDS = ("op", "left", "right")

    def __init__(self, op: str, left: Node, right: Node, line: int = 1) -> None:
        self.op = op
        self.left = left
        self.right = right
        self.line = line


class Args:
    __slots__ = ("positional", "named")

    def __init__(
        self, positional: list[Node] | None = None, named: list[tuple[str, Node]] | None = None
    ) -> None:
        self.positional = [] if positional is None else positional
        self.named = [] if named is None else named

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and (self.positional, self.named) == (other.positional, other.named)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"Args(positional={self.positional!r}, named={self.named!r})"


class FilterCall(Node):
    __slots__ = ("input", "name", "args")
    FIELDS = ("input", "name", "args")

    def __init__(self, input: Node, name: str, args: Args, line: int = 1) -> None:
        self.input = input
        self.name = name
        self.args = args
        self.line = line


class TestCall(Node):
    __slots__ = ("input", "name", "negate", "args")
    FIELDS = ("input", "name", "negate", "args")

    def __init__(self, input: Node, name: str, negate: bool, args: Args, line: int = 1) -> None:
        self.input = input
        self.name = name
        self.negate = negate
        self.args = args
        self.line = line


class Call(Node):
    __slots__ = ("name", "args")
    FIELDS = ("name", "args")

    def __init__(self, name: str, args: Args, line: int = 1) -> None:
        self.name = name
        self.args = args
        self.line = line


class MethodCall(Node):
    __slots__ = ("obj", "name", "args")
    FIELDS = ("obj", "name", "args")

    def __init__(self, obj: Node, name: str, args: Args, line: int = 1) -> None:
        self.obj = obj
        self.name = name
        self.args = args
        self.line = line


class Ternary(Node):
    __slots__ = ("cond", "then", "otherwise")
    FIELDS = ("cond", "then", "otherwise")

    def __init__(self, cond: Node, then: Node, otherwise: Node, line: int = 1) -> None:
        self.cond = cond
        self.then = then
        self.otherwise = otherwise
        self.line = line


class Interpolation(Node):
    __slots__ = ("parts",)
    FIELDS = ("parts",)

    def __init__(self, parts: list[Node], line: int = 1) -> None:
        self.parts = parts
        self.line = line


# --- template nodes ----------------------------------------------------------------------------


class Text(Node):
    __slots__ = ("text",)
    FIELDS = ("text",)

    def __init__(self, text: str, line: int = 1) -> None:
        self.text = text
        self.line = line


class Print(Node):
    __slots__ = ("expr",)
    FIELDS = ("expr",)

    def __init__(self, expr: Node, line: int = 1) -> None:
        self.expr = expr
        self.line = line


class If(Node):
    __slots__ = ("branches", "otherwise")
    FIELDS = ("branches", "otherwise")

    def __init__(
        self, branches: list[tuple[Node, list[Node]]], otherwise: list[Node] | None, line: int = 1
    ) -> None:
        self.branches = branches
        self.otherwise = otherwise
        self.line = line


class For(Node):
    __slots__ = ("var", "iterable", "body", "otherwise")
    FIELDS = ("var", "iterable", "body", "otherwise")

    def __init__(
        self, var: str, iterable: Node, body: list[Node], otherwise: list[Node] | None, line: int = 1
    ) -> None:
        self.var = var
        self.iterable = iterable
        self.body = body
        self.otherwise = otherwise
        self.line = line


class Set(Node):
    __slots__ = ("name", "expr")
    FIELDS = ("name", "expr")

    def __init__(self, name: str, expr: Node, line: int = 1) -> None:
        self.name = name
        self.expr = expr
        self.line = line


class Macro(Node):
    __slots__ = ("name", "params", "body", "compiled")
    FIELDS = ("name", "params", "body")

    def __init__(
        self,
        name: str,
        params: list[tuple[str, Node | None]],
        body: list[Node],
        line: int = 1,
        compiled: Any = None,
    ) -> None:
        self.name = name
        self.params = params
        self.body = body
        self.line = line
        self.compiled = compiled


class FilterBlock(Node):
    __slots__ = ("filters", "body")
    FIELDS = ("filters", "body")

    def __init__(self, filters: list[tuple[str, Args]], body: list[Node], line: int = 1) -> None:
        self.filters = filters
        self.body = body
        self.line = line


class Block(Node):
    __slots__ = ("name", "body", "compiled")
    FIELDS = ("name", "body")

    def __init__(self, name: str, body: list[Node], line: int = 1, compiled: Any = None) -> None:
        self.name = name
        self.body = body
        self.line = line
        self.compiled = compiled
