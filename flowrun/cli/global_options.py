"""The options before the command: --version, --debug (taken out by `main` wherever it stands) and --home."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer


def print_version(value: bool) -> None:
    if value:
        from flowrun import __version__

        typer.echo(f"flowrun {__version__} (Python {sys.version.split()[0]}, {sys.executable})")
        raise typer.Exit(0)


def global_options(
    version: Annotated[bool, typer.Option("--version", callback=print_version, is_eager=True,
                                          help="Print flowrun's version and the Python it runs on.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Print the traceback of an error (any position on "
                                        "the command line).")] = False,
    home: Annotated[str | None, typer.Option("--home", help="State dir of the command that follows (as "
                                             "FLOWRUN_HOME; each command also takes --home).",
                                             show_default=False)] = None,
) -> None:
    """The options before the command."""
    if home:
        os.environ["FLOWRUN_HOME"] = home
