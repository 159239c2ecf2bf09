"""Translate JDBC URLs (Postgres, DuckDB) into psycopg connection parameters or a DuckDB database path."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote

from flowrun.errors import TaskError

#: pgjdbc URL parameter -> libpq keyword (values passed through)
_PG_PARAMS = {
    "user": "user",
    "password": "password",
    "sslmode": "sslmode",
    "sslrootcert": "sslrootcert",
    "sslcert": "sslcert",
    "sslkey": "sslkey",
    "sslpassword": "sslpassword",
    "connecttimeout": "connect_timeout",
    "logintimeout": "connect_timeout",
    "applicationname": "application_name",
    "options": "options",
    "targetservertype": "target_session_attrs",
    "gssencmode": "gssencmode",
    "channelbinding": "channel_binding",
}
_TARGET_SERVER = {"any": "any", "primary": "primary", "master": "primary", "secondary": "standby",
                  "standby": "standby", "preferSecondary": "prefer-standby", "preferStandby": "prefer-standby"}
_SECRET_KEYS = {"password", "sslpassword"}


class JdbcUrlError(TaskError):
    """The URL is not a JDBC URL flowrun understands."""


@dataclass(frozen=True)
class PgTarget:
    """A Postgres connection: psycopg keyword arguments and a password-free display form."""

    params: dict[str, str]
    ignored: list[str] = field(default_factory=list)

    @property
    def display(self) -> str:
        p = self.params
        user = f"{quote(p['user'])}@" if p.get("user") else ""
        hosts = p.get("host", "localhost").split(",")
        ports = p.get("port", "5432").split(",")
        netloc = ",".join(
            f"{'[' + h + ']' if ':' in h else h}:{ports[min(k, len(ports) - 1)]}" for k, h in enumerate(hosts)
        )
        extra = [f"{k}={v}" for k, v in p.items() if k in ("sslmode", "target_session_attrs")]
        query = f"?{'&'.join(extra)}" if extra else ""
        return f"postgresql://{user}{netloc}/{p.get('dbname', '')}{query}"

    def secrets(self) -> list[str]:
        return [v for k, v in self.params.items() if k in _SECRET_KEYS and v]


def parse_postgres_url(url: str, username: str | None = None, password: str | None = None) -> PgTarget:
    """`jdbc:postgresql://h1[:p1][,h2[:p2]]/db?k=v` (or a libpq `postgresql://` URL) -> PgTarget.

    As in pgjdbc, parameters in the URL win over the `username`/`password` properties.
    """
    rest = _strip_scheme(url)
    params: dict[str, str] = {}
    if username:
        params["user"] = username
    if password:
        params["password"] = password
    rest, _, query = rest.partition("?")
    if rest.startswith("//"):
        netloc, _, db = rest[2:].partition("/")
        hosts, ports = _parse_hosts(netloc, url)
        if hosts:
            params["host"] = ",".join(hosts)
            params["port"] = ",".join(ports)
    else:
        db = rest
    params.setdefault("host", "localhost")
    params.setdefault("port", "5432")
    if db:
        params["dbname"] = unquote(db)
    ignored: list[str] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        _apply_param(params, key, value, ignored)
    return PgTarget(params, ignored)


def _strip_scheme(url: str) -> str:
    for prefix in ("jdbc:postgresql:", "postgresql:", "postgres:"):
        if url.startswith(prefix):
            return url[len(prefix):]
    raise JdbcUrlError(f"not a Postgres JDBC URL: {url!r} (expected jdbc:postgresql://host:port/database)")


def _parse_hosts(netloc: str, url: str) -> tuple[list[str], list[str]]:
    if "@" in netloc:
        raise JdbcUrlError(f"credentials in the host part of {_redact(url)} are not supported by JDBC URLs")
    hosts: list[str] = []
    ports: list[str] = []
    for part in filter(None, netloc.split(",")):
        if part.startswith("["):
            host, _, tail = part[1:].partition("]")
            port = tail[1:] if tail.startswith(":") else ""
        else:
            host, _, port = part.partition(":")
        if port and not port.isdigit():
            raise JdbcUrlError(f"bad port {port!r} in {_redact(url)}")
        hosts.append(host or "localhost")
        ports.append(port or "5432")
    return hosts, ports


def _apply_param(params: dict[str, str], key: str, value: str, ignored: list[str]) -> None:
    low = key.lower()
    if low == "ssl":
        if value.lower() in ("", "true") and "sslmode" not in params:
            params["sslmode"] = "verify-full"
        return
    if low == "currentschema":
        params["options"] = (params.get("options", "") + f" -c search_path={value}").strip()
        return
    if low == "targetservertype":
        value = _TARGET_SERVER.get(value, value)
    target = _PG_PARAMS.get(low)
    if target is None:
        ignored.append(key)
    else:
        params[target] = value


def _redact(url: str) -> str:
    head, sep, query = url.partition("?")
    if not sep:
        return url
    kept = [f"{k}={'***' if k.lower() in _SECRET_KEYS else v}" for k, v in parse_qsl(query, keep_blank_values=True)]
    return f"{head}?{'&'.join(kept)}"


def redact_url(url: str) -> str:
    """`url` with any password query parameter masked."""
    return _redact(url)


def sslmode_from_property(ssl_mode: str) -> str:
    """Kestra's `sslMode` enum (`VERIFY_FULL`) -> libpq's `verify-full`."""
    return ssl_mode.strip().lower().replace("_", "-")


@dataclass(frozen=True)
class DuckTarget:
    """Where a DuckDB task's database lives: a file path, `:memory:`, or None for a fresh file."""

    database: str | None

    @property
    def display(self) -> str:
        return f"jdbc:duckdb:{self.database or ''}"


def parse_duckdb_url(url: str | None) -> DuckTarget:
    """`jdbc:duckdb:` -> fresh database; `jdbc:duckdb:/abs/file.db`; `jdbc:duckdb::memory:`; `jdbc:duckdb:md:x`."""
    if not url:
        return DuckTarget(None)
    if not url.startswith("jdbc:duckdb:"):
        raise JdbcUrlError(f"not a DuckDB JDBC URL: {url!r} (expected jdbc:duckdb: or jdbc:duckdb:/abs/path.db)")
    rest = url[len("jdbc:duckdb:"):].split("?", 1)[0]
    if not rest:
        return DuckTarget(None)
    if rest == ":memory:" or rest.startswith(("md:", "motherduck:")):
        return DuckTarget(rest)
    if not Path(rest).is_absolute():
        raise JdbcUrlError(f"the DuckDB database path in {url!r} must be absolute")
    return DuckTarget(rest)
