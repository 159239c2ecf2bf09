"""The `flowrun` command line: the typer app of every command group, and `main`, which maps errors to exit codes."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from flowrun.cli import executions, flows, git, kv, manual, purge, render, run, schedule, state, venvs
from flowrun.cli.options import err
from flowrun.errors import EXIT_CODE_MEANINGS, ExitCode, FlowrunError, InvalidFlowError

_EXIT_CODES = "Exit codes:\n\n\b\n" + "\n".join(f"{code}  {text}" for code, text in EXIT_CODE_MEANINGS.items())
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None, help="Run Kestra-style YAML flows locally: no JVM, no Docker, no server.",
                  epilog=_EXIT_CODES)
manual.install()


def _print_version(value: bool) -> None:
    if value:
        from flowrun import __version__

        typer.echo(f"flowrun {__version__} (Python {sys.version.split()[0]}, {sys.executable})")
        raise typer.Exit(0)


@app.callback()
def _global_options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
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


for _module in (run, flows, executions, render, purge, schedule):
    _module.add_commands(app)
for _name, _module in (("executions", executions), ("kv", kv), ("venvs", venvs), ("schedule", schedule),
                       ("flows", flows), ("state", state), ("git", git)):
    app.add_typer(_module.group, name=_name)


def main() -> None:
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except FlowrunError as exc:
        _report(exc, debug)
        sys.exit(exit_code_for(exc))
    except typer.Exit as exc:
        sys.exit(exit_code_for(exc))
    except KeyboardInterrupt as exc:
        err("interrupted")
        sys.exit(exit_code_for(exc))
    except Exception as exc:  # click usage errors and real bugs
        _handle_unexpected(exc, debug)


def exit_code_for(exc: BaseException) -> int:
    """The code the CLI exits with when `exc` ends a command (the README's "Exit codes" table)."""
    from typer._click import exceptions as click_errors

    if isinstance(exc, FlowrunError):
        return exc.exit_code
    if isinstance(exc, typer.Exit):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt | typer.Abort):
        return ExitCode.FLOW_FAILED
    if isinstance(exc, click_errors.ClickException):
        return ExitCode.USAGE
    return ExitCode.STATE  # an internal error


def _report(exc: FlowrunError, debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc()
    prefix = "invalid: " if isinstance(exc, InvalidFlowError) and len(exc.problems) == 1 else ""
    err(f"error: {prefix}{exc.message}" if "\n" not in exc.message else f"error:\n{exc.message}")
    if exc.hint:
        err(f"hint: {exc.hint}")


def _handle_unexpected(exc: Exception, debug: bool) -> None:
    from typer._click import exceptions as click_errors

    if isinstance(exc, typer.Abort):
        err("aborted")
    elif isinstance(exc, click_errors.ClickException):
        exc.show()
    elif debug:
        raise exc
    else:
        err(f"error: internal error: {type(exc).__name__}: {exc}")
        err("hint: run again with --debug for the traceback, and report it")
    sys.exit(exit_code_for(exc))
