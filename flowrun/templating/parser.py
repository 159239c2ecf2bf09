"""Pratt parser for Pebble expressions and recursive-descent parser for tags, producing `nodes`."""

from __future__ import annotations

import functools

from . import nodes as n
from .errors import TemplateError
from .lexer import Chunk, Token, tokenize

# Pebble core operators plus Kestra's `??`/`???` and `in`/`not in`; higher binds tighter.
BINARY_PRECEDENCE = {
    "or": 10, "and": 15,
    "is": 20, "is not": 20, "contains": 20, "in": 20, "not in": 20, "isIn": 20, "isNotIn": 20,
    "==": 30, "equals": 30, "!=": 30, ">": 30, "<": 30, ">=": 30, "<=": 30,
    "+": 40, "-": 40, "*": 60, "/": 60, "%": 60,
    "|": 100, "~": 110, "..": 120, "??": 120, "???": 120,
}  # fmt: skip
UNARY_PRECEDENCE = {"not": 500, "-": 500, "+": 500}
LITERALS = {"true": True, "false": False, "null": None, "none": None, "TRUE": True, "FALSE": False}
_TAG_ENDS = {"if": ("elseif", "else", "endif"), "for": ("else", "endfor")}


class ExpressionParser:
    """Parses one token list (one `{{ }}` or `{% %}`) into expression nodes."""

    def __init__(self, tokens: list[Token], template: str) -> None:
        self.tokens = tokens
        self.i = 0
        self.template = template

    # --- token helpers ---------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def next(self) -> Token:
        tok = self.peek()
        self.i += 1
        return tok

    def at(self, kind: str, value: object = None) -> bool:
        tok = self.peek()
        return tok.kind == kind and (value is None or tok.value == value)

    def accept(self, kind: str, value: object = None) -> bool:
        if self.at(kind, value):
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value: object = None) -> Token:
        if not self.at(kind, value):
            self.fail(f"expected {value or kind}")
        return self.next()

    def fail(self, what: str) -> None:
        tok = self.peek()
        found = "end of expression" if tok.kind == "end" else f"{tok.value!r}"
        raise TemplateError(f"Unexpected token {found}: {what} ({self.template}:{tok.line})", self.template)

    def name(self) -> str:
        tok = self.peek()
        if tok.kind == "name" or (tok.kind == "op" and str(tok.value).isalpha()):
            self.i += 1
            return str(tok.value)
        self.fail("expected a name")
        raise AssertionError  # unreachable

    # --- expressions ----------------------------------------------------------------------------
    def expression(self, min_prec: int = 0) -> n.Node:
        left = self.unary()
        while True:
            tok = self.peek()
            if tok.kind != "op":
                break
            prec = BINARY_PRECEDENCE.get(str(tok.value))
            if prec is None or prec < min_prec:
                break
            self.i += 1
            op = str(tok.value)
            if op == "|":
                left = self.filter_call(left)
            elif op in ("is", "is not"):
                left = self.test_call(left, op == "is not")
            else:
                left = n.Binary(op, left, self.expression(prec + 1), tok.line)
        if min_prec == 0 and self.accept("punct", "?"):
            then = self.expression()
            self.expect("punct", ":")
            left = n.Ternary(left, then, self.expression(), left.line)
        return left

    def unary(self) -> n.Node:
        tok = self.peek()
        if tok.kind == "op" and tok.value in UNARY_PRECEDENCE:
            self.i += 1
            return n.Unary(str(tok.value), self.expression(UNARY_PRECEDENCE[str(tok.value)]), tok.line)
        return self.postfix(self.primary())

    def primary(self) -> n.Node:
        tok = self.next()
        if tok.kind == "name":
            name = str(tok.value)
            if name in LITERALS:
                return n.Literal(LITERALS[name], tok.line)
            if self.at("punct", "("):
                return n.Call(name, self.arguments(), tok.line)
            return n.Var(name, tok.line)
        if tok.kind in ("num", "str"):
            return n.Literal(tok.value, tok.line)
        if tok.kind == "interp":
            return self.interpolation(tok)
        if tok.kind == "punct" and tok.value == "(":
            inner = self.expression()
            self.expect("punct", ")")
            return inner
        if tok.kind == "punct" and tok.value == "[":
            return self.list_literal(tok)
        if tok.kind == "punct" and tok.value == "{":
            return self.map_literal(tok)
        self.i -= 1
        self.fail("expected an expression")
        raise AssertionError  # unreachable

    def interpolation(self, tok: Token) -> n.Node:
        parts: list[n.Node] = []
        for part in tok.value:  # type: ignore[attr-defined]
            if isinstance(part, str):
                parts.append(n.Literal(part, tok.line))
            else:
                sub = ExpressionParser(part, self.template)
                parts.append(sub.expression())
                sub.expect("end")
        return n.Interpolation(parts, tok.line)

    def list_literal(self, tok: Token) -> n.Node:
        items: list[n.Node] = []
        while not self.accept("punct", "]"):
            if items:
                self.expect("punct", ",")
                if self.accept("punct", "]"):
                    break
            items.append(self.expression())
        return n.ListLit(items, tok.line)

    def map_literal(self, tok: Token) -> n.Node:
        pairs: list[tuple[n.Node, n.Node]] = []
        while not self.accept("punct", "}"):
            if pairs:
                self.expect("punct", ",")
                if self.accept("punct", "}"):
                    break
            key = self.expression()
            self.expect("punct", ":")
            pairs.append((key, self.expression()))
        return n.MapLit(pairs, tok.line)

    def postfix(self, node: n.Node) -> n.Node:
        while True:
            tok = self.peek()
            if tok.kind == "punct" and tok.value == ".":
                self.i += 1
                key_tok = self.next()
                if key_tok.kind not in ("name", "num", "op"):
                    self.i -= 1
                    self.fail("expected an attribute name")
                if key_tok.kind == "name" and self.at("punct", "("):
                    node = n.MethodCall(node, str(key_tok.value), self.arguments(), tok.line)
                else:
                    node = n.GetAttr(node, n.Literal(key_tok.value, tok.line), tok.line)
            elif tok.kind == "punct" and tok.value == "[":
                self.i += 1
                key = self.expression()
                self.expect("punct", "]")
                node = n.GetAttr(node, key, tok.line)
            else:
                return node

    def arguments(self) -> n.Args:
        args = n.Args()
        self.expect("punct", "(")
        first = True
        while not self.accept("punct", ")"):
            if not first:
                self.expect("punct", ",")
            first = False
            if self.peek().kind == "name" and self.peek(1).kind == "punct" and self.peek(1).value == "=":
                name = str(self.next().value)
                self.i += 1
                args.named.append((name, self.expression()))
            else:
                if args.named:
                    self.fail("positional argument after named argument")
                args.positional.append(self.expression())
        return args

    def filter_call(self, left: n.Node) -> n.Node:
        line = self.peek().line
        name = self.name()
        args = self.arguments() if self.at("punct", "(") else n.Args()
        return n.FilterCall(left, name, args, line)

    def test_call(self, left: n.Node, negate: bool) -> n.Node:
        line = self.peek().line
        name = self.name()
        args = self.arguments() if self.at("punct", "(") else n.Args()
        return n.TestCall(left, name, negate, args, line)


class TemplateParser:
    """Builds the template node list from chunks, matching `{% tag %}…{% endtag %}` pairs."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.chunks = tokenize(template)
        self.i = 0

    def parse(self) -> list[n.Node]:
        body, end, _ = self.body(())
        if end is not None:
            raise TemplateError(f"Unexpected tag name \"{end}\" ({self.template})", self.template)
        return body

    def body(self, ends: tuple[str, ...]) -> tuple[list[n.Node], str | None, ExpressionParser | None]:
        out: list[n.Node] = []
        while self.i < len(self.chunks):
            chunk = self.chunks[self.i]
            self.i += 1
            if chunk.kind == "text":
                out.append(n.Text(chunk.text, chunk.line))
            elif chunk.kind == "print":
                p = ExpressionParser(chunk.tokens, self.template)
                out.append(n.Print(p.expression(), chunk.line))
                p.expect("end")
            else:
                p = ExpressionParser(chunk.tokens, self.template)
                tag = p.name()
                if tag in ends:
                    return out, tag, p
                out.append(self.tag(tag, p, chunk))
        if ends:
            raise TemplateError(f"Unclosed tag, expected one of {', '.join(ends)} ({self.template})", self.template)
        return out, None, None

    def tag(self, tag: str, p: ExpressionParser, chunk: Chunk) -> n.Node:
        handler = getattr(self, f"tag_{tag}", None)
        if handler is None:
            raise TemplateError(
                f"Unexpected tag name \"{tag}\" ({self.template}:{chunk.line})", self.template
            )
        node: n.Node = handler(p, chunk.line)
        return node

    def closed(self, end_tag: str) -> list[n.Node]:
        body, _, p = self.body((end_tag,))
        if p is not None:
            p.accept("name") or p.accept("str")  # `{% endblock name %}`, `{% endblock 'name' %}`
            p.expect("end")
        return body

    def tag_if(self, p: ExpressionParser, line: int) -> n.Node:
        branches: list[tuple[n.Node, list[n.Node]]] = []
        cond = p.expression()
        p.expect("end")
        while True:
            body, end, q = self.body(_TAG_ENDS["if"])
            branches.append((cond, body))
            assert q is not None
            if end == "elseif":
                cond = q.expression()
                q.expect("end")
                continue
            q.expect("end")
            otherwise = self.closed("endif") if end == "else" else None
            return n.If(branches, otherwise, line)

    def tag_for(self, p: ExpressionParser, line: int) -> n.Node:
        var = p.name()
        p.expect("op", "in")
        iterable = p.expression()
        p.expect("end")
        body, end, q = self.body(_TAG_ENDS["for"])
        assert q is not None
        q.expect("end")
        otherwise = self.closed("endfor") if end == "else" else None
        return n.For(var, iterable, body, otherwise, line)

    def tag_set(self, p: ExpressionParser, line: int) -> n.Node:
        name = p.name()
        p.expect("punct", "=")
        expr = p.expression()
        p.expect("end")
        return n.Set(name, expr, line)

    def tag_macro(self, p: ExpressionParser, line: int) -> n.Node:
        name = p.name()
        params: list[tuple[str, n.Node | None]] = []
        p.expect("punct", "(")
        while not p.accept("punct", ")"):
            if params:
                p.expect("punct", ",")
            pname = p.name()
            params.append((pname, p.expression() if p.accept("punct", "=") else None))
        p.expect("end")
        return n.Macro(name, params, self.closed("endmacro"), line)

    def tag_filter(self, p: ExpressionParser, line: int) -> n.Node:
        filters: list[tuple[str, n.Args]] = []
        while True:
            fname = p.name()
            filters.append((fname, p.arguments() if p.at("punct", "(") else n.Args()))
            if not p.accept("op", "|"):
                break
        p.expect("end")
        return n.FilterBlock(filters, self.closed("endfilter"), line)

    def tag_block(self, p: ExpressionParser, line: int) -> n.Node:
        tok = p.next()
        if tok.kind not in ("name", "str"):
            p.fail("expected a block name")
        p.expect("end")
        return n.Block(str(tok.value), self.closed("endblock"), line)


def parse_template(template: str) -> list[n.Node]:
    """Parse a whole template into nodes; raises TemplateError on bad syntax.

    A template without macros or blocks is parsed once per distinct source (bounded LRU): the flow's check and
    its compilation at run time share the nodes, which nothing changes. The compiler stores its closures on
    `Macro` and `Block` nodes, so a template that may hold one gets nodes of its own."""
    if "macro" in template or "block" in template:
        return TemplateParser(template).parse()
    return _parsed(template)


@functools.lru_cache(maxsize=4096)
def _parsed(template: str) -> list[n.Node]:
    return TemplateParser(template).parse()
