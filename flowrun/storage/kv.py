"""The KV store: typed, per-namespace values with optional TTL, kept in the state database's `kv` table."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flowrun.durations import DurationError, format_duration, parse_duration
from flowrun.errors import FlowrunError
from flowrun.state.db import Database

KV_TYPES = ("STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON")
_KEY = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")
_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so that SQL compares stamps as text


class KVError(FlowrunError):
    """A KV key is invalid, missing, expired or would be overwritten."""


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_STAMP)


class KVStore:
    """Values keep their type: NUMBER comes back as int/float, JSON as dict/list, BOOLEAN as bool.

    DATETIME, DATE and DURATION come back as ISO-8601 strings (DURATION normalised like Java's
    `Duration.toString()`: `P1D` -> `PT24H`), so that every value stays JSON-serialisable.
    """

    def __init__(self, db: Database, clock: Callable[[], datetime] = _now) -> None:
        self.db = db
        self.clock = clock

    def set(self, namespace: str, key: str, value: Any, *, kv_type: str | None = None,
            ttl: str | timedelta | None = None, overwrite: bool = True) -> None:
        """Store `value`; `kv_type` converts a string value (Kestra's `kvType`), `ttl` sets an expiry."""
        validate_key(key)
        type_name, typed = encode_value(value, kv_type, key)
        now = self.clock()
        expires = _stamp(now + _ttl(ttl, key)) if ttl is not None else None
        with self.db.write() as conn:
            conn.execute("DELETE FROM kv WHERE namespace = ? AND key = ? AND expires_at <= ?",
                         (namespace, key, _stamp(now)))
            if not overwrite and conn.execute("SELECT 1 FROM kv WHERE namespace = ? AND key = ?",
                                              (namespace, key)).fetchone():
                raise KVError(f"key `{key}` already exists in namespace `{namespace}`",
                              hint="set overwrite: true, or delete the key first")
            conn.execute(
                "INSERT INTO kv (namespace, key, type, value, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (namespace, key) DO UPDATE SET type = excluded.type, value = excluded.value,"
                " expires_at = excluded.expires_at, updated_at = excluded.updated_at",
                (namespace, key, type_name, typed, expires, _stamp(now)),
            )

    def get(self, namespace: str, key: str, *, error_on_missing: bool = False) -> Any:
        """The typed value; None (or KVError) when missing. An expired key is deleted and raises KVError."""
        validate_key(key)
        row = self.db.query_one("SELECT value, expires_at FROM kv WHERE namespace = ? AND key = ?",
                                (namespace, key))
        if row is None:
            if error_on_missing:
                raise KVError(f"key `{key}` does not exist in namespace `{namespace}`",
                              hint="set it first (kv.Set task or `flowrun kv set`), or check the namespace")
            return None
        if row["expires_at"] is not None and row["expires_at"] <= _stamp(self.clock()):
            self._delete_expired(namespace, key, row["expires_at"])
            raise KVError(f"key `{key}` in namespace `{namespace}` expired at {row['expires_at']}",
                          hint="set it again, with a longer ttl or none")
        return json.loads(row["value"])

    def _delete_expired(self, namespace: str, key: str, expires_at: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM kv WHERE namespace = ? AND key = ? AND expires_at = ?",
                         (namespace, key, expires_at))

    def delete(self, namespace: str, key: str) -> bool:
        """Delete a key; False if it did not exist (or had expired)."""
        validate_key(key)
        now = _stamp(self.clock())
        with self.db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM kv WHERE namespace = ? AND key = ? RETURNING expires_at", (namespace, key)
            )
            rows = cursor.fetchall()
        return any(r[0] is None or r[0] > now for r in rows)

    def keys(self, namespace: str, prefix: str | None = None) -> list[str]:
        """Non-expired keys of `namespace` starting with `prefix`, sorted."""
        return [e["key"] for e in self.list(namespace) if not prefix or e["key"].startswith(prefix)]

    def purge_expired(self, namespace: str | None = None) -> int:
        """Delete expired entries (of one namespace, or all); return how many."""
        sql = "DELETE FROM kv WHERE expires_at <= ?" + (" AND namespace = ?" if namespace else "")
        params = (_stamp(self.clock()), namespace) if namespace else (_stamp(self.clock()),)
        with self.db.write() as conn:
            return conn.execute(sql, params).rowcount

    def namespaces(self) -> list[str]:
        """Every namespace that holds a key (expired ones included), sorted."""
        return [row[0] for row in self.db.query("SELECT DISTINCT namespace FROM kv ORDER BY namespace")]

    def purge(self, namespace: str, *, expired_only: bool = True,
              key_matches: Callable[[str], bool] | None = None) -> int:
        """Delete the keys of `namespace` (only the expired ones by default) that `key_matches`; return how many."""
        now = _stamp(self.clock())
        with self.db.write() as conn:
            rows = conn.execute("SELECT key, expires_at FROM kv WHERE namespace = ?", (namespace,)).fetchall()
            doomed = [row[0] for row in rows if (not expired_only or (row[1] is not None and row[1] <= now))
                      and (key_matches is None or key_matches(row[0]))]
            for key in doomed:
                conn.execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
        return len(doomed)

    def list(self, namespace: str) -> list[dict[str, Any]]:
        """Non-expired entries of `namespace`: key, type, expires_at, updated_at (no values), sorted by key."""
        rows = self.db.query(
            "SELECT key, type, expires_at, updated_at FROM kv WHERE namespace = ?"
            " AND (expires_at IS NULL OR expires_at > ?) ORDER BY key",
            (namespace, _stamp(self.clock())),
        )
        return [dict(r) for r in rows]


def validate_key(key: str) -> None:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise KVError(f"invalid KV key `{key}`",
                      hint="keys start with a letter or digit and contain only letters, digits, `.`, `_`, `-`")


def _ttl(ttl: str | timedelta, key: str) -> timedelta:
    try:
        delta = ttl if isinstance(ttl, timedelta) else parse_duration(ttl)
    except DurationError as exc:
        raise KVError(f"invalid ttl for key `{key}`: {exc}", hint=exc.hint) from exc
    if delta <= timedelta(0):
        raise KVError(f"ttl for key `{key}` must be positive, got `{ttl}`")
    return delta


def encode_value(value: Any, kv_type: str | None, key: str = "?") -> tuple[str, str]:
    """(type, JSON text) to store. `kv_type` converts string values only, as Kestra's kv.Set does."""
    if kv_type is not None:
        wanted = str(kv_type).upper()
        if wanted not in KV_TYPES:
            raise KVError(f"unknown kvType `{kv_type}` for key `{key}`", hint=f"use one of {', '.join(KV_TYPES)}")
        if isinstance(value, str):
            return wanted, _dump(_convert(value, wanted, key), key)
    type_name, plain = _infer(value, key)
    return type_name, _dump(plain, key)


def _convert(text: str, kv_type: str, key: str) -> Any:
    try:
        return _CONVERTERS[kv_type](text.strip()) if kv_type != "STRING" else text
    except (ValueError, DurationError) as exc:
        raise KVError(f"value `{text}` of key `{key}` is not a valid {kv_type}: {exc}",
                      hint="fix the value or the kvType") from exc


def _to_number(text: str) -> int | float:
    number = json.loads(text)
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise ValueError("expected a JSON number")
    return number


def _to_boolean(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError("expected true or false")
    return text.lower() == "true"


def _to_datetime(text: str) -> str:
    datetime.fromisoformat(text)
    return text


def _to_date(text: str) -> str:
    (date.fromisoformat if len(text) == 10 else datetime.fromisoformat)(text)
    return text


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "NUMBER": _to_number,
    "BOOLEAN": _to_boolean,
    "DATETIME": _to_datetime,
    "DATE": _to_date,
    "DURATION": lambda text: format_duration(parse_duration(text)),
    "JSON": json.loads,
}


def _infer(value: Any, key: str) -> tuple[str, Any]:
    if isinstance(value, bool):
        return "BOOLEAN", value
    if isinstance(value, int | float):
        return "NUMBER", value
    if isinstance(value, dict | list | tuple) or value is None:
        return "JSON", value
    if isinstance(value, datetime):
        return "DATETIME", value.isoformat()
    if isinstance(value, date):
        return "DATE", value.isoformat()
    if isinstance(value, timedelta):
        return "DURATION", format_duration(value)
    if isinstance(value, str):
        return "STRING", value
    raise KVError(f"cannot store a {type(value).__name__} under key `{key}`",
                  hint="KV values are strings, numbers, booleans, dates, durations, lists or maps")


def _dump(value: Any, key: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise KVError(f"cannot store {value} under key `{key}`: not a finite number")
    try:
        return json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise KVError(f"value of key `{key}` is not JSON-serialisable: {exc}",
                      hint="store strings, numbers, booleans, lists or maps") from exc
