"""Shell completion of the project's names: flow files, flow ids, execution ids, trigger ids, KV keys.

Each callback runs only when the shell asks (typer's `_FLOWRUN_COMPLETE` protocol), imports what it needs
inside, and never raises: a project that cannot be read completes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

Completions = list[tuple[str, str]]
SHELLS = ("bash", "zsh", "fish")


def enable() -> None:
    """Register typer's bash, zsh and fish completion classes (typer does it itself only with add_completion,
    which costs every start-up its --install-completion machinery)."""
    from typer._completion_classes import completion_init

    completion_init()


def completion_script(shell: str) -> str:
    """typer's completion script of `flowrun` for `shell`."""
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name="flowrun", complete_var="_FLOWRUN_COMPLETE", shell=shell)


def install_completion(shell: str) -> str:
    """Install the script where `shell` reads it (typer's install); returns that file."""
    from typer._completion_shared import install

    enable()
    _, path = install(shell=shell, prog_name="flowrun", complete_var="_FLOWRUN_COMPLETE")
    return str(path)


def _quiet(find: Callable[..., Completions]) -> Callable[..., Completions]:
    """`find` that returns nothing instead of raising: completion must never print a traceback."""

    def complete(ctx: typer.Context, incomplete: str) -> Completions:
        try:
            return find(ctx, incomplete)
        except Exception:  # noqa: BLE001 - a broken project or DB completes nothing
            return []

    complete.__name__ = find.__name__
    complete.__doc__ = find.__doc__
    return complete


def _home(ctx: typer.Context) -> str | None:
    home = ctx.params.get("home")
    return str(home) if home else None


def _flow_files(ctx: typer.Context) -> list[Path]:
    from flowrun.project import open_project

    project = open_project(_home(ctx))
    cwd = Path.cwd()
    return [path.relative_to(cwd) if path.is_relative_to(cwd) else path for path in project.flow_files()]


def _flow_ids(ctx: typer.Context) -> Completions:
    from flowrun.project import peek_ids

    found = []
    for path in _flow_files(ctx):
        namespace, flow_id = peek_ids(path)
        if namespace and flow_id:
            found.append((f"{namespace}/{flow_id}", str(path)))
    return found


@_quiet
def flow_refs(ctx: typer.Context, incomplete: str) -> Completions:
    """Flow files under flows/ and their NAMESPACE/FLOW_ID."""
    files = [(str(path), "flow file") for path in _flow_files(ctx)]
    return [item for item in files + _flow_ids(ctx) if item[0].startswith(incomplete)]


@_quiet
def flow_files(ctx: typer.Context, incomplete: str) -> Completions:
    """Flow files under flows/ (for the commands that take files)."""
    return [(str(path), "flow file") for path in _flow_files(ctx) if str(path).startswith(incomplete)]


@_quiet
def flow_ids(ctx: typer.Context, incomplete: str) -> Completions:
    """NAMESPACE/FLOW_ID of the project's flows."""
    return [item for item in _flow_ids(ctx) if item[0].startswith(incomplete)]


@_quiet
def execution_ids(ctx: typer.Context, incomplete: str) -> Completions:
    """The latest execution ids, each described by its flow and state."""
    from flowrun.app.inspect import list_executions
    from flowrun.app.services import has_state

    if not has_state(_home(ctx)):  # a TAB press never creates a state dir
        return []
    rows = list_executions(_home(ctx), None, None, 200)
    return [(row["id"], f"{row['namespace']}/{row['flowId']} {row['state']} {row['startDate'] or ''}")
            for row in rows if row["id"].startswith(incomplete)]


@_quiet
def trigger_ids(ctx: typer.Context, incomplete: str) -> Completions:
    """The trigger ids of the flow named on the command line (of every flow when it names none)."""
    from flowrun.load import read_yaml
    from flowrun.project import resolve_flow_ref

    # while an option's value is being completed, click leaves the positional FLOW unparsed in ctx.args
    named = ctx.params.get("flow") or next((arg for arg in ctx.args if not arg.startswith("-")), None)
    paths = [resolve_flow_ref(str(named), _home(ctx))[0]] if named else _flow_files(ctx)
    found: Completions = []
    for path in paths:
        data = read_yaml(path).data
        for trigger in (data.get("triggers") or []) if isinstance(data, dict) else []:
            if isinstance(trigger, dict) and str(trigger.get("id", "")).startswith(incomplete):
                found.append((str(trigger["id"]), str(trigger.get("type", "")).rsplit(".", 1)[-1]))
    return found


@_quiet
def kv_namespaces(ctx: typer.Context, incomplete: str) -> Completions:
    """The namespaces of the project's flows."""
    names = sorted({ref.split("/", 1)[0] for ref, _ in _flow_ids(ctx)})
    return [(name, "namespace") for name in names if name.startswith(incomplete)]


@_quiet
def kv_keys(ctx: typer.Context, incomplete: str) -> Completions:
    """The keys of the namespace named before, with their type (values are never shown)."""
    from flowrun.app.inspect import kv_store
    from flowrun.app.services import has_state

    namespace = ctx.params.get("namespace")
    if not namespace or not has_state(_home(ctx)):
        return []
    rows = kv_store(_home(ctx)).list(str(namespace))
    return [(row["key"], row["type"] + (" secret" if row["secret"] else "")) for row in rows
            if row["key"].startswith(incomplete)]


def completion(
    shell: Annotated[str, typer.Argument(help="bash, zsh or fish.", metavar="SHELL",
                                         autocompletion=lambda: list(SHELLS))],
    install: Annotated[bool, typer.Option("--install", help="Write the script where the shell reads it "
                                          "(~/.bash_completions, ~/.zfunc, ~/.config/fish/completions) "
                                          "instead of printing it.")] = False,
) -> None:
    """Print the shell completion script (typer's) for bash, zsh or fish. Flow files, flow ids, execution ids,
    trigger ids and KV keys complete from the project.

    Example: flowrun completion bash > ~/.bash_completions/flowrun.sh   (or: flowrun completion zsh --install)
    """
    from flowrun.errors import UsageError

    if shell not in SHELLS:
        raise UsageError(f"no completion for shell `{shell}`", hint=f"use one of {', '.join(SHELLS)}")
    if install:
        typer.echo(f"{shell} completion installed in {install_completion(shell)}; it works in new shells")
        return
    typer.echo(completion_script(shell))


def add_commands(app: typer.Typer) -> None:
    """Add `completion` to the main CLI."""
    app.command()(completion)
