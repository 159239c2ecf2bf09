"""`run`, `resume`, `restart` and `replay`: start or continue an execution, follow it, exit with its state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flowrun.cli.jsonout import json_errors
from flowrun.cli.options import Home, JsonFlag, LatestFlag, close_listeners, err, pairs, reporter
from flowrun.errors import ExitCode

if TYPE_CHECKING:
    from flowrun.model.execution import Execution
    from flowrun.secrets import Masker


def run(
    flow: Annotated[str, typer.Argument(help="A flow file, or NAMESPACE/FLOW_ID of a flow under flows/.")],
    input: Annotated[list[str] | None, typer.Option("--input", "-i", help="An input as key=value (repeatable; "
                                                    "JSON for ARRAY, JSON and MULTISELECT).")] = None,
    inputs: Annotated[list[Path] | None, typer.Option("--inputs", help="A JSON or YAML file of inputs.")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", "-l", help="An execution label key=value.")] = None,
    trigger: Annotated[str | None, typer.Option("--trigger", help="Run as this trigger would (its inputs and "
                                                "labels).")] = None,
    date: Annotated[str | None, typer.Option("--date", help="With --trigger: the schedule date, e.g. "
                                             "2019-03-01T09:00:00.")] = None,
    max_parallel: Annotated[int | None, typer.Option("--max-parallel", help="Most task attempts running at "
                                                     "once (default: maxParallel in flowrun.yaml, else max(32, 8 x CPUs)).",
                                                     show_default=False)] = None,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Run a flow and wait for its end.

    Example: flowrun run flows/hello.yaml --input name=Ana
    """
    from flowrun.app.run import RunOptions, start_execution
    from flowrun.inputs import parse_cli_inputs

    with json_errors(json_output):
        cli_inputs = parse_cli_inputs(input or [], inputs or [])
        options = RunOptions(inputs=cli_inputs, labels=pairs(label, "label"), home=home,
                             max_parallel=max_parallel, strict_inputs=set(cli_inputs))  # typed inputs must exist
        started = start_execution(flow, options, trigger, date, notify=err)
        listeners = started.options.listeners
        listeners.extend(reporter(json_output))
        try:
            execution = started.run()
        finally:
            close_listeners(listeners)
    _finish_run(execution, started.services.masker, json_output)


def _finish_run(execution: Execution, masker: Masker, json_output: bool) -> None:
    """Print the execution document (with --json), say how to continue a paused run, exit with its code."""
    if json_output:
        from flowrun.crypto import mask_sealed

        document = execution.to_json()
        document["inputs"] = _mask_inputs(document["inputs"], execution.secret_inputs)
        document = json.loads(masker.mask(json.dumps(mask_sealed(document), default=str)))
        typer.echo(json.dumps(document, indent=2, default=str))
    if execution.state == "PAUSED":
        err(f"execution {execution.id} is PAUSED; continue it with: flowrun resume {execution.id} [--input k=v]")
    raise typer.Exit(_exit_code(execution.state))


def _continue(execution_id: str, mode: str, home: str | None, json_output: bool, **kwargs: Any) -> None:
    from flowrun.app.continuation import continue_execution

    listeners = reporter(json_output)
    try:
        with json_errors(json_output):
            execution = continue_execution(execution_id, mode, home, listeners=listeners, notify=err, **kwargs)
    finally:
        close_listeners(listeners)
    from flowrun.secrets import Masker

    _finish_run(execution, Masker(), json_output)


def resume(
    execution_id: Annotated[str, typer.Argument(help="A PAUSED execution.")],
    input: Annotated[list[str] | None, typer.Option("--input", "-i", help="A resume input key=value "
                                                    "(exposed as outputs.<pause>.onResume).")] = None,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Continue a PAUSED execution in this process: its first PAUSED Pause goes on (SUCCESS), with `--input`
    typed and checked against the Pause's `onResume` inputs.

    Example: flowrun resume 4bWcR8u3mRkNp2WJmY0E7H --input approved=true
    """
    _continue(execution_id, "resume", home, json_output, resume_inputs=pairs(input, "input"))


def restart(
    execution_id: Annotated[str, typer.Argument(help="A FAILED, KILLED or CANCELLED execution.")],
    latest: LatestFlag = False,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Re-run the failed task runs of an execution and everything after them, reusing what succeeded.

    The flow is the execution's revision, unless --latest.

    Example: flowrun restart 4bWcR8u3mRkNp2WJmY0E7H --latest
    """
    _continue(execution_id, "restart", home, json_output, latest=latest)


def replay(
    execution_id: Annotated[str, typer.Argument(help="The execution to replay.")],
    from_task: Annotated[str, typer.Option("--from", help="The task to start again from.")],
    revision: Annotated[int | None, typer.Option("--revision", help="Run this revision of the flow (default: "
                                                 "the execution's).", show_default=False)] = None,
    latest: LatestFlag = False,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Create a new execution that starts at a task, with the earlier outputs copied.

    Example: flowrun replay 4bWcR8u3mRkNp2WJmY0E7H --from load --revision 2
    """
    _continue(execution_id, "replay", home, json_output, from_task=from_task, revision=revision, latest=latest)


def _mask_inputs(inputs: dict[str, Any], secret_ids: set[str]) -> dict[str, Any]:
    return {k: ("******" if k in secret_ids and v is not None else v) for k, v in inputs.items()}


def _exit_code(state: str) -> int:
    if state in ("SUCCESS", "WARNING"):
        return ExitCode.OK
    if state == "PAUSED":
        return ExitCode.PAUSED
    return ExitCode.FLOW_FAILED


def add_commands(app: typer.Typer) -> None:
    """Add `run`, `resume`, `restart` and `replay` to the main CLI."""
    for command in (run, resume, restart, replay):
        app.command()(command)
