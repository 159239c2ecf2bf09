"""Split a Pebble template into text, print and tag chunks, and tokenize the expressions inside them."""

from __future__ import annotations

import bisect
import re

from flowrun.plain import Plain

from .errors import TemplateError

_START = re.compile(r"\{\{|\{%|\{#")
# Kestra pre-processes `{% raw %}` blocks: content is literal, whitespace control is ignored.
_RAW_OPEN = re.compile(r"\{%-?\s*raw\s*-?%\}")
_RAW_CLOSE = re.compile(r"\{%-?\s*endraw\s*-?%\}")
_VERBATIM_OPEN = re.compile(r"\{%(-?)\s*verbatim\s*(-?)%\}")
_VERBATIM_CLOSE = re.compile(r"\{%(-?)\s*endverbatim\s*(-?)%\}")

_OPERATORS = re.compile(
    r"is\s+not(?![\w])|not\s+in(?![\w])|isNotIn(?![\w])|isIn(?![\w])|contains(?![\w])|equals(?![\w])"
    r"|and(?![\w])|not(?![\w])|or(?![\w])|is(?![\w])|in(?![\w])"
    r"|\?\?\?|\?\?|==|!=|<=|>=|\.\.|[<>+\-*/%~|]"
)
_NAME = re.compile(r"[^\W\d]\w*")
_LONG = re.compile(r"[0-9]+L")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_SINGLE = re.compile(r"'([^'\\]*(?:\\.[^'\\]*)*)'", re.S)
_DOUBLE = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"', re.S)
_PUNCT = "()[]{}?:.,="
_PAIRS = {"(": ")", "[": "]", "{": "}"}


class Token(Plain):
    __slots__ = ("kind", "value", "line")
    FIELDS = __slots__

    def __init__(self, kind: str, value: object, line: int) -> None:
        self.kind = kind  # name, num, str, interp, op, punct, end
        self.value = value
        self.line = line


class Chunk(Plain):
    __slots__ = ("kind", "line", "text", "tokens")
    FIELDS = __slots__

    def __init__(self, kind: str, line: int, text: str = "", tokens: list[Token] | None = None) -> None:
        self.kind = kind  # text, print, tag
        self.line = line
        self.text = text
        self.tokens: list[Token] = [] if tokens is None else tokens


class _Source:
    def __init__(self, src: str, base_line: int = 1) -> None:
        self.src = src
        self.base = base_line
        self.newlines = [i for i, c in enumerate(src) if c == "\n"]

    def line(self, pos: int) -> int:
        return self.base + bisect.bisect_right(self.newlines, pos - 1)


def tokenize(src: str) -> list[Chunk]:
    """Chunks of a template, with whitespace control (`{{-`, `-}}`, `{%-`, `-%}`) applied to text."""
    source = _Source(src)
    chunks: list[Chunk] = []
    pos, n, trim_next = 0, len(src), False
    while pos < n:
        m = _START.search(src, pos)
        text = src[pos : m.start()] if m else src[pos:]
        if trim_next:
            text, trim_next = text.lstrip(), False
        if m is None:
            _add_text(chunks, text, source.line(pos))
            break
        start = m.start()
        special = _special_block(src, start, text, chunks, source) if m.group() == "{%" else None
        if special is not None:
            pos, trim_next = special
            continue
        after = m.end()
        if src.startswith("-", after):
            text, after = text.rstrip(), after + 1
        _add_text(chunks, text, source.line(pos))
        if m.group() == "{#":
            end = src.find("#}", after)
            if end < 0:
                raise TemplateError(f"Unclosed comment. ({src}:{source.line(start)})", src)
            trim_next, pos = src[end - 1] == "-" and end > after, end + 2
            continue
        close = "}}" if m.group() == "{{" else "%}"
        tokens, pos, trim_next = lex_expression(src, after, close, source)
        chunks.append(Chunk("print" if close == "}}" else "tag", source.line(start), tokens=tokens))
    return chunks


def _add_text(chunks: list[Chunk], text: str, line: int) -> None:
    if text:
        chunks.append(Chunk("text", line, text=text))


def _special_block(src: str, start: int, text: str, chunks: list[Chunk], source: _Source) -> tuple[int, bool] | None:
    """`{% raw %}` and `{% verbatim %}`: emit the body literally. Returns (next pos, trim next)."""
    raw = _RAW_OPEN.match(src, start)
    if raw:
        end = _RAW_CLOSE.search(src, raw.end())
        if end is None:
            raise TemplateError(f"Unclosed raw tag. ({src}:{source.line(start)})", src)
        _add_text(chunks, text, source.line(start))
        _add_text(chunks, src[raw.end() : end.start()], source.line(raw.end()))
        return end.end(), False
    verb = _VERBATIM_OPEN.match(src, start)
    if verb is None:
        return None
    end = _VERBATIM_CLOSE.search(src, verb.end())
    if end is None:
        raise TemplateError(f"Unclosed verbatim tag. ({src}:{source.line(start)})", src)
    body = src[verb.end() : end.start()]
    if verb.group(1):
        text = text.rstrip()
    if verb.group(2):
        body = body.lstrip()
    if end.group(1):
        body = body.rstrip()
    _add_text(chunks, text, source.line(start))
    _add_text(chunks, body, source.line(verb.end()))
    return end.end(), bool(end.group(2))


def lex_expression(src: str, pos: int, close: str | None, source: _Source) -> tuple[list[Token], int, bool]:
    """Tokens from `pos` up to the `close` delimiter (or end of `src` when close is None)."""
    tokens: list[Token] = []
    brackets: list[str] = []
    n = len(src)
    while True:
        while pos < n and src[pos].isspace():
            pos += 1
        line = source.line(pos)
        if pos >= n:
            if close is None and not brackets:
                tokens.append(Token("end", None, line))
                return tokens, pos, False
            what = f'"{_PAIRS[brackets[-1]]}"' if brackets else f'"{close}"'
            raise TemplateError(f"Unclosed {what} ({src}:{line})", src)
        if close is not None and not brackets:
            if src.startswith("-" + close, pos):
                tokens.append(Token("end", None, line))
                return tokens, pos + 3, True
            if src.startswith(close, pos):
                tokens.append(Token("end", None, line))
                return tokens, pos + 2, False
        pos = _lex_one(src, pos, tokens, brackets, line)


def _lex_one(src: str, pos: int, tokens: list[Token], brackets: list[str], line: int) -> int:
    m = _OPERATORS.match(src, pos)
    if m:
        tokens.append(Token("op", " ".join(m.group().split()), line))
        return m.end()
    m = _NAME.match(src, pos)
    if m:
        tokens.append(Token("name", m.group(), line))
        return m.end()
    m = _LONG.match(src, pos)
    if m:
        tokens.append(Token("num", int(m.group()[:-1]), line))
        return m.end()
    m = _NUMBER.match(src, pos)
    if m:
        value = float(m.group()) if m.group(1) else int(m.group())
        tokens.append(Token("num", value, line))
        return m.end()
    ch = src[pos]
    if ch in _PUNCT:
        _track_bracket(ch, brackets, src, line)
        tokens.append(Token("punct", ch, line))
        return pos + 1
    if ch == "'":
        m = _SINGLE.match(src, pos)
        if m:
            tokens.append(Token("str", m.group(1).replace("\\'", "'").replace("\\\\", "\\"), line))
            return m.end()
    if ch == '"':
        m = _DOUBLE.match(src, pos)
        if m:
            tokens.append(_double_quoted(m.group(1), line))
            return m.end()
        raise TemplateError(f'Unclosed """ ({src}:{line})', src)
    raise TemplateError(f"Unexpected character [{ch}] ({src}:{line})", src)


def _track_bracket(ch: str, brackets: list[str], src: str, line: int) -> None:
    if ch in _PAIRS:
        brackets.append(ch)
    elif ch in ")]}":
        if not brackets:
            raise TemplateError(f'Unexpected "{ch}" ({src}:{line})', src)
        expected = _PAIRS[brackets.pop()]
        if expected != ch:
            raise TemplateError(f'Unclosed "{expected}" ({src}:{line})', src)


def _unescape_double(text: str) -> str:
    return text.replace('\\"', '"').replace("\\\\", "\\")


def _double_quoted(body: str, line: int) -> Token:
    """A double-quoted string; `#{expr}` parts make it an interpolated string token."""
    if "#{" not in body:
        return Token("str", _unescape_double(body), line)
    parts: list[object] = []
    pos = 0
    while True:
        start = body.find("#{", pos)
        if start < 0:
            parts.append(_unescape_double(body[pos:]))
            break
        parts.append(_unescape_double(body[pos:start]))
        end = _matching_brace(body, start + 2)
        inner = body[start + 2 : end]
        tokens, _, _ = lex_expression(inner, 0, None, _Source(inner, line))
        parts.append(tokens)
        pos = end + 1
    return Token("interp", [p for p in parts if p != ""], line)


def _matching_brace(text: str, pos: int) -> int:
    depth, quote = 0, ""
    for i in range(pos, len(text)):
        c = text[i]
        if quote:
            if c == quote and text[i - 1] != "\\":
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                return i
            depth -= 1
    raise TemplateError("Unclosed string interpolation", text)
