"""Compiled templates: tag nodes turned into closures, cached by source, rendered with error reporting."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from . import nodes as n
from . import operators as ops
from .errors import EvalError, MissingError, TemplateError
from .evaluate import Env, Expr, Stmt, compile_args, compile_expr, invoke
from .limits import MACRO_CALL_STEPS, Budget, active_budget
from .output import to_output
from .parser import parse_template


def compile_body(body: list[n.Node], macros: dict[str, n.Macro]) -> Stmt:
    stmts = [_compile_stmt(node, macros) for node in body]
    if len(stmts) == 1:
        return stmts[0]

    def run(env: Env, out: list[str]) -> None:
        for stmt in stmts:
            stmt(env, out)

    return run


def _compile_stmt(node: n.Node, macros: dict[str, n.Macro]) -> Stmt:
    if isinstance(node, n.Text):
        text, size = node.text, len(node.text)

        def write(env: Env, out: list[str]) -> None:
            env.budget.write(size)
            out.append(text)

        return write
    if isinstance(node, n.Print):
        return _compile_print(node)
    if isinstance(node, n.If):
        return _compile_if(node, macros)
    if isinstance(node, n.For):
        return _compile_for(node, macros)
    if isinstance(node, n.Set):
        return _compile_set(node)
    if isinstance(node, n.Macro):
        macros[node.name] = node
        node.compiled = compile_body(node.body, macros) if node.body else (lambda env, out: None)
        return lambda env, out: None
    if isinstance(node, n.FilterBlock):
        return _compile_filter_block(node, macros)
    if isinstance(node, n.Block):
        return _compile_block(node, macros)
    raise TemplateError(f"Unsupported node {type(node).__name__}")


def _compile_print(node: n.Print, expr: Expr | None = None) -> Stmt:
    """The statement that prints `node`; `expr` is its expression when already compiled."""
    expr, line = expr or compile_expr(node.expr), node.line

    def run(env: Env, out: list[str]) -> None:
        try:
            text = to_output(expr(env))
            env.budget.write(len(text))
            out.append(text)
        except EvalError as exc:
            exc.line = exc.line or line
            raise

    return run


def _compile_if(node: n.If, macros: dict[str, n.Macro]) -> Stmt:
    branches = [(compile_expr(cond), compile_body(body, macros)) for cond, body in node.branches]
    otherwise = compile_body(node.otherwise, macros) if node.otherwise is not None else None
    line = node.line

    def run(env: Env, out: list[str]) -> None:
        for cond, body in branches:
            value = cond(env)
            try:
                satisfied = ops.to_bool(value, "if statement")
            except EvalError as exc:
                raise EvalError(f"Wrong operand(s) type in conditional expression: {exc.message}", line) from exc
            if satisfied:
                body(env, out)
                return
        if otherwise is not None:
            otherwise(env, out)

    return run


def _loop_items(value: Any, line: int) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [{"key": k, "value": v} for k, v in value.items()]
    if ops.is_list(value):
        return list(value)
    raise EvalError(f"Not an iterable object. Value = [{to_output(value)}]", line)


def _compile_for(node: n.For, macros: dict[str, n.Macro]) -> Stmt:
    iterable, body, var, line = compile_expr(node.iterable), compile_body(node.body, macros), node.var, node.line
    otherwise = compile_body(node.otherwise, macros) if node.otherwise is not None else None

    def run(env: Env, out: list[str]) -> None:
        items = _loop_items(iterable(env), line)
        if not items:
            if otherwise is not None:
                otherwise(env, out)
            return
        length = len(items)
        scope: dict[str, Any] = {}
        env.scopes.append(scope)
        charge = env.budget.charge
        try:
            for index, item in enumerate(items):
                charge()
                scope[var] = item
                scope["loop"] = {
                    "index": index, "revindex": length - index - 1, "first": index == 0,
                    "last": index == length - 1, "length": length,
                }  # fmt: skip
                body(env, out)
        finally:
            env.scopes.pop()

    return run


def _compile_set(node: n.Set) -> Stmt:
    expr, name = compile_expr(node.expr), node.name

    def run(env: Env, out: list[str]) -> None:
        value = expr(env)
        top = env.scopes[-1]
        if len(env.scopes) == 1 or not isinstance(top, dict):
            env.scopes.append({})
            top = env.scopes[-1]
        top[name] = value  # type: ignore[index]

    return run


def _compile_filter_block(node: n.FilterBlock, macros: dict[str, n.Macro]) -> Stmt:
    from .filters import FILTERS

    body = compile_body(node.body, macros)
    chain = []
    for name, args in node.filters:
        if name not in FILTERS:
            raise TemplateError(f"Filter [{name}] does not exist.")
        chain.append((name, FILTERS[name], compile_args(args)))
    line = node.line

    def run(env: Env, out: list[str]) -> None:
        inner: list[str] = []
        body(env, inner)
        value: Any = "".join(inner)
        for name, fn, args in chain:
            positional, named = args(env)
            value = invoke(fn, name, line, env, value, *positional, **named)
        out.append(to_output(value))

    return run


def _compile_block(node: n.Block, macros: dict[str, n.Macro]) -> Stmt:
    body = node.compiled = compile_body(node.body, macros)

    def run(env: Env, out: list[str]) -> None:
        body(env, out)

    return run


def call_macro(env: Env, macro: n.Macro, positional: list[Any], named: dict[str, Any]) -> str:
    """Render a macro with only its own arguments in scope (Pebble macros are isolated)."""
    env.budget.charge(MACRO_CALL_STEPS)
    scope: dict[str, Any] = {}
    for i, (pname, default) in enumerate(macro.params):
        if i < len(positional):
            scope[pname] = positional[i]
        elif pname in named:
            scope[pname] = named[pname]
        else:
            scope[pname] = compile_expr(default)(env) if default is not None else None
    inner = Env(scope, env.runtime, env.template, env.depth, env.budget)
    inner.macros = env.macros
    out: list[str] = []
    macro.compiled(inner, out)
    return "".join(out)


def _nested(value: Any, kind: type[n.Node]) -> list[Any]:
    """Every `kind` node in a node tree (lists, tuples and node fields walked), in document order."""
    found: list[Any] = []
    if isinstance(value, (list, tuple)):
        for item in value:
            found += _nested(item, kind)
    elif isinstance(value, n.Node):
        if isinstance(value, kind):
            found.append(value)
        for name in value.FIELDS:
            found += _nested(getattr(value, name), kind)
    return found


class Template:
    """A parsed and compiled template; `single` is set when it is exactly one `{{ expr }}`."""

    __slots__ = ("source", "body", "macros", "blocks", "single")

    def __init__(self, source: str) -> None:
        self.source = source
        self.macros: dict[str, n.Macro] = {}
        nodes = parse_template(source)
        self.single: Callable[[Env], Any] | None = None
        if len(nodes) == 1 and isinstance(nodes[0], n.Print):  # its expression is compiled once, for both uses
            self.single = compile_expr(nodes[0].expr)
            self.body = _compile_print(nodes[0], self.single)
        else:
            self.body = compile_body(nodes, self.macros) if nodes else (lambda env, out: None)
        # as Pebble registers blocks when it compiles, `block('x')` also renders a block defined further down
        # (a template without the word `block` has none: its node tree is not walked)
        self.blocks: dict[str, Stmt] = ({b.name: b.compiled for b in _nested(nodes, n.Block)} if "block" in source
                                        else {})

    def new_env(self, context: Mapping[str, Any], runtime: Any, depth: int, budget: Budget | None) -> Env:
        env = Env(context, runtime, self.source, depth, budget)
        env.macros = self.macros
        env.blocks = self.blocks
        return env

    def render(self, context: Mapping[str, Any], runtime: Any, depth: int = 0, budget: Budget | None = None) -> str:
        """Render in string mode; `budget` is shared with the enclosing render (None: a fresh one)."""
        env = self.new_env(context, runtime, depth, budget)
        out: list[str] = []
        with _Reporting(self.source), active_budget(env.budget):
            self.body(env, out)
        return "".join(out)

    def evaluate(self, context: Mapping[str, Any], runtime: Any, depth: int = 0, budget: Budget | None = None) -> Any:
        assert self.single is not None
        env = self.new_env(context, runtime, depth, budget)
        with _Reporting(self.source), active_budget(env.budget):
            return self.single(env)


class _Reporting:
    """Turn internal errors into user-facing `TemplateError`s that name the template and line."""

    __slots__ = ("source",)

    def __init__(self, source: str) -> None:
        self.source = source

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            return
        if isinstance(exc, MissingError):
            message = f"Unable to find `{exc.name}` used in the expression `{self.source}` at line {exc.line}"
            raise TemplateError(message, self.source, exc.line) from exc
        if isinstance(exc, EvalError):
            raise TemplateError(f"{exc.message} ({self.source}:{exc.line or 1})", self.source, exc.line) from exc
        if isinstance(exc, TemplateError):
            if not exc.template:
                exc.template = self.source
            return
        if isinstance(exc, RecursionError):
            raise TemplateError(f"{_TOO_DEEP} ({self.source})", self.source) from None


_TOO_DEEP = "The template nests too deeply (macros, render() calls or data); simplify it"


@functools.lru_cache(maxsize=8192)
def get_template(source: str) -> Template:
    """Parse and compile once per distinct source string."""
    try:
        return Template(source)
    except RecursionError:
        message = "The template nests too deeply (parentheses, brackets, filters or tags) to be parsed"
        raise TemplateError(f"{message} ({_shorten(source)})", source) from None
    except TemplateError as exc:
        if not exc.template:
            exc.template = source
        if source not in exc.message:
            exc.message = f"{exc.message} ({source})"
            exc.args = (exc.message,)
        raise


def _shorten(source: str) -> str:
    return source if len(source) <= 200 else source[:200] + "..."
