"""The `flowrun` command line: the typer app of every command group, and `main`, which maps errors to exit codes.

The app is built on first use (`flowrun.cli.app`, or `main()` for any command line that `cli/fastrun.py` does
not take): a cached `flowrun run FLOW` imports no typer at all, and a command line that starts with a group name
(`flowrun kv list`) builds that group alone.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from flowrun.cli.output import err
from flowrun.cli.startup import pause_collection, resume_collection
from flowrun.errors import EXIT_CODE_MEANINGS, ExitCode, FlowrunError, InvalidFlowError

if TYPE_CHECKING:
    import typer

_EXIT_CODES = "Exit codes:\n\n\b\n" + "\n".join(f"{code}  {text}" for code, text in EXIT_CODE_MEANINGS.items())
_app: typer.Typer | None = None


def __getattr__(name: str) -> Any:
    if name == "app":
        return _typer_app()
    raise AttributeError(f"module 'flowrun.cli' has no attribute {name!r}")


#: the command groups (`flowrun kv ...`): a command line that starts with one needs only that group's commands
GROUPS = ("executions", "kv", "venvs", "schedule", "flows", "state", "git")
_group_apps: dict[str, typer.Typer] = {}


def _typer_app(argv: list[str] | None = None) -> typer.Typer:
    """The typer app with every command group (built once); for a command line `argv` that starts with a group
    name, an app with that group alone, whose commands and help are the same (typer turns every parameter of
    every registered command into click's on each call: ~50 ms a command line for the whole app)."""
    global _app
    group = argv[0] if argv and not os.environ.get("_FLOWRUN_COMPLETE") else None
    if group in GROUPS:
        if group not in _group_apps:
            _group_apps[group] = _build_app(group)
        return _group_apps[group]
    if _app is None:
        _app = _build_app()
    return _app


def _build_app(only: str | None = None) -> typer.Typer:
    """Every command and group, or (`only`) the group of that name alone, importing only its module."""
    import importlib

    import typer

    from flowrun.cli import global_options, manual

    app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                      rich_markup_mode=None, help="Run Kestra-style YAML flows locally: no JVM, no Docker, no "
                      "server.", epilog=_EXIT_CODES)
    manual.install()
    app.callback()(global_options.global_options)
    if only is not None:
        app.add_typer(importlib.import_module(f"flowrun.cli.{only}").group, name=only)
        return app
    from flowrun.cli import (
        complete,
        executions,
        flows,
        git,
        kv,
        purge,
        render,
        run,
        schedule,
        server,
        state,
        unit_test,
        venvs,
        worker,
    )

    if os.environ.get("_FLOWRUN_COMPLETE"):  # a shell asks for completions (typer's protocol): only then load it
        complete.enable()
    for module in (run, flows, executions, render, purge, schedule, server, complete, unit_test, worker):
        module.add_commands(app)
    for name, module in (("executions", executions), ("kv", kv), ("venvs", venvs), ("schedule", schedule),
                         ("flows", flows), ("state", state), ("git", git)):
        app.add_typer(module.group, name=name)
    return app


def entry() -> None:
    """The `flowrun` program (the console script and `python -m flowrun`): `main`, then a quick exit.

    Once the command is done, what Python's own exit does for flowrun is done here: wait for the threads that
    are not daemons, run the atexit handlers, flush stdout and stderr. The interpreter's teardown of every
    module and object is skipped (`os._exit`): 35 ms CPU of a 205 ms cached hello run. `main` itself raises
    SystemExit as before, for callers in the same process (tests).
    """
    pause_collection()  # resumed by the command once it is loaded (cli/startup.py)
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    import atexit
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    if code is not None and not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said
            pass
    os._exit(code or 0)


def main() -> None:
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        from flowrun.cli.fastrun import parse_fast

        fast = None if os.environ.get("_FLOWRUN_COMPLETE") else parse_fast(sys.argv[1:])
        if fast is not None:
            code = fast[0](**fast[1])
        else:
            app = _typer_app(sys.argv[1:])
            resume_collection()
            code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except FlowrunError as exc:
        _report(exc, debug)
        sys.exit(exit_code_for(exc))
    except KeyboardInterrupt as exc:
        err("interrupted")
        sys.exit(exit_code_for(exc))
    except Exception as exc:  # typer.Exit, click usage errors and real bugs
        _handle_unexpected(exc, debug)


def exit_code_for(exc: BaseException) -> int:
    """The code the CLI exits with when `exc` ends a command (the README's "Exit codes" table)."""
    if isinstance(exc, FlowrunError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.FLOW_FAILED
    if "typer" not in sys.modules:  # no typer exception can have been raised
        return ExitCode.STATE  # an internal error
    import typer
    from typer._click import exceptions as click_errors

    if isinstance(exc, typer.Exit):
        return exc.exit_code
    if isinstance(exc, typer.Abort):
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
    if "typer" in sys.modules:
        import typer
        from typer._click import exceptions as click_errors

        if isinstance(exc, typer.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, typer.Abort):
            err("aborted")
            sys.exit(exit_code_for(exc))
        if isinstance(exc, click_errors.ClickException):
            exc.show()
            sys.exit(exit_code_for(exc))
    if debug:
        raise exc
    err(f"error: internal error: {type(exc).__name__}: {exc}")
    err("hint: run again with --debug for the traceback, and report it")
    sys.exit(exit_code_for(exc))
