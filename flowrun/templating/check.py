"""Static check of one template without rendering it: syntax, unknown names, and the variables it reads."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from . import nodes as n
from .errors import TemplateError
from .parser import parse_template

#: the filters that take a missing value without failing (Pebble's `default`)
_LENIENT_FILTERS = {"default"}


@dataclass(frozen=True)
class Finding:
    """A problem in a template: its message and where it sits (1-based line and column in the template)."""

    message: str
    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Ref:
    """A variable read: its root name and static attribute chain (`inputs.taxi` -> ('inputs', ('taxi',)))."""

    root: str
    chain: tuple[str, ...]
    line: int
    guarded: bool  # under `??`, `is defined` or `| default`: a missing value does not fail

    @property
    def text(self) -> str:
        return ".".join((self.root, *self.chain))


@dataclass
class Analysis:
    """What the static check found in one template."""

    source: str
    syntax: Finding | None = None
    unknown: list[Finding] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)

    def reads(self, root: str) -> list[Ref]:
        """Unguarded reads of `root`, unless the template guards that chain elsewhere (`x is defined`)."""
        guards = [r for r in self.refs if r.guarded and r.root == root]
        return [r for r in self.refs if r.root == root and not r.guarded
                and not any(r.chain[: len(g.chain)] == g.chain for g in guards)]

    def locate(self, line: int, pattern: str) -> Finding:
        """A finding at the first match of `pattern` on `line` (else at the line's first tag)."""
        lines = self.source.split("\n")
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        m = re.search(pattern, text)
        if m is None:
            m = re.search(r"\{[{%]", text)
        return Finding("", line, (m.start() + 1) if m else 1)


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to `name` (case-insensitive), if any is close enough."""
    by_lower = {k.lower(): k for k in known}
    match = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.7)
    return by_lower[match[0]] if match else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    guess = closest(name, known)
    return f"; did you mean '{guess}'?" if guess else ""


def analyze(source: str) -> Analysis:
    """Parse `source` and walk it; never raises."""
    result = Analysis(source)
    try:
        body = parse_template(source)
    except TemplateError as exc:
        result.syntax = _syntax_finding(result, exc)
        return result
    except RecursionError:
        result.syntax = Finding("template syntax error: too deeply nested")
        return result
    walker = _Walker(result)
    walker.macros = {node.name for node in _all_nodes(body) if isinstance(node, n.Macro)}
    walker.bound = _bound_names(body)
    walker.body(body)
    return result


def syntax_message(message: str, source: str) -> tuple[str, int]:
    """A parser message without the template echoed in it, and the template line it names (1 if none)."""
    m = re.search(r" \((.*?)(?::(\d+))?\)$", message, re.S)
    if m and source and m.group(1) == source:
        return message[: m.start()], int(m.group(2) or 1)
    if message.endswith(f" ({source})") and source:
        return message[: -len(source) - 3], 1
    return message, 1


def _syntax_finding(result: Analysis, exc: TemplateError) -> Finding:
    text, line = syntax_message(exc.message, result.source)
    lines = result.source.split("\n")
    row = lines[line - 1] if 0 < line <= len(lines) else ""
    openers = [m.start() for m in re.finditer(r"\{[{%]", row)]
    column = openers[-1] + 1 if openers else 1
    if text == 'Unexpected "}"' and "{{" in row:
        text += "; close the expression with '}}'"
    return Finding(f"template syntax error: {text}", line, column)


def _all_nodes(body: list[n.Node]) -> Iterator[n.Node]:
    for node in body:
        yield node
        for child in _child_bodies(node):
            yield from _all_nodes(child)


def _child_bodies(node: n.Node) -> list[list[n.Node]]:
    if isinstance(node, n.If):
        return [b for _, b in node.branches] + ([node.otherwise] if node.otherwise else [])
    if isinstance(node, n.For):
        return [node.body] + ([node.otherwise] if node.otherwise else [])
    if isinstance(node, n.Macro | n.FilterBlock | n.Block):
        return [node.body]
    return []


def _bound_names(body: list[n.Node]) -> set[str]:
    """Names the template binds itself (loop variables, `set`, macro parameters): never flow variables."""
    bound: set[str] = set()
    for node in _all_nodes(body):
        if isinstance(node, n.For):
            bound |= {node.var, "loop"}
        elif isinstance(node, n.Set):
            bound.add(node.name)
        elif isinstance(node, n.Macro):
            bound |= {name for name, _ in node.params}
    return bound


class _Walker:
    """Collects unknown filters, functions and tests, and the static variable chains read."""

    def __init__(self, result: Analysis) -> None:
        from .evaluate import TESTS
        from .filters import FILTERS
        from .functions import FUNCTIONS

        self.result = result
        self.filters, self.functions, self.tests = FILTERS, FUNCTIONS, {*TESTS, "defined"}
        self.macros: set[str] = set()
        self.bound: set[str] = set()

    def body(self, body: list[n.Node]) -> None:
        for node in body:
            self.stmt(node)

    def stmt(self, node: n.Node) -> None:
        if isinstance(node, n.Print | n.Set):
            self.expr(node.expr)
        elif isinstance(node, n.If):
            for cond, _ in node.branches:
                self.expr(cond)
        elif isinstance(node, n.For):
            self.expr(node.iterable)
        elif isinstance(node, n.Macro):
            for _, default in node.params:
                if default is not None:
                    self.expr(default)
        elif isinstance(node, n.FilterBlock):
            for name, args in node.filters:
                self.filter_name(name, node.line)
                self.args(args)
        for child in _child_bodies(node):
            self.body(child)

    def expr(self, node: n.Node, guarded: bool = False) -> None:
        chain = _static_chain(node)
        if chain is not None:
            root, keys, dynamic = chain
            if root not in self.bound:
                self.result.refs.append(Ref(root, keys, node.line, guarded))
            for key in dynamic:
                self.expr(key)
            return
        if isinstance(node, n.FilterCall):
            self.filter_name(node.name, node.line)
            self.expr(node.input, guarded or node.name in _LENIENT_FILTERS)
            self.args(node.args)
        elif isinstance(node, n.TestCall):
            if node.name not in self.tests:
                self.unknown("test", node.name, self.tests, node.line, rf"\bis\s+(not\s+)?{node.name}\b")
            self.expr(node.input, guarded or node.name == "defined")
            self.args(node.args)
        elif isinstance(node, n.Binary):
            self.expr(node.left, guarded or node.op in ("??", "???"))
            self.expr(node.right, guarded)
        elif isinstance(node, n.Call):
            self.call(node)
        else:
            for child in _sub_expressions(node):
                self.expr(child, guarded)

    def call(self, node: n.Call) -> None:
        known = {*self.functions, *self.macros, "block"}
        if node.name not in known:
            self.unknown("function", node.name, known, node.line, rf"\b{node.name}\s*\(")
        self.args(node.args)

    def args(self, args: n.Args) -> None:
        for arg in [*args.positional, *(value for _, value in args.named)]:
            self.expr(arg)

    def filter_name(self, name: str, line: int) -> None:
        if name not in self.filters:
            self.unknown("filter", name, self.filters, line, rf"\|\s*{name}\b")

    def unknown(self, kind: str, name: str, known: Iterable[str], line: int, pattern: str) -> None:
        where = self.result.locate(line, pattern)
        message = f"unknown {kind} '{name}'{did_you_mean(name, known)}"
        self.result.unknown.append(Finding(message, where.line, where.column))


def _static_chain(node: n.Node) -> tuple[str, tuple[str, ...], list[n.Node]] | None:
    """(root, static keys, dynamic key expressions) of `a.b['c'][x]`; None when not a variable chain."""
    keys: list[str] = []
    dynamic: list[n.Node] = []
    while isinstance(node, n.GetAttr):
        if isinstance(node.key, n.Literal) and isinstance(node.key.value, str | int):
            keys.append(str(node.key.value))
        else:  # walking outside in: only the keys before the first dynamic one are static
            dynamic.append(node.key)
            keys.clear()
        node = node.obj
    if not isinstance(node, n.Var):
        return None
    return node.name, tuple(reversed(keys)), dynamic


def _sub_expressions(node: n.Node) -> list[n.Node]:
    if isinstance(node, n.GetAttr):
        return [node.obj, node.key]
    if isinstance(node, n.MethodCall):
        return [node.obj, *node.args.positional, *(v for _, v in node.args.named)]
    if isinstance(node, n.Unary):
        return [node.operand]
    if isinstance(node, n.Ternary):
        return [node.cond, node.then, node.otherwise]
    if isinstance(node, n.ListLit | n.Interpolation):
        return list(node.items if isinstance(node, n.ListLit) else node.parts)
    if isinstance(node, n.MapLit):
        return [part for pair in node.pairs for part in pair]
    return []
