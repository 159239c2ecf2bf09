"""`venvs list|prune`: the cached virtualenvs of script tasks."""

from __future__ import annotations

from typing import Annotated

import typer

from flowrun.cli.durations import duration_option
from flowrun.cli.options import Home

group = typer.Typer(no_args_is_help=True, help="Manage the cached virtualenvs of script tasks.")


@group.command("list")
def venvs_list(home: Home = None) -> None:
    """List the cached virtualenvs with their size and last use.

    Example: flowrun venvs list
    """
    from flowrun.app.inspect import list_venvs

    for venv in list_venvs(home):
        typer.echo("  ".join(f"{k}={v}" for k, v in venv.items()))


@group.command("prune")
def venvs_prune(
    older_than: Annotated[str | None, typer.Option("--older-than", help="ISO-8601 duration, e.g. P7D; "
                                                   "default: remove every cached venv.")] = None,
    home: Home = None,
) -> None:
    """Remove cached virtualenvs (all, or those unused for a while).

    Example: flowrun venvs prune --older-than P7D
    """
    from flowrun.app.inspect import prune_venvs

    removed = prune_venvs(home, duration_option(older_than, "--older-than"))
    typer.echo(f"removed {len(removed)} virtualenv(s)")
