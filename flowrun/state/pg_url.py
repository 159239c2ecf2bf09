"""A Postgres state URL: checked, shown with its password masked, and turned into libpq connection settings."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flowrun.errors import UsageError

SCHEMES = ("postgresql", "postgres")


def is_postgres_url(spec: str) -> bool:
    return spec.split("://", 1)[0].lower() in SCHEMES and "://" in spec


def mask_url(url: str) -> str:
    """The URL with its password (in the user info or a `password=` parameter) replaced by `***`, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an unparsable URL>"
    query = _masked_query(parts.query)
    if parts.password is None:
        return urlunsplit(parts._replace(query=query))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if _port(parts) else "")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _masked_query(query: str) -> str:
    """libpq takes the password as a URI parameter too (`?password=...`)."""
    pairs = [pair.partition("=") for pair in query.split("&")] if query else []
    return "&".join(f"{key}{sep}***" if key.lower() == "password" and sep else f"{key}{sep}{value}"
                    for key, sep, value in pairs)


def _port(parts: object) -> int | None:
    try:
        return parts.port  # type: ignore[attr-defined,no-any-return]
    except ValueError:
        return None


def check_url(url: str, setting: str) -> str:
    """`url` when it is a usable postgresql:// URL naming a database, else a UsageError naming `setting`."""
    from psycopg import ProgrammingError, conninfo

    hint = (f"write {setting} as postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE, "
            "or remove it to keep the embedded SQLite state")
    if not is_postgres_url(url):
        raise UsageError(f"{setting} must be a postgresql:// URL, not {mask_url(url)!r}", hint=hint)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port raises here
        conninfo.conninfo_to_dict(url)
    except (ValueError, ProgrammingError) as exc:
        raise UsageError(f"{setting} is not a valid Postgres URL ({mask_url(url)}): {exc}", hint=hint) from None
    if not parts.path.strip("/"):
        raise UsageError(f"{setting} names no database: {mask_url(url)}", hint=hint)
    return url
