"""One-line SQL task errors naming the task, the connection (no password), the statement and the server's words."""

from __future__ import annotations

from typing import Any

from flowrun.errors import TaskError

_MAX_STATEMENT = 240


def one_line(text: str, limit: int | None = None) -> str:
    """`text` with every run of whitespace collapsed to one space, optionally shortened with `…`."""
    flat = " ".join(text.split())
    if limit and len(flat) > limit:
        return flat[: limit - 1] + "…"
    return flat


def position_in(statement: str, position: int | None) -> tuple[int, int] | None:
    """1-based (line, column) of a 1-based character `position` in `statement`."""
    if not position or position < 1:
        return None
    before = statement[: position - 1]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1)
    return line, column


def sql_error(
    task_id: str,
    connection: str,
    exc: BaseException,
    statement: str | None = None,
    secrets: list[str] | None = None,
    action: str | None = None,
) -> TaskError:
    """A TaskError whose message is one line, and whose evidence holds the parts separately."""
    server = _server_message(exc)
    where = ""
    pos = position_in(statement, _position(exc)) if statement else None
    if pos:
        where = f" at line {pos[0]}, column {pos[1]}"
    context = _context(exc)
    if context:
        where += f" [{context}]"
    sqlstate = getattr(exc, "sqlstate", None)
    code = f" [{sqlstate}]" if sqlstate else ""
    stmt_part = f"; statement: {one_line(statement, _MAX_STATEMENT)}" if statement else ""
    doing = action or "SQL error on"
    message = f"task `{task_id}`: {doing} {connection}: {server}{code}{where}{stmt_part}"
    evidence: dict[str, Any] = {"connection": connection, "server_message": server}
    if statement:
        evidence["statement"] = statement
    if sqlstate:
        evidence["sqlstate"] = sqlstate
    if pos:
        evidence["line"], evidence["column"] = pos
    if context:
        evidence["context"] = context
    return TaskError(_mask(message, secrets), evidence={k: _mask(v, secrets) for k, v in evidence.items()})


def _server_message(exc: BaseException) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    if primary:
        detail = getattr(diag, "message_detail", None)
        hint = getattr(diag, "message_hint", None)
        text = primary + (f" ({detail})" if detail else "") + (f" hint: {hint}" if hint else "")
        return one_line(text)
    return one_line(str(exc) or type(exc).__name__)


def _position(exc: BaseException) -> int | None:
    diag = getattr(exc, "diag", None)
    raw = getattr(diag, "statement_position", None) if diag is not None else None
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _context(exc: BaseException) -> str | None:
    diag = getattr(exc, "diag", None)
    ctx = getattr(diag, "context", None) if diag is not None else None
    return one_line(ctx) if ctx else None


def _mask(value: Any, secrets: list[str] | None) -> Any:
    if not isinstance(value, str) or not secrets:
        return value
    for secret in secrets:
        if secret:
            value = value.replace(secret, "******")
    return value
