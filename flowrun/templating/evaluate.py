"""Compile template nodes into Python closures and run them against a context (the evaluator)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from . import nodes as n
from . import operators as ops
from .errors import EvalError, MissingError, TemplateError
from .limits import Budget, weight

Expr = Callable[["Env"], Any]
Stmt = Callable[["Env", list[str]], None]


class Env:
    """One rendering: the scope chain (user context first), the runtime hooks, macros, blocks and budget."""

    __slots__ = ("scopes", "runtime", "template", "macros", "blocks", "depth", "budget")

    def __init__(self, context: Mapping[str, Any], runtime: Any, template: str, depth: int = 0,
                 budget: Budget | None = None) -> None:
        self.scopes: list[Mapping[str, Any]] = [context]
        self.runtime = runtime
        self.template = template
        self.macros: dict[str, n.Macro] = {}
        self.blocks: dict[str, Stmt] = {}
        self.depth = depth
        self.budget = budget if budget is not None else Budget()

    def lookup(self, name: str, line: int) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        raise MissingError(name, line)

    def context(self) -> dict[str, Any]:
        """The whole visible context as one map (used by `render()` and `printContext()`)."""
        merged: dict[str, Any] = {}
        for scope in self.scopes:
            merged.update(scope)
        return merged


# --- expressions -------------------------------------------------------------------------------
def compile_expr(node: n.Node) -> Expr:
    handler = _EXPR_COMPILERS.get(type(node))
    if handler is None:
        raise TemplateError(f"Unsupported expression {type(node).__name__}")
    return handler(node)


def _literal(node: n.Literal) -> Expr:
    value = node.value
    return lambda env: value


def _var(node: n.Var) -> Expr:
    name, line = node.name, node.line
    return lambda env: env.lookup(name, line)


def _get_attr(node: n.GetAttr) -> Expr:
    obj, key, line = compile_expr(node.obj), compile_expr(node.key), node.line
    get = ops.get_attr

    def run(env: Env) -> Any:
        target = obj(env)
        if target is None:
            raise MissingError(str(key(env)), line)
        return get(target, key(env), line)

    return run


def _list(node: n.ListLit) -> Expr:
    items = [compile_expr(i) for i in node.items]
    return lambda env: [item(env) for item in items]


def _map(node: n.MapLit) -> Expr:
    pairs = [(compile_expr(k), compile_expr(v)) for k, v in node.pairs]
    return lambda env: {k(env): v(env) for k, v in pairs}


def _unary(node: n.Unary) -> Expr:
    operand = compile_expr(node.operand)
    if node.op == "not":
        return lambda env: not ops.to_bool(operand(env), "not()")
    if node.op == "-":
        return lambda env: ops.negate(operand(env))
    return lambda env: ops.arithmetic("*", 1, operand(env))


def _binary(node: n.Binary) -> Expr:
    left, right, op = compile_expr(node.left), compile_expr(node.right), node.op
    if op == "and":
        return lambda env: ops.to_bool(left(env), "and operator") and ops.to_bool(right(env), "and operator")
    if op == "or":
        return lambda env: ops.to_bool(left(env), "or operator") or ops.to_bool(right(env), "or operator")
    if op in ("??", "???"):
        return _coalesce(left, right, op == "??")
    fn = _BINARY_FUNCS[op]
    if op in _WALKING_OPS:
        return _walking(fn, left, right, op in ("contains", "-"))
    return lambda env: fn(left(env), right(env))


_WALKING_OPS = frozenset({"+", "-", "~", "==", "equals", "!=", "contains", "in", "isIn", "not in", "isNotIn"})


def _walking(fn: Callable[[Any, Any], Any], left: Expr, right: Expr, pairwise: bool) -> Expr:
    """An operator that walks its operands is charged for their size (pairwise: list against list)."""

    def run(env: Env) -> Any:
        a, b = left(env), right(env)
        extra = weight(a) + weight(b)
        if pairwise and ops.is_list(a) and ops.is_list(b):
            extra = (len(a) * len(b)) >> 4
        env.budget.charge(1 + extra)
        return fn(a, b)

    return run


_BINARY_FUNCS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: ops.arithmetic("+", a, b),
    "-": lambda a, b: ops.arithmetic("-", a, b),
    "*": lambda a, b: ops.arithmetic("*", a, b),
    "/": lambda a, b: ops.arithmetic("/", a, b),
    "%": lambda a, b: ops.arithmetic("%", a, b),
    "~": ops.concat,
    "==": ops.equals,
    "equals": ops.equals,
    "!=": lambda a, b: not ops.equals(a, b),
    "<": lambda a, b: ops.compare("<", a, b),
    ">": lambda a, b: ops.compare(">", a, b),
    "<=": lambda a, b: ops.compare("<=", a, b),
    ">=": lambda a, b: ops.compare(">=", a, b),
    "contains": ops.contains,
    "in": ops.member,
    "isIn": ops.member,
    "not in": lambda a, b: not ops.member(a, b),
    "isNotIn": lambda a, b: not ops.member(a, b),
    "..": ops.value_range,
}


def _coalesce(left: Expr, right: Expr, null_too: bool) -> Expr:
    def run(env: Env) -> Any:
        try:
            value = left(env)
        except MissingError:
            return right(env)
        return right(env) if value is None and null_too else value

    return run


def _ternary(node: n.Ternary) -> Expr:
    cond, then, otherwise = compile_expr(node.cond), compile_expr(node.then), compile_expr(node.otherwise)

    def run(env: Env) -> Any:
        value = cond(env)
        return then(env) if value is not None and ops.to_bool(value, "ternary") else otherwise(env)

    return run


def _interpolation(node: n.Interpolation) -> Expr:
    parts = [compile_expr(p) for p in node.parts]
    return lambda env: "".join(ops.concat(p(env), None) for p in parts)


def compile_args(args: n.Args) -> Callable[[Env], tuple[list[Any], dict[str, Any]]]:
    positional = [compile_expr(a) for a in args.positional]
    named = [(k, compile_expr(v)) for k, v in args.named]
    if not positional and not named:
        return lambda env: ([], {})
    return lambda env: ([a(env) for a in positional], {k: v(env) for k, v in named})


def _filter(node: n.FilterCall) -> Expr:
    from .filters import FILTERS

    fn = FILTERS.get(node.name)
    if fn is None:
        raise TemplateError(f"Filter [{node.name}] does not exist.")
    source, args, name, line = compile_expr(node.input), compile_args(node.args), node.name, node.line
    lenient = name == "default"

    def run(env: Env) -> Any:
        if lenient:
            try:
                value = source(env)
            except MissingError:
                value = None
        else:
            value = source(env)
        positional, named = args(env)
        env.budget.charge_for(value)
        return invoke(fn, name, line, env, value, *positional, **named)

    return run


def invoke(fn: Callable[..., Any], name: str, line: int, *args: Any, **kwargs: Any) -> Any:
    """Call a filter or function, turning Python errors into template errors that name it."""
    try:
        return fn(*args, **kwargs)
    except TemplateError:
        raise
    except TypeError as exc:
        raise EvalError(f"Wrong arguments for [{name}]: {exc}", line) from exc
    except (ValueError, KeyError, IndexError, ArithmeticError, OverflowError) as exc:
        raise EvalError(f"[{name}] failed: {exc}", line) from exc


def _is_json(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def _even_odd(value: Any, remainder: int) -> bool:
    if not ops.is_number(value):
        raise EvalError("Can not pass null value to \"even\" or \"odd\" test." if value is None else
                        "Test \"even\"/\"odd\" requires a number")
    return int(value) % 2 == remainder


TESTS: dict[str, Callable[[Any], bool]] = {
    "null": lambda v: v is None,
    "empty": ops.is_empty,
    "even": lambda v: _even_odd(v, 0),
    "odd": lambda v: _even_odd(v, 1),
    "iterable": lambda v: ops.is_list(v),
    "map": lambda v: isinstance(v, Mapping),
    "json": _is_json,
}


def _test(node: n.TestCall) -> Expr:
    source, negate, line = compile_expr(node.input), node.negate, node.line
    if node.name == "defined":

        def defined(env: Env) -> bool:
            try:
                source(env)
            except MissingError:
                return negate
            return not negate

        return defined
    fn = TESTS.get(node.name)
    if fn is None:
        raise TemplateError(f"Wrong operand(s) type in conditional expression: test [{node.name}] does not exist")

    def run(env: Env) -> bool:
        value = source(env)
        env.budget.charge_for(value)
        return invoke(fn, node.name, line, value) != negate

    return run


def _call(node: n.Call) -> Expr:
    from .functions import FUNCTIONS

    name, args, line = node.name, compile_args(node.args), node.line

    def run(env: Env) -> Any:
        positional, named = args(env)
        env.budget.charge_for(positional[0] if positional else None)
        macro = env.macros.get(name)
        if macro is not None:
            from .template import call_macro

            return call_macro(env, macro, positional, named)
        if name == "block":
            out: list[str] = []
            block = env.blocks.get(str(positional[0]) if positional else "")
            if block is None:
                raise EvalError(f"Block [{positional[0] if positional else ''}] does not exist", line)
            block(env, out)
            return "".join(out)
        fn = FUNCTIONS.get(name)
        if fn is None:
            raise EvalError(f"Function or Macro [{name}] does not exist.", line)
        return invoke(fn, name, line, env, *positional, **named)

    return run


def _method(node: n.MethodCall) -> Expr:
    obj, args, name = compile_expr(node.obj), compile_args(node.args), node.name

    def run(env: Env) -> Any:
        target = obj(env)
        env.budget.charge_for(target)
        return ops.call_method(target, name, args(env)[0])

    return run


_EXPR_COMPILERS: dict[type, Callable[[Any], Expr]] = {
    n.Literal: _literal, n.Var: _var, n.GetAttr: _get_attr, n.ListLit: _list, n.MapLit: _map,
    n.Unary: _unary, n.Binary: _binary, n.Ternary: _ternary, n.Interpolation: _interpolation,
    n.FilterCall: _filter, n.TestCall: _test, n.Call: _call, n.MethodCall: _method,
}  # fmt: skip
