"""The KV store: typed, per-namespace values with optional TTL, validated and encrypted here, kept by the state store."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flowrun.durations import DurationError, format_duration, parse_duration
from flowrun.errors import ExitCode, FlowrunError
from flowrun.plain import Plain
from flowrun.state.protocol import StateStore

if TYPE_CHECKING:
    from flowrun.crypto import Cipher

KV_TYPES = ("STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON")
# Kestra's rules: KVStore.KEY_VALIDATOR_PATTERN for keys, the flow `namespace` pattern (1-150 chars) for namespaces.
KEY_RULE = "[a-zA-Z0-9][a-zA-Z0-9._-]*"
NAMESPACE_RULE = "[a-z0-9][a-z0-9._-]*"
_KEY = re.compile(KEY_RULE)
_NAMESPACE = re.compile(NAMESPACE_RULE)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so that SQL compares stamps as text


class KVError(FlowrunError):
    """A KV operation cannot be done; each subclass carries the exit code of its kind."""

    exit_code = ExitCode.INVALID


class KVNameError(KVError):
    """A namespace or key breaks Kestra's naming rule (a usage error)."""

    exit_code = ExitCode.USAGE


class KVValueError(KVError):
    """A value, kvType or ttl cannot be stored as asked (invalid input: nothing was stored)."""

    exit_code = ExitCode.INVALID


class KVMissingError(KVError):
    """The key does not exist, or has expired (which reads the same)."""

    exit_code = ExitCode.FLOW_FAILED


class KVConflictError(KVError):
    """`overwrite: false` and the key already exists."""

    exit_code = ExitCode.FLOW_FAILED


class KVEntry(Plain):
    """One stored value; `secret` entries are encrypted at rest and shown masked."""

    FIELDS = ("key", "type", "value", "secret", "expires_at", "updated_at")

    def __init__(self, key: str, type: str, value: Any, secret: bool, expires_at: str | None, updated_at: str) -> None:
        self.key = key
        self.type = type
        self.value = value
        self.secret = secret
        self.expires_at = expires_at
        self.updated_at = updated_at


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_STAMP)


class KVStore:
    """Values keep their type: NUMBER comes back as int/float, JSON as dict/list, BOOLEAN as bool.

    DATETIME, DATE and DURATION come back as ISO-8601 strings (DURATION normalised like Java's
    `Duration.toString()`: `P1D` -> `PT24H`), so that every value stays JSON-serialisable.
    A `secret` value is stored encrypted with `cipher` (flowrun.crypto.Cipher) and decrypted on read: the store
    never masks, its readers do (the CLI unless `--reveal`, the engine through the run's masker).
    An expired key reads as missing everywhere, and is deleted when read.
    """

    def __init__(self, db: StateStore, cipher: Cipher | None = None, clock: Callable[[], datetime] = _now) -> None:
        self.db = db
        self.cipher = cipher
        self.clock = clock

    def set(self, namespace: str, key: str, value: Any, *, kv_type: str | None = None,
            ttl: str | timedelta | None = None, overwrite: bool = True, secret: bool = False) -> None:
        """Store `value`; `kv_type` converts a string value (Kestra's `kvType`), `ttl` sets an expiry."""
        validate_namespace(namespace)
        validate_key(key)
        type_name, typed = encode_value(value, kv_type, key)
        stored = self._seal(typed, key) if secret else typed
        now = self.clock()
        expires = _stamp(now + _ttl(ttl, key)) if ttl is not None else None
        if not self.db.kv_put(namespace, key, type_name, stored, secret, expires, _stamp(now), overwrite):
            raise KVConflictError(f"key `{key}` already exists in namespace `{namespace}`",
                                  hint="set overwrite: true, or delete the key first")

    def get(self, namespace: str, key: str, *, error_on_missing: bool = False) -> Any:
        """The typed value; None (or KVMissingError) when missing or expired."""
        entry = self.entry(namespace, key, error_on_missing=error_on_missing)
        return entry.value if entry is not None else None

    def entry(self, namespace: str, key: str, *, error_on_missing: bool = False) -> KVEntry | None:
        """The entry of `key` (value decrypted); None (or KVMissingError) when missing or expired."""
        validate_namespace(namespace)
        validate_key(key)
        row = self.db.kv_row(namespace, key)
        expired_at = None
        if row is not None and row["expires_at"] is not None and row["expires_at"] <= _stamp(self.clock()):
            expired_at = row["expires_at"]
            self.db.kv_delete_expired(namespace, key, expired_at)
            row = None
        if row is None:
            if error_on_missing:
                raise missing_key(namespace, key, expired_at)
            return None
        return self._entry(row)

    def _entry(self, row: Any) -> KVEntry:
        text = self._unseal(row["value"]) if row["secret"] else row["value"]
        return KVEntry(key=row["key"], type=row["type"], value=json.loads(text), secret=bool(row["secret"]),
                       expires_at=row["expires_at"], updated_at=row["updated_at"])

    def _seal(self, text: str, key: str) -> str:
        if self.cipher is None:
            raise KVValueError(f"cannot store key `{key}` as a secret: no encryption key is available")
        return str(self.cipher.encrypt(text))

    def _unseal(self, token: str) -> str:
        if self.cipher is None:
            raise KVValueError("cannot read a secret KV value: no encryption key is available")
        return str(self.cipher.decrypt(token))

    def delete(self, namespace: str, key: str) -> bool:
        """Delete a key; False if it did not exist (or had expired)."""
        validate_namespace(namespace)
        validate_key(key)
        return self.db.kv_delete(namespace, key, _stamp(self.clock()))

    def keys(self, namespace: str, prefix: str | None = None) -> list[str]:
        """Non-expired keys of `namespace` starting with `prefix`, sorted."""
        return [e["key"] for e in self.list(namespace) if not prefix or e["key"].startswith(prefix)]

    def purge_expired(self, namespace: str | None = None) -> int:
        """Delete expired entries (of one namespace, or all); return how many."""
        if namespace is not None:
            validate_namespace(namespace)
        return self.db.kv_purge_expired(_stamp(self.clock()), namespace)

    def namespaces(self) -> list[str]:
        """Every namespace that holds a key (expired ones included), sorted."""
        return self.db.kv_namespaces()

    def purge(self, namespace: str, *, expired_only: bool = True,
              key_matches: Callable[[str], bool] | None = None) -> int:
        """Delete the keys of `namespace` (only the expired ones by default) that `key_matches`; return how many."""
        return self.db.kv_purge(namespace, _stamp(self.clock()), expired_only, key_matches)

    def list(self, namespace: str, values: bool = False) -> list[dict[str, Any]]:
        """Non-expired entries of `namespace`, sorted by key: key, type, secret, expires_at, updated_at, and with
        `values` the value (decrypted)."""
        validate_namespace(namespace)
        listed = []
        for row in self.db.kv_rows(namespace, _stamp(self.clock())):
            item = {"key": row["key"], "type": row["type"], "secret": bool(row["secret"]),
                    "expires_at": row["expires_at"], "updated_at": row["updated_at"]}
            if values:
                item["value"] = self._entry(row).value
            listed.append(item)
        return listed


def missing_key(namespace: str, key: str, expired_at: str | None = None, hint: str | None = None) -> KVMissingError:
    """The error of a key that does not exist (an expired key reads the same, with when it expired)."""
    expired = f" (it expired at {expired_at})" if expired_at else ""
    return KVMissingError(f"key `{key}` does not exist in namespace `{namespace}`{expired}",
                          hint=hint or "set it first (kv.Set task or `flowrun kv set`), or check the namespace")


def validate_namespace(namespace: str) -> None:
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace) or len(namespace) > 150:
        raise KVNameError(f"`{namespace}` is not a valid namespace: namespaces match {NAMESPACE_RULE} (1-150 chars)",
                          hint="use lowercase letters, digits, `.`, `_` and `-`, e.g. company.team")


def validate_key(key: str) -> None:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise KVNameError(f"invalid KV key `{key}`: keys match {KEY_RULE}",
                          hint="start with a letter or digit; then use only letters, digits, `.`, `_` and `-`")


def _ttl(ttl: str | timedelta, key: str) -> timedelta:
    try:
        delta = ttl if isinstance(ttl, timedelta) else parse_duration(ttl)
    except DurationError as exc:
        raise KVValueError(f"invalid ttl for key `{key}`: {exc}", hint=exc.hint) from exc
    if delta <= timedelta(0):
        raise KVValueError(f"ttl for key `{key}` must be positive, got `{ttl}`")
    return delta


def encode_value(value: Any, kv_type: str | None, key: str = "?") -> tuple[str, str]:
    """(type, JSON text) to store. `kv_type` converts string values only, as Kestra's kv.Set does."""
    if kv_type is not None:
        wanted = str(kv_type).upper()
        if wanted not in KV_TYPES:
            raise KVValueError(f"unknown kvType `{kv_type}` for key `{key}`", hint=f"use one of {', '.join(KV_TYPES)}")
        if isinstance(value, str):
            return wanted, _dump(_convert(value, wanted, key), key)
    type_name, plain = _infer(value, key)
    return type_name, _dump(plain, key)


def _convert(text: str, kv_type: str, key: str) -> Any:
    try:
        return _CONVERTERS[kv_type](text.strip()) if kv_type != "STRING" else text
    except (ValueError, DurationError) as exc:
        raise KVValueError(f"value `{_shown(text)}` of key `{key}` is not a valid {kv_type}: {exc}",
                      hint="fix the value or the kvType") from exc


def _shown(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _to_number(text: str) -> int | float:
    if not _NUMBER.fullmatch(text):
        raise ValueError("expected a number such as 42, -1.5 or 2e3")
    number: int | float = json.loads(text)
    return number


def _to_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None


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
    "JSON": _to_json,
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
    raise KVValueError(f"cannot store a {type(value).__name__} under key `{key}`",
                  hint="KV values are strings, numbers, booleans, dates, durations, lists or maps")


def _dump(value: Any, key: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise KVValueError(f"cannot store {value} under key `{key}`: not a finite number")
    try:
        return json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise KVValueError(f"value of key `{key}` is not JSON-serialisable: {exc}",
                      hint="store strings, numbers, booleans, lists or maps") from exc
