"""The `kv list|get|set|delete` commands: parse, call the KV store, print (secret values masked unless --reveal)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from flowrun.errors import UsageError

kv_app = typer.Typer(no_args_is_help=True, help="Read and write the per-namespace KV store.")
Home = Annotated[str | None, typer.Option("--home", help="State dir (default: FLOWRUN_HOME, flowrun.yaml, "
                                                          "<project>/.flowrun).", show_default=False)]


def kv_store(home: str | None) -> Any:
    from flowrun.app.inspect import kv_store as open_kv

    return open_kv(home)


KVNamespace = Annotated[str, typer.Argument(help="A namespace, e.g. company.team.", show_default=False)]
KVKey = Annotated[str, typer.Argument(help="A key: letters, digits, `.`, `_`, `-`.", show_default=False)]
Reveal = Annotated[bool, typer.Option("--reveal", help="Show secret values in clear (masked by default).")]


def _kv_shown(value: Any, secret: bool, reveal: bool) -> str:
    from flowrun.crypto import MASK

    if secret and not reveal:
        return MASK
    return value if isinstance(value, str) else json.dumps(value)


@kv_app.command("list")
def kv_list(namespace: KVNamespace, reveal: Reveal = False, home: Home = None) -> None:
    """List the keys of a namespace with their type, expiry and value (secret values masked).

    Example: flowrun kv list zoomcamp
    """
    for row in kv_store(home).list(namespace, values=True):
        shown = _kv_shown(row["value"], row["secret"], reveal)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        typer.echo(f"{row['key']}  {row['type']}{'  secret' if row['secret'] else ''}  "
                   f"expires={row.get('expires_at') or '-'}  value={shown}")


@kv_app.command("get")
def kv_get(namespace: KVNamespace, key: KVKey, reveal: Reveal = False, home: Home = None) -> None:
    """Print a value (JSON for maps and lists); a secret value prints as ****** unless --reveal.

    Example: flowrun kv get zoomcamp GCP_BUCKET_NAME
    """
    entry = kv_store(home).entry(namespace, key, error_on_missing=True)
    typer.echo(_kv_shown(entry.value, entry.secret, reveal))


@kv_app.command("set")
def kv_set(
    namespace: KVNamespace, key: KVKey,
    value: Annotated[str, typer.Argument(help="The value, or @FILE to read it from a file.", show_default=False)],
    type_: Annotated[str | None, typer.Option("--type", help="STRING, NUMBER, BOOLEAN, DATETIME, DATE, "
                                              "DURATION or JSON.")] = None,
    ttl: Annotated[str | None, typer.Option("--ttl", help="ISO-8601 duration, e.g. P1D.")] = None,
    secret: Annotated[bool, typer.Option("--secret", help="Encrypt the value at rest and mask it when "
                                         "shown.")] = False,
    home: Home = None,
) -> None:
    """Set a value. Use `@file` to read the value from a file.

    Example: flowrun kv set zoomcamp GCP_CREDS @service-account.json --type JSON --secret
    """
    from flowrun.storage.kv import KV_TYPES

    if type_ is not None and type_.upper() not in KV_TYPES:
        raise UsageError(f"--type `{type_}` is not a KV type", hint=f"use one of {', '.join(KV_TYPES)}")
    if value.startswith("@"):
        value = read_option_file(value[1:], f"value {value}")
    kv_store(home).set(namespace, key, value, kv_type=type_.upper() if type_ else None, ttl=ttl, secret=secret)


@kv_app.command("delete")
def kv_delete(namespace: KVNamespace, key: KVKey, home: Home = None) -> None:
    """Delete a key. Exits 1 when it does not exist (or has expired).

    Example: flowrun kv delete zoomcamp GCP_CREDS
    """
    from flowrun.storage.kv import missing_key

    if not kv_store(home).delete(namespace, key):
        raise missing_key(namespace, key, hint=f"list the keys with: flowrun kv list {namespace}")


def read_option_file(path: str, what: str) -> str:
    """The UTF-8 text of a file named on the command line; a clear usage error when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what}: the file is not UTF-8 text (byte {exc.start})",
                         hint="convert it to UTF-8, e.g. iconv -f latin1 -t utf-8") from None
    except OSError as exc:
        raise UsageError(f"{what}: cannot read the file ({exc.strerror or exc})") from None
