"""Turn a statement's result set into Kestra's `{row, rows, uri, size}` output for a given fetchType."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from flowrun.jdbc.cells import row_dict, to_json
from flowrun.tasks.base import Task


class FetchProperties(Task):
    """The result properties every JDBC query task shares (Kestra's JdbcQueryInterface)."""

    parameters: Any = None
    fetch_type: Any = "NONE"
    fetch: Any = False
    fetch_one: Any = False
    store: Any = False
    fetch_size: Any = 10000
    time_zone_id: str | None = None

FETCH_TYPES = ("NONE", "FETCH", "FETCH_ONE", "STORE")


class ResultCursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchmany(self, size: int) -> Sequence[Any]: ...


def resolve_fetch_type(fetch_type: Any, fetch: Any = False, fetch_one: Any = False, store: Any = False) -> str:
    """The effective fetchType; the deprecated booleans win, in Kestra's order fetch > fetchOne > store."""
    if as_bool(fetch):
        return "FETCH"
    if as_bool(fetch_one):
        return "FETCH_ONE"
    if as_bool(store):
        return "STORE"
    value = str(fetch_type or "NONE").strip().upper()
    if value not in FETCH_TYPES:
        raise ValueError(f"fetchType must be one of {', '.join(FETCH_TYPES)}, not {fetch_type!r}")
    return value


def as_bool(value: Any) -> bool:
    """A rendered property as a boolean (YAML booleans or the strings true/false)."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "false", ""):
            return text == "true"
        raise ValueError(f"expected true or false, got {value!r}")
    return bool(value)


def as_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def collect(
    cursor: ResultCursor,
    columns: Sequence[str],
    fetch_type: str,
    ctx: Any,
    convert: Callable[[Any], Any],
    fetch_size: int = 10000,
    row_size_always_one: bool = False,
) -> dict[str, Any]:
    """Read the cursor's current result into an output dict (keys left out when Kestra leaves them null)."""
    if fetch_type == "FETCH_ONE":
        first = cursor.fetchone()
        out: dict[str, Any] = {} if first is None else {"row": to_json(row_dict(columns, first, convert))}
        out["size"] = 1 if (first is not None or row_size_always_one) else 0
        return out
    if fetch_type == "FETCH":
        rows: list[dict[str, Any]] = []
        for batch in _batches(cursor, fetch_size):
            rows.extend(to_json(row_dict(columns, r, convert)) for r in batch)
        return {"rows": rows, "size": len(rows)}
    if fetch_type == "STORE":
        return store(cursor, columns, ctx, convert, fetch_size)
    return {}


def store(
    cursor: ResultCursor, columns: Sequence[str], ctx: Any, convert: Callable[[Any], Any], fetch_size: int
) -> dict[str, Any]:
    """Stream the rows into a `.ion` file of this task run's storage: `{uri, size}`."""
    from flowrun.ion import IonLineWriter

    path, uri = ctx.storage.new_file(f"{uuid.uuid4().hex}.ion")
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as f:
        writer = IonLineWriter(f)
        for batch in _batches(cursor, fetch_size):
            for r in batch:
                writer.write(row_dict(columns, r, convert))
    return {"uri": uri, "size": writer.count}


def _batches(cursor: ResultCursor, size: int) -> Any:
    while True:
        batch = cursor.fetchmany(max(size, 1))
        if not batch:
            return
        yield batch
