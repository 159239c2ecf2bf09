"""Bind Kestra's `:name` query parameters as psycopg placeholders, leaving quotes, comments and `::casts` alone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flowrun.jdbc.split import end_of_block_comment, end_of_quoted, is_escape_string

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def bind_named(sql: str, parameters: Mapping[str, Any], placeholder: str = "%s") -> tuple[str, list[Any]]:
    """`SELECT :a, '%'` + {a: 1} -> (`SELECT %s, '%%'`, [1]); an unknown name binds NULL, as in Kestra.

    With the `%s` placeholder (psycopg) literal `%` are doubled; with `?` (DuckDB) the text is kept as is.
    """
    pct = "%%" if placeholder == "%s" else "%"
    out: list[str] = []
    values: list[Any] = []
    i = 0
    n = len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":
            end = end_of_quoted(sql, i, c, backslash=c == "'" and is_escape_string(sql, i))
            out.append(sql[i:end].replace("%", pct))
            i = end
        elif c == "-" and sql.startswith("--", i):
            nl = sql.find("\n", i)
            end = n if nl < 0 else nl
            out.append(sql[i:end].replace("%", pct))
            i = end
        elif c == "/" and sql.startswith("/*", i):
            end = end_of_block_comment(sql, i)
            out.append(sql[i:end].replace("%", pct))
            i = end
        elif c == ":" and sql.startswith("::", i):
            out.append("::")
            i += 2
        elif c == ":" and (m := _NAME.match(sql, i + 1)) and not (i > 0 and sql[i - 1] == ":"):
            out.append(placeholder)
            values.append(parameters.get(m.group(0)))
            i = m.end()
        elif c == "%":
            out.append(pct)
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out), values
