"""`state check|migrate|copy|rotate-key`: check, migrate or copy the state; rotate its secret key."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from flowrun.cli.options import Home, JsonFlag

group = typer.Typer(no_args_is_help=True, help="Check, migrate or copy the state (SQLite or Postgres); rotate "
                                               "its secret key.")


@group.command("check")
def state_check(
    db: Annotated[str | None, typer.Option("--db", help="Check this SQLite file instead of the project's "
                                           "state DB (e.g. a recovered copy).", show_default=False)] = None,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Check the state (SQLite: `PRAGMA integrity_check`; Postgres: reachable and migrated) and its secret key.

    Exits 0 when sound, 4 when damaged or unreachable.

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


@group.command("migrate")
def state_migrate(json_output: JsonFlag = False, home: Home = None) -> None:
    """Apply the pending schema migrations to the configured state (`state:` / FLOWRUN_STATE, else SQLite).

    Idempotent: a second run applies nothing. Every command also migrates on open; this does it ahead, e.g.
    once before starting workers against a new Postgres database.

    Example: FLOWRUN_STATE=postgresql://flowrun@db.internal/flowrun flowrun state migrate
    """
    from flowrun.app.state import migrate

    done = migrate(home)
    if json_output:
        typer.echo(json.dumps({"state": done.location, "backend": done.backend, "applied": done.applied,
                               "migrations": done.total}, indent=2))
        return
    typer.echo(f"state: {done.location}")
    typer.echo(f"  applied {len(done.applied)} migration(s): {', '.join(done.applied)}" if done.applied
               else f"  up to date ({done.total} migration(s) applied before)")


@group.command("copy")
def state_copy(
    to: Annotated[str, typer.Option("--to", help="The empty Postgres database to copy into "
                                    "(postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE).", show_default=False)],
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Copy the project's whole SQLite history into an empty Postgres database, in one transaction.

    Executions, task runs, attempts, logs, outputs, labels, KV, revisions, triggers, claims and backfills
    all move. Run it while no flow runs; then set `state:` (or FLOWRUN_STATE) to the URL and give every
    machine the same secret.key.

    Example: flowrun state copy --to postgresql://flowrun@db.internal/flowrun
    """
    from flowrun.app.state import copy_to_postgres

    copied = copy_to_postgres(to, home)
    if json_output:
        typer.echo(json.dumps({"target": copied.target, "rows": copied.rows}, indent=2))
        return
    typer.echo(f"copied to {copied.target}: " + ", ".join(f"{table} {count}" for table, count in copied.rows.items()
                                                          if count))


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
