"""`kv list|get|set|delete`: parse, call the KV store, print (secret values masked unless --reveal)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from flowrun.cli.complete import kv_keys, kv_namespaces
from flowrun.cli.durations import duration_option
from flowrun.cli.options import Home, JsonFlag, read_option_file
from flowrun.errors import UsageError

group = typer.Typer(no_args_is_help=True, help="Read and write the per-namespace KV store.")
KVNamespace = Annotated[str, typer.Argument(help="A namespace, e.g. company.team.", show_default=False,
                                            autocompletion=kv_namespaces)]
KVKey = Annotated[str, typer.Argument(help="A key: letters, digits, `.`, `_`, `-`.", show_default=False,
                                      autocompletion=kv_keys)]
Reveal = Annotated[bool, typer.Option("--reveal", help="Show secret values in clear (masked by default).")]


def kv_store(home: str | None) -> Any:
    from flowrun.app.inspect import kv_store as open_kv

    return open_kv(home)


def _kv_shown(value: Any, secret: bool, reveal: bool) -> str:
    from flowrun.crypto import MASK

    if secret and not reveal:
        return MASK
    return value if isinstance(value, str) else json.dumps(value)


@group.command("list")
def kv_list(namespace: KVNamespace, reveal: Reveal = False, json_output: JsonFlag = False, home: Home = None) -> None:
    """List the keys of a namespace with their type, expiry and value (secret values masked).

    Example: flowrun kv list zoomcamp --json
    """
    rows = kv_store(home).list(namespace, values=True)
    for row in rows:
        if row["secret"] and not reveal:
            row["value"] = _kv_shown(row["value"], True, False)
    if json_output:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for row in rows:
        shown = _kv_shown(row["value"], row["secret"], True)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        typer.echo(f"{row['key']}  {row['type']}{'  secret' if row['secret'] else ''}  "
                   f"expires={row.get('expires_at') or '-'}  value={shown}")


@group.command("get")
def kv_get(namespace: KVNamespace, key: KVKey, reveal: Reveal = False, home: Home = None) -> None:
    """Print a value (JSON for maps and lists); a secret value prints as ****** unless --reveal.

    Example: flowrun kv get zoomcamp GCP_BUCKET_NAME
    """
    entry = kv_store(home).entry(namespace, key, error_on_missing=True)
    typer.echo(_kv_shown(entry.value, entry.secret, reveal))


@group.command("set")
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
    expires_in = duration_option(ttl, "--ttl", positive=True)
    kv_store(home).set(namespace, key, value, kv_type=type_.upper() if type_ else None, ttl=expires_in,
                       secret=secret)


@group.command("delete")
def kv_delete(namespace: KVNamespace, key: KVKey, home: Home = None) -> None:
    """Delete a key. Exits 1 when it does not exist (or has expired).

    Example: flowrun kv delete zoomcamp GCP_CREDS
    """
    from flowrun.storage.kv import missing_key

    if not kv_store(home).delete(namespace, key):
        raise missing_key(namespace, key, hint=f"list the keys with: flowrun kv list {namespace}")
