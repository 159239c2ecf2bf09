"""`state check|rotate-key`: check the state DB and its secret key; rotate the key."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from flowrun.cli.options import Home, JsonFlag

group = typer.Typer(no_args_is_help=True, help="Check the state DB and its secret key; rotate the key.")


@group.command("check")
def state_check(
    db: Annotated[str | None, typer.Option("--db", help="Check this SQLite file instead of the project's "
                                           "state DB (e.g. a recovered copy).", show_default=False)] = None,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Check the state DB (`PRAGMA integrity_check`) and its secret key. Exits 0 when sound, 4 when damaged.

    Example: flowrun state check
    """
    from flowrun.app.state import check_state

    report = check_state(home, db)
    if json_output:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        typer.echo(f"state DB: {report.db_path}")
        for line in report.lines:
            typer.echo(f"  {line}")
    if report.error is not None:
        raise report.error


@group.command("rotate-key")
def state_rotate_key(home: Home = None) -> None:
    """Re-encrypt every encrypted value with a new secret.key, in one transaction. Run it while no flow runs.

    Example: flowrun state rotate-key
    """
    from flowrun.app.state import rotate_secret_key

    result = rotate_secret_key(home)
    typer.echo(f"rotated {result['key']}: fingerprint {result['oldFingerprint']} -> {result['newFingerprint']}, "
               f"{result['values']} value(s) re-encrypted")
    if result["staleBackup"]:
        typer.echo(f"warning: the pre-migration backup could not be re-encrypted ({result['staleBackup']}); "
                   "it still needs the old key", err=True)
