"""Split an SQL script into statements, respecting quotes, comments and Postgres dollar quoting."""

from __future__ import annotations

import re

_TAG = re.compile(r"\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")
_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$\u0080-\uffff]")


def split_sql(script: str) -> list[str]:
    """The statements of `script`, stripped, without their trailing `;`; comment-only pieces are dropped."""
    statements: list[str] = []
    start = 0
    i = 0
    n = len(script)
    while i < n:
        c = script[i]
        if c == ";":
            _keep(statements, script[start:i])
            start = i + 1
            i += 1
        elif c == "'":
            i = end_of_quoted(script, i, "'", backslash=is_escape_string(script, i))
        elif c == '"':
            i = end_of_quoted(script, i, '"', backslash=False)
        elif c == "-" and script.startswith("--", i):
            nl = script.find("\n", i)
            i = n if nl < 0 else nl + 1
        elif c == "/" and script.startswith("/*", i):
            i = end_of_block_comment(script, i)
        elif c == "$" and (i == 0 or not _IDENT_CHAR.match(script[i - 1])):
            m = _TAG.match(script, i)
            if m:
                end = script.find(m.group(0), m.end())
                i = n if end < 0 else end + len(m.group(0))
            else:
                i += 1
        else:
            i += 1
    _keep(statements, script[start:])
    return statements


def strip_comments(statement: str) -> str:
    """`statement` without its `--` and `/* */` comments (quoted text kept as is)."""
    out: list[str] = []
    i = 0
    n = len(statement)
    while i < n:
        c = statement[i]
        if c == "-" and statement.startswith("--", i):
            nl = statement.find("\n", i)
            i = n if nl < 0 else nl
            out.append(" ")
        elif c == "/" and statement.startswith("/*", i):
            i = end_of_block_comment(statement, i)
            out.append(" ")
        elif c in "'\"":
            end = end_of_quoted(statement, i, c, backslash=c == "'" and is_escape_string(statement, i))
            out.append(statement[i:end])
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _keep(statements: list[str], piece: str) -> None:
    text = piece.strip()
    if text and strip_comments(text).strip():
        statements.append(text)


def is_escape_string(script: str, quote_at: int) -> bool:
    """True for Postgres `E'...'` strings, where a backslash escapes the next character."""
    if quote_at == 0 or script[quote_at - 1] not in "eE":
        return False
    return quote_at == 1 or not _IDENT_CHAR.match(script[quote_at - 2])


def end_of_quoted(script: str, i: int, quote: str, backslash: bool) -> int:
    """Index just past the quoted text opening at `i` (a doubled quote stays inside)."""
    j = i + 1
    n = len(script)
    while j < n:
        c = script[j]
        if backslash and c == "\\":
            j += 2
            continue
        if c == quote:
            if j + 1 < n and script[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def end_of_block_comment(script: str, i: int) -> int:
    """Index just past the (possibly nested, as in Postgres) block comment opening at `i`."""
    depth = 0
    j = i
    n = len(script)
    while j < n:
        if script.startswith("/*", j):
            depth += 1
            j += 2
        elif script.startswith("*/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    return n
